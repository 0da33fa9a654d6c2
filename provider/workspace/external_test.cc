// The Workspace's external client against an in-memory API server and a
// scripted stand-in for OpenTofu that logs each command it is given: what
// runs, in which order, and how a run is stopped.
#include "provider/workspace/external.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "provider/kube/forwarding_client.h"
#include "provider/kube/lease.h"
#include "provider/kube/resources.h"
#include "provider/testing/fake_client.h"
#include "provider/testing/fake_clock.h"
#include "provider/testing/status.h"
#include "provider/testing/temp_dir.h"
#include "provider/workspace/kinds.h"
#include "provider/workspace/state_store.h"

namespace workspace {
namespace {

using kube::Json;
using kube::testing::FakeClient;
using kube::testing::FakeClock;
using provider::testing::FileContent;
using provider::testing::TempDir;

// Logs its subcommand to $FAKE_LOG. init: writes $INIT_LOCK (if set) as the
// dependency lock file. plan: sleeps $PLAN_SLEEP (if set); on SIGINT logs
// "interrupted", takes $STOP_TAKES seconds, logs "stopped" and fails; else
// reports $PLAN_REMOVE (default 1) resources to destroy (0: no changes).
// show: a fixed plan. apply and destroy: leave the next serial of the same
// lineage, holding nothing, then sleep $APPLY_SLEEP (if set; on SIGINT log
// "interrupted", wait up to 10 s for the file $GO_ON, and fail).
constexpr char kFakeTofu[] = R"(#!/bin/bash
echo "$*" >> "$FAKE_LOG"
case "$1" in
  init)
    if [ -n "$INIT_LOCK" ]; then echo "$INIT_LOCK" > .terraform.lock.hcl; fi
    exit 0 ;;
  plan)
    trap 'echo interrupted >> "$FAKE_LOG"; sleep "${STOP_TAKES:-0}"; echo stopped >> "$FAKE_LOG"; exit 1' INT
    if [ -n "$PLAN_SLEEP" ]; then sleep "$PLAN_SLEEP" & wait $!; fi
    echo '{"type":"change_summary","changes":{"add":0,"change":0,"remove":'"${PLAN_REMOVE:-1}"'}}'
    if [ "${PLAN_REMOVE:-1}" = 0 ]; then exit 0; fi
    exit 2 ;;
  show)
    echo '{"resource_changes":[{"address":"terraform_data.x","change":{"actions":["delete"],"before":{"id":"1"},"after":null}}]}'
    exit 0 ;;
  apply|destroy)
    serial=$(grep -o '"serial": *[0-9]*' terraform.tfstate 2>/dev/null | grep -o '[0-9]*$')
    echo '{"version":4,"serial":'$(( ${serial:-1} + 1 ))',"lineage":"lineage-1","resources":[],"outputs":{}}' > terraform.tfstate
    if [ -n "$APPLY_SLEEP" ]; then
      trap 'echo interrupted >> "$FAKE_LOG"; for i in $(seq 1000); do [ -e "$GO_ON" ] && break; sleep 0.01; done; exit 1' INT
      sleep "$APPLY_SLEEP" & wait $!
    fi
    exit 0 ;;
esac
exit 0
)";

constexpr char kStoredState[] =
    R"({"version":4,"serial":1,"lineage":"lineage-1","resources":[{"mode":"managed",)"
    R"("type":"terraform_data","name":"x","instances":[{"attributes":{"id":"1"}}]}],"outputs":{}})";

class WorkspaceClientTest : public ::testing::Test {
 protected:
  WorkspaceClientTest() {
    tofu = root.Write("bin/tofu", kFakeTofu);
    ::chmod(tofu.c_str(), 0755);
    options.tofu_binary = tofu;
    options.work_root = root / "work";
    options.cache_root = root / "cache";
    options.identity = "test-host-1-aaaa";
    options.default_state_namespace = "state";
  }

  Json Workspace(const std::string& module = "resource \"terraform_data\" \"x\" {}\n") {
    return {{"apiVersion", "terraform.workloads.m.terraforming.io/v1alpha1"},
            {"kind", "Workspace"},
            {"metadata", {{"name", "app"}, {"namespace", "team"}, {"uid", "uid-1"}}},
            {"spec",
             {{"forProvider",
               {{"source", "Inline"},
                {"module", module},
                {"env", Json::array({{{"name", "FAKE_LOG"}, {"value", Log()}}})}}}}}};
  }
  Json Config(Json spec = Json::object()) {
    return {{"apiVersion", "terraform.workloads.m.terraforming.io/v1alpha1"},
            {"kind", "ClusterProviderConfig"},
            {"metadata", {{"name", "default"}}},
            {"spec", spec}};
  }
  static void Env(Json& mr, const std::string& name, const std::string& value) {
    mr["spec"]["forProvider"]["env"].push_back({{"name", name}, {"value", value}});
  }
  absl::StatusOr<std::unique_ptr<runtime::ExternalClient>> Connect(Json& mr, const Json& pc) {
    connector = std::make_unique<WorkspaceConnector>(client, events, clock, options);
    return connector->Connect(mr, pc);
  }
  void StoreState(const std::string& state) {
    StateStore store(client, StateStore::Options{"state", "uid-1", 5, std::nullopt, {}, {}});
    ASSERT_TRUE(store.Save(state).ok());
  }
  std::string Log() const { return root / "tofu.log"; }
  std::vector<std::string> Commands() const {
    std::vector<std::string> out;
    std::istringstream in(FileContent(Log()));
    for (std::string line; std::getline(in, line);) out.push_back(line.substr(0, line.find(' ')));
    return out;
  }
  bool HasEvent(const std::string& reason, const std::string& part) const {
    for (const auto& e : events.events) {
      if (e.reason == reason && e.message.find(part) != std::string::npos) return true;
    }
    return false;
  }

