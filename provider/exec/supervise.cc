#include "provider/exec/supervise.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <initializer_list>

namespace exec::supervise {
namespace {

// In the program's process: signals and descriptors as a fresh program
// expects them, then exec. Only async-signal-safe calls (the caller may have
// threads).
[[noreturn]] void Exec(const char* path, char* const* argv, char* const* envp, const char* cwd,
                       int out_fd, int err_fd, int fail_fd) {
  auto fail = [fail_fd](int stage) {
    ChildFailure f{stage, errno};
    ssize_t ignored = ::write(fail_fd, &f, sizeof f);
    (void)ignored;
    ::_exit(127);
  };
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    struct sigaction sa {};
    sa.sa_handler = SIG_DFL;
    ::sigaction(sig, &sa, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);

  const int null_fd = ::open("/dev/null", O_RDONLY);
  if (null_fd < 0) fail(kSetup);
  if (::dup2(null_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(err_fd, 2) < 0) fail(kSetup);
  // Everything but 0-2 and the failure pipe (close-on-exec) goes.
  const int keep = fail_fd;
  for (int range = 0; range < 2; ++range) {
    const unsigned first = range == 0 ? 3u : static_cast<unsigned>(keep) + 1;
    const unsigned last = range == 0 ? static_cast<unsigned>(keep) - 1 : ~0u;
    if (first > last) continue;
    if (::syscall(SYS_close_range, first, last, 0) != 0) {
      const long max = ::sysconf(_SC_OPEN_MAX);
      const unsigned limit = max > 0 ? static_cast<unsigned>(max) : 65536u;
      for (unsigned fd = first; fd <= last && fd < limit; ++fd) ::close(static_cast<int>(fd));
    }
  }
  if (cwd != nullptr && ::chdir(cwd) != 0) fail(kChdir);
  ::execve(path, argv, envp);
  fail(kExec);
  ::_exit(127);
}

}  // namespace

// The supervisor exists to interrupt the program exactly once when the caller dies. With
// PR_SET_PDEATHSIG on the program itself, a caller with many threads
// interrupts it many times: as each of the caller's threads exits the kernel
// hands the child to the next one and sends the signal again, and OpenTofu
// takes a second SIGINT as "exit at once", leaving its state unwritten. The
// supervisor has one thread; it takes the parent-death signal and any stop
// signal sent to the group (which reached the program too) without dying, and
// forwards `stop_signal` to the program only if the program has not had one.
//
// Only async-signal-safe calls: the caller may have threads.
[[noreturn]] void Supervise(pid_t parent, const char* path, char* const* argv, char* const* envp,
                            const char* cwd, int out_fd, int err_fd, int fail_fd, int stop_signal) {
  auto fail = [fail_fd](int stage) {
    ChildFailure f{stage, errno};
    ssize_t ignored = ::write(fail_fd, &f, sizeof f);
    (void)ignored;
    ::_exit(127);
  };
  ::setpgid(0, 0);
  // Blocked, then taken with sigwaitinfo: none of these ends the supervisor.
  sigset_t watched;
  sigemptyset(&watched);
  for (int sig : {SIGCHLD, kCallerGone, stop_signal, SIGINT, SIGTERM, SIGHUP, SIGQUIT}) {
    sigaddset(&watched, sig);
  }
  ::sigprocmask(SIG_BLOCK, &watched, nullptr);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigaction(SIGCHLD, &dfl, nullptr);  // not SIG_IGN: the program must stay waitable
  if (::prctl(PR_SET_PDEATHSIG, kCallerGone) != 0) fail(kSetup);
  if (::getppid() != parent) ::_exit(127);  // the caller is already gone

  // vfork: the program's process borrows this one's memory until its exec
  // instead of copying its page tables (in a fork of the caller, the
  // caller's, and large). This process waits meanwhile; Exec only makes
  // system calls.
  // Every signal is blocked until Exec has set each one to its default:
  // a handler of the caller's would otherwise run in the child, on this
  // process's memory.
  sigset_t all, kept;
  sigfillset(&all);
  ::sigprocmask(SIG_SETMASK, &all, &kept);
  const pid_t program = ::vfork();
  if (program == 0) Exec(path, argv, envp, cwd, out_fd, err_fd, fail_fd);
  ::sigprocmask(SIG_SETMASK, &kept, nullptr);
  if (program < 0) fail(kSetup);
  // The supervisor keeps no descriptor above 2 (in a fork of the caller, it
  // had the caller's): the caller sees the failure pipe's end when the
  // program has started, and, with output in pipes, their end when the
  // program and the supervisor have exited.
  if (::syscall(SYS_close_range, 3u, ~0u, 0) != 0) {
    const long max = ::sysconf(_SC_OPEN_MAX);
    for (long fd = 3; fd < (max > 0 ? max : 65536); ++fd) ::close(static_cast<int>(fd));
  }

  bool interrupted = false;
  for (;;) {
    siginfo_t info;
    const int sig = ::sigwaitinfo(&watched, &info);
    if (sig < 0) continue;
    if (sig == kCallerGone) {
      if (!interrupted) ::kill(program, stop_signal);
      interrupted = true;
    } else if (sig != SIGCHLD) {
      interrupted = true;  // sent to the group: the program had it too
    } else {
      int status = 0;
      if (::waitpid(program, &status, WNOHANG) != program) continue;
      if (WIFEXITED(status)) ::_exit(WEXITSTATUS(status));
      // End by the same signal, without a core dump of the supervisor.
      const int fatal = WTERMSIG(status);
      const struct rlimit no_core { 0, 0 };
      ::setrlimit(RLIMIT_CORE, &no_core);
      ::sigaction(fatal, &dfl, nullptr);
      sigset_t only;
      sigemptyset(&only);
      sigaddset(&only, fatal);
      ::sigprocmask(SIG_UNBLOCK, &only, nullptr);
      ::kill(::getpid(), fatal);
      ::_exit(128 + fatal);
    }
  }
}

}  // namespace exec::supervise
