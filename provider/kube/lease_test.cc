#include "provider/kube/lease.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "provider/kube/resources.h"
#include "provider/testing/fake_client.h"
#include "provider/testing/fake_clock.h"

namespace kube {
namespace {

using namespace std::chrono_literals;
using testing::FakeClient;

using kube::testing::FakeClock;

const ObjectKey kKey{"ns", "state-lock"};

TEST(LeaseLock, AcquireRenewRefuseTakeOver) {
  FakeClient fake;
  FakeClock clock;
  LeaseLock a(fake, clock, kKey, "a", 15s, {{"workspace", "w1"}});
  LeaseLock b(fake, clock, kKey, "b", 15s);

  ASSERT_TRUE(a.TryAcquire().value());
  Json lease = fake.Peek(kLeases, kKey);
  EXPECT_EQ(lease["spec"]["holderIdentity"], "a");
  EXPECT_EQ(lease["spec"]["leaseDurationSeconds"], 15);
  EXPECT_EQ(lease["spec"]["leaseTransitions"], 0);
  EXPECT_EQ(lease["spec"]["acquireTime"], kube::Rfc3339Micro(clock.now));
  EXPECT_EQ(lease["spec"]["renewTime"], "2027-01-15T08:00:00.000000Z");
  EXPECT_EQ(lease["metadata"]["labels"]["workspace"], "w1");

  // Held: refused to b, also just before expiry.
  EXPECT_FALSE(b.TryAcquire().value());
  EXPECT_EQ(b.Holder(), "a");
  clock.now += 10s;
  ASSERT_TRUE(a.Renew().value());
  EXPECT_EQ(fake.Peek(kLeases, kKey)["spec"]["renewTime"], kube::Rfc3339Micro(clock.now));
  clock.now += 15s;
  EXPECT_FALSE(b.TryAcquire().value());
  // Re-acquiring our own lease renews it.
  ASSERT_TRUE(a.TryAcquire().value());
  EXPECT_EQ(fake.Peek(kLeases, kKey)["spec"]["leaseTransitions"], 0);

  // Expired: b takes over, a transition.
  clock.now += 16s;
  ASSERT_TRUE(b.TryAcquire().value());
  lease = fake.Peek(kLeases, kKey);
  EXPECT_EQ(lease["spec"]["holderIdentity"], "b");
  EXPECT_EQ(lease["spec"]["leaseTransitions"], 1);
  EXPECT_EQ(lease["spec"]["acquireTime"], kube::Rfc3339Micro(clock.now));
  EXPECT_EQ(b.Holder(), "b");

  // a learns it lost the lease; its release leaves b's hold alone.
  EXPECT_FALSE(a.Renew().value());
  EXPECT_EQ(a.Holder(), "b");
  a.Release();
  EXPECT_EQ(fake.Peek(kLeases, kKey)["spec"]["holderIdentity"], "b");
}

TEST(LeaseLock, ReleaseFreesTheLease) {
  FakeClient fake;
  FakeClock clock;
  LeaseLock a(fake, clock, kKey, "a", 60s);
  LeaseLock b(fake, clock, kKey, "b", 60s);
  ASSERT_TRUE(a.TryAcquire().value());
  a.Release();
  const Json lease = fake.Peek(kLeases, kKey);
  EXPECT_TRUE(lease["spec"]["holderIdentity"].is_null());
  ASSERT_TRUE(b.TryAcquire().value());  // free at once, no waiting for expiry
  EXPECT_EQ(fake.Peek(kLeases, kKey)["spec"]["leaseTransitions"], 1);
}

TEST(LeaseLock, ConflictMeansSomeoneElseWon) {
  FakeClient fake;
  FakeClock clock;
  LeaseLock a(fake, clock, kKey, "a", 15s);
  ASSERT_TRUE(a.TryAcquire().value());
  a.Release();
  LeaseLock b(fake, clock, kKey, "b", 15s);
  // A contender writes between b's read and b's update.
  fake.hook = [&](const std::string& verb, const Resource&, const ObjectKey&) {
    if (verb == "update")
      return ApiError(409, "Conflict", "the object has been modified").ToStatus();
    return absl::OkStatus();
  };
  EXPECT_FALSE(b.TryAcquire().value());
  // Other errors are the caller's to see.
  fake.hook = [&](const std::string& verb, const Resource&, const ObjectKey&) {
    if (verb == "get") return ApiError(500, "InternalError", "etcd").ToStatus();
    return absl::OkStatus();
  };
  EXPECT_TRUE(ApiErrorOf(b.TryAcquire().status()).has_value());
}

TEST(LeaseLock, CreateRaceIsARefusal) {
  FakeClient fake;
  FakeClock clock;
  LeaseLock b(fake, clock, kKey, "b", 15s);
  fake.hook = [&](const std::string& verb, const Resource&, const ObjectKey&) {
    if (verb == "create")
      return ApiError(409, "AlreadyExists", "leases \"state-lock\" exists").ToStatus();
    return absl::OkStatus();
  };
  EXPECT_FALSE(b.TryAcquire().value());
}

TEST(LeaseHolder, HoldsRenewsAndReleases) {
  FakeClient fake;
  kube::SystemClock clock;
  {
    LeaseHolder holder(fake, clock, kKey, "a", 1s, 100ms);
    ASSERT_TRUE(holder.held());
    const std::string first = fake.Peek(kLeases, kKey)["spec"]["renewTime"];
    // Another identity waits in vain.
    LeaseHolder other(fake, clock, kKey, "b", 1s, 50ms, {}, 10ms);
    EXPECT_FALSE(other.held());
    EXPECT_EQ(other.Holder(), "a");
    std::this_thread::sleep_for(450ms);  // renewals every ~333ms
    EXPECT_NE(fake.Peek(kLeases, kKey)["spec"]["renewTime"], first);
    EXPECT_FALSE(holder.lost());
  }
  EXPECT_TRUE(fake.Peek(kLeases, kKey)["spec"]["holderIdentity"].is_null());
}

TEST(LeaseHolder, NoticesLoss) {
  FakeClient fake;
  kube::SystemClock clock;
  LeaseHolder holder(fake, clock, kKey, "a", 1s, 100ms);
  ASSERT_TRUE(holder.held());
  Json lease = fake.Peek(kLeases, kKey);
  lease["spec"]["holderIdentity"] = "intruder";
  ASSERT_TRUE(fake.Update(kLeases, lease).ok());
  for (int i = 0; i < 100 && !holder.lost(); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(holder.lost());
  EXPECT_FALSE(holder.held());
}

TEST(LeaderElector, LeadsAndStops) {
  FakeClient fake;
  kube::SystemClock clock;
  LeaderElector::Options options;
  options.lease_duration = 1s;
  options.retry_period = 20ms;
  LeaderElector elector(fake, clock, kKey, "a", options);
  std::atomic<bool> started{false};
  std::atomic<bool> stopped{false};
  std::thread run([&] { elector.Run([&] { started = true; }, [&] { stopped = true; }); });
  for (int i = 0; i < 200 && !started; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_TRUE(started);
  EXPECT_TRUE(elector.leading());
  EXPECT_FALSE(stopped);

  // A second candidate waits.
  LeaderElector second(fake, clock, kKey, "b", options);
  std::atomic<bool> second_started{false};
  std::thread run2([&] { second.Run([&] { second_started = true; }, nullptr); });
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(second_started);

  elector.Stop();
  run.join();
  EXPECT_TRUE(stopped);
  // The released lease goes to the waiting candidate.
  for (int i = 0; i < 200 && !second_started; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_TRUE(second_started);
  second.Stop();
  run2.join();
}

TEST(LeaderElector, StopsLeadingWhenTheLeaseIsTaken) {
  FakeClient fake;
  kube::SystemClock clock;
  LeaderElector::Options options;
  options.lease_duration = 1s;
  options.retry_period = 20ms;
  LeaderElector elector(fake, clock, kKey, "a", options);
  std::atomic<bool> stopped{false};
  std::thread run([&] { elector.Run(nullptr, [&] { stopped = true; }); });
  for (int i = 0; i < 200 && !elector.leading(); ++i) std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(elector.leading());
  Json lease = fake.Peek(kLeases, kKey);
  lease["spec"]["holderIdentity"] = "b";
  ASSERT_TRUE(fake.Update(kLeases, lease).ok());
  run.join();  // Run returns on its own
  EXPECT_TRUE(stopped);
  EXPECT_EQ(fake.Peek(kLeases, kKey)["spec"]["holderIdentity"], "b");
}

}  // namespace
}  // namespace kube
