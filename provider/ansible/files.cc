#include "provider/ansible/files.h"

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <filesystem>
#include <stdexcept>

#include "common/status_macros.h"
#include "provider/common/files.h"

namespace ansible {
namespace {

bool Blank(const std::string& text) {
  return text.find_first_not_of(" \t\r\n") == std::string::npos;
}

// True when `text` is a YAML mapping (a YAML inventory); an INI inventory is
// a scalar or not YAML at all.
bool IsYamlMapping(const std::string& text) {
  try {
    return YAML::Load(text).IsMap();
  } catch (const YAML::Exception&) {  // yaml-cpp reports by throwing
    return false;
  }
}

}  // namespace

absl::StatusOr<std::string> WritePlaybook(const std::string& dir, const std::string& inline_yaml) {
  const std::string name = "playbook.yml";
  RETURN_IF_ERROR(provider::WritePrivateFile(dir + "/" + name, inline_yaml));
  return name;
}

absl::StatusOr<std::string> WriteInventory(const std::string& dir, const std::string& inventory) {
  const std::string content = Blank(inventory) ? std::string(kDefaultInventory) : inventory;
  const std::string name = IsYamlMapping(content) ? "inventory.yml" : "inventory.ini";
  RETURN_IF_ERROR(provider::WritePrivateFile(dir + "/" + name, content));
  return name;
}

absl::StatusOr<std::vector<std::string>> WriteVarFiles(const std::string& dir,
                                                       const std::vector<std::string>& contents,
                                                       const nlohmann::json& vars,
                                                       const std::string& state_variable,
                                                       const std::string& state_value) {
  if (!vars.is_null() && !vars.is_object()) {
    return absl::InvalidArgumentError("vars must be an object");
  }
  std::vector<std::string> names;
  for (size_t i = 0; i < contents.size(); ++i) {
    names.push_back("varfile-" + std::to_string(i) + ".yml");
    RETURN_IF_ERROR(provider::WritePrivateFile(dir + "/" + names.back(), contents[i]));
  }
  if (vars.is_object() && !vars.empty()) {
    names.push_back("vars.json");
    RETURN_IF_ERROR(provider::WritePrivateFile(dir + "/" + names.back(), vars.dump()));
  }
  if (!state_variable.empty()) {
    names.push_back("state.json");
    RETURN_IF_ERROR(provider::WritePrivateFile(
        dir + "/" + names.back(), nlohmann::json{{state_variable, state_value}}.dump()));
  }
  return names;
}

absl::StatusOr<GitPlaybook> PrepareGitPlaybook(const std::string& dir, const std::string& url,
                                               const std::string& ref, const std::string& playbook,
                                               const std::string& cache_dir,
                                               std::vector<std::string> env,
                                               const provider::GitOptions& options) {
  ASSIGN_OR_RETURN(const std::string path, provider::CheckGitPath(playbook));
  if (path.empty()) return absl::InvalidArgumentError("git.path must name the playbook file");
  GitPlaybook result;
  ASSIGN_OR_RETURN(const provider::SourceResult source,
                   provider::PrepareGit(dir, {url, ref, ""}, cache_dir, std::move(env), options));
  result.commit = source.commit;
  result.playbook = path;
  std::error_code ec;
  // Not a symlink either: it could point out of the working folder.
  if (!std::filesystem::is_regular_file(
          std::filesystem::symlink_status(std::filesystem::path(dir) / path, ec))) {
    return absl::NotFoundError("git.path \"" + path + "\" is not a file at commit " +
                               result.commit);
  }
  return result;
}

}  // namespace ansible
