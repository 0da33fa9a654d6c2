// The managed reconciler against an in-memory API server: every branch of
// Crossplane's managed-resource contract.
#include "provider/runtime/managed.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>

#include "provider/kube/resources.h"
#include "provider/runtime/conditions.h"
#include "provider/runtime/duration.h"
#include "provider/runtime/policies.h"
#include "provider/testing/fake_client.h"
#include "provider/testing/fake_clock.h"

namespace runtime {
namespace {

using kube::Json;
using kube::testing::FakeClient;
using namespace std::chrono_literals;

const kube::Resource kWidgets{"test.workloads.terraforming.io", "v1alpha1", "widgets", "Widget",
                              false};
const kube::Resource kNsWidgets{"test.workloads.m.terraforming.io", "v1alpha1", "widgets", "Widget",
                                true};
const kube::Resource kConfigs{"test.workloads.terraforming.io", "v1alpha1", "providerconfigs",
                              "ProviderConfig", false};
const kube::Resource kUsages{"test.workloads.terraforming.io", "v1alpha1", "providerconfigusages",
                             "ProviderConfigUsage", false};
const kube::Resource kNsConfigs{"test.workloads.m.terraforming.io", "v1alpha1", "providerconfigs",
                                "ProviderConfig", true};
const kube::Resource kClusterConfigs{"test.workloads.m.terraforming.io", "v1alpha1",
                                     "clusterproviderconfigs", "ClusterProviderConfig", false};
const kube::Resource kNsUsages{"test.workloads.m.terraforming.io", "v1alpha1",
                               "providerconfigusages", "ProviderConfigUsage", true};

using kube::testing::FakeClock;

struct Recorded {
  std::string type, reason, message;
  std::map<std::string, std::string> annotations;
};

class RecordingSink : public EventSink {
 public:
  void Event(const Json&, const std::string& type, const std::string& reason,
             const std::string& message,
             const std::map<std::string, std::string>& annotations) override {
    events.push_back({type, reason, message, annotations});
  }
  bool Has(const std::string& reason) const {
    for (const auto& e : events) {
      if (e.reason == reason) return true;
    }
    return false;
  }
  std::vector<Recorded> events;
};

// Scripted external system: observations are taken from the front of a
// queue (the last one repeats); every call is logged.
struct Script {
  std::deque<Observation> observations{Observation{}};
  std::string connect_error, observe_error, create_error, update_error, delete_error;
  ConnectionDetails create_details;
  std::vector<std::string> calls;
  Json annotations_seen_at_create;  // what the API server held when Create ran
  std::string set_ready;            // Ready reason to set in Create/Update
  std::function<void()> on_disconnect;
  std::function<void(Json&)> on_observe;  // may change the object in Observe
  bool observe_throws = false;
};

class ScriptedClient : public ExternalClient {
 public:
  ScriptedClient(Script& s, FakeClient& api, const kube::Resource& r) : s_(s), api_(api), r_(r) {}
  absl::StatusOr<Observation> Observe(Json& mr) override {
    s_.calls.push_back("observe");
    if (s_.on_observe) s_.on_observe(mr);
    if (s_.observe_throws) throw std::runtime_error("observe threw");
    if (!s_.observe_error.empty()) return absl::UnknownError(s_.observe_error);
    Observation o = s_.observations.front();
    if (s_.observations.size() > 1) s_.observations.pop_front();
    return o;
  }
  absl::StatusOr<ExternalResult> Create(Json& mr) override {
    s_.calls.push_back("create");
    s_.annotations_seen_at_create =
        api_.Peek(r_, kube::KeyOf(mr))["metadata"].value("annotations", Json::object());
    if (!s_.create_error.empty()) return absl::UnknownError(s_.create_error);
    if (!s_.set_ready.empty()) SetCondition(mr, Available(), kube::Time{});
    return ExternalResult{s_.create_details, {}};
  }
  absl::StatusOr<ExternalResult> Update(Json&) override {
    s_.calls.push_back("update");
    if (!s_.update_error.empty()) return absl::UnknownError(s_.update_error);
    return ExternalResult{};
  }
  absl::Status Delete(Json&) override {
    s_.calls.push_back("delete");
    if (!s_.delete_error.empty()) return absl::UnknownError(s_.delete_error);
    return absl::OkStatus();
  }
  absl::Status Disconnect() override {
    s_.calls.push_back("disconnect");
    if (s_.on_disconnect) s_.on_disconnect();
    return absl::OkStatus();
  }

 private:
  Script& s_;
  FakeClient& api_;
  const kube::Resource& r_;
};

class ScriptedConnector : public Connector {
 public:
  ScriptedConnector(Script& s, FakeClient& api, const kube::Resource& r)
      : s_(s), api_(api), r_(r) {}
  absl::StatusOr<std::unique_ptr<ExternalClient>> Connect(Json&, const Json& pc) override {
    s_.calls.push_back("connect " + pc["metadata"].value("name", ""));
    if (!s_.connect_error.empty()) return absl::UnknownError(s_.connect_error);
    return std::make_unique<ScriptedClient>(s_, api_, r_);
  }

 private:
  Script& s_;
  FakeClient& api_;
  const kube::Resource& r_;
};

Observation Exists(bool up_to_date = true) {
  Observation o;
  o.exists = true;
  o.up_to_date = up_to_date;
  return o;
}

class ManagedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    api.Seed(kConfigs, {{"metadata", {{"name", "default"}}}, {"spec", Json::object()}});
  }

  ManagedReconciler Reconciler(ManagedOptions o = {}) {
    o.resource = kWidgets;
    o.legacy = true;
    o.poll = 10min;
    return ManagedReconciler(api, sink, clock, connector, configs, o, [] { return 0.5; });
  }

  Json Widget(Json spec = Json::object(), Json annotations = Json::object()) {
    Json w = {{"metadata", {{"name", "w1"}}}, {"spec", spec}};
    if (!annotations.empty()) w["metadata"]["annotations"] = annotations;
    return api.Seed(kWidgets, w);
  }

  Json Get() { return api.Peek(kWidgets, {"", "w1"}); }
  Json Condition(const std::string& type) { return GetCondition(Get(), type); }
  std::string Reason(const std::string& type) { return Condition(type).value("reason", ""); }

  FakeClient api;
  FakeClock clock;
  RecordingSink sink;
  Script script;
  ScriptedConnector connector{script, api, kWidgets};
  ProviderConfigs configs{api, {kConfigs, std::nullopt, kUsages, false}};
};

TEST_F(ManagedTest, GoneObjectIsDone) {
  auto r = Reconciler();
  EXPECT_EQ(r.Reconcile({"", "missing"}).kind, Result::Kind::kDone);
  EXPECT_TRUE(script.calls.empty());
}

