#include "function/renderers/xcluster/network.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "function/renderers/environment.h"
#include "function/sdk/status_macros.h"
#include "function/sdk/strings.h"

namespace platform::fn::renderers::xcluster {
namespace {}  // namespace

absl::StatusOr<NetworkState> ResolveNetwork(Params& p, const sdk::Request& req, sdk::Response& rsp,
                                            std::string& why) {
  if (p.network.environment.empty()) return NetworkState::kReady;
  const EnvironmentLookup lookup{
      .name = p.network.environment, .scope = p.scope, .subject = p.subject, .what = "cluster"};
  PLATFORM_ASSIGN_OR_RETURN(std::optional<sdk::Json> found, LookUpEnvironment(lookup, req, rsp));
  if (!found) {
    // Crossplane fetches it and calls again at once, within the same
    // reconcile (it does so whenever the requirements change); only the
    // answer to that call is applied.
    why = sdk::Cat("waiting for Crossplane to provide ", Describe(lookup));
    return NetworkState::kWaiting;
  }
  const sdk::Fields env(*found, sdk::Cat("required resource ", kEnvironmentRequirement));
  PLATFORM_ASSIGN_OR_RETURN(std::string vpc, env.String("status.vpcId", ""));
  PLATFORM_ASSIGN_OR_RETURN(std::vector<std::string> private_ids,
                            env.StringList("status.privateSubnetIds"));
  PLATFORM_ASSIGN_OR_RETURN(std::vector<std::string> public_ids,
                            env.StringList("status.publicSubnetIds"));
  PLATFORM_ASSIGN_OR_RETURN(std::string baseline,
                            env.String("status.securityGroupIds.baseline", ""));
  const bool needs_public =
      p.provisioner == Provisioner::kCapiKubeadm && p.endpoint_access != "Private";
  if (vpc.empty() || private_ids.size() < 2 || (needs_public && public_ids.empty())) {
    const std::string missing = vpc.empty()              ? "vpcId"
                                : private_ids.size() < 2 ? "privateSubnetIds"
                                                         : "publicSubnetIds";
    PLATFORM_RETURN_IF_ERROR(AwaitPublished(lookup, missing, req, why));
    return NetworkState::kWaiting;
  }
  PLATFORM_ASSIGN_OR_RETURN(p.network.environment_object, env.String("metadata.name"));
  p.network.vpc_id = std::move(vpc);
  p.network.private_subnet_ids = std::move(private_ids);
  p.network.public_subnet_ids = std::move(public_ids);
  // Nodes join the environment's baseline group, which admits only its own
  // members: what else runs in the environment (databases) can admit them.
  if (!baseline.empty() &&
      std::find(p.network.security_group_ids.begin(), p.network.security_group_ids.end(),
                baseline) == p.network.security_group_ids.end()) {
    p.network.security_group_ids.insert(p.network.security_group_ids.begin(), baseline);
  }
  return NetworkState::kReady;
}

}  // namespace platform::fn::renderers::xcluster
