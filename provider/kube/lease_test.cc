#include "provider/kube/lease.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

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

  // b judges expiry from when it saw the lease change, not from renewTime:
  // it sees a's last renewal only now, so it waits a lease duration more.
  clock.now += 16s;
  EXPECT_FALSE(b.TryAcquire().value());
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

// A lease whose holder writes renewTime from a clock an hour behind ours.
Json SkewedLease(const FakeClock& clock, std::chrono::seconds skew) {
  const std::string at = kube::Rfc3339Micro(clock.now + skew);
  return {{"apiVersion", kLeases.ApiVersion()},
          {"kind", kLeases.kind},
          {"metadata", {{"name", kKey.name}, {"namespace", kKey.ns}}},
          {"spec",
           {{"holderIdentity", "far"},
            {"leaseDurationSeconds", 15},
            {"acquireTime", at},
            {"renewTime", at},
            {"leaseTransitions", 0}}}};
}

TEST(LeaseLock, ARemoteClockBehindOursDoesNotExpireTheLeaseEarly) {
  FakeClient fake;
  FakeClock clock;
  fake.Seed(kLeases, SkewedLease(clock, -1h));
  LeaseLock b(fake, clock, kKey, "b", 15s);
  // renewTime + 15s is long past by our clock, yet the lease was renewed
  // just now as far as this host can tell.
  EXPECT_FALSE(b.TryAcquire().value());
  EXPECT_EQ(b.Holder(), "far");
  clock.now += 15s;
  EXPECT_FALSE(b.TryAcquire().value());
  clock.now += 1s;
  ASSERT_TRUE(b.TryAcquire().value());
  EXPECT_EQ(fake.Peek(kLeases, kKey)["spec"]["holderIdentity"], "b");
}

TEST(LeaseLock, ARemoteClockAheadOfOursDoesNotKeepADeadHolder) {
  FakeClient fake;
  FakeClock clock;
  fake.Seed(kLeases, SkewedLease(clock, 1h));
  LeaseLock b(fake, clock, kKey, "b", 15s);
  EXPECT_FALSE(b.TryAcquire().value());
  clock.now += 16s;  // no renewal seen for a lease duration
  ASSERT_TRUE(b.TryAcquire().value());
}

TEST(LeaseLock, EveryRenewalSeenRestartsTheWait) {
  FakeClient fake;
  FakeClock clock;
  fake.Seed(kLeases, SkewedLease(clock, -1h));
  LeaseLock b(fake, clock, kKey, "b", 15s);
  for (int i = 0; i < 6; ++i) {
    EXPECT_FALSE(b.TryAcquire().value()) << i;
    clock.now += 10s;
    // The holder renews with its skewed clock: a new renewTime.
    Json lease = fake.Peek(kLeases, kKey);
    lease["spec"]["renewTime"] = kube::Rfc3339Micro(clock.now - 1h);
    ASSERT_TRUE(fake.Update(kLeases, lease).ok());
  }
  EXPECT_FALSE(b.TryAcquire().value());  // sees the last renewal
  clock.now += 14s;
  EXPECT_FALSE(b.TryAcquire().value());
  clock.now += 2s;
  EXPECT_TRUE(b.TryAcquire().value());
}

TEST(LeaseLock, SharedObservationsOutliveTheLockObject) {
  FakeClient fake;
  FakeClock clock;
  fake.Seed(kLeases, SkewedLease(clock, 0s));
  LeaseObservations seen;
  {
    LeaseLock first(fake, clock, kKey, "b", 15s, {}, &seen);
    EXPECT_FALSE(first.TryAcquire().value());
  }
  clock.now += 16s;
  // A lock object of its own has seen nothing yet: it starts waiting now.
  LeaseLock fresh(fake, clock, kKey, "b", 15s);
  EXPECT_FALSE(fresh.TryAcquire().value());
  // One sharing what the first saw knows the lease has not moved for 16s.
  LeaseLock later(fake, clock, kKey, "b", 15s, {}, &seen);
  EXPECT_TRUE(later.TryAcquire().value());
}

