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
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "provider/kube/cached_reads.h"
#include "provider/kube/client.h"
#include "provider/kube/clock.h"
#include "provider/runtime/changelog.h"
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
  // What a change log entry says of the change (a plan's or a run's
  // counts); never a secret.
  std::map<std::string, std::string> summary;
};

// Talks to the external system for one resource during one reconcile, as
// crossplane-runtime's managed.ExternalClient does.
//
// The resource `mr` is passed by reference. A client may change, in memory:
// status.atProvider and the Ready condition (Available / Unavailable: that
// is the provider's job, not the reconciler's); in Observe, spec fields it
// late-initializes (then it sets Observation::late_initialized); in Create,
// annotations. The reconciler writes those changes back (status always,
// spec and annotations when it updates the object); a client never writes
// the managed resource itself. It may write other objects (a Workspace's
// state Secret and lock Lease).
//
// Threads: one client serves one reconcile, on that reconcile's worker
// thread; its methods are called one after another, never concurrently. The
// same resource is never reconciled twice at once.
//
// Errors: a non-OK Status means the step failed; its message is short and
// safe to show (no secrets): the reconciler puts it in the Synced=False
// condition and a Warning event ("observe failed: <message>"), and retries
// with backoff. A Status for which kube::IsConflict holds (the API server
// refused a stale write) ends the reconcile quietly from Observe and Delete;
// it is retried with the next version of the object.
class ExternalClient {
 public:
  virtual ~ExternalClient() = default;
  // Whether the external resource exists and matches the spec, and its
  // connection details. Must not change the external resource; idempotent.
  // Called on every reconcile, deletion included.
  virtual absl::StatusOr<Observation> Observe(kube::Json& mr) = 0;
  // Makes the external resource, after Observe said it does not exist.
  // Called once per reconcile at most; the reconciler records
  // crossplane.io/external-create-pending before and -succeeded or -failed
  // after, so a create interrupted half way is seen as such. Need not be
  // idempotent unless ManagedOptions::deterministic_external_name is set.
  virtual absl::StatusOr<ExternalResult> Create(kube::Json& mr) = 0;
  // Brings an existing external resource to the spec, after Observe said it
  // is not up to date. Should be idempotent (a failed update is retried).
  virtual absl::StatusOr<ExternalResult> Update(kube::Json& mr) = 0;
  // Deletes (or starts deleting) the external resource of a resource being
  // deleted, after Observe said it exists. Must be idempotent: it is called
  // again until Observe reports the resource gone.
  virtual absl::Status Delete(kube::Json& mr) = 0;
  // Called once in every reconcile that connected, whatever happened, after
  // its last call above; releases what Connect took (locks, folders). An
  // error is logged only. After a success it runs on a thread of its own
  // while the reconciler writes the resource's status; it must not touch the
  // `mr` the calls above were given.
  virtual absl::Status Disconnect() { return absl::OkStatus(); }
};

