#include "provider/exec/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "absl/status/status.h"

namespace exec {
namespace {

using Clock = std::chrono::steady_clock;

// Why the child could not exec, sent to the parent over a close-on-exec pipe.
struct ChildFailure {
  int stage;  // 0 = chdir, 1 = exec, 2 = setup
  int error;
};

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Close(); }
  int get() const { return fd_; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  void Reset(int fd) {
    Close();
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

absl::Status ErrnoStatus(int error, const std::string& what) {
  return absl::ErrnoToStatus(error, what);
}

absl::Status MakePipe(Fd* read_end, Fd* write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe");
  read_end->Reset(fds[0]);
  write_end->Reset(fds[1]);
  return absl::OkStatus();
}

std::string Resolve(const std::string& program, const std::vector<std::string>& env) {
  if (program.empty() || program.find('/') != std::string::npos) return program;
  std::string path = EnvValue(env, "PATH");
  if (path.empty()) path = "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    if (dir.empty()) dir = ".";
    const std::string candidate = dir + "/" + program;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    start = end + 1;
  }
  return program;
}

// The signal a supervisor gets when the caller dies (PR_SET_PDEATHSIG).
constexpr int kCallerGone = SIGUSR2;

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
  if (null_fd < 0) fail(2);
  if (::dup2(null_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(err_fd, 2) < 0) fail(2);
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
  if (cwd != nullptr && ::chdir(cwd) != 0) fail(0);
  ::execve(path, argv, envp);
  fail(1);
  ::_exit(127);
}

// The forked child: a single-threaded supervisor that leads the process
// group, starts the program in it and ends as the program ended.
//
// It exists to interrupt the program exactly once when the caller dies. With
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
  if (::prctl(PR_SET_PDEATHSIG, kCallerGone) != 0) fail(2);
  if (::getppid() != parent) ::_exit(127);  // the caller is already gone

  // vfork: the program's process borrows this one's memory until its exec
  // instead of copying its page tables (which are the caller's, and large).
  // This process waits meanwhile; Exec only makes system calls.
  const pid_t program = ::vfork();
  if (program < 0) fail(2);
  if (program == 0) Exec(path, argv, envp, cwd, out_fd, err_fd, fail_fd);
  // The supervisor keeps no descriptor: the caller sees the pipes' end and
  // the failure pipe's end when the program does.
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

// Appends data to buf, keeping at most `max` bytes (the last ones).
void Append(std::string* buf, const char* data, size_t n, size_t max) {
  buf->append(data, n);
  if (buf->size() > max + max / 2 + 4096) buf->erase(0, buf->size() - max);
}

}  // namespace

std::string EnvValue(const std::vector<std::string>& env, const std::string& name) {
  const std::string prefix = name + "=";
  for (const auto& kv : env) {
    if (kv.compare(0, prefix.size(), prefix) == 0) return kv.substr(prefix.size());
  }
  return "";
}

absl::StatusOr<ProcessResult> Run(const ProcessSpec& spec) {
  ProcessResult result;
  if (spec.argv.empty()) {
    result.exit_code = 127;
    result.err = "exec: no program given";
    return result;
  }
  const std::string path = Resolve(spec.argv[0], spec.env);
  std::vector<char*> argv;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : spec.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const char* cwd = spec.cwd.empty() ? nullptr : spec.cwd.c_str();

  Fd out_r, out_w, err_r, err_w, fail_r, fail_w;
  for (auto [r, w] : {std::pair{&out_r, &out_w}, {&err_r, &err_w}, {&fail_r, &fail_w}}) {
    if (absl::Status s = MakePipe(r, w); !s.ok()) return s;
  }
  // Output files replace the pipes' write ends in the child; the pipes then
  // simply see their end at once.
  Fd out_file, err_file;
  auto open_output = [&](const std::string& file, Fd* fd) {
    if (file.empty()) return absl::OkStatus();
    fd->Reset(::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    return fd->get() < 0 ? ErrnoStatus(errno, "open " + file) : absl::OkStatus();
  };
  if (absl::Status s = open_output(spec.stdout_file, &out_file); !s.ok()) return s;
  if (absl::Status s = open_output(spec.stderr_file, &err_file); !s.ok()) return s;
  const int child_out = out_file.get() >= 0 ? out_file.get() : out_w.get();
  const int child_err = err_file.get() >= 0 ? err_file.get() : err_w.get();

  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return ErrnoStatus(errno, "fork");
  if (pid == 0) {
    Supervise(parent, path.c_str(), argv.data(), envp.data(), cwd, child_out, child_err,
              fail_w.get(), spec.stop_signal);
  }
  ::setpgid(pid, pid);  // also in the parent: no race with the signals below
  // Readable once the child has exited: the wait for its exit below wakes
  // then, not at its next look. -1 where the kernel refuses (before Linux
  // 5.3, or a seccomp profile): the wait then looks every 10 ms. Close-on-exec,
  // as pidfd_open makes it.
  const Fd exit_fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  out_w.Close();
  err_w.Close();
  fail_w.Close();
  out_file.Close();
  err_file.Close();

  ChildFailure failure{};
  ssize_t n;
  do {
    n = ::read(fail_r.get(), &failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof failure)) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    result.exit_code = 127;
    const char* what = failure.stage == 0 ? "chdir " : failure.stage == 1 ? "exec " : "start ";
    const std::string object = failure.stage == 0 ? spec.cwd : spec.argv[0];
    result.err = std::string(what) + object + ": " + std::strerror(failure.error);
    return result;
  }
  fail_r.Close();

  const auto start = Clock::now();
  const bool has_deadline = spec.timeout.count() > 0;
  const auto deadline = start + spec.timeout;
  bool terminating = false;
  Clock::time_point kill_at{};
  bool killed = false;
  bool exited = false;
  int status = 0;
  Clock::time_point drain_until{};
  std::string line;

  auto interrupt = [&]() {
    if (terminating) return;
    terminating = true;
    ::killpg(pid, spec.stop_signal);
    kill_at = Clock::now() + spec.grace;
  };
  auto on_out = [&](const char* data, size_t len) {
    Append(&result.out, data, len, spec.max_output);
    if (!spec.on_stdout_line) return;
    for (size_t i = 0; i < len; ++i) {
      if (data[i] == '\n') {
        spec.on_stdout_line(line);
        line.clear();
      } else if (line.size() < spec.max_output) {
        line.push_back(data[i]);
      }
    }
  };

  // The timeout, cancel and grace rules, applied on every turn of both
  // waiting loops below.
  auto enforce = [&]() {
    const auto now = Clock::now();
    if (!terminating && has_deadline && now >= deadline) {
      result.timed_out = true;
      interrupt();
    }
    if (!terminating && spec.cancel != nullptr && spec.cancel->load()) {
      result.cancelled = true;
      interrupt();
    }
    if (terminating && !killed && Clock::now() >= kill_at) {
      ::killpg(pid, SIGKILL);
      killed = true;
    }
  };

  char buf[65536];
  while (out_r.get() >= 0 || err_r.get() >= 0) {
    enforce();
    if (!exited) {
      const pid_t w = ::waitpid(pid, &status, WNOHANG);
      if (w == pid) {
        exited = true;
        // Background processes may hold the pipes: read what they write for a
        // moment, then end the rest of the group.
        drain_until = Clock::now() + std::chrono::milliseconds(500);
      }
    }
    if (exited && Clock::now() >= drain_until) {
      ::killpg(pid, SIGKILL);
      break;
    }

    pollfd fds[2] = {{out_r.get(), POLLIN, 0}, {err_r.get(), POLLIN, 0}};
    int wait_ms = 50;
    if (has_deadline && !terminating) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left < wait_ms) wait_ms = left < 0 ? 0 : static_cast<int>(left);
    }
    const int ready = ::poll(fds, 2, wait_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      // Cannot watch the child any more: end its group rather than leave it.
      const int error = errno;
      ::killpg(pid, SIGKILL);
      while (!exited && ::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      return ErrnoStatus(error, "poll");
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      Fd& fd = i == 0 ? out_r : err_r;
      const ssize_t got = ::read(fd.get(), buf, sizeof buf);
      if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (got <= 0) {
        fd.Close();
        continue;
      }
      if (i == 0) {
        on_out(buf, static_cast<size_t>(got));
      } else {
        Append(&result.err, buf, static_cast<size_t>(got), spec.max_output);
      }
    }
  }
  if (spec.on_stdout_line && !line.empty()) spec.on_stdout_line(line);

