// A Client that passes every call to another client: the base of a client
// that changes some calls (CachedReads: the reads of inputs) or, in tests,
// watches or interferes with them.
#ifndef PROVIDER_KUBE_FORWARDING_CLIENT_H_
#define PROVIDER_KUBE_FORWARDING_CLIENT_H_

#include <functional>
#include <optional>
#include <string>

#include "provider/kube/client.h"

namespace kube {

class ForwardingClient : public Client {
 public:
  explicit ForwardingClient(Client& inner) : inner_(inner) {}

  absl::StatusOr<Json> Get(const Resource& r, const ObjectKey& key) override {
    return inner_.Get(r, key);
  }
  absl::StatusOr<Json> GetNotOlderThan(const Resource& r, const ObjectKey& key,
                                       const std::string& resource_version) override {
    return inner_.GetNotOlderThan(r, key, resource_version);
  }
  absl::StatusOr<Json> List(const Resource& r, const std::string& ns,
                            const ListOptions& opts) override {
    return inner_.List(r, ns, opts);
  }
  absl::StatusOr<Json> Create(const Resource& r, const Json& object) override {
    return inner_.Create(r, object);
  }
  absl::StatusOr<Json> Update(const Resource& r, const Json& object) override {
    return inner_.Update(r, object);
  }
  absl::StatusOr<Json> UpdateStatus(const Resource& r, const Json& object) override {
    return inner_.UpdateStatus(r, object);
  }
  absl::StatusOr<Json> Patch(const Resource& r, const ObjectKey& key, PatchType type,
                             const Json& patch, const PatchOptions& opts) override {
    return inner_.Patch(r, key, type, patch, opts);
  }
  absl::Status Delete(const Resource& r, const ObjectKey& key,
                      const std::optional<std::string>& uid = std::nullopt) override {
    return inner_.Delete(r, key, uid);
  }
  absl::Status Watch(const Resource& r, const std::string& ns, const WatchOptions& opts,
                     const std::function<bool(const WatchEvent&)>& on_event) override {
    return inner_.Watch(r, ns, opts, on_event);
  }

 protected:
  Client& inner() { return inner_; }

 private:
  Client& inner_;
};

}  // namespace kube

#endif  // PROVIDER_KUBE_FORWARDING_CLIENT_H_
