// XEnvironment: an AWS network environment from one claim.
//
// This first slice composes the VPC: its CIDR defaults by environment class,
// it carries the team's tags, and its id is published in the XR's status.
// Subnet tiers, gateways, routing and policies build on it.
#ifndef PLATFORM_FUNCTION_RENDERERS_XENVIRONMENT_H_
#define PLATFORM_FUNCTION_RENDERERS_XENVIRONMENT_H_

#include "function/registry.h"

namespace platform::fn::renderers {

class XEnvironment : public Renderer {
 public:
  absl::Status Render(const sdk::Request& req, sdk::Response& rsp) const override;
};

}  // namespace platform::fn::renderers

#endif  // PLATFORM_FUNCTION_RENDERERS_XENVIRONMENT_H_
