// ProviderConfigs: finding the one a managed resource names, recording that
// it is in use (a ProviderConfigUsage per resource), and the reconciler that
// counts a ProviderConfig's users and holds its deletion while any remain.
#ifndef PROVIDER_RUNTIME_PROVIDERCONFIG_H_
#define PROVIDER_RUNTIME_PROVIDERCONFIG_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "provider/kube/client.h"
#include "provider/kube/clock.h"
#include "provider/runtime/events.h"

namespace runtime {

inline constexpr char kInUseFinalizer[] = "in-use.crossplane.io";
inline constexpr char kProviderConfigLabel[] = "crossplane.io/provider-config";
inline constexpr char kProviderConfigKindLabel[] = "crossplane.io/provider-config-kind";

struct ProviderConfigKinds {
  // Legacy (cluster-scoped resources): the cluster-scoped ProviderConfig.
  // Modern (namespaced resources): the namespaced ProviderConfig.
  kube::Resource provider_config;
  // Modern only: ClusterProviderConfig.
  std::optional<kube::Resource> cluster_provider_config;
  kube::Resource usage;
  bool modern = false;
};

// Reads from the caches the provider's controllers keep of the
// ProviderConfig kinds and their usages, so that a reconcile need not ask the
// API server for what a watch already told it. Each answers nullopt when no
// synced cache holds the answer (the caller then asks the API server).
struct ConfigCache {
  std::function<std::optional<kube::Json>(const kube::Resource&, const kube::ObjectKey&)> get;
  std::function<std::optional<int64_t>(const kube::Resource&,
                                       const std::function<bool(const kube::Json&)>&)>
      count;
};

// What a usage's cache keeps: its key, labels and references.
void KeepForUsageCache(kube::Json& usage);

class ProviderConfigs {
 public:
  ProviderConfigs(kube::Client& client, ProviderConfigKinds kinds)
      : client_(client), kinds_(std::move(kinds)) {}

  // The ProviderConfig spec.providerConfigRef names (default "default").
  // An error names it: NotFound when it does not exist, InvalidArgument for a
  // kind this provider does not have, the API's code otherwise.
  absl::StatusOr<kube::Json> Resolve(const kube::Json& mr) const;

  // Creates or refreshes the ProviderConfigUsage named after the resource's
  // uid (in its namespace when namespaced), controlled by the resource.
  // Idempotent; an API error is returned.
  absl::Status TrackUsage(const kube::Json& mr, const kube::Json& provider_config) const;

  // Removes the resource's usage (when its finalizer goes; the garbage
  // collector would too, but not before the resource is gone).
  // Idempotent (a usage already gone is fine); an API error is returned.
  absl::Status ReleaseUsage(const kube::Json& mr) const;

  const ProviderConfigKinds& kinds() const { return kinds_; }

  // Resolve and TrackUsage read from `cache` first (before any reconcile;
  // it outlives this object). A ProviderConfig or usage not in it is read
  // from the API server.
  void UseCache(const ConfigCache* cache) { cache_ = cache; }

 private:
  kube::Client& client_;
  ProviderConfigKinds kinds_;
  const ConfigCache* cache_ = nullptr;
};

// The files a ProviderConfig's spec.credentials describe, as (file name,
// content): from a Secret (a namespaced ProviderConfig reads its own
// namespace only), the provider's environment, or none. An error names the
// entry (InvalidArgument, NotFound, or the API's code).
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> CredentialFiles(
    kube::Client& client, const kube::Json& provider_config);

// The SSH host keys a ProviderConfig trusts (known_hosts lines): its
// spec.ssh.knownHosts followed by the key spec.ssh.knownHostsSecretRef names
// (a namespaced ProviderConfig reads its own namespace only). "" when
// neither is set. An error names the field (InvalidArgument, NotFound, or
// the API's code).
absl::StatusOr<std::string> SshKnownHosts(kube::Client& client, const kube::Json& provider_config);

// Reconciles one ProviderConfig kind: status.users, the in-use finalizer,
// and a Terminating condition while a deleted config is still used.
class ProviderConfigReconciler {
 public:
  ProviderConfigReconciler(kube::Client& client, EventSink& events, const kube::Clock& clock,
                           kube::Resource config, kube::Resource usage, bool modern)
      : client_(client),
        events_(events),
        clock_(clock),
        config_(std::move(config)),
        usage_(std::move(usage)),
        modern_(modern) {}

  // Returns false when it should be retried (an API error). Called from the
  // controller's worker, one key at a time; idempotent.
  bool Reconcile(const kube::ObjectKey& key);

  // Counts users in `cache` (the usages' informer) instead of listing them
  // on every change; a deleted config's last user is still confirmed with
  // the API server before its finalizer goes. Before any reconcile. The
  // cache must be the informer whose changes wake this reconciler: another
  // informer of the same usages may not have seen a new usage yet when this
  // one's event comes, and no later event would correct the count.
  void UseCache(ConfigCache cache) { cache_ = std::move(cache); }

 private:
  absl::Status Update(const kube::ObjectKey& key, kube::Json& pc);
  // Usages that name `key`: from the cache when it can tell, else listed
  // (`live` lists always).
  absl::StatusOr<int64_t> CountUsers(const kube::ObjectKey& key, bool live) const;

  kube::Client& client_;
  EventSink& events_;
  const kube::Clock& clock_;
  kube::Resource config_;
  kube::Resource usage_;
  bool modern_;
  ConfigCache cache_;
};

}  // namespace runtime

#endif  // PROVIDER_RUNTIME_PROVIDERCONFIG_H_
