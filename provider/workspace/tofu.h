// OpenTofu commands in a working folder: init, plan, apply, destroy with the
// local backend (state in dir/terraform.tfstate; the caller copies it in and
// out), machine-readable output and short, redacted errors.
#ifndef PROVIDER_WORKSPACE_TOFU_H_
#define PROVIDER_WORKSPACE_TOFU_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "provider/common/source.h"
#include "provider/workspace/reserve.h"

namespace workspace {

// Writes `module` to dir/main.tf (dir/main.tf.json when `json`): the root
// module of an Inline Workspace.
absl::StatusOr<provider::SourceResult> PrepareInline(const std::string& dir,
                                                     const std::string& module, bool json);

inline constexpr char kStateFile[] = "terraform.tfstate";
// Where each command's -json lines and stderr go (files, not pipes: see
// exec::ProcessSpec::stdout_file); overwritten by the next command.
inline constexpr char kStdoutLog[] = ".tofu-stdout.log";
inline constexpr char kStderrLog[] = ".tofu-stderr.log";
// Where `tofu show -json` writes a plan's JSON (read whole from there, however
// large; removed once read: it holds the plan's values).
inline constexpr char kShowJson[] = ".tofu-show.json";
// The room kept on the working volume for OpenTofu's state while it applies
// or destroys (reserve.h).
inline constexpr char kReserveFile[] = ".state-reserve";
inline constexpr size_t kMaxErrorLength = 400;

struct PlanResult {
  bool changes = false;
  int add = 0, change = 0, destroy = 0;
};

// The commands below fail with a Status whose message is short (at most
// kMaxErrorLength) and redacted: DeadlineExceeded ("timed out after 20m")
// when the budget ran out, Cancelled when options.cancel was set, Unknown
// with OpenTofu's own error otherwise (or the reason the command could not
// be started).

class Tofu {
 public:
  struct Options {
    std::string binary;  // the tofu executable
    std::string dir;     // the working folder (root module, var files, state)
    // The environment of every command (KEY=VALUE); TF_IN_AUTOMATION=1,
    // CHECKPOINT_DISABLE=1 and TF_CLI_CONFIG_FILE (an empty file written in
    // dir, unless env sets one) are added.
    std::vector<std::string> env;
    // The budget of all commands of this object together; 0 = none.
    std::chrono::milliseconds timeout{0};
    // No command runs past this either (the reconcile's deadline); the
    // default is none.
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
    // On timeout, deadline or cancel: SIGINT to the process group first
    // (OpenTofu then waits for the cloud calls in flight, stops and writes
    // its state), SIGKILL after this.
    std::chrono::milliseconds grace{std::chrono::minutes(5)};
    const std::atomic<bool>* cancel = nullptr;
    // Names of var files in dir, in precedence order (WriteVarFiles).
    std::vector<std::string> var_files;
    // Values removed from errors (those of at least 4 characters).
    std::vector<std::string> secrets;
  };

  explicit Tofu(Options options);

  // The cancel flag of the commands started from now on (a lock taken
  // after the first of them: its loss stops the rest).
  void SetCancel(const std::atomic<bool>* cancel) { options_.cancel = cancel; }

  // `tofu init`. With TF_PLUGIN_CACHE_DIR in the environment, inits on
  // that cache take turns (an exclusive flock on <cache>/.init.lock, waited
  // for within the timeout and the cancel flag).
  absl::Status Init();
  // Plans into dir/<plan_file>; `changes` from -detailed-exitcode, the counts
  // from the change summary. With `destroy`, a plan that destroys everything
  // the state holds (`plan -destroy`), applied by Apply like any other.
  absl::StatusOr<PlanResult> Plan(const std::string& plan_file, bool destroy = false);
  // A fingerprint of a saved plan: 16 hex characters of the SHA-256 of what
  // it would change (`tofu show -json`: every resource change with its
  // actions, before and after values, and the output changes), the same for
  // two plans that change the same things the same way.
  absl::StatusOr<std::string> Fingerprint(const std::string& plan_file);
  // Applies a saved plan. Apply and Destroy start only with room kept for
  // the state on the working volume (ResourceExhausted, before anything
  // runs, when it is not there), and a state OpenTofu could write only to
  // errored.tfstate becomes dir/terraform.tfstate.
  absl::Status Apply(const std::string& plan_file);
  absl::Status Destroy();

  // The state file the commands read and write.
  std::string StatePath() const { return options_.dir + "/" + kStateFile; }

 private:
  struct Outcome;
  absl::StatusOr<std::unique_ptr<VolumeReserve>> Reserve() const;
  void KeepErroredState() const;
  // Runs tofu with `args`; its stdout goes to dir/<stdout_name> (default
  // kStdoutLog).
  Outcome Command(std::vector<std::string> args, const char* stdout_name = kStdoutLog);
  std::string ErrorOf(const Outcome& outcome) const;
  // The Status of a failed command: `message`, else ErrorOf(o).
  absl::Status Failure(const Outcome& o, std::string message = "") const;

  Options options_;
  std::string rc_file_;  // the empty CLI configuration, when we write it
  // The earlier of the timeout's end and options.deadline (max: none), and
  // what its passing is called in errors.
  std::chrono::steady_clock::time_point deadline_;
  std::string deadline_message_;
  // The plugin cache's init lock while held (released when reset).
  using CacheLockHolder = std::shared_ptr<void>;
  absl::Status LockPluginCache(CacheLockHolder& held) const;
};

// The state of a Workspace is the provider's: a root module in `dir` that
// declares its own backend (`terraform { backend "s3" {...} }`) or a
// `terraform { cloud {...} }` block would keep it elsewhere. Reads the
// module's *.tf, *.tofu, *.tf.json and *.tofu.json files (comments, strings
// and heredocs skipped); InvalidArgument naming the file, line and the rule
// when one does, OK otherwise.
absl::Status RefuseOwnBackend(const std::string& dir);

// The short error of a tofu -json run: the first one or two error
// diagnostics as "summary: detail (file:line)", else the last stderr line;
// redacted and at most kMaxErrorLength characters.
std::string ErrorFromJsonLines(const std::string& stdout_lines, const std::string& stderr_text,
                               const std::vector<std::string>& secrets);

// The resources a tofu -json apply reported as created ("apply_complete"
// with action "create") that `state_json` does not hold, as
// "address (id_key=id_value)", in order: what a run killed before it could
// write its state created (any state text that is not JSON holds nothing).
std::vector<std::string> UntrackedResources(const std::string& stdout_lines,
                                            const std::string& state_json);

struct Output {
  nlohmann::json value;
  bool sensitive = false;
};

// The root module outputs recorded in a state document (empty when it has
// none or is not JSON).
std::map<std::string, Output> ParseOutputs(const std::string& state_json);
// The number of managed resource instances in a state document.
int64_t ResourceCount(const std::string& state_json);

}  // namespace workspace

#endif  // PROVIDER_WORKSPACE_TOFU_H_
