// The supervisor of one tool process, and the start of the tool itself.
//
// exec::Run runs them in one of two ways: in provider-workloads-supervisor,
// a small program of its own that Run starts with posix_spawn, or, where
// that program is not installed, in a fork of the caller. posix_spawn copies
// nothing of the caller, while a fork of the provider copies its page
// tables, which is most of the time a tool takes to start.
//
// Only async-signal-safe calls, and nothing of the C++ library: in a fork the
// caller may have had other threads, and the program stays small.
#ifndef PROVIDER_EXEC_SUPERVISE_H_
#define PROVIDER_EXEC_SUPERVISE_H_

#include <signal.h>
#include <sys/types.h>

namespace exec::supervise {

// Why the tool could not be started, written to the failure pipe; the pipe
// is close-on-exec, so the caller reads end-of-file once the tool runs.
struct ChildFailure {
  int stage;  // kChdir, kExec or kSetup
  int error;  // errno
};
inline constexpr int kChdir = 0;
inline constexpr int kExec = 1;
inline constexpr int kSetup = 2;

// The signal a supervisor gets when the caller dies (PR_SET_PDEATHSIG).
inline constexpr int kCallerGone = SIGUSR2;

// Becomes the single-threaded supervisor: leads a process group, starts the
// tool in it (`path`, `argv`, `envp`, in `cwd` unless null, stdin from
// /dev/null, stdout and stderr on `out_fd` and `err_fd`, no other
// descriptor) and ends as the tool ended. When `parent` dies it gives the
// tool `stop_signal`, once, unless the group already had a stop signal.
// Failures to start go to `fail_fd` as a ChildFailure, then it exits 127.
[[noreturn]] void Supervise(pid_t parent, const char* path, char* const* argv, char* const* envp,
                            const char* cwd, int out_fd, int err_fd, int fail_fd, int stop_signal);

}  // namespace exec::supervise

#endif  // PROVIDER_EXEC_SUPERVISE_H_