TEST_F(ManagedTest, PauseAnnotationStopsEverything) {
  Widget({}, {{kPaused, "true"}});
  auto r = Reconciler();
  EXPECT_EQ(r.Reconcile({"", "w1"}).kind, Result::Kind::kDone);
  EXPECT_EQ(Reason("Synced"), "ReconcilePaused");
  EXPECT_TRUE(sink.Has("ReconciliationPaused"));
  EXPECT_TRUE(script.calls.empty());
  // Paused again: no second event.
  sink.events.clear();
  r.Reconcile({"", "w1"});
  EXPECT_FALSE(sink.Has("ReconciliationPaused"));
}

TEST_F(ManagedTest, EmptyManagementPoliciesPause) {
  Widget({{"managementPolicies", Json::array()}});
  auto r = Reconciler();
  r.Reconcile({"", "w1"});
  EXPECT_EQ(Reason("Synced"), "ReconcilePaused");
  EXPECT_TRUE(script.calls.empty());
}

TEST_F(ManagedTest, PausedObjectIsNotDeleted) {
  Widget({}, {{kPaused, "true"}});
  Json w = Get();
  w["metadata"]["finalizers"] = {kFinalizer};
  ASSERT_TRUE(api.Update(kWidgets, w).ok());
  ASSERT_TRUE(api.Delete(kWidgets, {"", "w1"}).ok());
  auto r = Reconciler();
  r.Reconcile({"", "w1"});
  EXPECT_TRUE(api.Has(kWidgets, {"", "w1"}));
  EXPECT_TRUE(script.calls.empty());
}

TEST_F(ManagedTest, UnsupportedPolicySetIsRefused) {
  Widget({{"managementPolicies", {"Create", "Delete"}}});
  auto r = Reconciler();
  EXPECT_EQ(r.Reconcile({"", "w1"}).kind, Result::Kind::kDone);
  EXPECT_EQ(Reason("Synced"), "ReconcileError");
  EXPECT_EQ(Condition("Synced")["message"],
            "`spec.managementPolicies` is set to a value([Create, Delete]) which is not "
            "supported. Check docs for supported policies");
  EXPECT_TRUE(sink.Has("CannotUseInvalidManagementPolicy"));
  EXPECT_TRUE(script.calls.empty());
}

TEST_F(ManagedTest, NonDefaultPoliciesNeedTheFeature) {
  Widget({{"managementPolicies", {"Observe"}}});
  ManagedOptions o;
  o.management_policies = false;
  auto r = Reconciler(o);
  r.Reconcile({"", "w1"});
  EXPECT_NE(Condition("Synced").value("message", "").find("the feature is not enabled"),
            std::string::npos);
}

TEST_F(ManagedTest, ExternalNameDefaultsToTheName) {
  Widget();
  script.observations = {Exists()};
  auto r = Reconciler();
  r.Reconcile({"", "w1"});
  EXPECT_EQ(Annotation(Get(), kExternalName), "w1");
  // Never changed afterwards.
  Json w = Get();
  SetAnnotation(w, kExternalName, "chosen");
  ASSERT_TRUE(api.Update(kWidgets, w).ok());
  r.Reconcile({"", "w1"});
  EXPECT_EQ(Annotation(Get(), kExternalName), "chosen");
}

TEST_F(ManagedTest, IncompleteCreateBlocksUnlessNamesAreDeterministic) {
  Widget({}, {{kCreatePending, "2026-01-01T00:00:00Z"}, {kExternalName, "w1"}});
  auto r = Reconciler();
  EXPECT_EQ(r.Reconcile({"", "w1"}).kind, Result::Kind::kDone);
  EXPECT_EQ(Reason("Ready"), "Creating");
  EXPECT_EQ(Condition("Synced")["message"],
            "cannot determine creation result - remove the crossplane.io/external-create-pending "
            "annotation if it is safe to proceed");
  EXPECT_TRUE(script.calls.empty());

  ManagedOptions o;
  o.deterministic_external_name = true;
  script.observations = {Exists()};
  auto deterministic = Reconciler(o);
  deterministic.Reconcile({"", "w1"});
  EXPECT_EQ(Reason("Synced"), "ReconcileSuccess");
  EXPECT_EQ(script.calls.front(), "connect default");
  // It existed after all: the create is recorded as done, the guard is gone.
  EXPECT_EQ(Annotation(Get(), kCreateSucceeded), "2027-01-15T08:00:00Z");
  script.calls.clear();
  Reconciler().Reconcile({"", "w1"});
  EXPECT_EQ(script.calls.front(), "connect default");
}

TEST_F(ManagedTest, ARecordedOutcomeClearsTheGuard) {
  Widget({}, {{kCreatePending, "2026-01-01T00:00:00Z"},
              {kCreateFailed, "2026-01-01T00:00:05Z"},
              {kExternalName, "w1"}});
  script.observations = {Exists()};
  auto r = Reconciler();
  r.Reconcile({"", "w1"});
  EXPECT_EQ(Reason("Synced"), "ReconcileSuccess");
}

TEST_F(ManagedTest, MissingProviderConfigIsAConnectError) {
  Widget({{"providerConfigRef", {{"name", "other"}}}});
  auto r = Reconciler();
  EXPECT_EQ(r.Reconcile({"", "w1"}).kind, Result::Kind::kBackoff);
  EXPECT_EQ(Reason("Synced"), "ReconcileError");
  EXPECT_EQ(Condition("Synced")["message"],
            "connect failed: cannot get ProviderConfig \"other\": not found "
            "(spec.providerConfigRef names it)");
  EXPECT_TRUE(sink.Has("CannotConnectToProvider"));
}

TEST_F(ManagedTest, ConnectRecordsProviderConfigUsage) {
  Json w = Widget();
  script.observations = {Exists()};
  auto r = Reconciler();
  r.Reconcile({"", "w1"});
  const Json usage = api.Peek(kUsages, {"", w["metadata"]["uid"]});
  EXPECT_EQ(usage["providerConfigRef"], (Json{{"name", "default"}}));
  EXPECT_EQ(usage["metadata"]["labels"][kProviderConfigLabel], "default");
  EXPECT_EQ(usage["resourceRef"]["kind"], "Widget");
  EXPECT_EQ(usage["metadata"]["ownerReferences"][0]["uid"], w["metadata"]["uid"]);
  EXPECT_TRUE(usage["metadata"]["ownerReferences"][0]["controller"].get<bool>());
}

// A cache that serves what `objects` holds, keyed by plural and key.
ConfigCache MapCache(std::map<std::pair<std::string, kube::ObjectKey>, Json>& objects) {
  ConfigCache cache;
  cache.get = [&objects](const kube::Resource& r, const kube::ObjectKey& k) -> std::optional<Json> {
    auto it = objects.find({r.plural, k});
    if (it == objects.end()) return std::nullopt;
    return it->second;
  };
  return cache;
}

