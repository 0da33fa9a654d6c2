#include "provider/workspace/state_store.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <string>

#include "common/status_macros.h"
#include "provider/common/crypto.h"
#include "provider/kube/forwarding_client.h"
#include "provider/kube/resources.h"
#include "provider/testing/fake_client.h"
#include "provider/testing/status.h"
#include "provider/testing/temp_dir.h"

namespace workspace {
namespace {

using kube::Json;
using kube::testing::FakeClient;

const std::string kLineage = "5b0f2c3e-1111-2222-3333-444455556666";

std::string StateJson(int64_t serial, const std::string& lineage = kLineage,
                      const std::string& extra = "") {
  Json doc = {{"version", 4},
              {"terraform_version", "1.12.6"},
              {"serial", serial},
              {"lineage", lineage},
              {"outputs", Json::object()},
              {"resources", Json::array()},
              {"check_results", nullptr}};
  if (!extra.empty()) doc["extra"] = extra;
  return doc.dump(2) + "\n";
}

using provider::testing::ErrorOf;

class StateStoreTest : public ::testing::Test {
 protected:
  StateStore::Options Opts(int history = 5) {
    StateStore::Options o;
    o.ns = "crossplane-system";
    o.uid = "uid-a";
    o.history = history;
    o.annotations = {{"workloads.terraforming.io/workspace", "Workspace//demo"}};
    return o;
  }
  Json Secret(const std::string& uid = "uid-a") {
    return client.Peek(kube::kSecrets, {"crossplane-system", "tfstate-" + uid});
  }
  // The chunk Secrets of uid-a, by name.
  std::map<std::string, Json> Chunks() {
    std::map<std::string, Json> out;
    for (const Json& s : client.All(kube::kSecrets)) {
      const Json labels = s["metadata"].value("labels", Json::object());
      if (labels.value("workloads.terraforming.io/state-chunk", "") == "true" &&
          labels.value("workloads.terraforming.io/workspace-uid", "") == "uid-a") {
        out[s["metadata"]["name"].get<std::string>()] = s;
      }
    }
    return out;
  }
  // The chunk list of the index: data key -> {secrets, size, sha256}.
  Json ChunkList() {
    const Json data = Secret().value("data", Json::object());
    if (!data.contains("chunks")) return Json::object();
    return Json::parse(provider::Base64Decode(data["chunks"].get<std::string>()).value());
  }
  std::set<std::string> Named() {
    std::set<std::string> out;
    const Json list = ChunkList();
    for (auto it = list.begin(); it != list.end(); ++it) {
      const Json& secrets = (*it)["secrets"];
      for (size_t i = 0; i < secrets.size(); ++i) out.insert(secrets[i].get<std::string>());
    }
    return out;
  }
  std::set<std::string> ChunkNames() {
    std::set<std::string> out;
    for (const auto& [name, s] : Chunks()) out.insert(name);
    return out;
  }
  size_t IndexDataSize() {
    size_t size = 0;
    for (const auto& [k, v] : Secret()["data"].items())
      size += k.size() + v.get<std::string>().size();
    return size;
  }
  // A state with `kib` KiB of random text, which gzip hardly shrinks.
  std::string Big(int64_t serial, size_t kib) {
    static const std::string alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string noise;
    noise.reserve(kib * 1024);
    for (size_t i = 0; i < kib * 1024; ++i) noise.push_back(alphabet[rng() % 64]);
    return StateJson(serial, kLineage, noise);
  }
  std::mt19937 rng{7};
  int Writes() {
    int n = 0;
    for (const auto& c : client.calls) {
      if (c.rfind("create ", 0) == 0 || c.rfind("update ", 0) == 0) ++n;
    }
    return n;
  }
  FakeClient client;
};

TEST_F(StateStoreTest, NothingStored) {
  StateStore store(client, Opts());
  EXPECT_FALSE(store.Load().value().has_value());
  EXPECT_TRUE(store.Versions().value().empty());
  EXPECT_TRUE(store.Remove().ok());  // NotFound is fine
  EXPECT_NE(ErrorOf(store.Restore(1)).find("not kept"), std::string::npos);
}

TEST_F(StateStoreTest, CreatesTheSecretAsDocumented) {
  StateStore store(client, Opts());
  EXPECT_EQ(StateStore::SecretName("abc"), "tfstate-abc");
  EXPECT_TRUE(store.Save(StateJson(1)).value());
  const Json s = Secret();
  EXPECT_EQ(s["type"], "Opaque");
  EXPECT_EQ(s["metadata"]["labels"]["workloads.terraforming.io/state"], "true");
  EXPECT_EQ(s["metadata"]["labels"]["workloads.terraforming.io/workspace-uid"], "uid-a");
  const Json& a = s["metadata"]["annotations"];
  EXPECT_EQ(a["workloads.terraforming.io/workspace"], "Workspace//demo");
  EXPECT_EQ(a["workloads.terraforming.io/serial"], "1");
  EXPECT_EQ(a["workloads.terraforming.io/lineage"], kLineage);
  EXPECT_EQ(a["workloads.terraforming.io/versions"], "");
  EXPECT_EQ(a["workloads.terraforming.io/encryption"], "none");
  EXPECT_EQ(s["data"].size(), 1u);
  EXPECT_EQ(provider::Gunzip(provider::Base64Decode(s["data"]["tfstate"]).value()).value(),
            StateJson(1));

  const auto loaded = store.Load().value();
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->json, StateJson(1));
  EXPECT_EQ(loaded->serial, 1);
  EXPECT_EQ(loaded->lineage, kLineage);
}

TEST_F(StateStoreTest, KeepsTheLastVersions) {
  StateStore store(client, Opts(3));
  for (int serial = 1; serial <= 6; ++serial) EXPECT_TRUE(store.Save(StateJson(serial)).value());
  EXPECT_EQ(store.Versions().value(), (std::vector<int64_t>{3, 4, 5}));
  EXPECT_EQ(store.Load().value()->serial, 6);
  const Json s = Secret();
  EXPECT_EQ(s["metadata"]["annotations"]["workloads.terraforming.io/versions"], "3,4,5");
  EXPECT_EQ(s["metadata"]["annotations"]["workloads.terraforming.io/serial"], "6");
  EXPECT_EQ(provider::Gunzip(provider::Base64Decode(s["data"]["tfstate.4"]).value()).value(),
            StateJson(4));
  EXPECT_FALSE(s["data"].contains("tfstate.2"));

  StateStore none(client, Opts(0));
  EXPECT_TRUE(none.Save(StateJson(7)).ok());
  EXPECT_TRUE(none.Versions().value().empty());
}

TEST_F(StateStoreTest, UnchangedSaveWritesNothing) {
  StateStore store(client, Opts());
  EXPECT_TRUE(store.Save(StateJson(1)).ok());
  const int before = Writes();
  EXPECT_FALSE(store.Save(StateJson(1)).value());
  // The same document formatted differently is the same state.
  EXPECT_FALSE(store.Save(Json::parse(StateJson(1)).dump()).value());
  EXPECT_EQ(Writes(), before);
  EXPECT_TRUE(store.Versions().value().empty());
}

TEST_F(StateStoreTest, RestoreMakesAVersionCurrent) {
  StateStore store(client, Opts());
  EXPECT_TRUE(store.Save(StateJson(1, kLineage, "one")).ok());
  EXPECT_TRUE(store.Save(StateJson(2, kLineage, "two")).ok());
  EXPECT_TRUE(store.Save(StateJson(3, kLineage, "three")).ok());
  EXPECT_EQ(store.Versions().value(), (std::vector<int64_t>{1, 2}));

  EXPECT_TRUE(store.Restore(1).ok());
  const auto current = store.Load().value();
  ASSERT_TRUE(current.has_value());
  const Json doc = Json::parse(current->json);
  EXPECT_EQ(doc["extra"], "one");
  EXPECT_EQ(doc["lineage"], kLineage);
  EXPECT_EQ(current->serial, 4);  // above every stored serial
  EXPECT_EQ(store.Versions().value(), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(Secret()["metadata"]["annotations"]["workloads.terraforming.io/serial"], "4");

  // The next run's state (serial 5) goes on top without colliding.
  store.Save(StateJson(5, kLineage, "five")).value();
  EXPECT_EQ(store.Versions().value(), (std::vector<int64_t>{1, 2, 3, 4}));

  const std::string error = ErrorOf(store.Restore(9));
  EXPECT_NE(error.find("state version 9 is not kept"), std::string::npos) << error;
  EXPECT_NE(error.find("available: 1,2,3,4"), std::string::npos) << error;
}

TEST_F(StateStoreTest, RetriesOnConflict) {
  StateStore store(client, Opts());
  EXPECT_TRUE(store.Save(StateJson(1)).ok());
  int conflicts = 0;
  client.hook = [&](const std::string& verb, const kube::Resource&, const kube::ObjectKey&) {
    if (verb == "update" && conflicts++ == 0) {
      return kube::ApiError(409, "Conflict", "the object has been modified").ToStatus();
    }
    return absl::OkStatus();
  };
  EXPECT_TRUE(store.Save(StateJson(2)).value());
  EXPECT_EQ(conflicts, 2);
  client.hook = nullptr;
  EXPECT_EQ(store.Load().value()->serial, 2);
  EXPECT_EQ(store.Versions().value(), (std::vector<int64_t>{1}));
}

// Forwards to a FakeClient and lets another writer in before the first
// Update (the fake's hook runs under its lock and cannot write).
class Interloper : public kube::ForwardingClient {
 public:
  explicit Interloper(FakeClient& inner) : ForwardingClient(inner) {}
  absl::StatusOr<Json> Update(const kube::Resource& r, const Json& o) override {
    if (!interfered) {
      interfered = true;
      ASSIGN_OR_RETURN(Json s, inner().Get(r, kube::KeyOf(o)));
      s["metadata"]["annotations"]["touched"] = "yes";
      RETURN_IF_ERROR(inner().Update(r, s));
    }
    return inner().Update(r, o);
  }
  bool interfered = false;
};

TEST_F(StateStoreTest, ConflictWithAnotherWriterRereads) {
  EXPECT_TRUE(StateStore(client, Opts()).Save(StateJson(1)).ok());
  Interloper interloper(client);
  StateStore store(interloper, Opts());
  EXPECT_TRUE(store.Save(StateJson(2)).value());
  EXPECT_TRUE(interloper.interfered);
  EXPECT_EQ(Secret()["metadata"]["annotations"]["touched"], "yes");
  EXPECT_EQ(store.Load().value()->serial, 2);
  EXPECT_EQ(store.Versions().value(), (std::vector<int64_t>{1}));
}

TEST_F(StateStoreTest, RefusesAnotherLineage) {
  StateStore store(client, Opts());
  EXPECT_TRUE(store.Save(StateJson(1)).ok());
  const std::string error = ErrorOf(store.Save(StateJson(2, "other-lineage")));
  EXPECT_NE(error.find("refusing"), std::string::npos) << error;
  EXPECT_NE(error.find("other-lineage"), std::string::npos) << error;
  EXPECT_EQ(store.Load().value()->serial, 1);
}

TEST_F(StateStoreTest, RefusesAnOlderSerialOfTheSameLineage) {
  StateStore store(client, Opts());
  EXPECT_TRUE(store.Save(StateJson(5)).ok());
  const absl::StatusOr<bool> stale = store.Save(StateJson(3));
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kFailedPrecondition);
  const std::string error = ErrorOf(stale);
  EXPECT_NE(error.find("older serial 3"), std::string::npos) << error;
  EXPECT_EQ(store.Load().value()->serial, 5);
  // A newer one is stored as before.
  EXPECT_TRUE(store.Save(StateJson(6)).value());
  EXPECT_EQ(store.Load().value()->serial, 6);
}

TEST_F(StateStoreTest, AcceptsALineageWhenNoneIsStored) {
  StateStore store(client, Opts());
  EXPECT_TRUE(store.Save(StateJson(0, "")).ok());
  EXPECT_TRUE(store.Save(StateJson(1, kLineage)).value());
  EXPECT_EQ(store.Load().value()->lineage, kLineage);
}

TEST_F(StateStoreTest, EncryptsWithAKey) {
  auto opts = Opts();
  opts.key = "key-one";
  StateStore store(client, opts);
  EXPECT_TRUE(store.Save(StateJson(1)).ok());
  EXPECT_TRUE(store.Save(StateJson(2)).ok());
  const Json s = Secret();
  EXPECT_EQ(s["metadata"]["annotations"]["workloads.terraforming.io/encryption"], "aes-256-gcm");
  for (const auto& [k, v] : s["data"].items()) {
    const std::string blob = provider::Base64Decode(v.get<std::string>()).value();
    EXPECT_TRUE(provider::IsSealed(blob)) << k;
    EXPECT_EQ(provider::Gunzip(provider::Open("key-one", blob).value()).value(),
              StateJson(k == "tfstate" ? 2 : 1));
  }
  EXPECT_EQ(store.Load().value()->serial, 2);

  StateStore no_key(client, Opts());
  EXPECT_NE(ErrorOf(no_key.Load()).find("state is encrypted but no key is configured"),
            std::string::npos);
  auto wrong = Opts();
  wrong.key = "key-two";
  StateStore wrong_key(client, wrong);
  EXPECT_NE(ErrorOf(wrong_key.Load()).find("the key does not match"), std::string::npos);
  EXPECT_NE(ErrorOf(wrong_key.Save(StateJson(3))).find("the key does not match"),
            std::string::npos);
}

TEST_F(StateStoreTest, SwitchingEncryptionResealsEverything) {
  StateStore plain(client, Opts());
  EXPECT_TRUE(plain.Save(StateJson(1)).ok());
  EXPECT_TRUE(plain.Save(StateJson(2)).ok());

  auto on = Opts();
  on.key = "key-one";
  StateStore sealed(client, on);
  EXPECT_EQ(sealed.Load().value()->serial, 2);     // plain state is still readable
  EXPECT_TRUE(sealed.Save(StateJson(2)).value());  // unchanged, but re-sealed
  for (const auto& [k, v] : Secret()["data"].items()) {
    EXPECT_EQ(
        provider::Gunzip(
            provider::Open("key-one", provider::Base64Decode(v.get<std::string>()).value()).value())
            .value(),
        StateJson(k == "tfstate" ? 2 : 1));
  }
  EXPECT_FALSE(sealed.Save(StateJson(2)).value());

  auto rotated = Opts();
  rotated.key = "key-two";
  rotated.old_keys = {"key-one"};
  StateStore rotate(client, rotated);
  EXPECT_TRUE(rotate.Save(StateJson(2)).value());
  for (const auto& [k, v] : Secret()["data"].items()) {
    EXPECT_EQ(
        provider::Gunzip(
            provider::Open("key-two", provider::Base64Decode(v.get<std::string>()).value()).value())
            .value(),
        StateJson(k == "tfstate" ? 2 : 1));
  }

  auto off = Opts();
  off.old_keys = {"key-two"};
  StateStore unsealed(client, off);
  EXPECT_TRUE(unsealed.Save(StateJson(3)).value());
  const Json s = Secret();
  EXPECT_EQ(s["metadata"]["annotations"]["workloads.terraforming.io/encryption"], "none");
  for (const auto& [k, v] : s["data"].items()) {
    EXPECT_FALSE(provider::IsSealed(provider::Base64Decode(v.get<std::string>()).value())) << k;
  }
  EXPECT_EQ(StateStore(client, Opts()).Load().value()->serial, 3);
  EXPECT_EQ(StateStore(client, Opts()).Versions().value(), (std::vector<int64_t>{1, 2}));
}

TEST_F(StateStoreTest, TwoWorkspacesNeverShareASecret) {
  StateStore a(client, Opts());
  auto ob = Opts();
  ob.uid = "uid-b";
  StateStore b(client, ob);
  EXPECT_TRUE(a.Save(StateJson(1, "lineage-a")).ok());
  EXPECT_TRUE(b.Save(StateJson(7, "lineage-b")).ok());
  EXPECT_EQ(a.Load().value()->lineage, "lineage-a");
  EXPECT_EQ(b.Load().value()->lineage, "lineage-b");
  EXPECT_EQ(client.All(kube::kSecrets).size(), 2u);
  EXPECT_EQ(Secret("uid-b")["metadata"]["labels"]["workloads.terraforming.io/workspace-uid"],
            "uid-b");
  EXPECT_TRUE(b.Remove().ok());
  EXPECT_FALSE(b.Load().value().has_value());
  EXPECT_EQ(a.Load().value()->serial, 1);
}

TEST_F(StateStoreTest, CorruptDataIsAnErrorNotACrash) {
  StateStore store(client, Opts());
  EXPECT_TRUE(store.Save(StateJson(1)).ok());
  Json s = Secret();
  s["data"]["tfstate"] = provider::Base64Encode("garbage that is not gzip");
  EXPECT_TRUE(client.Update(kube::kSecrets, s).ok());
  EXPECT_NE(ErrorOf(store.Load()), "");
  s = Secret();
  s["data"]["tfstate"] = "!!not base64!!";
  EXPECT_TRUE(client.Update(kube::kSecrets, s).ok());
  EXPECT_NE(ErrorOf(store.Load()).find("corrupt"), std::string::npos);
}

TEST_F(StateStoreTest, StoresAStateBiggerThanASecretInChunks) {
  StateStore store(client, Opts());
  const std::string big = Big(1, 5 * 1024);  // 5 MiB, about 3.8 MiB gzipped
  EXPECT_TRUE(store.Save(big).value());
  const Json list = ChunkList();
  ASSERT_TRUE(list.contains("tfstate")) << Secret()["data"].dump();
  EXPECT_FALSE(Secret()["data"].contains("tfstate"));
  EXPECT_GE(list["tfstate"]["secrets"].size(), 5u);
  EXPECT_LE(IndexDataSize(), StateStore::kMaxDataBytes);
  EXPECT_EQ(ChunkNames(), Named());
  for (const auto& [name, chunk] : Chunks()) {
    EXPECT_EQ(name.rfind("tfstate-uid-a-", 0), 0u) << name;
    EXPECT_EQ(chunk["type"], "Opaque");
    EXPECT_EQ(chunk["immutable"], true);
    EXPECT_LE(provider::Base64Decode(chunk["data"]["chunk"].get<std::string>()).value().size(),
              StateStore::kChunkBytes);
    EXPECT_EQ(chunk["metadata"]["annotations"]["workloads.terraforming.io/workspace"],
              "Workspace//demo");
  }
  const auto loaded = store.Load().value();
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->json, big);
  EXPECT_EQ(loaded->serial, 1);
  // Unchanged: nothing is written again.
  const int before = Writes();
  EXPECT_FALSE(store.Save(big).value());
  EXPECT_EQ(Writes(), before);
}

