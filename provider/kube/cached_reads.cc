#include "provider/kube/cached_reads.h"

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

std::string VersionOf(const Json& object) {
  const auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) return "";
  const auto version = meta->find("resourceVersion");
  return version != meta->end() && version->is_string() ? version->get<std::string>() : "";
}

}  // namespace

absl::StatusOr<Json> CachedReads::Get(const Resource& r, const ObjectKey& key) {
  return GetNotOlderThan(r, key, "");
}

absl::StatusOr<Json> CachedReads::GetNotOlderThan(const Resource& r, const ObjectKey& key,
                                                  const std::string& resource_version) {
  const std::string id = VersionKey(r, key);
  absl::StatusOr<Json> got = inner_.GetNotOlderThan(
      r, key, resource_version.empty() ? versions_.Of(id) : resource_version);
  if (got.ok()) {
    versions_.Remember(id, VersionOf(*got));
  } else if (kube::IsNotFound(got.status())) {
    versions_.Remember(id, "");
  }
  return got;
}

}  // namespace kube
