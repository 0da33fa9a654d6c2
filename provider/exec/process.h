// Child processes for the tools the provider runs (OpenTofu, git): a complete
// environment given by the caller, a working folder, a timeout and a cancel
// flag that interrupt the whole process group (SIGTERM, then SIGKILL after a
// grace period), and captured output.
//
// Secrets never go on argv: the caller passes them in files or in `env`.
#ifndef PROVIDER_EXEC_PROCESS_H_
#define PROVIDER_EXEC_PROCESS_H_

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace exec {

struct ProcessSpec {
  // argv[0] is the program: a path, or a name looked up in the PATH of `env`.
  std::vector<std::string> argv;
  // The complete environment of the child, KEY=VALUE (nothing is inherited).
  std::vector<std::string> env;
  // Working folder; "" = the caller's.
  std::string cwd;
  // 0 = no timeout.
  std::chrono::milliseconds timeout{0};
  // After a timeout or cancel the group gets `stop_signal`, then SIGKILL
  // after `grace`. SIGINT suits tools that run plugins in their group
  // (OpenTofu): the plugins ignore it as they do a terminal's Ctrl-C, and the
  // tool stops them in order.
  std::chrono::milliseconds grace{10000};
  int stop_signal = SIGTERM;
  // Each of out and err keeps at most this many bytes (the last ones).
  size_t max_output = size_t{4} << 20;
  // Polled while the child runs; true interrupts it like a timeout.
  const std::atomic<bool>* cancel = nullptr;
  // Optional: called with each stdout line (without the newline) as it comes
  // (with output files: once the child is done).
  std::function<void(const std::string& line)> on_stdout_line;
  // Optional: the child's stdout and stderr go to these files (created 0600,
  // truncated) instead of pipes, and are read back when it is done. A child
  // that writes only to files outlives its caller gracefully: when the caller
  // dies (the child gets `stop_signal`), it is not also killed by a broken
  // pipe on its next log line, so OpenTofu still writes its state.
  std::string stdout_file;
  std::string stderr_file;
};

struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;      // the signal that ended it, if any
  bool timed_out = false;
  bool cancelled = false;
  std::string out, err;

  bool ok() const { return exit_code == 0 && !timed_out && !cancelled; }
};

// Runs the child to completion. The child runs in its own process group with
// stdin from /dev/null and no file descriptors of the caller but 0-2, under
// a single-threaded supervisor (the group's leader) that gives it
// `stop_signal` exactly once when the caller dies, unless the group already
// had a stop signal. When it cannot be started (no such program, bad cwd) the result has
// exit_code 127 and the reason in `err`. An error Status only when the
// caller cannot create pipes, open an output file, fork or poll (then no
// child is left running).
absl::StatusOr<ProcessResult> Run(const ProcessSpec& spec);

// Where provider-workloads-supervisor is (an absolute path): Run then starts
// each child's supervisor as that program, with posix_spawn, instead of as a
// fork of the caller, whose page tables a fork copies (2.3 against 1.3 ms a
// run of /bin/true in provider_bench). "" (the default) forks. If the program
// cannot be run (gone, not executable), Run logs it once and forks from then
// on. Thread-safe.
void UseSupervisor(std::string program);
// The supervisor program in use ("" when a fork supervises).
std::string Supervisor();

// The value of `name` in a KEY=VALUE list ("" when absent).
std::string EnvValue(const std::vector<std::string>& env, const std::string& name);

}  // namespace exec

#endif  // PROVIDER_EXEC_PROCESS_H_