TEST(LeaseTiming, RenewDeadlineAndRetryPeriodAreFractionsOfTheDuration) {
  EXPECT_EQ(RenewDeadline(15s), 10s);
  EXPECT_EQ(RetryPeriod(60s), 10s);
  EXPECT_EQ(RenewDeadline(60s), 40s);
  EXPECT_LT(RenewDeadline(1s), 1s);
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

// Takes the lease as `identity` and lets it go again; `seen` (that host's
// observations) keeps the released copy.
void HoldOnce(FakeClient& fake, FakeClock& clock, const std::string& identity,
              LeaseObservations* seen = nullptr) {
  LeaseLock lock(fake, clock, kKey, identity, 60s, {}, seen);
  ASSERT_TRUE(lock.TryAcquire().value());
  lock.Release();
}

TEST(LeaseLock, ALeaseThisHostReleasedIsTakenAndReleasedWithOneRequestEach) {
  FakeClient fake;
  FakeClock clock;
  LeaseObservations seen;
  {
    LeaseLock first(fake, clock, kKey, "a", 60s, {}, &seen);
    ASSERT_TRUE(first.TryAcquire().value());  // get (not found), create
    EXPECT_FALSE(first.Reclaimed());          // created: nothing is known of before
    fake.calls.clear();
    first.Release();
    EXPECT_EQ(fake.calls, std::vector<std::string>{"update leases ns/state-lock"});
  }
  fake.calls.clear();
  LeaseLock again(fake, clock, kKey, "a", 60s, {}, &seen);
  ASSERT_TRUE(again.TryAcquire().value());
  EXPECT_EQ(fake.calls, std::vector<std::string>{"update leases ns/state-lock"});
  EXPECT_TRUE(again.Reclaimed());  // nobody held it since this host let go
  EXPECT_EQ(fake.Peek(kLeases, kKey)["spec"]["holderIdentity"], "a");
  EXPECT_EQ(fake.Peek(kLeases, kKey)["spec"]["leaseTransitions"], 1);
  again.Release();
  EXPECT_TRUE(fake.Peek(kLeases, kKey)["spec"]["holderIdentity"].is_null());
}

TEST(LeaseLock, ALeaseTakenElsewhereSinceThisHostReleasedItIsReadNotOverwritten) {
  FakeClient fake;
  FakeClock clock;
  LeaseObservations seen;
  HoldOnce(fake, clock, "a", &seen);
  // Another host takes it meanwhile and holds it.
  LeaseLock other(fake, clock, kKey, "b", 60s);
  ASSERT_TRUE(other.TryAcquire().value());
  fake.calls.clear();
  LeaseLock again(fake, clock, kKey, "a", 60s, {}, &seen);
  EXPECT_FALSE(again.TryAcquire().value());
  // The conditional update failed, the lease was read: b still holds it.
  EXPECT_EQ(fake.calls,
            (std::vector<std::string>{"update leases ns/state-lock", "get leases ns/state-lock"}));
  EXPECT_EQ(fake.Peek(kLeases, kKey)["spec"]["holderIdentity"], "b");
  // Once b lets go, a takes it (read first: what a kept was handed out once).
  other.Release();
  EXPECT_TRUE(again.TryAcquire().value());
  EXPECT_EQ(fake.Peek(kLeases, kKey)["spec"]["holderIdentity"], "a");
  // Acquired, but not reclaimed: b held it in between.
  EXPECT_FALSE(again.Reclaimed());
}

TEST(LeaseLock, ALeaseHeldAndReleasedElsewhereSinceIsNotReclaimed) {
  FakeClient fake;
  FakeClock clock;
  LeaseObservations seen;
  HoldOnce(fake, clock, "a", &seen);
  // Another host takes it and lets it go before this host comes back: the
  // lease is free again, but what it guards may have changed.
  HoldOnce(fake, clock, "b");
  LeaseLock again(fake, clock, kKey, "a", 60s, {}, &seen);
  ASSERT_TRUE(again.TryAcquire().value());
  EXPECT_FALSE(again.Reclaimed());
  // Released by this host again, it is reclaimed on the next take.
  again.Release();
  LeaseLock third(fake, clock, kKey, "a", 60s, {}, &seen);
  ASSERT_TRUE(third.TryAcquire().value());
  EXPECT_TRUE(third.Reclaimed());
}

TEST(LeaseLock, ReleaseRereadsWhenItsCopyIsStale) {
  FakeClient fake;
  FakeClock clock;
  LeaseLock a(fake, clock, kKey, "a", 60s);
  ASSERT_TRUE(a.TryAcquire().value());
  // Someone touches the lease (a label, say): a's copy is stale.
  Json touched = fake.Peek(kLeases, kKey);
  touched["metadata"]["labels"]["touched"] = "yes";
  ASSERT_TRUE(fake.Update(kLeases, touched).ok());
  fake.calls.clear();
  a.Release();
  EXPECT_EQ(fake.calls,
            (std::vector<std::string>{"update leases ns/state-lock", "get leases ns/state-lock",
                                      "update leases ns/state-lock"}));
  const Json lease = fake.Peek(kLeases, kKey);
  EXPECT_TRUE(lease["spec"]["holderIdentity"].is_null());
  EXPECT_EQ(lease["metadata"]["labels"]["touched"], "yes");
}

// The note a holder sets is kept with a release it wrote (also after a
// stale copy was read again, the lease still naming it), never with one it
// found: there another holder had the lease, and what the note says of its
// own hold may be out of date.
TEST(LeaseLock, AReleaseNoteIsKeptOnlyWithAReleaseThisLockWrote) {
  FakeClient fake;
  FakeClock clock;
  LeaseObservations seen;
  {
    LeaseLock a(fake, clock, kKey, "a", 60s, {}, &seen);
    ASSERT_TRUE(a.TryAcquire().value());
    a.set_release_note("state 7");
    a.Release();
  }
  ASSERT_TRUE(seen.Released(kKey.String()).has_value());
  EXPECT_EQ(seen.Released(kKey.String())->note, "state 7");
  {
    LeaseLock a(fake, clock, kKey, "a", 60s, {}, &seen);
    ASSERT_TRUE(a.TryAcquire().value());
    // A stale copy: read again, still a's, released by a.
    Json touched = fake.Peek(kLeases, kKey);
    touched["metadata"]["labels"]["touched"] = "yes";
    ASSERT_TRUE(fake.Update(kLeases, touched).ok());
    a.set_release_note("state 8");
    a.Release();
  }
  EXPECT_EQ(seen.Released(kKey.String())->note, "state 8");
  {
    LeaseLock a(fake, clock, kKey, "a", 60s, {}, &seen);
    ASSERT_TRUE(a.TryAcquire().value());
    a.set_release_note("state 9");
    // Meanwhile a's hold ended elsewhere: b took the lease over and let it
    // go. a's release finds it free and keeps it, without the note.
    Json freed = fake.Peek(kLeases, kKey);
    freed["spec"]["holderIdentity"] = nullptr;
    ASSERT_TRUE(fake.Update(kLeases, freed).ok());
    a.Release();
  }
  ASSERT_TRUE(seen.Released(kKey.String()).has_value());
  EXPECT_EQ(seen.Released(kKey.String())->lease.find("\"holderIdentity\":\"a\""),
            std::string::npos);
  EXPECT_EQ(seen.Released(kKey.String())->note, "");
  {
    // A note is of one hold: a take after it (a regain, say) drops it.
    LeaseLock a(fake, clock, kKey, "a", 60s, {}, &seen);
    ASSERT_TRUE(a.TryAcquire().value());
    a.set_release_note("state 10");
    ASSERT_TRUE(a.TryAcquire().value());
    a.Release();
  }
  EXPECT_EQ(seen.Released(kKey.String())->note, "");
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

// A fake clock threads may read while the test moves it.
class SteppingClock : public Clock {
 public:
  Time Now() const override { return Time(std::chrono::nanoseconds(ns_.load())); }
  MonoTime Monotonic() const override { return MonoTime(std::chrono::nanoseconds(ns_.load())); }
  void Advance(std::chrono::nanoseconds d) { ns_ += d.count(); }

 private:
  std::atomic<int64_t> ns_{std::chrono::nanoseconds(1'800'000'000s).count()};
};

// Fails every lease update once `fail` is set.
void FailUpdates(FakeClient& fake, std::atomic<bool>& fail) {
  fake.hook = [&fail](const std::string& verb, const Resource&, const ObjectKey&) {
    if (verb == "update" && fail)
      return ApiError(503, "ServiceUnavailable", "the server is away").ToStatus();
    return absl::OkStatus();
  };
}

TEST(LeaseHolder, GivesUpAtTheRenewDeadlineNotTheLeaseDuration) {
  FakeClient fake;
  kube::SystemClock clock;
  std::atomic<bool> fail{false};
  FailUpdates(fake, fail);
  LeaseHolder holder(fake, clock, kKey, "a", 3s, 100ms);
  ASSERT_TRUE(holder.held());
  fail = true;
  // Renewals fail from now on: the hold is lost after two thirds of the
  // lease duration, while another host still waits for its whole duration.
  std::this_thread::sleep_for(1500ms);
  EXPECT_FALSE(holder.lost());
  std::this_thread::sleep_for(900ms);  // 2.4s: past the 2s renew deadline
  EXPECT_TRUE(holder.lost());
  EXPECT_FALSE(holder.held());
}

TEST(LeaseHolder, TheRenewDeadlineCancelsEvenWhileARenewalHangs) {
  FakeClient fake;
  SteppingClock clock;
  std::atomic<bool> hang{false};
  std::atomic<bool> released{false};
  fake.hook = [&](const std::string& verb, const Resource&, const ObjectKey&) {
    if (verb == "update" && hang) {
      while (!released) std::this_thread::sleep_for(1ms);
    }
    return absl::OkStatus();
  };
  auto holder = std::make_unique<LeaseHolder>(fake, clock, kKey, "a", 1s, 0ms);
  ASSERT_TRUE(holder->held());
  const std::atomic<bool>* cancel = holder->cancel();
  hang = true;
  std::this_thread::sleep_for(300ms);  // a renewal (every ~167ms) is stuck now
  clock.Advance(RenewDeadline(1s) - 100ms);
  std::this_thread::sleep_for(200ms);
  EXPECT_FALSE(cancel->load());
  EXPECT_FALSE(holder->lost());
  clock.Advance(200ms);
  for (int i = 0; i < 100 && !cancel->load(); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(cancel->load());
  EXPECT_TRUE(holder->lost());
  EXPECT_NE(holder->LostReason().find("renew deadline"), std::string::npos) << holder->LostReason();
  released = true;
  hang = false;
  // The lease still names us: it can be held again, and cancel clears.
  EXPECT_TRUE(holder->Regain());
  EXPECT_TRUE(holder->held());
  EXPECT_FALSE(cancel->load());
  holder.reset();
  EXPECT_TRUE(fake.Peek(kLeases, kKey)["spec"]["holderIdentity"].is_null());
}

TEST(LeaseHolder, CancelFollowsTheStopFlagAndATheft) {
  FakeClient fake;
  kube::SystemClock clock;
  std::atomic<bool> stop{false};
  {
    LeaseHolder holder(fake, clock, kKey, "a", 60s, 0ms, {}, 10ms, &stop);
    ASSERT_TRUE(holder.held());
    EXPECT_FALSE(holder.cancel()->load());
    stop = true;
    for (int i = 0; i < 100 && !holder.cancel()->load(); ++i) std::this_thread::sleep_for(5ms);
    EXPECT_TRUE(holder.cancel()->load());
    EXPECT_TRUE(holder.held());  // stopping is not losing the lease
  }
  LeaseHolder holder(fake, clock, kKey, "a", 1s, 0ms);
  ASSERT_TRUE(holder.held());
  Json lease = fake.Peek(kLeases, kKey);
  lease["spec"]["holderIdentity"] = "thief";
  ASSERT_TRUE(fake.Update(kLeases, lease).ok());
  for (int i = 0; i < 100 && !holder.cancel()->load(); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(holder.cancel()->load());
  EXPECT_TRUE(holder.lost());
  EXPECT_NE(holder.LostReason().find("thief"), std::string::npos) << holder.LostReason();
  EXPECT_FALSE(holder.Regain());  // the thief's hold is not expired
  EXPECT_TRUE(holder.lost());
  EXPECT_TRUE(holder.cancel()->load());
}

TEST(LeaderElector, StopsLeadingAtTheRenewDeadline) {
  FakeClient fake;
  kube::SystemClock clock;
  std::atomic<bool> fail{false};
  FailUpdates(fake, fail);
  LeaderElector::Options options;
  options.lease_duration = 3s;  // the default renew deadline is longer: two thirds of it
  options.retry_period = 20ms;
  LeaderElector elector(fake, clock, kKey, "a", options);
  std::atomic<bool> stopped{false};
  std::thread run([&] { elector.Run(nullptr, [&] { stopped = true; }); });
  for (int i = 0; i < 200 && !elector.leading(); ++i) std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(elector.leading());
  const auto since = std::chrono::steady_clock::now();
  fail = true;
  for (int i = 0; i < 400 && !stopped; ++i) std::this_thread::sleep_for(10ms);
  const auto took = std::chrono::steady_clock::now() - since;
  EXPECT_TRUE(stopped);
  EXPECT_LT(took, 2600ms) << "stepped down at the lease duration, not the renew deadline";
  EXPECT_GT(took, 1500ms);
  elector.Stop();
  run.join();
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
