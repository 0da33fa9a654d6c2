#include "function/log.h"

#include <grpc/support/log.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/time/time.h"
#include "common/log_format.h"
#include "function/sdk/strings.h"

namespace platform::fn {
namespace {

// gRPC's own log lines (a failed TLS handshake, for one) would otherwise go
// straight to stderr in gRPC's format, breaking one-JSON-object-per-line.
// gRPC filters by its own verbosity (GRPC_VERBOSITY, default ERROR) before
// calling this.
void ForwardGrpcLog(gpr_log_func_args* args) {
  spdlog::level::level_enum level = spdlog::level::debug;
  if (args->severity == GPR_LOG_SEVERITY_ERROR) {
    level = spdlog::level::err;
  } else if (args->severity == GPR_LOG_SEVERITY_INFO) {
    level = spdlog::level::info;
  }
  const char* file = args->file != nullptr ? args->file : "";
  const char* slash = std::strrchr(file, '/');
  spdlog::log(level, "grpc: {} ({}:{})", args->message != nullptr ? args->message : "",
              slash != nullptr ? slash + 1 : file, args->line);
}

}  // namespace

absl::Status SetUpLogging(std::string_view format, bool debug) {
  if (!platform::SetUpLogger("function-platform", std::string(format), debug)) {
    return absl::InvalidArgumentError(
        sdk::Cat("--log-format: must be text or json, not \"", format, "\""));
  }
  gpr_set_log_function(&ForwardGrpcLog);
  return absl::OkStatus();
}

}  // namespace platform::fn
