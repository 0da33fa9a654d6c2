#include "provider/common/source.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "provider/common/redact.h"
#include "provider/exec/process.h"
#include "provider/testing/git_repo.h"
#include "provider/testing/sshd.h"
#include "provider/testing/status.h"
#include "provider/testing/temp_dir.h"
#include "tests/support/subprocess.h"

namespace provider {
namespace {

using provider::testing::FileContent;
using provider::testing::TempDir;
using provider::testing::WriteFile;

using provider::testing::ErrorOf;

// A local repository: commit 1 (tagged v1, annotated) and commit 2.
class GitSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env = provider::testing::GitTestEnv(home.path());
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
    return provider::testing::RunGit(env, std::move(args));
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
  const std::string without =
      ErrorOf(PrepareGit(work.path(), {private_url, first, "app"}, cache.path(), env));
  EXPECT_FALSE(without.empty()) << "an unauthenticated fetch succeeded";

  TempDir creds;
  const std::string file = creds / kGitCredentialsFile;
  WriteFile(file, "http://bot:s3cret-token@127.0.0.1:" + std::to_string(port) + "\n");
  std::vector<std::string> with = env;
  for (const auto& e : GitCredentialEnv(file)) with.push_back(e);
  TempDir out;
  const SourceResult r =
      PrepareGit(out.path(), {private_url, first, "app"}, cache.path(), with).value();
  EXPECT_EQ(r.commit, first);
  EXPECT_EQ(FileContent(out / "main.tf"), "# app v1\n");
  EXPECT_EQ(without.find("s3cret-token"), std::string::npos);
}

// The mirror a fetch with credentials filled is not served to a caller
// without them, nor to one with other credentials: the same URL and commit
// are fetched again with the caller's own, which the server refuses.
TEST_F(GitCredentialsTest, MirrorFetchedWithCredentialsIsNotServedWithoutThem) {
  const std::string private_url = "http://127.0.0.1:" + std::to_string(port) + "/app.git";
  TempDir creds;
  const std::string file = creds / kGitCredentialsFile;
  WriteFile(file, "http://bot:s3cret-token@127.0.0.1:" + std::to_string(port) + "\n");
  std::vector<std::string> with = env;
  for (const auto& e : GitCredentialEnv(file)) with.push_back(e);
  TempDir out;
  ASSERT_EQ(PrepareGit(out.path(), {private_url, first, "app"}, cache.path(), with).value().commit,
            first);

  // Same URL and SHA, no credentials: refused, nothing exported.
  TempDir anonymous;
  const std::string without =
      ErrorOf(PrepareGit(anonymous.path(), {private_url, first, "app"}, cache.path(), env));
  EXPECT_FALSE(without.empty()) << "a commit fetched with credentials was served without them";
  EXPECT_FALSE(std::filesystem::exists(anonymous / "main.tf"));

  // Wrong credentials: refused too.
  TempDir other_creds;
  const std::string other_file = other_creds / kGitCredentialsFile;
  WriteFile(other_file, "http://bot:wrong-token@127.0.0.1:" + std::to_string(port) + "\n");
  std::vector<std::string> wrong = env;
  for (const auto& e : GitCredentialEnv(other_file)) wrong.push_back(e);
  TempDir other_out;
  EXPECT_FALSE(
      ErrorOf(PrepareGit(other_out.path(), {private_url, first, "app"}, cache.path(), wrong))
          .empty())
      << "a commit fetched with credentials was served with other credentials";
  EXPECT_FALSE(std::filesystem::exists(other_out / "main.tf"));

  // The same credentials again, from another working folder (another path
  // to an equal file): served from the mirror, with the server gone.
  ::kill(server, SIGTERM);
  ::waitpid(server, nullptr, 0);
  server = -1;
  TempDir again_creds;
  const std::string again_file = again_creds / kGitCredentialsFile;
  // (The text first written: git's credential store rewrites its file.)
  WriteFile(again_file, "http://bot:s3cret-token@127.0.0.1:" + std::to_string(port) + "\n");
  std::vector<std::string> again = env;
  for (const auto& e : GitCredentialEnv(again_file)) again.push_back(e);
  TempDir again_out;
  EXPECT_EQ(
      PrepareGit(again_out.path(), {private_url, first, "app"}, cache.path(), again).value().commit,
      first);
  EXPECT_EQ(FileContent(again_out / "main.tf"), "# app v1\n");
}

// A private repository behind a real sshd (run as this user on a loopback
// port, with a host key and an authorized key of its own): fetched with a
// ProviderConfig's .git-ssh-key and .git-known-hosts, refused when the host
// key is not the one known.
class GitSshTest : public GitSourceTest {
 protected:
  void SetUp() override {
    GitSourceTest::SetUp();
    Git({"clone", "-q", "--bare", repo.path(), served / "app.git"});
    sshd = std::make_unique<provider::testing::Sshd>(env);
    ASSERT_TRUE(sshd->ok());
    private_url = "ssh://" + provider::testing::Sshd::User() +
                  "@127.0.0.1:" + std::to_string(sshd->port()) + (served / "app.git");
    known_hosts = sshd->KnownHosts();
  }
  void TearDown() override { sshd.reset(); }

