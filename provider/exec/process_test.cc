#include "provider/exec/process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "provider/testing/temp_dir.h"

namespace exec {
namespace {

using std::chrono::milliseconds;

const std::vector<std::string> kEnv = {"PATH=/usr/bin:/bin"};

ProcessSpec Shell(const std::string& script) {
  ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", script};
  spec.env = kEnv;
  return spec;
}

// True when the process is gone or a zombie (dead, waiting to be reaped by
// whoever adopted it). Read with read(2): a process that exits between the
// open and the read fails the read with ESRCH, which a stream would throw.
bool Dead(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return true;
  char buf[1024];
  const ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  if (n <= 0) return true;
  const std::string content(buf, static_cast<size_t>(n));
  const size_t paren = content.rfind(')');
  if (paren == std::string::npos || paren + 2 >= content.size()) return true;
  const char state = content[paren + 2];
  return state == 'Z' || state == 'X';
}

// The pid a child wrote to `file` (written whole, then renamed), or 0 when
// none comes within 5 seconds.
pid_t WaitForPidFile(const std::string& file) {
  for (int i = 0; i < 500; ++i) {
    std::ifstream in(file);
    pid_t pid = 0;
    if (in >> pid && pid != 0) return pid;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return 0;
}

bool DeadWithin(pid_t pid, milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (Dead(pid)) return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return Dead(pid);
}

// Every test runs with each kind of supervisor: provider-workloads-supervisor
// started with posix_spawn (the provider as its image runs it) and a fork of
// the caller (the provider without that program).
class ProcessTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { UseSupervisor(Expected()); }
  void TearDown() override {
    // The program was used throughout: Run forgets it only when it cannot
    // be run.
    EXPECT_EQ(Supervisor(), Expected());
    UseSupervisor("");
  }
  std::string Expected() const { return GetParam() ? SUPERVISOR : ""; }
};

INSTANTIATE_TEST_SUITE_P(Supervisors, ProcessTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& param) {
                           return param.param ? "Program" : "Fork";
                         });

TEST_P(ProcessTest, TheSupervisorIsTheProgramOrAForkOfTheCaller) {
  const ProcessResult r = exec::Run(Shell("readlink /proc/$PPID/exe")).value();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  EXPECT_EQ(r.out, (GetParam() ? std::string(SUPERVISOR) : self) + "\n");
}

TEST(SupervisorTest, WithoutItsProgramAForkSupervisesFromThenOn) {
  UseSupervisor("/nonexistent/provider-workloads-supervisor");
  const ProcessResult r = exec::Run(Shell("echo ok")).value();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "ok\n");
  EXPECT_EQ(Supervisor(), "");
}

// Started as the provider starts it (its parent's pid, the failure pipe on
// 3), the program runs the tool with good arguments and refuses bad ones.
TEST(SupervisorTest, TheProgramRefusesBadArguments) {
  const provider::testing::TempDir temp;
  const std::string marker = temp.path() + "/ran";
  auto supervise = [&](const std::string& parent, const std::string& signal) {
    return exec::Run(Shell(std::string("exec ") + SUPERVISOR + " " + parent + " " + signal +
                           " '' /bin/touch touch " + marker + " 3>&2"))
        .value();
  };
  ProcessResult r = supervise("$PPID", "15");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(marker));
  std::filesystem::remove(marker);
  for (const auto& [parent, signal] : {std::pair{"x", "15"},
                                       {"$PPID", "0"},
                                       {"$PPID", "999"},
                                       {"$PPID", "32"},
                                       {"99999999999", "15"}}) {
    r = supervise(parent, signal);
    EXPECT_EQ(r.exit_code, 127) << parent << " " << signal;
    EXPECT_FALSE(std::filesystem::exists(marker)) << parent << " " << signal;
  }

  ProcessSpec spec;
  spec.env = kEnv;
  spec.argv = {SUPERVISOR, "1", "15"};
  r = exec::Run(spec).value();
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_NE(r.err.find("usage: provider-workloads-supervisor PARENT"), std::string::npos) << r.err;
}

TEST_P(ProcessTest, CapturesOutputAndExitCode) {
  const ProcessResult r = exec::Run(Shell("echo out; echo err >&2; exit 3")).value();
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_FALSE(r.timed_out);
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(exec::Run(Shell("true")).value().ok());
}

TEST_P(ProcessTest, PassesExactlyTheGivenEnvironment) {
  ProcessSpec spec;
  spec.argv = {"/usr/bin/env"};
  spec.env = {"A=1", "B=two words"};
  const ProcessResult r = exec::Run(spec).value();
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "A=1\nB=two words\n");
}

TEST_P(ProcessTest, LooksUpTheProgramInTheGivenPath) {
  ProcessSpec spec;
  spec.argv = {"echo", "hi"};
  spec.env = kEnv;
  EXPECT_EQ(exec::Run(spec).value().out, "hi\n");
}

