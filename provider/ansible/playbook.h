// Runs ansible-playbook for an AnsibleRun: the command line (no variable
// value ever on it), a closed environment (no /etc/ansible or working-folder
// ansible.cfg), and the run's outcome parsed from one JSON document on stdout.
//
// ansible-core alone has no JSON stdout callback (ansible.posix.json is a
// collection), so Run writes its own callback plugin into the working folder
// (.workloads/callback_plugins/workloads_json.py). It prints the shape of
// ansible.posix.json, {"plays": [{"play": {"name"}, "tasks": [{"task":
// {"name"}, "hosts": {<host>: {"changed", "failed", "msg", ...}}}]}],
// "stats": {<host>: {"ok", "changed", "failures", ...}}, "custom_stats":
// {<host>: {...}}, "global_custom_stats": {...}}, and marks failures of tasks
// with ignore_errors with "ignored": true. ParseJsonResult reads either.
#ifndef PROVIDER_ANSIBLE_PLAYBOOK_H_
#define PROVIDER_ANSIBLE_PLAYBOOK_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ansible {

// Errors are cut to this many characters.
inline constexpr size_t kMaxErrorLength = 400;

// Folder (relative to the working folder) of the files the provider adds:
// the empty ansible.cfg, the callback plugin, temporary files, the output of
// the last run.
inline constexpr char kPrivateDir[] = ".workloads";

struct RunSpec {
  std::string ansible_playbook = "ansible-playbook";
  std::string dir;       // working folder (absolute)
  std::string playbook;  // path relative to dir
  std::string inventory_file;
  std::vector<std::string> var_files;  // relative names, precedence order
  bool check = false;                  // --check --diff
  std::vector<std::string> env;        // base env: PATH, HOME...
  std::chrono::milliseconds timeout{0};
  const std::atomic<bool>* cancel = nullptr;
  std::vector<std::string> secrets;  // values to redact
  // known_hosts lines SSH connections trust (the ProviderConfig's
  // spec.ssh); "" trusts no host, so every SSH connection fails.
  std::string known_hosts;
};

// The file (relative to the working folder) Run writes spec.known_hosts to.
inline constexpr char kKnownHostsFile[] = ".workloads/known_hosts";

// ansible-playbook -i <inventory> <playbook> -e @<file>... [--check --diff]
std::vector<std::string> Argv(const RunSpec& spec);

// The base env (minus what is set here) plus the ANSIBLE_* settings of a
// run: JSON stdout callback with custom stats, no colour, host key checking
// (ssh with StrictHostKeyChecking=yes and kKnownHostsFile as its only known
// hosts, no connection shared between runs), no retry files, temporary
// files, roles and collections in the working folder, ANSIBLE_CONFIG an
// empty file there, interpreter discovery without warnings.
std::vector<std::string> Env(const RunSpec& spec);

// `error` (a run's) when ssh refused a host's key, with what to do first:
// set the ProviderConfig's spec.ssh.knownHosts (when `known_hosts_configured`
// is false) or add the host's key to it. Other errors are returned as they
// are.
std::string ExplainHostKeyFailure(const std::string& error, bool known_hosts_configured);

struct TaskResult {
  std::string name;
  int changed = 0, failed = 0, unreachable = 0;
  std::string host;
  std::string msg;
};

struct Result {
  bool ok = false;
  bool timed_out = false;
  bool cancelled = false;
  // Summed over hosts ("ok" counts changed tasks too, as ansible does).
  int ok_count = 0, changed = 0, failed = 0, skipped = 0, unreachable = 0;
  std::vector<TaskResult> tasks;  // per task and host: the changed or failed ones
  // What the playbook published with set_stats: the global values, then each
  // host's (per_host: true) merged over them, hosts in name order.
  nlohmann::json custom_stats = nlohmann::json::object();
  // Short and redacted: 'task "X" failed on host H: msg' (the first failure),
  // 'host H unreachable in task "X": msg', or the process error.
  std::string error;
};

// Parses a run's output. stdout may hold text before the JSON document; when
// there is none, the error comes from stderr (the "ERROR! ..." paragraph, else
// its last line). Failures of tasks with ignore_errors do not count.
Result ParseJsonResult(const std::string& stdout_text, const std::string& stderr_text,
                       int exit_code, const std::vector<std::string>& secrets);

// Writes the private files into spec.dir/.workloads and runs ansible-playbook
// there (output to files, SIGINT then SIGKILL after 10 s on timeout or
// cancel). A failed playbook is a Result (ok false, error set); an error
// Status only when it cannot be run at all (the private files cannot be
// written, no process can be started).
absl::StatusOr<Result> Run(const RunSpec& spec);

// Which sections a requirements.yml has: top-level `roles:` and
// `collections:`, or a bare list (roles). InvalidArgument when it is not
// YAML or has neither.
struct Requirements {
  bool roles = false;
  bool collections = false;
};
absl::StatusOr<Requirements> ParseRequirements(const std::string& requirements_yaml);

// The ansible-galaxy commands installing `requirements` into dir/roles and
// dir/collections (run in dir).
std::vector<std::vector<std::string>> GalaxyArgv(const Requirements& requirements,
                                                 const std::string& ansible_galaxy);

// Writes dir/requirements.yml and installs its roles and collections with
// ansible-galaxy (nothing when `requirements_yaml` is blank). An error has a
// short, redacted message: ParseRequirements' error, DeadlineExceeded or
// Cancelled, Unknown with ansible-galaxy's error.
absl::Status InstallRequirements(const std::string& dir, const std::string& requirements_yaml,
                                 const std::vector<std::string>& env,
                                 std::chrono::milliseconds timeout, const std::atomic<bool>* cancel,
                                 const std::vector<std::string>& secrets = {},
                                 const std::string& ansible_galaxy = "ansible-galaxy");

}  // namespace ansible

#endif  // PROVIDER_ANSIBLE_PLAYBOOK_H_
