#include "provider/kube/cached_reads.h"

#include <charconv>
#include <cstdint>
#include <optional>
#include <system_error>

namespace kube {

std::string KnownVersions::Of(const std::string& key) const {
  std::lock_guard lock(mu_);
  const auto it = versions_.find(key);
  return it == versions_.end() ? std::string() : it->second;
}

void KnownVersions::Remember(const std::string& key, const std::string& version) {
  std::lock_guard lock(mu_);
  if (version.empty()) {
    versions_.erase(key);
    return;
  }
  if (versions_.size() >= capacity_ && versions_.find(key) == versions_.end()) versions_.clear();
  versions_[key] = version;
}

namespace {

// A resource version as etcd's revision: a decimal integer, else nullopt.
std::optional<std::uint64_t> Revision(const std::string& version) {
  std::uint64_t n = 0;
  const char* end = version.data() + version.size();
  const auto [at, error] = std::from_chars(version.data(), end, n);
  if (version.empty() || error != std::errc() || at != end) return std::nullopt;
  return n;
}

}  // namespace

void KnownVersions::Advance(const std::string& key, const std::string& sent,
                            const std::string& version) {
  if (version.empty()) return;
  std::lock_guard lock(mu_);
  const auto it = versions_.find(key);
  if (it == versions_.end()) {
    if (versions_.size() >= capacity_) versions_.clear();
    versions_.emplace(key, version);
    return;
  }
  if (it->second == sent) {
    it->second = version;
    return;
  }
  const std::optional<std::uint64_t> known = Revision(it->second);
  const std::optional<std::uint64_t> got = Revision(version);
  if (known && got && *got > *known) it->second = version;
}

void KnownVersions::Raise(const std::string& key, const std::string& version) {
  const std::optional<std::uint64_t> got = Revision(version);
  if (!got) return;
  std::lock_guard lock(mu_);
  const auto it = versions_.find(key);
  if (it == versions_.end()) return;
  const std::optional<std::uint64_t> known = Revision(it->second);
  if (known && *got > *known) it->second = version;
}

void KnownVersions::Clear() {
  std::lock_guard lock(mu_);
  versions_.clear();
}

std::size_t KnownVersions::size() const {
  std::lock_guard lock(mu_);
  return versions_.size();
}

namespace {

// One object of one resource type: resource types of different groups may
// share a plural.
std::string VersionKey(const Resource& r, const ObjectKey& key) {
  return r.group + "/" + r.plural + "/" + key.String();
}

}  // namespace

absl::StatusOr<Json> CachedReads::Get(const Resource& r, const ObjectKey& key) {
  return GetNotOlderThan(r, key, "");
}

absl::StatusOr<Json> CachedReads::GetNotOlderThan(const Resource& r, const ObjectKey& key,
                                                  const std::string& resource_version) {
  const std::string id = VersionKey(r, key);
  const std::string sent = resource_version.empty() ? versions_.Of(id) : resource_version;
  absl::StatusOr<Json> got = inner().GetNotOlderThan(r, key, sent);
  if (got.ok()) {
    // Workers may read one input at once: a slower answer must not replace
    // a later version another one remembered meanwhile.
    versions_.Advance(id, sent, ResourceVersionOf(*got));
  } else if (kube::IsNotFound(got.status())) {
    versions_.Remember(id, "");
  }
  return got;
}

}  // namespace kube
