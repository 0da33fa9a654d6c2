// The network of a cluster named by an XEnvironment: the function asks
// Crossplane for that XEnvironment as a required resource and takes the
// ids it publishes in its status.
// Which XEnvironment a name means, and the checks on it: environment.h.
#ifndef PLATFORM_FUNCTION_RENDERERS_XCLUSTER_NETWORK_H_
#define PLATFORM_FUNCTION_RENDERERS_XCLUSTER_NETWORK_H_

#include "absl/status/statusor.h"
#include "function/renderers/xcluster/params.h"
#include "function/sdk/request.h"
#include "function/sdk/response.h"

namespace platform::fn::renderers::xcluster {

enum class NetworkState {
  kReady,    // p.network holds the ids
  kWaiting,  // not known yet; compose nothing (nothing exists yet)
};

// Fills p.network from the named XEnvironment, when one is named. Waiting
// is the answer until Crossplane has provided the XEnvironment (it calls
// again at once), and while it publishes no network yet, but the latter only
// while none of the cluster's resources exist: once they do, a network that
// cannot be read is an error (FATAL keeps everything as it is), never an
// empty desired state. `why` says what is
// awaited. Errors name the field: network.environment.
absl::StatusOr<NetworkState> ResolveNetwork(Params& p, const sdk::Request& req, sdk::Response& rsp,
                                            std::string& why);

}  // namespace platform::fn::renderers::xcluster

#endif  // PLATFORM_FUNCTION_RENDERERS_XCLUSTER_NETWORK_H_
