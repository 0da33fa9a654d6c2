// provider-workloads' AnsibleRun kind end to end: the provider binary against
// the real kube-apiserver of the ctest `controlplane` fixture, running the
// real ansible-playbook against localhost. The playbooks' "infrastructure" is
// files in a temporary folder, which the tests change behind the provider's
// back.
#include <dirent.h>

#include "tests/e2e/provider_fixture.h"

namespace platform::testing {
namespace {

constexpr char kRuns[] = "ansibleruns.ansible.workloads.terraforming.io";
constexpr char kNsRuns[] = "ansibleruns.ansible.workloads.m.terraforming.io";

// Writes a greeting while `state` is present and removes it when absent;
// publishes where it is with set_stats.
constexpr char kGreetingPlaybook[] = R"(- hosts: all
  gather_facts: false
  tasks:
  - name: write the greeting
    ansible.builtin.copy:
      dest: "{{ target_dir }}/greeting.txt"
      content: "{{ greeting }}"
    when: state == "present"
  - name: remove the greeting
    ansible.builtin.file:
      path: "{{ target_dir }}/greeting.txt"
      state: absent
    when: state == "absent"
  - name: publish where it is
    ansible.builtin.set_stats:
      data:
        greeting_path: "{{ target_dir }}/greeting.txt"
    when: state == "present"
)";

// Every process's command line, joined: what `ps` would show.
std::string AllCommandLines() {
  std::string all;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return all;
  while (dirent* e = ::readdir(proc)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    // ReadFile, not a stream iterator: a process that exits while it is read
    // fails the read (ESRCH), which an iterator would throw.
    all += ReadFile(std::string("/proc/") + e->d_name + "/cmdline") + "\n";
  }
  ::closedir(proc);
  return all;
}

class ProviderAnsibleTest : public ProviderTest {
 protected:
  std::string LegacyRun(const std::string& name, const std::string& playbook, const Json& vars) {
    created_.emplace_back(kRuns, name);
    return "apiVersion: ansible.workloads.terraforming.io/v1alpha1\nkind: AnsibleRun\nmetadata:\n"
           "  name: " +
           name + "\nspec:\n  providerConfigRef: {name: pc-" + suffix_ +
           "}\n"
           "  writeConnectionSecretToRef: {name: " +
           name + "-conn, namespace: " + state_ns_ +
           "}\n  forProvider:\n    source: Inline\n    playbook: |\n" + Indent(playbook, 6) +
           "    vars: " + vars.dump() + "\n";
  }
};

TEST_F(ProviderAnsibleTest, RunsDetectsAndCorrectsDriftAndCleansUp) {
  StartProvider();
  const std::string target = dir_.path() + "/infra";
  fs::create_directories(target);
  const std::string file = target + "/greeting.txt";
  const std::string name = "greet-" + suffix_;
  Apply("run", LegacyRun(name, kGreetingPlaybook, {{"target_dir", target}, {"greeting", "hello"}}));

  ASSERT_TRUE(Eventually([&] {
    return ReadyAndSynced(Get(kRuns, name)) && FileHas(file, "hello");
  })) << Get(kRuns, name).dump(2);
  Json run = Get(kRuns, name);
  const Json at = run["status"]["atProvider"];
  EXPECT_EQ(at["outputs"]["greeting_path"], file) << "set_stats becomes an output";
  EXPECT_EQ(at["lastRun"]["result"], "Succeeded");
  EXPECT_FALSE(at.value("appliedSpecHash", "").empty());
  RunResult path = Kubectl(
      {"get", "secret", name + "-conn", "-n", state_ns_, "-o", "jsonpath={.data.greeting_path}"});
  EXPECT_EQ(RunCommand({"sh", "-c", "printf '%s' '" + path.out + "' | base64 -d"}).out, file);
  EXPECT_TRUE(HasEvent(name, "default", "Applied"));

  // Check mode on every poll finds the file changed behind its back; the
  // run puts it back.
  { std::ofstream(file) << "tampered"; }
  ASSERT_TRUE(Eventually([&] { return FileHas(file, "hello"); }));
  EXPECT_TRUE(HasEvent(name, "default", "DriftDetected"));
  ASSERT_TRUE(Eventually([&] {
    const Json r = Get(kRuns, name);
    return ReadyAndSynced(r) &&
           !r["status"]["atProvider"].value("drift", Json::object()).value("detected", true);
  }));

  // Delete runs the playbook with state=absent, then lets the object go.
  ASSERT_EQ(Kubectl({"delete", kRuns, name, "--wait=false"}).exit_code, 0);
  ASSERT_TRUE(Eventually([&] { return !Get(kRuns, name).is_object(); }));
  EXPECT_FALSE(fs::exists(file)) << "the delete run did not remove the file";
  EXPECT_TRUE(HasEvent(name, "default", "Deleted"));
  EXPECT_TRUE(fs::is_empty(dir_.path() + "/work")) << "working folders are cleaned up";
}

TEST_F(ProviderAnsibleTest, AFailingTaskGivesAClearRedactedCondition) {
  StartProvider();
  const std::string name = "fail-" + suffix_;
  const std::string playbook = R"(- hosts: all
  gather_facts: false
  tasks:
  - name: refuse politely
    ansible.builtin.fail:
      msg: "cannot use {{ token }} from {{ source_file }}"
)";
  // The token from a Secret is hidden; a plain variable of the spec is not a
  // secret and stays readable (it used to become "***" as well).
  created_.emplace_back("secret", state_ns_ + "/fail-vars-" + suffix_);
  std::string manifest = LegacyRun(name, playbook, {{"source_file", "main.yml"}});
  manifest +=
      "    varFiles:\n    - source: SecretKey\n      secretKeyRef: {namespace: " + state_ns_ +
      ", name: fail-vars-" + suffix_ + ", key: vars.yml}\n";
  Apply("run", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: fail-vars-" + suffix_ +
                   "\n  namespace: " + state_ns_ +
                   "\nstringData:\n  vars.yml: 'token: hunter2-very-secret'\n---\n" + manifest);
  std::string message;
  ASSERT_TRUE(Eventually([&] {
    const Json r = Get(kRuns, name);
    message = Condition(r, "Synced", "message");
    return Condition(r, "Synced") == "False" && !message.empty();
  }));
  EXPECT_NE(message.find("refuse politely"), std::string::npos) << message;
  EXPECT_NE(message.find("localhost"), std::string::npos) << message;
  EXPECT_EQ(message.find("hunter2-very-secret"), std::string::npos) << message;
  EXPECT_NE(message.find("cannot use *** from main.yml"), std::string::npos) << message;
  EXPECT_LT(message.size(), 600u);
  const Json run = Get(kRuns, name);
  EXPECT_EQ(run["status"]["atProvider"]["lastRun"]["result"], "Failed");
  EXPECT_EQ(run["status"]["atProvider"]["lastRun"]["stats"]["failed"], 1);
  EXPECT_TRUE(provider_->running());
  // Never applied: deleting it runs nothing and does not hang.
  ASSERT_EQ(Kubectl({"delete", kRuns, name, "--wait=false"}).exit_code, 0);
  ASSERT_TRUE(Eventually([&] { return !Get(kRuns, name).is_object(); }, 60s));
}

