// XEnvironment: an AWS network environment from one claim or namespaced
// XR: a VPC with public, private and database subnets in each zone, NAT and
// routing by the class's strategy, a baseline security group, an S3
// endpoint, and the clusters and databases composed inside it. Its status
// publishes the ids other XRs build on. See docs/xenvironment.md.
#ifndef PLATFORM_FUNCTION_RENDERERS_XENVIRONMENT_XENVIRONMENT_H_
#define PLATFORM_FUNCTION_RENDERERS_XENVIRONMENT_XENVIRONMENT_H_

#include "function/compose/platform.h"

namespace platform::fn::renderers {

class XEnvironment : public compose::PlatformRenderer {
 public:
  XEnvironment();

 protected:
  absl::StatusOr<compose::Composed> Compose(const compose::Xr& xr,
                                            compose::RenderContext& call) const override;
};

}  // namespace platform::fn::renderers

#endif  // PLATFORM_FUNCTION_RENDERERS_XENVIRONMENT_XENVIRONMENT_H_