  struct Recorded {
    std::string type, reason, message;
  };
  struct Sink : runtime::EventSink {
    void Event(const Json&, const std::string& type, const std::string& reason,
               const std::string& message, const std::map<std::string, std::string>&) override {
      events.push_back({type, reason, message});
    }
    std::vector<Recorded> events;
  };

  TempDir root;
  std::string tofu;
  FakeClient client;
  FakeClock clock;
  Sink events;
  WorkspaceOptions options;
  std::unique_ptr<WorkspaceConnector> connector;
};

TEST_F(WorkspaceClientTest, AModuleWithItsOwnBackendIsRefusedBeforeAnythingRuns) {
  Json mr = Workspace("terraform {\n  backend \"s3\" {\n    bucket = \"b\"\n  }\n}\n");
  auto external = Connect(mr, Config());
  ASSERT_TRUE(external.ok()) << external.status();
  const absl::StatusOr<runtime::Observation> o = (*external)->Observe(mr);
  ASSERT_FALSE(o.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(o.status())) << o.status();
  const std::string message(o.status().message());
  EXPECT_NE(message.find("spec.forProvider.module"), std::string::npos) << message;
  EXPECT_NE(message.find("backend \"s3\""), std::string::npos) << message;
  EXPECT_NE(message.find("main.tf:2"), std::string::npos) << message;
  EXPECT_NE(message.find("may not declare a backend or a cloud block"), std::string::npos)
      << message;
  // Not even init: it would configure the module's backend.
  EXPECT_TRUE(Commands().empty()) << FileContent(Log());
}

TEST_F(WorkspaceClientTest, TheProviderConfigsStopGracePeriodIsWhatARunGets) {
  Json mr = Workspace();
  mr["spec"]["forProvider"]["timeout"] = "1s";
  Env(mr, "PLAN_SLEEP", "30");
  Env(mr, "STOP_TAKES", "6");
  auto external = Connect(mr, Config({{"stopGracePeriod", "1s"}}));
  ASSERT_TRUE(external.ok()) << external.status();
  const auto start = std::chrono::steady_clock::now();
  const absl::StatusOr<runtime::Observation> o = (*external)->Observe(mr);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(o.ok());
  EXPECT_TRUE(absl::IsDeadlineExceeded(o.status())) << o.status();
  // Interrupted at the timeout, killed one second later: it never finished
  // stopping (the old fixed grace of 10s would have let it).
  const std::string log = FileContent(Log());
  EXPECT_NE(log.find("interrupted"), std::string::npos) << log;
  EXPECT_EQ(log.find("stopped"), std::string::npos) << log;
  EXPECT_LT(took, std::chrono::seconds(5));
}

TEST_F(WorkspaceClientTest, WithoutAStopGracePeriodARunGetsTheProvidersDefault) {
  options.default_stop_grace = std::chrono::seconds(8);
  Json mr = Workspace();
  mr["spec"]["forProvider"]["timeout"] = "1s";
  Env(mr, "PLAN_SLEEP", "30");
  Env(mr, "STOP_TAKES", "2");
  auto external = Connect(mr, Config());
  ASSERT_TRUE(external.ok()) << external.status();
  const absl::StatusOr<runtime::Observation> o = (*external)->Observe(mr);
  ASSERT_FALSE(o.ok());
  // Interrupted, and given the time it took to stop.
  const std::string log = FileContent(Log());
  EXPECT_NE(log.find("interrupted"), std::string::npos) << log;
  EXPECT_NE(log.find("stopped"), std::string::npos) << log;
  EXPECT_EQ(WorkspaceOptions().default_stop_grace, std::chrono::minutes(5));
}

TEST_F(WorkspaceClientTest, AStopGracePeriodThatIsNoDurationNamesTheField) {
  Json mr = Workspace();
  auto external = Connect(mr, Config({{"stopGracePeriod", "soon"}}));
  ASSERT_FALSE(external.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(external.status()));
  EXPECT_NE(external.status().message().find("ProviderConfig spec.stopGracePeriod: \"soon\""),
            std::string::npos)
      << external.status();
}

TEST_F(WorkspaceClientTest, InputsAreReadNotOlderThanTheConnectorsLastReadOfThem) {
  const Json key = client.Seed(
      kube::kSecrets, {{"apiVersion", "v1"},
                       {"kind", "Secret"},
                       {"metadata", {{"namespace", "state"}, {"name", "state-key"}}},
                       {"data", {{"key", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}}}});
  const Json vars =
      client.Seed(kube::kConfigMaps, {{"apiVersion", "v1"},
                                      {"kind", "ConfigMap"},
                                      {"metadata", {{"namespace", "team"}, {"name", "vars"}}},
                                      {"data", {{"vars.json", R"({"size": 1})"}}}});
  Json mr = Workspace();
  mr["spec"]["forProvider"]["varFiles"] =
      Json::array({{{"source", "ConfigMapKey"},
                    {"format", "JSON"},
                    {"configMapKeyRef", {{"name", "vars"}, {"key", "vars.json"}}}}});
  const Json pc = Config({{"state",
                           {{"encryptionKeySecretRef",
                             {{"namespace", "state"}, {"name", "state-key"}, {"key", "key"}}}}}});
  connector = std::make_unique<WorkspaceConnector>(client, events, clock, options);
  ASSERT_TRUE(connector->Connect(mr, pc).ok());
  ASSERT_TRUE(connector->Connect(mr, pc).ok());
  // The first read of each input is a plain one; the connector's next
  // reads are not older than what it returned (from the watch cache).
  const std::string key_version = key["metadata"]["resourceVersion"];
  const std::string vars_version = vars["metadata"]["resourceVersion"];
  const std::vector<std::string> inputs = {"secrets state/state-key ", "configmaps team/vars ",
                                           "secrets state/state-key " + key_version,
                                           "configmaps team/vars " + vars_version};
  EXPECT_EQ(client.not_older_than, inputs);
  // The state and its lock are read as they are now, never from the cache.
  auto external = connector->Connect(mr, pc);
  ASSERT_TRUE(external.ok()) << external.status();
  client.not_older_than.clear();
  ASSERT_TRUE((*external)->Observe(mr).ok());
  EXPECT_TRUE(client.not_older_than.empty()) << ::testing::PrintToString(client.not_older_than);
  EXPECT_NE(std::find(client.calls.begin(), client.calls.end(),
                      "get secrets state/" + StateStore::SecretName("uid-1")),
            client.calls.end());
}

