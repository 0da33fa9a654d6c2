// provider-workloads scaled out (--sharding) on the real control plane:
// replicas share the Workspaces through shard Leases, more replicas finish
// more runs in the same time, a replica that joins takes its share without
// any run done twice, and the shards of a killed replica are taken over
// within the member lease's duration.
#include <signal.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>
#include <set>
#include <sstream>

#include "tests/e2e/provider_fixture.h"

namespace platform::testing {
namespace {

constexpr char kWs[] = "workspaces.terraform.workloads.terraforming.io";
constexpr int kShards = 16;
constexpr auto kLease = 8s;

// One resource whose creation takes a few seconds (the time a cloud API
// would) and then appends "<name> <generation> <time>" to a shared log: a
// run done twice shows as two lines. A new generation replaces it.
constexpr char kRunModule[] = R"(variable "dir" { type = string }
variable "name" { type = string }
variable "generation" { type = string }
resource "terraform_data" "run" {
  input            = var.generation
  triggers_replace = [var.generation]
  provisioner "local-exec" {
    command     = "sleep 4; echo \"$NAME $GEN $(date +%s.%N)\" >> \"$DIR/runs.log\""
    environment = { DIR = var.dir, NAME = var.name, GEN = var.generation }
  }
}
output "generation" { value = terraform_data.run.output }
)";

struct Completion {
  std::string name, generation;
  double at = 0;
};

class ProviderShardingTest : public ProviderTest {
 protected:
  std::unique_ptr<Background> Replica(int n) {
    const std::string log = dir_.path() + "/replica-" + std::to_string(n) + ".log";
    logs_.push_back(log);
    return std::make_unique<Background>(
        std::vector<std::string>{
            kProvider, "--kubeconfig=" + kKubeconfig, "--poll=10m", "--max-reconcile-rate=1",
            "--work-dir=" + dir_.path() + "/work-" + std::to_string(n),
            "--cache-dir=" + dir_.path() + "/cache", "--state-namespace=" + state_ns_,
            "--state-lock-duration=5s", "--tofu=" + kTofu,
            "--metrics-address=127.0.0.1:" + std::to_string(FreePort()), "--sharding",
            "--shards=" + std::to_string(kShards),
            "--sharding-lease-duration=" + std::to_string(kLease.count()) + "s",
            "--leader-election-namespace=" + state_ns_, "--debug"},
        log);
  }

  std::string Workspace(const std::string& name, const std::string& generation) {
    return "apiVersion: terraform.workloads.terraforming.io/v1alpha1\nkind: Workspace\n"
           "metadata:\n  name: " +
           name + "\nspec:\n  providerConfigRef: {name: pc-" + suffix_ +
           "}\n  forProvider:\n    source: Inline\n    module: |\n" + Indent(kRunModule, 6) +
           "    vars:\n    - {key: dir, value: " + dir_.path() +
           "}\n    - {key: name, value: " + name + "}\n    - {key: generation, value: \"" +
           generation + "\"}\n";
  }

  std::vector<Completion> Runs() {
    std::vector<Completion> runs;
    if (!fs::exists(dir_.path() + "/runs.log")) return runs;
    std::istringstream in(ReadFile(dir_.path() + "/runs.log"));
    Completion r;
    while (in >> r.name >> r.generation >> r.at) runs.push_back(r);
    return runs;
  }

  struct ShardLease {
    std::string holder;
    double acquired = 0;  // spec.acquireTime, seconds since the epoch
  };

  // Shard lease name -> its holder and when it took it.
  std::map<std::string, ShardLease> ShardLeases() {
    std::map<std::string, ShardLease> leases;
    RunResult r = Kubectl({"get", "leases", "-n", state_ns_, "-l",
                           "workloads.terraforming.io/sharding-role=shard", "-o", "json"});
    if (r.exit_code != 0) return leases;
    const Json list = Json::parse(r.out, nullptr, false);
    if (!list.is_object()) return leases;
    for (const auto& l : list.value("items", Json::array())) {
      ShardLease lease;
      lease.holder = l["spec"].value("holderIdentity", "");
      // RFC 3339 with microseconds, UTC, as Leases carry it.
      std::tm tm{};
      int micros = 0;
      if (sscanf(l["spec"].value("acquireTime", "").c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year,
                 &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &micros) == 7) {
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        lease.acquired = static_cast<double>(timegm(&tm)) + micros / 1e6;
      }
      leases[l["metadata"]["name"]] = lease;
    }
    return leases;
  }

