#include "provider/kube/cached_reads.h"

#include <gtest/gtest.h>

#include <vector>

#include "provider/kube/resources.h"
#include "provider/testing/fake_client.h"

namespace kube {
namespace {

using testing::FakeClient;

Json Secret(const std::string& ns, const std::string& name, const std::string& value) {
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"metadata", {{"namespace", ns}, {"name", name}}},
          {"data", {{"key", value}}}};
}

std::string VersionOf(const absl::StatusOr<Json>& object) {
  return object.ok() ? (*object)["metadata"].value("resourceVersion", "") : "";
}

TEST(KnownVersions, RemembersForgetsAndClears) {
  KnownVersions versions;
  EXPECT_EQ(versions.Of("a"), "");
  versions.Remember("a", "3");
  versions.Remember("b", "4");
  versions.Remember("a", "5");
  EXPECT_EQ(versions.Of("a"), "5");
  EXPECT_EQ(versions.size(), 2u);
  versions.Remember("a", "");
  EXPECT_EQ(versions.Of("a"), "");
  EXPECT_EQ(versions.Of("b"), "4");
  versions.Clear();
  EXPECT_EQ(versions.size(), 0u);
}

TEST(KnownVersions, OneObjectOverItsCapacityForgetsTheOthers) {
  KnownVersions versions(2);
  versions.Remember("a", "1");
  versions.Remember("b", "2");
  versions.Remember("b", "3");  // known already: nothing is forgotten
  EXPECT_EQ(versions.size(), 2u);
  versions.Remember("c", "4");
  EXPECT_EQ(versions.size(), 1u);
  EXPECT_EQ(versions.Of("a"), "");
  EXPECT_EQ(versions.Of("c"), "4");
}

TEST(CachedReads, EachReadIsNotOlderThanTheLastOneReturned) {
  FakeClient fake;
  const std::string first = VersionOf(fake.Seed(kSecrets, Secret("team", "key", "YQ==")));
  fake.Seed(kSecrets, Secret("team", "other", "Yg=="));
  CachedReads reads(fake);

  // The first read of an object is a plain one; later ones carry the
  // version the reader last returned for that object, and only for it.
  ASSERT_EQ(VersionOf(reads.Get(kSecrets, {"team", "key"})), first);
  ASSERT_TRUE(reads.Get(kSecrets, {"team", "other"}).ok());
  Json changed = fake.Peek(kSecrets, {"team", "key"});
  changed["data"]["key"] = "Yw==";
  const std::string second = VersionOf(fake.Update(kSecrets, changed));
  const absl::StatusOr<Json> got = reads.Get(kSecrets, {"team", "key"});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)["data"]["key"], "Yw==");
  ASSERT_TRUE(reads.Get(kSecrets, {"team", "key"}).ok());
  EXPECT_EQ(fake.not_older_than,
            (std::vector<std::string>{"secrets team/key ", "secrets team/other ",
                                      "secrets team/key " + first, "secrets team/key " + second}));
  EXPECT_EQ(reads.known(), 2u);
}

TEST(CachedReads, AGoneObjectIsReadPlainlyAgain) {
  FakeClient fake;
  fake.Seed(kSecrets, Secret("team", "key", "YQ=="));
  CachedReads reads(fake);
  ASSERT_TRUE(reads.Get(kSecrets, {"team", "key"}).ok());
  ASSERT_TRUE(fake.Delete(kSecrets, {"team", "key"}).ok());
  EXPECT_TRUE(kube::IsNotFound(reads.Get(kSecrets, {"team", "key"}).status()));
  EXPECT_EQ(reads.known(), 0u);
  fake.Seed(kSecrets, Secret("team", "key", "Yg=="));
  ASSERT_TRUE(reads.Get(kSecrets, {"team", "key"}).ok());
  EXPECT_EQ(fake.not_older_than.back(), "secrets team/key ");
}

TEST(CachedReads, AFailedReadKeepsTheVersionKnown) {
  FakeClient fake;
  const std::string version = VersionOf(fake.Seed(kSecrets, Secret("team", "key", "YQ==")));
  CachedReads reads(fake);
  ASSERT_TRUE(reads.Get(kSecrets, {"team", "key"}).ok());
  fake.hook = [](const std::string&, const Resource&, const ObjectKey&) {
    return ApiError(503, "ServiceUnavailable", "try again").ToStatus();
  };
  EXPECT_FALSE(reads.Get(kSecrets, {"team", "key"}).ok());
  fake.hook = nullptr;
  ASSERT_TRUE(reads.Get(kSecrets, {"team", "key"}).ok());
  EXPECT_EQ(fake.not_older_than.back(), "secrets team/key " + version);
}

TEST(CachedReads, KindsOfOneNameAreKeptApart) {
  FakeClient fake;
  fake.Seed(kSecrets, Secret("team", "shared", "YQ=="));
  Json map = {{"apiVersion", "v1"},
              {"kind", "ConfigMap"},
              {"metadata", {{"namespace", "team"}, {"name", "shared"}}},
              {"data", {{"key", "a"}}}};
  fake.Seed(kConfigMaps, map);
  CachedReads reads(fake);
  ASSERT_TRUE(reads.Get(kSecrets, {"team", "shared"}).ok());
  ASSERT_TRUE(reads.Get(kConfigMaps, {"team", "shared"}).ok());
  EXPECT_EQ(fake.not_older_than.back(), "configmaps team/shared ");
}

TEST(CachedReads, WritesGoToTheClientUnchanged) {
  FakeClient fake;
  CachedReads reads(fake);
  const absl::StatusOr<Json> created = reads.Create(kSecrets, Secret("team", "key", "YQ=="));
  ASSERT_TRUE(created.ok());
  ASSERT_TRUE(reads.Delete(kSecrets, {"team", "key"}).ok());
  EXPECT_FALSE(fake.Has(kSecrets, {"team", "key"}));
  EXPECT_EQ(fake.calls,
            (std::vector<std::string>{"create secrets team/key", "delete secrets team/key"}));
  // A write is not a read: nothing is known.
  EXPECT_EQ(reads.known(), 0u);
}

}  // namespace
}  // namespace kube
