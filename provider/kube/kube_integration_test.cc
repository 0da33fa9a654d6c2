// RestClient, Informer, Leases and Events against a real kube-apiserver (the
// `controlplane` ctest fixture). Each test works in a namespace of its own.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "provider/kube/config.h"
#include "provider/kube/events.h"
#include "provider/kube/informer.h"
#include "provider/kube/lease.h"
#include "provider/kube/resources.h"
#include "provider/kube/rest_client.h"

namespace kube {
namespace {

using namespace std::chrono_literals;

std::string KubeconfigPath() {
  // KUBE_TEST_KUBECONFIG: a control plane started by hand.
  const char* env = std::getenv("KUBE_TEST_KUBECONFIG");
  return env != nullptr && *env != 0 ? env : CONTROLPLANE_KUBECONFIG;
}

std::string RandomSuffix() {
  static std::mt19937 rng{std::random_device{}()};
  static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string out;
  for (int i = 0; i < 6; ++i) out.push_back(kChars[rng() % 36]);
  return out;
}

template <typename F>
bool Eventually(F f, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return f();
}

class KubeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    client_ = std::make_unique<RestClient>(LoadKubeconfig(KubeconfigPath()));
    ns_ = "kube-test-" + RandomSuffix();
    client_->Create(kNamespaces, {{"metadata", {{"name", ns_}}}});
  }
  void TearDown() override {
    try {
      client_->Delete(kNamespaces, {"", ns_});
    } catch (const ApiError&) {
    }
  }

  static Json Object(const std::string& ns, const std::string& name, Json labels = Json::object()) {
    return {{"metadata", {{"name", name}, {"namespace", ns}, {"labels", labels}}}};
  }

  std::unique_ptr<RestClient> client_;
  std::string ns_;
};

int CodeOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const ApiError& e) {
    return e.code();
  }
  return 200;
}

TEST_F(KubeTest, SecretCreateGetUpdateConflictDelete) {
  Json secret = Object(ns_, "s1");
  secret["type"] = "Opaque";
  secret["stringData"] = {{"password", "hunter2"}};
  const Json created = client_->Create(kSecrets, secret);
  EXPECT_EQ(created["metadata"]["namespace"], ns_);
  EXPECT_EQ(created["data"]["password"], "aHVudGVyMg==");

  try {
    client_->Create(kSecrets, secret);
    FAIL() << "created twice";
  } catch (const ApiError& e) {
    EXPECT_TRUE(IsAlreadyExists(e)) << e.code() << " " << e.reason();
  }

  Json got = client_->Get(kSecrets, {ns_, "s1"});
  EXPECT_EQ(got["metadata"]["uid"], created["metadata"]["uid"]);
  got["data"]["user"] = "YWRtaW4=";
  const Json updated = client_->Update(kSecrets, got);
  EXPECT_NE(updated["metadata"]["resourceVersion"], got["metadata"]["resourceVersion"]);

  // The stale copy loses.
  got["data"]["user"] = "cm9vdA==";
  try {
    client_->Update(kSecrets, got);
    FAIL() << "stale update accepted";
  } catch (const ApiError& e) {
    EXPECT_TRUE(IsConflict(e)) << e.code() << " " << e.reason() << " " << e.what();
    EXPECT_EQ(e.reason(), "Conflict");
  }

  // Delete guarded by uid: a wrong uid is refused, the right one deletes.
  try {
    client_->Delete(kSecrets, {ns_, "s1"}, std::string("not-the-uid"));
    FAIL() << "deleted with a wrong uid";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.code(), 409);
  }
  client_->Delete(kSecrets, {ns_, "s1"}, created["metadata"]["uid"].get<std::string>());
  try {
    client_->Get(kSecrets, {ns_, "s1"});
    FAIL() << "still there";
  } catch (const ApiError& e) {
    EXPECT_TRUE(IsNotFound(e));
    EXPECT_EQ(e.reason(), "NotFound");
  }
  EXPECT_EQ(CodeOf([&] { client_->Delete(kSecrets, {ns_, "s1"}); }), 404);
}

