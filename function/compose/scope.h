// Where an XR lives decides which API groups its managed resources use:
// claim-based (cluster-scoped) XRs compose the cluster-scoped AWS kinds in
// `*.aws.upbound.io`; Crossplane v2 namespaced XRs compose the namespaced
// kinds in `*.aws.m.upbound.io`, in the XR's namespace.
#ifndef PLATFORM_FUNCTION_COMPOSE_SCOPE_H_
#define PLATFORM_FUNCTION_COMPOSE_SCOPE_H_

#include <string>
#include <string_view>

#include "function/sdk/fields.h"

namespace platform::fn::compose {

struct Scope {
  bool namespaced = false;
  std::string namespace_;

  // The apiVersion of an AWS provider kind, e.g. AwsApiVersion("ec2") is
  // "ec2.aws.upbound.io/v1beta1" or "ec2.aws.m.upbound.io/v1beta1".
  std::string AwsApiVersion(std::string_view service, std::string_view version = "v1beta1") const;

  // Metadata for a composed resource: the XR's namespace for namespaced XRs
  // (Crossplane v2 forces it too; older render tools do not), else empty.
  sdk::Json Metadata() const;
};

// Reads the scope from the XR's metadata.namespace.
Scope ScopeOf(const sdk::Fields& xr);

}  // namespace platform::fn::compose

#endif  // PLATFORM_FUNCTION_COMPOSE_SCOPE_H_
