#include "provider/kube/lease.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "common/status_macros.h"
#include "provider/kube/resources.h"

namespace kube {
namespace {

using SteadyClock = std::chrono::steady_clock;

}  // namespace

std::string HolderOf(const Json& lease) {
  const Json spec = lease.value("spec", Json::object());
  const Json holder = spec.value("holderIdentity", Json());
  return holder.is_string() ? holder.get<std::string>() : "";
}

// What identifies one version of a lease: it changes with every renewal
// and every change of holder.
std::string RecordOf(const Json& lease) {
  const Json spec = lease.value("spec", Json::object());
  const Json meta = lease.value("metadata", Json::object());
  const Json renew = spec.value("renewTime", Json());
  const Json rv = meta.value("resourceVersion", Json());
  return HolderOf(lease) + "\n" + (renew.is_string() ? renew.get<std::string>() : "") + "\n" +
         (rv.is_string() ? rv.get<std::string>() : "");
}

MonoTime LeaseObservations::Observe(const std::string& key, const std::string& record,
                                    MonoTime now) {
  std::lock_guard lock(mu_);
  auto [it, inserted] = seen_.try_emplace(key, record, now);
  if (!inserted && it->second.first != record) it->second = {record, now};
  return it->second.second;
}

void LeaseObservations::Forget(const std::string& key) {
  std::lock_guard lock(mu_);
  seen_.erase(key);
  released_.erase(key);
}

void LeaseObservations::KeepReleased(const std::string& key, std::string lease, std::string note) {
  // Bounded: past this many, the next takes simply read their lease first.
  constexpr size_t kMaxKept = 20000;
  std::lock_guard lock(mu_);
  if (released_.size() >= kMaxKept) released_.clear();
  released_[key] = {std::move(lease), std::move(note)};
}

std::optional<LeaseObservations::ReleasedLease> LeaseObservations::Released(
    const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = released_.find(key);
  if (it == released_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> LeaseObservations::TakeReleased(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = released_.find(key);
  if (it == released_.end()) return std::nullopt;
  std::string lease = std::move(it->second.lease);
  released_.erase(it);
  return lease;
}

std::chrono::milliseconds RenewDeadline(std::chrono::seconds duration) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(duration) * 2 / 3;
}

std::chrono::milliseconds RetryPeriod(std::chrono::seconds duration) {
  return std::max<std::chrono::milliseconds>(
      std::chrono::duration_cast<std::chrono::milliseconds>(duration) / 6,
      std::chrono::milliseconds(10));
}

LeaseLock::LeaseLock(Client& client, const kube::Clock& clock, ObjectKey lease,
                     std::string identity, std::chrono::seconds duration,
                     std::map<std::string, std::string> labels, LeaseObservations* observations)
    : client_(client),
      clock_(clock),
      key_(std::move(lease)),
      identity_(std::move(identity)),
      duration_(duration),
      labels_(std::move(labels)),
      observations_(observations != nullptr ? observations : &own_observations_) {}

std::string LeaseLock::Holder() const {
  std::lock_guard lock(mu_);
  return last_.is_null() ? "" : HolderOf(last_);
}

bool LeaseLock::Reclaimed() const {
  std::lock_guard lock(mu_);
  return reclaimed_;
}

bool LeaseLock::Expired(const Json& lease) const {
  const Json secs = lease.value("spec", Json::object()).value("leaseDurationSeconds", Json());
  const auto duration =
      secs.is_number_integer() ? std::chrono::seconds(secs.get<int64_t>()) : duration_;
  std::lock_guard lock(mu_);
  return clock_.Monotonic() - last_seen_ > duration;
}

void LeaseLock::Remember(Json lease) {
  const MonoTime seen = observations_->Observe(key_.String(), RecordOf(lease), clock_.Monotonic());
  std::lock_guard lock(mu_);
  last_ = std::move(lease);
  last_seen_ = seen;
}

absl::Status LeaseLock::Write(Json lease) {
  ASSIGN_OR_RETURN(Json out, client_.Update(kLeases, lease));
  Remember(std::move(out));
  return absl::OkStatus();
}

void LeaseLock::Claim(Json& lease, const std::string& now) const {
  Json& spec = lease["spec"];
  if (!spec.is_object()) spec = Json::object();
  if (HolderOf(lease) != identity_) {
    spec["holderIdentity"] = identity_;
    spec["acquireTime"] = now;
    const Json transitions = spec.value("leaseTransitions", Json());
    spec["leaseTransitions"] =
        (transitions.is_number_integer() ? transitions.get<int64_t>() : int64_t{0}) + 1;
    for (const auto& [k, v] : labels_) lease["metadata"]["labels"][k] = v;
  }
  spec["renewTime"] = now;
  spec["leaseDurationSeconds"] = duration_.count();
}

bool LeaseLock::Unclaim(Json& lease) const {
  if (HolderOf(lease) != identity_) return false;
  lease["spec"]["holderIdentity"] = nullptr;
  lease["spec"].erase("acquireTime");
  lease["spec"]["renewTime"] = kube::Rfc3339Micro(clock_.Now());
  lease["spec"]["leaseDurationSeconds"] = 1;
  return true;
}

absl::StatusOr<bool> LeaseLock::TryAcquire() {
  const std::string now = kube::Rfc3339Micro(clock_.Now());
  // Released by this host last: taken with one update conditional on that
  // version; whatever changed it since (another holder) makes it a conflict,
  // and the lease is then read as below.
  {
    std::lock_guard lock(mu_);
    reclaimed_ = false;
    release_note_.clear();  // a note is of one hold: set it after the take
  }
  if (std::optional<std::string> kept = observations_->TakeReleased(key_.String())) {
    Json lease = Json::parse(*kept, nullptr, false);
    if (lease.is_object() && HolderOf(lease).empty()) {
      Claim(lease, now);
      const absl::Status written = Write(std::move(lease));
      if (written.ok()) {
        std::lock_guard lock(mu_);
        reclaimed_ = true;
        return true;
      }
      if (!kube::IsConflict(written) && !kube::IsNotFound(written)) return written;
    }
  }
  absl::StatusOr<Json> got = client_.Get(kLeases, key_);
  if (!got.ok()) {
    if (!kube::IsNotFound(got.status())) return got.status();
    Json fresh = {{"apiVersion", kLeases.ApiVersion()},
                  {"kind", kLeases.kind},
                  {"metadata", {{"name", key_.name}, {"namespace", key_.ns}}},
                  {"spec",
                   {{"holderIdentity", identity_},
                    {"leaseDurationSeconds", duration_.count()},
                    {"acquireTime", now},
                    {"renewTime", now},
                    {"leaseTransitions", 0}}}};
    if (!labels_.empty()) fresh["metadata"]["labels"] = labels_;
    absl::StatusOr<Json> created = client_.Create(kLeases, fresh);
    if (!created.ok()) {
      // A contender created it first; whose it is shows on the next try.
      if (kube::IsAlreadyExists(created.status()) || kube::IsConflict(created.status()))
        return false;
      return created.status();
    }
    Remember(*std::move(created));
    return true;
  }
  Json lease = *std::move(got);
  Remember(lease);
  const std::string holder = HolderOf(lease);
  if (holder != identity_ && !holder.empty() && !Expired(lease)) return false;
  Claim(lease, now);
  const absl::Status written = Write(std::move(lease));
  if (kube::IsConflict(written)) return false;
  RETURN_IF_ERROR(written);
  return true;
}

absl::StatusOr<bool> LeaseLock::Renew() {
  const absl::Status renewed = RenewOrStatus();
  if (renewed.ok()) return true;
  if (absl::IsCancelled(renewed) || kube::IsNotFound(renewed) || kube::IsConflict(renewed))
    return false;
  return renewed;
}

absl::Status LeaseLock::RenewOrStatus() {
  Json lease;
  {
    std::lock_guard lock(mu_);
    lease = last_;
  }
  auto reread = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(lease, client_.Get(kLeases, key_));
    Remember(lease);
    return absl::OkStatus();
  };
  // Not known to be ours: someone may have released or taken it.
  if (lease.is_null() || HolderOf(lease) != identity_) RETURN_IF_ERROR(reread());
  for (int attempt = 0; HolderOf(lease) == identity_; ++attempt) {
    lease["spec"]["renewTime"] = kube::Rfc3339Micro(clock_.Now());
    lease["spec"]["leaseDurationSeconds"] = duration_.count();
    const absl::Status written = Write(lease);
    if (written.ok()) return absl::OkStatus();
    if (!kube::IsConflict(written) || attempt > 0) return written;
    RETURN_IF_ERROR(reread());  // our copy was stale: once more if it is still ours
  }
  return absl::CancelledError("the lease is held by another identity");
}

void LeaseLock::set_release_note(std::string note) {
  std::lock_guard lock(mu_);
  release_note_ = std::move(note);
}

void LeaseLock::Release() {
  // Whether the release kept is one this lock wrote (from a lease that
  // still named it): only then does its note hold.
  bool written_here = false;
  const absl::Status released = [&]() -> absl::Status {
    Json lease;
    {
      std::lock_guard lock(mu_);
      lease = last_;
    }
    // Our copy, as last renewed: current unless someone wrote since (then
    // a conflict, and the lease is read).
    if (!lease.is_null() && Unclaim(lease)) {
      const absl::Status written = Write(std::move(lease));
      written_here = written.ok();
      if (!kube::IsConflict(written)) return written;
    }
    ASSIGN_OR_RETURN(lease, client_.Get(kLeases, key_));
    Remember(lease);
    if (!Unclaim(lease)) return absl::OkStatus();
    const absl::Status written = Write(std::move(lease));
    written_here = written.ok();
    return written;
  }();
  if (released.ok()) {
    std::lock_guard lock(mu_);
    if (!last_.is_null() && HolderOf(last_).empty()) {
      Json kept = last_;
      DropManagedFields(kept);
      observations_->KeepReleased(key_.String(), kept.dump(),
                                  written_here ? release_note_ : std::string());
    }
    return;
  }
  if (kube::IsNotFound(released)) return;
  spdlog::warn("lease {}: release by {} failed: {}", key_.String(), identity_,
               std::string(released.message()));
}

LeaseKeeper::LeaseKeeper(LeaseLock& lock, std::chrono::milliseconds period,
                         std::chrono::milliseconds deadline, MonoTime renewed_at,
                         std::atomic<bool>* cancel, const std::atomic<bool>* stop)
    : lock_(lock),
      period_(std::max(period, std::chrono::milliseconds(1))),
      deadline_(deadline),
      cancel_(cancel),
      stop_(stop),
      renewed_at_(renewed_at) {
  renewer_ = std::thread([this] { RenewLoop(); });
  watcher_ = std::thread([this] { WatchLoop(); });
}

LeaseKeeper::~LeaseKeeper() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  renewer_.join();
  watcher_.join();
}