TEST_F(WorkspaceClientTest, TheLockWaitEndsAtTheReconcileDeadline) {
  // A live holder on another host: its lock is waited for.
  ASSERT_TRUE(
      client
          .Create(kube::kLeases, {{"apiVersion", "coordination.k8s.io/v1"},
                                  {"kind", "Lease"},
                                  {"metadata", {{"name", "tflock-uid-1"}, {"namespace", "state"}}},
                                  {"spec",
                                   {{"holderIdentity", "other-host-7-bbbb"},
                                    {"leaseDurationSeconds", 3600},
                                    {"acquireTime", kube::Rfc3339(clock.now)},
                                    {"renewTime", kube::Rfc3339(clock.now)}}}})
          .ok());
  options.lock_wait = std::chrono::seconds(60);
  options.reconcile_margin = std::chrono::seconds(1);
  Json mr = Workspace();
  mr["spec"]["forProvider"]["timeout"] = "1s";
  auto external = Connect(mr, Config());
  ASSERT_TRUE(external.ok()) << external.status();
  const auto start = std::chrono::steady_clock::now();
  const absl::StatusOr<runtime::Observation> o = (*external)->Observe(mr);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(o.ok());
  EXPECT_TRUE(absl::IsUnavailable(o.status())) << o.status();
  EXPECT_LT(took, std::chrono::seconds(10));
  EXPECT_TRUE(Commands().empty());
}

TEST_F(WorkspaceClientTest, ARunStopsAtTheReconcileDeadline) {
  // The timeout alone would let the plan run on; the deadline (timeout plus
  // margin, from the start of the reconcile) is spent waiting for the lock.
  ASSERT_TRUE(
      client
          .Create(kube::kLeases, {{"apiVersion", "coordination.k8s.io/v1"},
                                  {"kind", "Lease"},
                                  {"metadata", {{"name", "tflock-uid-1"}, {"namespace", "state"}}},
                                  {"spec",
                                   {{"holderIdentity", "other-host-7-bbbb"},
                                    {"leaseDurationSeconds", 3600},
                                    {"renewTime", kube::Rfc3339(clock.now)}}}})
          .ok());
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    absl::StatusOr<Json> lease = client.Get(kube::kLeases, {"state", "tflock-uid-1"});
    if (!lease.ok()) return;
    (*lease)["spec"]["holderIdentity"] = "";
    (void)client.Update(kube::kLeases, *lease);
  });
  options.lock_wait = std::chrono::seconds(60);
  options.reconcile_margin = std::chrono::seconds(0);
  Json mr = Workspace();
  mr["spec"]["forProvider"]["timeout"] = "4s";
  Env(mr, "PLAN_SLEEP", "3");
  auto external = Connect(mr, Config({{"stopGracePeriod", "1s"}}));
  ASSERT_TRUE(external.ok()) << external.status();
  const absl::StatusOr<runtime::Observation> o = (*external)->Observe(mr);
  release.join();
  ASSERT_FALSE(o.ok());
  EXPECT_TRUE(absl::IsDeadlineExceeded(o.status())) << o.status();
  EXPECT_NE(o.status().message().find("deadline"), std::string::npos) << o.status();
  EXPECT_NE(FileContent(Log()).find("interrupted"), std::string::npos) << FileContent(Log());
}

// The in-memory API server behind a client that runs `before` and `after`
// (when set) around each read, outside the server's lock: a test's other
// writer acts between two requests of a reconcile.
class SpyClient : public kube::ForwardingClient {
 public:
  explicit SpyClient(kube::Client& inner) : ForwardingClient(inner) {}

  absl::StatusOr<Json> Get(const kube::Resource& r, const kube::ObjectKey& key) override {
    if (before) before(r, key);
    absl::StatusOr<Json> got = inner().Get(r, key);
    if (after) after(r, key);
    return got;
  }
  absl::StatusOr<Json> GetNotOlderThan(const kube::Resource& r, const kube::ObjectKey& key,
                                       const std::string& resource_version) override {
    if (before) before(r, key);
    absl::StatusOr<Json> got = inner().GetNotOlderThan(r, key, resource_version);
    if (after) after(r, key);
    return got;
  }

  std::function<void(const kube::Resource&r, const kube::ObjectKey&key)> before, after;
};

// What a reconcile did with the state lock and the state: lease writes
// (create, update, delete), lease reads, state reads, and plans.
struct LockUse {
  int lease_writes = 0, lease_reads = 0, state_reads = 0, plans = 0;
};

class UnlockedPlanTest : public WorkspaceClientTest {
 protected:
  UnlockedPlanTest() { options.lock_wait = std::chrono::milliseconds(0); }

