// Go-style durations ("90s", "10m", "1h30m", "500ms"), as Crossplane's
// annotations and the provider's flags and fields write them.
#ifndef PROVIDER_RUNTIME_DURATION_H_
#define PROVIDER_RUNTIME_DURATION_H_

#include <chrono>
#include <string>

#include "absl/status/statusor.h"

namespace runtime {

// Units h, m, s, ms, us, ns; a sequence of <number><unit>. InvalidArgument
// when malformed or negative.
absl::StatusOr<std::chrono::milliseconds> ParseDuration(const std::string& text);

// "1h2m3s" style, for messages.
std::string FormatDuration(std::chrono::milliseconds d);

}  // namespace runtime

#endif  // PROVIDER_RUNTIME_DURATION_H_
