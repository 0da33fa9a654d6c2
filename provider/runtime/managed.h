// The managed-resource reconciler: Crossplane's contract for a managed
// resource, carried once for every kind of this provider. A kind plugs in a
// Connector that returns an ExternalClient with Observe, Create, Update and
// Delete; everything else (finalizer, external name, the create
// annotations, conditions, management and deletion policies, pausing,
// polling, ProviderConfig usage, connection Secrets, events) is here.
//
// It follows crossplane-runtime's managed.Reconciler step by step
// (pkg/reconciler/managed/reconciler.go): same annotations, condition
// reasons, event reasons and messages, so tools and people who know
// Crossplane read this provider's resources the same way.
#ifndef PROVIDER_RUNTIME_MANAGED_H_
#define PROVIDER_RUNTIME_MANAGED_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "provider/kube/client.h"
#include "provider/kube/clock.h"
#include "provider/runtime/connection.h"
#include "provider/runtime/events.h"
#include "provider/runtime/providerconfig.h"

namespace runtime {

inline constexpr char kFinalizer[] = "finalizer.managedresource.crossplane.io";
inline constexpr char kExternalName[] = "crossplane.io/external-name";
inline constexpr char kCreatePending[] = "crossplane.io/external-create-pending";
inline constexpr char kCreateSucceeded[] = "crossplane.io/external-create-succeeded";
inline constexpr char kCreateFailed[] = "crossplane.io/external-create-failed";
inline constexpr char kPaused[] = "crossplane.io/paused";
inline constexpr char kPollInterval[] = "crossplane.io/poll-interval";
inline constexpr char kReconcileRequestedAt[] = "crossplane.io/reconcile-requested-at";

struct Observation {
  bool exists = false;
  bool up_to_date = false;
  bool late_initialized = false;  // the client changed spec; write it back
  ConnectionDetails details;
};

struct ExternalResult {
  ConnectionDetails details;
};

// Talks to the external system for one resource during one reconcile. The
// resource is passed by reference: a client may set status.atProvider and the
// Ready condition (Available / Unavailable: that is the provider's job), and
// annotations in Create. Errors are exceptions whose what() is short and safe
// to show (no secrets).
class ExternalClient {
 public:
  virtual ~ExternalClient() = default;
  virtual Observation Observe(kube::Json& mr) = 0;
  virtual ExternalResult Create(kube::Json& mr) = 0;
  virtual ExternalResult Update(kube::Json& mr) = 0;
  virtual void Delete(kube::Json& mr) = 0;
  // Always called at the end of a reconcile that connected.
  virtual void Disconnect() {}
};

class Connector {
 public:
  virtual ~Connector() = default;
  virtual std::unique_ptr<ExternalClient> Connect(kube::Json& mr,
                                                  const kube::Json& provider_config) = 0;
};

struct ManagedOptions {
  kube::Resource resource;
  bool legacy = false;  // cluster-scoped, with spec.deletionPolicy
  std::chrono::milliseconds poll{std::chrono::minutes(1)};
  std::chrono::milliseconds poll_jitter{0};
  std::chrono::milliseconds min_poll{std::chrono::seconds(1)};
  std::chrono::milliseconds creation_grace{std::chrono::seconds(30)};
  // The external resource's identity follows from the managed resource
  // alone (a Workspace's state is keyed by its uid), so a create whose
  // outcome was never recorded can safely be retried.
  bool deterministic_external_name = false;
  bool management_policies = true;
};

// What the controller does next with the object.
struct Result {
  enum class Kind { kDone, kBackoff, kAfter };
  Kind kind = Kind::kDone;
  std::chrono::milliseconds after{0};

  static Result Done() { return {Kind::kDone, {}}; }
  // Requeue with the queue's per-object exponential backoff.
  static Result Backoff() { return {Kind::kBackoff, {}}; }
  static Result After(std::chrono::milliseconds d) { return {Kind::kAfter, d}; }
};

class ManagedReconciler {
 public:
  ManagedReconciler(kube::Client& client, EventSink& events, const kube::Clock& clock,
                    Connector& connector, const ProviderConfigs& configs, ManagedOptions options,
                    std::function<double()> random01 = nullptr);

  Result Reconcile(const kube::ObjectKey& key);

  const ManagedOptions& options() const { return options_; }

 private:
  Result ReconcileObject(kube::Json& mr);
  // Writes status (and observedGeneration); returns `result`, or Backoff
  // when the write failed.
  Result WriteStatus(kube::Json& mr, Result result);
  // A plain update of the whole object; keeps our status in memory.
  void UpdateObject(kube::Json& mr);
  // Persists the create annotations whatever it takes: re-reads and
  // re-applies them on conflict.
  void PersistAnnotations(kube::Json& mr, const std::map<std::string, std::string>& annotations);
  bool CreateIncomplete(const kube::Json& mr) const;
  bool WithinCreationGrace(const kube::Json& mr) const;
  std::chrono::milliseconds PollInterval(const kube::Json& mr) const;
  void RemoveFinalizer(kube::Json& mr);

  kube::Client& client_;
  EventSink& events_;
  const kube::Clock& clock_;
  Connector& connector_;
  const ProviderConfigs& configs_;
  ManagedOptions options_;
  std::function<double()> random01_;
};

// Annotation helpers.
std::string Annotation(const kube::Json& object, const std::string& key);
void SetAnnotation(kube::Json& object, const std::string& key, const std::string& value);

}  // namespace runtime

#endif  // PROVIDER_RUNTIME_MANAGED_H_