TEST_F(ManagedTest, TheProviderConfigAndAnUpToDateUsageAreReadFromTheCache) {
  Json w = Widget();
  script.observations = {Exists()};
  auto r = Reconciler();
  r.Reconcile({"", "w1"});  // the usage is created
  const kube::ObjectKey usage_key{"", w["metadata"]["uid"]};
  std::map<std::pair<std::string, kube::ObjectKey>, Json> cached = {
      {{kConfigs.plural, {"", "default"}},
       {{"metadata", {{"name", "default"}}}, {"spec", {{"from", "cache"}}}}},
      {{kUsages.plural, usage_key}, api.Peek(kUsages, usage_key)}};
  KeepForUsageCache(cached[{kUsages.plural, usage_key}]);
  const ConfigCache cache = MapCache(cached);
  configs.UseCache(&cache);
  api.calls.clear();
  script.calls.clear();
  r.Reconcile({"", "w1"});
  EXPECT_EQ(script.calls.front(), "connect default");
  for (const std::string& call : api.calls) {
    EXPECT_EQ(call.find("providerconfig"), std::string::npos) << call;
  }
  // A usage the cache has not seen yet (or out of date) is read and written.
  cached.erase({kUsages.plural, usage_key});
  ASSERT_TRUE(api.Delete(kUsages, usage_key).ok());
  r.Reconcile({"", "w1"});
  EXPECT_TRUE(api.Has(kUsages, usage_key));
  // A ProviderConfig the cache lacks is read from the API server.
  cached.clear();
  api.calls.clear();
  r.Reconcile({"", "w1"});
  EXPECT_NE(std::find(api.calls.begin(), api.calls.end(), "get providerconfigs default"),
            api.calls.end());
}

TEST_F(ManagedTest, ConnectorErrorsAreReported) {
  Widget();
  script.connect_error = "no credentials";
  auto r = Reconciler();
  EXPECT_EQ(r.Reconcile({"", "w1"}).kind, Result::Kind::kBackoff);
  EXPECT_EQ(Condition("Synced")["message"], "connect failed: no credentials");
}

TEST_F(ManagedTest, ObserveErrorsAreReportedAndDisconnectStillRuns) {
  Widget();
  script.observe_error = "plan failed: boom";
  auto r = Reconciler();
  EXPECT_EQ(r.Reconcile({"", "w1"}).kind, Result::Kind::kBackoff);
  EXPECT_EQ(Condition("Synced")["message"], "observe failed: plan failed: boom");
  EXPECT_TRUE(sink.Has("CannotObserveExternalResource"));
  EXPECT_EQ(script.calls.back(), "disconnect");
}

TEST_F(ManagedTest, ObserveOnlyOfAMissingResourceWaitsAPoll) {
  Widget({{"managementPolicies", {"Observe"}}});
  auto r = Reconciler();
  const Result result = r.Reconcile({"", "w1"});
  EXPECT_EQ(result.kind, Result::Kind::kAfter);
  EXPECT_EQ(result.after, 10min);
  EXPECT_EQ(Condition("Synced")["message"], "observe failed: external resource does not exist");
}

TEST_F(ManagedTest, CreateRecordsPendingFirstThenSucceeded) {
  Widget({{"writeConnectionSecretToRef", {{"name", "conn"}, {"namespace", "team"}}}});
  script.create_details = {{"endpoint", "https://x"}};
  auto r = Reconciler();
  const Result result = r.Reconcile({"", "w1"});
  // Observed again through the rate limiter, never in a tight loop.
  EXPECT_EQ(result.kind, Result::Kind::kBackoff);
  EXPECT_TRUE(script.annotations_seen_at_create.contains(kCreatePending))
      << "the pending annotation must be persisted before Create runs";
  const Json w = Get();
  EXPECT_EQ(Annotation(w, kCreatePending), "2027-01-15T08:00:00Z");
  EXPECT_EQ(Annotation(w, kCreateSucceeded), "2027-01-15T08:00:00Z");
  EXPECT_EQ(w["metadata"]["finalizers"], Json::array({kFinalizer}));
  EXPECT_EQ(Reason("Ready"), "Creating");
  EXPECT_EQ(Reason("Synced"), "ReconcileSuccess");
  EXPECT_TRUE(sink.Has("CreatedExternalResource"));
  const Json secret = api.Peek(kube::kSecrets, {"team", "conn"});
  EXPECT_EQ(secret["type"], "connection.crossplane.io/v1alpha1");
  EXPECT_EQ(Base64Decode(secret["data"]["endpoint"]), "https://x");
  EXPECT_EQ(secret["metadata"]["ownerReferences"][0]["uid"], w["metadata"]["uid"]);
  // Every event names the external name.
  EXPECT_EQ(sink.events.back().annotations.at("external-name"), "w1");
}

TEST_F(ManagedTest, AReadyConditionSetByCreateStands) {
  Widget();
  script.set_ready = "Available";
  auto r = Reconciler();
  r.Reconcile({"", "w1"});
  EXPECT_EQ(Reason("Ready"), "Available");
}

TEST_F(ManagedTest, FailedCreateIsRecordedAndRetried) {
  Widget();
  script.create_error = "apply failed: quota";
  auto r = Reconciler();
  EXPECT_EQ(r.Reconcile({"", "w1"}).kind, Result::Kind::kBackoff);
  Json w = Get();
  EXPECT_FALSE(Annotation(w, kCreateFailed).empty());
  EXPECT_EQ(Reason("Ready"), "Creating");
  EXPECT_EQ(Condition("Synced")["message"], "create failed: apply failed: quota");
  EXPECT_TRUE(sink.Has("CannotCreateExternalResource"));

  // The next pass is not blocked by the pending annotation: it creates again.
  clock.now += 5s;
  script.create_error.clear();
  script.calls.clear();
  r.Reconcile({"", "w1"});
  EXPECT_NE(std::find(script.calls.begin(), script.calls.end(), "create"), script.calls.end());
}

TEST_F(ManagedTest, FailedCreateIsRecordedDespiteAConflict) {
  Widget();
  script.create_error = "apply failed";
  int conflicts = 0;
  api.hook = [&](const std::string& verb, const kube::Resource& r, const kube::ObjectKey&) {
    // The pending annotation's update goes through; the failure's first
    // write meets a conflict.
    if (verb == "update" && r == kWidgets && !script.calls.empty() &&
        script.calls.back() == "create" && conflicts++ == 0) {
      return kube::ApiError(409, "Conflict", "modified").ToStatus();
    }
    return absl::OkStatus();
  };
  auto r = Reconciler();
  r.Reconcile({"", "w1"});
  EXPECT_EQ(conflicts, 2);
  EXPECT_FALSE(Annotation(Get(), kCreateFailed).empty());
}

