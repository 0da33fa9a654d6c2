#include "provider/runtime/providerconfig.h"

#include <gtest/gtest.h>

#include <string>

#include "provider/kube/resources.h"
#include "provider/testing/fake_client.h"

namespace runtime {
namespace {

using kube::Json;
using kube::testing::FakeClient;

Json Pc(const std::string& ns, const Json& ssh) {
  Json pc = {{"metadata", {{"name", "default"}}}, {"spec", Json::object()}};
  if (!ns.empty()) pc["metadata"]["namespace"] = ns;
  if (!ssh.is_null()) pc["spec"]["ssh"] = ssh;
  return pc;
}

TEST(SshKnownHosts, InlineAndFromASecret) {
  FakeClient api;
  ASSERT_TRUE(api.Create(kube::kSecrets, {{"metadata", {{"name", "hosts"}, {"namespace", "ops"}}},
                                          {"data", {{"kh", "W2hdOjIyIGtleQ=="}}}})
                  .ok());  // "[h]:22 key"
  EXPECT_EQ(SshKnownHosts(api, Pc("", nullptr)).value(), "");
  EXPECT_EQ(SshKnownHosts(api, Pc("", {{"knownHosts", "a ssh-ed25519 AAAA"}})).value(),
            "a ssh-ed25519 AAAA\n");
  EXPECT_EQ(SshKnownHosts(api, Pc("", {{"knownHosts", "a ssh-ed25519 AAAA\n"},
                                       {"knownHostsSecretRef",
                                        {{"namespace", "ops"}, {"name", "hosts"}, {"key", "kh"}}}}))
                .value(),
            "a ssh-ed25519 AAAA\n[h]:22 key\n");
  // A namespaced ProviderConfig reads its own namespace only.
  const auto other = SshKnownHosts(
      api, Pc("team-a",
              {{"knownHostsSecretRef", {{"namespace", "ops"}, {"name", "hosts"}, {"key", "kh"}}}}));
  EXPECT_TRUE(absl::IsNotFound(other.status())) << other.status();
  EXPECT_NE(other.status().message().find("spec.ssh.knownHostsSecretRef"), std::string::npos);
  const auto incomplete = SshKnownHosts(api, Pc("", {{"knownHostsSecretRef", {{"name", "x"}}}}));
  EXPECT_TRUE(absl::IsInvalidArgument(incomplete.status()));
  EXPECT_NE(incomplete.status().message().find("spec.ssh.knownHostsSecretRef.key"),
            std::string::npos)
      << incomplete.status();
}

}  // namespace
}  // namespace runtime
