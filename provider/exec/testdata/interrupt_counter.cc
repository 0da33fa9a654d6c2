// A stand-in for a Go tool such as OpenTofu in the process tests: several
// threads, none blocking SIGINT, and a handler that takes a while, so every
// SIGINT that reaches the process is counted, however close together they
// come (a second one is what makes OpenTofu abandon its state).
//
// Usage: interrupt_counter <folder>. Writes <folder>/pid once ready, then one
// line to <folder>/interrupts per SIGINT.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace {

int interrupts_fd = -1;

void OnInterrupt(int) {
  const char line[] = "INT\n";
  ssize_t ignored = ::write(interrupts_fd, line, sizeof line - 1);
  (void)ignored;
  // Stay in the handler: a SIGINT arriving meanwhile goes to another thread.
  const timespec pause{0, 200 * 1000 * 1000};
  ::nanosleep(&pause, nullptr);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::string dir = argv[1];
  interrupts_fd =
      ::open((dir + "/interrupts").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (interrupts_fd < 0) return 2;
  struct sigaction sa {};
  sa.sa_handler = OnInterrupt;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([] {
      for (;;) ::pause();
    });
  }
  const std::string tmp = dir + "/pid.tmp";
  if (FILE* f = std::fopen(tmp.c_str(), "w")) {
    std::fprintf(f, "%d\n", static_cast<int>(::getpid()));
    std::fclose(f);
    std::rename(tmp.c_str(), (dir + "/pid").c_str());
  }
  for (;;) ::pause();
}
