#include "provider/workspace/state_store.h"

#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>

#include "common/status_macros.h"
#include "provider/common/crypto.h"
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
class Interloper : public kube::Client {
 public:
  explicit Interloper(FakeClient& inner) : inner_(inner) {}
  absl::StatusOr<Json> Get(const kube::Resource& r, const kube::ObjectKey& k) override {
    return inner_.Get(r, k);
  }
  absl::StatusOr<Json> List(const kube::Resource& r, const std::string& ns,
                            const kube::ListOptions& o) override {
    return inner_.List(r, ns, o);
  }
  absl::StatusOr<Json> Create(const kube::Resource& r, const Json& o) override {
    return inner_.Create(r, o);
  }
  absl::StatusOr<Json> Update(const kube::Resource& r, const Json& o) override {
    if (!interfered) {
      interfered = true;
      ASSIGN_OR_RETURN(Json s, inner_.Get(r, kube::KeyOf(o)));
      s["metadata"]["annotations"]["touched"] = "yes";
      RETURN_IF_ERROR(inner_.Update(r, s));
    }
    return inner_.Update(r, o);
  }
  absl::StatusOr<Json> UpdateStatus(const kube::Resource& r, const Json& o) override {
    return inner_.UpdateStatus(r, o);
  }
  absl::StatusOr<Json> Patch(const kube::Resource& r, const kube::ObjectKey& k, kube::PatchType t,
                             const Json& p, const kube::PatchOptions& o) override {
    return inner_.Patch(r, k, t, p, o);
  }
  absl::Status Delete(const kube::Resource& r, const kube::ObjectKey& k,
                      const std::optional<std::string>& uid) override {
    return inner_.Delete(r, k, uid);
  }
  absl::Status Watch(const kube::Resource& r, const std::string& ns, const kube::WatchOptions& o,
                     const std::function<bool(const kube::WatchEvent&)>& f) override {
    return inner_.Watch(r, ns, o, f);
  }
  bool interfered = false;

 private:
  FakeClient& inner_;
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

TEST_F(StateStoreTest, DropsOldVersionsToFitTheSecret) {
  StateStore store(client, Opts(20));
  // Random text hardly compresses: about 350 KiB stored per version.
  std::mt19937 rng(7);
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  auto big = [&](int64_t serial) {
    std::string noise;
    for (int i = 0; i < 350 * 1024; ++i) noise.push_back(alphabet[rng() % 64]);
    return StateJson(serial, kLineage, noise);
  };
  for (int serial = 1; serial <= 4; ++serial) store.Save(big(serial)).value();
  EXPECT_EQ(store.Versions().value(), (std::vector<int64_t>{3}));
  size_t size = 0;
  for (const auto& [k, v] : Secret()["data"].items())
    size += k.size() + v.get<std::string>().size();
  EXPECT_LE(size, StateStore::kMaxDataBytes);

  std::string huge;
  for (int i = 0; i < 1200 * 1024; ++i) huge.push_back(static_cast<char>('a' + rng() % 26));
  const std::string error = ErrorOf(store.Save(StateJson(5, kLineage, huge)));
  EXPECT_NE(error.find("more than a Secret may hold"), std::string::npos) << error;
  EXPECT_EQ(store.Load().value()->serial, 4);
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

}  // namespace
}  // namespace workspace