TEST_F(ManagedTest, CreationGracePeriodWaits) {
  Widget({}, {{kCreatePending, "2027-01-15T07:59:50Z"},
              {kCreateSucceeded, "2027-01-15T07:59:55Z"},
              {kExternalName, "w1"}});
  auto r = Reconciler();
  EXPECT_EQ(r.Reconcile({"", "w1"}).kind, Result::Kind::kBackoff);
  EXPECT_TRUE(sink.Has("PendingExternalResource"));
  EXPECT_EQ(std::count(script.calls.begin(), script.calls.end(), "create"), 0);
}

// The lock release in a Workspace's Disconnect is one more API request at
// the end of every reconcile: after a success it goes alongside the status
// write. Here the status write waits for Disconnect to begin, which it
// never would if Disconnect came after it.
TEST_F(ManagedTest, DisconnectOverlapsTheStatusWriteAfterASuccess) {
  Widget();
  script.observations = {Exists()};
  std::mutex mu;
  std::condition_variable cv;
  bool disconnecting = false;
  script.on_disconnect = [&] {
    std::lock_guard lock(mu);
    disconnecting = true;
    cv.notify_all();
  };
  bool overlapped = false;
  api.hook = [&](const std::string& verb, const kube::Resource&, const kube::ObjectKey&) {
    if (verb != "status") return absl::OkStatus();
    std::unique_lock lock(mu);
    overlapped = cv.wait_for(lock, 10s, [&] { return disconnecting; });
    return absl::OkStatus();
  };
  EXPECT_EQ(Reconciler().Reconcile({"", "w1"}).kind, Result::Kind::kAfter);
  EXPECT_TRUE(overlapped);
  EXPECT_EQ(Reason("Synced"), "ReconcileSuccess");
  EXPECT_EQ(std::count(script.calls.begin(), script.calls.end(), "disconnect"), 1);

  // After a failure it still comes last, once.
  script.calls.clear();
  script.on_disconnect = nullptr;
  api.hook = nullptr;
  script.observe_error = "plan failed: boom";
  EXPECT_EQ(Reconciler().Reconcile({"", "w1"}).kind, Result::Kind::kBackoff);
  EXPECT_EQ(script.calls.back(), "disconnect");
  EXPECT_EQ(std::count(script.calls.begin(), script.calls.end(), "disconnect"), 1);
}

TEST_F(ManagedTest, UpToDateWaitsAPollWithJitterAndTheAnnotation) {
  Widget();
  script.observations = {Exists()};
  ManagedOptions o;
  o.poll_jitter = 1min;
  auto r = ManagedReconciler(api, sink, clock, connector, configs,
                             {kWidgets, true, 10min, 1min, 1s, 30s, false, true},
                             [] { return 1.0; });  // the top of the jitter range
  Result result = r.Reconcile({"", "w1"});
  EXPECT_EQ(result.kind, Result::Kind::kAfter);
  EXPECT_EQ(result.after, 11min);
  EXPECT_EQ(Reason("Synced"), "ReconcileSuccess");
  EXPECT_EQ(std::count(script.calls.begin(), script.calls.end(), "update"), 0);

  Json w = Get();
  SetAnnotation(w, kPollInterval, "30s");
  ASSERT_TRUE(api.Update(kWidgets, w).ok());
  result = Reconciler().Reconcile({"", "w1"});
  EXPECT_EQ(result.after, 30s);
  w = Get();
  SetAnnotation(w, kPollInterval, "1ms");
  ASSERT_TRUE(api.Update(kWidgets, w).ok());
  EXPECT_EQ(Reconciler().Reconcile({"", "w1"}).after, 1s) << "clamped to the minimum";
  w = Get();
  SetAnnotation(w, kPollInterval, "soon");
  ASSERT_TRUE(api.Update(kWidgets, w).ok());
  EXPECT_EQ(Reconciler().Reconcile({"", "w1"}).after, 10min) << "a bad value is ignored";
}

TEST_F(ManagedTest, DriftIsUpdated) {
  Widget();
  script.observations = {Exists(false)};
  auto r = Reconciler();
  const Result result = r.Reconcile({"", "w1"});
  EXPECT_EQ(result.after, 10min);
  EXPECT_EQ(std::count(script.calls.begin(), script.calls.end(), "update"), 1);
  EXPECT_TRUE(sink.Has("UpdatedExternalResource"));
  EXPECT_EQ(Reason("Synced"), "ReconcileSuccess");
}

// Each read of the object asks for a version no older than what the last
// pass read or wrote (Client::GetNotOlderThan); the first read, and the
// first after the object was gone, asks for none: a plain read.
TEST_F(ManagedTest, EachReadIsNotOlderThanWhatTheLastPassReadOrWrote) {
  Widget({}, {{kExternalName, "w1"}});
  script.observations = {Exists()};
  auto r = Reconciler();
  const auto asked = [&] { return api.not_older_than.back(); };
  r.Reconcile({"", "w1"});
  EXPECT_EQ(asked(), "widgets w1 ");
  const std::string written = Get()["metadata"]["resourceVersion"];

  r.Reconcile({"", "w1"});
  EXPECT_EQ(asked(), "widgets w1 " + written) << "the version of the first pass's status write";

  // Someone else writes it (asking for a reconcile, which this pass's
  // status acknowledges), then this pass's status write fails: the next
  // read is not older than the version this pass read (its own write did
  // not happen).
  Json labelled = Get();
  labelled["metadata"]["labels"] = {{"team", "a"}};
  SetAnnotation(labelled, kReconcileRequestedAt, "now");
  ASSERT_TRUE(api.Update(kWidgets, labelled).ok());
  const std::string read = Get()["metadata"]["resourceVersion"];
  api.hook = [](const std::string& verb, const kube::Resource&, const kube::ObjectKey&) {
    return verb == "status" ? kube::ApiError(409, "Conflict", "modified").ToStatus()
                            : absl::OkStatus();
  };
  EXPECT_EQ(r.Reconcile({"", "w1"}).kind, Result::Kind::kBackoff);
  api.hook = nullptr;
  r.Reconcile({"", "w1"});
  EXPECT_EQ(asked(), "widgets w1 " + read);

  // Its shard handed over: another replica may write it before it returns.
  r.ForgetVersions();
  r.Reconcile({"", "w1"});
  EXPECT_EQ(asked(), "widgets w1 ");

  // Gone, then made again: the new object's first read is a plain one.
  ASSERT_TRUE(api.Delete(kWidgets, {"", "w1"}).ok());
  Json w = Get();
  w["metadata"]["finalizers"] = Json::array();
  ASSERT_TRUE(api.Update(kWidgets, w).ok());
  ASSERT_FALSE(api.Has(kWidgets, {"", "w1"}));
  EXPECT_EQ(r.Reconcile({"", "w1"}).kind, Result::Kind::kDone);
  Widget({}, {{kExternalName, "w1"}});
  r.Reconcile({"", "w1"});
  EXPECT_EQ(asked(), "widgets w1 ");
}

