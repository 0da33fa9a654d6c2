// function-platform: the platform's Crossplane composition function.
//
// Usage: function-platform [--insecure] [--tls-certs-dir DIR] [--address HOST:PORT]
//                          [--debug] [--max-recv-message-size MIB] [--log-format text|json]
#include <spdlog/spdlog.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/time/time.h"
#include "common/flags.h"
#include "function/log.h"
#include "function/registry.h"
#include "function/renderers/builtin.h"
#include "function/runner.h"
#include "function/server/server.h"

ABSL_FLAG(std::string, address, "0.0.0.0:9443", "Address to listen on (host:port).");
ABSL_FLAG(bool, insecure, false,
          "Serve plaintext gRPC. Crossplane's render command starts functions this way.");
ABSL_FLAG(std::string, tls_certs_dir, "",
          "Directory with tls.crt, tls.key and ca.crt for mutual TLS "
          "(default: $TLS_SERVER_CERTS_DIR).");
ABSL_FLAG(bool, debug, false, "Log one line per call.");
ABSL_FLAG(int, max_recv_message_size, 4, "Largest request accepted, in MiB.");
ABSL_FLAG(std::string, log_format, "text", "Log format: text or json.");
ABSL_FLAG(int, shutdown_grace_seconds, 30,
          "How long calls in flight may run after SIGTERM or SIGINT.");

namespace {

// Blocks SIGTERM and SIGINT in every thread (gRPC's included, since they are
// created later) so that main can wait for them with sigwait.
sigset_t BlockShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Crossplane composition function for XEnvironment, XCluster and XDatabase.\n"
      "Serves apiextensions.fn.proto.v1 and v1beta1 RunFunction over gRPC.");
  std::vector<std::string> args = platform::UnderscoreFlagNames(argc, argv);
  std::vector<char*> arg_ptrs;
  for (std::string& a : args) arg_ptrs.push_back(a.data());
  absl::ParseCommandLine(static_cast<int>(arg_ptrs.size()), arg_ptrs.data());

  if (absl::Status s =
          platform::fn::SetUpLogging(absl::GetFlag(FLAGS_log_format), absl::GetFlag(FLAGS_debug));
      !s.ok()) {
    fprintf(stderr, "function-platform: %s\n", std::string(s.message()).c_str());
    return 2;
  }

  platform::fn::ServerOptions options;
  options.address = absl::GetFlag(FLAGS_address);
  options.insecure = absl::GetFlag(FLAGS_insecure);
  options.tls_certs_dir = absl::GetFlag(FLAGS_tls_certs_dir);
  if (options.tls_certs_dir.empty()) {
    if (const char* env = std::getenv("TLS_SERVER_CERTS_DIR")) options.tls_certs_dir = env;
  }
  options.max_message_mib = absl::GetFlag(FLAGS_max_recv_message_size);

  const sigset_t signals = BlockShutdownSignals();
  const platform::fn::Registry registry = platform::fn::BuiltinRegistry();
  const platform::fn::Runner runner(registry);
  auto server = platform::fn::FunctionServer::Start(runner, options);
  if (!server.ok()) {
    spdlog::error("cannot start: {}", std::string(server.status().message()));
    return 2;
  }
  spdlog::info("serving RunFunction (v1, v1beta1) on {} port {} with {}", options.address,
               (*server)->port(), options.insecure ? "no TLS" : "mutual TLS");

  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("received {}, finishing calls in flight", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  (*server)->Shutdown(absl::Seconds(absl::GetFlag(FLAGS_shutdown_grace_seconds)));
  spdlog::info("stopped");
  return 0;
}