  // One reconcile of `mr`: Observe, then Update when it is not up to date.
  absl::StatusOr<runtime::Observation> Reconcile(Json& mr, LockUse* use) {
    client.calls.clear();
    events.events.clear();
    const size_t logged = Commands().size();
    connector = std::make_unique<WorkspaceConnector>(spy, events, clock, options);
    auto external = connector->Connect(mr, Config());
    if (!external.ok()) return external.status();
    absl::StatusOr<runtime::Observation> o = (*external)->Observe(mr);
    if (o.ok() && !o->up_to_date) {
      absl::StatusOr<runtime::ExternalResult> applied = (*external)->Update(mr);
      if (!applied.ok()) o = applied.status();
    }
    EXPECT_TRUE((*external)->Disconnect().ok());
    spy.before = nullptr;
    spy.after = nullptr;
    *use = {};
    for (const std::string& call : client.calls) {
      if (call.ends_with(" leases state/tflock-uid-1")) {
        (call.starts_with("get ") ? use->lease_reads : use->lease_writes)++;
      }
      if (call == "get secrets state/tfstate-uid-1") use->state_reads++;
    }
    const std::vector<std::string> commands = Commands();
    use->plans = static_cast<int>(std::count(commands.begin() + logged, commands.end(), "plan"));
    return o;
  }
  // A Workspace with a stored state and a plan that finds no changes,
  // reconciled once. The first reconcile of this process has nothing
  // released: under the lock (created, then released), the state read once.
  Json ReleasedOnce() {
    StoreState(kStoredState);
    Json mr = Workspace();
    Env(mr, "PLAN_REMOVE", "0");
    LockUse use;
    const absl::StatusOr<runtime::Observation> first = Reconcile(mr, &use);
    // A setup that failed fails the test here (the caller goes on).
    EXPECT_TRUE(first.ok()) << first.status();
    EXPECT_EQ(use.lease_writes, 2);
    EXPECT_EQ(use.state_reads, 1);
    return mr;
  }
  // What the plan finds to destroy (0: no changes).
  static void PlanRemoves(Json& mr, int count) {
    for (Json& var : mr["spec"]["forProvider"]["env"]) {
      if (var["name"] == "PLAN_REMOVE") var["value"] = std::to_string(count);
    }
  }
  // Another replica takes the lock, stores `serial` (unless 0) and, with
  // `release`, lets the lock go again.
  void OtherHolder(int64_t serial, bool release = true) {
    other =
        std::make_unique<kube::LeaseLock>(client, clock, kube::ObjectKey{"state", "tflock-uid-1"},
                                          "other-host-7-bbbb", std::chrono::seconds(3600));
    ASSERT_TRUE(other->TryAcquire().value());
    if (serial != 0) StoreState(StateOfSerial(serial));
    if (release) other->Release();
  }
  // OtherHolder(serial) once, right after the first read of `plural`'s
  // object `name` in the next reconcile.
  void OtherHolderAfterRead(const std::string& plural, const std::string& name, int64_t serial) {
    auto done = std::make_shared<std::atomic<bool>>(false);
    spy.after = [=, this](const kube::Resource& r, const kube::ObjectKey& key) {
      if (r.plural == plural && key.name == name && !done->exchange(true)) OtherHolder(serial);
    };
  }
  static std::string StateOfSerial(int64_t serial) {
    std::string state = kStoredState;
    state.replace(state.find("\"serial\":1"), 10, "\"serial\":" + std::to_string(serial));
    return state;
  }
  static int64_t Serial(const Json& mr) {
    return mr["status"]["atProvider"]["state"].value("serial", int64_t{-1});
  }
  int EventsOf(const std::string& reason) const {
    return static_cast<int>(std::count_if(events.events.begin(), events.events.end(),
                                          [&](const Recorded& e) { return e.reason == reason; }));
  }
  SpyClient spy{client};
  std::unique_ptr<kube::LeaseLock> other;
};

// An idle poll plans without the lock once this provider has released it:
// no lease write at all; one read of the state and, after it, one of the
// lease.
TEST_F(UnlockedPlanTest, AnIdlePollWritesNoLeaseOnceTheLockWasReleasedHere) {
  Json mr = ReleasedOnce();
  LockUse use;
  const Json status = mr["status"];
  clock.now += std::chrono::minutes(1);
  // Whether the plan had run when the lease was read.
  const auto plans = [&] {
    const std::vector<std::string> commands = Commands();
    return std::count(commands.begin(), commands.end(), "plan");
  };
  const auto plans_before = plans();
  int planned_at_lease_read = -1;
  spy.before = [&](const kube::Resource& r, const kube::ObjectKey&) {
    if (r.plural == "leases" && planned_at_lease_read < 0) {
      planned_at_lease_read = static_cast<int>(plans() - plans_before);
    }
  };
  const absl::StatusOr<runtime::Observation> o = Reconcile(mr, &use);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_TRUE(o->exists && o->up_to_date);
  EXPECT_EQ(planned_at_lease_read, 1) << "the lease must be read after the plan";
  EXPECT_EQ(use.lease_writes, 0) << "an idle poll took the lock";
  EXPECT_EQ(use.lease_reads, 1);
  EXPECT_EQ(use.state_reads, 1);
  EXPECT_EQ(use.plans, 1);
  EXPECT_EQ(mr["status"], status);
  EXPECT_EQ(kube::HolderOf(client.Peek(kube::kLeases, {"state", "tflock-uid-1"})), "");
}

// A plan that calls for an apply takes the lock before it: taken back as
// released here, the state read stands and the plan is applied.
TEST_F(UnlockedPlanTest, APlanWithChangesTakesTheLockBeforeItsApply) {
  Json mr = ReleasedOnce();
  LockUse use;
  PlanRemoves(mr, 1);
  // Whether the lock was taken when the state is written.
  int writes_unlocked = 0;
  client.hook = [&](const std::string& verb, const kube::Resource& r, const kube::ObjectKey& key) {
    if ((verb == "create" || verb == "update") && r.plural == "secrets" &&
        key.name.starts_with("tfstate-uid-1") &&
        std::count(client.calls.begin(), client.calls.end(), "update leases state/tflock-uid-1") ==
            0) {
      ++writes_unlocked;
    }
    return absl::OkStatus();
  };
  const absl::StatusOr<runtime::Observation> o = Reconcile(mr, &use);
  client.hook = nullptr;
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(writes_unlocked, 0) << "the state was stored without the lock";
  EXPECT_EQ(use.lease_writes, 2);
  EXPECT_EQ(use.plans, 1);
  EXPECT_EQ(Serial(mr), 2) << mr["status"].dump();
  EXPECT_TRUE(HasEvent("Applied", "1 to destroy"));
  EXPECT_EQ(EventsOf("PlannedChanges"), 1);
}

