// A real S3-protocol server for tests: moto's server (moto_server, from
// PyPI; scripts/tools.sh moto installs it into the tools cache) on a
// loopback port, with one bucket. The tests fail, not skip, without it.
#ifndef PROVIDER_TESTING_S3_SERVER_H_
#define PROVIDER_TESTING_S3_SERVER_H_

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "tests/support/subprocess.h"

namespace provider::testing {

class S3Server {
 public:
  // The server's path comes from MOTO_SERVER (the build passes what
  // scripts/tools.sh moto prints).
  static std::string Binary() {
    const char* bin = std::getenv("MOTO_SERVER");
    return bin != nullptr ? bin : "";
  }

  // A server on `port` (0: a free one), not started yet: Start() starts it,
  // so a test can name the endpoint of a server that is down.
  explicit S3Server(int port = 0)
      : port_(port != 0 ? port : platform::testing::FreePort()),
        log_(std::filesystem::temp_directory_path() / ("moto-" + std::to_string(port_) + ".log")) {}
  S3Server(const S3Server&) = delete;
  S3Server& operator=(const S3Server&) = delete;

  // Starts the server and waits until it answers; false (with a test
  // failure) when it does not.
  bool Start() {
    if (Binary().empty() || !std::filesystem::exists(Binary())) {
      ADD_FAILURE() << "MOTO_SERVER names no moto_server (scripts/tools.sh moto installs it)";
      return false;
    }
    process_ = std::make_unique<platform::testing::Background>(
        std::vector<std::string>{Binary(), "-H", "127.0.0.1", "-p", std::to_string(port_)},
        log_.string());
    if (!platform::testing::WaitForPort(port_, std::chrono::seconds(30))) {
      ADD_FAILURE() << "moto_server did not listen on " << port_ << ": "
                    << platform::testing::ReadFile(log_.string());
      return false;
    }
    return true;
  }
  void Stop() { process_.reset(); }
  bool running() const { return process_ != nullptr; }

  int port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int port_;
  std::filesystem::path log_;
  std::unique_ptr<platform::testing::Background> process_;
};

}  // namespace provider::testing

#endif  // PROVIDER_TESTING_S3_SERVER_H_
