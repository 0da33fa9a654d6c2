// Management policies (spec.managementPolicies) and the deletion policy, as
// crossplane-runtime resolves them for legacy (cluster-scoped, with
// spec.deletionPolicy) and modern (namespaced) managed resources.
#ifndef PROVIDER_RUNTIME_POLICIES_H_
#define PROVIDER_RUNTIME_POLICIES_H_

#include <set>
#include <string>

#include "provider/kube/client.h"

namespace runtime {

class Policies {
 public:
  // `legacy`: the kind has spec.deletionPolicy. `enabled`: the
  // management-policies feature (on by default).
  Policies(const kube::Json& mr, bool legacy, bool enabled = true);

  // Empty when valid; else the message for the Synced condition.
  std::string Validate() const;
  bool Paused() const;  // an empty set, with the feature on
  bool ShouldObserveOnly() const;
  bool ShouldCreate() const { return Has("Create"); }
  bool ShouldUpdate() const { return Has("Update"); }
  bool ShouldLateInitialize() const { return Has("LateInitialize"); }
  bool ShouldDelete() const;
  std::string Describe() const;  // "[Observe, Create]"

 private:
  bool Has(const std::string& action) const;
  bool IsDefault() const;

  std::set<std::string> actions_;
  bool legacy_;
  bool enabled_;
  bool orphan_ = false;
};

}  // namespace runtime

#endif  // PROVIDER_RUNTIME_POLICIES_H_
