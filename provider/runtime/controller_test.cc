#include "provider/runtime/controller.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "provider/kube/resources.h"
#include "provider/testing/fake_client.h"

namespace runtime {
namespace {

using namespace std::chrono_literals;
using kube::testing::FakeClient;

// Three controllers of four workers each, on three resources of four
// objects each; every reconcile takes a while. Returns the most reconciles
// seen running at once, once every object was reconciled.
int MostAtOnce(ConcurrencyLimit* limit) {
  FakeClient fake;
  const std::vector<kube::Resource> resources = {kube::kConfigMaps, kube::kSecrets, kube::kLeases};
  for (const auto& r : resources) {
    for (int i = 0; i < 4; ++i) {
      fake.Seed(r, {{"apiVersion", r.ApiVersion()},
                    {"kind", r.kind},
                    {"metadata", {{"name", "o" + std::to_string(i)}, {"namespace", "ns"}}}});
    }
  }
  std::atomic<int> running{0};
  std::atomic<int> most{0};
  std::mutex mu;
  std::set<std::string> done;
  std::vector<std::unique_ptr<Controller>> controllers;
  for (const auto& r : resources) {
    controllers.push_back(std::make_unique<Controller>(
        r.plural, fake, r,
        [&, plural = r.plural](const kube::ObjectKey& key) {
          const int now = ++running;
          int seen = most.load();
          while (now > seen && !most.compare_exchange_weak(seen, now)) {
          }
          std::this_thread::sleep_for(60ms);
          --running;
          std::lock_guard lock(mu);
          done.insert(plural + "/" + key.String());
          return Result::Done();
        },
        4, nullptr, nullptr, limit));
  }
  for (auto& c : controllers) c->Start();
  for (int i = 0; i < 500; ++i) {
    {
      std::lock_guard lock(mu);
      if (done.size() == 12) break;
    }
    std::this_thread::sleep_for(10ms);
  }
  for (auto& c : controllers) c->Stop();
  std::lock_guard lock(mu);
  EXPECT_EQ(done.size(), 12u);
  return most;
}

TEST(KeepForManagedCacheTest, KeepsTheKeyTheDesiredStateAndTheConditionsStatuses) {
  const kube::Json full = kube::Json::parse(R"({
    "apiVersion": "terraform.workloads.terraforming.io/v1alpha1", "kind": "Workspace",
    "metadata": {"name": "w", "uid": "u-1", "resourceVersion": "7", "generation": 3,
      "labels": {"team": "a"}, "finalizers": ["finalizer.managedresource.crossplane.io"],
      "deletionTimestamp": "2026-12-06T10:00:00Z", "creationTimestamp": "2026-12-06T09:00:00Z",
      "ownerReferences": [{"name": "xr"}],
      "annotations": {"crossplane.io/external-name": "w",
        "kubectl.kubernetes.io/last-applied-configuration": "a copy of the spec"}},
    "spec": {"forProvider": {"module": "a very long module"}},
    "status": {"atProvider": {"outputs": {"x": 1}}, "conditions": [
      {"type": "Ready", "status": "True", "reason": "Available", "lastTransitionTime": "t"},
      {"type": "Synced", "status": "False", "reason": "ReconcileError", "message": "long"}]}
  })");
  kube::Json kept = full;
  KeepForManagedCache(kept);
  const kube::Json want = kube::Json::parse(R"({
    "apiVersion": "terraform.workloads.terraforming.io/v1alpha1", "kind": "Workspace",
    "metadata": {"name": "w", "uid": "u-1", "resourceVersion": "7", "generation": 3,
      "labels": {"team": "a"}, "finalizers": ["finalizer.managedresource.crossplane.io"],
      "deletionTimestamp": "2026-12-06T10:00:00Z",
      "annotations": {"crossplane.io/external-name": "w"}},
    "status": {"conditions": [{"type": "Ready", "status": "True"},
                              {"type": "Synced", "status": "False"}]}
  })");
  EXPECT_EQ(kept, want) << kept.dump(2);
  // What decides a reconcile is the same, kubectl's copy of the spec aside.
  kube::Json without_copy = full;
  without_copy["metadata"]["annotations"].erase("kubectl.kubernetes.io/last-applied-configuration");
  EXPECT_EQ(DesiredState(kept), DesiredState(without_copy));
  // Objects of odd shapes are kept as far as they go.
  kube::Json odd = {{"metadata", "not an object"}, {"status", {{"conditions", "none"}}}};
  KeepForManagedCache(odd);
  EXPECT_EQ(odd, kube::Json::object());
}

TEST(ControllerTest, ASharedLimitBoundsReconcilesAcrossControllers) {
  ConcurrencyLimit limit(2);
  EXPECT_EQ(MostAtOnce(&limit), 2);
}

TEST(ControllerTest, WithoutASharedLimitEachControllerRunsItsOwnWorkers) {
  // What --max-reconcile-rate 2 gave before the limit was shared: each
  // controller's workers ran at once, far more than 2 in all.
  EXPECT_GT(MostAtOnce(nullptr), 4);
}

TEST(ConcurrencyLimitTest, AcquireGivesUpWhenStopping) {
  ConcurrencyLimit limit(1);
  std::atomic<bool> stop{false};
  ASSERT_TRUE(limit.Acquire(stop));
  std::atomic<bool> returned{false};
  std::atomic<bool> got{true};
  std::thread waiter([&] {
    got = limit.Acquire(stop);
    returned = true;
  });
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(returned);
  stop = true;
  waiter.join();
  EXPECT_FALSE(got);
  limit.Release();
  stop = false;
  EXPECT_TRUE(limit.Acquire(stop));  // the slot came back
  limit.Release();
}

}  // namespace
}  // namespace runtime
