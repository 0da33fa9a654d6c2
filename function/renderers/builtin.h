// The registry of every XR kind this function ships.
#ifndef PLATFORM_FUNCTION_RENDERERS_BUILTIN_H_
#define PLATFORM_FUNCTION_RENDERERS_BUILTIN_H_

#include "function/registry.h"

namespace platform::fn {

// One renderer per kind: XEnvironment, XCluster, XDatabase. Adding a kind is
// one folder under renderers/ and one line in this function's definition.
Registry BuiltinRegistry();

}  // namespace platform::fn

#endif  // PLATFORM_FUNCTION_RENDERERS_BUILTIN_H_
