// XCluster: a Kubernetes cluster from one claim.
//
// This first slice implements one provisioner and flavor: Cluster API with
// EKS (a managed control plane, CAPA's AWSManagedControlPlane) and one EKS
// managed node group per node pool (MachinePool + AWSManagedMachinePool),
// in an existing network given by ids. Node pools are created only once the
// control plane is ready, and kept once they exist. See docs/xcluster.md.
#ifndef PLATFORM_FUNCTION_RENDERERS_XCLUSTER_H_
#define PLATFORM_FUNCTION_RENDERERS_XCLUSTER_H_

#include "function/registry.h"

namespace platform::fn::renderers {

class XCluster : public Renderer {
 public:
  absl::Status Render(const sdk::Request& req, sdk::Response& rsp) const override;
};

}  // namespace platform::fn::renderers

#endif  // PLATFORM_FUNCTION_RENDERERS_XCLUSTER_H_