// Makes the ExternalClient for one reconcile of `mr`, given the
// ProviderConfig it names (already read). May change `mr` as Observe may.
// Called from many worker threads at once, for different resources: an
// implementation keeps shared state thread-safe. An error (no credentials,
// a lock held elsewhere) is reported as "connect failed: <message>" and the
// reconcile retried with backoff.
class Connector {
 public:
  virtual ~Connector() = default;
  virtual absl::StatusOr<std::unique_ptr<ExternalClient>> Connect(
      kube::Json& mr, const kube::Json& provider_config) = 0;
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
  // Where each create, update and delete (and drift an observe-only
  // resource shows) is recorded; none when null.
  ChangeLog* change_log = nullptr;
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

// Reconciles managed resources of one kind (options.resource).
//
// Reconcile reads the object, then walks crossplane-runtime's steps: pause,
// management policies, external name, ProviderConfig and its usage,
// Connect, Observe, then Delete, Create or Update as needed, connection
// Secret, finalizer, conditions and events. It writes the managed resource
// (annotations, finalizer, late-initialized spec, status) and its
// connection Secret and ProviderConfigUsage; nothing else.
//
// Idempotent: reconciling the same version twice converges to the same
// state (a second pass finds the external resource up to date). Threads:
// Reconcile may run on many threads at once for different keys (the
// controller's queue never hands one key to two workers). Between calls it
// keeps one thing per object: the resource version it last read or wrote.
//
// Reads: the object comes from the API server's watch cache, not older than
// that version (Client::GetNotOlderThan), so a reconcile never sees the
// object as it was before this reconciler's own last read or write (a
// rollback or a create it recorded), and the object is not read from etcd.
// The first read of an object by this process is a plain Get, and so is the
// first after this replica handed the object's shard over and took it back
// (ForgetVersions). A write someone else made may be missed if the cache
// has not reached it yet (milliseconds with one API server; more with
// several, each with its own cache): the pass then works from the version
// before it, as a plain read sent a moment earlier would, and its next
// write of the object, guarded by the version read, ends it with a
// Conflict; the watch brings the change and another pass. A pass that
// writes nothing (its status unchanged) has no such guard, so the version
// the watch saw counts too (Saw): the pass the watch event queues reads
// at least that version.
//
// Errors never escape: each becomes a condition, an event or a log line,
// and the Result says when to come back (Backoff after a failure, After the
// poll interval when in sync).
class ManagedReconciler {
 public:
  ManagedReconciler(kube::Client& client, EventSink& events, const kube::Clock& clock,
                    Connector& connector, const ProviderConfigs& configs, ManagedOptions options,
                    std::function<double()> random01 = nullptr);

  Result Reconcile(const kube::ObjectKey& key);

  const ManagedOptions& options() const { return options_; }

  // The object as its controller's watch saw it, before the controller
  // queues it (runtime::Controller::KeepInCache): the next read of an
  // object this reconciler knows is not older than that, so a change the
  // watch brought is read even from an API server whose cache lags the one
  // that sent the watch event.
  void Saw(const kube::Json& object);

  // Forgets every object's known version: the next read of each is a plain
  // read. For a replica that handed a shard over (--sharding): another
  // replica may write its objects before it comes back. Call it when no
  // reconcile of those objects is in flight.
  void ForgetVersions();

 private:
  // An error is one that ends the reconcile without a condition (a
  // conflict, or an API error writing the resource itself).
  // `read_status`: the object's status as read, before this pass.
  absl::StatusOr<Result> ReconcileObject(kube::Json& mr, const kube::Json& read_status);
  // Writes status (and observedGeneration) unless it is `read_status`
  // unchanged; returns `result`, or Backoff when the write failed.
  Result WriteStatus(kube::Json& mr, const kube::Json& read_status, Result result);
  // A plain update of the whole object; keeps our status in memory.
  absl::Status UpdateObject(kube::Json& mr);
  // Persists the create annotations whatever it takes: re-reads and
  // re-applies them on conflict.
  absl::Status PersistAnnotations(kube::Json& mr,
                                  const std::map<std::string, std::string>& annotations);
  bool CreateIncomplete(const kube::Json& mr) const;
  bool WithinCreationGrace(const kube::Json& mr) const;
  std::chrono::milliseconds PollInterval(const kube::Json& mr) const;
  absl::Status RemoveFinalizer(kube::Json& mr);
  // Records a change (options().change_log); `before` is the resource
  // just before it.
  void LogChange(ChangeOperation operation, const kube::Json& before, const absl::Status& status,
                 const std::map<std::string, std::string>& summary = {}) const;

  kube::Client& client_;
  EventSink& events_;
  const kube::Clock& clock_;
  Connector& connector_;
  const ProviderConfigs& configs_;
  ManagedOptions options_;
  std::function<double()> random01_;
  // Per object ("namespace/name"): the resource version last read or
  // written here. An object leaves it when it is gone (NotFound) or its
  // finalizer was removed; one deleted while another replica held it stays
  // (a version string and a key) until the process restarts.
  kube::KnownVersions versions_;
};

// Annotation helpers.
std::string Annotation(const kube::Json& object, const std::string& key);
void SetAnnotation(kube::Json& object, const std::string& key, const std::string& value);

}  // namespace runtime

#endif  // PROVIDER_RUNTIME_MANAGED_H_
