// provider-workloads with --enable-changelogs against the control plane: a
// change-log sidecar of our own (Crossplane's ChangeLogService on a Unix
// socket, as the real sidecar serves it) records what the provider sends
// while a Workspace is created, changed and deleted.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "provider/testing/changelog_sidecar.h"
#include "tests/e2e/provider_fixture.h"

namespace platform::testing {
namespace {

namespace pb = changelogs::proto::v1alpha1;

// The entries of `operation` for the Workspace `name`.
std::vector<pb::ChangeLogEntry> Of(const std::vector<pb::ChangeLogEntry>& all,
                                   pb::OperationType operation, const std::string& name) {
  std::vector<pb::ChangeLogEntry> out;
  for (const auto& e : all) {
    if (e.operation() == operation && e.name() == name) out.push_back(e);
  }
  return out;
}

std::string Module(const std::string& greeting) {
  return "output \"greeting\" {\n  value = \"" + greeting + "\"\n}\n";
}

class ProviderChangeLogTest : public ProviderTest {};

TEST_F(ProviderChangeLogTest, EveryCreateUpdateAndDeleteReachesTheSidecar) {
  // Short: a Unix socket's path is at most 107 bytes.
  const std::string socket = "/tmp/changelogs-" + suffix_ + ".sock";
  fs::remove(socket);
  auto sidecar = std::make_unique<kube::testing::ChangeLogSidecar>(socket);
  ASSERT_TRUE(sidecar->up());
  StartProvider({"--enable-changelogs", "--changelogs-socket-path=" + socket});

  const std::string name = "logged-" + suffix_;
  constexpr char kWs[] = "workspaces.terraform.workloads.terraforming.io";
  created_.emplace_back(kWs, name);
  auto workspace = [&](const std::string& greeting) {
    return "apiVersion: terraform.workloads.terraforming.io/v1alpha1\nkind: Workspace\n"
           "metadata:\n  name: " +
           name + "\nspec:\n  providerConfigRef: {name: pc-" + suffix_ +
           "}\n  forProvider:\n    source: Inline\n    module: |\n" + Indent(Module(greeting), 6);
  };
  Apply("ws", workspace("hello"));
  ASSERT_TRUE(Eventually([&] {
    return !Of(sidecar->entries(), pb::OPERATION_TYPE_CREATE, name).empty();
  })) << Get(kWs, name).dump(2);
  const pb::ChangeLogEntry created = Of(sidecar->entries(), pb::OPERATION_TYPE_CREATE, name)[0];
  EXPECT_EQ(created.provider().rfind("provider-workloads:", 0), 0u) << created.provider();
  EXPECT_EQ(created.api_version(), "terraform.workloads.terraforming.io/v1alpha1");
  EXPECT_EQ(created.kind(), "Workspace");
  EXPECT_EQ(created.external_name(), name);
  EXPECT_FALSE(created.has_error_message());
  EXPECT_EQ(created.additional_details().at("plan"), "0 to add, 0 to change, 0 to destroy");
  EXPECT_NE(kube::testing::SnapshotString(created, {"spec", "forProvider", "module"}).find("hello"),
            std::string::npos);
  const auto& meta = created.snapshot().fields().at("metadata").struct_value().fields();
  EXPECT_EQ(meta.count("managedFields"), 0u);
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  EXPECT_LE(std::abs(now - created.timestamp().seconds()), 300);

  // A changed module is applied: an update.
  ASSERT_TRUE(Eventually([&] { return ReadyAndSynced(Get(kWs, name)); }));
  Apply("ws", workspace("hello again"));
  ASSERT_TRUE(
      Eventually([&] { return !Of(sidecar->entries(), pb::OPERATION_TYPE_UPDATE, name).empty(); }));
  const pb::ChangeLogEntry updated = Of(sidecar->entries(), pb::OPERATION_TYPE_UPDATE, name)[0];
  EXPECT_NE(
      kube::testing::SnapshotString(updated, {"spec", "forProvider", "module"}).find("hello again"),
      std::string::npos)
      << "the snapshot is the resource as the update found it";

  // Deleted: destroyed, and logged once.
  ASSERT_EQ(Kubectl({"delete", kWs, name, "--wait=false"}).exit_code, 0);
  ASSERT_TRUE(Eventually([&] { return !Get(kWs, name).is_object(); }));
  ASSERT_TRUE(
      Eventually([&] { return !Of(sidecar->entries(), pb::OPERATION_TYPE_DELETE, name).empty(); }));
  EXPECT_EQ(Of(sidecar->entries(), pb::OPERATION_TYPE_DELETE, name).size(), 1u);
  EXPECT_EQ(Of(sidecar->entries(), pb::OPERATION_TYPE_CREATE, name).size(), 1u);
  provider_->Stop();
  sidecar.reset();
  fs::remove(socket);
}

}  // namespace
}  // namespace platform::testing