// A lock someone else holds: the plan without it cannot be trusted (a run
// of theirs may be under way, its state not stored yet). The reconcile
// fails as one under the lock would, and its plan is neither in the status
// nor in an event.
TEST_F(UnlockedPlanTest, ALockHeldElsewhereFailsThePlanAndLeavesTheStatusAsItWas) {
  Json mr = ReleasedOnce();
  LockUse use;
  const Json status = mr["status"];
  PlanRemoves(mr, 1);
  OtherHolder(0, /*release=*/false);
  const absl::StatusOr<runtime::Observation> o = Reconcile(mr, &use);
  ASSERT_FALSE(o.ok());
  EXPECT_TRUE(absl::IsUnavailable(o.status())) << o.status();
  EXPECT_NE(o.status().message().find("other-host-7-bbbb"), std::string::npos) << o.status();
  EXPECT_EQ(mr["status"], status);
  EXPECT_EQ(EventsOf("PlannedChanges"), 0);
}

// Held and released elsewhere since this provider let the lock go: the
// state is read again under the lock. The same: the plan stands (one
// plan). Another serial: all again under the lock, which plans (and
// applies) from the new one, and reports one plan.
TEST_F(UnlockedPlanTest, ALockHeldElsewhereSinceItsReleaseHereIsTakenAndTheStateReadAgain) {
  Json mr = ReleasedOnce();
  LockUse use;

  OtherHolder(0);
  absl::StatusOr<runtime::Observation> o = Reconcile(mr, &use);
  ASSERT_TRUE(o.ok()) << o.status();
  // A take conditional on the version released here (a conflict), the
  // take, the release.
  EXPECT_EQ(use.lease_writes, 3);
  EXPECT_EQ(use.state_reads, 2);
  EXPECT_EQ(use.plans, 1);
  EXPECT_EQ(Serial(mr), 1);

  // Serial 3 stored after the read of the state, before the lease's: the
  // lease read finds it moved, and a plan with no changes starts again.
  OtherHolderAfterRead("secrets", "tfstate-uid-1", 3);
  o = Reconcile(mr, &use);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_TRUE(o->up_to_date);
  EXPECT_EQ(use.plans, 2) << "planned once without the lock, then again under it";
  EXPECT_EQ(Serial(mr), 3);

  // Serial 5 stored after the read of the state, before a plan with
  // changes: the apply's lock finds it, and the plan and the apply are of
  // serial 5.
  PlanRemoves(mr, 1);
  OtherHolderAfterRead("secrets", "tfstate-uid-1", 5);
  o = Reconcile(mr, &use);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(use.plans, 2) << "planned once without the lock, then again under it";
  EXPECT_EQ(Serial(mr), 6) << "applied from serial 5";
  EXPECT_EQ(EventsOf("PlannedChanges"), 1) << "the dropped plan must not be reported";
}

// A start-over gets the whole timeout or waits for the next reconcile: the
// reconcile's deadline (timeout + margin, from its start) is not spent on
// two plans.
TEST_F(UnlockedPlanTest, AStartOverWithLessThanTheTimeoutLeftWaitsForTheNextReconcile) {
  Json mr = ReleasedOnce();
  LockUse use;
  const Json status = mr["status"];
  options.reconcile_margin = std::chrono::seconds(0);
  OtherHolderAfterRead("secrets", "tfstate-uid-1", 3);
  const absl::StatusOr<runtime::Observation> o = Reconcile(mr, &use);
  ASSERT_FALSE(o.ok());
  EXPECT_TRUE(absl::IsUnavailable(o.status())) << o.status();
  EXPECT_NE(o.status().message().find("next reconcile"), std::string::npos) << o.status();
  EXPECT_EQ(use.plans, 1);
  EXPECT_EQ(mr["status"], status);

  // Nothing planned yet (no state to plan from without the lock): the
  // whole reconcile goes under the lock, whatever is left of it.
  ASSERT_TRUE(client.Delete(kube::kSecrets, {"state", "tfstate-uid-1"}).ok());
  const absl::StatusOr<runtime::Observation> created = Reconcile(mr, &use);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(use.plans, 1);
}

