// Reading objects from the API server's watch cache without going back in
// time: the resource versions a reader last saw, and a Client whose reads
// ask for an object not older than the version it last returned.
#ifndef PROVIDER_KUBE_CACHED_READS_H_
#define PROVIDER_KUBE_CACHED_READS_H_

#include <cstddef>
#include <limits>
#include <mutex>
#include <string>
#include <unordered_map>

#include "provider/kube/client.h"
#include "provider/kube/forwarding_client.h"

namespace kube {

// Per object (any key string), the resource version last read or written.
// Thread-safe. It holds at most `capacity` objects: one more and all are
// forgotten, so the next read of each is a plain one (never wrong, only
// dearer).
class KnownVersions {
 public:
  explicit KnownVersions(std::size_t capacity = std::numeric_limits<std::size_t>::max())
      : capacity_(capacity) {}

  // The version of `key` last remembered; "" when none is.
  std::string Of(const std::string& key) const;
  // Remembers `version` for `key`; an empty `version` forgets the key.
  void Remember(const std::string& key, const std::string& version);
  // Remembers `version`, returned by a read not older than `sent`, unless
  // another read remembered a later one meanwhile: it is remembered when
  // `key` still has `sent` (or nothing), or when both versions are decimal
  // integers, as the API server's are, and `version` is the greater. For
  // readers of one key on several threads.
  void Advance(const std::string& key, const std::string& sent, const std::string& version);
  // Raises the version of a key already known to `version` when both are
  // decimal integers and `version` is the greater; an unknown key stays
  // unknown (its next read is a plain one).
  void Raise(const std::string& key, const std::string& version);
  void Clear();
  std::size_t size() const;

 private:
  const std::size_t capacity_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::string> versions_;
};

// A Client for a resource's inputs: the Secrets and ConfigMaps a managed
// resource or its ProviderConfig refers to (an encryption key, credentials,
// variable files). Get reads an object from the API server's watch cache,
// not older than the version this reader last returned for it
// (GetNotOlderThan); the first read of an object, and the first after it was
// NotFound, is a plain read from etcd. So the reader never sees an input go
// back in time, and later reads normally cost the API server no read from
// etcd (a cache that does not reach the version in time is bypassed). It
// may miss a change made in the last moments, by anyone (this process's
// own writes through another client included), until the cache has it
// (milliseconds with one API server), as a plain read sent a moment earlier
// would. Not for objects a decision needs current (a lock, a state; the
// Workspace state read without the lock bounds its own read, see
// workspace::StateStore::ReadIndexSecret).
//
// Every other call goes to `inner` unchanged. Thread-safe as `inner` is.
class CachedReads final : public ForwardingClient {
 public:
  // `capacity`: how many objects' versions are kept (KnownVersions).
  explicit CachedReads(Client& inner, std::size_t capacity = 10000)
      : ForwardingClient(inner), versions_(capacity) {}

  absl::StatusOr<Json> Get(const Resource& r, const ObjectKey& key) override;
  // Not older than `resource_version` when it is set, else as Get.
  absl::StatusOr<Json> GetNotOlderThan(const Resource& r, const ObjectKey& key,
                                       const std::string& resource_version) override;

  // How many objects' versions are known (for tests).
  std::size_t known() const { return versions_.size(); }

 private:
  KnownVersions versions_;
};

}  // namespace kube

#endif  // PROVIDER_KUBE_CACHED_READS_H_
