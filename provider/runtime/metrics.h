// Prometheus metrics in the text exposition format, served over HTTP by
// libmicrohttpd on --metrics-address (":8080"): /metrics, /healthz, /readyz.
#ifndef PROVIDER_RUNTIME_METRICS_H_
#define PROVIDER_RUNTIME_METRICS_H_

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

struct MHD_Daemon;

namespace runtime {

using Labels = std::map<std::string, std::string>;

class Metrics {
 public:
  // Counters only go up; gauges are set. The first call names the help text.
  void Add(const std::string& name, const Labels& labels, double value,
           const std::string& help = "");
  void Set(const std::string& name, const Labels& labels, double value,
           const std::string& help = "");
  // Gauges computed at scrape time (from informer caches, say).
  void AddCollector(std::function<void(Metrics&)> collect);

  // The exposition text.
  std::string Render();
  double Value(const std::string& name, const Labels& labels);

 private:
  struct Family {
    std::string type, help;
    std::map<Labels, double> samples;
  };
  void Put(const std::string& name, const std::string& type, const Labels& labels, double value,
           bool add, const std::string& help);

  std::mutex mu_;
  std::map<std::string, Family> families_;
  std::vector<std::function<void(Metrics&)>> collectors_;
};

class MetricsServer {
 public:
  // Serves /metrics, /healthz and /readyz (ready() says) on `address`:
  // ":8080" or "127.0.0.1:8080"; port 0 picks a free one. InvalidArgument
  // for a malformed address, Unavailable when it cannot be bound.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(Metrics& metrics,
                                                              const std::string& address,
                                                              std::function<bool()> ready);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;
  int port() const { return port_; }

 private:
  MetricsServer(Metrics& metrics, std::function<bool()> ready)
      : metrics_(metrics), ready_(std::move(ready)) {}

  Metrics& metrics_;
  std::function<bool()> ready_;
  MHD_Daemon* daemon_ = nullptr;
  int port_ = 0;

  friend struct MetricsHandler;
};

}  // namespace runtime

#endif  // PROVIDER_RUNTIME_METRICS_H_
