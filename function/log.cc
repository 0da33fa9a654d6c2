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
#include "function/sdk/strings.h"

namespace platform::fn {
namespace {

// Formats each record as {"ts":..., "level":..., "logger":..., "msg":...}.
// The message goes through a JSON encoder, so quotes and control characters
// in it cannot break the line.
class JsonFormatter : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const absl::Time t = absl::FromChrono(msg.time);
    nlohmann::json line = {
        {"ts", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone())},
        {"level", std::string(spdlog::level::to_string_view(msg.level).data(),
                              spdlog::level::to_string_view(msg.level).size())},
        {"logger", "function-platform"},
        {"msg", std::string(msg.payload.data(), msg.payload.size())},
    };
    const std::string text =
        sdk::Cat(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "\n");
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

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
  auto logger = std::make_shared<spdlog::logger>("function-platform",
                                                 std::make_shared<spdlog::sinks::stderr_sink_mt>());
  if (format == "json") {
    logger->set_formatter(std::make_unique<JsonFormatter>());
  } else if (format == "text") {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  } else {
    return absl::InvalidArgumentError(
        sdk::Cat("--log-format: must be text or json, not \"", format, "\""));
  }
  logger->set_level(debug ? spdlog::level::debug : spdlog::level::info);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
  gpr_set_log_function(&ForwardGrpcLog);
  return absl::OkStatus();
}

}  // namespace platform::fn
