// function-platform's command line, on top of Abseil flags but spelled the
// way Crossplane's function runtime and SDKs spell it: --tls-certs-dir, not
// --tls_certs_dir (Abseil's own spelling is accepted too).
//
// Unlike absl::ParseCommandLine, it exits 0 for --help (and prints only the
// program's own flags), and leaves the exit code for a flag it does not know
// or a bad value to the caller (2, by convention), instead of exiting 1.
#ifndef PLATFORM_FUNCTION_CLI_H_
#define PLATFORM_FUNCTION_CLI_H_

#include <string>
#include <vector>

#include "absl/flags/commandlineflag.h"

namespace platform::fn {

struct CommandLine {
  enum Action { kRun, kHelp, kVersion, kError };
  Action action = kRun;
  // For kError: what is wrong, naming the flag as it was spelled.
  std::string error;
};

// Sets the flags in `flags` from `args` (without the program name):
//   --name=value, --name value, -name value (one dash works too)
//   --bool, --bool=true|false, --no-bool
//   -d (--debug), -h and --help, --version
// Stops at the first --help or --version. A flag not in `flags`, a bad or
// missing value, or an argument that is not a flag is an error. Dashes and
// underscores in names are the same.
CommandLine ParseCommandLine(const std::vector<std::string>& args,
                             const std::vector<absl::CommandLineFlag*>& flags);

// Every flag defined in the same source file as `sibling` (main.cc's flags,
// not the ones libraries define), sorted by name.
std::vector<absl::CommandLineFlag*> FlagsDefinedWith(const absl::CommandLineFlag& sibling);

// The --help text: `synopsis`, then each flag with dashes, its value type,
// help and default, then -h/--help and --version.
std::string Usage(const std::string& synopsis, const std::vector<absl::CommandLineFlag*>& flags);

// A flag's name as the command line spells it: dashes for underscores.
std::string DashedName(const absl::CommandLineFlag& flag);

}  // namespace platform::fn

#endif  // PLATFORM_FUNCTION_CLI_H_
