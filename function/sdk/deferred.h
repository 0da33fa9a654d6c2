// Resource bodies the server decodes straight to JSON, skipping the Struct.
//
// A request's observed and required resources arrive as
// google.protobuf.Struct messages, which protobuf would build as maps of
// separately allocated Values, only for sdk::Request to convert the ones a
// renderer reads into JSON and free the rest. Instead, before parsing, the
// server rewrites the one-byte tag of each such Resource's `resource` field
// (field 1) into that of an unused field (15), of the same length, so the
// message's lengths stay as they are: protobuf then keeps the body as an
// unknown field's bytes, and ResourceJson decodes them to JSON when asked.
//
// The rewrite never touches the desired state, which goes back to Crossplane:
// only observed resources and required resources, which are read and never
// sent back. It rewrites nothing unless every candidate body in the request is
// a Struct in the plain form Crossplane sends (every string valid UTF-8, each
// Value exactly one kind, no unknown fields, nested at most kMaxDeferredDepth
// objects or lists deep) and no Resource already has a field 15; any other
// request is parsed as it always was. So a request reads the same either way,
// and one protobuf would refuse is still refused.
#ifndef PLATFORM_FUNCTION_SDK_DEFERRED_H_
#define PLATFORM_FUNCTION_SDK_DEFERRED_H_

#include <string>
#include <string_view>

#include "function/sdk/proto.h"
#include "function/sdk/struct_json.h"

namespace platform::fn::sdk {

inline constexpr int kDeferredResourceField = 15;
inline constexpr int kMaxDeferredDepth = 20;

// Rewrites, in place, the serialized RunFunctionRequest `wire` as described
// above. Returns how many bodies it deferred (0 when it rewrote nothing).
int DeferResourceBodies(std::string& wire);

// The resource's body as JSON: its Struct, or the deferred bytes (several
// are merged as protobuf merges them: later top-level keys replace earlier
// ones), or an empty object.
Json ResourceJson(const pb::Resource& resource);

// The body's top-level string field `key`, or "" when it is absent or not a
// string; without converting the rest.
std::string ResourceString(const pb::Resource& resource, std::string_view key);

}  // namespace platform::fn::sdk

#endif  // PLATFORM_FUNCTION_SDK_DEFERRED_H_