  TempDir served;
  std::unique_ptr<provider::testing::Sshd> sshd;
  std::string private_url, known_hosts;
};

TEST_F(GitSshTest, FetchesWithTheKeyFromAKnownHostOnly) {
  // The key as a Secret made with --from-literal holds it: no final newline.
  std::string key = FileContent(sshd->ClientKey());
  key.pop_back();
  TempDir creds;
  std::vector<std::string> with = env;
  const std::vector<std::string> key_env =
      WriteCredentialFiles(creds.path(), {{kGitSshKeyFile, key}, {kGitKnownHostsFile, known_hosts}})
          .value();
  for (const auto& e : key_env) with.push_back(e);
  TempDir out;
  const SourceResult r =
      PrepareGit(out.path(), {private_url, first, "app"}, cache.path(), with).value();
  EXPECT_EQ(r.commit, first);
  EXPECT_EQ(FileContent(out / "main.tf"), "# app v1\n");

  // A server whose host key is not the known one is refused, though the
  // same cache holds the commit (fetched with other settings).
  TempDir other_creds, other_out;
  std::vector<std::string> wrong_host = env;
  const std::vector<std::string> other_env =
      WriteCredentialFiles(other_creds.path(),
                           {{kGitSshKeyFile, key}, {kGitKnownHostsFile, sshd->WrongKnownHosts()}})
          .value();
  for (const auto& e : other_env) wrong_host.push_back(e);
  const std::string refused =
      ErrorOf(PrepareGit(other_out.path(), {private_url, first, "app"}, cache.path(), wrong_host));
  EXPECT_FALSE(refused.empty()) << "a host with an unknown key was trusted";
  EXPECT_EQ(refused.find("PRIVATE KEY"), std::string::npos) << refused;

  // Without a key nothing is fetched, nor served from that cache.
  TempDir bare_out;
  EXPECT_FALSE(
      ErrorOf(PrepareGit(bare_out.path(), {private_url, first, "app"}, cache.path(), env)).empty());
  EXPECT_FALSE(std::filesystem::exists(bare_out / "main.tf"));
}

TEST(GitCredentialFilesTest, AKeyWithoutKnownHostsIsRefusedAndFilesArePrivate) {
  TempDir dir;
  const std::string error =
      ErrorOf(WriteCredentialFiles(dir.path(), {{kGitSshKeyFile, "-----BEGIN KEY-----"}}));
  EXPECT_NE(error.find(kGitKnownHostsFile), std::string::npos) << error;
  EXPECT_NE(error.find(kGitSshKeyFile), std::string::npos) << error;

  const auto env = WriteCredentialFiles(dir.path(), {{kGitCredentialsFile, "https://u:t@h\n"},
                                                     {"provider-config.tf", "x"}})
                       .value();
  EXPECT_EQ(env, GitCredentialEnv(dir / kGitCredentialsFile));
  EXPECT_EQ(std::filesystem::status(dir / "provider-config.tf").permissions() &
                std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  // Paths are quoted for the shell git runs ssh through.
  const auto ssh = GitSshEnv("/a b/it's", "/k");
  ASSERT_EQ(ssh.size(), 1u);
  EXPECT_NE(ssh[0].find("-i '/a b/it'\\''s'"), std::string::npos) << ssh[0];
}

TEST_F(GitSourceTest, AtATag) {
  const SourceResult r = PrepareGit(work.path(), {url, "v1", ""}, cache.path(), env).value();
  EXPECT_EQ(r.commit, first);
  EXPECT_EQ(FileContent(work / "main.tf"), "# root v1\n");
  EXPECT_EQ(FileContent(work / "app/main.tf"), "# app v1\n");
  EXPECT_FALSE(std::filesystem::exists(work / ".source.tar"));
  EXPECT_FALSE(std::filesystem::exists(work / ".git"));
}

TEST_F(GitSourceTest, AtACommitWithAPath) {
  SourceResult r = PrepareGit(work.path(), {url, second, "app"}, cache.path(), env).value();
  EXPECT_EQ(r.commit, second);
  EXPECT_EQ(FileContent(work / "main.tf"), "# app v2\n");
  EXPECT_EQ(FileContent(work / "extra.tf"), "# extra\n");
  EXPECT_FALSE(std::filesystem::exists(work / "modules"));

  // The mirror is reused: the commit is found without fetching again, even
  // once the repository is gone.
  std::filesystem::remove_all(repo.path() + "/.git");
  TempDir again;
  r = PrepareGit(again.path(), {url, second, "./app/"}, cache.path(), env).value();
  EXPECT_EQ(r.commit, second);
  EXPECT_EQ(FileContent(again / "main.tf"), "# app v2\n");
}

TEST_F(GitSourceTest, AnOlderCommit) {
  const SourceResult r = PrepareGit(work.path(), {url, first, "app"}, cache.path(), env).value();
  EXPECT_EQ(r.commit, first);
  EXPECT_EQ(FileContent(work / "main.tf"), "# app v1\n");
}

TEST_F(GitSourceTest, WorkspacesSharingAUrlTakeTurns) {
  TempDir other;
  std::string error;
  std::thread t([&] {
    error = ErrorOf(PrepareGit(other.path(), {url, first, "app"}, cache.path(), env));
  });
  const SourceResult r = PrepareGit(work.path(), {url, "v1", ""}, cache.path(), env).value();
  t.join();
  EXPECT_EQ(error, "");
  EXPECT_EQ(r.commit, first);
  EXPECT_EQ(FileContent(other / "main.tf"), "# app v1\n");
  EXPECT_EQ(FileContent(work / "main.tf"), "# root v1\n");
}

TEST_F(GitSourceTest, PathsMustStayInTheRepository) {
  for (const std::string path : {"../etc", "app/../..", "..", "/abs"}) {
    const std::string error =
        ErrorOf(PrepareGit(work.path(), {url, "v1", path}, cache.path(), env));
    EXPECT_NE(error.find("git.path"), std::string::npos) << path << ": " << error;
  }
  EXPECT_EQ(CheckGitPath("./a//b/").value(), "a/b");
  EXPECT_EQ(CheckGitPath("").value(), "");
  EXPECT_EQ(CheckGitPath(".").value(), "");
}

TEST_F(GitSourceTest, ClearErrors) {
  std::string error = ErrorOf(PrepareGit(work.path(), {url, "v1", "nope"}, cache.path(), env));
  EXPECT_NE(error.find("git.path \"nope\" is not a folder at commit " + first), std::string::npos)
      << error;
  error = ErrorOf(PrepareGit(work.path(), {url, "v9", ""}, cache.path(), env));
  EXPECT_NE(error.find("git fetch"), std::string::npos) << error;
  EXPECT_NE(error.find("v9"), std::string::npos) << error;
  EXPECT_LE(error.size(), 300u);
  const std::string unknown(40, 'a');
  error = ErrorOf(PrepareGit(work.path(), {url, unknown, ""}, cache.path(), env));
  EXPECT_NE(error.find("git fetch"), std::string::npos) << error;
  EXPECT_NE(error.find(unknown), std::string::npos) << error;
  error = ErrorOf(PrepareGit(work.path(), {url, "--upload-pack=x", ""}, cache.path(), env));
  EXPECT_NE(error.find("git.ref"), std::string::npos) << error;
}

TEST_F(GitSourceTest, CredentialsInUrlsAreRedacted) {
  const std::string error = ErrorOf(PrepareGit(
      work.path(), {"https://user:s3cr3tt0ken@127.0.0.1:1/repo.git", "v1", ""}, cache.path(), env));
  EXPECT_NE(error, "");
  EXPECT_EQ(error.find("s3cr3tt0ken"), std::string::npos) << error;
  EXPECT_EQ(RedactUrls("fatal: https://u:p@host/x and ssh://git@host/y"),
            "fatal: https://***@host/x and ssh://***@host/y");
}

}  // namespace
}  // namespace provider