// A pass that throws after it wrote the object (here the external-name
// annotation) still records that write's version.
TEST_F(ManagedTest, APassThatThrowsStillRecordsWhatItWrote) {
  Widget();
  script.observe_throws = true;
  auto r = Reconciler();
  EXPECT_THROW(r.Reconcile({"", "w1"}), std::runtime_error);
  const std::string written = Get()["metadata"]["resourceVersion"];
  ASSERT_EQ(Get()["metadata"]["annotations"][kExternalName], "w1");
  script.observe_throws = false;
  r.Reconcile({"", "w1"});
  EXPECT_EQ(api.not_older_than.back(), "widgets w1 " + written);
}

TEST_F(ManagedTest, UpdateErrorsAreReported) {
  Widget();
  script.observations = {Exists(false)};
  script.update_error = "apply failed: denied";
  auto r = Reconciler();
  EXPECT_EQ(r.Reconcile({"", "w1"}).kind, Result::Kind::kBackoff);
  EXPECT_EQ(Condition("Synced")["message"], "update failed: apply failed: denied");
  EXPECT_TRUE(sink.Has("CannotUpdateExternalResource"));
}

TEST_F(ManagedTest, PoliciesWithoutUpdateOnlyObserveDrift) {
  Widget({{"managementPolicies", {"Observe", "Create"}}});
  script.observations = {Exists(false)};
  auto r = Reconciler();
  r.Reconcile({"", "w1"});
  EXPECT_EQ(std::count(script.calls.begin(), script.calls.end(), "update"), 0);
  EXPECT_EQ(Reason("Synced"), "ReconcileSuccess");
}

struct RecordingChangeLog : ChangeLog {
  void Record(ChangeEntry entry) override { entries.push_back(std::move(entry)); }
  std::vector<ChangeEntry> entries;
};

TEST_F(ManagedTest, EveryChangeAndEveryFailedChangeIsLoggedWithTheResourceAsItWas) {
  RecordingChangeLog log;
  ManagedOptions o;
  o.change_log = &log;
  Json w = Widget({{"forProvider", {{"size", 1}}}});
  w["metadata"]["managedFields"] = Json::array({{{"manager", "kubectl"}}});
  ASSERT_TRUE(api.Update(kWidgets, w).ok());
  script.observations = {Observation{}, Exists(false), Exists()};
  auto r = Reconciler(o);
  r.Reconcile({"", "w1"});  // created
  ASSERT_EQ(log.entries.size(), 1u);
  EXPECT_EQ(log.entries[0].operation, ChangeOperation::kCreate);
  EXPECT_TRUE(log.entries[0].error.empty());
  EXPECT_EQ(log.entries[0].snapshot["spec"]["forProvider"]["size"], 1);
  EXPECT_FALSE(log.entries[0].snapshot["metadata"].contains("managedFields"));
  // As it was before the change: the create-pending annotation was set just
  // before Create ran, the succeeded one after.
  EXPECT_TRUE(log.entries[0].snapshot["metadata"]["annotations"].contains(kCreatePending));
  EXPECT_FALSE(log.entries[0].snapshot["metadata"]["annotations"].contains(kCreateSucceeded));

  script.update_error = "apply failed";
  r.Reconcile({"", "w1"});  // drifted: the update fails
  ASSERT_EQ(log.entries.size(), 2u);
  EXPECT_EQ(log.entries[1].operation, ChangeOperation::kUpdate);
  EXPECT_EQ(log.entries[1].error, "apply failed");

  r.Reconcile({"", "w1"});  // up to date: nothing to log
  EXPECT_EQ(log.entries.size(), 2u);
}

TEST_F(ManagedTest, DriftOfAnObserveOnlyResourceIsLoggedAsSeenNotChanged) {
  RecordingChangeLog log;
  ManagedOptions o;
  o.change_log = &log;
  Widget({{"managementPolicies", {"Observe"}}});
  script.observations = {Exists(false), Exists(true)};
  auto r = Reconciler(o);
  r.Reconcile({"", "w1"});
  ASSERT_EQ(log.entries.size(), 1u);
  EXPECT_EQ(log.entries[0].operation, ChangeOperation::kObservedDrift);
  r.Reconcile({"", "w1"});  // in sync again: nothing
  EXPECT_EQ(log.entries.size(), 1u);
  EXPECT_EQ(std::count(script.calls.begin(), script.calls.end(), "update"), 0);
}

TEST_F(ManagedTest, PoliciesWithoutCreateNeverCreate) {
  Widget({{"managementPolicies", {"Observe", "Update"}}});
  auto r = Reconciler();
  r.Reconcile({"", "w1"});
  EXPECT_EQ(std::count(script.calls.begin(), script.calls.end(), "create"), 0);
}

class DeletionTest : public ManagedTest {
 protected:
  void Delete(Json spec = Json::object(), Json finalizers = Json::array({kFinalizer})) {
    Widget(spec, {{kExternalName, "w1"}});
    Json w = Get();
    w["metadata"]["finalizers"] = finalizers;
    ASSERT_TRUE(api.Update(kWidgets, w).ok());
    ASSERT_TRUE(api.Delete(kWidgets, {"", "w1"}).ok());
  }
};

TEST_F(DeletionTest, DeletesThenReleasesTheFinalizer) {
  Delete();
  script.observations = {Exists(), Observation{}};
  auto r = Reconciler();
  const Result first = r.Reconcile({"", "w1"});
  // Observed again through the rate limiter, never in a tight loop.
  EXPECT_EQ(first.kind, Result::Kind::kBackoff);
  EXPECT_EQ(std::count(script.calls.begin(), script.calls.end(), "delete"), 1);
  EXPECT_EQ(Reason("Ready"), "Deleting");
  EXPECT_TRUE(sink.Has("DeletedExternalResource"));
  EXPECT_TRUE(api.Has(kUsages, {"", Get()["metadata"]["uid"]}));

  EXPECT_EQ(r.Reconcile({"", "w1"}).kind, Result::Kind::kDone);
  EXPECT_FALSE(api.Has(kWidgets, {"", "w1"})) << "the finalizer went, so did the object";
  EXPECT_TRUE(api.All(kUsages).empty()) << "its ProviderConfigUsage goes with it";

  // Its version is forgotten with it: one made again under the same name is
  // first read with a plain read.
  Widget({}, {{kExternalName, "w1"}});
  r.Reconcile({"", "w1"});
  EXPECT_EQ(api.not_older_than.back(), "widgets w1 ");
}

