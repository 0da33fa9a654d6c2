// A real sshd for tests: run as this user on a free loopback port, with a
// host key and a client key of its own (and a second key pair that is
// neither, for "wrong host key" cases).
#ifndef PROVIDER_TESTING_SSHD_H_
#define PROVIDER_TESTING_SSHD_H_

#include <gtest/gtest.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "provider/exec/process.h"
#include "provider/testing/temp_dir.h"
#include "tests/support/subprocess.h"

namespace provider::testing {

class Sshd {
 public:
  static constexpr char kSshd[] = "/usr/sbin/sshd";

  // Starts sshd; check ok() (a failure is recorded as a test failure).
  explicit Sshd(const std::vector<std::string>& env) {
    if (!std::filesystem::exists(kSshd)) {
      ADD_FAILURE() << kSshd << " is missing: scripts/install-deps.sh installs openssh-server";
      return;
    }
    for (const char* key : {"host_key", "client_key", "other_key"}) {
      exec::ProcessSpec keygen;
      keygen.argv = {"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", keys_ / key};
      keygen.env = env;
      if (!exec::Run(keygen).value().ok()) {
        ADD_FAILURE() << "ssh-keygen " << key;
        return;
      }
    }
    WriteFile(keys_ / "authorized_keys", FileContent(keys_ / "client_key.pub"));
    port_ = platform::testing::FreePort();
    // Run as root, sshd wants its privilege separation folder.
    if (::geteuid() == 0) std::filesystem::create_directories("/run/sshd");
    WriteFile(keys_ / "sshd_config",
              "ListenAddress 127.0.0.1:" + std::to_string(port_) + "\nHostKey " +
                  keys_ / "host_key" + "\nAuthorizedKeysFile " + keys_ / "authorized_keys" +
                  "\nPidFile none\nUsePAM no\nStrictModes no\nPasswordAuthentication no\n"
                  "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
                  "AllowUsers " +
                  User() + "\nLogLevel ERROR\n");
    pid_ = ::fork();
    if (pid_ == 0) {
      const std::string config = keys_ / "sshd_config";
      ::execl(kSshd, kSshd, "-D", "-e", "-f", config.c_str(), nullptr);
      ::_exit(127);
    }
    if (pid_ < 0 || !platform::testing::WaitForPort(port_, std::chrono::seconds(5))) {
      ADD_FAILURE() << "sshd did not start";
      return;
    }
    ok_ = true;
  }
  Sshd(const Sshd&) = delete;
  Sshd& operator=(const Sshd&) = delete;
  ~Sshd() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  bool ok() const { return ok_; }
  int port() const { return port_; }
  // The user sshd lets in (this one).
  static std::string User() {
    const passwd* pw = ::getpwuid(::geteuid());
    return pw != nullptr ? pw->pw_name : "root";
  }
  // The client's private key file (authorized by the server).
  std::string ClientKey() const { return keys_ / "client_key"; }
  // A known_hosts line for this server, or one naming it with another key.
  std::string KnownHosts() const { return Line("host_key.pub"); }
  std::string WrongKnownHosts() const { return Line("other_key.pub"); }

 private:
  std::string Line(const std::string& pub) const {
    const std::string key = FileContent(keys_ / pub);
    return "[127.0.0.1]:" + std::to_string(port_) + " " +
           key.substr(0, key.find(' ', key.find(' ') + 1)) + "\n";
  }

  TempDir keys_;
  pid_t pid_ = -1;
  int port_ = 0;
  bool ok_ = false;
};

}  // namespace provider::testing

#endif  // PROVIDER_TESTING_SSHD_H_