std::string LeaseKeeper::why() const {
  std::lock_guard lock(mu_);
  return why_;
}

bool LeaseKeeper::Sleep(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return stopping_; });
}

void LeaseKeeper::Lose(const std::string& why) {
  {
    std::lock_guard lock(mu_);
    if (lost_) return;
    why_ = why;
    lost_ = true;
  }
  if (cancel_ != nullptr) *cancel_ = true;
  spdlog::warn("lease {}: {} no longer holds it: {}", lock_.key().String(), lock_.identity(), why);
  cv_.notify_all();
}

void LeaseKeeper::RenewLoop() {
  while (Sleep(period_) && !lost_) {
    const MonoTime sent = lock_.clock().Monotonic();
    const absl::StatusOr<bool> renewed = lock_.Renew();
    if (renewed.ok() && *renewed) {
      std::lock_guard lock(mu_);
      if (!lost_) renewed_at_ = sent;
      continue;
    }
    if (renewed.ok()) {
      Lose("the lease is held by " +
           (lock_.Holder().empty() ? std::string("nobody") : lock_.Holder()) + " now");
      return;
    }
    spdlog::warn("lease {}: renewal failed: {}", lock_.key().String(),
                 std::string(renewed.status().message()));
  }
}

void LeaseKeeper::WatchLoop() {
  const auto tick = std::min(period_, std::chrono::milliseconds(50));
  while (Sleep(tick)) {
    if (stop_ != nullptr && *stop_ && cancel_ != nullptr) *cancel_ = true;
    if (lost_) continue;
    MonoTime renewed_at;
    {
      std::lock_guard lock(mu_);
      renewed_at = renewed_at_;
    }
    if (lock_.clock().Monotonic() - renewed_at >= deadline_) {
      Lose(
          "not renewed within the renew deadline of " +
          std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(deadline_).count()) +
          "ms");
    }
  }
}

