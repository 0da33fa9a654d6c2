// Conversion between google.protobuf.Struct, the wire form of every object in
// the RunFunction protocol, and nlohmann::json, the in-memory form renderers
// read and build.
//
// Struct numbers are doubles. A double that holds an integral value no larger
// than 2^53 in magnitude becomes a JSON integer, so that Kubernetes integer
// fields read back as integers; anything else stays a double. The other way,
// an integer beyond 2^53 cannot be represented exactly and is refused with an
// error naming the field, rather than silently rounded.
#ifndef PLATFORM_FUNCTION_SDK_STRUCT_JSON_H_
#define PLATFORM_FUNCTION_SDK_STRUCT_JSON_H_

#include <google/protobuf/struct.pb.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "absl/status/status.h"

namespace platform::fn::sdk {

using Json = nlohmann::json;

// The largest integer magnitude that a double represents exactly.
inline constexpr std::int64_t kMaxExactInteger = std::int64_t{1} << 53;

// Converts a Struct to a JSON object. Never fails: NaN and infinities, which
// JSON cannot carry, become null.
Json FromStruct(const google::protobuf::Struct& in);
Json FromValue(const google::protobuf::Value& in);
// A Value's number as FromValue converts it: an integer when it is one that
// a double holds exactly, null when not finite.
Json FromNumber(double v);

// Converts a JSON object to a Struct. `path` names the object in errors, e.g.
// `desired.resources[vpc]`; a failure names the offending field below it.
absl::Status ToStruct(const Json& in, std::string_view path, google::protobuf::Struct* out);
absl::Status ToValue(const Json& in, std::string_view path, google::protobuf::Value* out);

}  // namespace platform::fn::sdk

#endif  // PLATFORM_FUNCTION_SDK_STRUCT_JSON_H_
