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
#include "provider/testing/sshd.h"
#include "provider/testing/temp_dir.h"

namespace ansible {
namespace {

using provider::testing::FileContent;
using provider::testing::TempDir;
using provider::testing::WriteFile;

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
  EXPECT_EQ(exec::EnvValue(env, "ANSIBLE_HOST_KEY_CHECKING"), "True");
  const std::string ssh_args = exec::EnvValue(env, "ANSIBLE_SSH_ARGS");
  EXPECT_TRUE(Contains(ssh_args, "-o StrictHostKeyChecking=yes")) << ssh_args;
  EXPECT_TRUE(Contains(ssh_args, "-o UserKnownHostsFile='/w/.workloads/known_hosts'")) << ssh_args;
  EXPECT_TRUE(Contains(ssh_args, "-o GlobalKnownHostsFile=/dev/null")) << ssh_args;
  EXPECT_FALSE(Contains(ssh_args, "ControlPersist")) << ssh_args;
  EXPECT_EQ(std::string(kKnownHostsFile), ".workloads/known_hosts");
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

TEST(HostKeys, FailureNamesTheFieldToSet) {
  const std::string refused =
      "host web unreachable in task \"ping\": Failed to connect to the host via ssh: No ED25519 "
      "host key is known for [127.0.0.1]:2222 and you have requested strict checking. Host key "
      "verification failed.";
  const std::string unset = ExplainHostKeyFailure(refused, false);
  EXPECT_EQ(unset.rfind("SSH host key not trusted: no host keys are configured; set the "
                        "ProviderConfig's spec.ssh.knownHosts",
                        0),
            0u)
      << unset;
  EXPECT_TRUE(Contains(unset, "host web unreachable")) << unset;
  const std::string listed = ExplainHostKeyFailure(refused, true);
  EXPECT_EQ(listed.rfind("SSH host key not trusted: add the host's key", 0), 0u) << listed;
  EXPECT_LE(listed.size(), kMaxErrorLength);
  EXPECT_EQ(ExplainHostKeyFailure("task \"x\" failed on host h: boom", false),
            "task \"x\" failed on host h: boom");
}

// ------------------------------------------------------------ parsing

// Captured from ansible-core 2.14 with the provider's callback: a copy that
// changed, a failure with ignore_errors, a skipped task, set_stats (global
// and per_host), a failing task.
constexpr char kMixedRun[] =
    R"({"custom_stats": {"localhost": {"ph": 1}}, "global_custom_stats": {"n": 3, "url": "http://x"}, "plays": [{"play": {"name": "Demo play"}, "tasks": [{"hosts": {"localhost": {"changed": true}}, "task": {"action": "copy", "name": "write file"}}, {"hosts": {"localhost": {"changed": true, "failed": true, "ignored": true, "msg": "non-zero return code", "rc": 1, "stderr": ""}}, "task": {"action": "command", "name": "ignored failure"}}, {"hosts": {"localhost": {"changed": false, "skipped": true}}, "task": {"action": "debug", "name": "skipped one"}}, {"hosts": {"localhost": {"changed": false}}, "task": {"action": "set_stats", "name": "stats"}}, {"hosts": {"localhost": {"changed": false}}, "task": {"action": "set_stats", "name": "stats per host"}}, {"hosts": {"localhost": {"changed": false, "failed": true, "msg": "boom secret123"}}, "task": {"action": "fail", "name": "fail here"}}]}], "stats": {"localhost": {"changed": 2, "failures": 1, "ignored": 1, "ok": 4, "rescued": 0, "skipped": 1, "unreachable": 0}}})";

// Captured: ping over SSH to a closed port.
constexpr char kUnreachableRun[] =
    R"({"custom_stats": {}, "global_custom_stats": {}, "plays": [{"play": {"name": "all"}, "tasks": [{"hosts": {"bad": {"changed": false, "msg": "Failed to connect to the host via ssh: ssh: connect to host 127.0.0.1 port 1: Connection refused", "unreachable": true}}, "task": {"action": "ping", "name": "ping it"}}]}], "stats": {"bad": {"changed": 0, "failures": 0, "ignored": 0, "ok": 0, "rescued": 0, "skipped": 0, "unreachable": 1}}})";

// Captured: stderr of a playbook with a YAML syntax error (exit code 4).
constexpr char kSyntaxErrorStderr[] =
    R"(ERROR! We were unable to read either as JSON nor YAML, these are the errors we got from each:
JSON: Expecting value: line 1 column 1 (char 0)

Syntax Error while loading YAML.
  did not find expected node content

The error appears to be in '/tmp/x/p3.yml': line 5, column 1, but may
be elsewhere in the file depending on the exact syntax problem.

The offending line appears to be:

    - name: x
      copy: [
^ here
)";

TEST(Parse, MixedRun) {
  const Result r = ParseJsonResult(kMixedRun, "", 2, {"secret123"});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.ok_count, 4);
  EXPECT_EQ(r.changed, 2);
  EXPECT_EQ(r.failed, 1);
  EXPECT_EQ(r.skipped, 1);
  EXPECT_EQ(r.unreachable, 0);
  EXPECT_EQ(r.error, "task \"fail here\" failed on host localhost: boom ***");
  ASSERT_EQ(r.tasks.size(), 3u);
  EXPECT_EQ(r.tasks[0].name, "write file");
  EXPECT_EQ(r.tasks[0].changed, 1);
  EXPECT_EQ(r.tasks[0].failed, 0);
  // ignore_errors: changed, not failed.
  EXPECT_EQ(r.tasks[1].name, "ignored failure");
  EXPECT_EQ(r.tasks[1].changed, 1);
  EXPECT_EQ(r.tasks[1].failed, 0);
  EXPECT_EQ(r.tasks[2].name, "fail here");
  EXPECT_EQ(r.tasks[2].host, "localhost");
  EXPECT_EQ(r.tasks[2].failed, 1);
  EXPECT_EQ(r.tasks[2].msg, "boom ***");
  EXPECT_EQ(r.custom_stats, (nlohmann::json{{"n", 3}, {"url", "http://x"}, {"ph", 1}}));
}

TEST(Parse, Unreachable) {
  const Result r = ParseJsonResult(kUnreachableRun, "", 4, {});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.unreachable, 1);
  ASSERT_EQ(r.tasks.size(), 1u);
  EXPECT_EQ(r.tasks[0].unreachable, 1);
  EXPECT_EQ(r.tasks[0].host, "bad");
  EXPECT_TRUE(r.error.starts_with("host bad unreachable in task \"ping it\": Failed to connect"))
      << r.error;
}

TEST(Parse, IgnoredFailureAloneIsSuccess) {
  const std::string out =
      R"({"plays": [{"play": {"name": "p"}, "tasks": [{"hosts": {"h": {"changed": false, "failed": true, "ignored": true, "msg": "no"}}, "task": {"name": "t"}}]}], "stats": {"h": {"changed": 0, "failures": 0, "ignored": 1, "ok": 1, "skipped": 0, "unreachable": 0}}})";
  const Result r = ParseJsonResult(out, "", 0, {});
  EXPECT_TRUE(r.ok);
  EXPECT_TRUE(r.error.empty());
  EXPECT_TRUE(r.tasks.empty());
}

TEST(Parse, WarningsBeforeTheDocumentAndPosixShape) {
  // ansible.posix.json: indented, custom stats of the run under "_run" too.
  const std::string out =
      "[WARNING]: {not json} provided hosts list is empty\n{\n \"custom_stats\": {\"_run\": "
      "{\"a\": 1}, \"h\": {\"b\": 2}},\n \"plays\": [],\n \"stats\": {\"h\": {\"ok\": 2, "
      "\"changed\": 1, \"failures\": 0, \"skipped\": 0, \"unreachable\": 0}}\n}\n";
  const Result r = ParseJsonResult(out, "", 0, {});
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.ok_count, 2);
  EXPECT_EQ(r.changed, 1);
  EXPECT_EQ(r.custom_stats, (nlohmann::json{{"a", 1}, {"b", 2}}));
}

