// Variable files for a run, written into the working folder. Values never go
// on a command line: tofu gets `-var-file=<name>` for each file, in the order
// returned (later wins): varFiles in order, then varmap, then vars.
#ifndef PROVIDER_WORKSPACE_VARS_H_
#define PROVIDER_WORKSPACE_VARS_H_

#include <nlohmann/json.hpp>
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

}  // namespace workspace

#endif  // PROVIDER_WORKSPACE_VARS_H_
