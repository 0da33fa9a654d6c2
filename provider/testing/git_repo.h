// Git in tests: the environment of a git with its own HOME and a fixed
// author, and running git there.
#ifndef PROVIDER_TESTING_GIT_REPO_H_
#define PROVIDER_TESTING_GIT_REPO_H_

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "provider/exec/process.h"

namespace provider::testing {

inline std::vector<std::string> GitTestEnv(const std::string& home) {
  return {"PATH=/usr/local/bin:/usr/bin:/bin",
          "HOME=" + home,
          "GIT_AUTHOR_NAME=t",
          "GIT_AUTHOR_EMAIL=t@example.com",
          "GIT_COMMITTER_NAME=t",
          "GIT_COMMITTER_EMAIL=t@example.com"};
}

// Runs git with `args` in `env`; the test fails when it does not succeed.
// Returns the first line of its output.
inline std::string RunGit(const std::vector<std::string>& env, std::vector<std::string> args) {
  exec::ProcessSpec spec;
  spec.argv = {"git"};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.env = env;
  const exec::ProcessResult r = exec::Run(spec).value();
  EXPECT_TRUE(r.ok()) << r.err;
  return r.out.substr(0, r.out.find('\n'));
}

}  // namespace provider::testing

#endif  // PROVIDER_TESTING_GIT_REPO_H_
