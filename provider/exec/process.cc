#include "provider/exec/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "provider/exec/supervise.h"

namespace exec {
namespace {

using supervise::ChildFailure;

using Clock = std::chrono::steady_clock;

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

// Appends data to buf, keeping at most `max` bytes (the last ones).
void Append(std::string* buf, const char* data, size_t n, size_t max) {
  buf->append(data, n);
  if (buf->size() > max + max / 2 + 4096) buf->erase(0, buf->size() - max);
}

// The supervisor program UseSupervisor named ("" for none).
std::mutex supervisor_mu;
std::string supervisor_program;

std::string SupervisorProgram() {
  std::lock_guard lock(supervisor_mu);
  return supervisor_program;
}

// Starts the supervisor program with posix_spawn, which copies nothing of
// the caller's memory, with the tool's stdout, stderr and failure pipe as
// its descriptors 1, 2 and 3. Returns posix_spawn's error number (0 when
// started).
int SpawnSupervisor(const std::string& program, pid_t parent, const std::string& path,
                    const ProcessSpec& spec, char* const* envp, int out_fd, int err_fd, int fail_fd,
                    pid_t* pid) {
  std::vector<std::string> args = {program, std::to_string(parent),
                                   std::to_string(spec.stop_signal), spec.cwd, path};
  args.insert(args.end(), spec.argv.begin(), spec.argv.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  if (int e = ::posix_spawn_file_actions_init(&actions); e != 0) return e;
  if (int e = ::posix_spawnattr_init(&attr); e != 0) {
    ::posix_spawn_file_actions_destroy(&actions);
    return e;
  }
  // The sources are all above 3 (the caller checks), so no target is a
  // later source.
  int e = ::posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
  if (e == 0) e = ::posix_spawn_file_actions_adddup2(&actions, err_fd, 2);
  if (e == 0) e = ::posix_spawn_file_actions_adddup2(&actions, fail_fd, 3);
  if (e == 0) e = ::posix_spawn_file_actions_addclosefrom_np(&actions, 4);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  if (e == 0) {
    // Its own process group, as the fork below makes it, with no blocked
    // signals and every signal at its default.
    e = ::posix_spawnattr_setflags(
        &attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  }
  if (e == 0) e = ::posix_spawnattr_setpgroup(&attr, 0);
  if (e == 0) e = ::posix_spawnattr_setsigmask(&attr, &none);
  if (e == 0) e = ::posix_spawnattr_setsigdefault(&attr, &all);
  if (e == 0) e = ::posix_spawn(pid, program.c_str(), &actions, &attr, argv.data(), envp);
  ::posix_spawnattr_destroy(&attr);
  ::posix_spawn_file_actions_destroy(&actions);
  return e;
}

// posix_spawn's errors that say the supervisor program itself cannot run
// (not that the system is out of processes or memory).
bool ProgramUnusable(int error) {
  return error == ENOENT || error == EACCES || error == ENOEXEC || error == ENOTDIR ||
         error == ELOOP || error == EPERM;
}

// posix_spawn's errors after which a fork still supervises this one tool:
// the program is being written (ETXTBSY), or the tool's arguments are too
// long (the fork reports that as the tool's exec failure, exit code 127).
bool ForkThisOnce(int error) { return error == ETXTBSY || error == E2BIG; }

}  // namespace

void UseSupervisor(std::string program) {
  std::lock_guard lock(supervisor_mu);
  supervisor_program = std::move(program);
}

std::string Supervisor() { return SupervisorProgram(); }

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
  pid_t pid = -1;
  const std::string program = SupervisorProgram();
  if (!program.empty() && child_out > 3 && child_err > 3 && fail_w.get() > 3) {
    const int error = SpawnSupervisor(program, parent, path, spec, envp.data(), child_out,
                                      child_err, fail_w.get(), &pid);
    if (error != 0) {
      pid = -1;
      if (ProgramUnusable(error)) {
        // Gone or broken: from now on (and for this tool) a fork supervises.
        std::lock_guard lock(supervisor_mu);
        if (supervisor_program == program) {
          supervisor_program.clear();
          spdlog::warn(
              "cannot run the supervisor program {}: {}; from now on each tool's supervisor is a "
              "fork of the provider",
              program, std::strerror(error));
        }
      } else if (!ForkThisOnce(error)) {
        return ErrnoStatus(error, "posix_spawn " + program);
      }
    }
  }
  if (pid < 0) {
    pid = ::fork();
    if (pid < 0) return ErrnoStatus(errno, "fork");
    if (pid == 0) {
      supervise::Supervise(parent, path.c_str(), argv.data(), envp.data(), cwd, child_out,
                           child_err, fail_w.get(), spec.stop_signal);
    }
    ::setpgid(pid, pid);  // also in the parent: no race with the signals below
  }
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
    const char* what = failure.stage == supervise::kChdir  ? "chdir "
                       : failure.stage == supervise::kExec ? "exec "
                                                           : "start ";
    const std::string object = failure.stage == supervise::kChdir ? spec.cwd : spec.argv[0];
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
