// The network of a cluster named by an XEnvironment: what the cluster needs
// it to publish, and how the published ids fill Params::network. Finding the
// XEnvironment and waiting for it: compose/environment.h.
#ifndef PLATFORM_FUNCTION_RENDERERS_XCLUSTER_NETWORK_H_
#define PLATFORM_FUNCTION_RENDERERS_XCLUSTER_NETWORK_H_

#include "function/compose/environment.h"
#include "function/renderers/xcluster/params.h"

namespace platform::fn::renderers::xcluster {

// The status fields a cluster cannot be built without: the VPC, two private
// subnets, and a public subnet for a kubeadm cluster with a public endpoint
// (its load balancer).
compose::NetworkNeed NeedPublicSubnets(const Params& p);

// Fills p.network from what the environment publishes. Nodes join the
// environment's baseline security group, first.
void UseNetwork(compose::EnvironmentNetwork network, Params& p);

}  // namespace platform::fn::renderers::xcluster

#endif  // PLATFORM_FUNCTION_RENDERERS_XCLUSTER_NETWORK_H_
