// Change logs: one entry per change the provider makes (or fails to make) to
// a managed resource's external resource, for an audit trail that outlives
// Kubernetes events. The reconciler records entries through ChangeLog; where
// they go (Crossplane's change-log sidecar, over gRPC) is
// provider/changelogs/.
#ifndef PROVIDER_RUNTIME_CHANGELOG_H_
#define PROVIDER_RUNTIME_CHANGELOG_H_

#include <map>
#include <string>

#include "provider/kube/client.h"
#include "provider/kube/clock.h"

namespace runtime {

enum class ChangeOperation {
  // An observe-only resource (management policies without Update) whose
  // external resource no longer matches its spec: seen, not changed.
  kObservedDrift,
  kCreate,
  kUpdate,
  kDelete,
};

struct ChangeEntry {
  kube::Time at;
  ChangeOperation operation = ChangeOperation::kUpdate;
  // The managed resource just before the change (ChangeSnapshot).
  kube::Json snapshot;
  // Empty when the change succeeded.
  std::string error;
  // What the kind says about the change: a plan's or a run's counts.
  std::map<std::string, std::string> details;
};

class ChangeLog {
 public:
  virtual ~ChangeLog() = default;
  // Takes the entry; never blocks on the receiver and never fails the
  // reconcile (an implementation buffers and reports what it cannot send).
  // Called from many worker threads at once.
  virtual void Record(ChangeEntry entry) = 0;
};

// The managed resource as an entry shows it: without metadata.managedFields
// and kubectl's last-applied-configuration (a second copy of the spec). A
// managed resource holds no secret values (those are in Secrets it names).
kube::Json ChangeSnapshot(const kube::Json& mr);

}  // namespace runtime

#endif  // PROVIDER_RUNTIME_CHANGELOG_H_
