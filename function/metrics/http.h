// Serves the function's metrics over HTTP with libmicrohttpd, as the
// provider does (provider/runtime/metrics.h): GET /metrics in the text
// exposition format, and /healthz and /readyz, which answer "ok" while the
// process runs.
#ifndef PLATFORM_FUNCTION_METRICS_HTTP_H_
#define PLATFORM_FUNCTION_METRICS_HTTP_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "function/metrics/metrics.h"

struct MHD_Daemon;

namespace platform::fn {

class MetricsHttpServer {
 public:
  // Serves `metrics` (which must outlive the server) on `address`: ":8080"
  // (every interface) or "127.0.0.1:8080"; port 0 picks a free one.
  // InvalidArgument for a malformed address, Unavailable when it cannot be
  // bound. The server runs one thread of its own; start it after blocking
  // the signals main waits for.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(const Metrics& metrics,
                                                                  const std::string& address);
  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  // The bound TCP port.
  int port() const { return port_; }

 private:
  explicit MetricsHttpServer(const Metrics& metrics) : metrics_(metrics) {}

  const Metrics& metrics_;
  MHD_Daemon* daemon_ = nullptr;
  int port_ = 0;

  friend struct MetricsHttpHandler;
};

}  // namespace platform::fn

#endif  // PLATFORM_FUNCTION_METRICS_HTTP_H_
