#include "provider/runtime/sharding.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "provider/kube/resources.h"

namespace runtime {
namespace {

constexpr char kSetLabel[] = "workloads.terraforming.io/sharding";
constexpr char kRoleLabel[] = "workloads.terraforming.io/sharding-role";
// Member leases left behind by a replica that was killed are deleted by the
// others once they have been expired for this many lease durations.
constexpr int kForgetAfterDurations = 4;

uint64_t Fnv1a(std::string_view text) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (const unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

// splitmix64's finaliser: spreads FNV's low-entropy high bits.
uint64_t Mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t Score(const std::string& member, int shard) {
  return Mix(Fnv1a(member) ^ (static_cast<uint64_t>(shard) + 1) * 0x9e3779b97f4a7c15ULL);
}

std::string Label(const kube::Json& lease, const char* key) {
  const kube::Json labels =
      lease.value("metadata", kube::Json::object()).value("labels", kube::Json());
  if (!labels.is_object()) return "";
  const kube::Json v = labels.value(key, kube::Json());
  return v.is_string() ? v.get<std::string>() : "";
}

std::chrono::seconds DurationOf(const kube::Json& lease, std::chrono::seconds fallback) {
  const kube::Json secs =
      lease.value("spec", kube::Json::object()).value("leaseDurationSeconds", kube::Json());
  return secs.is_number_integer() ? std::chrono::seconds(secs.get<int64_t>()) : fallback;
}

}  // namespace

int ShardOf(std::string_view key, int shards) {
  if (shards <= 1) return 0;
  return static_cast<int>(Mix(Fnv1a(key)) % static_cast<uint64_t>(shards));
}

std::vector<std::string> AssignShards(int shards, std::vector<std::string> members) {
  std::sort(members.begin(), members.end());
  members.erase(std::unique(members.begin(), members.end()), members.end());
  if (members.empty() || shards <= 0) return {};
  const size_t cap = (static_cast<size_t>(shards) + members.size() - 1) / members.size();
  std::vector<size_t> counts(members.size(), 0);
  std::vector<std::string> owners(static_cast<size_t>(shards));
  std::vector<size_t> order(members.size());
  for (int s = 0; s < shards; ++s) {
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::vector<uint64_t> scores(members.size());
    for (size_t i = 0; i < members.size(); ++i) scores[i] = Score(members[i], s);
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return scores[a] != scores[b] ? scores[a] > scores[b] : members[a] < members[b];
    });
    for (const size_t i : order) {
      if (counts[i] < cap) {
        ++counts[i];
        owners[static_cast<size_t>(s)] = members[i];
        break;
      }
    }
  }
  return owners;
}

Sharding::Sharding(kube::Client& client, const kube::Clock& clock, std::string identity,
                   ShardingOptions options)
    : client_(client),
      clock_(clock),
      identity_(std::move(identity)),
      options_(std::move(options)),
      label_(options_.name),
      shards_(static_cast<size_t>(std::max(options_.shards, 1))) {}

Sharding::~Sharding() { Stop(std::chrono::milliseconds(0)); }

std::string Sharding::LeaseName(int shard) const {
  return absl::StrCat(options_.name, "-shard-", shard);
}

std::string Sharding::MemberLeaseName(const std::string& identity) const {
  char hex[17];
  snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(Mix(Fnv1a(identity))));
  return absl::StrCat(options_.name, "-member-", hex);
}

absl::Status Sharding::Start(std::function<void()> on_gained,
                             std::function<void(std::string)> on_lost) {
  on_gained_ = std::move(on_gained);
  on_lost_ = std::move(on_lost);
  member_ = std::make_unique<kube::LeaseHolder>(
      client_, clock_, kube::ObjectKey{options_.ns, MemberLeaseName()}, identity_,
      options_.lease_duration, std::chrono::milliseconds(0),
      std::map<std::string, std::string>{{kSetLabel, label_}, {kRoleLabel, "member"}},
      std::chrono::milliseconds(500), &stopping_, &observations_);
  if (!member_->held()) {
    const std::string why = member_->error();
    member_.reset();
    return absl::UnavailableError(absl::StrCat("cannot create the member lease ", options_.ns, "/",
                                               MemberLeaseName(), ": ", why));
  }
  kube::Informer::Handlers wake;
  wake.on_upsert = [this](const kube::Json&) { cv_.notify_all(); };
  wake.on_delete = wake.on_upsert;
  leases_ = std::make_unique<kube::Informer>(client_, kube::kLeases, options_.ns,
                                             absl::StrCat(kSetLabel, "=", label_), wake);
  leases_->Start();
  thread_ = std::thread([this] { Loop(); });
  spdlog::info("sharding: joined as {} (member lease {}/{}, {} shards, leases of {}s)", identity_,
               options_.ns, MemberLeaseName(), shards_.size(), options_.lease_duration.count());
  return absl::OkStatus();
}

