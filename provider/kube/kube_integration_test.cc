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
    client_ = std::make_unique<HttpClient>(ReadKubeconfig(KubeconfigPath()).value());
    ns_ = "kube-test-" + RandomSuffix();
    EXPECT_TRUE(client_->Create(kNamespaces, {{"metadata", {{"name", ns_}}}}).ok());
  }
  void TearDown() override { (void)client_->Delete(kNamespaces, {"", ns_}); }

  static Json Object(const std::string& ns, const std::string& name, Json labels = Json::object()) {
    return {{"metadata", {{"name", name}, {"namespace", ns}, {"labels", labels}}}};
  }

  std::unique_ptr<HttpClient> client_;
  std::string ns_;
};

// The HTTP code of a call's failure; 200 when it succeeded.
int CodeOf(const absl::Status& s) {
  if (s.ok()) return 200;
  const std::optional<ApiError> e = ApiErrorOf(s);
  return e ? e->code() : -1;
}

TEST_F(KubeTest, SecretCreateGetUpdateConflictDelete) {
  Json secret = Object(ns_, "s1");
  secret["type"] = "Opaque";
  secret["stringData"] = {{"password", "hunter2"}};
  const Json created = client_->Create(kSecrets, secret).value();
  EXPECT_EQ(created["metadata"]["namespace"], ns_);
  EXPECT_EQ(created["data"]["password"], "aHVudGVyMg==");

  {
    const auto e = ApiErrorOf(client_->Create(kSecrets, secret).status());
    ASSERT_TRUE(e.has_value()) << "created twice";
    EXPECT_TRUE(IsAlreadyExists(*e)) << e->code() << " " << e->reason();
  }

  Json got = client_->Get(kSecrets, {ns_, "s1"}).value();
  EXPECT_EQ(got["metadata"]["uid"], created["metadata"]["uid"]);
  got["data"]["user"] = "YWRtaW4=";
  const Json updated = client_->Update(kSecrets, got).value();
  EXPECT_NE(updated["metadata"]["resourceVersion"], got["metadata"]["resourceVersion"]);

  // The stale copy loses.
  got["data"]["user"] = "cm9vdA==";
  {
    const auto e = ApiErrorOf(client_->Update(kSecrets, got).status());
    ASSERT_TRUE(e.has_value()) << "stale update accepted";
    EXPECT_TRUE(IsConflict(*e)) << e->code() << " " << e->reason() << " " << e->message();
    EXPECT_EQ(e->reason(), "Conflict");
  }

  // Delete guarded by uid: a wrong uid is refused, the right one deletes.
  {
    const auto e = ApiErrorOf(client_->Delete(kSecrets, {ns_, "s1"}, std::string("not-the-uid")));
    ASSERT_TRUE(e.has_value()) << "deleted with a wrong uid";
    EXPECT_EQ(e->code(), 409);
  }
  EXPECT_TRUE(
      client_->Delete(kSecrets, {ns_, "s1"}, created["metadata"]["uid"].get<std::string>()).ok());
  {
    const auto e = ApiErrorOf(client_->Get(kSecrets, {ns_, "s1"}).status());
    ASSERT_TRUE(e.has_value()) << "still there";
    EXPECT_TRUE(IsNotFound(*e));
    EXPECT_EQ(e->reason(), "NotFound");
  }
  EXPECT_EQ(CodeOf(client_->Delete(kSecrets, {ns_, "s1"})), 404);
}