TEST(Parse, SyntaxErrorFromStderr) {
  const Result r = ParseJsonResult("", kSyntaxErrorStderr, 4, {});
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.error.starts_with("ERROR! We were unable to read")) << r.error;
  EXPECT_TRUE(Contains(r.error, "did not find expected node content")) << r.error;
  EXPECT_TRUE(Contains(r.error, "line 5, column 1")) << r.error;
  EXPECT_FALSE(Contains(r.error, "offending")) << r.error;
  EXPECT_LE(r.error.size(), kMaxErrorLength);
}

TEST(Parse, GarbageAndEmpty) {
  Result r = ParseJsonResult("", "", 0, {});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "ansible-playbook printed no result");
  r = ParseJsonResult("{{{ not json", "", 3, {});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "ansible-playbook exited with code 3");
  r = ParseJsonResult("{\"other\": 1}",
                      "warning\nfatal: token hunter2-token at https://u:pw@h/x\n\n", 1,
                      {"hunter2-token"});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "fatal: token *** at https://***@h/x");
}

TEST(Parse, ErrorIsCut) {
  const std::string out = R"({"plays": [{"tasks": [{"hosts": {"h": {"failed": true, "msg": ")" +
                          std::string(2000, 'x') +
                          R"("}}, "task": {"name": "t"}}]}], "stats": {"h": {"failures": 1}}})";
  const Result r = ParseJsonResult(out, "", 2, {});
  EXPECT_EQ(r.error.size(), kMaxErrorLength);
  EXPECT_TRUE(r.error.ends_with("...")) << r.error;
}

TEST(Parse, CommandStderrCompletesTheMessage) {
  const std::string out =
      R"({"plays": [{"tasks": [{"hosts": {"h": {"failed": true, "rc": 2, "msg": "non-zero return code", "stderr": "ls: cannot access '/nope'"}}, "task": {"name": "list"}}]}], "stats": {"h": {"failures": 1}}})";
  const Result r = ParseJsonResult(out, "", 2, {});
  EXPECT_EQ(r.error,
            "task \"list\" failed on host h: non-zero return code: ls: cannot access '/nope'");
}

// ------------------------------------------------------- requirements

