#include "provider/workspace/vars.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/status_macros.h"
#include "provider/common/files.h"

namespace workspace {

absl::StatusOr<std::vector<std::string>> WriteVarFiles(
    const std::string& dir, const std::vector<VarFile>& files, const nlohmann::json& varmap,
    const std::vector<std::pair<std::string, std::string>>& vars) {
  std::vector<std::string> names;
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string name = "varfile-" + std::to_string(i) +
                             (files[i].format == VarFormat::kJSON ? ".tfvars.json" : ".tfvars");
    RETURN_IF_ERROR(provider::WritePrivateFile(dir + "/" + name, files[i].content));
    names.push_back(name);
  }
  if (!varmap.is_null() && !varmap.is_object()) {
    return absl::InvalidArgumentError("varmap must be an object of variable names to values");
  }
  if (varmap.is_object() && !varmap.empty()) {
    RETURN_IF_ERROR(provider::WritePrivateFile(dir + "/varmap.tfvars.json", varmap.dump(2) + "\n"));
    names.push_back("varmap.tfvars.json");
  }
  if (!vars.empty()) {
    nlohmann::json doc = nlohmann::json::object();
    for (const auto& [key, value] : vars) doc[key] = value;
    RETURN_IF_ERROR(provider::WritePrivateFile(dir + "/vars.tfvars.json", doc.dump(2) + "\n"));
    names.push_back("vars.tfvars.json");
  }
  return names;
}

}  // namespace workspace
