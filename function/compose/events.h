// What every platform renderer says about a render besides its resources.
#ifndef PLATFORM_FUNCTION_COMPOSE_EVENTS_H_
#define PLATFORM_FUNCTION_COMPOSE_EVENTS_H_

#include <string_view>

#include "absl/status/status.h"
#include "function/policy/policy.h"
#include "function/sdk/request.h"
#include "function/sdk/response.h"

namespace platform::fn::compose {

// The conditions Authorized (Allowed) and PolicyCompliant, True, on the XR
// and its claim: reason Compliant, or PolicyNotFound with the policies'
// note when the platform's policy was not delivered and the defaults apply.
// Set on every successful render: Crossplane keeps a custom condition until
// it is set again, so a denial that was fixed must be cleared explicitly.
absl::Status SetPolicyConditions(const policy::Policies& policies, sdk::Response& rsp);

// The condition NetworkReady on the XR and its claim, for an XR that takes
// its network from an XEnvironment: False (WaitingForNetwork, saying `why`)
// while it waits, True (NetworkFound) once the network is known. While it
// waits, a Normal WaitingForNetwork result says `why` only when the
// observed XR does not carry that condition yet: Crossplane turns every
// result of every call into an event, and a wait lasts many calls.
absl::Status SetNetworkCondition(const sdk::Request& req, sdk::Response& rsp, bool ready,
                                 std::string_view why = {});

// A Normal `DeleteResources` event naming the resources observed but no
// longer desired (Crossplane deletes them after this call), in name order;
// nothing when there are none, or when all of them are already being
// deleted (they carry a deletion timestamp).
void AnnounceDeleted(const sdk::Request& req, sdk::Response& rsp);

}  // namespace platform::fn::compose

#endif  // PLATFORM_FUNCTION_COMPOSE_EVENTS_H_
