#include "provider/workspace/source.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <thread>

#include "provider/exec/process.h"
#include "provider/workspace/test_dir.h"

namespace workspace {
namespace {

using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

using testing::ErrorOf;

// A local repository: commit 1 (tagged v1, annotated) and commit 2.
class GitSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env = {"PATH=/usr/local/bin:/usr/bin:/bin",
           "HOME=" + home.path(),
           "GIT_AUTHOR_NAME=t",
           "GIT_AUTHOR_EMAIL=t@example.com",
           "GIT_COMMITTER_NAME=t",
           "GIT_COMMITTER_EMAIL=t@example.com"};
    Git({"init", "-q", "-b", "main", repo.path()});
    WriteFile(repo / "main.tf", "# root v1\n");
    WriteFile(repo / "app/main.tf", "# app v1\n");
    WriteFile(repo / "modules/m/main.tf", "# module\n");
    Git({"-C", repo.path(), "add", "-A"});
    Git({"-C", repo.path(), "commit", "-q", "-m", "one"});
    Git({"-C", repo.path(), "tag", "-a", "v1", "-m", "v1"});
    first = Git({"-C", repo.path(), "rev-parse", "HEAD"});
    WriteFile(repo / "app/main.tf", "# app v2\n");
    WriteFile(repo / "app/extra.tf", "# extra\n");
    Git({"-C", repo.path(), "add", "-A"});
    Git({"-C", repo.path(), "commit", "-q", "-m", "two"});
    second = Git({"-C", repo.path(), "rev-parse", "HEAD"});
    url = "file://" + repo.path();
  }

  std::string Git(std::vector<std::string> args) {
    exec::ProcessSpec spec;
    spec.argv = {"git"};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.env = env;
    const exec::ProcessResult r = exec::Run(spec);
    EXPECT_TRUE(r.ok()) << r.err;
    return r.out.substr(0, r.out.find('\n'));
  }

  TempDir home, repo, cache, work;
  std::vector<std::string> env;
  std::string first, second, url;
};

// A private repository behind HTTP basic authentication (git http-backend
// served by testdata/git_http_server.py): fetched with a .git-credentials
// file through GitCredentialEnv, refused without one.
class GitCredentialsTest : public GitSourceTest {
 protected:
  void SetUp() override {
    GitSourceTest::SetUp();
    Git({"clone", "-q", "--bare", repo.path(), served / "app.git"});
    int out[2];
    ASSERT_EQ(::pipe(out), 0);
    server = ::fork();
    ASSERT_GE(server, 0);
    if (server == 0) {
      ::dup2(out[1], 1);
      ::close(out[0]);
      ::execlp("python3", "python3", WORKSPACE_TESTDATA "/git_http_server.py",
               served.path().c_str(), "bot", "s3cret-token", nullptr);
      ::_exit(127);
    }
    ::close(out[1]);
    // The port, on the server's first line.
    std::string line;
    char c;
    while (line.size() < 16 && ::read(out[0], &c, 1) == 1 && c != '\n') line += c;
    ::close(out[0]);
    port = std::atoi(line.c_str());
    ASSERT_GT(port, 0);
  }
  void TearDown() override {
    if (server > 0) {
      ::kill(server, SIGTERM);
      ::waitpid(server, nullptr, 0);
    }
  }

  TempDir served;
  pid_t server = -1;
  int port = 0;
};

TEST_F(GitCredentialsTest, FetchesWithCredentialsAndIsRefusedWithout) {
  const std::string private_url = "http://127.0.0.1:" + std::to_string(port) + "/app.git";
  const std::string without = ErrorOf([&] {
    PrepareGit(work.path(), {private_url, first, "app"}, cache.path(), env);
  });
  EXPECT_FALSE(without.empty()) << "an unauthenticated fetch succeeded";

  TempDir creds;
  const std::string file = creds / kGitCredentialsFile;
  WriteFile(file, "http://bot:s3cret-token@127.0.0.1:" + std::to_string(port) + "\n");
  std::vector<std::string> with = env;
  for (const auto& e : GitCredentialEnv(file)) with.push_back(e);
  TempDir out;
  const SourceResult r = PrepareGit(out.path(), {private_url, first, "app"}, cache.path(), with);
  EXPECT_EQ(r.commit, first);
  EXPECT_EQ(ReadFile(out / "main.tf"), "# app v1\n");
  EXPECT_EQ(without.find("s3cret-token"), std::string::npos);
}

TEST_F(GitSourceTest, AtATag) {
  const SourceResult r = PrepareGit(work.path(), {url, "v1", ""}, cache.path(), env);
  EXPECT_EQ(r.commit, first);
  EXPECT_EQ(ReadFile(work / "main.tf"), "# root v1\n");
  EXPECT_EQ(ReadFile(work / "app/main.tf"), "# app v1\n");
  EXPECT_FALSE(std::filesystem::exists(work / ".source.tar"));
  EXPECT_FALSE(std::filesystem::exists(work / ".git"));
}

