// Crossplane's condition types and reasons on status.conditions, set the way
// crossplane-runtime sets them: an unchanged condition keeps its
// lastTransitionTime.
#ifndef PROVIDER_RUNTIME_CONDITIONS_H_
#define PROVIDER_RUNTIME_CONDITIONS_H_

#include <string>

#include "provider/kube/client.h"
#include "provider/kube/clock.h"

namespace runtime {

struct Condition {
  std::string type;    // Ready, Synced
  std::string status;  // True, False, Unknown
  std::string reason;
  std::string message;
};

Condition Available();
Condition Unavailable(const std::string& message = "");
Condition Creating();
Condition Deleting();
Condition ReconcileSuccess();
Condition ReconcileError(const std::string& message);
Condition ReconcilePaused();

// Sets `c` on object.status.conditions with observedGeneration =
// metadata.generation. An equal condition (type, status, reason, message,
// observed generation) is left as it is.
void SetCondition(kube::Json& object, const Condition& c, kube::Time now);

// The condition of `type`, or an empty object.
kube::Json GetCondition(const kube::Json& object, const std::string& type);

// Messages on conditions and events are bounded.
std::string Truncate(const std::string& message, size_t max = 1024);

}  // namespace runtime

#endif  // PROVIDER_RUNTIME_CONDITIONS_H_
