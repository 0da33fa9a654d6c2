// Locks on coordination.k8s.io/v1 Leases: leader election, and per-object
// locks (a workspace's state). A lease is held by spec.holderIdentity until
// renewTime + leaseDurationSeconds; every write is guarded by the lease's
// resourceVersion, so of two contenders one wins and the other sees a
// conflict.
#ifndef PROVIDER_KUBE_LEASE_H_
#define PROVIDER_KUBE_LEASE_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "provider/kube/client.h"
#include "provider/kube/clock.h"

namespace kube {

class LeaseLock {
 public:
  LeaseLock(Client& client, const kube::Clock& clock, ObjectKey lease, std::string identity,
            std::chrono::seconds duration, std::map<std::string, std::string> labels = {});

  // Creates the lease; or renews it when we hold it; or takes it over when
  // it is free (no holder) or expired (renewTime, else acquireTime, plus
  // leaseDurationSeconds is past). False when another holder has it or a
  // contender won the race (conflict). Other API errors are returned.
  absl::StatusOr<bool> TryAcquire();
  // Extends our hold; false when the lease is no longer ours. Other API
  // errors are returned.
  absl::StatusOr<bool> Renew();
  // Gives the lease up (clears holderIdentity) if it is still ours.
  // Failures are logged (the lease then simply expires).
  void Release();

  // The holder last seen on the lease ("" when free or not yet read).
  std::string Holder() const;
  const std::string& identity() const { return identity_; }
  std::chrono::seconds duration() const { return duration_; }
  const ObjectKey& key() const { return key_; }

 private:
  bool Expired(const Json& spec) const;
  absl::Status Write(Json lease);  // Update, remembering the result
  // Renew's work: Cancelled when the lease is another identity's.
  absl::Status RenewOrStatus();

  Client& client_;
  const kube::Clock& clock_;
  const ObjectKey key_;
  const std::string identity_;
  const std::chrono::seconds duration_;
  const std::map<std::string, std::string> labels_;

  mutable std::mutex mu_;
  Json last_;  // the lease as last read or written
};

// Holds a lease for its lifetime: acquires it (polling until `wait` ends),
// renews it in the background every duration/3 and releases it when
// destroyed. The hold is lost when a renewal finds another holder, or when
// renewals fail for longer than the lease duration.
class LeaseHolder {
 public:
  LeaseHolder(Client& client, const kube::Clock& clock, ObjectKey lease, std::string identity,
              std::chrono::seconds duration, std::chrono::milliseconds wait,
              std::map<std::string, std::string> labels = {},
              std::chrono::milliseconds poll = std::chrono::milliseconds(500));
  ~LeaseHolder();
  LeaseHolder(const LeaseHolder&) = delete;
  LeaseHolder& operator=(const LeaseHolder&) = delete;

  // Whether the lease was acquired (and not yet lost).
  bool held() const { return acquired_ && !lost_; }
  bool acquired() const { return acquired_; }
  // Acquired, then lost: whoever relies on the lock must stop.
  bool lost() const { return lost_; }
  // The holder seen last (another identity when acquiring failed).
  std::string Holder() const { return lock_.Holder(); }
  // Why acquiring failed when an API error was the last answer.
  const std::string& error() const { return error_; }

 private:
  void RenewLoop();

  LeaseLock lock_;
  bool acquired_ = false;
  std::atomic<bool> lost_{false};
  std::string error_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread renewer_;
};

// Leader election on a Lease.
class LeaderElector {
 public:
  struct Options {
    std::chrono::seconds lease_duration{15};
    std::chrono::milliseconds retry_period{2000};  // between tries and renewals
  };

  LeaderElector(Client& client, const kube::Clock& clock, ObjectKey lease, std::string identity,
                Options options);
  LeaderElector(Client& client, const kube::Clock& clock, ObjectKey lease, std::string identity)
      : LeaderElector(client, clock, std::move(lease), std::move(identity), Options()) {}

  // Blocks until leader (or Stop), calls on_started_leading (which must not
  // block: start the work elsewhere), then renews until renewals have failed
  // for longer than the lease duration, another identity holds the lease, or
  // Stop is called; then calls on_stopped_leading (if it was leading),
  // releases the lease (if still ours) and returns.
  void Run(const std::function<void()>& on_started_leading,
           const std::function<void()>& on_stopped_leading);
  // Makes Run return (from any thread).
  void Stop();
  bool leading() const { return leading_; }

 private:
  bool Wait(std::chrono::milliseconds d);  // false when stopping

  LeaseLock lock_;
  Options options_;
  std::atomic<bool> leading_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
};

}  // namespace kube

#endif  // PROVIDER_KUBE_LEASE_H_
