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
  // failure) when it does not. With `authenticated`, the server checks
  // every request's signature and the user's IAM policy: an IAM user
  // allowed s3:* is made first, whose keys access_key() and secret_key()
  // return.
  bool Start(bool authenticated = false) {
    if (Binary().empty() || !std::filesystem::exists(Binary())) {
      ADD_FAILURE() << "MOTO_SERVER names no moto_server (scripts/tools.sh moto installs it)";
      return false;
    }
    std::vector<std::string> argv = {Binary(), "-H", "127.0.0.1", "-p", std::to_string(port_)};
    // moto authenticates every request after the first N; the three that
    // make the user go before.
    if (authenticated) argv.insert(argv.begin(), {"env", "INITIAL_NO_AUTH_ACTION_COUNT=3"});
    process_ = std::make_unique<platform::testing::Background>(argv, log_.string());
    if (!platform::testing::WaitForPort(port_, std::chrono::seconds(30))) {
      ADD_FAILURE() << "moto_server did not listen on " << port_ << ": "
                    << platform::testing::ReadFile(log_.string());
      return false;
    }
    return !authenticated || MakeUser();
  }
  void Stop() { process_.reset(); }
  const std::string& access_key() const { return access_key_; }
  const std::string& secret_key() const { return secret_key_; }
  bool running() const { return process_ != nullptr; }

  int port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  // The IAM user, through boto3 from moto's own virtualenv (its first
  // three requests need no signature).
  bool MakeUser() {
    const std::string python = (std::filesystem::path(Binary()).parent_path() / "python").string();
    const platform::testing::RunResult r = platform::testing::RunCommand(
        {python, "-c",
         "import boto3, json, sys\n"
         "iam = boto3.client('iam', endpoint_url=sys.argv[1], region_name='us-east-1',\n"
         "    aws_access_key_id='bootstrap', aws_secret_access_key='bootstrap')\n"
         "iam.create_user(UserName='backup')\n"
         "iam.put_user_policy(UserName='backup', PolicyName='s3', PolicyDocument=json.dumps(\n"
         "    {'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': 's3:*',\n"
         "     'Resource': '*'}]}))\n"
         "k = iam.create_access_key(UserName='backup')['AccessKey']\n"
         "print(k['AccessKeyId'], k['SecretAccessKey'])\n",
         endpoint()});
    const size_t space = r.out.find(' ');
    if (r.exit_code != 0 || space == std::string::npos) {
      ADD_FAILURE() << "cannot make moto's IAM user: " << r.err;
      return false;
    }
    access_key_ = r.out.substr(0, space);
    secret_key_ = r.out.substr(space + 1);
    while (!secret_key_.empty() && (secret_key_.back() == '\n' || secret_key_.back() == ' ')) {
      secret_key_.pop_back();
    }
    return true;
  }

  int port_;
  std::string access_key_, secret_key_;
  std::filesystem::path log_;
  std::unique_ptr<platform::testing::Background> process_;
};

}  // namespace provider::testing

#endif  // PROVIDER_TESTING_S3_SERVER_H_
