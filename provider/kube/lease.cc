#include "provider/kube/lease.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "common/status_macros.h"
#include "provider/kube/resources.h"

namespace kube {
namespace {

using SteadyClock = std::chrono::steady_clock;

std::string HolderOf(const Json& lease) {
  const Json spec = lease.value("spec", Json::object());
  const Json holder = spec.value("holderIdentity", Json());
  return holder.is_string() ? holder.get<std::string>() : "";
}

// Renews a held lock once. True while it is still ours: renewed, or the
// renewal failed (an API error) less than a lease duration after the last
// success. `what` names the lock's use in the log.
bool RenewOnce(LeaseLock& lock, SteadyClock::time_point& last_renewal, const char* what) {
  const absl::StatusOr<bool> renewed = lock.Renew();
  if (renewed.ok()) {
    if (!*renewed) return false;
    last_renewal = SteadyClock::now();
    return true;
  }
  spdlog::warn("{} {}: renewal failed: {}", what, lock.key().String(),
               std::string(renewed.status().message()));
  return SteadyClock::now() - last_renewal <= lock.duration();
}

}  // namespace

LeaseLock::LeaseLock(Client& client, const kube::Clock& clock, ObjectKey lease,
                     std::string identity, std::chrono::seconds duration,
                     std::map<std::string, std::string> labels)
    : client_(client),
      clock_(clock),
      key_(std::move(lease)),
      identity_(std::move(identity)),
      duration_(duration),
      labels_(std::move(labels)) {}

std::string LeaseLock::Holder() const {
  std::lock_guard lock(mu_);
  return last_.is_null() ? "" : HolderOf(last_);
}

bool LeaseLock::Expired(const Json& spec) const {
  const Json renew = spec.value("renewTime", Json());
  const Json acquire = spec.value("acquireTime", Json());
  const Json& stamp = renew.is_string() ? renew : acquire;
  if (!stamp.is_string()) return true;
  const absl::StatusOr<kube::Time> at = kube::ParseRfc3339(stamp.get<std::string>());
  if (!at.ok()) return true;
  const Json secs = spec.value("leaseDurationSeconds", Json());
  const auto duration =
      secs.is_number_integer() ? std::chrono::seconds(secs.get<int64_t>()) : duration_;
  return *at + duration < clock_.Now();
}

absl::Status LeaseLock::Write(Json lease) {
  ASSIGN_OR_RETURN(Json out, client_.Update(kLeases, lease));
  std::lock_guard lock(mu_);
  last_ = std::move(out);
  return absl::OkStatus();
}

absl::StatusOr<bool> LeaseLock::TryAcquire() {
  const std::string now = kube::Rfc3339Micro(clock_.Now());
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
    std::lock_guard lock(mu_);
    last_ = *std::move(created);
    return true;
  }
  Json lease = *std::move(got);
  {
    std::lock_guard lock(mu_);
    last_ = lease;
  }
  Json& spec = lease["spec"];
  if (!spec.is_object()) spec = Json::object();
  const std::string holder = HolderOf(lease);
  if (holder != identity_) {
    if (!holder.empty() && !Expired(spec)) return false;
    spec["holderIdentity"] = identity_;
    spec["acquireTime"] = now;
    const Json transitions = spec.value("leaseTransitions", Json());
    spec["leaseTransitions"] =
        (transitions.is_number_integer() ? transitions.get<int64_t>() : int64_t{0}) + 1;
    for (const auto& [k, v] : labels_) lease["metadata"]["labels"][k] = v;
  }
  spec["renewTime"] = now;
  spec["leaseDurationSeconds"] = duration_.count();
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
    std::lock_guard lock(mu_);
    last_ = lease;
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

void LeaseLock::Release() {
  const absl::Status released = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(Json lease, client_.Get(kLeases, key_));
    {
      std::lock_guard lock(mu_);
      last_ = lease;
    }
    if (HolderOf(lease) != identity_) return absl::OkStatus();
    lease["spec"]["holderIdentity"] = nullptr;
    lease["spec"].erase("acquireTime");
    lease["spec"]["renewTime"] = kube::Rfc3339Micro(clock_.Now());
    lease["spec"]["leaseDurationSeconds"] = 1;
    return Write(std::move(lease));
  }();
  if (released.ok() || kube::IsNotFound(released)) return;
  spdlog::warn("lease {}: release by {} failed: {}", key_.String(), identity_,
               std::string(released.message()));
}

LeaseHolder::LeaseHolder(Client& client, const kube::Clock& clock, ObjectKey lease,
                         std::string identity, std::chrono::seconds duration,
                         std::chrono::milliseconds wait, std::map<std::string, std::string> labels,
                         std::chrono::milliseconds poll)
    : lock_(client, clock, std::move(lease), std::move(identity), duration, std::move(labels)) {
  const auto deadline = SteadyClock::now() + wait;
  while (true) {
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
  if (acquired_) renewer_ = std::thread([this] { RenewLoop(); });
}

LeaseHolder::~LeaseHolder() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (renewer_.joinable()) renewer_.join();
  if (acquired_ && !lost_) lock_.Release();
}

void LeaseHolder::RenewLoop() {
  const auto period =
      std::max<std::chrono::milliseconds>(lock_.duration() / 3, std::chrono::milliseconds(10));
  auto last_renewal = SteadyClock::now();
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, period, [this] { return stopping_; })) {
    lock.unlock();
    if (!RenewOnce(lock_, last_renewal, "lease")) {
      spdlog::warn("lease {}: lost by {} (holder now {})", lock_.key().String(), lock_.identity(),
                   lock_.Holder());
      lost_ = true;
      return;
    }
    lock.lock();
  }
}

LeaderElector::LeaderElector(Client& client, const kube::Clock& clock, ObjectKey lease,
                             std::string identity, Options options)
    : lock_(client, clock, std::move(lease), std::move(identity), options.lease_duration),
      options_(options) {}

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
  while (true) {
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
  auto last_renewal = SteadyClock::now();
  while (Wait(options_.retry_period)) {
    if (!RenewOnce(lock_, last_renewal, "leader election")) break;
  }
  leading_ = false;
  spdlog::info("leader election {}: {} stopped leading", lock_.key().String(), lock_.identity());
  if (on_stopped_leading) on_stopped_leading();
  lock_.Release();  // a no-op when another holder has it
}

}  // namespace kube
