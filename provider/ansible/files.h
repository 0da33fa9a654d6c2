// The working folder of an AnsibleRun: the inline playbook, the inventory and
// the variable files, written before a run. Values never go on a command
// line: ansible-playbook gets `-e @<name>` for each variable file, in the
// order returned (later wins).
#ifndef PROVIDER_ANSIBLE_FILES_H_
#define PROVIDER_ANSIBLE_FILES_H_

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "provider/common/source.h"

namespace ansible {

// The inventory used when the spec gives none.
inline constexpr char kDefaultInventory[] =
    "localhost ansible_connection=local ansible_python_interpreter=auto_silent\n";

// Writes `inline_yaml` to dir/playbook.yml and returns "playbook.yml".
absl::StatusOr<std::string> WritePlaybook(const std::string& dir, const std::string& inline_yaml);

// Writes the inventory (kDefaultInventory when `inventory` is empty or blank)
// with mode 0600 and returns its name relative to `dir`: "inventory.yml" when
// it is a YAML mapping (ansible's yaml plugin goes by the extension), else
// "inventory.ini".
absl::StatusOr<std::string> WriteInventory(const std::string& dir, const std::string& inventory);

// Writes the variable files (mode 0600) and returns their names relative to
// `dir` in precedence order: "varfile-<i>.yml" for each of `contents` (YAML
// or JSON, as read from Secrets and ConfigMaps), "vars.json" when `vars` is a
// non-empty object, "state.json" ({state_variable: state_value}) unless
// `state_variable` is empty. InvalidArgument when `vars` is neither null nor
// an object; WritePrivateFile's error when a file cannot be written (as for
// WritePlaybook and WriteInventory).
absl::StatusOr<std::vector<std::string>> WriteVarFiles(const std::string& dir,
                                                       const std::vector<std::string>& contents,
                                                       const nlohmann::json& vars,
                                                       const std::string& state_variable,
                                                       const std::string& state_value);

struct GitPlaybook {
  std::string commit;    // the resolved commit
  std::string playbook;  // the playbook's path relative to dir (normalised)
};

// A Git source: exports the whole repository at `ref` into `dir` (roles,
// group_vars and files next to the playbook come along) with
// provider::PrepareGit and returns the playbook's path, which `playbook`
// names inside the repository (relative, no ".."). An error with a short
// message: InvalidArgument when the path is not allowed, NotFound when it is
// not a file at that commit, PrepareGit's otherwise.
absl::StatusOr<GitPlaybook> PrepareGitPlaybook(const std::string& dir, const std::string& url,
                                               const std::string& ref, const std::string& playbook,
                                               const std::string& cache_dir,
                                               std::vector<std::string> env,
                                               const provider::GitOptions& options = {});

}  // namespace ansible

#endif  // PROVIDER_ANSIBLE_FILES_H_
