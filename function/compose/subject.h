// The parameters every platform XR shares: environment class, region, team,
// cost center and extra tags. Read once here so every renderer validates
// them the same way and names the same fields in its errors.
#ifndef PLATFORM_FUNCTION_COMPOSE_SUBJECT_H_
#define PLATFORM_FUNCTION_COMPOSE_SUBJECT_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "function/policy/policy.h"
#include "function/sdk/fields.h"

namespace platform::fn::compose {

// Fills subject.xr_name and xr_kind from the XR, and origin_namespace: the
// XR's own namespace, or for a claim-based XR its claim's.
absl::Status ReadSubjectIdentity(const sdk::Fields& xr, policy::Subject& subject);

// The name of the XEnvironment that composed this XR (its controller owner
// reference), or "" for an XR applied on its own or through a claim.
// Crossplane's label crossplane.io/composite cannot tell: it names the root of
// the tree, which for a top-level XR is the XR itself.
absl::StatusOr<std::string> ReadComposingEnvironment(const sdk::Fields& xr);

// Fills subject.environment_class, region, team and cost_center from
// `params` (the XR's spec.parameters), and `user_tags` with the XR's extra
// tags. Tags under the platform's prefix are dropped (they are the
// platform's); a tag AWS would refuse (policy/tags.h) is an error naming its
// key, e.g. `spec.parameters.tags[cost#center]: a tag key may only hold ...`,
// and so are a team or cost center that could not be a tag value.
absl::Status ReadSubjectParams(const sdk::Fields& params, policy::Subject& subject,
                               sdk::Json& user_tags);

}  // namespace platform::fn::compose

#endif  // PLATFORM_FUNCTION_COMPOSE_SUBJECT_H_