TEST_F(StateStoreTest, KeepsBigVersionsInChunksInsteadOfDroppingThem) {
  StateStore store(client, Opts(20));
  std::vector<std::string> states;
  for (int serial = 1; serial <= 4; ++serial) {
    states.push_back(Big(serial, 350));
    EXPECT_TRUE(store.Save(states.back()).value());
  }
  EXPECT_EQ(store.Versions().value(), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_LE(IndexDataSize(), StateStore::kMaxDataBytes);
  EXPECT_EQ(ChunkNames(), Named());
  for (int serial = 1; serial <= 3; ++serial) {
    // Each kept version is still what was saved: restore it and read it.
    StateStore reader(client, Opts(20));
    EXPECT_TRUE(reader.Restore(serial).ok());
    const Json doc = Json::parse(reader.Load().value()->json);
    EXPECT_EQ(doc["extra"], Json::parse(states[serial - 1])["extra"]) << serial;
  }
}

TEST_F(StateStoreTest, ReadsAndExtendsStatesStoredInlineBeforeChunksExisted) {
  // What the earlier format wrote: every version inline, 800 KiB in all.
  StateStore old(client, Opts());
  std::string current = Big(2, 600);
  std::string previous = Big(1, 260);
  Json secret = {{"apiVersion", "v1"},
                 {"kind", "Secret"},
                 {"type", "Opaque"},
                 {"metadata",
                  {{"name", "tfstate-uid-a"},
                   {"namespace", "crossplane-system"},
                   {"annotations",
                    {{"workloads.terraforming.io/serial", "2"},
                     {"workloads.terraforming.io/lineage", kLineage},
                     {"workloads.terraforming.io/encryption", "none"},
                     {"workloads.terraforming.io/versions", "1"}}}}},
                 {"data",
                  {{"tfstate", provider::Base64Encode(provider::Gzip(current).value())},
                   {"tfstate.1", provider::Base64Encode(provider::Gzip(previous).value())}}}};
  client.Seed(kube::kSecrets, secret);
  EXPECT_EQ(old.Load().value()->json, current);
  EXPECT_EQ(old.Versions().value(), (std::vector<int64_t>{1}));

  // A third version does not fit inline with both: the biggest move to
  // chunks and nothing is dropped.
  const std::string next = Big(3, 300);
  EXPECT_TRUE(old.Save(next).value());
  EXPECT_EQ(old.Versions().value(), (std::vector<int64_t>{1, 2}));
  EXPECT_LE(IndexDataSize(), StateStore::kMaxDataBytes);
  EXPECT_FALSE(Named().empty());
  EXPECT_EQ(old.Load().value()->json, next);
  EXPECT_TRUE(old.Restore(2).ok());
  EXPECT_EQ(Json::parse(old.Load().value()->json)["extra"], Json::parse(current)["extra"]);
  EXPECT_TRUE(old.Restore(1).ok());
  EXPECT_EQ(Json::parse(old.Load().value()->json)["extra"], Json::parse(previous)["extra"]);
}

TEST_F(StateStoreTest, WritesChunksFirstTheIndexThenRemovesOldChunks) {
  StateStore store(client, Opts(0));
  EXPECT_TRUE(store.Save(Big(1, 2048)).ok());
  const std::set<std::string> first = ChunkNames();
  client.calls.clear();
  EXPECT_TRUE(store.Save(Big(2, 2048)).ok());
  // The order of the calls: new chunks, the index, then the old chunks go.
  int index_at = -1;
  std::vector<int> creates, deletes;
  for (size_t i = 0; i < client.calls.size(); ++i) {
    const std::string& c = client.calls[i];
    if (c == "update secrets crossplane-system/tfstate-uid-a") index_at = static_cast<int>(i);
    if (c.rfind("create secrets crossplane-system/tfstate-uid-a-", 0) == 0) creates.push_back(i);
    if (c.rfind("delete secrets crossplane-system/tfstate-uid-a-", 0) == 0) deletes.push_back(i);
  }
  ASSERT_GE(index_at, 0);
  ASSERT_FALSE(creates.empty());
  EXPECT_LT(creates.back(), index_at);
  EXPECT_EQ(deletes.size(), first.size());
  EXPECT_GT(deletes.front(), index_at);
  EXPECT_EQ(ChunkNames(), Named());
  for (const auto& name : first) EXPECT_EQ(ChunkNames().count(name), 0u) << name;
}

TEST_F(StateStoreTest, AFailedIndexWriteLeavesTheOldStateReadableAndOrphansGoLater) {
  StateStore store(client, Opts());
  const std::string one = Big(1, 2048);
  EXPECT_TRUE(store.Save(one).ok());
  // The provider "crashes" between the chunks and the index: the index
  // write fails.
  client.hook = [&](const std::string& verb, const kube::Resource&, const kube::ObjectKey& key) {
    if (verb == "update" && key.name == "tfstate-uid-a") {
      return kube::ApiError(503, "ServiceUnavailable", "etcd is away").ToStatus();
    }
    return absl::OkStatus();
  };
  EXPECT_NE(ErrorOf(store.Save(Big(2, 2048))).find("etcd is away"), std::string::npos);
  client.hook = nullptr;
  EXPECT_GT(ChunkNames().size(), Named().size()) << "the new chunks were written";
  const auto loaded = StateStore(client, Opts()).Load().value();
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->json, one);
  EXPECT_TRUE(store.Versions().value().empty());

  // The next write removes what the failed one left.
  const std::string three = Big(3, 2048);
  EXPECT_TRUE(store.Save(three).ok());
  EXPECT_EQ(ChunkNames(), Named());
  EXPECT_EQ(store.Load().value()->json, three);
  EXPECT_EQ(store.Versions().value(), (std::vector<int64_t>{1}));

  // Deleting the old chunks fails: the state is stored all the same, and
  // the leftovers go with the next write.
  client.hook = [&](const std::string& verb, const kube::Resource&, const kube::ObjectKey&) {
    if (verb == "delete") return kube::ApiError(503, "ServiceUnavailable", "away").ToStatus();
    return absl::OkStatus();
  };
  StateStore none(client, Opts(0));
  EXPECT_TRUE(none.Save(Big(4, 2048)).value());
  client.hook = nullptr;
  EXPECT_GT(ChunkNames().size(), Named().size());
  EXPECT_TRUE(none.Save(Big(5, 1024)).value());
  EXPECT_EQ(ChunkNames(), Named());
}

