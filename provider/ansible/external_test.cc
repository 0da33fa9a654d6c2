// The AnsibleRun's connector against an in-memory API server: where what a
// run needs (credentials, variable files) is read from.
#include "provider/ansible/external.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <map>
#include <string>
#include <vector>

#include "provider/kube/resources.h"
#include "provider/testing/fake_client.h"
#include "provider/testing/fake_clock.h"
#include "provider/testing/temp_dir.h"

namespace ansible {
namespace {

using kube::Json;

struct NoEvents : runtime::EventSink {
  void Event(const Json&, const std::string&, const std::string&, const std::string&,
             const std::map<std::string, std::string>&) override {}
};

TEST(AnsibleConnector, InputsAreReadNotOlderThanItsLastReadOfThem) {
  kube::testing::FakeClient client;
  kube::testing::FakeClock clock;
  NoEvents events;
  provider::testing::TempDir root;
  const Json credentials =
      client.Seed(kube::kSecrets, {{"apiVersion", "v1"},
                                   {"kind", "Secret"},
                                   {"metadata", {{"namespace", "ops"}, {"name", "creds"}}},
                                   {"data", {{"token", "c2VjcmV0"}}}});
  const Json vars =
      client.Seed(kube::kConfigMaps, {{"apiVersion", "v1"},
                                      {"kind", "ConfigMap"},
                                      {"metadata", {{"namespace", "team"}, {"name", "vars"}}},
                                      {"data", {{"vars.yaml", "size: 1\n"}}}});
  Json mr = {
      {"apiVersion", "ansible.workloads.m.terraforming.io/v1alpha1"},
      {"kind", "AnsibleRun"},
      {"metadata", {{"name", "run"}, {"namespace", "team"}, {"uid", "uid-1"}}},
      {"spec",
       {{"forProvider",
         {{"source", "Inline"},
          {"playbook", "- hosts: localhost\n  tasks: []\n"},
          {"varFiles",
           Json::array({{{"source", "ConfigMapKey"},
                         {"configMapKeyRef", {{"name", "vars"}, {"key", "vars.yaml"}}}}})}}}}}};
  const Json pc = {
      {"apiVersion", "ansible.workloads.m.terraforming.io/v1alpha1"},
      {"kind", "ClusterProviderConfig"},
      {"metadata", {{"name", "default"}}},
      {"spec",
       {{"credentials",
         Json::array(
             {{{"filename", "token"},
               {"source", "Secret"},
               {"secretRef", {{"namespace", "ops"}, {"name", "creds"}, {"key", "token"}}}}})}}}};
  AnsibleOptions options;
  options.work_root = root / "work";
  options.cache_root = root / "cache";
  AnsibleConnector connector(client, events, clock, options);
  ASSERT_TRUE(connector.Connect(mr, pc).ok());
  ASSERT_TRUE(connector.Connect(mr, pc).ok());
  const std::string credentials_version = credentials["metadata"]["resourceVersion"];
  const std::string vars_version = vars["metadata"]["resourceVersion"];
  EXPECT_EQ(client.not_older_than,
            (std::vector<std::string>{"secrets ops/creds ", "configmaps team/vars ",
                                      "secrets ops/creds " + credentials_version,
                                      "configmaps team/vars " + vars_version}));
}

// Prints a run of one task on localhost, changed when the file `changed`
// next to it holds 1, failed (exit 2) when the file `fail` does.
constexpr char kFakePlaybook[] = R"(#!/bin/bash
changed=$(cat "$(dirname "$0")/changed" 2>/dev/null || echo 0)
failed=$(cat "$(dirname "$0")/fail" 2>/dev/null || echo 0)
flag=false; if [ "$changed" = 1 ]; then flag=true; fi
broke=false; if [ "$failed" = 1 ]; then broke=true; fi
echo '{"plays":[{"play":{"name":"p"},"tasks":[{"task":{"name":"put the file"},"hosts":{"localhost":{"changed":'$flag',"failed":'$broke',"msg":"no"}}}]}],"stats":{"localhost":{"ok":1,"changed":'$changed',"failures":'$failed',"unreachable":0,"skipped":0,"rescued":0,"ignored":0}},"custom_stats":{}}'
if [ "$failed" = 1 ]; then exit 2; fi
)";

// A check that finds what the last check found leaves the status as it
// was (so an idle poll writes nothing); one that finds something else, or
// the first after an apply, records its own times.
TEST(AnsibleClient, ACheckThatFindsWhatTheLastFoundKeepsItsTimes) {
  kube::testing::FakeClient client;
  kube::testing::FakeClock clock;
  NoEvents events;
  provider::testing::TempDir root;
  const std::string playbook = root.Write("bin/ansible-playbook", kFakePlaybook);
  ::chmod(playbook.c_str(), 0755);
  auto drift = [&](bool changed) { root.Write("bin/changed", changed ? "1" : "0"); };
  Json mr = {{"apiVersion", "ansible.workloads.m.terraforming.io/v1alpha1"},
             {"kind", "AnsibleRun"},
             {"metadata", {{"name", "run"}, {"namespace", "team"}, {"uid", "uid-1"}}},
             {"spec",
              {{"forProvider",
                {{"source", "Inline"}, {"playbook", "- hosts: localhost\n  tasks: []\n"}}}}}};
  const Json pc = {{"apiVersion", "ansible.workloads.m.terraforming.io/v1alpha1"},
                   {"kind", "ClusterProviderConfig"},
                   {"metadata", {{"name", "default"}}},
                   {"spec", Json::object()}};
  AnsibleOptions options;
  options.ansible_playbook = playbook;
  options.work_root = root / "work";
  options.cache_root = root / "cache";
  AnsibleConnector connector(client, events, clock, options);
  // One reconcile: the check (Observe), then the run when it is not up to
  // date.
  auto reconcile = [&] {
    clock.now += std::chrono::minutes(10);
    auto external = connector.Connect(mr, pc);
    ASSERT_TRUE(external.ok()) << external.status();
    const absl::StatusOr<runtime::Observation> o = (*external)->Observe(mr);
    ASSERT_TRUE(o.ok()) << o.status();
    if (!o->exists || !o->up_to_date) {
      const absl::StatusOr<runtime::ExternalResult> ran = (*external)->Update(mr);
      ASSERT_TRUE(ran.ok()) << ran.status();
    }
    ASSERT_TRUE((*external)->Disconnect().ok());
  };
  const auto at = [&] { return mr["status"]["atProvider"]; };
  drift(false);
  reconcile();  // the first run
  ASSERT_EQ(at()["lastRun"].value("mode", ""), "Apply") << at().dump();
  reconcile();  // the first check after it: its own times
  EXPECT_EQ(at()["lastRun"].value("mode", ""), "Check");
  EXPECT_EQ(at()["lastRun"].value("finishedAt", ""), kube::Rfc3339(clock.now));
  const Json status = mr["status"];
  reconcile();
  EXPECT_EQ(mr["status"], status) << "the same check changed the status";

  // Drift: found (its own times), put back by a run; the next check is the
  // first after that run.
  drift(true);
  reconcile();
  EXPECT_EQ(at()["lastRun"].value("mode", ""), "Apply");
  drift(false);
  reconcile();
  EXPECT_EQ(at()["lastRun"].value("mode", ""), "Check");
  EXPECT_EQ(at()["lastRun"].value("finishedAt", ""), kube::Rfc3339(clock.now));
  EXPECT_EQ(at()["drift"].value("at", ""), kube::Rfc3339(clock.now));
  const Json settled = mr["status"];
  reconcile();
  EXPECT_EQ(mr["status"], settled);

  // Drift that is not put back (a resource whose management policies leave
  // out Update: Observe alone): found with its own times, then kept while
  // the same drift is found.
  auto observe = [&](bool ok) {
    clock.now += std::chrono::minutes(10);
    auto external = connector.Connect(mr, pc);
    ASSERT_TRUE(external.ok()) << external.status();
    EXPECT_EQ((*external)->Observe(mr).ok(), ok);
    ASSERT_TRUE((*external)->Disconnect().ok());
  };
  drift(true);
  observe(true);
  EXPECT_TRUE(at()["drift"].value("detected", false));
  EXPECT_EQ(at()["lastRun"].value("finishedAt", ""), kube::Rfc3339(clock.now));
  EXPECT_EQ(at()["drift"].value("at", ""), kube::Rfc3339(clock.now));
  const Json drifted = mr["status"];
  observe(true);
  EXPECT_EQ(mr["status"], drifted) << "the same drift changed the status";

  // A failing check records its own times, and so does the next check that
  // succeeds.
  root.Write("bin/fail", "1");
  observe(false);
  EXPECT_EQ(at()["lastRun"].value("result", ""), "Failed");
  EXPECT_EQ(at()["lastRun"].value("finishedAt", ""), kube::Rfc3339(clock.now));
  root.Write("bin/fail", "0");
  observe(true);
  EXPECT_EQ(at()["lastRun"].value("result", ""), "Succeeded");
  EXPECT_EQ(at()["lastRun"].value("finishedAt", ""), kube::Rfc3339(clock.now));
}

}  // namespace
}  // namespace ansible