// A reconcile that plans without the lock sends its read of the state, on
// a thread of its own, alongside the reads of its inputs (here an
// environment variable's Secret), not after them, and from the watch
// cache, not older than the version at this provider's release; one under
// the lock reads the state only once it holds it.
TEST_F(UnlockedPlanTest, TheStateIsReadAlongsideTheInputsOnlyWithoutTheLock) {
  Json mr = ReleasedOnce();
  client.Seed(kube::kSecrets, {{"apiVersion", "v1"},
                               {"kind", "Secret"},
                               {"metadata", {{"name", "vars"}, {"namespace", "team"}}},
                               {"data", {{"token", "dA=="}}}});
  mr["spec"]["forProvider"]["env"].push_back(
      {{"name", "TOKEN"}, {"secretKeyRef", {{"name", "vars"}, {"key", "token"}}}});
  // Whether the state's read was sent, from another thread, while the
  // input was read: the input's read waits up to `wait` for it.
  std::mutex mu;
  std::condition_variable sent;
  bool state_sent = false;
  std::optional<bool> alongside;
  std::thread::id state_thread, input_thread;
  const auto watch = [&](std::chrono::milliseconds wait) {
    state_sent = false;
    alongside.reset();
    spy.before = [&, wait](const kube::Resource& r, const kube::ObjectKey& key) {
      if (r.plural != "secrets") return;
      std::unique_lock lock(mu);
      if (key.name == "tfstate-uid-1" && !state_sent) {
        state_sent = true;
        state_thread = std::this_thread::get_id();
        sent.notify_all();
      } else if (key.name == "vars" && !alongside) {
        input_thread = std::this_thread::get_id();
        alongside = sent.wait_for(lock, wait, [&] { return state_sent; });
      }
    };
  };
  const std::string at_release =
      client.Peek(kube::kSecrets, {"state", "tfstate-uid-1"})["metadata"]["resourceVersion"];
  client.not_older_than.clear();
  LockUse use;
  watch(std::chrono::seconds(5));
  const absl::StatusOr<runtime::Observation> o = Reconcile(mr, &use);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_TRUE(o->exists && o->up_to_date);
  ASSERT_TRUE(alongside.has_value());
  EXPECT_TRUE(*alongside) << "the state was read after the inputs";
  EXPECT_NE(state_thread, input_thread) << "the state was read before the inputs, not with them";
  EXPECT_EQ(std::count(client.not_older_than.begin(), client.not_older_than.end(),
                       "secrets state/tfstate-uid-1 " + at_release),
            1);
  EXPECT_EQ(use.state_reads, 1);
  EXPECT_EQ(use.lease_writes, 0);

  // A rollback goes under the lock, which is taken after the inputs are
  // read: no read of the state goes out meanwhile.
  mr["metadata"]["annotations"][kRollbackAnnotation] = "1";
  StoreState(StateOfSerial(3));
  watch(std::chrono::milliseconds(500));
  ASSERT_TRUE(Reconcile(mr, &use).ok());
  ASSERT_TRUE(alongside.has_value());
  EXPECT_FALSE(*alongside) << "the state was read before the lock was taken";
  EXPECT_EQ(use.lease_writes, 2);
  EXPECT_EQ(Serial(mr), 4);
}

// A release this provider found (another holder took the lock over and
// let it go during the reconcile) notes no version: the next plan without
// the lock reads the state from etcd.
TEST_F(UnlockedPlanTest, AfterAReleaseFoundNotWrittenTheStateIsReadFromEtcd) {
  StoreState(kStoredState);
  Json mr = Workspace();
  Env(mr, "PLAN_REMOVE", "0");
  bool freed = false;
  spy.after = [&](const kube::Resource& r, const kube::ObjectKey& key) {
    if (freed || r.plural != "secrets" || key.name != "tfstate-uid-1") return;
    freed = true;
    Json lease = client.Peek(kube::kLeases, {"state", "tflock-uid-1"});
    lease["spec"]["holderIdentity"] = nullptr;
    ASSERT_TRUE(client.Update(kube::kLeases, lease).ok());
  };
  LockUse use;
  ASSERT_TRUE(Reconcile(mr, &use).ok());
  ASSERT_TRUE(freed);
  // The release's update conflicted and the lease was read again: found
  // free (a take reads it once, as nothing was released here before).
  EXPECT_EQ(use.lease_reads, 2);
  const std::optional<kube::LeaseObservations::ReleasedLease> kept =
      options.lease_observations->Released("state/tflock-uid-1");
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(kept->note, "");

  client.not_older_than.clear();
  ASSERT_TRUE(Reconcile(mr, &use).ok());
  EXPECT_EQ(use.lease_writes, 0) << "not planned without the lock";
  EXPECT_EQ(use.state_reads, 1);
  for (const std::string& read : client.not_older_than) {
    EXPECT_FALSE(read.starts_with("secrets state/tfstate-uid-1 ")) << "from the cache: " << read;
  }
  // That reconcile took nothing, so the next is the same; one that holds
  // the lock notes the version at its release again.
  PlanRemoves(mr, 1);
  ASSERT_TRUE(Reconcile(mr, &use).ok());
  EXPECT_EQ(options.lease_observations->Released("state/tflock-uid-1")->note,
            client.Peek(kube::kSecrets, {"state", "tfstate-uid-1"})["metadata"]["resourceVersion"]);
}

