// The protocol types renderers see. v1 is the canonical package; the server
// decodes v1beta1 calls into the same types because the two are wire-identical.
#ifndef PLATFORM_FUNCTION_SDK_PROTO_H_
#define PLATFORM_FUNCTION_SDK_PROTO_H_

#include "apiextensions/fn/proto/v1/run_function.pb.h"

namespace platform::fn {
namespace pb = ::apiextensions::fn::proto::v1;
}  // namespace platform::fn

#endif  // PLATFORM_FUNCTION_SDK_PROTO_H_
