#include "function/renderers/xcluster/network.h"

#include <algorithm>
#include <utility>

namespace platform::fn::renderers::xcluster {

compose::NetworkNeed NeedPublicSubnets(const Params& p) {
  const bool needs_public =
      p.provisioner == Provisioner::kCapiKubeadm && p.endpoint_access != "Private";
  return {.field = "publicSubnetIds", .at_least = needs_public ? 1u : 0u};
}

void UseNetwork(compose::EnvironmentNetwork network, Params& p) {
  p.network.environment_object = std::move(network.object_name);
  p.network.vpc_id = std::move(network.vpc_id);
  p.network.vpc_cidr = std::move(network.vpc_cidr);
  p.network.private_subnet_ids = std::move(network.private_subnet_ids);
  p.network.public_subnet_ids = std::move(network.public_subnet_ids);
  // Nodes join the environment's baseline group, which admits only its own
  // members: what else runs in the environment (databases) can admit them.
  const std::string& baseline = network.baseline_security_group;
  std::vector<std::string>& groups = p.network.security_group_ids;
  if (!baseline.empty() && std::find(groups.begin(), groups.end(), baseline) == groups.end()) {
    groups.insert(groups.begin(), baseline);
  }
}

}  // namespace platform::fn::renderers::xcluster
