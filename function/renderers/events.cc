#include "function/renderers/events.h"

#include <algorithm>
#include <string>
#include <vector>

#include "function/sdk/status_macros.h"
#include "function/sdk/strings.h"

namespace platform::fn::renderers {

absl::Status SetPolicyConditions(sdk::Response& rsp) {
  PLATFORM_RETURN_IF_ERROR(rsp.SetCondition("Authorized", pb::STATUS_CONDITION_TRUE, "Allowed", "",
                                            pb::TARGET_COMPOSITE_AND_CLAIM));
  return rsp.SetCondition("PolicyCompliant", pb::STATUS_CONDITION_TRUE, "Compliant", "",
                          pb::TARGET_COMPOSITE_AND_CLAIM);
}

void AnnounceDeleted(const sdk::Request& req, sdk::Response& rsp) {
  std::vector<std::string> gone;
  for (const std::string& name : req.ObservedResourceNames()) {
    if (rsp.Desired(name) == nullptr) gone.push_back(name);
  }
  if (gone.empty()) return;
  std::sort(gone.begin(), gone.end());
  rsp.Normal("DeleteResources",
             sdk::Cat("deleting ", gone.size(), " resources no longer asked for: ",
                      fmt::format("{}", fmt::join(gone, ", "))));
}

}  // namespace platform::fn::renderers
