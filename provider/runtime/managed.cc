#include "provider/runtime/managed.h"

#include <spdlog/spdlog.h>

#include <random>
#include <system_error>
#include <thread>
#include <utility>

#include "common/status_macros.h"
#include "provider/runtime/conditions.h"
#include "provider/runtime/duration.h"
#include "provider/runtime/policies.h"

namespace runtime {
namespace {

using Json = kube::Json;

constexpr char kPausedMessage[] =
    "Reconciliation is paused either through the `spec.managementPolicies` or the pause "
    "annotation";
constexpr char kCreateIncompleteMessage[] =
    "cannot determine creation result - remove the crossplane.io/external-create-pending "
    "annotation if it is safe to proceed";

bool Has(const Json& list, const std::string& value) {
  if (!list.is_array()) return false;
  for (const auto& v : list) {
    if (v == value) return true;
  }
  return false;
}

// Runs Disconnect when the reconcile is over, whatever way it ends, or
// from Begin on, on a thread of its own: a Workspace's Disconnect releases
// its state lock, one API request that then overlaps the status write.
class Disconnector {
 public:
  explicit Disconnector(ExternalClient* c) : c_(c) {}
  ~Disconnector() {
    if (thread_.joinable()) {
      thread_.join();
    } else {
      Run();
    }
  }
  Disconnector(const Disconnector&) = delete;
  Disconnector& operator=(const Disconnector&) = delete;

  // After the reconcile's last call on the client. Where no thread can be
  // started, the destructor disconnects as before.
  void Begin() {
    if (thread_.joinable()) return;
    try {
      thread_ = std::thread([this] { Run(); });
    } catch (const std::system_error& e) {
      spdlog::debug("disconnecting without a thread of its own: {}", e.what());
    }
  }

 private:
  void Run() {
    if (c_ == nullptr) return;
    ExternalClient* c = std::exchange(c_, nullptr);
    if (const absl::Status s = c->Disconnect(); !s.ok()) {
      spdlog::warn("cannot disconnect from provider: {}", std::string(s.message()));
    }
  }