  while (!exited) {
    // The pipes are closed but the child has not exited: keep the timeout,
    // cancel and grace rules while waiting for it.
    const pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) {
      exited = true;
      break;
    }
    if (w < 0 && errno != EINTR) {
      // Reaped elsewhere, or SIGCHLD ignored: its exit status is gone, and
      // its pidfd would stay readable.
      const int error = errno;
      ::killpg(pid, SIGKILL);
      return ErrnoStatus(error, "waitpid");
    }
    enforce();
    pollfd exit_poll{exit_fd.get(), POLLIN, 0};
    if (exit_fd.get() < 0 || (::poll(&exit_poll, 1, 10) < 0 && errno != EINTR)) {
      ::usleep(10000);
    }
  }
  // Nothing of the group outlives a timeout or cancel.
  if (terminating) ::killpg(pid, SIGKILL);

  auto read_back = [&](const std::string& file, std::string* into) {
    if (file.empty()) return;
    Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return;
    ssize_t got;
    while ((got = ::read(fd.get(), buf, sizeof buf)) > 0) {
      Append(into, buf, static_cast<size_t>(got), spec.max_output);
    }
  };
  if (!spec.stdout_file.empty()) {
    std::string out;
    read_back(spec.stdout_file, &out);
    on_out(out.data(), out.size());
    if (spec.on_stdout_line && !line.empty()) spec.on_stdout_line(line);
  }
  read_back(spec.stderr_file, &result.err);

  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
  }
  if (result.out.size() > spec.max_output) result.out.erase(0, result.out.size() - spec.max_output);
  if (result.err.size() > spec.max_output) result.err.erase(0, result.err.size() - spec.max_output);
  return result;
}

}  // namespace exec