// GetNotOlderThan after each write returns that write (the watch cache
// waits for it), and a version the server has not reached yet is read from
// etcd once the cache has waited for it in vain.
TEST_F(KubeTest, AReadNotOlderThanAVersionSeesAtLeastThatVersion) {
  Json cm = Object(ns_, "c1");
  cm["data"] = {{"n", "0"}};
  cm = client_->Create(kConfigMaps, cm).value();
  for (int i = 1; i <= 20; ++i) {
    cm["data"]["n"] = std::to_string(i);
    cm = client_->Update(kConfigMaps, cm).value();
    const std::string written = cm["metadata"]["resourceVersion"];
    const Json read = client_->GetNotOlderThan(kConfigMaps, {ns_, "c1"}, written).value();
    ASSERT_EQ(read["metadata"]["resourceVersion"], written) << "write " << i;
    ASSERT_EQ(read["data"]["n"], std::to_string(i));
  }
  // No version given: a plain read.
  EXPECT_EQ(client_->GetNotOlderThan(kConfigMaps, {ns_, "c1"}, "").value()["data"]["n"], "20");

  const std::string current = cm["metadata"]["resourceVersion"];
  const std::string ahead = std::to_string(std::stoll(current) + 1000000);
  const auto started = std::chrono::steady_clock::now();
  const absl::StatusOr<Json> later = client_->GetNotOlderThan(kConfigMaps, {ns_, "c1"}, ahead);
  ASSERT_TRUE(later.ok()) << later.status();
  EXPECT_EQ((*later)["metadata"]["resourceVersion"], current);
  // The server waited for its cache (so the version was asked for), once.
  EXPECT_GT(std::chrono::steady_clock::now() - started, 2s) << "no wait for the cache";
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s) << "waited more than once";

  EXPECT_EQ(CodeOf(client_->GetNotOlderThan(kConfigMaps, {ns_, "none"}, current).status()), 404);
}

TEST_F(KubeTest, ConfigMapPatches) {
  Json cm = Object(ns_, "cm");
  cm["data"] = {{"a", "1"}, {"b", "2"}};
  EXPECT_TRUE(client_->Create(kConfigMaps, cm).ok());

  Json merged = client_
                    ->Patch(kConfigMaps, {ns_, "cm"}, PatchType::kMerge,
                            {{"data", {{"a", "10"}, {"b", nullptr}}}}, {})
                    .value();
  EXPECT_EQ(merged["data"], (Json{{"a", "10"}}));

  Json jsonpatch =
      client_
          ->Patch(kConfigMaps, {ns_, "cm"}, PatchType::kJson,
                  Json::array({{{"op", "add"}, {"path", "/data/c"}, {"value", "3"}}}), {})
          .value();
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
      client_->Patch(kConfigMaps, {ns_, "applied"}, PatchType::kApply, applied_cm, mine).value();
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
  EXPECT_EQ(
      CodeOf(client_->Patch(kConfigMaps, {ns_, "applied"}, PatchType::kApply, theirs_cm, theirs)
                 .status()),
      409);
  theirs.force = true;
  EXPECT_EQ(client_->Patch(kConfigMaps, {ns_, "applied"}, PatchType::kApply, theirs_cm, theirs)
                .value()["data"]["k"],
            "w");

  EXPECT_EQ(CodeOf(client_
                       ->Patch(kConfigMaps, {ns_, "missing"}, PatchType::kMerge,
                               {{"data", {{"a", "1"}}}}, {})
                       .status()),
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
  {
    const absl::Status created = client_->Create(crds, crd).status();
    ASSERT_TRUE(created.ok() || kube::IsAlreadyExists(created)) << created;
  }
  ASSERT_TRUE(Eventually([&] {
    const Json got = client_->Get(crds, {"", "widgets.kubetest.example.org"}).value();
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
    absl::StatusOr<Json> made = client_->Create(widgets, widget);
    if (!made.ok()) {
      EXPECT_TRUE(kube::IsNotFound(made.status())) << made.status();
      return false;
    }
    created = *std::move(made);
    return true;
  }));
  created["status"] = {{"phase", "Ready"}};
  created["spec"]["size"] = 99;  // ignored by a status update
  const Json with_status = client_->UpdateStatus(widgets, created).value();
  EXPECT_EQ(with_status["status"]["phase"], "Ready");
  EXPECT_EQ(with_status["spec"]["size"], 1);

  // And a plain update leaves the status alone.
  Json again = with_status;
  again["status"] = {{"phase", "Changed"}};
  again["spec"]["size"] = 2;
  const Json updated = client_->Update(widgets, again).value();
  EXPECT_EQ(updated["spec"]["size"], 2);
  EXPECT_EQ(updated["status"]["phase"], "Ready");

  PatchOptions status;
  status.subresource = "status";
  const Json patched = client_
                           ->Patch(widgets, {ns_, "w"}, PatchType::kMerge,
                                   {{"status", {{"phase", "Patched"}}}}, status)
                           .value();
  EXPECT_EQ(patched["status"]["phase"], "Patched");
}

TEST_F(KubeTest, ListWithLabelSelectorAndPaging) {
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(
        client_->Create(kConfigMaps, Object(ns_, "l" + std::to_string(i), {{"app", "paged"}}))
            .ok());
  }
  EXPECT_TRUE(client_->Create(kConfigMaps, Object(ns_, "other", {{"app", "else"}})).ok());
  ListOptions opts;
  opts.label_selector = "app=paged";
  opts.limit = 2;
  std::set<std::string> names;
  int pages = 0;
  do {
    const Json page = client_->List(kConfigMaps, ns_, opts).value();
    ++pages;
    EXPECT_LE(page["items"].size(), 2u);
    for (const auto& item : page["items"]) names.insert(item["metadata"]["name"]);
    opts.continue_token = page["metadata"].value("continue", "");
  } while (!opts.continue_token.empty());
  EXPECT_EQ(names, (std::set<std::string>{"l0", "l1", "l2", "l3", "l4"}));
  EXPECT_EQ(pages, 3);

  ListOptions by_field;
  by_field.field_selector = "metadata.name=other";
  EXPECT_EQ(client_->List(kConfigMaps, ns_, by_field).value()["items"].size(), 1u);
}