TEST_P(ProcessTest, RunsInTheWorkingFolderWithStdinClosed) {
  ProcessSpec spec = Shell("pwd; cat; echo done");
  spec.cwd = "/tmp";
  const ProcessResult r = exec::Run(spec).value();
  EXPECT_EQ(r.out, "/tmp\ndone\n");
}

TEST_P(ProcessTest, ClosesTheCallersDescriptors) {
  const int fd = ::dup(1);
  ASSERT_GE(fd, 3);
  // Neither the tool nor its supervisor (which closes them once the tool
  // has started: looked at for up to a second) holds it.
  const std::string path = std::to_string(fd);
  const ProcessResult r =
      exec::Run(Shell("test -e /proc/self/fd/" + path + " && echo open || echo closed; i=0; " +
                      "while test -e /proc/$PPID/fd/" + path + " && test $i -lt 100; do " +
                      "sleep 0.01; i=$((i+1)); done; test -e /proc/$PPID/fd/" + path +
                      " && echo held || echo gone"))
          .value();
  ::close(fd);
  EXPECT_EQ(r.out, "closed\ngone\n");
}

TEST_P(ProcessTest, ReportsExecFailure) {
  ProcessSpec spec;
  spec.argv = {"/nonexistent/tool", "x"};
  spec.env = kEnv;
  ProcessResult r = exec::Run(spec).value();
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_NE(r.err.find("/nonexistent/tool"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("No such file"), std::string::npos) << r.err;

  spec.argv = {"no-such-program-anywhere"};
  r = exec::Run(spec).value();
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_NE(r.err.find("no-such-program-anywhere"), std::string::npos) << r.err;

  spec = Shell("true");
  spec.cwd = "/nonexistent/dir";
  r = exec::Run(spec).value();
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_NE(r.err.find("chdir /nonexistent/dir"), std::string::npos) << r.err;
}

TEST_P(ProcessTest, TimeoutKillsTheChildAndItsGrandchild) {
  ProcessSpec spec = Shell("sleep 30 & echo $!; wait");
  spec.timeout = milliseconds(300);
  spec.grace = milliseconds(2000);
  const auto start = std::chrono::steady_clock::now();
  const ProcessResult r = exec::Run(spec).value();
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(r.timed_out);
  EXPECT_FALSE(r.ok());
  EXPECT_LT(took, milliseconds(2000));
  const pid_t grandchild = std::stoi(r.out);
  EXPECT_TRUE(DeadWithin(grandchild, milliseconds(1000)));
}

TEST_P(ProcessTest, TimeoutEscalatesToSigkillAfterGrace) {
  ProcessSpec spec = Shell("trap '' TERM; sleep 30 & echo $!; while :; do sleep 0.05; done");
  spec.timeout = milliseconds(200);
  spec.grace = milliseconds(300);
  const auto start = std::chrono::steady_clock::now();
  const ProcessResult r = exec::Run(spec).value();
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_GE(took, milliseconds(450));
  EXPECT_LT(took, milliseconds(3000));
  EXPECT_TRUE(DeadWithin(std::stoi(r.out), milliseconds(1000)));
}

TEST_P(ProcessTest, CancelInterruptsTheChild) {
  std::atomic<bool> cancel{false};
  ProcessSpec spec = Shell("echo started; exec sleep 30");
  spec.cancel = &cancel;
  spec.on_stdout_line = [&](const std::string& line) {
    if (line == "started") cancel = true;
  };
  const auto start = std::chrono::steady_clock::now();
  const ProcessResult r = exec::Run(spec).value();
  EXPECT_TRUE(r.cancelled);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.signal, SIGTERM);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(2000));
}

TEST_P(ProcessTest, ChildIsInterruptedWhenTheCallerDies) {
  const provider::testing::TempDir temp;
  const std::string pid_file = temp.path() + "/pid";
  const pid_t caller = ::fork();
  ASSERT_GE(caller, 0);
  if (caller == 0) {
    (void)exec::Run(Shell("echo $$ > " + pid_file + ".tmp; mv " + pid_file + ".tmp " + pid_file +
                          "; exec sleep 30"));
    ::_exit(0);
  }
  const pid_t tool = WaitForPidFile(pid_file);
  ASSERT_NE(tool, 0);
  ::kill(caller, SIGKILL);
  ::waitpid(caller, nullptr, 0);
  EXPECT_TRUE(DeadWithin(tool, milliseconds(2000)));
}

