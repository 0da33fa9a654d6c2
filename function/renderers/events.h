// What every platform renderer says about a render besides its resources.
#ifndef PLATFORM_FUNCTION_RENDERERS_EVENTS_H_
#define PLATFORM_FUNCTION_RENDERERS_EVENTS_H_

#include "absl/status/status.h"
#include "function/sdk/request.h"
#include "function/sdk/response.h"

namespace platform::fn::renderers {

// The conditions Authorized (Allowed) and PolicyCompliant (Compliant), True,
// on the XR and its claim. Set on every successful render: Crossplane keeps
// a custom condition until it is set again, so a denial that was fixed must
// be cleared explicitly.
absl::Status SetPolicyConditions(sdk::Response& rsp);

// A Normal `DeleteResources` event naming the resources observed but no
// longer desired (Crossplane deletes them after this call), in name order;
// nothing when there are none.
void AnnounceDeleted(const sdk::Request& req, sdk::Response& rsp);

}  // namespace platform::fn::renderers

#endif  // PLATFORM_FUNCTION_RENDERERS_EVENTS_H_