  // The last moment a shard changed hands.
  double LastTakeover() {
    double last = 0;
    for (const auto& [name, lease] : ShardLeases()) last = std::max(last, lease.acquired);
    return last;
  }

  static double WallNow() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  // Every shard held by one of `identities`, each of which holds some.
  bool ShardsHeldBy(const std::set<std::string>& identities) {
    const auto leases = ShardLeases();
    if (leases.size() != static_cast<size_t>(kShards)) return false;
    std::set<std::string> seen;
    for (const auto& [name, lease] : leases) {
      if (identities.count(lease.holder) == 0) return false;
      seen.insert(lease.holder);
    }
    return seen == identities;
  }

  // The identity a replica logged when it joined.
  std::string Identity(size_t replica) {
    std::string identity;
    Eventually(
        [&] {
          const std::string log = ReadFile(logs_[replica]);
          const size_t at = log.find("sharding: joined as ");
          if (at == std::string::npos) return false;
          const size_t start = at + std::string("sharding: joined as ").size();
          identity = log.substr(start, log.find(' ', start) - start);
          return true;
        },
        30s);
    return identity;
  }

  // Runs completed per second over the next `window`: the completions in it
  // less one, over the time between the first and the last of them (the log's
  // timestamps), so that a count of a few runs is not off by a whole one.
  double Throughput(std::chrono::seconds window) {
    const double from = WallNow();
    std::this_thread::sleep_for(window);
    const double to = WallNow();
    std::vector<double> at;
    for (const Completion& r : Runs()) {
      if (r.at >= from && r.at < to) at.push_back(r.at);
    }
    std::sort(at.begin(), at.end());
    if (at.size() < 2 || at.back() <= at.front()) return 0;
    return static_cast<double>(at.size() - 1) / (at.back() - at.front());
  }

  void TearDown() override {
    if (HasFailure()) {
      for (const auto& log : logs_) {
        std::cerr << "---- " << fs::path(log).filename().string() << " (last 40 lines) ----\n"
                  << RunCommand({"tail", "-40", log}).out;
      }
    }
    ProviderTest::TearDown();
  }