LeaseHolder::LeaseHolder(Client& client, const kube::Clock& clock, ObjectKey lease,
                         std::string identity, std::chrono::seconds duration,
                         std::chrono::milliseconds wait, std::map<std::string, std::string> labels,
                         std::chrono::milliseconds poll, const std::atomic<bool>* stop,
                         LeaseObservations* observations)
    : lock_(client, clock, std::move(lease), std::move(identity), duration, std::move(labels),
            observations),
      stop_(stop) {
  const auto deadline = SteadyClock::now() + wait;
  MonoTime sent;
  while (true) {
    sent = clock.Monotonic();
    const absl::StatusOr<bool> acquired = lock_.TryAcquire();
    if (acquired.ok()) {
      acquired_ = *acquired;
      error_.clear();
    } else {
      error_ = std::string(acquired.status().message());
    }
    if (acquired_ || SteadyClock::now() + poll > deadline) break;
    std::this_thread::sleep_for(poll);
  }
  if (acquired_) Keep(sent);
}

void LeaseHolder::Keep(MonoTime renewed_at) {
  cancel_ = stop_ != nullptr && stop_->load();
  keeper_ =
      std::make_unique<LeaseKeeper>(lock_, RetryPeriod(lock_.duration()),
                                    RenewDeadline(lock_.duration()), renewed_at, &cancel_, stop_);
}