  ExternalClient* c_;
  std::thread thread_;
};

std::string Message(const absl::Status& s) { return std::string(s.message()); }

}  // namespace

std::string Annotation(const Json& object, const std::string& key) {
  const Json meta = object.value("metadata", Json::object());
  const Json annotations = meta.value("annotations", Json::object());
  if (!annotations.is_object()) return "";
  const auto it = annotations.find(key);
  return it != annotations.end() && it->is_string() ? it->get<std::string>() : "";
}

void SetAnnotation(Json& object, const std::string& key, const std::string& value) {
  Json& annotations = object["metadata"]["annotations"];
  if (!annotations.is_object()) annotations = Json::object();
  annotations[key] = value;
}

ManagedReconciler::ManagedReconciler(kube::Client& client, EventSink& events,
                                     const kube::Clock& clock, Connector& connector,
                                     const ProviderConfigs& configs, ManagedOptions options,
                                     std::function<double()> random01)
    : client_(client),
      events_(events),
      clock_(clock),
      connector_(connector),
      configs_(configs),
      options_(std::move(options)),
      random01_(std::move(random01)) {
  if (!random01_) {
    random01_ = [] {
      thread_local std::mt19937_64 rng{std::random_device{}()};
      return std::uniform_real_distribution<double>(0, 1)(rng);
    };
  }
}

void ManagedReconciler::ForgetVersions() { versions_.Clear(); }

void ManagedReconciler::Saw(const Json& object) {
  versions_.Raise(kube::KeyOf(object).String(), kube::ResourceVersionOf(object));
}

Result ManagedReconciler::Reconcile(const kube::ObjectKey& key) {
  const std::string id = key.String();
  const std::string bound = versions_.Of(id);
  // An object not known yet is read plainly; meanwhile "0" makes it known,
  // so a version the watch brings during this first pass is kept (Saw).
  if (bound.empty()) versions_.Remember(id, "0");
  absl::StatusOr<Json> got = client_.GetNotOlderThan(options_.resource, key, bound);
  if (!got.ok()) {
    if (kube::IsNotFound(got.status())) {
      versions_.Remember(id, "");
      return Result::Done();
    }
    if (bound.empty()) versions_.Remember(id, "");  // a plain read again next time
    spdlog::warn("cannot get {} {}: {}", options_.resource.kind, id, Message(got.status()));
    return Result::Backoff();
  }
  Json mr = *std::move(got);
  // Kept without managedFields (here and wherever the metadata is read back
  // below): the updates then send none, the API server keeps the stored
  // ones, and each request is about half as long.
  kube::DropManagedFields(mr);
  // However the pass ends (an exception included), the version it read or
  // last wrote is what the next read must not be older than; after a
  // failed write, that is the version read. A later version the watch saw
  // meanwhile (Saw) stays. An object whose finalizer this pass removed is
  // forgotten.
  struct RecordOnExit {
    ManagedReconciler& self;
    const std::string& id;
    const std::string& bound;
    const Json& mr;
    ~RecordOnExit() {
      try {
        const Json& meta = mr.at("metadata");
        const bool released = meta.contains("deletionTimestamp") &&
                              !Has(meta.value("finalizers", Json::array()), kFinalizer);
        if (released) {
          self.versions_.Remember(id, "");
        } else {
          self.versions_.Advance(id, bound, meta.value("resourceVersion", ""));
        }
      } catch (const Json::exception&) {
        self.versions_.Remember(id, "");
      }
    }
  } record{*this, id, bound, mr};
  // The status as read: a pass that leaves it as it was writes nothing.
  const Json read_status = mr.value("status", Json());
  const absl::StatusOr<Result> result = ReconcileObject(mr, read_status);
  if (result.ok()) return *result;
  // A conflict means someone else wrote the object: the watch brings the
  // new version, and it is simply reconciled again.
  if (!kube::IsConflict(result.status())) {
    spdlog::warn("cannot reconcile {} {}: {}", options_.resource.kind, key.String(),
                 Message(result.status()));
  }
  return Result::Backoff();
}

Result ManagedReconciler::WriteStatus(Json& mr, const Json& read_status, Result result) {
  mr["status"]["observedGeneration"] = mr["metadata"].value("generation", int64_t{0});
  // Nothing to say that the object does not say already (an idle poll that
  // found the resource as it was): no write, which would cost the API
  // server and etcd as much as one that changes something.
  if (mr["status"] == read_status) return result;
  const absl::StatusOr<Json> updated = client_.UpdateStatus(options_.resource, mr);
  if (!updated.ok()) {
    if (kube::IsNotFound(updated.status())) return Result::Done();
    if (!kube::IsConflict(updated.status())) {
      spdlog::warn("cannot update status of {} {}: {}", options_.resource.kind,
                   kube::KeyOf(mr).String(), Message(updated.status()));
    }
    return Result::Backoff();
  }
  mr["metadata"] = (*updated)["metadata"];
  kube::DropManagedFields(mr);
  return result;
}

absl::Status ManagedReconciler::UpdateObject(Json& mr) {
  ASSIGN_OR_RETURN(const Json updated, client_.Update(options_.resource, mr));
  mr["metadata"] = updated["metadata"];
  kube::DropManagedFields(mr);
  if (updated.contains("spec")) mr["spec"] = updated["spec"];
  return absl::OkStatus();
}

absl::Status ManagedReconciler::PersistAnnotations(
    Json& mr, const std::map<std::string, std::string>& annotations) {
  std::chrono::milliseconds wait{50};
  for (int attempt = 0;; ++attempt) {
    const absl::Status updated = UpdateObject(mr);
    if (updated.ok()) return updated;
    if (attempt >= 5) return updated;
    if (kube::IsConflict(updated)) {
      // Someone else wrote the object: take theirs and put ours back on.
      ASSIGN_OR_RETURN(const Json fresh, client_.Get(options_.resource, kube::KeyOf(mr)));
      mr["metadata"] = fresh["metadata"];
      kube::DropManagedFields(mr);
      mr["spec"] = fresh.value("spec", Json::object());
      for (const auto& [k, v] : annotations) SetAnnotation(mr, k, v);
    }
    std::this_thread::sleep_for(wait);
    wait *= 2;
  }
}

bool ManagedReconciler::CreateIncomplete(const Json& mr) const {
  const absl::StatusOr<kube::Time> pending = kube::ParseRfc3339(Annotation(mr, kCreatePending));
  if (!pending.ok()) return false;
  const kube::Time succeeded =
      kube::ParseRfc3339(Annotation(mr, kCreateSucceeded)).value_or(kube::Time{});
  const kube::Time failed =
      kube::ParseRfc3339(Annotation(mr, kCreateFailed)).value_or(kube::Time{});
  return *pending > succeeded && *pending > failed;
}

bool ManagedReconciler::WithinCreationGrace(const Json& mr) const {
  const absl::StatusOr<kube::Time> succeeded = kube::ParseRfc3339(Annotation(mr, kCreateSucceeded));
  if (!succeeded.ok()) return false;
  return clock_.Now() - *succeeded < options_.creation_grace;
}

std::chrono::milliseconds ManagedReconciler::PollInterval(const Json& mr) const {
  std::chrono::milliseconds interval = options_.poll;
  if (const std::string a = Annotation(mr, kPollInterval); !a.empty()) {
    const absl::StatusOr<std::chrono::milliseconds> parsed = ParseDuration(a);
    if (parsed.ok() && parsed->count() > 0) {
      interval = std::max(*parsed, options_.min_poll);
    } else {
      spdlog::warn("{} {}: ignoring annotation {}: {:?} is not a positive duration",
                   options_.resource.kind, kube::KeyOf(mr).String(), kPollInterval, a);
    }
  }
  if (options_.poll_jitter.count() > 0) {
    const double j = (random01_() * 2 - 1) * static_cast<double>(options_.poll_jitter.count());
    interval += std::chrono::milliseconds(static_cast<int64_t>(j));
    interval = std::max(interval, options_.min_poll);
  }
  return interval;
}

absl::Status ManagedReconciler::RemoveFinalizer(Json& mr) {
  const Json finalizers = mr["metadata"].value("finalizers", Json::array());
  if (Has(finalizers, kFinalizer)) {
    Json kept = Json::array();
    for (const auto& f : finalizers) {
      if (f != kFinalizer) kept.push_back(f);
    }
    mr["metadata"]["finalizers"] = kept;
    if (const absl::Status s = UpdateObject(mr); !s.ok() && !kube::IsNotFound(s)) return s;
  }
  return configs_.ReleaseUsage(mr);
}

absl::StatusOr<Result> ManagedReconciler::ReconcileObject(Json& mr, const Json& read_status) {
  const kube::Time now = clock_.Now();
  const Policies policies(mr, options_.legacy, options_.management_policies);
  auto set = [&](const Condition& c) { SetCondition(mr, c, now); };
  auto external_name = [&] {
    return std::map<std::string, std::string>{{"external-name", Annotation(mr, kExternalName)}};
  };
  auto warn = [&](const std::string& reason, const std::string& message) {
    events_.Warning(mr, reason, message, external_name());
  };
  auto normal = [&](const std::string& reason, const std::string& message) {
    events_.Normal(mr, reason, message, external_name());
  };

  // Paused: nothing happens, not even deletion, until un-paused.
  if (Annotation(mr, kPaused) == "true" || policies.Paused()) {
    if (GetCondition(mr, "Synced").value("reason", "") != "ReconcilePaused") {
      normal("ReconciliationPaused", kPausedMessage);
    }
    set(ReconcilePaused());
    return WriteStatus(mr, read_status, Result::Done());
  }

  // An on-demand reconcile: acknowledge the token on this pass's status.
  if (const std::string token = Annotation(mr, kReconcileRequestedAt);
      !token.empty() &&
      token != mr.value("status", Json::object()).value("lastHandledReconcileAt", "")) {
    normal("ReconcileRequestHandled", "Reconcile request " + token + " handled");
    mr["status"]["lastHandledReconcileAt"] = token;
  }

  if (const std::string invalid = policies.Validate(); !invalid.empty()) {
    warn("CannotUseInvalidManagementPolicy", invalid);
    set(ReconcileError(invalid));
    return WriteStatus(mr, read_status, Result::Done());
  }

  const bool deleting = mr["metadata"].contains("deletionTimestamp");
  if (deleting && !policies.ShouldDelete()) {
    // Orphaned: the external resource stays; only our finalizer goes.
    RETURN_IF_ERROR(RemoveFinalizer(mr));
    return Result::Done();
  }

  if (Annotation(mr, kExternalName).empty()) {
    SetAnnotation(mr, kExternalName, mr["metadata"].value("name", ""));
    if (const absl::Status s = UpdateObject(mr); !s.ok()) {
      if (kube::IsConflict(s)) return s;
      warn("CannotInitializeManagedResource", Message(s));
      set(ReconcileError("cannot initialize managed resource: " + Message(s)));
      return WriteStatus(mr, read_status, Result::Backoff());
    }
  }

  const bool incomplete = CreateIncomplete(mr);
  if (incomplete) {
    if (!options_.deterministic_external_name) {
      warn("CannotInitializeManagedResource", kCreateIncompleteMessage);
      set(Creating());
      set(ReconcileError(kCreateIncompleteMessage));
      return WriteStatus(mr, read_status, Result::Done());
    }
    spdlog::info(
        "{} {}: the last create's outcome was not recorded; its external name is deterministic, "
        "so it is observed again",
        options_.resource.kind, kube::KeyOf(mr).String());
  }

  absl::StatusOr<std::unique_ptr<ExternalClient>> connected =
      [&]() -> absl::StatusOr<std::unique_ptr<ExternalClient>> {
    ASSIGN_OR_RETURN(const Json pc, configs_.Resolve(mr));
    RETURN_IF_ERROR(configs_.TrackUsage(mr, pc));
    return connector_.Connect(mr, pc);
  }();
  if (!connected.ok()) {
    const std::string message = "connect failed: " + Message(connected.status());
    warn("CannotConnectToProvider", message);
    set(ReconcileError(message));
    return WriteStatus(mr, read_status, Result::Backoff());
  }
  const std::unique_ptr<ExternalClient> external = *std::move(connected);
  Disconnector disconnect(external.get());

  absl::StatusOr<Observation> observed = external->Observe(mr);
  if (!observed.ok()) {
    // A conflict with the API server ends the reconcile: it is retried.
    if (kube::IsConflict(observed.status())) return observed.status();
    const std::string message = "observe failed: " + Message(observed.status());
    warn("CannotObserveExternalResource", message);
    set(ReconcileError(message));
    return WriteStatus(mr, read_status, Result::Backoff());
  }
  const Observation observation = *std::move(observed);

  if (incomplete && observation.exists && options_.deterministic_external_name && !deleting) {
    // The interrupted create did happen: record it, so the resource does not
    // carry a pending create forever.
    SetAnnotation(mr, kCreateSucceeded, kube::Rfc3339(clock_.Now()));
    if (const absl::Status s =
            PersistAnnotations(mr, {{kCreateSucceeded, Annotation(mr, kCreateSucceeded)}});
        !s.ok()) {
      if (kube::IsConflict(s)) return s;
      warn("CannotUpdateManagedResource", Message(s));
      set(ReconcileError("cannot update managed resource: " + Message(s)));
      return WriteStatus(mr, read_status, Result::Backoff());
    }
  }

  if (policies.ShouldObserveOnly() && !observation.exists) {
    const std::string message = "observe failed: external resource does not exist";
    warn("CannotObserveExternalResource", message);
    set(ReconcileError(message));
    return WriteStatus(mr, read_status, Result::After(PollInterval(mr)));
  }

  // (Not while deleting: there a resource that is gone is the goal.)
  if (!observation.exists && !deleting && WithinCreationGrace(mr)) {
    normal("PendingExternalResource", "Waiting for external resource existence to be confirmed");
    return Result::Backoff();
  }

  if (deleting) {
    if (mr["metadata"].value("finalizers", Json::array()).size() > 1) {
      // Someone else (a Usage, say) still holds the object: wait for them.
      return Result::Backoff();
    }
    if (observation.exists && policies.ShouldDelete()) {
      const Json before = options_.change_log != nullptr ? ChangeSnapshot(mr) : Json();
      const absl::Status deleted = external->Delete(mr);
      if (!kube::IsConflict(deleted)) LogChange(ChangeOperation::kDelete, before, deleted);
      if (const absl::Status& s = deleted; !s.ok()) {
        if (kube::IsConflict(s)) return s;
        const std::string message = "delete failed: " + Message(s);
        warn("CannotDeleteExternalResource", message);
        set(Deleting());
        set(ReconcileError(message));
        return WriteStatus(mr, read_status, Result::Backoff());
      }
      normal("DeletedExternalResource", "Successfully requested deletion of external resource");
      set(Deleting());
      set(ReconcileSuccess());
      disconnect.Begin();
      // Observe again, through the rate limiter: the finalizer goes once
      // the resource is gone, and a destroy that leaves resources behind
      // is retried with a growing delay, not in a tight loop.
      return WriteStatus(mr, read_status, Result::Backoff());
    }
    RETURN_IF_ERROR(RemoveFinalizer(mr));
    return Result::Done();
  }

  if (const absl::Status s = PublishConnectionDetails(client_, mr, observation.details).status();
      !s.ok()) {
    // (A Secret controlled by another resource is FailedPrecondition, not a
    // conflict: that is reported, not retried.)
    if (kube::IsConflict(s)) return s;
    const std::string message = "cannot publish connection details: " + Message(s);
    warn("CannotPublishConnectionDetails", message);
    set(ReconcileError(message));
    return WriteStatus(mr, read_status, Result::Backoff());
  }

  if (!Has(mr["metadata"].value("finalizers", Json::array()), kFinalizer)) {
    Json finalizers = mr["metadata"].value("finalizers", Json::array());
    finalizers.push_back(kFinalizer);
    mr["metadata"]["finalizers"] = finalizers;
    if (const absl::Status s = UpdateObject(mr); !s.ok()) {
      if (kube::IsConflict(s)) return s;
      set(ReconcileError("cannot add finalizer: " + Message(s)));
      return WriteStatus(mr, read_status, Result::Backoff());
    }
  }

  if (!observation.exists && policies.ShouldCreate()) {
    SetAnnotation(mr, kCreatePending, kube::Rfc3339(clock_.Now()));
    // A plain update: a conflict here proves someone else moved first.
    if (const absl::Status s = UpdateObject(mr); !s.ok()) {
      if (kube::IsConflict(s)) return s;
      warn("CannotUpdateManagedResource", Message(s));
      set(Creating());
      set(ReconcileError("cannot update managed resource: " + Message(s)));
      return WriteStatus(mr, read_status, Result::Backoff());
    }

    const Json before = options_.change_log != nullptr ? ChangeSnapshot(mr) : Json();
    absl::StatusOr<ExternalResult> created = external->Create(mr);
    LogChange(ChangeOperation::kCreate, before, created.status(),
              created.ok() ? created->summary : std::map<std::string, std::string>{});
    if (!created.ok()) {
      const std::string message = "create failed: " + Message(created.status());
      warn("CannotCreateExternalResource", message);
      SetAnnotation(mr, kCreateFailed, kube::Rfc3339(clock_.Now()));
      if (const absl::Status s =
              PersistAnnotations(mr, {{kCreateFailed, Annotation(mr, kCreateFailed)}});
          !s.ok()) {
        spdlog::error("{} {}: cannot record the failed create: {}", options_.resource.kind,
                      kube::KeyOf(mr).String(), Message(s));
      }
      set(Creating());
      set(ReconcileError(message));
      return WriteStatus(mr, read_status, Result::Backoff());
    }

    SetAnnotation(mr, kCreateSucceeded, kube::Rfc3339(clock_.Now()));
    const std::map<std::string, std::string> ours{
        {kCreateSucceeded, Annotation(mr, kCreateSucceeded)},
        {kExternalName, Annotation(mr, kExternalName)}};
    if (const absl::Status s = PersistAnnotations(mr, ours); !s.ok()) {
      warn("CannotUpdateManagedResource", Message(s));
      set(Creating());
      set(ReconcileError("cannot update managed resource: " + Message(s)));
      return WriteStatus(mr, read_status, Result::Backoff());
    }
    if (const absl::Status s = PublishConnectionDetails(client_, mr, created->details).status();
        !s.ok()) {
      const std::string message = "cannot publish connection details: " + Message(s);
      warn("CannotPublishConnectionDetails", message);
      set(ReconcileError(message));
      return WriteStatus(mr, read_status, Result::Backoff());
    }
    normal("CreatedExternalResource", "Successfully requested creation of external resource");
    // The provider's own Ready condition (Available, say) stands; the
    // runtime only marks a resource Creating when the client said nothing.
    if (GetCondition(mr, "Ready").empty()) set(Creating());
    set(ReconcileSuccess());
    disconnect.Begin();
    // Observe again, through the rate limiter: a create that does not make
    // the resource exist (a module whose state goes elsewhere) is retried
    // with a growing delay, not in a tight loop.
    return WriteStatus(mr, read_status, Result::Backoff());
  }

  if (observation.late_initialized && policies.ShouldLateInitialize()) {
    if (const absl::Status s = UpdateObject(mr); !s.ok()) {
      if (kube::IsConflict(s)) return s;
      warn("CannotUpdateManagedResource", Message(s));
      set(ReconcileError("cannot update managed resource: " + Message(s)));
      return WriteStatus(mr, read_status, Result::Backoff());
    }
  }

  if (observation.up_to_date || !policies.ShouldUpdate()) {
    // An observe-only resource whose external resource drifted: nothing is
    // changed, but the audit trail shows it on each poll that sees it.
    if (!observation.up_to_date && observation.exists) {
      LogChange(ChangeOperation::kObservedDrift, ChangeSnapshot(mr), absl::OkStatus());
    }
    set(ReconcileSuccess());
    disconnect.Begin();
    return WriteStatus(mr, read_status, Result::After(PollInterval(mr)));
  }

  const Json before = options_.change_log != nullptr ? ChangeSnapshot(mr) : Json();
  absl::StatusOr<ExternalResult> updated = external->Update(mr);
  LogChange(ChangeOperation::kUpdate, before, updated.status(),
            updated.ok() ? updated->summary : std::map<std::string, std::string>{});
  if (!updated.ok()) {
    const std::string message = "update failed: " + Message(updated.status());
    warn("CannotUpdateExternalResource", message);
    set(ReconcileError(message));
    return WriteStatus(mr, read_status, Result::Backoff());
  }
  if (const absl::Status s = PublishConnectionDetails(client_, mr, updated->details).status();
      !s.ok()) {
    const std::string message = "cannot publish connection details: " + Message(s);
    warn("CannotPublishConnectionDetails", message);
    set(ReconcileError(message));
    return WriteStatus(mr, read_status, Result::Backoff());
  }
  normal("UpdatedExternalResource", "Successfully requested update of external resource");
  set(ReconcileSuccess());
  disconnect.Begin();
  return WriteStatus(mr, read_status, Result::After(PollInterval(mr)));
}

void ManagedReconciler::LogChange(ChangeOperation operation, const Json& before,
                                  const absl::Status& status,
                                  const std::map<std::string, std::string>& summary) const {
  if (options_.change_log == nullptr) return;
  ChangeEntry entry;
  entry.at = clock_.Now();
  entry.operation = operation;
  entry.snapshot = before;
  if (!status.ok()) entry.error = Message(status);
  entry.details = summary;
  options_.change_log->Record(std::move(entry));
}

}  // namespace runtime
