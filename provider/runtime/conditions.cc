#include "provider/runtime/conditions.h"

namespace runtime {

Condition Available() { return {"Ready", "True", "Available", ""}; }
Condition Unavailable(const std::string& message) {
  return {"Ready", "False", "Unavailable", message};
}
Condition Creating() { return {"Ready", "False", "Creating", ""}; }
Condition Deleting() { return {"Ready", "False", "Deleting", ""}; }
Condition ReconcileSuccess() { return {"Synced", "True", "ReconcileSuccess", ""}; }
Condition ReconcileError(const std::string& message) {
  return {"Synced", "False", "ReconcileError", message};
}
Condition ReconcilePaused() {
  return {"Synced", "False", "ReconcilePaused", "Reconciliation is paused"};
}

std::string Truncate(const std::string& message, size_t max) {
  if (message.size() <= max) return message;
  size_t cut = max - 3;
  // Never split a UTF-8 sequence.
  while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xC0) == 0x80) --cut;
  return message.substr(0, cut) + "...";
}

void SetCondition(kube::Json& object, const Condition& c, kube::Time now) {
  const int64_t generation = object["metadata"].value("generation", int64_t{0});
  kube::Json& status = object["status"];
  if (!status.is_object()) status = kube::Json::object();
  kube::Json& conditions = status["conditions"];
  if (!conditions.is_array()) conditions = kube::Json::array();
  kube::Json next = {{"type", c.type},
                     {"status", c.status},
                     {"reason", c.reason},
                     {"lastTransitionTime", kube::Rfc3339(now)}};
  const std::string message = Truncate(c.message);
  if (!message.empty()) next["message"] = message;
  if (generation > 0) next["observedGeneration"] = generation;
  for (auto& existing : conditions) {
    if (existing.value("type", "") != c.type) continue;
    const int64_t seen = existing.value("observedGeneration", int64_t{0});
    const bool same = existing.value("status", "") == c.status &&
                      existing.value("reason", "") == c.reason &&
                      existing.value("message", "") == message &&
                      (seen == 0 || generation == 0 || seen == generation);
    if (!same) existing = next;
    return;
  }
  conditions.push_back(next);
}

kube::Json GetCondition(const kube::Json& object, const std::string& type) {
  if (!object.contains("status") || !object["status"].is_object() ||
      !object["status"].contains("conditions")) {
    return kube::Json::object();
  }
  for (const auto& c : object["status"]["conditions"]) {
    if (c.value("type", "") == type) return c;
  }
  return kube::Json::object();
}

}  // namespace runtime
