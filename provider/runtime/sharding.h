// Scale-out: several replicas of the provider share the managed resources.
//
// Every object belongs to one of a fixed number of shards (a hash of its
// controller and key). Each shard is a Lease that names the replica working
// its objects. Replicas are members: each holds a member Lease of its own,
// renewed in the background; a member whose lease record has not changed for
// its duration (judged on the local monotonic clock, as leader election
// judges) is dead. From the live members, every replica computes the same
// balanced assignment of shards to members.
//
// Handing a shard over is fenced by its lease: a replica works only the
// objects of shards its lease names it for. When the assignment moves a
// shard away (a replica joined), the holder starts nothing new in it, waits
// for the reconciles in flight there to end, and only then clears the lease;
// the new owner takes it once it is clear. A dead member's shards are taken
// over once its member lease has expired; a replica that loses its own
// member lease stops (before the others may count it dead). So no two
// replicas reconcile one object at once, and the per-object state lock of a
// Workspace still fences every run beneath this.
//
// At rest this costs one lease renewal per RetryPeriod per replica and one
// watch; shard leases are written only when they change hands.
#ifndef PROVIDER_RUNTIME_SHARDING_H_
#define PROVIDER_RUNTIME_SHARDING_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "provider/kube/client.h"
#include "provider/kube/clock.h"
#include "provider/kube/informer.h"
#include "provider/kube/lease.h"

namespace runtime {

// The shard of `key` among `shards` (stable across processes and builds).
int ShardOf(std::string_view key, int shards);

// Which of `members` works each of `shards` shards: the highest-scoring
// member by rendezvous hashing, taking no more than its fair share (the
// shard count divided by the members, rounded up). The same members give
// the same answer in every process, whatever their order. Empty when there
// are no members.
std::vector<std::string> AssignShards(int shards, std::vector<std::string> members);

struct ShardingOptions {
  std::string ns;  // where the member and shard leases live
  int shards = 32;
  std::chrono::seconds lease_duration{15};
  // How often the assignment is checked against the leases (no API request
  // unless a shard changes hands).
  std::chrono::milliseconds tick{500};
  // The prefix of the leases' names; the label that selects them.
  std::string name = "provider-workloads";
};

class Sharding {
 public:
  Sharding(kube::Client& client, const kube::Clock& clock, std::string identity,
           ShardingOptions options);
  ~Sharding();  // Stop()
  Sharding(const Sharding&) = delete;
  Sharding& operator=(const Sharding&) = delete;

  // Joins: creates and keeps the member lease, watches the leases, and
  // starts taking and handing over shards. `on_gained` runs (on the
  // sharding thread) after shards were taken: their objects are to be
  // reconciled. `on_lost` runs once when the member lease is lost: the
  // process must stop working at once.
  absl::Status Start(std::function<void()> on_gained, std::function<void(std::string)> on_lost);
  // Runs (on the sharding thread) with each shard handed over: none of its
  // reconciles is in flight then, and none starts until it is taken again.
  // Set before Start.
  void OnReleased(std::function<void(int shard)> on_released) {
    on_released_ = std::move(on_released);
  }
  // Leaves: starts nothing new, hands every shard back once its reconciles
  // in flight ended (up to `drain`), and deletes the member lease.
  void Stop(std::chrono::milliseconds drain = std::chrono::seconds(5));

  // Whether `key`'s shard is ours and not being handed over.
  bool Owns(std::string_view key) const;
  // Whether to reconcile `key` now: its shard is ours and not being handed
  // over. True counts a reconcile in flight until End(key).
  bool Begin(std::string_view key);
  void End(std::string_view key);

  // The shards held now, and the live members (for logs, metrics, tests).
  std::vector<int> Held() const;
  std::vector<std::string> Members() const;
  const std::string& identity() const { return identity_; }
  std::string LeaseName(int shard) const;
  std::string MemberLeaseName() const { return MemberLeaseName(identity_); }
  std::string MemberLeaseName(const std::string& identity) const;

 private:
  struct Shard {
    bool mine = false;      // the lease names us (as of our last write)
    bool draining = false;  // ours, assigned elsewhere: nothing new starts
    int in_flight = 0;
  };

  void Loop();
  // One pass: liveness from the cached leases, the assignment, and the
  // takes and releases it asks for. True when a shard was taken.
  bool Tick();
  // Takes a shard whose holder is gone; `confirmed_dead`: holders whose
  // member lease this pass already read afresh and found expired.
  bool Take(int shard, std::set<std::string>& confirmed_dead);
  bool ConfirmDead(const std::string& holder);
  bool Release(int shard);

  kube::Client& client_;
  const kube::Clock& clock_;
  const std::string identity_;
  const ShardingOptions options_;
  const std::string label_;
  kube::LeaseObservations observations_;
  std::unique_ptr<kube::LeaseHolder> member_;
  std::unique_ptr<kube::Informer> leases_;
  std::function<void()> on_gained_;
  std::function<void(std::string)> on_lost_;
  std::function<void(int)> on_released_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Shard> shards_;
  std::vector<std::string> members_;
  bool leaving_ = false;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace runtime

#endif  // PROVIDER_RUNTIME_SHARDING_H_