TEST_F(DeletionTest, TheDeleteIsLogged) {
  RecordingChangeLog log;
  ManagedOptions o;
  o.change_log = &log;
  Delete();
  script.observations = {Exists(), Observation{}};
  auto r = Reconciler(o);
  r.Reconcile({"", "w1"});
  ASSERT_EQ(log.entries.size(), 1u);
  EXPECT_EQ(log.entries[0].operation, ChangeOperation::kDelete);
  EXPECT_TRUE(log.entries[0].snapshot["metadata"].contains("deletionTimestamp"));
  EXPECT_EQ(r.Reconcile({"", "w1"}).kind, Result::Kind::kDone);  // gone: nothing more
  EXPECT_EQ(log.entries.size(), 1u);
}

TEST_F(DeletionTest, AJustCreatedResourceIsReleasedWithoutWaitingForTheGracePeriod) {
  Delete();
  Json w = Get();
  SetAnnotation(w, kCreateSucceeded, kube::Rfc3339(clock.now - 5s));
  ASSERT_TRUE(api.Update(kWidgets, w).ok());
  auto r = Reconciler();
  EXPECT_EQ(r.Reconcile({"", "w1"}).kind, Result::Kind::kDone);
  EXPECT_FALSE(api.Has(kWidgets, {"", "w1"}));
  EXPECT_FALSE(sink.Has("PendingExternalResource"));
}

TEST_F(DeletionTest, DeleteErrorsKeepTheFinalizer) {
  Delete();
  script.observations = {Exists()};
  script.delete_error = "destroy failed: locked";
  auto r = Reconciler();
  EXPECT_EQ(r.Reconcile({"", "w1"}).kind, Result::Kind::kBackoff);
  EXPECT_EQ(Reason("Ready"), "Deleting");
  EXPECT_EQ(Condition("Synced")["message"], "delete failed: destroy failed: locked");
  EXPECT_TRUE(sink.Has("CannotDeleteExternalResource"));
  EXPECT_TRUE(api.Has(kWidgets, {"", "w1"}));
}

TEST_F(DeletionTest, WaitsForOtherFinalizers) {
  Delete(Json::object(), {kFinalizer, "protection.crossplane.io/usage"});
  script.observations = {Exists()};
  auto r = Reconciler();
  EXPECT_EQ(r.Reconcile({"", "w1"}).kind, Result::Kind::kBackoff);
  EXPECT_EQ(std::count(script.calls.begin(), script.calls.end(), "delete"), 0);
}

TEST_F(DeletionTest, OrphanKeepsTheExternalResource) {
  Delete({{"deletionPolicy", "Orphan"}});
  script.observations = {Exists()};
  auto r = Reconciler();
  EXPECT_EQ(r.Reconcile({"", "w1"}).kind, Result::Kind::kDone);
  EXPECT_TRUE(script.calls.empty());
  EXPECT_FALSE(api.Has(kWidgets, {"", "w1"}));
}

TEST_F(DeletionTest, NonDefaultPoliciesWinOverDeletionPolicy) {
  Delete({{"deletionPolicy", "Orphan"}, {"managementPolicies", {"Observe", "Delete"}}});
  script.observations = {Exists()};
  auto r = Reconciler();
  r.Reconcile({"", "w1"});
  EXPECT_EQ(std::count(script.calls.begin(), script.calls.end(), "delete"), 1);
}

TEST_F(ManagedTest, ReconcileRequestIsAcknowledged) {
  Widget({}, {{kReconcileRequestedAt, "token-1"}});
  script.observations = {Exists()};
  auto r = Reconciler();
  r.Reconcile({"", "w1"});
  EXPECT_EQ(Get()["status"]["lastHandledReconcileAt"], "token-1");
  EXPECT_TRUE(sink.Has("ReconcileRequestHandled"));
  sink.events.clear();
  r.Reconcile({"", "w1"});
  EXPECT_FALSE(sink.Has("ReconcileRequestHandled"));
}

TEST_F(ManagedTest, ConnectionDetailsAreAdditiveAndOwned) {
  Widget({{"writeConnectionSecretToRef", {{"name", "conn"}, {"namespace", "team"}}}});
  api.Seed(kube::kSecrets, {{"metadata", {{"name", "conn"}, {"namespace", "team"}}},
                            {"data", {{"kept", Base64Encode("old")}}}});
  Observation o = Exists();
  o.details = {{"url", "u"}};
  script.observations = {o};
  auto r = Reconciler();
  r.Reconcile({"", "w1"});
  Json secret = api.Peek(kube::kSecrets, {"team", "conn"});
  EXPECT_EQ(Base64Decode(secret["data"]["kept"]), "old");
  EXPECT_EQ(Base64Decode(secret["data"]["url"]), "u");
  // Unchanged details: no write.
  const std::string version = secret["metadata"]["resourceVersion"];
  r.Reconcile({"", "w1"});
  EXPECT_EQ(api.Peek(kube::kSecrets, {"team", "conn"})["metadata"]["resourceVersion"], version);
}

TEST_F(ManagedTest, ASecretControlledByAnotherResourceIsNotOverwritten) {
  Widget({{"writeConnectionSecretToRef", {{"name", "conn"}, {"namespace", "team"}}}});
  api.Seed(kube::kSecrets,
           {{"metadata",
             {{"name", "conn"},
              {"namespace", "team"},
              {"ownerReferences",
               {{{"kind", "Widget"}, {"name", "other"}, {"uid", "x"}, {"controller", true}}}}}}});
  Observation o = Exists();
  o.details = {{"url", "u"}};
  script.observations = {o};
  auto r = Reconciler();
  EXPECT_EQ(r.Reconcile({"", "w1"}).kind, Result::Kind::kBackoff);
  EXPECT_NE(Condition("Synced").value("message", "").find("controlled by another resource"),
            std::string::npos);
  EXPECT_TRUE(sink.Has("CannotPublishConnectionDetails"));
}

TEST_F(ManagedTest, AStatusConflictIsRetriedQuietly) {
  Widget({}, {{kExternalName, "w1"}});
  script.observations = {Exists()};
  api.hook = [](const std::string& verb, const kube::Resource&, const kube::ObjectKey&) {
    if (verb == "status") return kube::ApiError(409, "Conflict", "modified").ToStatus();
    return absl::OkStatus();
  };
  auto r = Reconciler();
  EXPECT_EQ(r.Reconcile({"", "w1"}).kind, Result::Kind::kBackoff);
  EXPECT_TRUE(sink.events.empty());
}

TEST_F(ManagedTest, UnchangedConditionsKeepTheirTransitionTime) {
  Widget();
  script.observations = {Exists()};
  auto r = Reconciler();
  r.Reconcile({"", "w1"});
  const std::string first = Condition("Synced")["lastTransitionTime"];
  clock.now += 1h;
  r.Reconcile({"", "w1"});
  EXPECT_EQ(Condition("Synced")["lastTransitionTime"], first);
  EXPECT_EQ(Get()["status"]["observedGeneration"], 1);
}

