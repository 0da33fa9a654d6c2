#include "provider/ansible/files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "provider/workspace/test_dir.h"

namespace ansible {
namespace {

using workspace::testing::ReadFile;
using workspace::testing::TempDir;

unsigned Mode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

TEST(Files, Playbook) {
  TempDir dir;
  EXPECT_EQ(WritePlaybook(dir.path(), "- hosts: all\n"), "playbook.yml");
  EXPECT_EQ(ReadFile(dir / "playbook.yml"), "- hosts: all\n");
}

TEST(Files, DefaultInventory) {
  TempDir dir;
  EXPECT_EQ(WriteInventory(dir.path(), " \n"), "inventory.ini");
  EXPECT_EQ(ReadFile(dir / "inventory.ini"), kDefaultInventory);
  EXPECT_EQ(Mode(dir / "inventory.ini"), 0600u);
}

TEST(Files, IniAndYamlInventories) {
  TempDir dir;
  EXPECT_EQ(WriteInventory(dir.path(), "[web]\nhost1 ansible_host=10.0.0.1\n"), "inventory.ini");
  EXPECT_EQ(WriteInventory(dir.path(), "all:\n  hosts:\n    host1: {}\n"), "inventory.yml");
  EXPECT_EQ(ReadFile(dir / "inventory.yml"), "all:\n  hosts:\n    host1: {}\n");
  EXPECT_EQ(Mode(dir / "inventory.yml"), 0600u);
}

TEST(Files, VarFilesInPrecedenceOrder) {
  TempDir dir;
  const auto names = WriteVarFiles(dir.path(), {"a: 1\n", "{\"b\": 2}"}, nlohmann::json{{"c", "x"}},
                                   "state", "present");
  EXPECT_EQ(names, (std::vector<std::string>{"varfile-0.yml", "varfile-1.yml", "vars.json",
                                             "state.json"}));
  EXPECT_EQ(ReadFile(dir / "varfile-0.yml"), "a: 1\n");
  EXPECT_EQ(ReadFile(dir / "varfile-1.yml"), "{\"b\": 2}");
  EXPECT_EQ(nlohmann::json::parse(ReadFile(dir / "vars.json")), (nlohmann::json{{"c", "x"}}));
  EXPECT_EQ(nlohmann::json::parse(ReadFile(dir / "state.json")),
            (nlohmann::json{{"state", "present"}}));
  for (const auto& name : names) EXPECT_EQ(Mode(dir / name), 0600u) << name;
}

TEST(Files, NoVarsNoState) {
  TempDir dir;
  EXPECT_TRUE(WriteVarFiles(dir.path(), {}, nlohmann::json(), "", "present").empty());
  EXPECT_TRUE(WriteVarFiles(dir.path(), {}, nlohmann::json::object(), "", "").empty());
  EXPECT_EQ(WriteVarFiles(dir.path(), {}, nullptr, "ensure", "absent"),
            std::vector<std::string>{"state.json"});
  EXPECT_EQ(nlohmann::json::parse(ReadFile(dir / "state.json")),
            (nlohmann::json{{"ensure", "absent"}}));
}

TEST(Files, VarsMustBeAnObject) {
  TempDir dir;
  EXPECT_THROW(WriteVarFiles(dir.path(), {}, nlohmann::json::array({1}), "", ""),
               std::runtime_error);
}

}  // namespace
}  // namespace ansible