// version() is the index's resourceVersion as the store last read or wrote
// it, and nothing after a write that failed (it may have been made), a
// removal, or a read that found nothing.
TEST_F(StateStoreTest, KnowsTheVersionItLastReadOrWrote) {
  StateStore store(client, Opts());
  EXPECT_EQ(store.version(), "");
  ASSERT_TRUE(store.Save(StateJson(1, kLineage)).ok());
  const auto stored = [&] { return Secret()["metadata"].value("resourceVersion", ""); };
  EXPECT_FALSE(stored().empty());
  EXPECT_EQ(store.version(), stored());
  // Another writer: a read catches up.
  ASSERT_TRUE(StateStore(client, Opts()).Save(StateJson(2, kLineage)).ok());
  EXPECT_NE(store.version(), stored());
  ASSERT_TRUE(store.Load().ok());
  EXPECT_EQ(store.version(), stored());
  ASSERT_TRUE(store.SaveLockFile("# lock file\n").value());
  EXPECT_EQ(store.version(), stored());
  // A failed write: unknown, from before it is sent (it may be made and
  // its answer lost).
  client.hook = [&](const std::string& verb, const kube::Resource&, const kube::ObjectKey& key) {
    if (verb == "update" && key.name == "tfstate-uid-a") {
      EXPECT_EQ(store.version(), "");
      return kube::ApiError(504, "Timeout", "no answer").ToStatus();
    }
    return absl::OkStatus();
  };
  EXPECT_FALSE(store.Save(StateJson(3, kLineage)).ok());
  EXPECT_EQ(store.version(), "");
  EXPECT_FALSE(store.SaveLockFile("# another\n").ok());
  EXPECT_EQ(store.version(), "");
  client.hook = nullptr;
  // A read from an index read elsewhere (LoadFrom) knows its version too.
  ASSERT_TRUE(store.LoadFrom(StateStore::ReadIndexSecret(client, "crossplane-system", "uid-a"))
                  .value()
                  .has_value());
  EXPECT_EQ(store.version(), stored());
  ASSERT_TRUE(store.Remove().ok());
  EXPECT_EQ(store.version(), "");
  ASSERT_TRUE(store.Save(StateJson(4, kLineage)).ok());
  ASSERT_FALSE(store.version().empty());
  ASSERT_TRUE(client.Delete(kube::kSecrets, store.Key()).ok());
  EXPECT_FALSE(store.Load().value().has_value());
  EXPECT_EQ(store.version(), "");
}

