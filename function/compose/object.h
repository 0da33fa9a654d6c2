// Reading observed objects, and the label that names composed ones.
//
// Observed state is whatever Crossplane and the providers wrote; these
// accessors never fail: a field that is absent or of another type reads as
// absent, so readiness and status code can ask without guarding each step.
#ifndef PLATFORM_FUNCTION_COMPOSE_OBJECT_H_
#define PLATFORM_FUNCTION_COMPOSE_OBJECT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "function/sdk/struct_json.h"

namespace platform::fn::compose {

// The label every composed object carries with its composition resource
// name; selectors between composed objects match on it.
inline constexpr std::string_view kResourceLabel = "platform.terraforming.io/resource";

// A selector (matchLabels on kResourceLabel, matchControllerRef) of the
// object this XR composes as `resource`.
sdk::Json SelectComposed(std::string_view resource);

// A condition of `type` with status True, in status.conditions or in the
// v1beta1 conditions Cluster API v1beta2 keeps under
// status.deprecated.v1beta1.conditions.
bool ConditionTrue(const sdk::Json& object, std::string_view type);
// A string at `path`, or "" when absent or not a string.
std::string StringAt(const sdk::Json& object, std::string_view path);
// An integer at `path`, or nullopt.
std::optional<std::int64_t> IntAt(const sdk::Json& object, std::string_view path);
// Whether the boolean at `path` is true.
bool TrueAt(const sdk::Json& object, std::string_view path);

}  // namespace platform::fn::compose

#endif  // PLATFORM_FUNCTION_COMPOSE_OBJECT_H_
