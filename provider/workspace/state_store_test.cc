#include "provider/workspace/state_store.h"

#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>

#include "provider/common/crypto.h"
#include "provider/kube/resources.h"
#include "provider/testing/fake_client.h"
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
  EXPECT_FALSE(store.Load().has_value());
  EXPECT_TRUE(store.Versions().empty());
  store.Remove();  // NotFound is fine
  EXPECT_NE(ErrorOf([&] { store.Restore(1); }).find("not kept"), std::string::npos);
}

TEST_F(StateStoreTest, CreatesTheSecretAsDocumented) {
  StateStore store(client, Opts());
  EXPECT_EQ(StateStore::SecretName("abc"), "tfstate-abc");
  EXPECT_TRUE(store.Save(StateJson(1)));
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
  EXPECT_EQ(provider::Gunzip(provider::Base64Decode(s["data"]["tfstate"])), StateJson(1));

  const auto loaded = store.Load();
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->json, StateJson(1));
  EXPECT_EQ(loaded->serial, 1);
  EXPECT_EQ(loaded->lineage, kLineage);
}

TEST_F(StateStoreTest, KeepsTheLastVersions) {
  StateStore store(client, Opts(3));
  for (int serial = 1; serial <= 6; ++serial) EXPECT_TRUE(store.Save(StateJson(serial)));
  EXPECT_EQ(store.Versions(), (std::vector<int64_t>{3, 4, 5}));
  EXPECT_EQ(store.Load()->serial, 6);
  const Json s = Secret();
  EXPECT_EQ(s["metadata"]["annotations"]["workloads.terraforming.io/versions"], "3,4,5");
  EXPECT_EQ(s["metadata"]["annotations"]["workloads.terraforming.io/serial"], "6");
  EXPECT_EQ(provider::Gunzip(provider::Base64Decode(s["data"]["tfstate.4"])), StateJson(4));
  EXPECT_FALSE(s["data"].contains("tfstate.2"));

  StateStore none(client, Opts(0));
  none.Save(StateJson(7));
  EXPECT_TRUE(none.Versions().empty());
}

TEST_F(StateStoreTest, UnchangedSaveWritesNothing) {
  StateStore store(client, Opts());
  store.Save(StateJson(1));
  const int before = Writes();
  EXPECT_FALSE(store.Save(StateJson(1)));
  // The same document formatted differently is the same state.
  EXPECT_FALSE(store.Save(Json::parse(StateJson(1)).dump()));
  EXPECT_EQ(Writes(), before);
  EXPECT_TRUE(store.Versions().empty());
}

