// Variable files for a run, written into the working folder. Values never go
// on a command line: tofu gets `-var-file=<name>` for each file, in the order
// returned (later wins): varFiles in order, then varmap, then vars.
#ifndef PROVIDER_WORKSPACE_VARS_H_
#define PROVIDER_WORKSPACE_VARS_H_

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace workspace {

enum class VarFormat { kHCL, kJSON };

// A var file's content, already read from its Secret or ConfigMap.
struct VarFile {
  std::string content;
  VarFormat format = VarFormat::kHCL;
  bool secret = false;  // read from a Secret (else a ConfigMap)
};

// Writes the files (mode 0600, non-auto names so only the files passed
// explicitly count) and returns their names relative to `dir` in precedence
// order: "varfile-<i>.tfvars" / "varfile-<i>.tfvars.json", "varmap.tfvars.json"
// (when varmap is a non-empty object), "vars.tfvars.json" (when vars is not
// empty; a repeated key's last value wins). InvalidArgument when varmap is
// not an object; WritePrivateFile's error when a file cannot be written.
absl::StatusOr<std::vector<std::string>> WriteVarFiles(
    const std::string& dir, const std::vector<VarFile>& files, const nlohmann::json& varmap,
    const std::vector<std::pair<std::string, std::string>>& vars);

// The variables the root module in `dir` declares sensitive: a `variable
// "name" { ... sensitive = true ... }` block in a .tf or .tofu file, or
// {"variable": {"name": {"sensitive": true}}} in a .tf.json or .tofu.json one.
std::set<std::string> SensitiveVariables(const std::string& dir);

// The values var files, varmap and vars give the variables `names`: the
// leaves of a JSON value, the value of a "name = value" line of an HCL var
// file (quotes removed).
std::vector<std::string> SensitiveValues(
    const std::set<std::string>& names, const std::vector<VarFile>& files,
    const nlohmann::json& varmap, const std::vector<std::pair<std::string, std::string>>& vars);

}  // namespace workspace

#endif  // PROVIDER_WORKSPACE_VARS_H_
