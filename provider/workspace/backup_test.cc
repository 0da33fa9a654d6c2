// StateBackup against a real S3-protocol server (moto) on loopback.
#include "provider/workspace/backup.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "provider/common/crypto.h"
#include "provider/testing/s3_server.h"

namespace workspace {
namespace {

class StateBackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start());
    options_.s3.endpoint = server_.endpoint();
    options_.s3.bucket = "states";
    options_.s3.credentials = {"AKIDEXAMPLE", "secret", ""};
    options_.prefix = "prod/";
    ASSERT_TRUE(provider::S3Client(options_.s3).CreateBucket().ok());
  }

  static SealedState Version(int64_t serial, const std::string& lineage) {
    const std::string blob = "sealed bytes of " + lineage + " " + std::to_string(serial);
    return SealedState{blob,          serial, lineage, "checksum-" + std::to_string(serial),
                       "aes-256-gcm", "k1"};
  }

  std::vector<std::string> Keys(const std::string& prefix) {
    const absl::StatusOr<std::vector<provider::S3Object>> listed =
        provider::S3Client(options_.s3).List(prefix);
    EXPECT_TRUE(listed.ok()) << listed.status();
    std::vector<std::string> keys;
    for (const auto& o : listed.value_or(std::vector<provider::S3Object>{})) keys.push_back(o.key);
    return keys;
  }

  provider::testing::S3Server server_;
  BackupOptions options_;
};

TEST_F(StateBackupTest, NamesObjectsAfterTheWorkspaceNotItsUid) {
  StateBackup cluster(options_, {"", "network"});
  StateBackup namespaced(options_, {"team-a", "network"});
  EXPECT_EQ(cluster.base(), "prod/cluster/network/");
  EXPECT_EQ(namespaced.base(), "prod/namespaces/team-a/network/");

  const absl::StatusOr<BackupRecord> up = namespaced.Upload(Version(7, "L1"), "uid-1");
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_EQ(up->object, "prod/namespaces/team-a/network/L1/000000000007.tfstate");
  EXPECT_EQ(up->sha256, provider::Sha256Hex(Version(7, "L1").blob));
  EXPECT_EQ(Keys("prod/namespaces/team-a/network/"),
            (std::vector<std::string>{"prod/namespaces/team-a/network/L1/000000000007.tfstate",
                                      "prod/namespaces/team-a/network/latest.json"}));

  // Another life of the Workspace (a new uid) finds it by name.
  StateBackup again(options_, {"team-a", "network"});
  const absl::StatusOr<FetchedBackup> got = again.Fetch();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->blob, Version(7, "L1").blob);
  EXPECT_EQ(got->record.serial, 7);
  EXPECT_EQ(got->record.lineage, "L1");
  EXPECT_EQ(got->record.checksum, "checksum-7");
  EXPECT_EQ(cluster.Fetch().status().code(), absl::StatusCode::kNotFound);
}

