// Locks on coordination.k8s.io/v1 Leases: leader election, and per-object
// locks (a workspace's state). A lease is held by spec.holderIdentity; a
// challenger takes it over once its record has not changed for
// leaseDurationSeconds of the challenger's own clock, while the holder gives
// it up sooner, at its renew deadline, so two never both believe they hold
// it. Every write is guarded by the lease's resourceVersion, so of two
// contenders one wins and the other sees a conflict.
#ifndef PROVIDER_KUBE_LEASE_H_
#define PROVIDER_KUBE_LEASE_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "provider/kube/client.h"
#include "provider/kube/clock.h"

namespace kube {

// When this host last saw each lease's record change (holder, renewTime,
// resourceVersion), in local monotonic time. A lease held by another
// identity expires leaseDurationSeconds after that moment, as client-go's
// leader election judges it with its observedTime: another host's renewTime
// is never compared with the local clock, so clock skew between hosts does
// not shorten or lengthen a hold. One instance is shared by every LeaseLock
// of a kind of lease across their lifetimes (a lock object per reconcile
// must not start counting afresh). Thread-safe.
class LeaseObservations {
 public:
  // Records that lease `key` reads `record` at `now`; returns when this
  // record was first seen (now when it changed since the last look).
  MonoTime Observe(const std::string& key, const std::string& record, MonoTime now);
  // Drops what is known of `key` (a deleted lease).
  void Forget(const std::string& key);
  // The lease `key` free, as this host last saw it when releasing it (its
  // JSON): usually the version its own release wrote; one another holder
  // released, when this host's release found that. The next take of it can
  // then be one update conditional on that version, with no read first.
  // TakeReleased hands it out once; nullopt when none is kept. `note` is
  // what the lock's user noted at a release that this host wrote itself
  // (LeaseLock::set_release_note; "" for a release found).
  void KeepReleased(const std::string& key, std::string lease, std::string note = "");
  std::optional<std::string> TakeReleased(const std::string& key);
  struct ReleasedLease {
    std::string lease;  // its JSON
    std::string note;   // "" when none
  };
  // The released copy of `key` kept for its next take (which may then
  // reclaim it: LeaseLock::Reclaimed), with its note, left in place;
  // nullopt when none is.
  std::optional<ReleasedLease> Released(const std::string& key);

 private:
  std::mutex mu_;
  std::map<std::string, std::pair<std::string, MonoTime>> seen_;
  std::map<std::string, ReleasedLease> released_;
};

// A lease's spec.holderIdentity ("" when free).
std::string HolderOf(const Json& lease);
// What identifies one version of a lease: it changes with every renewal and
// every change of holder (what LeaseObservations records).
std::string RecordOf(const Json& lease);

class LeaseLock {
 public:
  // `observations` (when not null) outlives the lock and is shared with the
  // other locks of the same leases; else the lock keeps its own.
  LeaseLock(Client& client, const kube::Clock& clock, ObjectKey lease, std::string identity,
            std::chrono::seconds duration, std::map<std::string, std::string> labels = {},
            LeaseObservations* observations = nullptr);

  // Creates the lease; or renews it when we hold it; or takes it over when
  // it is free (no holder) or expired: its record has not changed for
  // leaseDurationSeconds since this host first saw it as it is (see
  // LeaseObservations). False when another holder has it or a contender won
  // the race (conflict). Other API errors are returned.
  absl::StatusOr<bool> TryAcquire();
  // Extends our hold; false when the lease is no longer ours. Other API
  // errors are returned.
  absl::StatusOr<bool> Renew();
  // Gives the lease up (clears holderIdentity) if it is still ours: one
  // update when our last copy is current. Failures are logged (the lease
  // then simply expires).
  void Release();
  // What to keep with the released copy (LeaseObservations::KeepReleased)
  // when Release writes the release itself: what the holder knows as of
  // the end of its hold (a state's version, say). Not kept with a release
  // another holder wrote; each TryAcquire (a Regain's too) drops it. That a
  // hold was not taken over and given back in between is the caller's to
  // know (LeaseHolder::Regain).
  void set_release_note(std::string note);

