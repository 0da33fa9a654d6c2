#include "provider/ansible/files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "provider/exec/process.h"
#include "provider/testing/git_repo.h"
#include "provider/testing/temp_dir.h"

namespace ansible {
namespace {

using provider::testing::FileContent;
using provider::testing::TempDir;
using provider::testing::WriteFile;

unsigned Mode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

TEST(Files, Playbook) {
  TempDir dir;
  EXPECT_EQ(WritePlaybook(dir.path(), "- hosts: all\n").value(), "playbook.yml");
  EXPECT_EQ(FileContent(dir / "playbook.yml"), "- hosts: all\n");
}

TEST(Files, DefaultInventory) {
  TempDir dir;
  EXPECT_EQ(WriteInventory(dir.path(), " \n").value(), "inventory.ini");
  EXPECT_EQ(FileContent(dir / "inventory.ini"), kDefaultInventory);
  EXPECT_EQ(Mode(dir / "inventory.ini"), 0600u);
}

TEST(Files, IniAndYamlInventories) {
  TempDir dir;
  EXPECT_EQ(WriteInventory(dir.path(), "[web]\nhost1 ansible_host=10.0.0.1\n").value(),
            "inventory.ini");
  EXPECT_EQ(WriteInventory(dir.path(), "all:\n  hosts:\n    host1: {}\n").value(), "inventory.yml");
  EXPECT_EQ(FileContent(dir / "inventory.yml"), "all:\n  hosts:\n    host1: {}\n");
  EXPECT_EQ(Mode(dir / "inventory.yml"), 0600u);
}

TEST(Files, VarFilesInPrecedenceOrder) {
  TempDir dir;
  const auto names = WriteVarFiles(dir.path(), {"a: 1\n", "{\"b\": 2}"}, nlohmann::json{{"c", "x"}},
                                   "state", "present")
                         .value();
  EXPECT_EQ(names, (std::vector<std::string>{"varfile-0.yml", "varfile-1.yml", "vars.json",
                                             "state.json"}));
  EXPECT_EQ(FileContent(dir / "varfile-0.yml"), "a: 1\n");
  EXPECT_EQ(FileContent(dir / "varfile-1.yml"), "{\"b\": 2}");
  EXPECT_EQ(nlohmann::json::parse(FileContent(dir / "vars.json")), (nlohmann::json{{"c", "x"}}));
  EXPECT_EQ(nlohmann::json::parse(FileContent(dir / "state.json")),
            (nlohmann::json{{"state", "present"}}));
  for (const auto& name : names) EXPECT_EQ(Mode(dir / name), 0600u) << name;
}

TEST(Files, NoVarsNoState) {
  TempDir dir;
  EXPECT_TRUE(WriteVarFiles(dir.path(), {}, nlohmann::json(), "", "present").value().empty());
  EXPECT_TRUE(WriteVarFiles(dir.path(), {}, nlohmann::json::object(), "", "").value().empty());
  EXPECT_EQ(WriteVarFiles(dir.path(), {}, nullptr, "ensure", "absent").value(),
            std::vector<std::string>{"state.json"});
  EXPECT_EQ(nlohmann::json::parse(FileContent(dir / "state.json")),
            (nlohmann::json{{"ensure", "absent"}}));
}

TEST(Files, VarsMustBeAnObject) {
  TempDir dir;
  EXPECT_EQ(WriteVarFiles(dir.path(), {}, nlohmann::json::array({1}), "", "").status().code(),
            absl::StatusCode::kInvalidArgument);
}

// A local repository with a playbook in a sub-folder, tagged v1.
class GitPlaybookTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env = provider::testing::GitTestEnv(home.path());
    Git({"init", "-q", "-b", "main", repo.path()});
    WriteFile(repo / "a/b/site.yml", "- hosts: all\n");
    WriteFile(repo / "roles/r/tasks/main.yml", "- debug: {msg: r}\n");
    std::filesystem::create_symlink("/etc/hostname", repo / "link.yml");
    Git({"-C", repo.path(), "add", "-A"});
    Git({"-C", repo.path(), "commit", "-q", "-m", "one"});
    Git({"-C", repo.path(), "tag", "-a", "v1", "-m", "v1"});
    commit = Git({"-C", repo.path(), "rev-parse", "HEAD"});
    url = "file://" + repo.path();
  }

  std::string Git(std::vector<std::string> args) {
    return provider::testing::RunGit(env, std::move(args));
  }

  std::string ErrorOf(const std::string& path) {
    return std::string(
        PrepareGitPlaybook(work.path(), url, "v1", path, cache.path(), env).status().message());
  }

  TempDir home, repo, cache, work;
  std::vector<std::string> env;
  std::string commit, url;
};

TEST_F(GitPlaybookTest, ExportsTheWholeRepository) {
  const GitPlaybook r =
      PrepareGitPlaybook(work.path(), url, "v1", "./a/b/site.yml", cache.path(), env).value();
  EXPECT_EQ(r.commit, commit);
  EXPECT_EQ(r.playbook, "a/b/site.yml");
  EXPECT_EQ(FileContent(work / "a/b/site.yml"), "- hosts: all\n");
  EXPECT_TRUE(std::filesystem::exists(work / "roles/r/tasks/main.yml"));
}

TEST_F(GitPlaybookTest, BadPaths) {
  EXPECT_NE(ErrorOf("../site.yml").find("must not contain \"..\""), std::string::npos);
  EXPECT_NE(ErrorOf("/a/b/site.yml").find("must be relative"), std::string::npos);
  EXPECT_EQ(ErrorOf(""), "git.path must name the playbook file");
  EXPECT_EQ(ErrorOf("a/b"), "git.path \"a/b\" is not a file at commit " + commit);
  EXPECT_EQ(ErrorOf("a/nope.yml"), "git.path \"a/nope.yml\" is not a file at commit " + commit);
  EXPECT_EQ(ErrorOf("link.yml"), "git.path \"link.yml\" is not a file at commit " + commit);
}

}  // namespace
}  // namespace ansible