TEST_F(StateBackupTest, KeepsTheNewestVersionsOfTheCurrentLineage) {
  options_.keep = 3;
  StateBackup b(options_, {"", "db"});
  for (int64_t serial = 1; serial <= 5; ++serial) {
    ASSERT_TRUE(b.Upload(Version(serial, "new"), "u2").ok());
  }
  EXPECT_EQ(
      Keys("prod/cluster/db/"),
      (std::vector<std::string>{
          "prod/cluster/db/latest.json", "prod/cluster/db/new/000000000003.tfstate",
          "prod/cluster/db/new/000000000004.tfstate", "prod/cluster/db/new/000000000005.tfstate"}));
  const absl::StatusOr<FetchedBackup> latest = b.Fetch();
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ(latest->record.serial, 5);
  EXPECT_EQ(latest->highest_serial, 5);
  const absl::StatusOr<FetchedBackup> three = b.Fetch(3);
  ASSERT_TRUE(three.ok()) << three.status();
  EXPECT_EQ(three->blob, Version(3, "new").blob);
  EXPECT_EQ(three->highest_serial, 5) << "a restore of 3 must be stored above 5";
  EXPECT_EQ(b.Fetch(1).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(StateBackupTest, AnotherWorkspacesLineageIsNeitherReplacedNorTrimmed) {
  options_.keep = 1;
  StateBackup b(options_, {"", "net"});
  ASSERT_TRUE(b.Upload(Version(7, "first"), "uid-first").ok());
  // Another Workspace of the same name (another cluster, the same prefix).
  const absl::Status other = b.Upload(Version(1, "second"), "uid-second").status();
  EXPECT_EQ(other.code(), absl::StatusCode::kFailedPrecondition) << other;
  EXPECT_NE(other.message().find("lineage first"), std::string::npos) << other;
  EXPECT_EQ(b.Fetch().value().record.lineage, "first");
  // The same Workspace, or one that restored that lineage, goes on.
  EXPECT_TRUE(b.Upload(Version(8, "first"), "uid-restored").ok());

  // Its Workspace destroyed everything: latest.json says so, a restore of
  // "latest" finds nothing, and a new lineage may start; the old lineage's
  // objects stay (retention trims only the lineage uploaded).
  ASSERT_TRUE(b.MarkDeleted("first").ok());
  EXPECT_EQ(b.Fetch().status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(b.Fetch(8).ok()) << "a named serial is still there";
  ASSERT_TRUE(b.Upload(Version(1, "second"), "uid-second").ok());
  ASSERT_TRUE(b.Upload(Version(2, "second"), "uid-second").ok());
  EXPECT_EQ(Keys("prod/cluster/net/"),
            (std::vector<std::string>{"prod/cluster/net/first/000000000008.tfstate",
                                      "prod/cluster/net/latest.json",
                                      "prod/cluster/net/second/000000000002.tfstate"}));
  EXPECT_EQ(b.Fetch().value().record.lineage, "second");
}

TEST_F(StateBackupTest, AMalformedPointerIsAnErrorNotACrash) {
  StateBackup b(options_, {"", "odd"});
  provider::S3Client s3(options_.s3);
  for (const std::string body : {"not json", "[]", R"({"object": 5})", R"({"sha256": "x"})"}) {
    SCOPED_TRACE(body);
    ASSERT_TRUE(s3.Put("prod/cluster/odd/latest.json", body).ok());
    EXPECT_EQ(b.Fetch().status().code(), absl::StatusCode::kDataLoss);
    EXPECT_EQ(b.Upload(Version(1, "L"), "u").status().code(), absl::StatusCode::kDataLoss)
        << "nothing is written over what cannot be read";
  }
  // Fields of the wrong type are read as absent.
  ASSERT_TRUE(s3.Put("prod/cluster/odd/latest.json",
                     R"({"object": "k", "sha256": "x", "serial": "7", "deleted": "yes"})")
                  .ok());
  EXPECT_EQ(b.Fetch().status().code(), absl::StatusCode::kNotFound);  // no object k
}

TEST_F(StateBackupTest, AMissingBucketIsNotAMissingBackup) {
  options_.s3.bucket = "no-such-bucket";
  StateBackup b(options_, {"", "app"});
  const absl::Status fetched = b.Fetch().status();
  EXPECT_EQ(fetched.code(), absl::StatusCode::kFailedPrecondition) << fetched;
  EXPECT_NE(fetched.message().find("NoSuchBucket"), std::string::npos) << fetched;
}

TEST_F(StateBackupTest, RefusesBytesThatDoNotMatchTheirChecksum) {
  StateBackup b(options_, {"", "app"});
  const BackupRecord up = b.Upload(Version(2, "L"), "u").value();
  EXPECT_TRUE(b.Present(up).value());
  // Someone rewrites the object, metadata included, with other bytes.
  provider::S3Client s3(options_.s3);
  ASSERT_TRUE(s3.Put(up.object, "tampered", {{"serial", "2"}, {"sha256", up.sha256}}).ok());
  const absl::Status fetched = b.Fetch().status();
  EXPECT_EQ(fetched.code(), absl::StatusCode::kDataLoss) << fetched;
  EXPECT_NE(fetched.message().find("s3://states/" + up.object), std::string::npos) << fetched;

  // Deleted from the bucket: no longer present.
  ASSERT_TRUE(s3.Delete(up.object).ok());
  EXPECT_FALSE(b.Present(up).value());
}

TEST_F(StateBackupTest, ASerialInSeveralLineagesIsTakenFromTheLatests) {
  StateBackup b(options_, {"", "net"});
  ASSERT_TRUE(b.Upload(Version(3, "a"), "u1").ok());
  ASSERT_TRUE(b.MarkDeleted("a").ok());
  ASSERT_TRUE(b.Upload(Version(3, "b"), "u2").ok());
  const absl::StatusOr<FetchedBackup> got = b.Fetch(3);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->record.lineage, "b");
}

TEST(OpenBackup, OpensWhatTheStoreSealedWithTheKeyFromAFile) {
  const std::string state = R"({"version": 4, "serial": 3, "lineage": "L", "resources": []})";
  const std::string sealed = provider::Seal("key material", provider::Gzip(state).value()).value();
  EXPECT_EQ(OpenBackup(sealed, "key material").value(), state);
  EXPECT_EQ(OpenBackup(sealed, "key material\n").value(), state) << "a file's trailing newline";
  EXPECT_FALSE(OpenBackup(sealed, "another key").ok());
  EXPECT_FALSE(OpenBackup(sealed, "").ok());
  // Unencrypted (no key configured): only gzipped.
  EXPECT_EQ(OpenBackup(provider::Gzip(state).value(), "").value(), state);
  EXPECT_EQ(OpenBackup(provider::Gzip("[1, 2]").value(), "").status().code(),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace workspace
