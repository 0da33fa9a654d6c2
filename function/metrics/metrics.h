// Prometheus metrics for RunFunction calls, in the text exposition format
// (docs/operations.md lists them).
//
// Recording is on the hot path of every call, so it takes no lock and
// allocates nothing: the label values are fixed when the registry is built
// (the XR kinds the function renders, plus "unknown"), and every series is a
// relaxed atomic counter in a cache-line-aligned block per kind. Render()
// reads the counters without stopping writers; a scrape that races a call
// may see its count but not yet its histogram bucket, which Prometheus
// tolerates.
#ifndef PLATFORM_FUNCTION_METRICS_METRICS_H_
#define PLATFORM_FUNCTION_METRICS_METRICS_H_

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/prometheus.h"

namespace platform::fn {

// How a call ended: "success" (a response without a FATAL result), "fatal" (a
// response with one: the XR is not composed) or "error" (no response: a gRPC
// error, for a request that does not decode or a response that cannot be
// encoded).
enum class Outcome : int { kSuccess = 0, kFatal = 1, kError = 2 };
inline constexpr int kOutcomes = 3;

// The results of one response, by severity.
struct ResultCounts {
  std::uint32_t fatal = 0;
  std::uint32_t warning = 0;
  std::uint32_t normal = 0;
};

struct BuildInfo {
  std::string version;
  std::string commit;
};

class Metrics {
 public:
  // The upper bounds of the latency histogram's buckets, in seconds (+Inf
  // is implied). A call takes about 2 ms of CPU (docs/performance.md).
  static constexpr std::array<double, 14> kBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

  // `kinds` are the XR kinds the function renders; every other kind, and a
  // call whose XR names none, is counted under kind="unknown".
  explicit Metrics(const std::vector<std::string>& kinds, BuildInfo build = {});
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // The slot of `kind` for Record: one of the kinds given, else unknown.
  int KindIndex(std::string_view kind) const;
  int UnknownKind() const { return static_cast<int>(kinds_.size()) - 1; }

  // Counts one finished call. Lock-free; safe from any thread.
  void Record(int kind, Outcome outcome, std::chrono::nanoseconds duration,
              const ResultCounts& results);

  // Every series in the text exposition format (version 0.0.4), with the
  // process's CPU, memory, file descriptor and start time series.
  std::string Render() const;

 private:
  struct Series;

  std::vector<std::string> kinds_;  // the kinds given, then "unknown"
  std::unique_ptr<Series[]> series_;
  std::array<std::int64_t, kBuckets.size()> bucket_nanos_;
  BuildInfo build_;
};

using ::platform::common::EscapeLabelValue;  // common/prometheus.h

}  // namespace platform::fn

#endif  // PLATFORM_FUNCTION_METRICS_METRICS_H_