// A change the watch brought (Saw) bounds the next read, also when it came
// during a pass that then ends with an older version, the object's first
// pass included (which still reads plainly).
TEST_F(ManagedTest, AVersionTheWatchSawBoundsTheNextRead) {
  Widget({}, {{kExternalName, "w1"}});
  script.observations = {Exists()};
  auto r = Reconciler();
  const auto later_than_now = [&](int64_t by) {
    Json later = Get();
    later["metadata"]["resourceVersion"] =
        std::to_string(std::stoll(later["metadata"]["resourceVersion"].get<std::string>()) + by);
    return later;
  };
  for (const char* pass : {"the first pass", "a later pass"}) {
    SCOPED_TRACE(pass);
    const Json later = later_than_now(10);
    script.on_observe = [&](Json&) { r.Saw(later); };  // arrives mid-pass
    r.Reconcile({"", "w1"});
    if (std::string(pass) == "the first pass") {
      EXPECT_EQ(api.not_older_than.back(), "widgets w1 ") << "unknown: a plain read";
    }
    script.on_observe = nullptr;
    r.Reconcile({"", "w1"});
    EXPECT_EQ(api.not_older_than.back(),
              "widgets w1 " + later["metadata"]["resourceVersion"].get<std::string>());
  }

  // A failed first read leaves the object unknown: the next read is plain.
  api.Seed(kWidgets, {{"metadata", {{"name", "w2"}}}, {"spec", Json::object()}});
  api.hook = [](const std::string& verb, const kube::Resource&, const kube::ObjectKey&) {
    return verb == "get" ? kube::ApiError(500, "InternalError", "boom").ToStatus()
                         : absl::OkStatus();
  };
  EXPECT_EQ(r.Reconcile({"", "w2"}).kind, Result::Kind::kBackoff);
  api.hook = nullptr;
  r.Reconcile({"", "w2"});
  EXPECT_EQ(api.not_older_than.back(), "widgets w2 ");
}

// A pass that leaves the status as it read it (an idle poll) sends no
// status write; one that changes anything, a condition or a field the
// client sets, does.
TEST_F(ManagedTest, APassThatChangesNoStatusWritesNone) {
  Widget({}, {{kExternalName, "w1"}});
  int writes = 0;
  api.hook = [&](const std::string& verb, const kube::Resource&, const kube::ObjectKey&) {
    if (verb == "status") ++writes;
    return absl::OkStatus();
  };
  script.observations = {Exists()};
  auto r = Reconciler();
  EXPECT_EQ(r.Reconcile({"", "w1"}).kind, Result::Kind::kAfter);
  EXPECT_EQ(writes, 1);
  const std::string version = Get()["metadata"]["resourceVersion"];

  clock.now += 1h;
  EXPECT_EQ(r.Reconcile({"", "w1"}).after, 10min) << "an unwritten pass still polls";
  EXPECT_EQ(writes, 1);
  EXPECT_EQ(Get()["metadata"]["resourceVersion"], version);

  script.on_observe = [](Json& mr) { mr["status"]["atProvider"]["seen"] = 2; };
  r.Reconcile({"", "w1"});
  EXPECT_EQ(writes, 2) << "a field the client changed";
  EXPECT_EQ(Get()["status"]["atProvider"]["seen"], 2);

  script.on_observe = nullptr;
  Json changed = Get();
  changed["spec"]["size"] = 2;
  ASSERT_TRUE(api.Update(kWidgets, changed).ok());
  r.Reconcile({"", "w1"});
  EXPECT_EQ(writes, 3) << "a newer generation observed";
  EXPECT_EQ(Get()["status"]["observedGeneration"], 2);

  script.observe_error = "plan failed: boom";
  EXPECT_EQ(r.Reconcile({"", "w1"}).kind, Result::Kind::kBackoff);
  EXPECT_EQ(writes, 4) << "a condition";
  EXPECT_EQ(Reason("Synced"), "ReconcileError");
}

// Namespaced resources: typed ProviderConfig references, a ClusterProviderConfig
// named default.
class ModernManagedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    script.observations = {Exists()};
    api.Seed(kClusterConfigs, {{"metadata", {{"name", "default"}}}});
  }
  ManagedReconciler Reconciler() {
    ManagedOptions o;
    o.resource = kNsWidgets;
    return ManagedReconciler(api, sink, clock, connector, configs, o);
  }

  FakeClient api;
  FakeClock clock;
  RecordingSink sink;
  Script script;
  ScriptedConnector connector{script, api, kNsWidgets};
  ProviderConfigs configs{api, {kNsConfigs, kClusterConfigs, kNsUsages, true}};
};

TEST_F(ModernManagedTest, NamespacedResourcesUseTypedProviderConfigs) {
  api.Seed(kNsConfigs, {{"metadata", {{"name", "team"}, {"namespace", "a"}}}});
  api.Seed(kNsWidgets, {{"metadata", {{"name", "w"}, {"namespace", "a"}}}});
  api.Seed(kNsWidgets,
           {{"metadata", {{"name", "w"}, {"namespace", "b"}}},
            {"spec", {{"providerConfigRef", {{"kind", "ProviderConfig"}, {"name", "team"}}}}}});
  ManagedReconciler r = Reconciler();

  r.Reconcile({"a", "w"});
  EXPECT_EQ(script.calls.front(), "connect default") << "ClusterProviderConfig by default";
  const Json a = api.Peek(kNsWidgets, {"a", "w"});
  const Json usage = api.Peek(kNsUsages, {"a", a["metadata"]["uid"]});
  EXPECT_EQ(usage["providerConfigRef"],
            (Json{{"kind", "ClusterProviderConfig"}, {"name", "default"}}));
  EXPECT_EQ(usage["metadata"]["labels"][kProviderConfigKindLabel], "ClusterProviderConfig");

  // A ProviderConfig is looked up in the resource's own namespace: "team"
  // lives in a, not b.
  r.Reconcile({"b", "w"});
  EXPECT_EQ(GetCondition(api.Peek(kNsWidgets, {"b", "w"}), "Synced")["message"],
            "connect failed: cannot get ProviderConfig \"b/team\": not found "
            "(spec.providerConfigRef names it)");
}

TEST_F(ModernManagedTest, DeletionFollowsManagementPoliciesOnly) {
  api.Seed(kNsWidgets,
           {{"metadata", {{"name", "w"}, {"namespace", "a"}, {"finalizers", {kFinalizer}}}},
            {"spec", {{"managementPolicies", {"Observe", "Create", "Update"}}}}});
  ASSERT_TRUE(api.Delete(kNsWidgets, {"a", "w"}).ok());
  ManagedReconciler r = Reconciler();
  r.Reconcile({"a", "w"});
  EXPECT_FALSE(api.Has(kNsWidgets, {"a", "w"}));
  EXPECT_TRUE(script.calls.empty());
}

