// Deletion order between composed objects: Crossplane's Usage
// (protection.crossplane.io/v1beta1) keeps its `of` until its `by` is gone,
// replaying the deletion of `by` when it was blocked. Every Usage the
// function composes is built here.
#ifndef PLATFORM_FUNCTION_COMPOSE_USAGE_H_
#define PLATFORM_FUNCTION_COMPOSE_USAGE_H_

#include <string>
#include <string_view>

#include "function/sdk/struct_json.h"

namespace platform::fn::compose {

// One end of a Usage: an object by name, in the Usage's own namespace for a
// namespaced kind...
sdk::Json UsageEndByName(std::string_view api_version, std::string_view kind,
                         std::string_view name);
// ...or the object this XR composes as `resource` (a selector on
// kResourceLabel that also matches the controller reference).
sdk::Json UsageEndBySelector(std::string_view api_version, std::string_view kind,
                             std::string_view resource);

// A Usage in `metadata`'s namespace when `namespaced` (both ends must be in
// it), else a ClusterUsage. `metadata` is the Usage's own: name or labels,
// and the namespace.
sdk::Json Usage(bool namespaced, sdk::Json metadata, sdk::Json of, sdk::Json by);

// The composition resource name of the Usage keeping `of` until `by` is gone.
std::string UsageResource(std::string_view of, std::string_view by);

}  // namespace platform::fn::compose

#endif  // PLATFORM_FUNCTION_COMPOSE_USAGE_H_