TEST_F(StateStoreTest, AConflictingWriterLosesAndItsChunksGo) {
  EXPECT_TRUE(StateStore(client, Opts()).Save(Big(1, 1024)).ok());
  Interloper interloper(client);
  StateStore store(interloper, Opts());
  const std::string two = Big(2, 1024);
  EXPECT_TRUE(store.Save(two).value());
  EXPECT_TRUE(interloper.interfered);
  EXPECT_EQ(store.Load().value()->json, two);
  EXPECT_EQ(ChunkNames(), Named()) << "the first attempt's chunks were left";
}

TEST_F(StateStoreTest, ChunksOfAnotherWritersAttemptOnTheCurrentIndexStay) {
  StateStore store(client, Opts());
  EXPECT_TRUE(store.Save(Big(1, 1024)).ok());
  // A chunk written by someone who read the index as it is now: it may be
  // named by their coming index write, so a cleanup leaves it.
  const std::string version = Secret()["metadata"]["resourceVersion"];
  client.hook = [&](const std::string& verb, const kube::Resource&, const kube::ObjectKey& key) {
    if (verb == "update" && key.name == "tfstate-uid-a") {
      return kube::ApiError(503, "ServiceUnavailable", "away").ToStatus();
    }
    return absl::OkStatus();
  };
  EXPECT_FALSE(store.Save(Big(2, 1024)).ok());
  client.hook = nullptr;
  std::set<std::string> pending;
  for (const auto& [name, chunk] : Chunks()) {
    if (Named().count(name) == 0) pending.insert(name);
  }
  ASSERT_FALSE(pending.empty());
  for (const auto& name : pending) {
    EXPECT_EQ(Chunks()[name]["metadata"]["annotations"]["workloads.terraforming.io/index-version"],
              version);
  }
  EXPECT_TRUE(store.SaveLockFile("# lock\n").value());  // no cleanup, index moves on
  EXPECT_TRUE(store.Save(Big(3, 1024)).ok());
  for (const auto& name : pending) EXPECT_EQ(ChunkNames().count(name), 0u);
}