TEST(Requirements, Sections) {
  Requirements r = ParseRequirements("roles:\n  - name: a\ncollections:\n  - name: b.c\n").value();
  EXPECT_TRUE(r.roles);
  EXPECT_TRUE(r.collections);
  r = ParseRequirements("- src: geerlingguy.docker\n").value();
  EXPECT_TRUE(r.roles);
  EXPECT_FALSE(r.collections);
  r = ParseRequirements("collections:\n  - community.general\n").value();
  EXPECT_FALSE(r.roles);
  EXPECT_TRUE(r.collections);
  r = ParseRequirements("roles: []\n").value();
  EXPECT_FALSE(r.roles);
  EXPECT_EQ(ParseRequirements("things: [1]\n").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseRequirements("roles: [\n").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Requirements, GalaxyCommands) {
  EXPECT_EQ(GalaxyArgv({.roles = true, .collections = true}, "g"),
            (std::vector<std::vector<std::string>>{
                {"g", "collection", "install", "-r", "requirements.yml", "-p", "collections"},
                {"g", "role", "install", "-r", "requirements.yml", "-p", "roles"}}));
  EXPECT_TRUE(GalaxyArgv({}, "g").empty());
}

// -------------------------------------------------- real ansible runs

std::vector<std::string> BaseEnv(const std::string& home) {
  const char* path = std::getenv("PATH");
  return {std::string("PATH=") + (path != nullptr ? path : "/usr/bin:/bin"), "HOME=" + home,
          "LANG=C.UTF-8"};
}

// A working folder with the default inventory and `playbook` inline.
class RealRun : public ::testing::Test {
 protected:
  RunSpec Spec(const std::string& playbook, const std::vector<std::string>& var_files = {}) {
    RunSpec spec;
    spec.ansible_playbook = ANSIBLE_PLAYBOOK_BIN;
    spec.dir = dir_.path();
    spec.playbook = WritePlaybook(dir_.path(), playbook).value();
    spec.inventory_file = WriteInventory(dir_.path(), "").value();
    spec.var_files = var_files;
    spec.env = BaseEnv(dir_.path());
    spec.timeout = std::chrono::seconds(60);
    return spec;
  }
  TempDir dir_;
};

TEST(Requirements, NothingToInstall) {
  TempDir dir;
  EXPECT_TRUE(
      InstallRequirements(dir.path(), " \n", BaseEnv(dir.path()), std::chrono::seconds(30), nullptr)
          .ok());
  EXPECT_TRUE(InstallRequirements(dir.path(), "roles: []\ncollections: []\n", BaseEnv(dir.path()),
                                  std::chrono::seconds(30), nullptr)
                  .ok());
  EXPECT_FALSE(std::filesystem::exists(dir / "roles"));
}

TEST_F(RealRun, LocalRoleFromRequirementsAndAMissingOne) {
  // A role packed as a tarball, installed offline from a file:// URL.
  TempDir src;
  WriteFile(src / "myrole/tasks/main.yml",
            "- name: from role\n  set_stats:\n    data:\n"
            "      role_ran: true\n");
  WriteFile(src / "myrole/meta/main.yml",
            "galaxy_info: {author: t, description: t, license: MIT, "
            "min_ansible_version: '2.14', platforms: []}\n"
            "dependencies: []\n");
  exec::ProcessSpec pack;
  pack.argv = {"tar", "-C", src.path(), "-czf", src / "myrole.tar.gz", "myrole"};
  pack.env = BaseEnv(src.path());
  const auto tar = exec::Run(pack).value();
  ASSERT_TRUE(tar.ok()) << tar.err;
  const absl::Status installed = InstallRequirements(
      dir_.path(), "roles:\n  - src: file://" + (src / "myrole.tar.gz") + "\n    name: myrole\n",
      BaseEnv(dir_.path()), std::chrono::seconds(60), nullptr, {}, ANSIBLE_GALAXY_BIN);
  ASSERT_TRUE(installed.ok()) << installed;
  EXPECT_TRUE(std::filesystem::exists(dir_ / "roles/myrole/tasks/main.yml"));
  const Result r =
      ansible::Run(Spec("- hosts: all\n  gather_facts: false\n  roles: [myrole]\n")).value();
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.custom_stats, (nlohmann::json{{"role_ran", true}}));

  const absl::Status missing = InstallRequirements(
      dir_.path(), "- src: file://" + (src / "nope.tar.gz") + "\n  name: nope\n",
      BaseEnv(dir_.path()), std::chrono::seconds(60), nullptr, {}, ANSIBLE_GALAXY_BIN);
  ASSERT_FALSE(missing.ok()) << "no error";
  const std::string what(missing.message());
  EXPECT_TRUE(Contains(what, "ansible-galaxy role install: failed to download")) << what;
  EXPECT_LE(what.size(), kMaxErrorLength);
}

