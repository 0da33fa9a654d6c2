// function-platform: the platform's Crossplane composition function.
//
// Usage: function-platform [--insecure] [--tls-certs-dir DIR] [--address HOST:PORT]
//                          [--debug] [--max-recv-message-size MIB] [--log-format text|json]
//                          [--shutdown-grace-seconds N] [--metrics-address [HOST]:PORT]
//        function-platform --help | --version
//
// Exit codes: 0 after SIGTERM or SIGINT, --help and --version; 2 for a bad
// command line or when it cannot start.
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/time/time.h"
#include "common/signals.h"
#include "function/cli.h"
#include "function/log.h"
#include "function/metrics/http.h"
#include "function/metrics/metrics.h"
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
ABSL_FLAG(std::string, metrics_address, "",
          "Serve Prometheus metrics over HTTP at /metrics on this address, e.g. :8080 "
          "(every interface) or 127.0.0.1:8080. Off when empty (the default).");

#ifndef FUNCTION_PLATFORM_VERSION
#define FUNCTION_PLATFORM_VERSION "0.0.0-dev"
#endif
#ifndef FUNCTION_PLATFORM_COMMIT
#define FUNCTION_PLATFORM_COMMIT "unknown"
#endif

namespace {}  // namespace

int main(int argc, char** argv) {
  const std::string untuned = platform::fn::TuneAllocator(argv);
  platform::fn::DisableLockOrderChecks();
  const std::vector<absl::CommandLineFlag*> flags =
      platform::fn::FlagsDefinedWith(*absl::FindCommandLineFlag("address"));
  const platform::fn::CommandLine cli =
      platform::fn::ParseCommandLine(std::vector<std::string>(argv + 1, argv + argc), flags);
  switch (cli.action) {
    case platform::fn::CommandLine::kHelp:
      fputs(platform::fn::Usage(
                "Usage: function-platform [flags]\n\n"
                "Crossplane composition function for XEnvironment, XCluster and XDatabase.\n"
                "Serves apiextensions.fn.proto.v1 and v1beta1 RunFunction over gRPC.",
                flags)
                .c_str(),
            stdout);
      return 0;
    case platform::fn::CommandLine::kVersion:
      printf("function-platform %s (%s)\n", FUNCTION_PLATFORM_VERSION, FUNCTION_PLATFORM_COMMIT);
      return 0;
    case platform::fn::CommandLine::kError:
      fprintf(stderr, "function-platform: %s\nRun function-platform --help for the flags.\n",
              cli.error.c_str());
      return 2;
    case platform::fn::CommandLine::kRun:
      break;
  }

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

  const sigset_t signals = platform::BlockShutdownSignals();
  const platform::fn::Registry registry = platform::fn::BuiltinRegistry();
  // Responses are only serialized and sent: composed resources go straight
  // from JSON to their wire bytes.
  platform::fn::RunnerOptions runner_options;
  runner_options.encode_for_wire = true;
  const platform::fn::Runner runner(registry, runner_options);
  const std::string metrics_address = absl::GetFlag(FLAGS_metrics_address);
  std::unique_ptr<platform::fn::Metrics> metrics;
  if (!metrics_address.empty()) {
    metrics = std::make_unique<platform::fn::Metrics>(
        registry.Kinds(),
        platform::fn::BuildInfo{FUNCTION_PLATFORM_VERSION, FUNCTION_PLATFORM_COMMIT});
    options.metrics = metrics.get();
  }
  auto server = platform::fn::FunctionServer::Start(runner, options);
  if (!server.ok()) {
    spdlog::error("cannot start: {}", std::string(server.status().message()));
    return 2;
  }
  spdlog::info("function-platform {} ({}) serving RunFunction (v1, v1beta1) on {} port {} with {}",
               FUNCTION_PLATFORM_VERSION, FUNCTION_PLATFORM_COMMIT, options.address,
               (*server)->port(), options.insecure ? "no TLS" : "mutual TLS");
  const char* tunables = getenv("GLIBC_TUNABLES");
  spdlog::info("malloc tunables: {}", tunables != nullptr ? tunables : "glibc's defaults");
  if (!untuned.empty()) spdlog::warn("malloc: glibc's default per-thread cache: {}", untuned);
  std::unique_ptr<platform::fn::MetricsHttpServer> metrics_server;
  if (metrics != nullptr) {
    auto started = platform::fn::MetricsHttpServer::Start(*metrics, metrics_address);
    if (!started.ok()) {
      spdlog::error("cannot start: {}", std::string(started.status().message()));
      return 2;
    }
    metrics_server = *std::move(started);
    spdlog::info("serving metrics at /metrics on {} port {}", metrics_address,
                 metrics_server->port());
  }

  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("received {}, finishing calls in flight", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  (*server)->Shutdown(absl::Seconds(absl::GetFlag(FLAGS_shutdown_grace_seconds)));
  metrics_server.reset();
  spdlog::info("stopped");
  return 0;
}