TEST_F(StateStoreTest, EncryptsChunksAndRotatesTheirKey) {
  auto opts = Opts();
  opts.key = "key-one";
  StateStore store(client, opts);
  const std::string one = Big(1, 1536);
  const std::string two = Big(2, 1536);
  EXPECT_TRUE(store.Save(one).ok());
  EXPECT_TRUE(store.Save(two).ok());
  const Json list = ChunkList();
  ASSERT_TRUE(list.contains("tfstate") && list.contains("tfstate.1")) << list.dump();
  auto joined = [&](const std::string& key) {
    std::string blob;
    const Json names = ChunkList()[key]["secrets"];
    auto chunks = Chunks();
    for (const auto& name : names) {
      blob += provider::Base64Decode(chunks[name.get<std::string>()]["data"]["chunk"]).value();
    }
    return blob;
  };
  const std::string marker = Json::parse(two)["extra"].get<std::string>().substr(0, 64);
  for (const auto& [name, chunk] : Chunks()) {
    const std::string part = provider::Base64Decode(chunk["data"]["chunk"]).value();
    EXPECT_EQ(part.find(marker), std::string::npos) << "plaintext in " << name;
  }
  EXPECT_TRUE(provider::IsSealed(joined("tfstate")));
  EXPECT_EQ(provider::Gunzip(provider::Open("key-one", joined("tfstate")).value()).value(), two);
  EXPECT_EQ(provider::Gunzip(provider::Open("key-one", joined("tfstate.1")).value()).value(), one);
  auto wrong = Opts();
  wrong.key = "key-two";
  EXPECT_NE(ErrorOf(StateStore(client, wrong).Load()).find("the key does not match"),
            std::string::npos);

  // Rotation seals every chunked version with the new key; the chunks
  // sealed with the old one go.
  const std::set<std::string> before = ChunkNames();
  auto rotated = Opts();
  rotated.key = "key-two";
  rotated.old_keys = {"key-one"};
  StateStore rotate(client, rotated);
  EXPECT_TRUE(rotate.Save(two).value());
  for (const auto& name : before) EXPECT_EQ(ChunkNames().count(name), 0u) << name;
  EXPECT_EQ(ChunkNames(), Named());
  EXPECT_EQ(provider::Gunzip(provider::Open("key-two", joined("tfstate")).value()).value(), two);
  EXPECT_EQ(provider::Gunzip(provider::Open("key-two", joined("tfstate.1")).value()).value(), one);
  EXPECT_EQ(StateStore(client, wrong).Load().value()->json, two);
}