void Sharding::Loop() {
  leases_->WaitForSync(options_.lease_duration);
  while (!stopping_) {
    if (member_->lost()) {
      const std::string why = member_->LostReason();
      stopping_ = true;
      if (on_lost_) on_lost_(why);
      return;
    }
    const bool gained = Tick();
    if (gained && on_gained_) on_gained_();
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, options_.tick, [this] { return stopping_.load(); });
  }
}

bool Sharding::Tick() {
  const kube::MonoTime now = clock_.Monotonic();
  std::set<std::string> live = {identity_};
  std::map<int, std::string> holders;
  const std::string shard_prefix = options_.name + "-shard-";
  for (const kube::Json& lease : leases_->List()) {
    const kube::Json meta = lease.value("metadata", kube::Json::object());
    const std::string name = meta.value("name", "");
    const std::string holder = kube::HolderOf(lease);
    const std::string role = Label(lease, kRoleLabel);
    if (role == "shard" && name.rfind(shard_prefix, 0) == 0) {
      const std::string index = name.substr(shard_prefix.size());
      if (!index.empty() && std::all_of(index.begin(), index.end(), ::isdigit) &&
          index.size() < 6) {
        holders[std::stoi(index)] = holder;
      }
      continue;
    }
    if (role != "member" || name == MemberLeaseName()) continue;
    const kube::MonoTime first = observations_.Observe(name, kube::RecordOf(lease), now);
    const auto duration = DurationOf(lease, options_.lease_duration);
    if (!holder.empty() && now - first <= duration) {
      live.insert(holder);
    } else if (now - first > duration * kForgetAfterDurations) {
      // A member that left without deleting its lease (it was killed).
      if (client_.Delete(kube::kLeases, {options_.ns, name}).ok()) observations_.Forget(name);
    }
  }
  const std::vector<std::string> members(live.begin(), live.end());
  std::vector<std::string> owners = AssignShards(static_cast<int>(shards_.size()), members);
  bool gained = false;
  std::set<std::string> confirmed_dead;
  {
    std::lock_guard lock(mu_);
    if (members != members_) {
      spdlog::info("sharding: {} live member(s): {}", members.size(), absl::StrJoin(members, ", "));
      members_ = members;
    }
  }
  for (int i = 0; i < static_cast<int>(shards_.size()); ++i) {
    std::unique_lock lock(mu_);
    Shard& s = shards_[static_cast<size_t>(i)];
    const bool assigned = !leaving_ && owners[static_cast<size_t>(i)] == identity_;
    if (assigned) {
      s.draining = false;
      if (s.mine) continue;
      const auto h = holders.find(i);
      const bool free = h == holders.end() || h->second.empty() || live.count(h->second) == 0 ||
                        h->second == identity_;
      if (!free) continue;  // its holder is handing it over
      lock.unlock();
      if (Take(i, confirmed_dead)) {
        lock.lock();
        s.mine = true;
        gained = true;
      }
    } else if (s.mine) {
      s.draining = true;
      if (s.in_flight > 0) continue;
      lock.unlock();
      if (Release(i)) {
        if (on_released_) on_released_(i);
        lock.lock();
        s.mine = false;
        s.draining = false;
      }
    }
  }
  return gained;
}

// Whether `holder` is dead by its member lease read afresh.
bool Sharding::ConfirmDead(const std::string& holder) {
  const std::string member = MemberLeaseName(holder);
  absl::StatusOr<kube::Json> fresh = client_.Get(kube::kLeases, {options_.ns, member});
  if (!fresh.ok()) return kube::IsNotFound(fresh.status());
  const kube::MonoTime at = clock_.Monotonic();
  const kube::MonoTime first = observations_.Observe(member, kube::RecordOf(*fresh), at);
  return kube::HolderOf(*fresh).empty() || at - first > DurationOf(*fresh, options_.lease_duration);
}

