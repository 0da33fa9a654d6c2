// The AnsibleRun's connector against an in-memory API server: where what a
// run needs (credentials, variable files) is read from.
#include "provider/ansible/external.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace ansible