TEST_F(KubeTest, WatchSeesChangesAndBookmarks) {
  const std::string version =
      client_->List(kConfigMaps, ns_, {}).value()["metadata"]["resourceVersion"];
  std::mutex mu;
  std::vector<std::string> types;
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    WatchOptions opts;
    opts.resource_version = version;
    opts.timeout = 5s;  // the server sends a bookmark 2s before ending the watch
    const auto started = std::chrono::steady_clock::now();
    while (!done && std::chrono::steady_clock::now() - started < 20s) {
      EXPECT_TRUE(client_
                      ->Watch(kConfigMaps, ns_, opts,
                              [&](const WatchEvent& e) {
                                std::lock_guard lock(mu);
                                types.push_back(e.type);
                                const std::string rv =
                                    e.object["metadata"].value("resourceVersion", "");
                                if (!rv.empty()) opts.resource_version = rv;
                                bool deleted = false;
                                bool bookmark = false;
                                for (const auto& t : types) {
                                  deleted |= t == "DELETED";
                                  bookmark |= t == "BOOKMARK";
                                }
                                done = deleted && bookmark;
                                return !done;
                              })
                      .ok());
    }
  });
  Json cm = client_->Create(kConfigMaps, Object(ns_, "watched")).value();
  cm["data"] = {{"x", "1"}};
  EXPECT_TRUE(client_->Update(kConfigMaps, cm).ok());
  EXPECT_TRUE(client_->Delete(kConfigMaps, {ns_, "watched"}).ok());
  // The server sends a bookmark (2s before a watch's timeout) only with a
  // resource version newer than the watch's: writes elsewhere provide one.
  const std::string elsewhere = "bookmark-" + ns_;
  EXPECT_TRUE(client_->Create(kConfigMaps, Object("default", elsewhere)).ok());
  for (int i = 0; i < 40 && !done; ++i) {
    EXPECT_TRUE(client_
                    ->Patch(kConfigMaps, {"default", elsewhere}, PatchType::kMerge,
                            {{"data", {{"i", std::to_string(i)}}}}, {})
                    .ok());
    std::this_thread::sleep_for(250ms);
  }
  EXPECT_TRUE(client_->Delete(kConfigMaps, {"default", elsewhere}).ok());
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
  {
    const auto e =
        ApiErrorOf(client_->Watch(unknown, ns_, opts, [](const WatchEvent&) { return true; }));
    ASSERT_TRUE(e.has_value()) << "no error";
    EXPECT_EQ(e->code(), 404);
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
  EXPECT_TRUE(client_->Create(kConfigMaps, Object(ns_, "before", {{"app", "informed"}})).ok());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(10s));
  EXPECT_TRUE(informer.Get({ns_, "before"}).has_value());
  EXPECT_TRUE(client_->Create(kConfigMaps, Object(ns_, "after", {{"app", "informed"}})).ok());
  EXPECT_TRUE(client_->Create(kConfigMaps, Object(ns_, "unrelated", {{"app", "no"}})).ok());
  EXPECT_TRUE(Eventually([&] { return informer.Get({ns_, "after"}).has_value(); }));
  EXPECT_TRUE(client_->Delete(kConfigMaps, {ns_, "before"}).ok());
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
  kube::MonoTime Monotonic() const override { return kube::MonoTime(now.time_since_epoch()); }
  kube::Time now = std::chrono::system_clock::now();
};

