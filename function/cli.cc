#include "function/cli.h"

#include <algorithm>

#include "absl/flags/reflection.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace platform::fn {
namespace {

absl::CommandLineFlag* Find(const std::vector<absl::CommandLineFlag*>& flags,
                            const std::string& name) {
  for (absl::CommandLineFlag* f : flags) {
    if (f->Name() == name) return f;
  }
  return nullptr;
}

std::string TypeName(const absl::CommandLineFlag& flag) {
  if (flag.IsOfType<bool>()) return "";
  if (flag.IsOfType<int>() || flag.IsOfType<long>() || flag.IsOfType<long long>()) return " int";
  if (flag.IsOfType<double>()) return " number";
  return " string";
}

}  // namespace

std::string DashedName(const absl::CommandLineFlag& flag) {
  return absl::StrReplaceAll(flag.Name(), {{"_", "-"}});
}

CommandLine ParseCommandLine(const std::vector<std::string>& args,
                             const std::vector<absl::CommandLineFlag*>& flags) {
  auto fail = [](std::string error) { return CommandLine{CommandLine::kError, std::move(error)}; };
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      if (i + 1 < args.size())
        return fail(absl::StrCat("unexpected argument \"", args[i + 1], "\""));
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      return fail(absl::StrCat("unexpected argument \"", arg, "\""));
    }
    const std::size_t begin = arg[1] == '-' ? 2 : 1;
    const std::size_t eq = arg.find('=');
    const bool inline_value = eq != std::string::npos;
    const std::string spelled = arg.substr(0, inline_value ? eq : arg.size());
    std::string name = arg.substr(begin, (inline_value ? eq : arg.size()) - begin);
    std::replace(name.begin(), name.end(), '-', '_');
    if (!inline_value && (name == "h" || name == "help")) return {CommandLine::kHelp, ""};
    if (!inline_value && name == "version") return {CommandLine::kVersion, ""};
    if (name == "d" && Find(flags, "debug") != nullptr) name = "debug";

    absl::CommandLineFlag* flag = Find(flags, name);
    std::string value;
    if (flag == nullptr && !inline_value && name.rfind("no", 0) == 0) {
      // --no-debug, --nodebug: a boolean's negation.
      absl::CommandLineFlag* positive = Find(flags, name.substr(name.rfind("no_", 0) == 0 ? 3 : 2));
      if (positive != nullptr && positive->IsOfType<bool>()) {
        flag = positive;
        value = "false";
      }
    } else if (flag != nullptr && inline_value) {
      value = arg.substr(eq + 1);
    } else if (flag != nullptr && flag->IsOfType<bool>()) {
      value = "true";
    } else if (flag != nullptr) {
      if (i + 1 >= args.size()) return fail(absl::StrCat("flag ", spelled, " needs a value"));
      value = args[++i];
    }
    if (flag == nullptr) return fail(absl::StrCat("unknown flag ", spelled));
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return fail(absl::StrCat("invalid value \"", value, "\" for flag ", spelled));
    }
  }
  return {};
}

std::vector<absl::CommandLineFlag*> FlagsDefinedWith(const absl::CommandLineFlag& sibling) {
  std::vector<absl::CommandLineFlag*> out;
  const std::string file = sibling.Filename();
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (flag->Filename() == file) out.push_back(flag);
  }
  std::sort(out.begin(), out.end(),
            [](const absl::CommandLineFlag* a, const absl::CommandLineFlag* b) {
              return a->Name() < b->Name();
            });
  return out;
}

std::string Usage(const std::string& synopsis, const std::vector<absl::CommandLineFlag*>& flags) {
  std::string out = absl::StrCat(synopsis, "\n\nFlags:\n");
  for (const absl::CommandLineFlag* f : flags) {
    absl::StrAppend(&out, f->Name() == "debug" ? "  -d, --" : "  --", DashedName(*f), TypeName(*f),
                    "\n        ", f->Help());
    const std::string def = f->DefaultValue();
    if (!f->IsOfType<bool>() && !def.empty()) {
      absl::StrAppend(&out, f->IsOfType<std::string>() ? " (default \"" : " (default ", def,
                      f->IsOfType<std::string>() ? "\")" : ")");
    }
    absl::StrAppend(&out, "\n");
  }
  absl::StrAppend(&out,
                  "  -h, --help\n        Print this help and exit.\n"
                  "  --version\n        Print the version and commit and exit.\n");
  return out;
}

}  // namespace platform::fn