TEST_F(RealRun, CreateConvergeAndCheckDrift) {
  const std::string target = dir_ / "out.txt";
  const std::string playbook =
      "- hosts: all\n  gather_facts: false\n  tasks:\n"
      "    - name: write the file\n      copy:\n        content: hello\n"
      "        dest: " +
      target + "\n";
  Result r = ansible::Run(Spec(playbook)).value();
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.changed, 1);
  EXPECT_EQ(r.failed, 0);
  ASSERT_EQ(r.tasks.size(), 1u);
  EXPECT_EQ(r.tasks[0].name, "write the file");
  EXPECT_EQ(r.tasks[0].host, "localhost");
  EXPECT_EQ(FileContent(target), "hello");

  r = ansible::Run(Spec(playbook)).value();
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.changed, 0);
  EXPECT_GE(r.ok_count, 1);
  EXPECT_TRUE(r.tasks.empty());

  // Altered behind its back: check mode reports the change, writes nothing.
  WriteFile(target, "changed");
  RunSpec check = Spec(playbook);
  check.check = true;
  r = ansible::Run(check).value();
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.changed, 1);
  ASSERT_EQ(r.tasks.size(), 1u);
  EXPECT_EQ(r.tasks[0].name, "write the file");
  EXPECT_EQ(FileContent(target), "changed");
}

TEST_F(RealRun, FailingTaskNamesTaskAndHost) {
  const Result r =
      ansible::Run(
          Spec("- hosts: all\n  gather_facts: false\n  tasks:\n    - name: first\n      debug: "
               "{msg: hi}\n    - name: must fail\n      fail:\n        msg: bad token "
               "tok-123456\n",
               {}))
          .value();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.failed, 1);
  EXPECT_EQ(r.error, "task \"must fail\" failed on host localhost: bad token tok-123456");
  ASSERT_EQ(r.tasks.size(), 1u);
  EXPECT_EQ(r.tasks[0].name, "must fail");
  EXPECT_EQ(r.tasks[0].host, "localhost");
  EXPECT_EQ(r.tasks[0].failed, 1);

  RunSpec spec = Spec(
      "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: must fail\n"
      "      fail:\n        msg: bad token tok-123456\n");
  spec.secrets = {"tok-123456"};
  EXPECT_EQ(ansible::Run(spec).value().error,
            "task \"must fail\" failed on host localhost: bad token ***");
}

TEST_F(RealRun, SyntaxErrorWithoutMachinePaths) {
  const Result r =
      ansible::Run(Spec("- hosts: all\n  tasks:\n    - name: x\n      copy: [\n")).value();
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.error.starts_with("ERROR!")) << r.error;
  EXPECT_TRUE(Contains(r.error, "'playbook.yml': line")) << r.error;
  EXPECT_FALSE(Contains(r.error, dir_.path())) << r.error;
}

TEST_F(RealRun, SetStatsBecomeCustomStats) {
  const Result r =
      ansible::Run(
          Spec("- hosts: all\n  gather_facts: false\n  tasks:\n    - set_stats:\n        data:\n"
               "          url: http://example\n          replicas: 3\n          tags: [a, b]\n"
               "    - set_stats:\n        data: {host_value: x}\n        per_host: true\n"))
          .value();
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(
      r.custom_stats,
      (nlohmann::json{
          {"url", "http://example"}, {"replicas", 3}, {"tags", {"a", "b"}}, {"host_value", "x"}}));
}

TEST_F(RealRun, VarFileReachesThePlaybookNotTheCommandLine) {
  const std::string secret = "pa55-from-a-secret";
  const auto files = WriteVarFiles(dir_.path(), {"password: overridden\nother: 1\n"},
                                   nlohmann::json{{"password", secret}}, "state", "present")
                         .value();
  RunSpec spec = Spec(
      "- hosts: all\n  gather_facts: false\n  tasks:\n    - copy:\n"
      "        content: '{{ password }} {{ other }} {{ state }}'\n"
      "        dest: '{{ playbook_dir }}/written.txt'\n",
      files);
  spec.secrets = {secret};
  for (const auto& arg : Argv(spec)) EXPECT_FALSE(Contains(arg, secret)) << arg;
  for (const auto& entry : Env(spec)) EXPECT_FALSE(Contains(entry, secret)) << entry;
  const Result r = ansible::Run(spec).value();
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(FileContent(dir_ / "written.txt"), secret + " 1 present");
}

