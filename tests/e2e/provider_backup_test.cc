// State backups end to end: provider-workloads on the control plane with a
// ProviderConfig whose spec.state.backup names a bucket on moto's S3 server
// (a real S3-protocol server on loopback). Every save reaches the bucket;
// a cluster that lost its state Secrets gets them back from the bucket and
// plans no changes; a bucket that is down never holds up a save, and the
// backup catches up once it is back.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "provider/common/crypto.h"
#include "provider/common/s3.h"
#include "provider/testing/s3_server.h"
#include "tests/e2e/provider_fixture.h"

namespace platform::testing {
namespace {

constexpr char kWs[] = "workspaces.terraform.workloads.terraforming.io";

// A module with one resource of OpenTofu's built-in provider (nothing to
// download): its id is random, so a plan after a lost state would create it
// again with another id.
std::string Module(const std::string& input) {
  return "resource \"terraform_data\" \"thing\" {\n  input = \"" + input +
         "\"\n}\noutput \"id\" {\n  value = terraform_data.thing.id\n}\n";
}

class ProviderBackupTest : public ProviderTest {
 protected:
  // The bucket's credentials and a ProviderConfig backing up to `endpoint`.
  void BackupConfig(const std::string& endpoint, const std::string& restore,
                    const provider::SigV4Credentials& keys = kKeys) {
    Apply("backup-config",
          "apiVersion: v1\nkind: Secret\nmetadata:\n  name: bucket-creds\n  namespace: " +
              state_ns_ + "\nstringData:\n  accessKeyId: " + keys.access_key_id +
              "\n  secretAccessKey: " + keys.secret_access_key +
              "\n---\n"
              "apiVersion: terraform.workloads.terraforming.io/v1alpha1\nkind: ProviderConfig\n"
              "metadata:\n  name: bpc-" +
              suffix_ + "\nspec:\n  state:\n    namespace: " + state_ns_ +
              "\n    encryptionKeySecretRef: {namespace: " + state_ns_ +
              ", name: state-key, key: key}\n    backup:\n      endpoint: " + endpoint +
              "\n      bucket: states\n      prefix: e2e-" + suffix_ +
              "\n      keep: 3\n      restore: " + restore +
              "\n      credentialsSecretRef: {namespace: " + state_ns_ + ", name: bucket-creds}\n");
    created_.emplace_back("providerconfigs.terraform.workloads.terraforming.io", "bpc-" + suffix_);
  }

  std::string Workspace(const std::string& name, const std::string& input) {
    return "apiVersion: terraform.workloads.terraforming.io/v1alpha1\nkind: Workspace\n"
           "metadata:\n  name: " +
           name + "\nspec:\n  providerConfigRef: {name: bpc-" + suffix_ +
           "}\n  forProvider:\n    source: Inline\n    module: |\n" + Indent(Module(input), 6);
  }

