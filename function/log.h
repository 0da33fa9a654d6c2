// Process-wide logging setup: spdlog to stderr, as text or as one JSON object
// per line for log collectors.
#ifndef PLATFORM_FUNCTION_LOG_H_
#define PLATFORM_FUNCTION_LOG_H_

#include <string_view>

#include "absl/status/status.h"

namespace platform::fn {

// `format` is "text" or "json". Errors are always logged; `debug` adds one
// line per call.
absl::Status SetUpLogging(std::string_view format, bool debug);

}  // namespace platform::fn

#endif  // PLATFORM_FUNCTION_LOG_H_