// When a caller with many threads is killed, the kernel hands its child from
// one dying thread to the next and repeats the parent-death signal at each
// step. OpenTofu takes a second SIGINT as "exit now, without writing the
// state", so the child must get the stop signal exactly once.
TEST_P(ProcessTest, AChildOfAManyThreadedCallerIsInterruptedExactlyOnce) {
  const provider::testing::TempDir temp;
  const std::string& dir = temp.path();
  const pid_t caller = ::fork();
  ASSERT_GE(caller, 0);
  if (caller == 0) {
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i) {
      threads.emplace_back([i, &dir] {
        if (i == 3) {
          ProcessSpec spec;
          spec.argv = {INTERRUPT_COUNTER, dir};
          spec.env = kEnv;
          spec.stop_signal = SIGINT;
          spec.stdout_file = dir + "/out";
          spec.stderr_file = dir + "/err";
          (void)exec::Run(spec);
        }
        for (;;) ::pause();
      });
    }
    for (;;) ::pause();
  }
  const pid_t tool = WaitForPidFile(dir + "/pid");
  ASSERT_NE(tool, 0);
  ::kill(caller, SIGKILL);
  ::waitpid(caller, nullptr, 0);
  auto interrupts = [&] {
    std::ifstream in(dir + "/interrupts");
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  for (int i = 0; i < 500 && interrupts().empty(); ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  // Repeats come within microseconds of the first; the counter's handler
  // takes 200 ms for each, so a second would be written well within this.
  std::this_thread::sleep_for(milliseconds(1000));
  ::kill(tool, SIGKILL);
  EXPECT_EQ(interrupts(), "INT\n");
  EXPECT_TRUE(DeadWithin(tool, milliseconds(2000)));
}

TEST_P(ProcessTest, StopSignalIsConfigurable) {
  ProcessSpec spec =
      Shell("trap 'echo got INT; exit 7' INT; echo ready; while :; do sleep 0.05; done");
  spec.timeout = milliseconds(200);
  spec.grace = milliseconds(3000);
  spec.stop_signal = SIGINT;
  const ProcessResult r = exec::Run(spec).value();
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.exit_code, 7);
  EXPECT_EQ(r.out, "ready\ngot INT\n");
}

TEST_P(ProcessTest, StreamsStdoutLines) {
  std::vector<std::string> lines;
  ProcessSpec spec = Shell("printf 'a\\nb\\nlast'");
  spec.on_stdout_line = [&](const std::string& line) { lines.push_back(line); };
  const ProcessResult r = exec::Run(spec).value();
  EXPECT_EQ(lines, (std::vector<std::string>{"a", "b", "last"}));
  EXPECT_EQ(r.out, "a\nb\nlast");
}

TEST_P(ProcessTest, KeepsTheLastBytesOfLargeOutput) {
  ProcessSpec spec = Shell("head -c 300000 /dev/zero | tr '\\0' x; echo; echo tail");
  spec.max_output = 1000;
  const ProcessResult r = exec::Run(spec).value();
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.size(), 1000u);
  EXPECT_EQ(r.out.substr(r.out.size() - 5), "tail\n");
}

TEST_P(ProcessTest, DoesNotWaitForBackgroundProcessesHoldingThePipes) {
  const auto start = std::chrono::steady_clock::now();
  const ProcessResult r = exec::Run(Shell("sleep 30 & echo bye")).value();
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "bye\n");
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(3000));
}

TEST_P(ProcessTest, OutputFilesAreReadBack) {
  const provider::testing::TempDir temp;
  const std::string& dir = temp.path();
  std::vector<std::string> lines;
  ProcessSpec spec = Shell("echo one; echo two; echo oops >&2; exit 3");
  spec.stdout_file = dir + "/out";
  spec.stderr_file = dir + "/err";
  spec.on_stdout_line = [&](const std::string& line) { lines.push_back(line); };
  const ProcessResult r = exec::Run(spec).value();
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "one\ntwo\n");
  EXPECT_EQ(r.err, "oops\n");
  EXPECT_EQ(lines, (std::vector<std::string>{"one", "two"}));
}

// With pipes, a child that logs after its caller died is killed by SIGPIPE
// before it can finish; with output files it handles the stop signal and
// finishes its work (OpenTofu writing its state).
TEST_P(ProcessTest, WithOutputFilesTheChildFinishesAfterTheCallerDies) {
  const provider::testing::TempDir temp;
  const std::string& dir = temp.path();
  const pid_t caller = ::fork();
  ASSERT_GE(caller, 0);
  if (caller == 0) {
    ProcessSpec spec =
        Shell("trap 'echo interrupted; echo saved > " + dir + "/state; exit 0' INT; touch " + dir +
              "/started; "
              "while :; do sleep 0.05; done");
    spec.stop_signal = SIGINT;
    spec.stdout_file = dir + "/out";
    spec.stderr_file = dir + "/err";
    (void)exec::Run(spec);
    ::_exit(0);
  }
  for (int i = 0; i < 300 && ::access((dir + "/started").c_str(), F_OK) != 0; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  ::kill(caller, SIGKILL);
  ::waitpid(caller, nullptr, 0);
  bool saved = false;
  for (int i = 0; i < 300 && !saved; ++i) {
    std::ifstream in(dir + "/state");
    std::string word;
    saved = static_cast<bool>(in >> word) && word == "saved";
    if (!saved) std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_TRUE(saved) << "the child did not finish after its caller died";
  std::ifstream out(dir + "/out");
  std::string first;
  std::getline(out, first);
  EXPECT_EQ(first, "interrupted");
}

}  // namespace
}  // namespace exec
