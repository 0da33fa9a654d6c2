#include "provider/ansible/playbook.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "provider/ansible/files.h"
#include "provider/exec/process.h"
#include "provider/workspace/test_dir.h"

namespace ansible {
namespace {

using workspace::testing::ReadFile;
using workspace::testing::TempDir;
using workspace::testing::WriteFile;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// ---------------------------------------------------------------- argv, env

TEST(Argv, FilesOnlyNeverValues) {
  RunSpec spec;
  spec.dir = "/w";
  spec.playbook = "a/b/site.yml";
  spec.inventory_file = "inventory.ini";
  spec.var_files = {"varfile-0.yml", "vars.json", "state.json"};
  spec.secrets = {"s3cr3t-value"};
  EXPECT_EQ(Argv(spec), (std::vector<std::string>{"ansible-playbook", "-i", "inventory.ini",
                                                  "a/b/site.yml", "-e", "@varfile-0.yml", "-e",
                                                  "@vars.json", "-e", "@state.json"}));
  spec.check = true;
  const auto argv = Argv(spec);
  EXPECT_EQ(std::vector<std::string>(argv.end() - 2, argv.end()),
            (std::vector<std::string>{"--check", "--diff"}));
  for (const auto& arg : argv) EXPECT_FALSE(Contains(arg, "s3cr3t")) << arg;
}

TEST(Env, ClosedAnsibleSettings) {
  RunSpec spec;
  spec.dir = "/w";
  spec.env = {"PATH=/usr/bin", "HOME=/home/p", "ANSIBLE_STDOUT_CALLBACK=yaml",
              "ANSIBLE_CONFIG=/etc/ansible/ansible.cfg"};
  const auto env = Env(spec);
  EXPECT_EQ(exec::EnvValue(env, "PATH"), "/usr/bin");
  EXPECT_EQ(exec::EnvValue(env, "HOME"), "/home/p");
  EXPECT_EQ(exec::EnvValue(env, "ANSIBLE_STDOUT_CALLBACK"), "workloads_json");
  EXPECT_EQ(exec::EnvValue(env, "ANSIBLE_CALLBACK_PLUGINS"), "/w/.workloads/callback_plugins");
  EXPECT_EQ(exec::EnvValue(env, "ANSIBLE_CONFIG"), "/w/.workloads/ansible.cfg");
  EXPECT_EQ(exec::EnvValue(env, "ANSIBLE_SHOW_CUSTOM_STATS"), "true");
  EXPECT_EQ(exec::EnvValue(env, "ANSIBLE_NOCOLOR"), "1");
  EXPECT_EQ(exec::EnvValue(env, "ANSIBLE_FORCE_COLOR"), "0");
  EXPECT_EQ(exec::EnvValue(env, "ANSIBLE_HOST_KEY_CHECKING"), "False");
  EXPECT_EQ(exec::EnvValue(env, "ANSIBLE_RETRY_FILES_ENABLED"), "False");
  EXPECT_EQ(exec::EnvValue(env, "ANSIBLE_LOCAL_TEMP"), "/w/.workloads/tmp");
  EXPECT_EQ(exec::EnvValue(env, "ANSIBLE_REMOTE_TEMP"), "/w/.workloads/remote_tmp");
  EXPECT_EQ(exec::EnvValue(env, "ANSIBLE_ROLES_PATH"), "/w/roles");
  EXPECT_EQ(exec::EnvValue(env, "ANSIBLE_COLLECTIONS_PATH"), "/w/collections");
  EXPECT_EQ(exec::EnvValue(env, "ANSIBLE_PYTHON_INTERPRETER"), "auto_silent");
  // Each key once: the base's ANSIBLE_* settings are replaced.
  for (const std::string key : {"ANSIBLE_STDOUT_CALLBACK", "ANSIBLE_CONFIG"}) {
    EXPECT_EQ(std::count_if(env.begin(), env.end(),
                            [&](const std::string& e) { return e.rfind(key + "=", 0) == 0; }),
              1)
        << key;
  }
}

}  // namespace
}  // namespace ansible