TEST_F(StateStoreTest, RestoreMakesAVersionCurrent) {
  StateStore store(client, Opts());
  store.Save(StateJson(1, kLineage, "one"));
  store.Save(StateJson(2, kLineage, "two"));
  store.Save(StateJson(3, kLineage, "three"));
  EXPECT_EQ(store.Versions(), (std::vector<int64_t>{1, 2}));

  store.Restore(1);
  const auto current = store.Load();
  ASSERT_TRUE(current.has_value());
  const Json doc = Json::parse(current->json);
  EXPECT_EQ(doc["extra"], "one");
  EXPECT_EQ(doc["lineage"], kLineage);
  EXPECT_EQ(current->serial, 4);  // above every stored serial
  EXPECT_EQ(store.Versions(), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(Secret()["metadata"]["annotations"]["workloads.terraforming.io/serial"], "4");

  // The next run's state (serial 5) goes on top without colliding.
  store.Save(StateJson(5, kLineage, "five"));
  EXPECT_EQ(store.Versions(), (std::vector<int64_t>{1, 2, 3, 4}));

  const std::string error = ErrorOf([&] { store.Restore(9); });
  EXPECT_NE(error.find("state version 9 is not kept"), std::string::npos) << error;
  EXPECT_NE(error.find("available: 1,2,3,4"), std::string::npos) << error;
}

TEST_F(StateStoreTest, RetriesOnConflict) {
  StateStore store(client, Opts());
  store.Save(StateJson(1));
  int conflicts = 0;
  client.hook = [&](const std::string& verb, const kube::Resource&, const kube::ObjectKey&) {
    if (verb == "update" && conflicts++ == 0) {
      throw kube::ApiError(409, "Conflict", "the object has been modified");
    }
  };
  EXPECT_TRUE(store.Save(StateJson(2)));
  EXPECT_EQ(conflicts, 2);
  client.hook = nullptr;
  EXPECT_EQ(store.Load()->serial, 2);
  EXPECT_EQ(store.Versions(), (std::vector<int64_t>{1}));
}

// Forwards to a FakeClient and lets another writer in before the first
// Update (the fake's hook runs under its lock and cannot write).
class Interloper : public kube::Client {
 public:
  explicit Interloper(FakeClient& inner) : inner_(inner) {}
  Json Get(const kube::Resource& r, const kube::ObjectKey& k) override { return inner_.Get(r, k); }
  Json List(const kube::Resource& r, const std::string& ns, const kube::ListOptions& o) override {
    return inner_.List(r, ns, o);
  }
  Json Create(const kube::Resource& r, const Json& o) override { return inner_.Create(r, o); }
  Json Update(const kube::Resource& r, const Json& o) override {
    if (!interfered) {
      interfered = true;
      Json s = inner_.Get(r, kube::KeyOf(o));
      s["metadata"]["annotations"]["touched"] = "yes";
      inner_.Update(r, s);
    }
    return inner_.Update(r, o);
  }
  Json UpdateStatus(const kube::Resource& r, const Json& o) override {
    return inner_.UpdateStatus(r, o);
  }
  Json Patch(const kube::Resource& r, const kube::ObjectKey& k, kube::PatchType t, const Json& p,
             const kube::PatchOptions& o) override {
    return inner_.Patch(r, k, t, p, o);
  }
  void Delete(const kube::Resource& r, const kube::ObjectKey& k,
              const std::optional<std::string>& uid) override {
    inner_.Delete(r, k, uid);
  }
  void Watch(const kube::Resource& r, const std::string& ns, const kube::WatchOptions& o,
             const std::function<bool(const kube::WatchEvent&)>& f) override {
    inner_.Watch(r, ns, o, f);
  }
  bool interfered = false;

 private:
  FakeClient& inner_;
};

TEST_F(StateStoreTest, ConflictWithAnotherWriterRereads) {
  StateStore(client, Opts()).Save(StateJson(1));
  Interloper interloper(client);
  StateStore store(interloper, Opts());
  EXPECT_TRUE(store.Save(StateJson(2)));
  EXPECT_TRUE(interloper.interfered);
  EXPECT_EQ(Secret()["metadata"]["annotations"]["touched"], "yes");
  EXPECT_EQ(store.Load()->serial, 2);
  EXPECT_EQ(store.Versions(), (std::vector<int64_t>{1}));
}

TEST_F(StateStoreTest, RefusesAnotherLineage) {
  StateStore store(client, Opts());
  store.Save(StateJson(1));
  const std::string error = ErrorOf([&] { store.Save(StateJson(2, "other-lineage")); });
  EXPECT_NE(error.find("refusing"), std::string::npos) << error;
  EXPECT_NE(error.find("other-lineage"), std::string::npos) << error;
  EXPECT_EQ(store.Load()->serial, 1);
}

TEST_F(StateStoreTest, AcceptsALineageWhenNoneIsStored) {
  StateStore store(client, Opts());
  store.Save(StateJson(0, ""));
  EXPECT_TRUE(store.Save(StateJson(1, kLineage)));
  EXPECT_EQ(store.Load()->lineage, kLineage);
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
  for (int serial = 1; serial <= 4; ++serial) store.Save(big(serial));
  EXPECT_EQ(store.Versions(), (std::vector<int64_t>{3}));
  size_t size = 0;
  for (const auto& [k, v] : Secret()["data"].items())
    size += k.size() + v.get<std::string>().size();
  EXPECT_LE(size, StateStore::kMaxDataBytes);

  std::string huge;
  for (int i = 0; i < 1200 * 1024; ++i) huge.push_back(static_cast<char>('a' + rng() % 26));
  const std::string error = ErrorOf([&] { store.Save(StateJson(5, kLineage, huge)); });
  EXPECT_NE(error.find("more than a Secret may hold"), std::string::npos) << error;
  EXPECT_EQ(store.Load()->serial, 4);
}

TEST_F(StateStoreTest, EncryptsWithAKey) {
  auto opts = Opts();
  opts.key = "key-one";
  StateStore store(client, opts);
  store.Save(StateJson(1));
  store.Save(StateJson(2));
  const Json s = Secret();
  EXPECT_EQ(s["metadata"]["annotations"]["workloads.terraforming.io/encryption"], "aes-256-gcm");
  for (const auto& [k, v] : s["data"].items()) {
    const std::string blob = provider::Base64Decode(v.get<std::string>());
    EXPECT_TRUE(provider::IsSealed(blob)) << k;
    EXPECT_EQ(provider::Gunzip(provider::Open("key-one", blob)), StateJson(k == "tfstate" ? 2 : 1));
  }
  EXPECT_EQ(store.Load()->serial, 2);

  StateStore no_key(client, Opts());
  EXPECT_NE(ErrorOf([&] { no_key.Load(); }).find("state is encrypted but no key is configured"),
            std::string::npos);
  auto wrong = Opts();
  wrong.key = "key-two";
  StateStore wrong_key(client, wrong);
  EXPECT_NE(ErrorOf([&] { wrong_key.Load(); }).find("the key does not match"), std::string::npos);
  EXPECT_NE(ErrorOf([&] { wrong_key.Save(StateJson(3)); }).find("the key does not match"),
            std::string::npos);
}

TEST_F(StateStoreTest, SwitchingEncryptionResealsEverything) {
  StateStore plain(client, Opts());
  plain.Save(StateJson(1));
  plain.Save(StateJson(2));

  auto on = Opts();
  on.key = "key-one";
  StateStore sealed(client, on);
  EXPECT_EQ(sealed.Load()->serial, 2);     // plain state is still readable
  EXPECT_TRUE(sealed.Save(StateJson(2)));  // unchanged, but re-sealed
  for (const auto& [k, v] : Secret()["data"].items()) {
    EXPECT_EQ(
        provider::Gunzip(provider::Open("key-one", provider::Base64Decode(v.get<std::string>()))),
        StateJson(k == "tfstate" ? 2 : 1));
  }
  EXPECT_FALSE(sealed.Save(StateJson(2)));

  auto rotated = Opts();
  rotated.key = "key-two";
  rotated.old_keys = {"key-one"};
  StateStore rotate(client, rotated);
  EXPECT_TRUE(rotate.Save(StateJson(2)));
  for (const auto& [k, v] : Secret()["data"].items()) {
    EXPECT_EQ(
        provider::Gunzip(provider::Open("key-two", provider::Base64Decode(v.get<std::string>()))),
        StateJson(k == "tfstate" ? 2 : 1));
  }

  auto off = Opts();
  off.old_keys = {"key-two"};
  StateStore unsealed(client, off);
  EXPECT_TRUE(unsealed.Save(StateJson(3)));
  const Json s = Secret();
  EXPECT_EQ(s["metadata"]["annotations"]["workloads.terraforming.io/encryption"], "none");
  for (const auto& [k, v] : s["data"].items()) {
    EXPECT_FALSE(provider::IsSealed(provider::Base64Decode(v.get<std::string>()))) << k;
  }
  EXPECT_EQ(StateStore(client, Opts()).Load()->serial, 3);
  EXPECT_EQ(StateStore(client, Opts()).Versions(), (std::vector<int64_t>{1, 2}));
}

TEST_F(StateStoreTest, TwoWorkspacesNeverShareASecret) {
  StateStore a(client, Opts());
  auto ob = Opts();
  ob.uid = "uid-b";
  StateStore b(client, ob);
  a.Save(StateJson(1, "lineage-a"));
  b.Save(StateJson(7, "lineage-b"));
  EXPECT_EQ(a.Load()->lineage, "lineage-a");
  EXPECT_EQ(b.Load()->lineage, "lineage-b");
  EXPECT_EQ(client.All(kube::kSecrets).size(), 2u);
  EXPECT_EQ(Secret("uid-b")["metadata"]["labels"]["workloads.terraforming.io/workspace-uid"],
            "uid-b");
  b.Remove();
  EXPECT_FALSE(b.Load().has_value());
  EXPECT_EQ(a.Load()->serial, 1);
}

TEST_F(StateStoreTest, CorruptDataIsAnErrorNotACrash) {
  StateStore store(client, Opts());
  store.Save(StateJson(1));
  Json s = Secret();
  s["data"]["tfstate"] = provider::Base64Encode("garbage that is not gzip");
  client.Update(kube::kSecrets, s);
  EXPECT_NE(ErrorOf([&] { store.Load(); }), "");
  s = Secret();
  s["data"]["tfstate"] = "!!not base64!!";
  client.Update(kube::kSecrets, s);
  EXPECT_NE(ErrorOf([&] { store.Load(); }).find("corrupt"), std::string::npos);
}

}  // namespace
}  // namespace workspace