  // The holder last seen on the lease ("" when free or not yet read).
  std::string Holder() const;
  // Whether the last successful TryAcquire took the lease back as this host
  // left it at its release (LeaseObservations::KeepReleased), with the one
  // update conditional on that version: nobody held or wrote the lease in
  // between.
  bool Reclaimed() const;
  const std::string& identity() const { return identity_; }
  std::chrono::seconds duration() const { return duration_; }
  const ObjectKey& key() const { return key_; }
  const kube::Clock& clock() const { return clock_; }

 private:
  bool Expired(const Json& lease) const;
  void Remember(Json lease);       // sets last_, records the observation
  absl::Status Write(Json lease);  // Update, remembering the result
  // Makes `lease` ours as of `now` (holder, times, transitions, labels).
  void Claim(Json& lease, const std::string& now) const;
  // Clears our hold in `lease`: false when it is not ours.
  bool Unclaim(Json& lease) const;
  // Renew's work: Cancelled when the lease is another identity's.
  absl::Status RenewOrStatus();

  Client& client_;
  const kube::Clock& clock_;
  const ObjectKey key_;
  const std::string identity_;
  const std::chrono::seconds duration_;
  const std::map<std::string, std::string> labels_;
  LeaseObservations own_observations_;
  LeaseObservations* const observations_;

  mutable std::mutex mu_;
  Json last_;             // the lease as last read or written
  MonoTime last_seen_{};  // when this host first saw last_'s record
  bool reclaimed_ = false;
  std::string release_note_;
};

// The timing of a lock of `duration`, in the ratios of client-go's leader
// election (15s lease, 10s renew deadline, 2s retry period): the holder
// renews every sixth of the duration and counts its hold lost when no
// renewal succeeded for two thirds of it, well before a challenger (who
// waits the whole duration from when it saw the last renewal) may take over.
std::chrono::milliseconds RenewDeadline(std::chrono::seconds duration);
std::chrono::milliseconds RetryPeriod(std::chrono::seconds duration);

// Renews a held lease in the background and judges when the hold is lost:
// a renewal found another holder, or no renewal succeeded within `deadline`
// of the last one that did (the API server may be away or slow; the hold
// is given up before the lease can expire for anyone else). A renewal
// counts from when its request was sent. Judged on lock.clock().Monotonic();
// a renewal that hangs does not delay the verdict.
class LeaseKeeper {
 public:
  // `renewed_at`: when the request that acquired or last renewed the lease
  // was sent. `cancel` (optional) is set when the hold is lost, and also
  // when `stop` (optional) is set.
  LeaseKeeper(LeaseLock& lock, std::chrono::milliseconds period, std::chrono::milliseconds deadline,
              MonoTime renewed_at, std::atomic<bool>* cancel = nullptr,
              const std::atomic<bool>* stop = nullptr);
  ~LeaseKeeper();
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

  bool lost() const { return lost_; }
  // Why the hold was lost ("" while it is not).
  std::string why() const;

 private:
  void RenewLoop();
  void WatchLoop();
  void Lose(const std::string& why);
  bool Sleep(std::chrono::milliseconds d);  // false when stopping