  std::vector<std::string> logs_;
};

TEST_F(ProviderShardingTest, ThreeReplicasRunThreeTimesTheWorkOfOneAndTakeOverAKilledOnesShare) {
  constexpr int kCount = 36;
  std::vector<std::string> names;
  std::string all;
  for (int i = 0; i < kCount; ++i) {
    names.push_back("shard-" + std::to_string(i) + "-" + suffix_);
    created_.emplace_back(kWs, names.back());
    all += Workspace(names.back(), "1") + "---\n";
  }
  auto first = Replica(1);
  const std::string id1 = Identity(0);
  ASSERT_FALSE(id1.empty()) << ReadFile(logs_[0]);
  ASSERT_TRUE(Eventually([&] { return ShardsHeldBy({id1}); }, 30s)) << ReadFile(logs_[0]);
  Apply("workspaces", all);

  // One replica, one run at a time.
  ASSERT_TRUE(Eventually([&] { return !Runs().empty(); }, 60s)) << ReadFile(logs_[0]);
  const double one = Throughput(24s);
  std::cout << "one replica: " << one << " runs/s" << std::endl;

  // Two more join: the shards are shared, each handed over once the run in
  // flight in it ended.
  auto second = Replica(2);
  auto third = Replica(3);
  const std::string id2 = Identity(1), id3 = Identity(2);
  ASSERT_TRUE(Eventually(
      [&] {
        return ShardsHeldBy({id1, id2, id3});
      },
      30s))
      << ReadFile(logs_[0]) << ReadFile(logs_[1]);
  const size_t before = Runs().size();
  const double three = Throughput(24s);
  std::cout << "runs per second: one replica " << one << ", three " << three << " (" << three / one
            << "x); " << before << " of " << kCount << " done before the second window"
            << std::endl;
  // More than twice the runs of one can only come from all three replicas
  // running at once. The rest of the way to 3x is lost to two cores shared
  // by the three replicas' OpenTofu processes, the API server and etcd
  // (2.39x to 3.1x measured), so the bar is 2.2x, clear of that noise.
  EXPECT_GE(three, 2.2 * one) << "one replica " << one << "/s, three " << three << "/s";
  ASSERT_LT(Runs().size(), static_cast<size_t>(kCount)) << "the backlog ran dry in the window";

  ASSERT_TRUE(Eventually(
      [&] {
        for (const auto& name : names) {
          if (!ReadyAndSynced(Get(kWs, name))) return false;
        }
        return true;
      },
      180s));
  // Every Workspace ran exactly once, whichever replica ran it.
  std::map<std::string, int> ran;
  for (const Completion& r : Runs()) ++ran[r.name + " " + r.generation];
  for (const auto& name : names) EXPECT_EQ(ran[name + " 1"], 1) << name;
  EXPECT_EQ(Runs().size(), static_cast<size_t>(kCount));

  // What the second replica reconciled is its share.
  std::vector<std::string> share;
  const std::string log2 = ReadFile(logs_[1]);
  for (const auto& name : names) {
    if (log2.find("reconciled " + name + " in ") != std::string::npos) share.push_back(name);
  }
  ASSERT_FALSE(share.empty()) << log2;

  // Killed without a word: its shards go to the others once its member
  // lease expired.
  const double killed = WallNow();
  ASSERT_EQ(::kill(second->pid(), SIGKILL), 0);
  second->Stop();
  ASSERT_TRUE(Eventually([&] { return ShardsHeldBy({id1, id3}); }, 30s));
  const double handed = LastTakeover() - killed;
  std::cout << "the killed replica's shards were taken over " << handed
            << " s after the kill (member lease " << kLease.count() << " s)\n";
  // Its last renewal was up to a sixth of the lease before the kill; the
  // others look every half second, then take its shards one by one.
  EXPECT_LT(handed, kLease.count() + 2.0);
  EXPECT_GT(handed, kLease.count() * 5.0 / 6 - 0.5) << "taken before the lease expired";

  // Its Workspaces change: the survivors run each once.
  std::string changed;
  for (const auto& name : share) changed += Workspace(name, "2") + "---\n";
  Apply("changed", changed);
  ASSERT_TRUE(Eventually(
      [&] {
        for (const auto& name : share) {
          const Json ws = Get(kWs, name);
          if (!ws.is_object() ||
              ws["status"]["atProvider"]["outputs"].value("generation", "") != "2") {
            return false;
          }
        }
        return true;
      },
      180s))
      << ReadFile(logs_[0]) << ReadFile(logs_[2]);
  ran.clear();
  for (const Completion& r : Runs()) ++ran[r.name + " " + r.generation];
  for (const auto& name : share) EXPECT_EQ(ran[name + " 2"], 1) << name;
  for (const auto& name : names) EXPECT_EQ(ran[name + " 1"], 1) << name;
  EXPECT_TRUE(first->running());
  EXPECT_TRUE(third->running());

  // Leaving gracefully hands the shards over at once.
  const double leaving = WallNow();
  EXPECT_EQ(third->Stop(), 0);
  ASSERT_TRUE(Eventually([&] { return ShardsHeldBy({id1}); }, 30s));
  const double left = LastTakeover() - leaving;
  std::cout << "the shards of a replica stopped with SIGTERM were taken over " << left
            << " s after the signal\n";
  EXPECT_LT(left, 2.0);
  first->Stop();
}

}  // namespace
}  // namespace platform::testing