TEST_F(KubeTest, ConfigMapPatches) {
  Json cm = Object(ns_, "cm");
  cm["data"] = {{"a", "1"}, {"b", "2"}};
  client_->Create(kConfigMaps, cm);

  Json merged = client_->Patch(kConfigMaps, {ns_, "cm"}, PatchType::kMerge,
                               {{"data", {{"a", "10"}, {"b", nullptr}}}}, {});
  EXPECT_EQ(merged["data"], (Json{{"a", "10"}}));

  Json jsonpatch =
      client_->Patch(kConfigMaps, {ns_, "cm"}, PatchType::kJson,
                     Json::array({{{"op", "add"}, {"path", "/data/c"}, {"value", "3"}}}), {});
  EXPECT_EQ(jsonpatch["data"]["c"], "3");

  // Server-side apply: creates, records the manager, and conflicts with
  // another manager unless forced.
  const Json applied_cm = {{"apiVersion", "v1"},
                           {"kind", "ConfigMap"},
                           {"metadata", {{"name", "applied"}, {"namespace", ns_}}},
                           {"data", {{"k", "v"}}}};
  PatchOptions mine;
  mine.field_manager = "kube-test";
  const Json applied =
      client_->Patch(kConfigMaps, {ns_, "applied"}, PatchType::kApply, applied_cm, mine);
  EXPECT_EQ(applied["data"]["k"], "v");
  bool managed = false;
  for (const auto& f : applied["metadata"]["managedFields"]) {
    managed |= f.value("manager", "") == "kube-test" && f.value("operation", "") == "Apply";
  }
  EXPECT_TRUE(managed);

  Json theirs_cm = applied_cm;
  theirs_cm["data"]["k"] = "w";
  PatchOptions theirs;
  theirs.field_manager = "someone-else";
  EXPECT_EQ(CodeOf([&] {
              client_->Patch(kConfigMaps, {ns_, "applied"}, PatchType::kApply, theirs_cm, theirs);
            }),
            409);
  theirs.force = true;
  EXPECT_EQ(client_->Patch(kConfigMaps, {ns_, "applied"}, PatchType::kApply, theirs_cm,
                           theirs)["data"]["k"],
            "w");

  EXPECT_EQ(CodeOf([&] {
              client_->Patch(kConfigMaps, {ns_, "missing"}, PatchType::kMerge,
                             {{"data", {{"a", "1"}}}}, {});
            }),
            404);
}

