// Kubernetes Events about objects (core/v1), as `kubectl describe` shows
// them. Recorder is the interface reconcilers use (tests can record in
// memory); EventRecorder writes through a kube::Client, folding repeats of
// the same event into one with a count.
#ifndef PROVIDER_KUBE_EVENTS_H_
#define PROVIDER_KUBE_EVENTS_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "provider/kube/client.h"
#include "provider/kube/clock.h"

namespace kube {

class Recorder {
 public:
  virtual ~Recorder() = default;
  // `involved` is the object the event is about (apiVersion, kind and
  // metadata are read); `type` is "Normal" or "Warning". Failures are logged.
  virtual void Event(const Json& involved, const std::string& type, const std::string& reason,
                     const std::string& message,
                     const std::map<std::string, std::string>& annotations) = 0;

  void Normal(const Json& involved, const std::string& reason, const std::string& message,
              const std::map<std::string, std::string>& annotations = {}) {
    Event(involved, "Normal", reason, message, annotations);
  }
  void Warning(const Json& involved, const std::string& reason, const std::string& message,
               const std::map<std::string, std::string>& annotations = {}) {
    Event(involved, "Warning", reason, message, annotations);
  }
};

class EventRecorder : public Recorder {
 public:
  static constexpr size_t kMaxMessage = 1024;  // bytes
  static constexpr size_t kCacheSize = 4096;   // events remembered for aggregation
  static constexpr std::chrono::minutes kAggregationWindow{10};

  // `component` names the writer (source.component, reportingComponent);
  // `host` its instance (source.host, reportingInstance).
  EventRecorder(Client& client, const kube::Clock& clock, std::string component, std::string host);

  // Writes the event in the involved object's namespace ("default" for
  // cluster-scoped objects). The same event (object uid, type, reason,
  // message) again within 10 minutes bumps the count and lastTimestamp of
  // the Event already written. Failures are logged.
  void Event(const Json& involved, const std::string& type, const std::string& reason,
             const std::string& message,
             const std::map<std::string, std::string>& annotations) override;

 private:
  struct Seen {
    std::string ns;
    std::string name;
    int64_t count = 0;
    kube::Time last;
  };
  using CacheKey = std::tuple<std::string, std::string, std::string, std::string>;

  absl::Status Record(const Json& involved, const std::string& type, const std::string& reason,
                      const std::string& message,
                      const std::map<std::string, std::string>& annotations);
  absl::Status Create(const CacheKey& cache_key, const Json& involved, const std::string& type,
                      const std::string& reason, const std::string& message,
                      const std::map<std::string, std::string>& annotations);
  void Remember(const CacheKey& key, Seen seen);

  Client& client_;
  const kube::Clock& clock_;
  const std::string component_;
  const std::string host_;
  std::mutex mu_;
  std::map<CacheKey, Seen> seen_;
  uint64_t sequence_ = 0;
};

// Cuts `text` to at most `max` bytes without splitting a UTF-8 character.
std::string TruncateUtf8(const std::string& text, size_t max);

}  // namespace kube

#endif  // PROVIDER_KUBE_EVENTS_H_