TEST_F(RealRun, StateAbsentRemoves) {
  const std::string playbook =
      "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: the marker\n      file:\n"
      "        path: '{{ playbook_dir }}/marker'\n"
      "        state: \"{{ 'touch' if state == 'present' else 'absent' }}\"\n";
  Result r = ansible::Run(Spec(playbook,
                               WriteVarFiles(dir_.path(), {}, nullptr, "state", "present").value()))
                 .value();
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(std::filesystem::exists(dir_ / "marker"));
  r = ansible::Run(
          Spec(playbook, WriteVarFiles(dir_.path(), {}, nullptr, "state", "absent").value()))
          .value();
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.changed, 1);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "marker"));
}

TEST_F(RealRun, TimeoutStopsTheRun) {
  RunSpec spec = Spec(
      "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: long\n      command: sleep 30\n");
  spec.timeout = std::chrono::seconds(3);
  const auto start = std::chrono::steady_clock::now();
  const Result r = ansible::Run(spec).value();
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.error, "ansible-playbook timed out after 3s");
  EXPECT_LT(took, std::chrono::seconds(15));
}

TEST_F(RealRun, CancelStopsTheRun) {
  RunSpec spec = Spec(
      "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: long\n      command: sleep 30\n");
  std::atomic<bool> cancel{true};
  spec.cancel = &cancel;
  const Result r = ansible::Run(spec).value();
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.cancelled);
  EXPECT_EQ(r.error, "ansible-playbook cancelled");
}

// ssh to a real sshd: with the ProviderConfig's known hosts the run
// reaches the host; without any, or with another key for it, ssh refuses it
// and the error names the field to set.
class SshRun : public RealRun {
 protected:
  RunSpec SshSpec(const std::string& known_hosts) {
    RunSpec spec = Spec(kPing);
    spec.inventory_file =
        WriteInventory(dir_.path(), "target ansible_host=127.0.0.1 ansible_port=" +
                                        std::to_string(sshd_.port()) +
                                        " ansible_user=" + provider::testing::Sshd::User() +
                                        " ansible_ssh_private_key_file=" + sshd_.ClientKey() +
                                        " ansible_python_interpreter=python3\n")
            .value();
    spec.known_hosts = known_hosts;
    return spec;
  }
  static constexpr char kPing[] = R"(- hosts: all
  gather_facts: false
  tasks:
  - name: reach it
    ansible.builtin.ping:
)";
  provider::testing::Sshd sshd_{BaseEnv(dir_.path())};
};

TEST_F(SshRun, KnownHostIsReached) {
  ASSERT_TRUE(sshd_.ok());
  const Result r = ansible::Run(SshSpec(sshd_.KnownHosts())).value();
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.unreachable, 0);
  EXPECT_EQ(FileContent(dir_ / kKnownHostsFile), sshd_.KnownHosts());
}

TEST_F(SshRun, NoKnownHostsRefusesTheHostAndNamesTheField) {
  ASSERT_TRUE(sshd_.ok());
  const Result r = ansible::Run(SshSpec("")).value();
  EXPECT_FALSE(r.ok) << "a host was trusted on first use";
  EXPECT_EQ(r.unreachable, 1);
  EXPECT_TRUE(Contains(r.error, "no host keys are configured")) << r.error;
  EXPECT_TRUE(Contains(r.error, "spec.ssh.knownHosts")) << r.error;
}

TEST_F(SshRun, AnotherKeyForTheHostIsRefused) {
  ASSERT_TRUE(sshd_.ok());
  const Result r = ansible::Run(SshSpec(sshd_.WrongKnownHosts())).value();
  EXPECT_FALSE(r.ok) << "a host with another key was trusted";
  EXPECT_TRUE(Contains(r.error, "add the host's key")) << r.error;
}

}  // namespace
}  // namespace ansible
