// provider-workloads-supervisor: the supervisor of one tool process
// (supervise.h), as a program of its own, so that exec::Run can start it
// with posix_spawn instead of forking the provider.
//
//   provider-workloads-supervisor PARENT STOP_SIGNAL CWD PATH ARGV0 [ARG...]
//
// PARENT is the caller's process ID and STOP_SIGNAL the signal the tool gets
// when the caller dies; CWD is the tool's working folder ("" for this
// one's); PATH is the tool's executable and ARGV0 onwards its arguments. The
// tool gets this program's environment. Descriptors: 1 and 2 are the tool's
// stdout and stderr, 3 the failure pipe. Exits as the tool exited, or 127
// when it could not start it (the reason is on the failure pipe).
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>

#include "provider/exec/supervise.h"

namespace {

constexpr int kFailFd = 3;

// A decimal number from 1 to INT_MAX, or -1.
long Number(const char* text) {
  char* end = nullptr;
  errno = 0;
  const long n = std::strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || n <= 0 || n > INT_MAX) return -1;
  return n;
}

// A signal the supervisor can block and wait for (not one the C library
// keeps for itself).
bool Blockable(long signal) {
  sigset_t set;
  sigemptyset(&set);
  return signal > 0 && signal < NSIG && sigaddset(&set, static_cast<int>(signal)) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    static constexpr char kUsage[] =
        "usage: provider-workloads-supervisor PARENT STOP_SIGNAL CWD PATH ARGV0 [ARG...]\n"
        "(started by provider-workloads for each tool it runs)\n";
    ssize_t ignored = ::write(2, kUsage, sizeof kUsage - 1);
    (void)ignored;
    return 127;
  }
  const long parent = Number(argv[1]);
  const long stop_signal = Number(argv[2]);
  const bool valid = parent > 0 && Blockable(stop_signal);
  if (!valid || ::fcntl(kFailFd, F_SETFD, FD_CLOEXEC) != 0) {
    exec::supervise::ChildFailure f{exec::supervise::kSetup, valid ? errno : EINVAL};
    ssize_t ignored = ::write(kFailFd, &f, sizeof f);
    (void)ignored;
    return 127;
  }
  const char* cwd = argv[3][0] != '\0' ? argv[3] : nullptr;
  exec::supervise::Supervise(static_cast<pid_t>(parent), argv[4], argv + 5, environ, cwd, 1, 2,
                             kFailFd, static_cast<int>(stop_signal));
}