TEST_F(KubeTest, LeaseRefusedWhileHeldTakenOverAfterExpiry) {
  FakeClock clock;
  const ObjectKey key{ns_, "lock"};
  LeaseLock a(*client_, clock, key, "a", 10s, {{"purpose", "test"}});
  LeaseLock b(*client_, clock, key, "b", 10s);
  ASSERT_TRUE(a.TryAcquire().value());
  EXPECT_FALSE(b.TryAcquire().value());
  EXPECT_EQ(b.Holder(), "a");
  clock.now += 5s;
  EXPECT_TRUE(a.Renew().value());
  // b counts from when it saw a's renewal: 9s later it is not expired, nor
  // 10s after that (b first saw the renewal then), but 11s after.
  clock.now += 9s;
  EXPECT_FALSE(b.TryAcquire().value());
  clock.now += 10s;
  EXPECT_FALSE(b.TryAcquire().value());
  clock.now += 1s;
  ASSERT_TRUE(b.TryAcquire().value());
  const Json lease = client_->Get(kLeases, key).value();
  EXPECT_EQ(lease["spec"]["holderIdentity"], "b");
  EXPECT_EQ(lease["spec"]["leaseTransitions"], 1);
  EXPECT_EQ(lease["metadata"]["labels"]["purpose"], "test");
  EXPECT_FALSE(a.Renew().value());
  b.Release();
  EXPECT_FALSE(client_->Get(kLeases, key).value()["spec"].contains("holderIdentity"));
  ASSERT_TRUE(a.TryAcquire().value());
}

TEST_F(KubeTest, EventsAreWrittenAndAggregated) {
  const Json cm = client_->Create(kConfigMaps, Object(ns_, "subject")).value();
  kube::SystemClock clock;
  EventRecorder recorder(*client_, clock, "kube-test", "host-1");
  recorder.Warning(cm, "Failed", "it broke");
  recorder.Warning(cm, "Failed", "it broke");
  recorder.Normal(cm, "Fixed", "all good");
  ListOptions opts;
  opts.field_selector = "involvedObject.name=subject";
  const Json events = client_->List(kEvents, ns_, opts).value();
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
  HttpClient client(config, options);
  {
    const auto e = ApiErrorOf(client.Get(kSecrets, {"ns", "s"}).status());
    ASSERT_TRUE(e.has_value()) << "no error";
    EXPECT_EQ(e->code(), 0);
    EXPECT_EQ(e->reason(), "Transport");
  }
}

}  // namespace
}  // namespace kube