TEST_F(GitSourceTest, AtACommitWithAPath) {
  SourceResult r = PrepareGit(work.path(), {url, second, "app"}, cache.path(), env);
  EXPECT_EQ(r.commit, second);
  EXPECT_EQ(ReadFile(work / "main.tf"), "# app v2\n");
  EXPECT_EQ(ReadFile(work / "extra.tf"), "# extra\n");
  EXPECT_FALSE(std::filesystem::exists(work / "modules"));

  // The mirror is reused: the commit is found without fetching again, even
  // once the repository is gone.
  std::filesystem::remove_all(repo.path() + "/.git");
  TempDir again;
  r = PrepareGit(again.path(), {url, second, "./app/"}, cache.path(), env);
  EXPECT_EQ(r.commit, second);
  EXPECT_EQ(ReadFile(again / "main.tf"), "# app v2\n");
}

TEST_F(GitSourceTest, AnOlderCommit) {
  const SourceResult r = PrepareGit(work.path(), {url, first, "app"}, cache.path(), env);
  EXPECT_EQ(r.commit, first);
  EXPECT_EQ(ReadFile(work / "main.tf"), "# app v1\n");
}

TEST_F(GitSourceTest, WorkspacesSharingAUrlTakeTurns) {
  TempDir other;
  std::string error;
  std::thread t([&] {
    error = ErrorOf([&] { PrepareGit(other.path(), {url, first, "app"}, cache.path(), env); });
  });
  const SourceResult r = PrepareGit(work.path(), {url, "v1", ""}, cache.path(), env);
  t.join();
  EXPECT_EQ(error, "");
  EXPECT_EQ(r.commit, first);
  EXPECT_EQ(ReadFile(other / "main.tf"), "# app v1\n");
  EXPECT_EQ(ReadFile(work / "main.tf"), "# root v1\n");
}

TEST_F(GitSourceTest, PathsMustStayInTheRepository) {
  for (const std::string path : {"../etc", "app/../..", "..", "/abs"}) {
    const std::string error = ErrorOf([&] {
      PrepareGit(work.path(), {url, "v1", path}, cache.path(), env);
    });
    EXPECT_NE(error.find("git.path"), std::string::npos) << path << ": " << error;
  }
  EXPECT_EQ(CheckGitPath("./a//b/"), "a/b");
  EXPECT_EQ(CheckGitPath(""), "");
  EXPECT_EQ(CheckGitPath("."), "");
}

TEST_F(GitSourceTest, ClearErrors) {
  std::string error = ErrorOf([&] {
    PrepareGit(work.path(), {url, "v1", "nope"}, cache.path(), env);
  });
  EXPECT_NE(error.find("git.path \"nope\" is not a folder at commit " + first), std::string::npos)
      << error;
  error = ErrorOf([&] { PrepareGit(work.path(), {url, "v9", ""}, cache.path(), env); });
  EXPECT_NE(error.find("git fetch"), std::string::npos) << error;
  EXPECT_NE(error.find("v9"), std::string::npos) << error;
  EXPECT_LE(error.size(), 300u);
  const std::string unknown(40, 'a');
  error = ErrorOf([&] { PrepareGit(work.path(), {url, unknown, ""}, cache.path(), env); });
  EXPECT_NE(error.find("git fetch"), std::string::npos) << error;
  EXPECT_NE(error.find(unknown), std::string::npos) << error;
  error = ErrorOf([&] {
    PrepareGit(work.path(), {url, "--upload-pack=x", ""}, cache.path(), env);
  });
  EXPECT_NE(error.find("git.ref"), std::string::npos) << error;
}

TEST_F(GitSourceTest, CredentialsInUrlsAreRedacted) {
  const std::string error = ErrorOf([&] {
    PrepareGit(work.path(), {"https://user:s3cr3tt0ken@127.0.0.1:1/repo.git", "v1", ""},
               cache.path(), env);
  });
  EXPECT_NE(error, "");
  EXPECT_EQ(error.find("s3cr3tt0ken"), std::string::npos) << error;
  EXPECT_EQ(RedactUrls("fatal: https://u:p@host/x and ssh://git@host/y"),
            "fatal: https://***@host/x and ssh://***@host/y");
}

TEST(InlineSourceTest, WritesMainTf) {
  TempDir dir;
  EXPECT_EQ(PrepareInline(dir.path(), "# hcl\n", false).commit, "");
  EXPECT_EQ(ReadFile(dir / "main.tf"), "# hcl\n");
  PrepareInline(dir.path(), "{}", true);
  EXPECT_EQ(ReadFile(dir / "main.tf.json"), "{}");
}

}  // namespace
}  // namespace workspace
