// Child processes for tests: run a command to completion and capture its
// output, or start a server in the background and stop it when the test ends.
#ifndef PLATFORM_TESTS_SUPPORT_SUBPROCESS_H_
#define PLATFORM_TESTS_SUPPORT_SUBPROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace platform::testing {

struct RunResult {
  int exit_code = -1;  // -1 when killed by a signal or not started
  std::string out;
  std::string err;
};

// Runs `argv` and waits for it, with stdout and stderr captured. Kills it
// after `timeout`.
RunResult RunCommand(const std::vector<std::string>& argv,
                     std::chrono::seconds timeout = std::chrono::seconds(120));

// A background process that is sent SIGTERM (then SIGKILL) when destroyed,
// so a failing test never leaves it behind. Its stderr goes to a file.
class Background {
 public:
  Background(const std::vector<std::string>& argv, const std::string& stderr_path);
  ~Background();
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  // Sends SIGTERM and waits up to `grace`, then SIGKILL. Returns the exit
  // code, or -1 when it had to be killed or died by a signal.
  int Stop(std::chrono::milliseconds grace = std::chrono::seconds(10));

 private:
  pid_t pid_ = -1;
  int status_ = 0;
  bool reaped_ = false;
};

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreePort();

// Waits until 127.0.0.1:`port` accepts connections.
bool WaitForPort(int port, std::chrono::milliseconds timeout);

// A fresh directory under $TMPDIR, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // Writes `content` to `name` inside the directory; returns the full path.
  std::string Write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

// The file's content; "" when it cannot be read (tests then fail on the content).
std::string ReadFile(const std::string& path);

}  // namespace platform::testing

#endif  // PLATFORM_TESTS_SUPPORT_SUBPROCESS_H_
