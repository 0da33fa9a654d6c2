// XCluster: a Kubernetes cluster from one claim or namespaced XR, by one of
// three provisioners: Cluster API with EKS (CAPA's AWSManagedControlPlane
// and a managed node group per pool), Cluster API with kubeadm on EC2, or
// the AWS provider's EKS kinds directly. The network is given by ids or taken
// from an XEnvironment; node pools are created once the control plane is
// ready, and kept once they exist. See docs/xcluster.md.
#ifndef PLATFORM_FUNCTION_RENDERERS_XCLUSTER_XCLUSTER_H_
#define PLATFORM_FUNCTION_RENDERERS_XCLUSTER_XCLUSTER_H_

#include "function/compose/platform.h"

namespace platform::fn::renderers {

class XCluster : public compose::PlatformRenderer {
 public:
  XCluster();

 protected:
  absl::StatusOr<compose::Composed> Compose(const compose::Xr& xr,
                                            compose::RenderContext& call) const override;
};

}  // namespace platform::fn::renderers

#endif  // PLATFORM_FUNCTION_RENDERERS_XCLUSTER_XCLUSTER_H_