TEST(ProviderConfigReconcilerTest, CountsUsersAndHoldsDeletionWhileUsed) {
  FakeClient api;
  FakeClock clock;
  RecordingSink sink;
  api.Seed(kConfigs, {{"metadata", {{"name", "default"}}}});
  api.Seed(kUsages,
           {{"metadata", {{"name", "u1"}, {"labels", {{kProviderConfigLabel, "default"}}}}},
            {"providerConfigRef", {{"name", "default"}}}});
  api.Seed(kUsages, {{"metadata", {{"name", "u2"}, {"labels", {{kProviderConfigLabel, "other"}}}}},
                     {"providerConfigRef", {{"name", "other"}}}});
  ProviderConfigReconciler r(api, sink, clock, kConfigs, kUsages, false);
  ASSERT_TRUE(r.Reconcile({"", "default"}));
  Json pc = api.Peek(kConfigs, {"", "default"});
  EXPECT_EQ(pc["status"]["users"], 1);
  EXPECT_EQ(pc["metadata"]["finalizers"], Json::array({kInUseFinalizer}));

  ASSERT_TRUE(api.Delete(kConfigs, {"", "default"}).ok());
  ASSERT_TRUE(r.Reconcile({"", "default"}));
  pc = api.Peek(kConfigs, {"", "default"});
  EXPECT_EQ(GetCondition(pc, "Terminating")["reason"], "InUse");
  EXPECT_TRUE(sink.Has("UsageAccounting"));

  ASSERT_TRUE(api.Delete(kUsages, {"", "u1"}).ok());
  ASSERT_TRUE(r.Reconcile({"", "default"}));
  EXPECT_FALSE(api.Has(kConfigs, {"", "default"}));
}

TEST(ProviderConfigReconcilerTest, CountsUsersInTheCacheButConfirmsTheLastOneWithTheApi) {
  FakeClient api;
  FakeClock clock;
  RecordingSink sink;
  api.Seed(kConfigs, {{"metadata", {{"name", "default"}}}});
  api.Seed(kUsages,
           {{"metadata", {{"name", "u1"}, {"labels", {{kProviderConfigLabel, "default"}}}}},
            {"providerConfigRef", {{"name", "default"}}}});
  // The cache: two users of default, one of another config.
  std::vector<Json> cached = {
      {{"metadata", {{"name", "a"}, {"labels", {{kProviderConfigLabel, "default"}}}}}},
      {{"metadata", {{"name", "b"}, {"labels", {{kProviderConfigLabel, "default"}}}}}},
      {{"metadata", {{"name", "c"}, {"labels", {{kProviderConfigLabel, "other"}}}}}}};
  ConfigCache cache;
  cache.count = [&](const kube::Resource& r, const std::function<bool(const Json&)>& match) {
    EXPECT_EQ(r, kUsages);
    return std::optional<int64_t>(std::count_if(cached.begin(), cached.end(), match));
  };
  ProviderConfigReconciler r(api, sink, clock, kConfigs, kUsages, false);
  r.UseCache(cache);
  api.calls.clear();
  ASSERT_TRUE(r.Reconcile({"", "default"}));
  EXPECT_EQ(api.Peek(kConfigs, {"", "default"})["status"]["users"], 2);
  for (const std::string& call : api.calls) EXPECT_NE(call.rfind("list", 0), 0u) << call;

  // Deleted while the cache has seen no user yet but the API server has
  // one: the finalizer stays.
  cached.clear();
  ASSERT_TRUE(api.Delete(kConfigs, {"", "default"}).ok());
  ASSERT_TRUE(r.Reconcile({"", "default"}));
  EXPECT_EQ(GetCondition(api.Peek(kConfigs, {"", "default"}), "Terminating")["reason"], "InUse");
  ASSERT_TRUE(api.Delete(kUsages, {"", "u1"}).ok());
  ASSERT_TRUE(r.Reconcile({"", "default"}));
  EXPECT_FALSE(api.Has(kConfigs, {"", "default"}));
}

TEST(PoliciesTest, DeletionDecisions) {
  auto should_delete = [](Json spec, bool legacy, bool enabled = true) {
    return Policies({{"spec", spec}}, legacy, enabled).ShouldDelete();
  };
  EXPECT_TRUE(should_delete(Json::object(), true));
  EXPECT_FALSE(should_delete({{"deletionPolicy", "Orphan"}}, true));
  EXPECT_FALSE(should_delete({{"deletionPolicy", "Orphan"}}, true, false));
  EXPECT_TRUE(should_delete(
      {{"deletionPolicy", "Orphan"}, {"managementPolicies", {"Observe", "Delete"}}}, true));
  EXPECT_FALSE(should_delete({{"managementPolicies", {"Observe", "Create"}}}, true));
  EXPECT_TRUE(should_delete(Json::object(), false));
  EXPECT_FALSE(should_delete({{"managementPolicies", {"Observe"}}}, false));
  EXPECT_TRUE(should_delete({{"managementPolicies", {"Observe"}}}, false, false));
}

TEST(DurationTest, ParsesGoDurations) {
  EXPECT_EQ(ParseDuration("90s").value(), std::chrono::milliseconds(90000));
  EXPECT_EQ(ParseDuration("1h30m").value(), std::chrono::milliseconds(5400000));
  EXPECT_EQ(ParseDuration("250ms").value(), std::chrono::milliseconds(250));
  EXPECT_EQ(ParseDuration("1.5s").value(), std::chrono::milliseconds(1500));
  EXPECT_FALSE(ParseDuration("10").ok());
  EXPECT_FALSE(ParseDuration("-1s").ok());
  EXPECT_FALSE(ParseDuration("1d").ok());
  EXPECT_FALSE(ParseDuration("").ok());
  EXPECT_EQ(FormatDuration(std::chrono::milliseconds(5400000)), "1h30m");
  EXPECT_EQ(FormatDuration(std::chrono::milliseconds(1500)), "1.5s");
}

TEST(ClockTest, Rfc3339RoundTrips) {
  absl::StatusOr<kube::Time> t = kube::ParseRfc3339("2026-11-27T16:28:11Z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(kube::Rfc3339(*t), "2026-11-27T16:28:11Z");
  t = kube::ParseRfc3339("2026-11-27T16:28:11.123456Z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(kube::Rfc3339Micro(*t), "2026-11-27T16:28:11.123456Z");
  t = kube::ParseRfc3339("2026-11-27T17:28:11+01:00");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(kube::Rfc3339(*t), "2026-11-27T16:28:11Z");
  EXPECT_FALSE(kube::ParseRfc3339("yesterday").ok());
  EXPECT_FALSE(kube::ParseRfc3339("2026-11-27T16:28:11").ok());
}

}  // namespace
}  // namespace runtime