TEST_F(KubeTest, StatusSubresource) {
  const Resource crds{"apiextensions.k8s.io", "v1", "customresourcedefinitions",
                      "CustomResourceDefinition", false};
  const Resource widgets{"kubetest.example.org", "v1", "widgets", "Widget", true};
  const Json crd = Json::parse(R"({
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.kubetest.example.org"},
    "spec": {
      "group": "kubetest.example.org", "scope": "Namespaced",
      "names": {"plural": "widgets", "singular": "widget", "kind": "Widget",
                "listKind": "WidgetList"},
      "versions": [{"name": "v1", "served": true, "storage": true,
        "subresources": {"status": {}},
        "schema": {"openAPIV3Schema": {"type": "object", "properties": {
          "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
          "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}}]}})");
  try {
    client_->Create(crds, crd);
  } catch (const ApiError& e) {
    if (!IsAlreadyExists(e)) throw;
  }
  ASSERT_TRUE(Eventually([&] {
    const Json got = client_->Get(crds, {"", "widgets.kubetest.example.org"});
    for (const auto& c : got.value("status", Json::object()).value("conditions", Json::array())) {
      if (c.value("type", "") == "Established" && c.value("status", "") == "True") return true;
    }
    return false;
  }));

  Json widget = {{"apiVersion", "kubetest.example.org/v1"},
                 {"kind", "Widget"},
                 {"metadata", {{"name", "w"}, {"namespace", ns_}}},
                 {"spec", {{"size", 1}}}};
  // The new type can take a moment to be served.
  Json created;
  ASSERT_TRUE(Eventually([&] {
    try {
      created = client_->Create(widgets, widget);
      return true;
    } catch (const ApiError& e) {
      if (e.code() != 404) throw;
      return false;
    }
  }));
  created["status"] = {{"phase", "Ready"}};
  created["spec"]["size"] = 99;  // ignored by a status update
  const Json with_status = client_->UpdateStatus(widgets, created);
  EXPECT_EQ(with_status["status"]["phase"], "Ready");
  EXPECT_EQ(with_status["spec"]["size"], 1);

  // And a plain update leaves the status alone.
  Json again = with_status;
  again["status"] = {{"phase", "Changed"}};
  again["spec"]["size"] = 2;
  const Json updated = client_->Update(widgets, again);
  EXPECT_EQ(updated["spec"]["size"], 2);
  EXPECT_EQ(updated["status"]["phase"], "Ready");

  PatchOptions status;
  status.subresource = "status";
  const Json patched = client_->Patch(widgets, {ns_, "w"}, PatchType::kMerge,
                                      {{"status", {{"phase", "Patched"}}}}, status);
  EXPECT_EQ(patched["status"]["phase"], "Patched");
}

TEST_F(KubeTest, ListWithLabelSelectorAndPaging) {
  for (int i = 0; i < 5; ++i) {
    client_->Create(kConfigMaps, Object(ns_, "l" + std::to_string(i), {{"app", "paged"}}));
  }
  client_->Create(kConfigMaps, Object(ns_, "other", {{"app", "else"}}));
  ListOptions opts;
  opts.label_selector = "app=paged";
  opts.limit = 2;
  std::set<std::string> names;
  int pages = 0;
  do {
    const Json page = client_->List(kConfigMaps, ns_, opts);
    ++pages;
    EXPECT_LE(page["items"].size(), 2u);
    for (const auto& item : page["items"]) names.insert(item["metadata"]["name"]);
    opts.continue_token = page["metadata"].value("continue", "");
  } while (!opts.continue_token.empty());
  EXPECT_EQ(names, (std::set<std::string>{"l0", "l1", "l2", "l3", "l4"}));
  EXPECT_EQ(pages, 3);

  ListOptions by_field;
  by_field.field_selector = "metadata.name=other";
  EXPECT_EQ(client_->List(kConfigMaps, ns_, by_field)["items"].size(), 1u);
}

TEST_F(KubeTest, WatchSeesChangesAndBookmarks) {
  const std::string version = client_->List(kConfigMaps, ns_, {})["metadata"]["resourceVersion"];
  std::mutex mu;
  std::vector<std::string> types;
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    WatchOptions opts;
    opts.resource_version = version;
    opts.timeout = 5s;  // the server sends a bookmark 2s before ending the watch
    const auto started = std::chrono::steady_clock::now();
    while (!done && std::chrono::steady_clock::now() - started < 20s) {
      client_->Watch(kConfigMaps, ns_, opts, [&](const WatchEvent& e) {
        std::lock_guard lock(mu);
        types.push_back(e.type);
        const std::string rv = e.object["metadata"].value("resourceVersion", "");
        if (!rv.empty()) opts.resource_version = rv;
        bool deleted = false;
        bool bookmark = false;
        for (const auto& t : types) {
          deleted |= t == "DELETED";
          bookmark |= t == "BOOKMARK";
        }
        done = deleted && bookmark;
        return !done;
      });
    }
  });
  Json cm = client_->Create(kConfigMaps, Object(ns_, "watched"));
  cm["data"] = {{"x", "1"}};
  client_->Update(kConfigMaps, cm);
  client_->Delete(kConfigMaps, {ns_, "watched"});
  // The server sends a bookmark (2s before a watch's timeout) only with a
  // resource version newer than the watch's: writes elsewhere provide one.
  const std::string elsewhere = "bookmark-" + ns_;
  client_->Create(kConfigMaps, Object("default", elsewhere));
  for (int i = 0; i < 40 && !done; ++i) {
    client_->Patch(kConfigMaps, {"default", elsewhere}, PatchType::kMerge,
                   {{"data", {{"i", std::to_string(i)}}}}, {});
    std::this_thread::sleep_for(250ms);
  }
  client_->Delete(kConfigMaps, {"default", elsewhere});
  watcher.join();
  std::lock_guard lock(mu);
  std::vector<std::string> changes;
  for (const auto& t : types) {
    if (t != "BOOKMARK") changes.push_back(t);
  }
  EXPECT_EQ(changes, (std::vector<std::string>{"ADDED", "MODIFIED", "DELETED"}));
  EXPECT_TRUE(done) << "no BOOKMARK";
}

TEST_F(KubeTest, WatchThatCannotStartThrows) {
  // A watch the server refuses (here: an unknown resource) is an ApiError
  // with the server's status, not a stream.
  const Resource unknown{"kubetest.example.org", "v1", "nonexistents", "Nonexistent", true};
  WatchOptions opts;
  opts.timeout = 2s;
  try {
    client_->Watch(unknown, ns_, opts, [](const WatchEvent&) { return true; });
    FAIL() << "no error";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.code(), 404);
  }
}

TEST_F(KubeTest, InformerFollowsChanges) {
  std::mutex mu;
  std::set<std::string> deleted;
  Informer informer(*client_, kConfigMaps, ns_, "app=informed",
                    {nullptr, [&](const Json& o) {
                       std::lock_guard lock(mu);
                       deleted.insert(o["metadata"]["name"]);
                     }});
  client_->Create(kConfigMaps, Object(ns_, "before", {{"app", "informed"}}));
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(10s));
  EXPECT_TRUE(informer.Get({ns_, "before"}).has_value());
  client_->Create(kConfigMaps, Object(ns_, "after", {{"app", "informed"}}));
  client_->Create(kConfigMaps, Object(ns_, "unrelated", {{"app", "no"}}));
  EXPECT_TRUE(Eventually([&] { return informer.Get({ns_, "after"}).has_value(); }));
  client_->Delete(kConfigMaps, {ns_, "before"});
  EXPECT_TRUE(Eventually([&] { return !informer.Get({ns_, "before"}).has_value(); }));
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(deleted, (std::set<std::string>{"before"}));
  }
  EXPECT_FALSE(informer.Get({ns_, "unrelated"}).has_value());
  // A quiet watch still stops promptly.
  const auto start = std::chrono::steady_clock::now();
  informer.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

class FakeClock : public kube::Clock {
 public:
  kube::Time Now() const override { return now; }
  kube::Time now = std::chrono::system_clock::now();
};

TEST_F(KubeTest, LeaseRefusedWhileHeldTakenOverAfterExpiry) {
  FakeClock clock;
  const ObjectKey key{ns_, "lock"};
  LeaseLock a(*client_, clock, key, "a", 10s, {{"purpose", "test"}});
  LeaseLock b(*client_, clock, key, "b", 10s);
  ASSERT_TRUE(a.TryAcquire());
  EXPECT_FALSE(b.TryAcquire());
  EXPECT_EQ(b.Holder(), "a");
  clock.now += 5s;
  EXPECT_TRUE(a.Renew());
  clock.now += 9s;
  EXPECT_FALSE(b.TryAcquire());
  clock.now += 2s;
  ASSERT_TRUE(b.TryAcquire());
  const Json lease = client_->Get(kLeases, key);
  EXPECT_EQ(lease["spec"]["holderIdentity"], "b");
  EXPECT_EQ(lease["spec"]["leaseTransitions"], 1);
  EXPECT_EQ(lease["metadata"]["labels"]["purpose"], "test");
  EXPECT_FALSE(a.Renew());
  b.Release();
  EXPECT_FALSE(client_->Get(kLeases, key)["spec"].contains("holderIdentity"));
  ASSERT_TRUE(a.TryAcquire());
}

TEST_F(KubeTest, EventsAreWrittenAndAggregated) {
  const Json cm = client_->Create(kConfigMaps, Object(ns_, "subject"));
  kube::SystemClock clock;
  EventRecorder recorder(*client_, clock, "kube-test", "host-1");
  recorder.Warning(cm, "Failed", "it broke");
  recorder.Warning(cm, "Failed", "it broke");
  recorder.Normal(cm, "Fixed", "all good");
  ListOptions opts;
  opts.field_selector = "involvedObject.name=subject";
  const Json events = client_->List(kEvents, ns_, opts);
  ASSERT_EQ(events["items"].size(), 2u);
  for (const auto& e : events["items"]) {
    EXPECT_EQ(e["involvedObject"]["uid"], cm["metadata"]["uid"]);
    EXPECT_EQ(e["source"]["component"], "kube-test");
    EXPECT_EQ(e["count"], e["reason"] == "Failed" ? 2 : 1);
  }
}

TEST(RestClientTransport, UnreachableServerIsATransportError) {
  Config config;
  config.server = "https://127.0.0.1:1";
  RestOptions options;
  options.max_retries = 1;
  options.initial_backoff = 1ms;
  RestClient client(config, options);
  try {
    client.Get(kSecrets, {"ns", "s"});
    FAIL() << "no error";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.code(), 0);
    EXPECT_EQ(e.reason(), "Transport");
  }
}

}  // namespace
}  // namespace kube
