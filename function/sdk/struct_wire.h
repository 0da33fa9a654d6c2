// JSON straight to the wire bytes of a google.protobuf.Struct, without
// building the Struct.
//
// The bytes are exactly what ToStruct followed by a deterministic
// serialization gives (map entries in key order, which is also the order of
// nlohmann::json's objects), with the same refusals and the same error
// messages: an integer beyond 2^53, a number that is not finite, binary data.
// Building a Struct costs one heap allocation per field and per value, and
// freeing it as much again; for a response of a few dozen composed resources
// that is most of the rendering step's CPU.
#ifndef PLATFORM_FUNCTION_SDK_STRUCT_WIRE_H_
#define PLATFORM_FUNCTION_SDK_STRUCT_WIRE_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "function/sdk/struct_json.h"

namespace platform::fn::sdk {

// Appends the encoding of `in` (a JSON object) as a Struct message body to
// `out`. `path` names the object in errors, as for ToStruct. On error `out`
// is left as it was.
absl::Status EncodeStruct(const Json& in, std::string_view path, std::string* out);

}  // namespace platform::fn::sdk

#endif  // PLATFORM_FUNCTION_SDK_STRUCT_WIRE_H_
