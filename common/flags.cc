#include "common/flags.h"

#include <algorithm>

#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"

namespace platform {

std::vector<std::string> UnderscoreFlagNames(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  for (std::size_t i = 1; i < args.size(); ++i) {
    std::string& arg = args[i];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-') continue;
    const std::size_t begin = arg[1] == '-' ? 2 : 1;
    const std::size_t end = std::min(arg.find('='), arg.size());
    const bool inline_value = end < arg.size();
    std::string name = arg.substr(begin, end - begin);
    std::replace(name.begin(), name.end(), '-', '_');
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    bool negated = false;
    if (flag == nullptr && name.rfind("no", 0) == 0) {
      // --no-debug: Abseil spells the negation of a boolean --nodebug.
      std::string positive = name.substr(name.rfind("no_", 0) == 0 ? 3 : 2);
      flag = absl::FindCommandLineFlag(positive);
      negated = flag != nullptr && flag->IsOfType<bool>();
      if (!negated) {
        flag = nullptr;
      } else {
        name = "no" + positive;
      }
    }
    if (flag == nullptr) continue;
    arg.replace(begin, end - begin, name);
    // "--flag value": the value is the next argument; leave it alone.
    if (!negated && !inline_value && !flag->IsOfType<bool>()) ++i;
  }
  return args;
}

void ParseDashedFlags(int argc, char** argv) {
  std::vector<std::string> args = UnderscoreFlagNames(argc, argv);
  std::vector<char*> pointers;
  for (std::string& a : args) pointers.push_back(a.data());
  absl::ParseCommandLine(static_cast<int>(pointers.size()), pointers.data());
}

}  // namespace platform