bool Sharding::Take(int shard, std::set<std::string>& confirmed_dead) {
  const kube::ObjectKey key{options_.ns, LeaseName(shard)};
  const std::string now = kube::Rfc3339Micro(clock_.Now());
  const kube::Json spec = {{"holderIdentity", identity_},
                           {"leaseDurationSeconds", options_.lease_duration.count()},
                           {"acquireTime", now},
                           {"renewTime", now}};
  absl::StatusOr<kube::Json> got = client_.Get(kube::kLeases, key);
  absl::Status written;
  if (!got.ok() && kube::IsNotFound(got.status())) {
    kube::Json lease = {{"apiVersion", kube::kLeases.ApiVersion()},
                        {"kind", kube::kLeases.kind},
                        {"metadata",
                         {{"name", key.name},
                          {"namespace", key.ns},
                          {"labels", {{kSetLabel, label_}, {kRoleLabel, "shard"}}}}},
                        {"spec", spec}};
    written = client_.Create(kube::kLeases, lease).status();
  } else if (!got.ok()) {
    written = got.status();
  } else {
    kube::Json lease = *std::move(got);
    const std::string holder = kube::HolderOf(lease);
    if (!holder.empty() && holder != identity_) {
      {
        std::lock_guard lock(mu_);
        if (std::find(members_.begin(), members_.end(), holder) != members_.end()) return false;
      }
      // Counted dead from the watch: read its member lease afresh (once per
      // pass), so a watch that fell behind never hands a live replica's
      // shard over.
      if (confirmed_dead.count(holder) == 0) {
        if (!ConfirmDead(holder)) return false;
        confirmed_dead.insert(holder);
      }
    }
    kube::Json& s = lease["spec"];
    const kube::Json transitions = s.value("leaseTransitions", kube::Json());
    s.update(spec);
    s["leaseTransitions"] =
        (transitions.is_number_integer() ? transitions.get<int64_t>() : int64_t{0}) + 1;
    written = client_.Update(kube::kLeases, lease).status();
  }
  if (!written.ok()) {
    if (!kube::IsConflict(written) && !kube::IsAlreadyExists(written)) {
      spdlog::warn("sharding: cannot take shard {}: {}", shard, std::string(written.message()));
    }
    return false;
  }
  spdlog::info("sharding: took shard {}", shard);
  return true;
}

bool Sharding::Release(int shard) {
  const kube::ObjectKey key{options_.ns, LeaseName(shard)};
  absl::StatusOr<kube::Json> got = client_.Get(kube::kLeases, key);
  if (!got.ok()) {
    if (kube::IsNotFound(got.status())) return true;
    spdlog::warn("sharding: cannot hand shard {} over: {}", shard,
                 std::string(got.status().message()));
    return false;
  }
  kube::Json lease = *std::move(got);
  if (kube::HolderOf(lease) != identity_) return true;
  lease["spec"]["holderIdentity"] = "";
  lease["spec"]["renewTime"] = kube::Rfc3339Micro(clock_.Now());
  const absl::Status written = client_.Update(kube::kLeases, lease).status();
  if (!written.ok()) {
    spdlog::warn("sharding: cannot hand shard {} over: {}", shard, std::string(written.message()));
    return false;
  }
  spdlog::info("sharding: handed shard {} over", shard);
  return true;
}

bool Sharding::Owns(std::string_view key) const {
  std::lock_guard lock(mu_);
  const Shard& s = shards_[static_cast<size_t>(ShardOf(key, static_cast<int>(shards_.size())))];
  return s.mine && !s.draining && !leaving_;
}

bool Sharding::Begin(std::string_view key) {
  std::lock_guard lock(mu_);
  Shard& s = shards_[static_cast<size_t>(ShardOf(key, static_cast<int>(shards_.size())))];
  if (!s.mine || s.draining || leaving_) return false;
  ++s.in_flight;
  return true;
}

void Sharding::End(std::string_view key) {
  {
    std::lock_guard lock(mu_);
    Shard& s = shards_[static_cast<size_t>(ShardOf(key, static_cast<int>(shards_.size())))];
    if (s.in_flight > 0) --s.in_flight;
    if (!s.draining || s.in_flight > 0) return;
  }
  cv_.notify_all();  // a drained shard is handed over on the next pass
}

std::vector<int> Sharding::Held() const {
  std::lock_guard lock(mu_);
  std::vector<int> held;
  for (size_t i = 0; i < shards_.size(); ++i) {
    if (shards_[i].mine) held.push_back(static_cast<int>(i));
  }
  return held;
}

std::vector<std::string> Sharding::Members() const {
  std::lock_guard lock(mu_);
  return members_;
}

void Sharding::Stop(std::chrono::milliseconds drain) {
  if (member_ == nullptr) return;
  {
    std::lock_guard lock(mu_);
    leaving_ = true;
  }
  const auto deadline = std::chrono::steady_clock::now() + drain;
  // Hand every shard over once its reconciles ended (the controllers were
  // stopped first, so they end soon).
  for (;;) {
    bool busy = false;
    for (int i = 0; i < static_cast<int>(shards_.size()); ++i) {
      std::unique_lock lock(mu_);
      Shard& s = shards_[static_cast<size_t>(i)];
      if (!s.mine) continue;
      s.draining = true;
      if (s.in_flight > 0) {
        busy = true;
        continue;
      }
      lock.unlock();
      if (Release(i)) {
        if (on_released_) on_released_(i);
        lock.lock();
        s.mine = false;
      } else {
        busy = true;
      }
    }
    if (!busy || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  stopping_ = true;
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (leases_) leases_->Stop();
  member_.reset();  // releases the member lease
  const absl::Status deleted = client_.Delete(kube::kLeases, {options_.ns, MemberLeaseName()});
  if (!deleted.ok() && !kube::IsNotFound(deleted)) {
    spdlog::warn("sharding: cannot delete the member lease: {}", std::string(deleted.message()));
  }
  spdlog::info("sharding: left");
}

}  // namespace runtime
