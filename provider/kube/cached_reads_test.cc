#include "provider/kube/cached_reads.h"

#include <gtest/gtest.h>

#include <functional>
#include <utility>
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

TEST(KnownVersions, AnAnswerAdvancesFromWhatWasSentOrToALaterRevision) {
  KnownVersions versions;
  versions.Advance("a", "", "5");  // nothing known: taken
  EXPECT_EQ(versions.Of("a"), "5");
  versions.Advance("a", "5", "7");  // still what was sent: taken
  EXPECT_EQ(versions.Of("a"), "7");
  versions.Advance("a", "5", "6");  // another answer moved it on to 7 meanwhile
  EXPECT_EQ(versions.Of("a"), "7");
  versions.Advance("a", "5", "9");  // a later revision than the one known
  EXPECT_EQ(versions.Of("a"), "9");
  versions.Advance("a", "", "");  // no version: nothing changes
  EXPECT_EQ(versions.Of("a"), "9");
  versions.Remember("b", "x-2");
  versions.Advance("b", "x-1", "x-3");  // not revisions: the one known stays
  EXPECT_EQ(versions.Of("b"), "x-2");
  versions.Advance("b", "x-2", "x-3");
  EXPECT_EQ(versions.Of("b"), "x-3");
}

TEST(KnownVersions, RaiseMovesAKnownKeyToALaterRevisionOnly) {
  KnownVersions versions;
  versions.Raise("a", "5");  // unknown: stays unknown (its next read is plain)
  EXPECT_EQ(versions.Of("a"), "");
  versions.Remember("a", "5");
  versions.Raise("a", "4");
  EXPECT_EQ(versions.Of("a"), "5");
  versions.Raise("a", "8");
  EXPECT_EQ(versions.Of("a"), "8");
  versions.Raise("a", "x-9");  // not a revision
  EXPECT_EQ(versions.Of("a"), "8");
}

// Answers each read of a Secret with a scripted resource version; a read
// can run another read before it answers, as a slower request overtaken by
// a later one on another thread.
class ScriptedVersions : public FakeClient {
 public:
  absl::StatusOr<Json> GetNotOlderThan(const Resource& r, const ObjectKey& key,
                                       const std::string& resource_version) override {
    sent.push_back(resource_version);
    const std::string version = answers.at(sent.size() - 1);
    if (overtaken_by) std::exchange(overtaken_by, nullptr)();
    Json object = Secret(key.ns, key.name, "YQ==");
    object["metadata"]["resourceVersion"] = version;
    (void)r;
    return object;
  }
  std::vector<std::string> answers;
  std::vector<std::string> sent;
  std::function<void()> overtaken_by;
};

TEST(CachedReads, AnAnswerOvertakenByALaterOneDoesNotTakeItsPlace) {
  ScriptedVersions scripted;
  CachedReads reads(scripted);
  scripted.answers = {"5", "7", "9", "9"};
  ASSERT_TRUE(reads.Get(kSecrets, {"team", "key"}).ok());  // 5
  // The next read (answered 7) is overtaken by one answered 9.
  scripted.overtaken_by = [&] { ASSERT_TRUE(reads.Get(kSecrets, {"team", "key"}).ok()); };
  ASSERT_TRUE(reads.Get(kSecrets, {"team", "key"}).ok());
  ASSERT_TRUE(reads.Get(kSecrets, {"team", "key"}).ok());
  EXPECT_EQ(scripted.sent, (std::vector<std::string>{"", "5", "5", "9"}));
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
