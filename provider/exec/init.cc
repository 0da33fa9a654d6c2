#include "provider/exec/init.h"

#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace exec {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kForwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

int ExitCodeOf(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// The processes whose parent is this one (read from /proc/<pid>/stat, whose
// fourth field is the parent; the second, the name, may hold spaces).
std::vector<pid_t> Children() {
  std::vector<pid_t> out;
  const pid_t self = ::getpid();
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "stat");
    std::string stat;
    if (!std::getline(in, stat)) continue;
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    char state = 0;
    int parent = 0;
    if (std::sscanf(stat.c_str() + close + 1, " %c %d", &state, &parent) == 2 && parent == self) {
      out.push_back(std::stoi(name));
    }
  }
  return out;
}

// Kills what the provider left once the drain is over: each child and the
// process group it leads (a supervisor leads its program's). Their own
// children are handed to this process and killed on a later turn.
void KillRemaining() {
  for (pid_t child : Children()) {
    ::kill(-child, SIGKILL);
    ::kill(child, SIGKILL);
  }
}

timespec Until(Clock::duration d) {
  d = std::clamp<Clock::duration>(d, std::chrono::milliseconds(1), std::chrono::seconds(1));
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  return timespec{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
}

}  // namespace

bool RunAsInit(std::chrono::milliseconds drain) {
  sigset_t watched, previous;
  sigemptyset(&watched);
  sigaddset(&watched, SIGCHLD);
  for (int sig : kForwarded) sigaddset(&watched, sig);
  ::sigprocmask(SIG_BLOCK, &watched, &previous);
  // Before the fork: an orphan is never handed past this process.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  const pid_t provider = ::fork();
  if (provider <= 0) {
    if (provider < 0) ::prctl(PR_SET_CHILD_SUBREAPER, 0);
    ::sigprocmask(SIG_SETMASK, &previous, nullptr);
    return provider == 0;
  }

  int provider_code = -1;  // -1 while the provider runs
  Clock::time_point deadline = Clock::time_point::max();
  for (;;) {
    for (;;) {
      int status = 0;
      const pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid == provider) {
        provider_code = ExitCodeOf(status);
        deadline = Clock::now() + drain;
        const size_t left = Children().size();
        if (left > 0) {
          std::fprintf(stderr,
                       "provider-workloads init: the provider ended (%d); waiting up to %.1fs "
                       "for the %zu processes it left (runs writing their state)\n",
                       provider_code, static_cast<double>(drain.count()) / 1000, left);
        }
      } else if (pid < 0 && errno == ECHILD && provider_code >= 0) {
        ::_exit(provider_code);
      } else if (pid <= 0) {
        break;
      }
    }
    const Clock::time_point now = Clock::now();
    Clock::duration turn = std::chrono::seconds(1);
    if (now >= deadline) {
      KillRemaining();
      turn = std::chrono::milliseconds(100);
    } else if (deadline != Clock::time_point::max()) {
      turn = deadline - now;
    }
    const timespec wait = Until(turn);
    siginfo_t info;
    const int sig = ::sigtimedwait(&watched, &info, &wait);
    // Before the provider ends, what the container gets is the provider's;
    // after, the drain decides.
    if (sig > 0 && sig != SIGCHLD && provider_code < 0) ::kill(provider, sig);
  }
}

}  // namespace exec
