// Ids in an XR's parameters and names derived from values: the AWS ids a
// user lists (subnets, security groups), and short stable keys for
// composition resource names that must not depend on list positions.
#ifndef PLATFORM_FUNCTION_COMPOSE_IDS_H_
#define PLATFORM_FUNCTION_COMPOSE_IDS_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "function/sdk/fields.h"

namespace platform::fn::compose {

// The list at `field` of `f`: AWS ids starting with `prefix` ("subnet-",
// "sg-") and more, none listed twice; absent is empty. Errors name the
// entry, e.g. `spec.parameters.network.privateSubnetIds[1]: "x" is not a
// subnet id` (`what` names the kind of id).
absl::StatusOr<std::vector<std::string>> ReadAwsIds(const sdk::Fields& f, std::string_view field,
                                                    std::string_view prefix, std::string_view what);

// 8 hex digits of the FNV-1a hash of `s`: the same for the same value in
// every call and every build, short enough for label values.
std::string ShortHash(std::string_view s);

}  // namespace platform::fn::compose

#endif  // PLATFORM_FUNCTION_COMPOSE_IDS_H_
