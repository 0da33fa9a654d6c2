#include "provider/exec/init.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

#include "provider/testing/temp_dir.h"

namespace exec {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Runs RunAsInit in a forked process (its init part exits), with `provider`
// as what the provider does; returns that process's pid.
pid_t StartInit(std::chrono::milliseconds drain, const std::function<int()>& provider) {
  const pid_t init = ::fork();
  if (init != 0) return init;
  if (!RunAsInit(drain)) ::_exit(100);
  ::_exit(provider());
}

int WaitExit(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + WTERMSIG(status);
}

// A process the provider leaves behind: it leaves its parent at once (as a
// supervisor does when the provider dies), sleeps, then writes `path`.
void LeaveBehind(std::chrono::milliseconds sleep, const std::string& path,
                 const std::string& pid_file = "") {
  const pid_t left = ::fork();
  if (left != 0) return;
  ::setpgid(0, 0);
  if (!pid_file.empty()) std::ofstream(pid_file) << ::getpid();
  std::this_thread::sleep_for(sleep);
  std::ofstream(path) << "written";
  ::_exit(0);
}

bool Alive(pid_t pid) { return ::kill(pid, 0) == 0; }

TEST(InitTest, WaitsForTheRunsTheProviderLeftThenExitsAsTheProviderDid) {
  provider::testing::TempDir dir;
  const std::string state = dir.path() + "/state";
  const auto start = Clock::now();
  const pid_t init = StartInit(30s, [&] {
    LeaveBehind(700ms, state);
    return 3;
  });
  EXPECT_EQ(WaitExit(init), 3);
  EXPECT_TRUE(std::filesystem::exists(state)) << "the init ended before the run it was handed";
  EXPECT_GE(Clock::now() - start, 700ms);
}

TEST(InitTest, KillsWhatIsLeftWhenTheDrainIsOver) {
  provider::testing::TempDir dir;
  const std::string pid_file = dir.path() + "/pid";
  const auto start = Clock::now();
  const pid_t init = StartInit(300ms, [&] {
    LeaveBehind(60s, dir.path() + "/never", pid_file);
    return 0;
  });
  EXPECT_EQ(WaitExit(init), 0);
  EXPECT_LT(Clock::now() - start, 10s);
  std::ifstream in(pid_file);
  pid_t left = 0;
  ASSERT_TRUE(in >> left);
  // Reaped by the init before it exited: gone, not a zombie.
  EXPECT_FALSE(Alive(left));
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/never"));
}

TEST(InitTest, ForwardsAContainerStopToTheProvider) {
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t init = StartInit(5s, [&] {
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    ::sigprocmask(SIG_BLOCK, &term, nullptr);
    char c = 'r';
    if (::write(ready[1], &c, 1) != 1) return 1;
    int sig = 0;
    ::sigwait(&term, &sig);
    return sig == SIGTERM ? 7 : 1;
  });
  ::close(ready[1]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  ::kill(init, SIGTERM);
  EXPECT_EQ(WaitExit(init), 7);
}

TEST(InitTest, AProviderKilledBySignalEndsTheInitWithThatSignalsCode) {
  const pid_t init = StartInit(5s, [] {
    ::raise(SIGKILL);
    return 0;
  });
  EXPECT_EQ(WaitExit(init), 128 + SIGKILL);
}

}  // namespace
}  // namespace exec