// A hold lost during a run and held again notes no version at its release:
// another holder may have written the state meanwhile, so the next plan
// without the lock reads the state from etcd.
TEST_F(UnlockedPlanTest, AfterALockLostAndHeldAgainTheStateIsReadFromEtcd) {
  options.lock_duration = std::chrono::seconds(3);  // renewed every 500 ms
  Json mr = ReleasedOnce();
  PlanRemoves(mr, 1);
  Env(mr, "APPLY_SLEEP", "30");
  const std::string go_on = root / "go-on";
  Env(mr, "GO_ON", go_on);
  const kube::ObjectKey lock{"state", "tflock-uid-1"};
  const auto holder_becomes = [&](const Json& holder) {
    Json lease = client.Peek(kube::kLeases, lock);
    lease["spec"]["holderIdentity"] = holder;
    EXPECT_TRUE(client.Update(kube::kLeases, lease).ok());
  };
  std::thread elsewhere([&] {
    const auto logged = [&](const std::string& line) {
      for (int i = 0; i < 2000; ++i) {
        const std::vector<std::string> commands = Commands();
        if (std::find(commands.begin(), commands.end(), line) != commands.end()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      ADD_FAILURE() << "no " << line << " in " << FileContent(Log());
      return false;
    };
    // Taken over during the apply: the next renewal finds another holder,
    // and the apply is stopped; let go while it stops, so that the
    // provider holds the lock again and stores the state.
    if (!logged("apply")) return;
    holder_becomes("other-host-7-bbbb");
    if (!logged("interrupted")) return;
    holder_becomes(nullptr);
    root.Write("go-on", "");
  });
  LockUse use;
  const absl::StatusOr<runtime::Observation> o = Reconcile(mr, &use);
  elsewhere.join();
  EXPECT_FALSE(o.ok()) << "the apply was not stopped";
  EXPECT_TRUE(HasEvent("LockLost", "held again"));
  const std::optional<kube::LeaseObservations::ReleasedLease> kept =
      options.lease_observations->Released(lock.String());
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(kept->note, "");

  PlanRemoves(mr, 0);
  client.not_older_than.clear();
  const absl::StatusOr<runtime::Observation> idle = Reconcile(mr, &use);
  ASSERT_TRUE(idle.ok()) << idle.status();
  EXPECT_EQ(use.lease_writes, 0) << "not planned without the lock";
  EXPECT_EQ(use.state_reads, 1);
  EXPECT_EQ(Serial(mr), 2) << "the state the stopped apply left";
  for (const std::string& read : client.not_older_than) {
    EXPECT_FALSE(read.starts_with("secrets state/tfstate-uid-1 ")) << "from the cache: " << read;
  }
}

// The dependency lock file a new init writes is stored with the state:
// under the lock.
TEST_F(UnlockedPlanTest, ANewDependencyLockFileIsStoredUnderTheLock) {
  Json mr = ReleasedOnce();
  LockUse use;
  Env(mr, "INIT_LOCK", "# providers of the newer init");
  ASSERT_TRUE(Reconcile(mr, &use).ok());
  EXPECT_EQ(use.lease_writes, 2) << "the lock file was stored without the lock";
  StateStore store(client, StateStore::Options{"state", "uid-1", 5, std::nullopt, {}, {}});
  const absl::StatusOr<std::optional<State>> stored = store.Load();
  ASSERT_TRUE(stored.ok() && *stored);
  EXPECT_EQ((*stored)->lock_file.value_or(""), "# providers of the newer init\n");
}

// Where the state may change before the plan, or there is none to plan
// from, the reconcile takes the lock first.
TEST_F(UnlockedPlanTest, ARollbackARecoveryAnAdoptionOrAFailedReadGoesUnderTheLock) {
  Json mr = ReleasedOnce();
  LockUse use;

  // A read of the state that fails: read again under the lock.
  bool failed = false;
  client.hook = [&](const std::string& verb, const kube::Resource& r, const kube::ObjectKey& key) {
    if (!failed && verb == "get" && r.plural == "secrets" && key.name == "tfstate-uid-1") {
      failed = true;
      return kube::ApiError(500, "InternalError", "etcd is away").ToStatus();
    }
    return absl::OkStatus();
  };
  ASSERT_TRUE(Reconcile(mr, &use).ok());
  client.hook = nullptr;
  EXPECT_TRUE(failed);
  EXPECT_EQ(use.lease_writes, 2);
  EXPECT_EQ(use.state_reads, 2);

  // A rollback to apply: under the lock, and serial 1 restored as the next
  // serial.
  mr["metadata"]["annotations"][kRollbackAnnotation] = "1";
  StoreState(StateOfSerial(3));
  ASSERT_TRUE(Reconcile(mr, &use).ok());
  EXPECT_EQ(use.lease_writes, 2);
  EXPECT_EQ(Serial(mr), 4);
  EXPECT_TRUE(HasEvent("RolledBack", "serial 1"));

  // An interrupted run's folder with a newer state: Recover stores it
  // first, under the lock.
  root.Write("work/uid-1/terraform.tfstate", StateOfSerial(5));
  ASSERT_TRUE(Reconcile(mr, &use).ok());
  EXPECT_EQ(use.lease_writes, 2);
  EXPECT_TRUE(HasEvent("RecoveredState", "serial 5"));
  EXPECT_EQ(Serial(mr), 5);

  // No state of its own: nothing to plan from without the lock, which an
  // adoption (here, of the state of a Workspace deleted before it) needs.
  ASSERT_TRUE(client.Delete(kube::kSecrets, {"state", "tfstate-uid-1"}).ok());
  StateStore earlier(
      client, StateStore::Options{"state",
                                  "uid-0",
                                  5,
                                  std::nullopt,
                                  {},
                                  {{"workloads.terraforming.io/workspace", "team/old"},
                                   {"workloads.terraforming.io/kind",
                                    "terraform.workloads.m.terraforming.io/v1alpha1/Workspace"}}});
  ASSERT_TRUE(earlier.Save(StateOfSerial(7)).ok());
  mr["metadata"]["annotations"][kAdoptStateAnnotation] = "uid-0";
  ASSERT_TRUE(Reconcile(mr, &use).ok());
  EXPECT_EQ(use.lease_writes, 2);
  EXPECT_EQ(use.plans, 1) << "planned twice";
  EXPECT_TRUE(HasEvent("AdoptedState", "serial 7"));
  EXPECT_EQ(Serial(mr), 7);
}

// plannedAt is when a plan first gave the result the status shows: a plan
// that finds the same leaves the status as it was (so an idle poll writes
// nothing), and one that finds something else moves it.
TEST_F(WorkspaceClientTest, APlanThatFindsWhatTheLastFoundKeepsItsPlannedAt) {
  StoreState(kStoredState);
  Json mr = Workspace();
  auto observe = [&] {
    auto external = Connect(mr, Config());
    ASSERT_TRUE(external.ok()) << external.status();
    const absl::StatusOr<runtime::Observation> o = (*external)->Observe(mr);
    ASSERT_TRUE(o.ok()) << o.status();
    ASSERT_TRUE((*external)->Disconnect().ok());
  };
  const std::string first = kube::Rfc3339(clock.now);
  observe();
  const Json status = mr["status"];
  EXPECT_EQ(status["atProvider"]["plan"].value("plannedAt", ""), first) << status.dump();

  clock.now += std::chrono::minutes(1);
  observe();
  EXPECT_EQ(mr["status"], status) << "the same plan changed the status";

  const auto planned_at = [&] { return mr["status"]["atProvider"]["plan"].value("plannedAt", ""); };
  Env(mr, "PLAN_REMOVE", "2");
  clock.now += std::chrono::minutes(1);
  observe();
  EXPECT_EQ(mr["status"]["atProvider"]["plan"].value("destroy", 0), 2);
  EXPECT_EQ(planned_at(), kube::Rfc3339(clock.now)) << "another result";

  // The same result, but of a newer spec.
  mr["metadata"]["generation"] = 2;
  clock.now += std::chrono::minutes(1);
  observe();
  EXPECT_EQ(planned_at(), kube::Rfc3339(clock.now)) << "a newer generation";
  EXPECT_EQ(mr["status"]["atProvider"]["plan"].value("generation", 0), 2);
  const std::string kept = planned_at();
  clock.now += std::chrono::minutes(1);
  observe();
  EXPECT_EQ(planned_at(), kept) << "the same generation";

  // The same result after a run that finished since (a failed plan, say),
  // or in the same second as the plan.
  for (const std::chrono::seconds after : {std::chrono::seconds(30), std::chrono::seconds(0)}) {
    mr["status"]["atProvider"]["lastRun"] = {
        {"operation", "Plan"},
        {"result", "Failed"},
        {"finishedAt", kube::Rfc3339(*kube::ParseRfc3339(planned_at()) + after)}};
    clock.now += std::chrono::minutes(1);
    observe();
    EXPECT_EQ(planned_at(), kube::Rfc3339(clock.now)) << "a run in between";
  }
  const std::string settled = planned_at();
  clock.now += std::chrono::minutes(1);
  observe();
  EXPECT_EQ(planned_at(), settled) << "a run before the plan";
}

TEST_F(WorkspaceClientTest, WithRequireApprovalADestroyWaitsForItsPlanToBeApproved) {
  StoreState(kStoredState);
  Json mr = Workspace();
  mr["spec"]["forProvider"]["requireApproval"] = true;
  mr["metadata"]["deletionTimestamp"] = kube::Rfc3339(clock.now);

  std::string fingerprint;
  {
    auto external = Connect(mr, Config());
    ASSERT_TRUE(external.ok()) << external.status();
    const absl::StatusOr<runtime::Observation> o = (*external)->Observe(mr);
    ASSERT_TRUE(o.ok()) << o.status();
    EXPECT_TRUE(o->exists);
    const Json plan = mr["status"]["atProvider"]["plan"];
    EXPECT_EQ(plan.value("destroy", 0), 1) << plan.dump();
    EXPECT_TRUE(plan.value("awaitingApproval", false)) << plan.dump();
    fingerprint = plan.value("fingerprint", "");
    ASSERT_EQ(fingerprint.size(), 16u) << plan.dump();
    EXPECT_TRUE(
        HasEvent("PlanAwaitingApproval", std::string(kApprovePlanAnnotation) + "=" + fingerprint));
    const absl::Status deleted = (*external)->Delete(mr);
    EXPECT_TRUE(absl::IsFailedPrecondition(deleted)) << deleted;
    EXPECT_NE(deleted.message().find("destroy plan " + fingerprint + " awaits approval"),
              std::string::npos)
        << deleted;
    EXPECT_NE(deleted.message().find(kApprovePlanAnnotation), std::string::npos) << deleted;
    ASSERT_TRUE((*external)->Disconnect().ok());
  }
  EXPECT_EQ(Commands(), (std::vector<std::string>{"init", "plan", "show"}));
  EXPECT_NE(FileContent(Log()).find("-destroy"), std::string::npos);
  StateStore store(client, StateStore::Options{"state", "uid-1", 5, std::nullopt, {}, {}});
  ASSERT_TRUE(store.Load().ok());
  EXPECT_TRUE(store.Load()->has_value());

  // Approved: exactly that plan is applied, and the state goes.
  mr["metadata"]["annotations"][kApprovePlanAnnotation] = fingerprint;
  {
    auto external = Connect(mr, Config());
    ASSERT_TRUE(external.ok()) << external.status();
    const absl::StatusOr<runtime::Observation> o = (*external)->Observe(mr);
    ASSERT_TRUE(o.ok()) << o.status();
    EXPECT_FALSE(mr["status"]["atProvider"]["plan"].value("awaitingApproval", false));
    const absl::Status deleted = (*external)->Delete(mr);
    ASSERT_TRUE(deleted.ok()) << deleted;
    ASSERT_TRUE((*external)->Disconnect().ok());
  }
  const std::string log = FileContent(Log());
  EXPECT_NE(log.find("apply -input=false -no-color -json tfplan-destroy"), std::string::npos)
      << log;
  EXPECT_EQ(log.find("destroy -input"), std::string::npos) << log;
  ASSERT_TRUE(store.Load().ok());
  EXPECT_FALSE(store.Load()->has_value());
}

TEST_F(WorkspaceClientTest, RequireDestroyApprovalFalseDestroysWithoutAPlan) {
  StoreState(kStoredState);
  Json mr = Workspace();
  mr["spec"]["forProvider"]["requireApproval"] = true;
  mr["spec"]["forProvider"]["requireDestroyApproval"] = false;
  mr["metadata"]["deletionTimestamp"] = kube::Rfc3339(clock.now);
  auto external = Connect(mr, Config());
  ASSERT_TRUE(external.ok()) << external.status();
  ASSERT_TRUE((*external)->Observe(mr).ok());
  const absl::Status deleted = (*external)->Delete(mr);
  ASSERT_TRUE(deleted.ok()) << deleted;
  EXPECT_EQ(Commands(), (std::vector<std::string>{"init", "destroy"}));
}

}  // namespace
}  // namespace workspace
