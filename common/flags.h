// Command-line flags spelled with dashes, as Crossplane's programs spell
// them, on top of Abseil flags (which name them with underscores).
#ifndef PLATFORM_COMMON_FLAGS_H_
#define PLATFORM_COMMON_FLAGS_H_

#include <string>
#include <vector>

namespace platform {

// Abseil names flags with underscores and does not accept dashes, but the
// function spec, the SDKs and our programs' usage spell them with dashes
// (--tls-certs-dir, --max-recv-message-size, --log-format). Rewrites every
// argument that names a defined flag with dashes into the underscore form;
// values, unknown flags and everything after "--" are left as they are.
std::vector<std::string> UnderscoreFlagNames(int argc, char** argv);

// Parses the command line with Abseil after UnderscoreFlagNames: what a
// program's main calls first.
void ParseDashedFlags(int argc, char** argv);

}  // namespace platform

#endif  // PLATFORM_COMMON_FLAGS_H_
