#include "function/compose/events.h"

#include <algorithm>
#include <string>
#include <vector>

#include "function/sdk/status_macros.h"
#include "function/sdk/strings.h"

namespace platform::fn::compose {

absl::Status SetPolicyConditions(const policy::Policies& policies, sdk::Response& rsp) {
  PLATFORM_RETURN_IF_ERROR(rsp.SetCondition("Authorized", pb::STATUS_CONDITION_TRUE, "Allowed", "",
                                            pb::TARGET_COMPOSITE_AND_CLAIM));
  const std::string& note = policies.missing_policy_note();
  return rsp.SetCondition("PolicyCompliant", pb::STATUS_CONDITION_TRUE,
                          note.empty() ? "Compliant" : "PolicyNotFound", note,
                          pb::TARGET_COMPOSITE_AND_CLAIM);
}

absl::Status SetNetworkCondition(const sdk::Request& req, sdk::Response& rsp, bool ready,
                                 std::string_view why) {
  if (ready) {
    return rsp.SetCondition("NetworkReady", pb::STATUS_CONDITION_TRUE, "NetworkFound", "",
                            pb::TARGET_COMPOSITE_AND_CLAIM);
  }
  if (!req.CompositeHasCondition("NetworkReady", "False", "WaitingForNetwork", why)) {
    rsp.Normal("WaitingForNetwork", std::string(why));
  }
  return rsp.SetCondition("NetworkReady", pb::STATUS_CONDITION_FALSE, "WaitingForNetwork", why,
                          pb::TARGET_COMPOSITE_AND_CLAIM);
}

void AnnounceDeleted(const sdk::Request& req, sdk::Response& rsp) {
  std::vector<std::string> gone;
  for (const std::string& name : req.ObservedResourceNames()) {
    if (rsp.Desired(name) != nullptr) continue;
    // Said once: Crossplane has already asked for the deletion of one that
    // carries a deletion timestamp (a finalizer still holds it).
    const sdk::Observed* o = req.ObservedResource(name);
    if (o != nullptr && o->object.contains("metadata") &&
        o->object["metadata"].contains("deletionTimestamp")) {
      continue;
    }
    gone.push_back(name);
  }
  if (gone.empty()) return;
  std::sort(gone.begin(), gone.end());
  rsp.Normal("DeleteResources",
             sdk::Cat("deleting ", gone.size(), " resources no longer asked for: ",
                      fmt::format("{}", fmt::join(gone, ", "))));
}

}  // namespace platform::fn::compose
