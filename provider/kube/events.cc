#include "provider/kube/events.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <utility>

#include "common/status_macros.h"
#include "provider/kube/resources.h"

namespace kube {

std::string TruncateUtf8(const std::string& text, size_t max) {
  if (text.size() <= max) return text;
  size_t end = max;
  // Back off continuation bytes (10xxxxxx) to the start of a character.
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0u) == 0x80u) --end;
  return text.substr(0, end);
}

EventRecorder::EventRecorder(Client& client, const kube::Clock& clock, std::string component,
                             std::string host)
    : client_(client), clock_(clock), component_(std::move(component)), host_(std::move(host)) {}

void EventRecorder::Event(const Json& involved, const std::string& type, const std::string& reason,
                          const std::string& message,
                          const std::map<std::string, std::string>& annotations) {
  const absl::Status recorded = Record(involved, type, reason, message, annotations);
  if (!recorded.ok()) {
    spdlog::warn("event {} {} on {}: not recorded: {}", type, reason, KeyOf(involved).String(),
                 std::string(recorded.message()));
  }
}

absl::Status EventRecorder::Record(const Json& involved, const std::string& type,
                                   const std::string& reason, const std::string& message,
                                   const std::map<std::string, std::string>& annotations) {
  const std::string text = TruncateUtf8(message, kMaxMessage);
  const Json meta = involved.value("metadata", Json::object());
  const std::string uid = meta.value("uid", "");
  const CacheKey key{uid.empty() ? KeyOf(involved).String() : uid, type, reason, text};
  const kube::Time now = clock_.Now();

  std::optional<Seen> previous;
  {
    std::lock_guard lock(mu_);
    auto it = seen_.find(key);
    if (it != seen_.end() && now - it->second.last < kAggregationWindow) previous = it->second;
  }
  if (previous) {
    Seen next = *previous;
    next.count += 1;
    next.last = now;
    const absl::StatusOr<Json> patched =
        client_.Patch(kEvents, {next.ns, next.name}, PatchType::kMerge,
                      {{"count", next.count}, {"lastTimestamp", kube::Rfc3339(now)}}, {});
    if (patched.ok()) {
      Remember(key, std::move(next));
      return absl::OkStatus();
    }
    // NotFound: the Event expired on the server; write a new one.
    if (!kube::IsNotFound(patched.status())) return patched.status();
  }
  return Create(key, involved, type, reason, text, annotations);
}

absl::Status EventRecorder::Create(const CacheKey& cache_key, const Json& involved,
                                   const std::string& type, const std::string& reason,
                                   const std::string& message,
                                   const std::map<std::string, std::string>& annotations) {
  const Json meta = involved.value("metadata", Json::object());
  const std::string object_ns = meta.value("namespace", "");
  const std::string ns = object_ns.empty() ? "default" : object_ns;
  const std::string object_name = meta.value("name", "");
  const kube::Time now = clock_.Now();

  // Named like client-go's: <object>.<hex nanoseconds>, unique per process.
  uint64_t suffix;
  {
    std::lock_guard lock(mu_);
    suffix =
        static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count()) +
        sequence_++;
  }
  char hex[32];
  std::snprintf(hex, sizeof hex, "%llx", static_cast<unsigned long long>(suffix));
  const std::string name = object_name.substr(0, 200) + "." + hex;

  Json ref = {{"apiVersion", involved.value("apiVersion", "")},
              {"kind", involved.value("kind", "")},
              {"name", object_name}};
  if (!object_ns.empty()) ref["namespace"] = object_ns;
  if (meta.contains("uid")) ref["uid"] = meta["uid"];
  if (meta.contains("resourceVersion")) ref["resourceVersion"] = meta["resourceVersion"];

  Json event = {{"apiVersion", "v1"},
                {"kind", "Event"},
                {"metadata", {{"name", name}, {"namespace", ns}}},
                {"involvedObject", ref},
                {"reason", reason},
                {"message", message},
                {"type", type},
                {"source", {{"component", component_}, {"host", host_}}},
                {"firstTimestamp", kube::Rfc3339(now)},
                {"lastTimestamp", kube::Rfc3339(now)},
                {"count", 1},
                {"reportingComponent", component_},
                {"reportingInstance", host_}};
  if (!annotations.empty()) event["metadata"]["annotations"] = annotations;
  RETURN_IF_ERROR(client_.Create(kEvents, event));
  Remember(cache_key, Seen{ns, name, 1, now});
  return absl::OkStatus();
}

void EventRecorder::Remember(const CacheKey& key, Seen seen) {
  std::lock_guard lock(mu_);
  seen_[key] = std::move(seen);
  if (seen_.size() <= kCacheSize) return;
  // Full: forget what can no longer aggregate, else the oldest.
  const kube::Time now = clock_.Now();
  for (auto it = seen_.begin(); it != seen_.end();) {
    it = now - it->second.last >= kAggregationWindow ? seen_.erase(it) : std::next(it);
  }
  while (seen_.size() > kCacheSize) {
    auto oldest = seen_.begin();
    for (auto it = seen_.begin(); it != seen_.end(); ++it) {
      if (it->second.last < oldest->second.last) oldest = it;
    }
    seen_.erase(oldest);
  }
}

}  // namespace kube
