#include "provider/runtime/sharding.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "provider/kube/resources.h"
#include "provider/testing/fake_client.h"
#include "provider/testing/fake_clock.h"

namespace runtime {
namespace {

using kube::testing::FakeClient;
using kube::testing::FakeClock;
using namespace std::chrono_literals;

bool Eventually(const std::function<bool()>& check, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (check()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return check();
}

std::map<std::string, int> Counts(const std::vector<std::string>& owners) {
  std::map<std::string, int> counts;
  for (const auto& o : owners) ++counts[o];
  return counts;
}

TEST(AssignShardsTest, EveryShardGoesToAMemberInFairShares) {
  for (int members = 1; members <= 7; ++members) {
    std::vector<std::string> names;
    for (int i = 0; i < members; ++i) names.push_back("replica-" + std::to_string(i * 7919));
    const std::vector<std::string> owners = AssignShards(32, names);
    ASSERT_EQ(owners.size(), 32u);
    const auto counts = Counts(owners);
    EXPECT_EQ(counts.size(), static_cast<size_t>(members)) << "a member got no shard";
    for (const auto& [owner, n] : counts) {
      EXPECT_NE(std::find(names.begin(), names.end(), owner), names.end()) << owner;
      EXPECT_LE(n, (32 + members - 1) / members) << owner << " of " << members;
    }
  }
  EXPECT_TRUE(AssignShards(32, {}).empty());
}

TEST(AssignShardsTest, TheOrderOfTheMembersDoesNotMatter) {
  std::vector<std::string> names = {"c-3", "a-1", "b-2", "d-4"};
  const std::vector<std::string> first = AssignShards(32, names);
  std::reverse(names.begin(), names.end());
  EXPECT_EQ(AssignShards(32, names), first);
  names.push_back("a-1");  // seen twice
  EXPECT_EQ(AssignShards(32, names), first);
}

TEST(AssignShardsTest, AJoiningMemberTakesAboutItsShareAndLittleElseMoves) {
  const std::vector<std::string> two = AssignShards(64, {"pod-a-1", "pod-b-2"});
  const std::vector<std::string> three = AssignShards(64, {"pod-a-1", "pod-b-2", "pod-c-3"});
  int moved = 0, to_newcomer = 0;
  for (size_t i = 0; i < two.size(); ++i) {
    if (two[i] != three[i]) ++moved;
    if (three[i] == "pod-c-3") ++to_newcomer;
  }
  // About its share of 64 / 3; the cap keeps the others at 22 at most.
  EXPECT_GE(to_newcomer, 18);
  // Modulo hashing would move about two thirds (43); rendezvous with a cap
  // moves the newcomer's share and a few more to even the others out.
  EXPECT_LE(moved, 32) << "moved " << moved << " of 64, " << to_newcomer << " to the newcomer";
}

TEST(ShardOfTest, SpreadsKeysEvenly) {
  std::vector<int> counts(16, 0);
  for (int i = 0; i < 16000; ++i) {
    const int s = ShardOf("managed/workspaces.terraform.workloads.terraforming.io/ns-" +
                              std::to_string(i % 40) + "/ws-" + std::to_string(i),
                          16);
    ASSERT_GE(s, 0);
    ASSERT_LT(s, 16);
    ++counts[static_cast<size_t>(s)];
  }
  for (int c : counts) {
    EXPECT_GT(c, 800);
    EXPECT_LT(c, 1200);
  }
  EXPECT_EQ(ShardOf("anything", 1), 0);
}

class ShardingTest : public ::testing::Test {
 protected:
  std::unique_ptr<Sharding> Member(const std::string& identity, std::chrono::seconds lease = 15s) {
    ShardingOptions o;
    o.ns = "crossplane-system";
    o.shards = 8;
    o.tick = 20ms;
    o.lease_duration = lease;
    return std::make_unique<Sharding>(fake_, clock_, identity, o);
  }

  std::string HolderOfShard(const Sharding& s, int shard) {
    auto lease = fake_.Get(kube::kLeases, {"crossplane-system", s.LeaseName(shard)});
    return lease.ok() ? kube::HolderOf(*lease) : "";
  }

  // A key whose shard goes to `identity` among `members`.
  static std::string KeyAssignedTo(const std::string& identity,
                                   const std::vector<std::string>& members) {
    const std::vector<std::string> owners = AssignShards(8, members);
    for (int i = 0;; ++i) {
      const std::string key = "managed/x/ns/obj-" + std::to_string(i);
      if (owners[static_cast<size_t>(ShardOf(key, 8))] == identity) return key;
    }
  }

  // Moves the clock on by `d` in steps slow enough for the members' own
  // renewals (every sixth of their lease, in real time) to keep up.
  void Advance(std::chrono::milliseconds d) {
    for (auto moved = 0ms; moved < d; moved += 100ms) {
      clock_.now += 100ms;
      std::this_thread::sleep_for(50ms);
    }
  }

  FakeClient fake_;
  FakeClock clock_;
};

TEST_F(ShardingTest, ALoneReplicaTakesEveryShardAndAJoinerGetsItsShare) {
  auto a = Member("replica-a");
  int gained_a = 0;
  ASSERT_TRUE(a->Start([&] { ++gained_a; }, [](const std::string&) { FAIL(); }).ok());
  ASSERT_TRUE(Eventually([&] { return a->Held().size() == 8; })) << a->Held().size();
  EXPECT_GE(gained_a, 1);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(HolderOfShard(*a, i), "replica-a");

  auto b = Member("replica-b");
  ASSERT_TRUE(b->Start([] {}, [](const std::string&) { FAIL(); }).ok());
  const std::vector<std::string> owners = AssignShards(8, {"replica-a", "replica-b"});
  ASSERT_TRUE(Eventually([&] {
    std::vector<int> held_b = b->Held();
    return a->Held().size() + held_b.size() == 8 &&
           held_b.size() == static_cast<size_t>(Counts(owners)["replica-b"]);
  })) << a->Held().size()
      << " + " << b->Held().size();
  for (int i = 0; i < 8; ++i) EXPECT_EQ(HolderOfShard(*a, i), owners[static_cast<size_t>(i)]);
  EXPECT_EQ(a->Members(), (std::vector<std::string>{"replica-a", "replica-b"}));

  // A leaves: B takes the rest; the member lease is gone.
  a->Stop();
  EXPECT_FALSE(fake_.Get(kube::kLeases, {"crossplane-system", a->MemberLeaseName()}).ok());
  ASSERT_TRUE(Eventually([&] { return b->Held().size() == 8; })) << b->Held().size();
}

TEST_F(ShardingTest, AShardIsHandedOverOnlyOnceItsReconcilesEnded) {
  auto a = Member("replica-a");
  // The moving shard's release is reported, and only once its reconcile
  // in flight ended.
  const std::string moving = KeyAssignedTo("replica-b", {"replica-a", "replica-b"});
  std::atomic<int> released_moving{0};
  std::atomic<bool> released_in_flight{false};
  std::atomic<bool> in_flight{false};
  a->OnReleased([&](int shard) {
    if (shard != ShardOf(moving, 8)) return;
    ++released_moving;
    if (in_flight) released_in_flight = true;
  });
  ASSERT_TRUE(a->Start([] {}, [](const std::string&) {}).ok());
  ASSERT_TRUE(Eventually([&] { return a->Held().size() == 8; }));
  EXPECT_EQ(released_moving.load(), 0);
  const std::string staying = KeyAssignedTo("replica-a", {"replica-a", "replica-b"});
  ASSERT_TRUE(a->Begin(moving));  // a reconcile in flight
  in_flight = true;

  auto b = Member("replica-b");
  std::atomic<int> gained_b{0};
  ASSERT_TRUE(b->Start([&] { ++gained_b; }, [](const std::string&) {}).ok());
  // A starts nothing new in the moving shard at once, but keeps it.
  ASSERT_TRUE(Eventually([&] { return !a->Owns(moving); }));
  EXPECT_TRUE(a->Owns(staying));
  const int shard = ShardOf(moving, 8);
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(b->Owns(moving)) << "B took a shard with a reconcile in flight";
  EXPECT_EQ(HolderOfShard(*a, shard), "replica-a");
  EXPECT_FALSE(a->Begin(moving));
  EXPECT_EQ(released_moving.load(), 0);

  in_flight = false;
  a->End(moving);
  ASSERT_TRUE(Eventually([&] { return b->Owns(moving); }));
  EXPECT_EQ(released_moving.load(), 1) << "the hand-over was not reported once";
  EXPECT_FALSE(released_in_flight.load());
  EXPECT_EQ(HolderOfShard(*a, shard), "replica-b");
  EXPECT_GE(gained_b.load(), 1);
  EXPECT_FALSE(a->Owns(moving));
}

TEST_F(ShardingTest, ShardsOfAMemberWhoseLeaseExpiredAreTakenOver) {
  // A member lease renewed by nobody, naming a replica that holds its share.
  auto b = Member("replica-b", 2s);
  const std::string dead = "replica-dead";
  const std::vector<std::string> owners = AssignShards(8, {dead, "replica-b"});
  // A lease of the sharding set, as a replica left it.
  const auto lease = [&](const std::string& name, const char* role, kube::Json spec) {
    return fake_
        .Create(kube::kLeases, {{"apiVersion", "coordination.k8s.io/v1"},
                                {"kind", "Lease"},
                                {"metadata",
                                 {{"name", name},
                                  {"namespace", "crossplane-system"},
                                  {"labels",
                                   {{"workloads.terraforming.io/sharding", "provider-workloads"},
                                    {"workloads.terraforming.io/sharding-role", role}}}}},
                                {"spec", std::move(spec)}})
        .ok();
  };
  for (int i = 0; i < 8; ++i) {
    if (owners[static_cast<size_t>(i)] != dead) continue;  // B's share is free
    ASSERT_TRUE(lease(b->LeaseName(i), "shard", {{"holderIdentity", dead}}));
  }
  ASSERT_TRUE(lease(b->MemberLeaseName(dead), "member",
                    {{"holderIdentity", dead}, {"leaseDurationSeconds", 2}}));
  ASSERT_TRUE(b->Start([] {}, [](const std::string&) {}).ok());
  // While the dead member's lease is fresh, B takes only its own share.
  ASSERT_TRUE(Eventually(
      [&] { return b->Held().size() == static_cast<size_t>(Counts(owners)["replica-b"]); }));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(b->Held().size(), static_cast<size_t>(Counts(owners)["replica-b"]));
  // Its record has not changed for the lease's duration: it is dead.
  Advance(2500ms);
  ASSERT_TRUE(Eventually([&] { return b->Held().size() == 8; })) << b->Held().size();
  EXPECT_EQ(b->Members(), std::vector<std::string>{"replica-b"});
  // Long expired: its lease is deleted.
  Advance(7s);
  ASSERT_TRUE(Eventually([&] {
    return !fake_.Get(kube::kLeases, {"crossplane-system", b->MemberLeaseName(dead)}).ok();
  }));
}

TEST_F(ShardingTest, AReplicaThatCannotRenewItsMemberLeaseStops) {
  auto a = Member("replica-a", 3s);
  std::atomic<bool> lost{false};
  ASSERT_TRUE(a->Start([] {}, [&](const std::string&) { lost = true; }).ok());
  ASSERT_TRUE(Eventually([&] { return a->Held().size() == 8; }));
  EXPECT_FALSE(lost.load());
  // No renewal within two thirds of the lease (the clock jumps past it):
  // the others may soon count it dead, so it must stop first.
  clock_.now += 5s;
  EXPECT_TRUE(Eventually([&] { return lost.load(); }));
}

}  // namespace
}  // namespace runtime