  LeaseLock& lock_;
  const std::chrono::milliseconds period_, deadline_;
  std::atomic<bool>* const cancel_;
  const std::atomic<bool>* const stop_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  MonoTime renewed_at_;
  std::string why_;
  std::atomic<bool> lost_{false};
  std::thread renewer_, watcher_;
};

// Holds a lease for its lifetime: acquires it (polling until `wait` ends),
// renews it in the background (RetryPeriod) and releases it when destroyed
// (if the lease still names it). The hold is lost when a renewal finds
// another holder, or when no renewal succeeded within RenewDeadline.
class LeaseHolder {
 public:
  // `stop` (optional): the process is stopping; cancel() follows it too.
  // `observations`: see LeaseLock.
  LeaseHolder(Client& client, const kube::Clock& clock, ObjectKey lease, std::string identity,
              std::chrono::seconds duration, std::chrono::milliseconds wait,
              std::map<std::string, std::string> labels = {},
              std::chrono::milliseconds poll = std::chrono::milliseconds(500),
              const std::atomic<bool>* stop = nullptr, LeaseObservations* observations = nullptr);
  ~LeaseHolder();
  LeaseHolder(const LeaseHolder&) = delete;
  LeaseHolder& operator=(const LeaseHolder&) = delete;

  // Whether the lease was acquired (and not yet lost).
  bool held() const { return acquired_ && !lost(); }
  bool acquired() const { return acquired_; }
  // Acquired, then lost: whoever relies on the lock must stop.
  // (These and Regain are for the thread that made the holder.)
  bool lost() const { return acquired_ && (keeper_ == nullptr || keeper_->lost()); }
  // Why it was lost ("" while held).
  std::string LostReason() const { return keeper_ != nullptr ? keeper_->why() : lost_reason_; }
  // Set as soon as the hold is lost (or `stop` is set): the cancel flag of
  // a run under this lock. Stays at the same address for the holder's life.
  const std::atomic<bool>* cancel() const { return &cancel_; }
  // After a loss: one try to hold the lease again (it still names us, or
  // it is free); renewing resumes and cancel() clears (unless stopping).
  bool Regain();
  // The holder seen last (another identity when acquiring failed).
  std::string Holder() const { return lock_.Holder(); }
  // Acquired straight from the version this host left at its release,
  // unchanged since (see LeaseLock::Reclaimed): nobody else has held it
  // since, so whatever only holders write is as it was at that release.
  bool Reclaimed() const { return acquired_ && lock_.Reclaimed(); }
  // Why acquiring failed when an API error was the last answer.
  const std::string& error() const { return error_; }
  // See LeaseLock::set_release_note: kept with the release this holder's
  // end writes.
  void set_release_note(std::string note) { lock_.set_release_note(std::move(note)); }

 private:
  void Keep(MonoTime renewed_at);

  LeaseLock lock_;
  const std::atomic<bool>* stop_;
  bool acquired_ = false;
  std::string error_;
  std::atomic<bool> cancel_{false};
  std::unique_ptr<LeaseKeeper> keeper_;
  std::string lost_reason_;  // when no keeper runs after a loss
};

// Leader election on a Lease.
class LeaderElector {
 public:
  struct Options {
    std::chrono::seconds lease_duration{15};
    // Leading stops when no renewal succeeded for this long; one not
    // shorter than lease_duration is taken as two thirds of it.
    std::chrono::milliseconds renew_deadline{10000};
    std::chrono::milliseconds retry_period{2000};  // between tries and renewals
  };

  LeaderElector(Client& client, const kube::Clock& clock, ObjectKey lease, std::string identity,
                Options options);
  LeaderElector(Client& client, const kube::Clock& clock, ObjectKey lease, std::string identity)
      : LeaderElector(client, clock, std::move(lease), std::move(identity), Options()) {}

  // Blocks until leader (or Stop), calls on_started_leading (which must not
  // block: start the work elsewhere), then renews every retry period until
  // no renewal succeeded within the renew deadline, another identity holds
  // the lease, or Stop is called; then calls on_stopped_leading (if it was
  // leading), releases the lease (if still ours) and returns.
  void Run(const std::function<void()>& on_started_leading,
           const std::function<void()>& on_stopped_leading);
  // Makes Run return (from any thread).
  void Stop();
  bool leading() const { return leading_; }
  std::chrono::milliseconds renew_deadline() const;

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
