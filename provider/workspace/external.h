// The Workspace kind's external client: a Workspace is an OpenTofu root
// module whose state the provider keeps in a Kubernetes Secret. Observe
// plans (drift detection); Create and Update apply exactly the plan Observe
// made in the same reconcile; Delete destroys. Every run happens in a
// working folder of its own, under a Lease that says who holds the state,
// and the folder is removed afterwards: a folder found at the start of a
// reconcile is the trace of a run that was interrupted, and the state it
// holds is recovered before anything else happens.
#ifndef PROVIDER_WORKSPACE_EXTERNAL_H_
#define PROVIDER_WORKSPACE_EXTERNAL_H_

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "provider/kube/cached_reads.h"
#include "provider/kube/client.h"
#include "provider/kube/clock.h"
#include "provider/kube/lease.h"
#include "provider/runtime/events.h"
#include "provider/runtime/managed.h"

namespace workspace {

struct WorkspaceOptions {
  std::string tofu_binary;
  std::string work_root;   // one folder per Workspace uid
  std::string cache_root;  // git mirrors, plugin cache
  std::string default_state_namespace = "crossplane-system";
  std::string identity;  // this provider instance, for Leases
  std::chrono::milliseconds default_timeout{std::chrono::minutes(20)};
  std::chrono::seconds lock_duration{60};
  // How long Observe waits for a lock another live holder has.
  std::chrono::milliseconds lock_wait{std::chrono::seconds(10)};
  // After a timeout or cancel OpenTofu gets SIGINT and this long to stop
  // before it is killed (a ProviderConfig's spec.stopGracePeriod overrides
  // it): an interrupted OpenTofu waits for the cloud calls in flight, then
  // writes its state; killed earlier, what those calls made is in no state.
  std::chrono::milliseconds default_stop_grace{std::chrono::minutes(5)};
  // A reconcile's deadline is its timeout (spec.forProvider.timeout, else
  // default_timeout) plus this margin, counted from its start: the lock
  // wait, fetching the module, init, plan, apply or destroy and storing the
  // state all happen before it, or are stopped (OpenTofu by SIGINT, then
  // the stop grace).
  std::chrono::milliseconds reconcile_margin{std::chrono::minutes(5)};
  const std::atomic<bool>* cancel = nullptr;  // set when the provider stops
  // When this provider saw each state lock change: a lock held by another
  // identity is taken over a lock duration after that (shared by copies).
  std::shared_ptr<kube::LeaseObservations> lease_observations =
      std::make_shared<kube::LeaseObservations>();
};

class WorkspaceConnector : public runtime::Connector {
 public:
  WorkspaceConnector(kube::Client& client, runtime::EventSink& events, const kube::Clock& clock,
                     WorkspaceOptions options);
  absl::StatusOr<std::unique_ptr<runtime::ExternalClient>> Connect(
      kube::Json& mr, const kube::Json& provider_config) override;

 private:
  kube::Client& client_;
  // The resource's inputs (keys, credentials, variable files), read from
  // the API server's watch cache after their first read.
  kube::CachedReads inputs_;
  runtime::EventSink& events_;
  const kube::Clock& clock_;
  WorkspaceOptions options_;
};

// A unique identity for this process: <host>-<pid>-<random>. A lock whose
// holder names this host and a process that is gone (or this very pid with
// another random part: an earlier life of this process) is free.
std::string NewIdentity();
bool HolderIsGone(const std::string& holder, const std::string& self);

}  // namespace workspace

#endif  // PROVIDER_WORKSPACE_EXTERNAL_H_