  // moto without authentication takes any key.
  static inline const provider::SigV4Credentials kKeys = {
      "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};

  static provider::SigV4Credentials KeysOf(const provider::testing::S3Server& server) {
    return {server.access_key(), server.secret_key(), ""};
  }

  provider::S3Client Bucket(const provider::testing::S3Server& server,
                            const provider::SigV4Credentials& keys = kKeys) {
    provider::S3Options o;
    o.endpoint = server.endpoint();
    o.bucket = "states";
    o.credentials = keys;
    return provider::S3Client(o);
  }

  static Json Backup(const Json& ws) {
    if (!ws.is_object()) return Json();
    return ws.value("status", Json::object())
        .value("atProvider", Json::object())
        .value("backup", Json::object());
  }
  static int64_t Serial(const Json& ws) {
    return ws["status"]["atProvider"]["state"].value("serial", int64_t{-1});
  }
};

TEST_F(ProviderBackupTest, EverySaveReachesTheBucketAndALostClusterGetsItBack) {
  // A server that checks every request's signature and its IAM policy.
  provider::testing::S3Server server;
  ASSERT_TRUE(server.Start(/*authenticated=*/true));
  provider::S3Client bucket = Bucket(server, KeysOf(server));
  ASSERT_TRUE(bucket.CreateBucket().ok());
  BackupConfig(server.endpoint(), "IfMissing", KeysOf(server));
  StartProvider();

  const std::string name = "backed-" + suffix_;
  const std::string base = "e2e-" + suffix_ + "/cluster/" + name + "/";
  created_.emplace_back(kWs, name);
  Apply("ws", Workspace(name, "one"));
  Json ws;
  ASSERT_TRUE(Eventually([&] {
    ws = Get(kWs, name);
    return ReadyAndSynced(ws) && Condition(ws, "BackedUp") == "True";
  })) << ws.dump(2);
  const std::string id = ws["status"]["atProvider"]["outputs"].value("id", "");
  ASSERT_FALSE(id.empty()) << ws.dump(2);
  const int64_t first = Serial(ws);
  EXPECT_EQ(Backup(ws).value("serial", int64_t{-2}), first) << ws.dump(2);

  // The object is the state as stored: sealed, never plaintext.
  const std::string object = Backup(ws).value("object", "");
  EXPECT_TRUE(object.starts_with(base)) << object;
  const absl::StatusOr<provider::S3Got> stored = bucket.Get(object);
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_TRUE(provider::IsSealed(stored->body));
  EXPECT_EQ(stored->body.find(id), std::string::npos);
  EXPECT_EQ(stored->metadata.at("serial"), std::to_string(first));
  EXPECT_EQ(stored->metadata.at("sha256"), provider::Sha256Hex(stored->body));
  // Outside any cluster, the provider binary opens it with the key from a
  // file (disaster recovery, docs/operations.md).
  const std::string object_file = dir_.Write("backup.tfstate", stored->body);
  const std::string key_file = dir_.Write("key", "correct-horse-battery-staple\n");
  const RunResult opened =
      RunCommand({kProvider, "--open-backup=" + object_file, "--open-backup-key-file=" + key_file});
  ASSERT_EQ(opened.exit_code, 0) << opened.err;
  const Json plain = Json::parse(opened.out, nullptr, false);
  ASSERT_TRUE(plain.is_object()) << opened.out;
  EXPECT_EQ(plain.value("serial", int64_t{-1}), first);
  EXPECT_EQ(plain["outputs"]["id"].value("value", ""), id);
  const RunResult wrong_key = RunCommand(
      {kProvider, "--open-backup=" + object_file, "--open-backup-key-file=" + object_file});
  EXPECT_EQ(wrong_key.exit_code, 1);
  EXPECT_NE(wrong_key.err.find("--open-backup"), std::string::npos) << wrong_key.err;

  // A change is applied and its new serial backed up too.
  Apply("ws", Workspace(name, "two"));
  ASSERT_TRUE(Eventually([&] {
    ws = Get(kWs, name);
    return ReadyAndSynced(ws) && Serial(ws) > first &&
           Backup(ws).value("serial", int64_t{-2}) == Serial(ws);
  })) << ws.dump(2);
  const int64_t second = Serial(ws);
  const std::string id_two = ws["status"]["atProvider"]["outputs"].value("id", "");
  size_t versions = 0;
  const absl::StatusOr<std::vector<provider::S3Object>> listed = bucket.List(base);
  ASSERT_TRUE(listed.ok()) << listed.status();
  for (const auto& o : *listed) versions += o.key.ends_with(".tfstate");
  EXPECT_GE(versions, 2u);

  // The cluster loses everything of the Workspace: its object (without a
  // destroy), its state Secrets and its lock.
  provider_->Stop();
  ASSERT_EQ(
      Kubectl({"patch", kWs, name, "--type=merge", "-p", R"({"metadata":{"finalizers":null}})"})
          .exit_code,
      0);
  ASSERT_EQ(Kubectl({"delete", kWs, name, "--wait=true"}).exit_code, 0);
  ASSERT_EQ(Kubectl({"delete", "secrets,leases", "-n", state_ns_, "-l",
                     "workloads.terraforming.io/workspace-uid"})
                .exit_code,
            0);
  ASSERT_EQ(Kubectl({"delete", "secrets", "-n", state_ns_, "-l", "workloads.terraforming.io/state"})
                .exit_code,
            0);
  const RunResult left = Kubectl({"get", "secrets", "-n", state_ns_, "-o", "name"});
  EXPECT_EQ(left.out.find("tfstate-"), std::string::npos) << left.out;

  // Re-created (a new uid, as in a rebuilt cluster): restored from the
  // bucket before the first plan, which finds nothing to change.
  Apply("ws", Workspace(name, "two"));
  StartProvider();
  ASSERT_TRUE(Eventually([&] {
    ws = Get(kWs, name);
    return ReadyAndSynced(ws) && Serial(ws) >= second;
  })) << ws.dump(2);
  EXPECT_TRUE(HasEvent(name, "default", "RestoredState"));
  EXPECT_EQ(ws["status"]["atProvider"]["outputs"].value("id", ""), id_two)
      << "the resource is the one the lost cluster created, not a new one";
  const Json plan = ws["status"]["atProvider"]["plan"];
  EXPECT_EQ(plan.value("add", -1), 0) << plan.dump();
  EXPECT_EQ(plan.value("change", -1), 0) << plan.dump();
  EXPECT_EQ(plan.value("destroy", -1), 0) << plan.dump();
  EXPECT_NE(Backup(ws).value("restoredFrom", "").find(base), std::string::npos) << ws.dump(2);

  // Deleted for real: destroyed, gone (restore: IfMissing does not bring
  // the state back while it is deleted), and its backups say so.
  ASSERT_EQ(Kubectl({"delete", kWs, name, "--wait=false"}).exit_code, 0);
  ASSERT_TRUE(Eventually([&] { return !Get(kWs, name).is_object(); })) << Get(kWs, name).dump(2);
  EXPECT_TRUE(HasEvent(name, "default", "Destroyed"));
  const absl::StatusOr<provider::S3Got> latest = bucket.Get(base + "latest.json");
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_TRUE(Json::parse(latest->body).value("deleted", false)) << latest->body;
  provider_->Stop();
}

TEST_F(ProviderBackupTest, ABucketThatIsDownNeverHoldsUpASave) {
  provider::testing::S3Server server;  // not started yet: the bucket is down
  BackupConfig(server.endpoint(), "Never");
  StartProvider();
  const std::string name = "unbacked-" + suffix_;
  created_.emplace_back(kWs, name);
  Apply("ws", Workspace(name, "one"));
  Json ws;
  ASSERT_TRUE(Eventually([&] {
    ws = Get(kWs, name);
    return ReadyAndSynced(ws) && Condition(ws, "BackedUp") == "False";
  })) << ws.dump(2);
  EXPECT_EQ(Condition(ws, "BackedUp", "reason"), "BackupFailed");
  EXPECT_NE(Condition(ws, "BackedUp", "message").find("not backed up"), std::string::npos)
      << ws.dump(2);
  EXPECT_GE(Serial(ws), 1) << "the state is stored in the cluster all the same";
  EXPECT_TRUE(HasEvent(name, "default", "BackupFailed"));

  // The bucket comes back: the next reconcile catches up.
  ASSERT_TRUE(server.Start());
  provider::S3Client bucket = Bucket(server);
  ASSERT_TRUE(bucket.CreateBucket().ok());
  ASSERT_TRUE(Eventually([&] {
    ws = Get(kWs, name);
    return Condition(ws, "BackedUp") == "True";
  })) << ws.dump(2);
  EXPECT_EQ(Backup(ws).value("serial", int64_t{-2}), Serial(ws));
  const auto metadata = bucket.Head(Backup(ws).value("object", ""));
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  ASSERT_TRUE(metadata->has_value());
  EXPECT_EQ((**metadata).at("serial"), std::to_string(Serial(ws)));
  EXPECT_TRUE(HasEvent(name, "default", "BackedUp"));
  provider_->Stop();
}

}  // namespace
}  // namespace platform::testing