bool LeaseHolder::Regain() {
  if (!acquired_ || !lost()) return held();
  lost_reason_ = LostReason();
  keeper_.reset();
  const MonoTime sent = lock_.clock().Monotonic();
  const absl::StatusOr<bool> acquired = lock_.TryAcquire();
  if (!acquired.ok()) {
    lost_reason_ = "cannot hold it again: " + std::string(acquired.status().message());
    return false;
  }
  if (!*acquired) {
    lost_reason_ = "the lease is held by " + lock_.Holder() + " now";
    return false;
  }
  Keep(sent);
  return true;
}

LeaseHolder::~LeaseHolder() {
  keeper_.reset();  // stops renewing
  // Released only if the lease still names us (a hold judged lost at the
  // renew deadline may still be ours on the server).
  if (acquired_) lock_.Release();
}

LeaderElector::LeaderElector(Client& client, const kube::Clock& clock, ObjectKey lease,
                             std::string identity, Options options)
    : lock_(client, clock, std::move(lease), std::move(identity), options.lease_duration),
      options_(options) {}

std::chrono::milliseconds LeaderElector::renew_deadline() const {
  if (options_.renew_deadline.count() > 0 && options_.renew_deadline < options_.lease_duration) {
    return options_.renew_deadline;
  }
  return RenewDeadline(options_.lease_duration);
}

bool LeaderElector::Wait(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return stopping_; });
}

void LeaderElector::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
}

void LeaderElector::Run(const std::function<void()>& on_started_leading,
                        const std::function<void()>& on_stopped_leading) {
  // Become the leader.
  MonoTime sent;
  while (true) {
    sent = lock_.clock().Monotonic();
    const absl::StatusOr<bool> acquired = lock_.TryAcquire();
    if (!acquired.ok()) {
      spdlog::warn("leader election {}: {}", lock_.key().String(),
                   std::string(acquired.status().message()));
    }
    if (acquired.ok() && *acquired) break;
    if (!Wait(options_.retry_period)) return;
  }
  spdlog::info("leader election {}: {} is the leader", lock_.key().String(), lock_.identity());
  leading_ = true;
  if (on_started_leading) on_started_leading();

  // Stay the leader.
  {
    LeaseKeeper keeper(lock_, options_.retry_period, renew_deadline(), sent);
    while (Wait(std::min(options_.retry_period, std::chrono::milliseconds(50)))) {
      if (keeper.lost()) break;
    }
  }
  leading_ = false;
  spdlog::info("leader election {}: {} stopped leading", lock_.key().String(), lock_.identity());
  if (on_stopped_leading) on_stopped_leading();
  lock_.Release();  // a no-op when another holder has it
}

}  // namespace kube