TEST_F(ProviderAnsibleTest, SecretVariablesReachThePlaybookButNoCommandLine) {
  StartProvider();
  const std::string ns = "wl-ansible-" + suffix_;
  const std::string target = dir_.path() + "/secret-infra";
  fs::create_directories(target);
  const std::string token = "s3cr3t-value-" + suffix_;
  const std::string playbook = R"(- hosts: all
  gather_facts: false
  tasks:
  - name: write the token
    ansible.builtin.copy:
      dest: "{{ target_dir }}/token.txt"
      content: "{{ api_token }}"
    when: state == "present"
  - name: write the release
    ansible.builtin.copy:
      dest: "{{ target_dir }}/release.txt"
      content: "{{ release }}"
    when: state == "present"
  - name: take a moment
    ansible.builtin.command: sleep 2
    changed_when: false
    when: state == "present"
)";
  const std::string delete_playbook = R"(- hosts: all
  gather_facts: false
  tasks:
  - name: remove everything
    ansible.builtin.file:
      path: "{{ target_dir }}/{{ item }}"
      state: absent
    loop: [token.txt, release.txt]
)";
  auto manifest = [&](const std::string& release) {
    return "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + ns +
           "\n---\n"
           "apiVersion: v1\nkind: Secret\nmetadata:\n  name: api\n  namespace: " +
           ns + "\nstringData:\n  vars.yml: 'api_token: " + token +
           "'\n---\n"
           "apiVersion: ansible.workloads.m.terraforming.io/v1alpha1\nkind: AnsibleRun\n"
           "metadata:\n  name: deploy\n  namespace: " +
           ns +
           "\nspec:\n"
           "  providerConfigRef: {kind: ClusterProviderConfig, name: cpc-" +
           suffix_ +
           "}\n"
           "  forProvider:\n    source: Inline\n    driftPolicy: OnSpecChange\n"
           "    playbook: |\n" +
           Indent(playbook, 6) + "    deletePlaybook: |\n" + Indent(delete_playbook, 6) +
           "    vars: {target_dir: " + target + ", release: " + release +
           "}\n"
           "    varFiles:\n    - source: SecretKey\n      secretKeyRef: {name: api, key: "
           "vars.yml}\n";
  };
  created_.emplace_back(kNsRuns, ns + "/deploy");
  Apply("run", manifest("r1"));

  // While the run goes on, no process shows the token.
  bool leaked = false;
  ASSERT_TRUE(Eventually([&] {
    if (AllCommandLines().find(token) != std::string::npos) leaked = true;
    return ReadyAndSynced(Get(kNsRuns, "deploy", ns)) && FileHas(target + "/release.txt", "r1");
  })) << Get(kNsRuns, "deploy", ns).dump(2);
  EXPECT_FALSE(leaked) << "the Secret's value appeared on a command line";
  EXPECT_TRUE(FileHas(target + "/token.txt", token))
      << "the Secret's value did not reach the playbook";

  // A spec change runs it again (driftPolicy OnSpecChange).
  Apply("run", manifest("r2"));
  ASSERT_TRUE(Eventually([&] { return FileHas(target + "/release.txt", "r2"); }));

  // Delete runs the delete playbook.
  ASSERT_EQ(Kubectl({"delete", kNsRuns, "deploy", "-n", ns, "--wait=false"}).exit_code, 0);
  ASSERT_TRUE(Eventually([&] { return !Get(kNsRuns, "deploy", ns).is_object(); }));
  EXPECT_FALSE(fs::exists(target + "/token.txt"));
  EXPECT_FALSE(fs::exists(target + "/release.txt"));
}

}  // namespace
}  // namespace platform::testing