TEST_F(StateStoreTest, HistoryAndRollbackAcrossChunkedAndInlineStates) {
  StateStore store(client, Opts(3));
  const std::string small1 = StateJson(1, kLineage, "small");
  const std::string big2 = Big(2, 1024);
  const std::string small3 = StateJson(3, kLineage, "small again");
  const std::string big4 = Big(4, 1024);
  for (const auto& s : {small1, big2, small3, big4}) EXPECT_TRUE(store.Save(s).value());
  EXPECT_EQ(store.Versions().value(), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_TRUE(Secret()["data"].contains("tfstate.1"));  // small versions stay inline
  EXPECT_TRUE(ChunkList().contains("tfstate.2"));
  EXPECT_TRUE(ChunkList().contains("tfstate"));

  EXPECT_TRUE(store.Restore(2).ok());
  auto current = store.Load().value();
  EXPECT_EQ(current->serial, 5);
  EXPECT_EQ(Json::parse(current->json)["extra"], Json::parse(big2)["extra"]);
  EXPECT_EQ(store.Versions().value(), (std::vector<int64_t>{2, 3, 4}));
  EXPECT_TRUE(store.Restore(4).ok());
  EXPECT_EQ(Json::parse(store.Load().value()->json)["extra"], Json::parse(big4)["extra"]);
  EXPECT_EQ(store.Versions().value(), (std::vector<int64_t>{3, 4, 5}));
  EXPECT_EQ(ChunkNames(), Named());
  // Moved into history, a chunked version keeps its chunks: no rewrite.
  const std::set<std::string> named = Named();
  EXPECT_TRUE(store.Save(StateJson(7, kLineage, "small")).value());
  const Json moved = ChunkList()["tfstate.6"]["secrets"];
  for (const auto& name : moved) {
    EXPECT_EQ(named.count(name.get<std::string>()), 1u);
  }
}

TEST_F(StateStoreTest, RefusesAStateOverTheLimitBeforeWritingAnything) {
  auto opts = Opts();
  opts.max_state_bytes = 1 << 20;
  StateStore store(client, opts);
  EXPECT_TRUE(store.Save(Big(1, 512)).ok());
  const int before = Writes();
  const absl::StatusOr<bool> saved = store.Save(Big(2, 2048));
  EXPECT_EQ(saved.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(ErrorOf(saved).find("more than the 1024 KiB a state version may take"),
            std::string::npos)
      << ErrorOf(saved);
  EXPECT_EQ(Writes(), before);
  EXPECT_EQ(store.Load().value()->serial, 1);
}

TEST_F(StateStoreTest, DropsTheOldestVersionsBeyondTheStoredLimit) {
  auto opts = Opts(10);
  opts.max_stored_bytes = (7 << 20) / 2;
  StateStore store(client, opts);
  for (int serial = 1; serial <= 5; ++serial) EXPECT_TRUE(store.Save(Big(serial, 1024)).ok());
  // About 0.77 MiB stored each: four fit under 3.5 MiB, five do not.
  EXPECT_EQ(store.Versions().value(), (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(ChunkNames(), Named());
}

TEST_F(StateStoreTest, AMissingChunkIsAClearError) {
  StateStore store(client, Opts());
  EXPECT_TRUE(store.Save(Big(1, 1024)).ok());
  const std::string victim = *Named().begin();
  EXPECT_TRUE(client.Delete(kube::kSecrets, {"crossplane-system", victim}).ok());
  const absl::StatusOr<std::optional<State>> loaded = store.Load();
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(ErrorOf(loaded).find("chunk Secret " + victim + " is missing"), std::string::npos)
      << ErrorOf(loaded);
}

TEST_F(StateStoreTest, RemoveDeletesTheIndexAndEveryChunk) {
  StateStore store(client, Opts());
  EXPECT_TRUE(store.Save(Big(1, 1024)).ok());
  EXPECT_TRUE(store.Save(Big(2, 1024)).ok());
  auto other = Opts();
  other.uid = "uid-b";
  EXPECT_TRUE(StateStore(client, other).Save(Big(1, 1024)).ok());
  // A crashed writer's leftover is removed too.
  client.hook = [&](const std::string& verb, const kube::Resource&, const kube::ObjectKey& key) {
    if (verb == "update" && key.name == "tfstate-uid-a") {
      return kube::ApiError(503, "ServiceUnavailable", "away").ToStatus();
    }
    return absl::OkStatus();
  };
  EXPECT_FALSE(store.Save(Big(3, 1024)).ok());
  client.hook = nullptr;
  EXPECT_TRUE(store.Remove().ok());
  EXPECT_TRUE(Chunks().empty());
  EXPECT_FALSE(client.Has(kube::kSecrets, {"crossplane-system", "tfstate-uid-a"}));
  EXPECT_TRUE(StateStore(client, other).Load().value().has_value()) << "another Workspace's";
  EXPECT_TRUE(store.Remove().ok());
}

TEST_F(StateStoreTest, KeepsTheDependencyLockFileWithTheState) {
  StateStore store(client, Opts());
  EXPECT_FALSE(store.SaveLockFile("# nothing stored yet\n").value());
  EXPECT_FALSE(store.Load().value().has_value());
  const std::string lock_a =
      "provider \"registry.opentofu.org/hashicorp/null\" {\n  version = \"3.2.2\"\n}\n";
  const std::string lock_b =
      "provider \"registry.opentofu.org/hashicorp/null\" {\n  version = \"3.2.3\"\n}\n";
  EXPECT_TRUE(store.Save(StateJson(1), lock_a).value());
  EXPECT_EQ(provider::Base64Decode(Secret()["data"][".terraform.lock.hcl"]).value(), lock_a);
  EXPECT_EQ(store.Load().value()->lock_file, lock_a);

  // Unchanged state and lock file: nothing written; a state without one
  // keeps the stored lock file.
  const int before = Writes();
  EXPECT_FALSE(store.Save(StateJson(1), lock_a).value());
  EXPECT_FALSE(store.Save(StateJson(1)).value());
  EXPECT_FALSE(store.SaveLockFile(lock_a).value());
  EXPECT_EQ(Writes(), before);
  EXPECT_TRUE(store.Save(StateJson(2)).value());
  EXPECT_EQ(store.Load().value()->lock_file, lock_a);

  // A changed lock file alone: written, the state and history as they were.
  EXPECT_TRUE(store.SaveLockFile(lock_b).value());
  auto loaded = store.Load().value();
  EXPECT_EQ(loaded->lock_file, lock_b);
  EXPECT_EQ(loaded->serial, 2);
  EXPECT_EQ(loaded->versions, (std::vector<int64_t>{1}));
  EXPECT_TRUE(store.Save(StateJson(2), lock_a).value());
  EXPECT_EQ(store.Versions().value(), (std::vector<int64_t>{1}));
  EXPECT_EQ(store.Load().value()->lock_file, lock_a);

  // With a key too, and across a rollback.
  auto sealed = Opts();
  sealed.key = "key-one";
  StateStore secure(client, sealed);
  EXPECT_TRUE(secure.Save(StateJson(3)).value());
  EXPECT_TRUE(secure.Restore(1).ok());
  EXPECT_EQ(secure.Load().value()->lock_file, lock_a);
}

}  // namespace
}  // namespace workspace

namespace workspace {
namespace {

TEST_F(StateStoreTest, KeepsTheStoredBytesOfTheCurrentVersionForBackups) {
  StateStore::Options o = Opts();
  o.key = "backup-key";
  o.keep_sealed = true;
  StateStore store(client, o);
  EXPECT_FALSE(store.sealed().has_value());
  ASSERT_TRUE(store.Save(StateJson(1)).value());
  ASSERT_TRUE(store.sealed().has_value());
  const SealedState saved = *store.sealed();
  EXPECT_EQ(saved.serial, 1);
  EXPECT_EQ(saved.lineage, kLineage);
  EXPECT_EQ(saved.encryption, "aes-256-gcm");
  EXPECT_EQ(saved.key_id, KeyId("backup-key"));
  EXPECT_TRUE(provider::IsSealed(saved.blob));
  EXPECT_EQ(store.OpenSealed(saved.blob).value(), StateJson(1));
  EXPECT_EQ(saved.checksum, ParseState(StateJson(1)).value().checksum);

  // What a reader in another reconcile sees is the same bytes.
  StateStore reader(client, o);
  ASSERT_TRUE(reader.Load().value().has_value());
  ASSERT_TRUE(reader.sealed().has_value());
  EXPECT_EQ(reader.sealed()->blob, saved.blob);
  EXPECT_EQ(reader.sealed()->checksum, saved.checksum);
  EXPECT_EQ(reader.sealed()->key_id, saved.key_id);

  // A new version replaces it; without keep_sealed nothing is kept.
  ASSERT_TRUE(store.Save(StateJson(2)).value());
  EXPECT_EQ(store.sealed()->serial, 2);
  EXPECT_EQ(store.OpenSealed(store.sealed()->blob).value(), StateJson(2));
  o.keep_sealed = false;
  StateStore plain(client, o);
  ASSERT_TRUE(plain.Load().ok());
  EXPECT_FALSE(plain.sealed().has_value());
}

}  // namespace
}  // namespace workspace
