#include "provider/workspace/external.h"

#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <future>
#include <limits>
#include <random>
#include <sstream>
#include <system_error>
#include <thread>
#include <utility>

#include "common/files.h"
#include "common/status_macros.h"
#include "provider/common/files.h"
#include "provider/common/redact.h"
#include "provider/common/source.h"
#include "provider/kube/lease.h"
#include "provider/kube/resources.h"
#include "provider/runtime/conditions.h"
#include "provider/runtime/connection.h"
#include "provider/runtime/duration.h"
#include "provider/runtime/providerconfig.h"
#include "provider/runtime/refs.h"
#include "provider/workspace/backup.h"
#include "provider/workspace/kinds.h"
#include "provider/workspace/state_store.h"
#include "provider/workspace/tofu.h"
#include "provider/workspace/vars.h"

namespace workspace {
namespace {

namespace fs = std::filesystem;
using kube::Json;
using runtime::ArrayAt;
using runtime::ObjectAt;
using runtime::ReadKey;
using runtime::StringAt;

constexpr char kPlanFile[] = "tfplan";
// OpenTofu's dependency lock file in the root module.
constexpr char kStoredLockFile[] = ".terraform.lock.hcl";
constexpr char kDestroyPlanFile[] = "tfplan-destroy";
// What a ProviderConfig's spec.inheritPodIdentity passes to runs.
constexpr const char* kPodIdentityVariables[] = {"AWS_CONTAINER_CREDENTIALS_FULL_URI",
                                                 "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                                                 "AWS_ROLE_ARN",
                                                 "AWS_WEB_IDENTITY_TOKEN_FILE",
                                                 "AWS_REGION",
                                                 "AWS_DEFAULT_REGION",
                                                 "AWS_STS_REGIONAL_ENDPOINTS"};

// Everything a run needs, read from the Workspace, its ProviderConfig and
// the Secrets and ConfigMaps they name, before any run starts.
struct Settings {
  std::string uid;
  std::string state_ns;
  int history = 5;
  std::optional<std::string> key;
  std::vector<std::string> old_keys;
  std::vector<std::pair<std::string, std::string>> files;  // credentials, provider-config.tf
  bool plugin_cache = true;
  bool inherit_identity = false;        // spec.inheritPodIdentity
  std::optional<BackupOptions> backup;  // spec.state.backup

  std::string source;
  std::string module;
  bool json = false;
  provider::GitSource git;
  std::vector<VarFile> var_files;
  Json varmap;
  std::vector<std::pair<std::string, std::string>> vars;
  std::vector<std::string> env;
  std::chrono::milliseconds timeout{0};
  std::chrono::milliseconds stop_grace{0};
  bool require_approval = false;
  bool require_destroy_approval = true;  // with require_approval
  std::vector<std::string> secrets;      // values to redact
};

// `text` as a whole decimal number, as std::stoll reads one (leading
// blanks and a sign allowed), without its exceptions.
bool ParseInt(const std::string& text, int64_t* out) {
  if (text.empty()) return false;
  errno = 0;
  char* end = nullptr;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  if (end == text.c_str() || *end != '\0' || errno == ERANGE) return false;
  *out = value;
  return true;
}

// A ProviderConfig's spec.state.backup, with its credentials read from
// their Secret (a namespaced ProviderConfig reads its own namespace only).
absl::StatusOr<BackupOptions> ResolveBackup(kube::Client& client, const Json& backup,
                                            const std::string& pc_ns,
                                            std::vector<std::string>& secrets) {
  const std::string field = "ProviderConfig spec.state.backup";
  BackupOptions o;
  o.s3.endpoint = StringAt(backup, "endpoint");
  o.s3.bucket = StringAt(backup, "bucket");
  if (o.s3.endpoint.empty() || o.s3.bucket.empty()) {
    return absl::InvalidArgumentError(field + ": endpoint and bucket are required");
  }
  if (!o.s3.endpoint.starts_with("http://") && !o.s3.endpoint.starts_with("https://")) {
    return absl::InvalidArgumentError(field + ".endpoint: \"" + o.s3.endpoint +
                                      "\" is not an http:// or https:// URL");
  }
  if (const std::string region = StringAt(backup, "region"); !region.empty()) {
    o.s3.region = region;
  }
  o.s3.path_style = backup.value("pathStyle", true);
  o.prefix = StringAt(backup, "prefix");
  if (!o.prefix.empty() && !o.prefix.ends_with("/")) o.prefix += "/";
  o.keep = backup.value("keep", 30);
  if (o.keep < 0) return absl::InvalidArgumentError(field + ".keep: must not be negative");
  if (const std::string interval = StringAt(backup, "interval"); !interval.empty()) {
    const absl::StatusOr<std::chrono::milliseconds> parsed = runtime::ParseDuration(interval);
    if (!parsed.ok() || parsed->count() <= 0) {
      return absl::InvalidArgumentError(field + ".interval: \"" + interval +
                                        "\" is not a duration like 30m or 1h");
    }
    o.interval = *parsed;
  }
  const std::string restore = StringAt(backup, "restore");
  if (!restore.empty() && restore != "Never" && restore != "IfMissing") {
    return absl::InvalidArgumentError(field + ".restore: \"" + restore +
                                      "\" is not Never or IfMissing");
  }
  o.restore_if_missing = restore == "IfMissing";
  const Json ref = ObjectAt(backup, "credentialsSecretRef");
  if (ref.empty()) {
    return absl::InvalidArgumentError(field + ".credentialsSecretRef is required");
  }
  auto key = [&](const char* name) {
    Json with_key = ref;
    with_key["key"] = name;
    return ReadKey(client, true, with_key, pc_ns,
                   field + ".credentialsSecretRef (key " + name + ")");
  };
  ASSIGN_OR_RETURN(o.s3.credentials.access_key_id, key("accessKeyId"));
  ASSIGN_OR_RETURN(o.s3.credentials.secret_access_key, key("secretAccessKey"));
  absl::StatusOr<std::string> token = key("sessionToken");
  if (token.ok()) {
    o.s3.credentials.session_token = *std::move(token);
  } else if (!absl::IsNotFound(token.status())) {
    return token.status();
  }
  for (const std::string* v :
       {&o.s3.credentials.secret_access_key, &o.s3.credentials.session_token}) {
    if (!v->empty()) secrets.push_back(*v);
  }
  return o;
}

// The text of a file a run wrote ("" when there is none).
std::string RunFile(const fs::path& path) { return platform::ReadFile(path).value_or(""); }

// The namespace of a Workspace's state and lock: a namespaced
// ProviderConfig's own, else its spec.state.namespace, else the default.
std::string StateNamespace(const Json& pc, const WorkspaceOptions& options) {
  if (std::string ns = pc["metadata"].value("namespace", ""); !ns.empty()) return ns;
  if (std::string ns = StringAt(ObjectAt(ObjectAt(pc, "spec"), "state"), "namespace");
      !ns.empty()) {
    return ns;
  }
  return options.default_state_namespace;
}

kube::ObjectKey LockKeyOf(const std::string& state_ns, const std::string& uid) {
  return {state_ns, "tflock-" + uid};
}

// A rollback the annotation asks for that is not done yet.
bool RollbackPending(const Json& mr) {
  const std::string want = runtime::Annotation(mr, kRollbackAnnotation);
  if (want.empty()) return false;
  const Json::json_pointer done("/status/atProvider/lastRollback");
  return !mr.contains(done) || !mr[done].is_string() ||
         mr[done].get_ref<const std::string&>() != want;
}

// The lease as this provider left it at its release (LeaseObservations),
// with the state's version noted then (see Release), when a reconcile of
// `mr` may plan without the lock: an existing Workspace, not being deleted,
// with no interrupted run's folder to recover and no rollback to apply
// first (both write the state before anything is planned). nullopt
// otherwise, and where nothing was released here yet (the first reconcile
// after a start).
std::optional<kube::LeaseObservations::ReleasedLease> PlanUnlockedFrom(
    const WorkspaceOptions& options, const Json& mr, const std::string& state_ns) {
  if (!options.lease_observations || mr["metadata"].contains("deletionTimestamp") ||
      RollbackPending(mr)) {
    return std::nullopt;
  }
  const std::string uid = mr["metadata"].value("uid", "");
  std::error_code ec;
  if (fs::exists(fs::path(options.work_root) / uid, ec) || ec) return std::nullopt;
  return options.lease_observations->Released(LockKeyOf(state_ns, uid).String());
}

absl::StatusOr<Settings> Resolve(kube::Client& client, const Json& mr, const Json& pc,
                                 const WorkspaceOptions& options) {
  Settings s;
  s.uid = mr["metadata"].value("uid", "");
  const std::string mr_ns = mr["metadata"].value("namespace", "");
  const std::string pc_ns = pc["metadata"].value("namespace", "");
  const Json pc_spec = ObjectAt(pc, "spec");

  // ProviderConfig: where state lives, how it is protected, credentials.
  const Json state = ObjectAt(pc_spec, "state");
  s.state_ns = StateNamespace(pc, options);
  s.history = state.value("history", 5);
  if (state.contains("encryptionKeySecretRef")) {
    ASSIGN_OR_RETURN(s.key, ReadKey(client, true, state["encryptionKeySecretRef"], pc_ns,
                                    "ProviderConfig spec.state.encryptionKeySecretRef"));
    if (s.key->empty()) {
      return absl::InvalidArgumentError(
          "ProviderConfig spec.state.encryptionKeySecretRef: the key is empty");
    }
  }
  const Json previous = ArrayAt(state, "previousEncryptionKeySecretRefs");
  for (size_t i = 0; i < previous.size(); ++i) {
    ASSIGN_OR_RETURN(std::string old_key,
                     ReadKey(client, true, previous[i], pc_ns,
                             "ProviderConfig spec.state.previousEncryptionKeySecretRefs[" +
                                 std::to_string(i) + "]"));
    s.old_keys.push_back(std::move(old_key));
  }
  if (state.contains("backup")) {
    ASSIGN_OR_RETURN(s.backup, ResolveBackup(client, ObjectAt(state, "backup"), pc_ns, s.secrets));
  }
  s.plugin_cache = pc_spec.value("pluginCache", true);
  s.inherit_identity = pc_spec.value("inheritPodIdentity", false);
  if (s.inherit_identity && !pc_ns.empty()) {
    return absl::InvalidArgumentError(
        "ProviderConfig spec.inheritPodIdentity: a namespaced ProviderConfig cannot give its "
        "runs the provider's own cloud identity; use a ClusterProviderConfig");
  }
  s.stop_grace = options.default_stop_grace;
  if (const std::string grace = StringAt(pc_spec, "stopGracePeriod"); !grace.empty()) {
    const absl::StatusOr<std::chrono::milliseconds> parsed = runtime::ParseDuration(grace);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError("ProviderConfig spec.stopGracePeriod: \"" + grace +
                                        "\" is not a duration like 30s, 5m or 1h");
    }
    s.stop_grace = *parsed;
  }
  ASSIGN_OR_RETURN(auto credentials, runtime::CredentialFiles(client, pc));
  for (auto& [filename, content] : credentials) {
    // The whole file and each value in it (a key of an AWS credentials
    // file may show up alone in an error).
    for (std::string& v : provider::SecretFileValues(content)) s.secrets.push_back(std::move(v));
    s.files.emplace_back(filename, std::move(content));
  }
  // Git over SSH trusts the ProviderConfig's spec.ssh hosts unless a
  // credential names its own.
  ASSIGN_OR_RETURN(const std::string known_hosts, runtime::SshKnownHosts(client, pc));
  if (!known_hosts.empty() && std::none_of(s.files.begin(), s.files.end(), [](const auto& f) {
        return f.first == provider::kGitKnownHostsFile;
      })) {
    s.files.emplace_back(provider::kGitKnownHostsFile, known_hosts);
  }
  if (const std::string configuration = StringAt(pc_spec, "configuration");
      !configuration.empty()) {
    s.files.emplace_back("provider-config.tf", configuration);
  }

  // The Workspace.
  const Json fp = ObjectAt(ObjectAt(mr, "spec"), "forProvider");
  s.source = StringAt(fp, "source");
  if (s.source == "Inline") {
    s.module = StringAt(fp, "module");
    s.json = StringAt(fp, "inlineFormat") == "JSON";
    if (s.module.empty()) {
      return absl::InvalidArgumentError(
          "spec.forProvider.module is required when source is Inline");
    }
  } else if (s.source == "Git") {
    const Json git = ObjectAt(fp, "git");
    s.git = {StringAt(git, "url"), StringAt(git, "ref"), StringAt(git, "path")};
    if (s.git.url.empty() || s.git.ref.empty()) {
      return absl::InvalidArgumentError(
          "spec.forProvider.git.url and git.ref are required when source is Git");
    }
  } else {
    return absl::InvalidArgumentError("spec.forProvider.source: \"" + s.source +
                                      "\" is not Inline or Git");
  }
  const Json var_files = ArrayAt(fp, "varFiles");
  for (size_t i = 0; i < var_files.size(); ++i) {
    const Json& v = var_files[i];
    const std::string field = "spec.forProvider.varFiles[" + std::to_string(i) + "]";
    VarFile file;
    file.format = StringAt(v, "format") == "JSON" ? VarFormat::kJSON : VarFormat::kHCL;
    file.secret = StringAt(v, "source") == "SecretKey";
    ASSIGN_OR_RETURN(file.content, runtime::ReadVarFile(client, v, mr_ns, field));
    if (file.format == VarFormat::kJSON &&
        Json::parse(file.content, nullptr, false).is_discarded()) {
      return absl::InvalidArgumentError(field + ": the content is not valid JSON");
    }
    // A Secret's values are what errors must never show: each one, and the
    // whole file. A ConfigMap's only when a variable is sensitive (Prepare).
    if (file.secret) {
      for (std::string& value : provider::SecretFileValues(file.content)) {
        s.secrets.push_back(std::move(value));
      }
    }
    s.var_files.push_back(std::move(file));
  }
  s.varmap = fp.contains("varmap") && fp["varmap"].is_object() ? fp["varmap"] : Json::object();
  // Values written into the spec are not secrets (anyone who reads the
  // Workspace sees them), unless the module declares their variable
  // sensitive: those are added in Prepare, once the module is there.
  for (const auto& v : ArrayAt(fp, "vars")) {
    s.vars.emplace_back(StringAt(v, "key"), StringAt(v, "value"));
  }
  const Json env = ArrayAt(fp, "env");
  for (size_t i = 0; i < env.size(); ++i) {
    const Json& e = env[i];
    const std::string field = "spec.forProvider.env[" + std::to_string(i) + "]";
    const std::string name = StringAt(e, "name");
    if (name.empty() || name.find('=') != std::string::npos) {
      return absl::InvalidArgumentError(field + ".name must be a variable name");
    }
    std::string value;
    if (e.contains("value")) {
      value = StringAt(e, "value");
    } else if (e.contains("secretKeyRef")) {
      ASSIGN_OR_RETURN(value,
                       ReadKey(client, true, e["secretKeyRef"], mr_ns, field + ".secretKeyRef"));
      s.secrets.push_back(value);
    } else if (e.contains("configMapKeyRef")) {
      ASSIGN_OR_RETURN(
          value, ReadKey(client, false, e["configMapKeyRef"], mr_ns, field + ".configMapKeyRef"));
    }
    s.env.push_back(name + "=" + value);
  }
  ASSIGN_OR_RETURN(s.timeout, runtime::TimeoutField(fp, options.default_timeout));
  s.require_approval = fp.value("requireApproval", false);
  s.require_destroy_approval = fp.value("requireDestroyApproval", true);
  return s;
}

// True when a process holds OpenTofu's lock on the state file in `dir`: an
// interrupted run's tofu is still writing its state.
bool StateFileLocked(const fs::path& state) {
  const int fd = ::open(state.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct flock lock {};
  lock.l_type = F_RDLCK;
  lock.l_whence = SEEK_SET;
  const bool locked = ::fcntl(fd, F_GETLK, &lock) == 0 && lock.l_type != F_UNLCK;
  ::close(fd);
  return locked;
}

std::string PlanSummary(int add, int change, int destroy) {
  return std::to_string(add) + " to add, " + std::to_string(change) + " to change, " +
         std::to_string(destroy) + " to destroy";
}

// Events passed on to `sink`, or held meanwhile (Hold) until they are sent
// (Send) or dropped (Drop): those of a plan made without the state lock
// count only once what it read is confirmed.
class HeldEvents : public runtime::EventSink {
 public:
  explicit HeldEvents(runtime::EventSink& sink) : sink_(sink) {}

  void Event(const Json& involved, const std::string& type, const std::string& reason,
             const std::string& message,
             const std::map<std::string, std::string>& annotations) override {
    if (!holding_) {
      sink_.Event(involved, type, reason, message, annotations);
      return;
    }
    Json who = Json::object();
    for (const char* field : {"apiVersion", "kind", "metadata"}) {
      if (const auto it = involved.find(field); it != involved.end()) who[field] = *it;
    }
    held_.push_back({std::move(who), type, reason, message, annotations});
  }
  void Hold() { holding_ = true; }
  void Send() {
    holding_ = false;
    for (const Held& e : held_) sink_.Event(e.involved, e.type, e.reason, e.message, e.annotations);
    held_.clear();
  }
  void Drop() {
    holding_ = false;
    held_.clear();
  }

 private:
  struct Held {
    Json involved;
    std::string type, reason, message;
    std::map<std::string, std::string> annotations;
  };
  runtime::EventSink& sink_;
  bool holding_ = false;
  std::vector<Held> held_;
};

class WorkspaceClient : public runtime::ExternalClient {
 public:
  // `released`: PlanUnlockedFrom's answer for this reconcile; with it,
  // `state_read` may be the read of the state's index Secret, sent at the
  // connect (ObserveUnlocked reads it in turn when it is not).
  WorkspaceClient(kube::Client& client, runtime::EventSink& events, const kube::Clock& clock,
                  const WorkspaceOptions& options, Settings settings, const Json& mr,
                  std::optional<kube::LeaseObservations::ReleasedLease> released,
                  std::future<StateStore::IndexRead> state_read)
      : client_(client),
        events_(events),
        clock_(clock),
        options_(options),
        s_(std::move(settings)),
        dir_(fs::path(options.work_root) / s_.uid),
        deadline_(std::chrono::steady_clock::now() + s_.timeout + options.reconcile_margin),
        store_(client, StoreOptions(s_, mr)),
        released_(std::move(released)),
        state_read_(std::move(state_read)) {
    if (s_.backup) backup_.emplace(*s_.backup, kube::KeyOf(mr));
  }

  ~WorkspaceClient() override { Release(); }

  // An idle poll plans without the state lock where it can, and takes the
  // lock only once the plan (or the working folder, or a backup) calls for
  // a write: see ObserveUnlocked. Otherwise, and whenever that cannot be
  // trusted, it all happens under the lock.
  absl::StatusOr<runtime::Observation> Observe(Json& mr) override {
    if (const auto released = std::exchange(released_, std::nullopt)) {
      absl::StatusOr<std::optional<runtime::Observation>> unlocked =
          ObserveUnlocked(mr, released->lease);
      if (!unlocked.ok()) return unlocked.status();
      if (*unlocked) return **std::move(unlocked);
      // Nothing to plan from without the lock, or the state moved since it
      // was read: all again, under the lock (which a move leaves held). A
      // plan made again gets the whole timeout, or waits for the next
      // reconcile.
      const bool moved = state_moved_;
      StartOver();
      if (moved && std::chrono::steady_clock::now() + s_.timeout > deadline_) {
        return absl::UnavailableError(
            "the state changed while it was planned without the lock, and less than the timeout "
            "is left of this reconcile to plan it again; the next reconcile plans it again");
      }
    }
    if (!holder_) RETURN_IF_ERROR(Lock());
    RETURN_IF_ERROR(Recover(mr));
    RETURN_IF_ERROR(Rollback(mr));
    ASSIGN_OR_RETURN(current_, store_.Load());
    if (!current_) RETURN_IF_ERROR(Adopt(mr));
    if (!current_) RETURN_IF_ERROR(RestoreBackup(mr));
    return ObserveState(mr);
  }

  absl::StatusOr<runtime::ExternalResult> Create(Json& mr) override { return Apply(mr); }
  absl::StatusOr<runtime::ExternalResult> Update(Json& mr) override { return Apply(mr); }

  absl::Status Delete(Json& mr) override {
    if (!awaiting_.empty()) return absl::FailedPreconditionError(awaiting_);
    RETURN_IF_ERROR(HoldLock());  // held since Observe: a deletion plans under it
    if (!tofu_) RETURN_IF_ERROR(Prepare(mr));
    const kube::Time started = clock_.Now();
    // An approved destroy plan is applied as it is: exactly what was
    // approved, nothing a fresh destroy would plan since.
    const absl::Status run = destroy_planned_ ? tofu_->Apply(kDestroyPlanFile) : tofu_->Destroy();
    ASSIGN_OR_RETURN(const std::string after, SaveState(mr));
    BackUp(mr);
    if (!run.ok()) {
      const std::string error(run.message());
      RecordRun(mr, "Destroy", false, started, error);
      events_.Warning(mr, "DestroyFailed", error);
      return run;
    }
    RecordRun(mr, "Destroy", true, started, "");
    if (after.empty() || ResourceCount(after) == 0) {
      // Nothing is left: the state and its lock go with the Workspace, and
      // its backups say so (a Workspace of the same name starts anew).
      RETURN_IF_ERROR(store_.Remove());
      remove_lease_ = true;
      if (backup_ && store_.sealed()) {
        if (const absl::Status marked = backup_->MarkDeleted(store_.sealed()->lineage);
            !marked.ok()) {
          spdlog::warn("workspace {}: cannot mark its backups deleted: {}", s_.uid,
                       std::string(marked.message()));
        }
      }
    }
    events_.Normal(mr, "Destroyed", "Destroyed every resource of the workspace");
    return absl::OkStatus();
  }

  absl::Status Disconnect() override {
    Release();
    return absl::OkStatus();
  }

 private:
  // A plan needs no lock: OpenTofu's plan reads the state and writes none,
  // and the store's read gives a whole stored version even while a holder
  // writes a new one. The lock fences writes, so it is taken (HoldLock) at
  // the first one: an apply the plan calls for, a new dependency lock file
  // after init, a backup due. An idle poll then takes nothing, and costs
  // etcd no write at all (a take and a release were two).
  //
  // What the plan read is the stored state, and nobody held the lock from
  // that read to the end of the plan, if the lease is still as this
  // provider released it when read after the plan (a holder writes the
  // state only after taking the lease, which changes it). Where it is not,
  // the lock is taken: the state read again under it is the one the plan
  // read, and the observation stands; or it moved, and everything starts
  // again under the lock (nullopt). Until then the attempt's status and
  // events are held back. nullopt also with no state (an adoption or a
  // restore from a backup writes one under the lock) or when the read fails
  // (it is read again under the lock, where a failure is reported).
  //
  // The read (sent at the connect) may come from the watch cache, not older
  // than the state's version this provider noted at its release: with the
  // lease as released, nobody wrote the state since, so that version is
  // still the stored one. A release this provider only found (another
  // holder's) carries no note, and the state is read from etcd.
  absl::StatusOr<std::optional<runtime::Observation>> ObserveUnlocked(Json& mr,
                                                                      const std::string& released) {
    absl::StatusOr<std::optional<State>> loaded =
        state_read_.valid() ? store_.LoadFrom(state_read_.get()) : store_.Load();
    if (!loaded.ok() || !*loaded) return std::nullopt;
    current_ = **std::move(loaded);
    // Until the read is confirmed, the status and the events of this
    // attempt are its own: put back and dropped when it does not count.
    std::optional<Json> status;
    if (const auto it = mr.find("status"); it != mr.end()) status = *it;
    events_.Hold();
    absl::StatusOr<runtime::Observation> o = ObserveState(mr);
    if (!state_moved_ && !lock_status_ && !LeaseAsReleased(released)) {
      spdlog::debug(
          "workspace {}: the state lock changed since its release; checking the state under it",
          s_.uid);
      HoldLock().IgnoreError();  // kept in lock_status_
    }
    const bool confirmed = !lock_status_ || lock_status_->ok();
    if (state_moved_ || !confirmed) {
      if (status) {
        mr["status"] = *std::move(status);
      } else {
        mr.erase("status");
      }
      events_.Drop();
      if (state_moved_) return std::nullopt;
      return *lock_status_;
    }
    events_.Send();
    if (!o.ok()) return o.status();
    return std::optional<runtime::Observation>(*std::move(o));
  }

  // Whether the state lock is as this provider released it (`released`, the
  // Lease then): nobody has taken it since. Read after the plan, just before
  // its outputs are published: the state was read after that release, so
  // it is the stored one, and no run of anyone else's went on meanwhile.
  bool LeaseAsReleased(const std::string& released) {
    const std::string version = kube::ResourceVersionOf(Json::parse(released, nullptr, false));
    if (version.empty()) return false;
    const absl::StatusOr<Json> lease = client_.Get(kube::kLeases, LockKey());
    return lease.ok() && kube::HolderOf(*lease).empty() &&
           kube::ResourceVersionOf(*lease) == version;
  }

  // The state lock, before a write. Under the lock from the start, it is
  // held. In a reconcile that planned without it, it is taken now, once
  // (the answer is kept in lock_status_): taken back as this provider
  // released it, nobody has written the state since, so what was read
  // stands. Otherwise the state is read again under the lock: the same, and
  // it stands; else state_moved_ is set and Aborted returned, and the
  // reconcile starts again under the lock.
  absl::Status HoldLock() {
    if (lock_status_) return *lock_status_;
    if (holder_) return absl::OkStatus();
    lock_status_ = [this]() -> absl::Status {
      RETURN_IF_ERROR(Lock());
      if (tofu_) tofu_->SetCancel(holder_->cancel());
      if (holder_->Reclaimed()) return absl::OkStatus();
      ASSIGN_OR_RETURN(const std::optional<State> now, store_.Load());
      if (now && current_ && now->json == current_->json && now->lock_file == current_->lock_file &&
          now->versions == current_->versions) {
        return absl::OkStatus();
      }
      state_moved_ = true;
      return absl::AbortedError("the state changed while it was planned without the lock");
    }();
    return *lock_status_;
  }

  // Drops what a reconcile that planned without the lock prepared, so that
  // it can start again under the lock (which it may hold already).
  void StartOver() {
    tofu_.reset();
    current_.reset();
    lock_file_.reset();
    planned_ = false;
    destroy_planned_ = false;
    awaiting_.clear();
    state_moved_ = false;
    lock_status_.reset();
    if (prepared_) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
      if (ec) {
        spdlog::warn("cannot remove the working folder of workspace {}: {}", s_.uid, ec.message());
      }
      prepared_ = false;
    }
  }

  // From the state read on: what the status shows of it, then the plan.
  absl::StatusOr<runtime::Observation> ObserveState(Json& mr) {
    runtime::Observation o;
    o.exists = current_.has_value();
    Json& at = mr["status"]["atProvider"];
    if (!at.is_object()) at = Json::object();
    if (current_) {
      PublishOutputs(mr, current_->json, o.details);
      at["state"] = {{"serial", current_->serial},
                     {"lineage", current_->lineage},
                     {"secret", s_.state_ns + "/" + StateStore::SecretName(s_.uid)},
                     {"versions", current_->versions}};
      // A copy to the bucket is a write of the state: under the lock.
      const std::optional<BackupDue> due = BackupDueNow(mr);
      if (due) RETURN_IF_ERROR(HoldLock());
      BackUp(mr, due);
    }
    if (mr["metadata"].contains("deletionTimestamp")) {
      // Deleting: Delete destroys from the state; no plan is needed, unless
      // the destroy needs approval. Once the state is gone its lock goes too.
      o.up_to_date = true;
      if (!current_) {
        // Chunk Secrets a crash left behind go with the Workspace too.
        RETURN_IF_ERROR(store_.Remove());
        remove_lease_ = true;
      }
      if (current_ && s_.require_approval && s_.require_destroy_approval &&
          ResourceCount(current_->json) > 0) {
        RETURN_IF_ERROR(PlanDestroy(mr, at, o));
      }
      return o;
    }

    const Json previous_plan = ObjectAt(at, "plan");
    const Json previous_source = ObjectAt(at, "source");
    RETURN_IF_ERROR(Prepare(mr));
    const kube::Time started = clock_.Now();
    const absl::StatusOr<PlanResult> planned = tofu_->Plan(kPlanFile);
    if (!planned.ok()) {
      RecordRun(mr, "Plan", false, started, std::string(planned.status().message()));
      mr["status"]["atProvider"] = at;
      return planned.status();
    }
    const PlanResult& plan = *planned;
    planned_ = true;
    const std::string previous_fingerprint = StringAt(previous_plan, "fingerprint");
    at["plan"] = PlanStatus(plan, mr);
    if (plan.changes) {
      events_.Normal(mr, "PlannedChanges",
                     "Plan: " + PlanSummary(plan.add, plan.change, plan.destroy));
    }
    o.up_to_date = o.exists && !plan.changes;
    if (o.up_to_date) runtime::SetCondition(mr, runtime::Available(), clock_.Now());
    if (plan.changes && s_.require_approval) {
      RETURN_IF_ERROR(AwaitApproval(mr, at, previous_fingerprint, o));
    }
    KeepPlannedAt(mr, previous_plan, previous_source);
    // Create or Update applies next: under the lock.
    if (!o.exists || !o.up_to_date) RETURN_IF_ERROR(HoldLock());
    return o;
  }

  // Disconnect's work, also when the client goes without one: removes the
  // working folder this run prepared and gives the state lock up. Failures
  // are logged.
  void Release() {
    if (disconnected_) return;
    disconnected_ = true;
    std::error_code ec;
    // Only a folder this run prepared, and only when its state is stored: a
    // folder found before Prepare is an interrupted run's, possibly holding
    // the only copy of the newest state (Recover stores it, then removes it);
    // a run whose lock was lost or whose state could not be stored keeps its
    // folder for the next reconcile's Recover.
    if (prepared_ && !keep_dir_) fs::remove_all(dir_, ec);
    if (ec) {
      spdlog::warn("cannot remove the working folder of workspace {}: {}", s_.uid, ec.message());
    }
    const bool held = holder_ && holder_->held();
    // The state's version as the store last read or wrote it, kept with the
    // release: the next reconcile without the lock reads the state not
    // older than it (from the watch cache). It is the stored one: the lock
    // was held, without a loss, since a take after which the state was read
    // from etcd, or since one that reclaimed it as released here (so the
    // state was still at that release's note, and read not older than it),
    // and only this store wrote it since. "" (a read from etcd) where the
    // store does not know it; none after a loss (another holder may have
    // written meanwhile).
    if (held && !lock_lost_) holder_->set_release_note(store_.version());
    holder_.reset();  // stops renewing, releases the lease
    if (held && remove_lease_) {
      if (const absl::Status s = client_.Delete(kube::kLeases, LockKey()); !s.ok()) {
        spdlog::warn("cannot delete the state lock of workspace {}: {}", s_.uid,
                     std::string(s.message()));
      }
    }
  }

  kube::ObjectKey LockKey() const { return LockKeyOf(s_.state_ns, s_.uid); }

  // Takes the state lock (renewed in the background until Disconnect),
  // waiting a little for a live holder; a holder that is an earlier life of
  // this provider is taken over at once.
  absl::Status Lock() {
    const auto deadline =
        std::min(std::chrono::steady_clock::now() + options_.lock_wait, deadline_);
    for (;;) {
      holder_ = std::make_unique<kube::LeaseHolder>(
          client_, clock_, LockKey(), options_.identity, options_.lock_duration,
          std::chrono::milliseconds(0),
          std::map<std::string, std::string>{{"workloads.terraforming.io/workspace-uid", s_.uid}},
          std::chrono::milliseconds(500), options_.cancel, options_.lease_observations.get());
      if (holder_->held()) return absl::OkStatus();
      const std::string holder = holder_->Holder();
      holder_.reset();
      if (HolderIsGone(holder, options_.identity)) {
        RETURN_IF_ERROR(ForceRelease(holder));
        continue;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        return absl::UnavailableError("the state is locked by " + holder +
                                      "; retrying until it is released or its lease expires");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  }

  absl::Status ForceRelease(const std::string& holder) {
    const absl::Status released = [&]() -> absl::Status {
      ASSIGN_OR_RETURN(Json lease, client_.Get(kube::kLeases, LockKey()));
      if (StringAt(ObjectAt(lease, "spec"), "holderIdentity") != holder) return absl::OkStatus();
      lease["spec"]["holderIdentity"] = "";
      RETURN_IF_ERROR(client_.Update(kube::kLeases, lease));
      spdlog::info("workspace {}: took over the state lock of {}, an earlier life of this provider",
                   s_.uid, holder);
      return absl::OkStatus();
    }();
    // Gone or changed meanwhile: the next try sees who holds it now.
    if (kube::IsNotFound(released) || kube::IsConflict(released)) return absl::OkStatus();
    return released;
  }

  // A working folder that exists before this run is what an interrupted run
  // left: its state file may be newer than the stored one.
  absl::Status Recover(Json& mr) {
    std::error_code ec;
    if (!fs::exists(dir_, ec)) return absl::OkStatus();
    const fs::path state = dir_ / kStateFile;
    if (StateFileLocked(state)) {
      return absl::UnavailableError(
          "an interrupted run is still writing its state; waiting for it");
    }
    if (fs::exists(state, ec)) {
      const std::string text = RunFile(state);
      const Json parsed = Json::parse(text, nullptr, false);
      ASSIGN_OR_RETURN(const std::optional<State> stored, store_.Load());
      if (!parsed.is_discarded() && parsed.is_object()) {
        const int64_t serial = parsed.value("serial", int64_t{0});
        const std::string lineage = parsed.value("lineage", "");
        if (!stored || (stored->lineage == lineage && serial > stored->serial)) {
          if (const absl::Status saved = store_.Save(text).status(); !saved.ok()) {
            return absl::Status(saved.code(), "the state serial " + std::to_string(serial) +
                                                  " of an earlier run is not stored yet (" +
                                                  std::string(saved.message()) +
                                                  "); nothing is planned or applied until it is");
          }
          events_.Warning(mr, "RecoveredState",
                          "Recovered state serial " + std::to_string(serial) +
                              " written by an interrupted run");
        }
        ReportUntracked(mr, text);
      } else {
        spdlog::warn(
            "workspace {}: the interrupted run's state file is unreadable; the stored "
            "state stands",
            s_.uid);
        ReportUntracked(mr, stored ? stored->json : "");
      }
    }
    fs::remove_all(dir_, ec);
    return absl::OkStatus();
  }

  // A run that was killed before it could write its state (OpenTofu writes
  // at once when interrupted, else at most every 20 seconds): what it
  // created since is in its log but not in `state`. Named in an event, so an
  // operator can import or remove it before it is created again.
  void ReportUntracked(Json& mr, const std::string& state) {
    const std::vector<std::string> untracked =
        UntrackedResources(RunFile(dir_ / kStdoutLog), state);
    if (untracked.empty()) return;
    std::string list;
    for (const auto& r : untracked) list += (list.empty() ? "" : ", ") + r;
    const std::string message =
        "A run was killed before it wrote its state; the state does not hold what it created: " +
        list + ". Import or remove them, or they will be created again";
    spdlog::error("workspace {}: {}", s_.uid, message);
    events_.Warning(mr, "UntrackedResources", message);
  }

  absl::Status Rollback(Json& mr) {
    if (!RollbackPending(mr)) return absl::OkStatus();
    const std::string want = runtime::Annotation(mr, kRollbackAnnotation);
    Json& at = mr["status"]["atProvider"];
    if (!at.is_object()) at = Json::object();
    int64_t serial = 0;
    if (!ParseInt(want, &serial)) {
      return absl::InvalidArgumentError(std::string("annotation ") + kRollbackAnnotation + ": \"" +
                                        want + "\" is not a state serial");
    }
    RETURN_IF_ERROR(store_.Restore(serial));
    at["lastRollback"] = want;
    events_.Warning(mr, "RolledBack", "Restored state serial " + want);
    return absl::OkStatus();
  }

  // With kAdoptStateAnnotation, and no state of its own yet: moves the
  // state of the earlier Workspace it names into this one's (copied, then
  // the earlier one's Secrets removed). Refused while that Workspace still
  // exists, and for a state recorded for another namespace.
  absl::Status Adopt(Json& mr) {
    const std::string old_uid = runtime::Annotation(mr, kAdoptStateAnnotation);
    if (old_uid.empty() || old_uid == s_.uid) return absl::OkStatus();
    const std::string field = std::string("annotation ") + kAdoptStateAnnotation;
    const std::string secret = StateStore::SecretName(old_uid);
    auto refuse = [&](const std::string& why) {
      return absl::FailedPreconditionError(field + ": cannot adopt the state in Secret " +
                                           s_.state_ns + "/" + secret + ": " + why);
    };
    ASSIGN_OR_RETURN(const Json index, GetOrNull(kube::kSecrets, {s_.state_ns, secret}));
    if (index.is_null()) return refuse("there is no such Secret");
    const Json annotations = index["metadata"].value("annotations", Json::object());
    // Who the state was written for: that Workspace must be gone, and
    // cluster-scoped (a move to the namespaced kind) or in this Workspace's
    // namespace (a tenant adopts only its own).
    const kube::ObjectKey owner =
        ParseKey(annotations.value("workloads.terraforming.io/workspace", ""));
    const std::string owner_kind = annotations.value("workloads.terraforming.io/kind", "");
    // A state imported from outside the cluster (bootstrap/bootstrap.sh
    // handover: the first apply's local state) names its origin instead of
    // a Workspace; there is no Workspace to ask about.
    const std::string imported = annotations.value(kImportedFromAnnotation, "");
    if (owner.name.empty() && imported.empty()) {
      return refuse("it names neither the Workspace it was written for nor, with " +
                    std::string(kImportedFromAnnotation) + ", where it was imported from");
    }
    // An imported state names no owner to check: a namespaced Workspace
    // takes one only from its own namespace (a shared state namespace holds
    // other tenants' and the platform's).
    if (owner.name.empty() && !kube::KeyOf(mr).ns.empty() && kube::KeyOf(mr).ns != s_.state_ns) {
      return refuse(
          "an imported state is adopted by a cluster-scoped Workspace, or by a "
          "namespaced one from its own namespace; this one's state namespace is " +
          s_.state_ns);
    }
    if (!owner.ns.empty() && owner.ns != kube::KeyOf(mr).ns) {
      return refuse("it was written for Workspace " + owner.String() +
                    ", not one in this Workspace's namespace");
    }
    if (!owner.name.empty()) {
      const kube::Resource& kind =
          owner_kind.starts_with(std::string(kModernGroup) + "/") ? kModernWorkspaces : kWorkspaces;
      ASSIGN_OR_RETURN(const Json live, GetOrNull(kind, owner));
      if (!live.is_null() && live["metadata"].value("uid", "") == old_uid) {
        return refuse("Workspace " + owner.String() + " (uid " + old_uid +
                      ") still exists and uses it; delete it with deletionPolicy Orphan first");
      }
    }
    StateStore::Options options;
    options.ns = s_.state_ns;
    options.uid = old_uid;
    options.history = s_.history;
    options.key = s_.key;
    options.old_keys = s_.old_keys;
    StateStore earlier(client_, options);
    ASSIGN_OR_RETURN(const std::optional<State> state, earlier.Load());
    if (!state) return refuse("it holds no state");
    RETURN_IF_ERROR(store_.Save(state->json, state->lock_file).status());
    RETURN_IF_ERROR(earlier.Remove());
    ASSIGN_OR_RETURN(current_, store_.Load());
    events_.Normal(
        mr, "AdoptedState",
        "Adopted state serial " + std::to_string(state->serial) +
            (owner.name.empty() ? " imported from " + imported
                                : " of Workspace " + owner.String() + " (uid " + old_uid + ")") +
            " from Secret " + secret);
    return absl::OkStatus();
  }

  static StateStore::Options StoreOptions(const Settings& s, const Json& mr) {
    StateStore::Options o;
    o.ns = s.state_ns;
    o.uid = s.uid;
    o.history = s.history;
    o.key = s.key;
    o.old_keys = s.old_keys;
    o.annotations = {{"workloads.terraforming.io/workspace", kube::KeyOf(mr).String()},
                     {"workloads.terraforming.io/kind",
                      mr.value("apiVersion", "") + "/" + mr.value("kind", "")}};
    o.keep_sealed = s.backup.has_value();
    return o;
  }

  // With no state of its own: the latest backup (or the serial
  // kRestoreBackupAnnotation names), when the annotation asks for it or the
  // ProviderConfig says restore: IfMissing. Its bytes are checked against
  // the SHA-256 recorded at upload, its plaintext against the state
  // checksum, before it is stored. A bucket that cannot be read stops the
  // reconcile: planning from no state would create everything again.
  absl::Status RestoreBackup(Json& mr) {
    const std::string want = runtime::Annotation(mr, kRestoreBackupAnnotation);
    const std::string field = std::string("annotation ") + kRestoreBackupAnnotation;
    if (want.empty() && !(backup_ && backup_->options().restore_if_missing)) {
      return absl::OkStatus();
    }
    // A Workspace being deleted whose state is gone has destroyed what it
    // had: bringing a state back would only start the destroy again.
    if (mr["metadata"].contains("deletionTimestamp")) return absl::OkStatus();
    if (!backup_) {
      return absl::FailedPreconditionError(
          field + ": the ProviderConfig has no spec.state.backup to restore from");
    }
    std::optional<int64_t> serial;
    if (!want.empty() && want != "latest") {
      int64_t parsed = 0;
      if (!ParseInt(want, &parsed) || parsed < 0) {
        return absl::InvalidArgumentError(field + ": \"" + want +
                                          "\" is neither latest nor a state serial");
      }
      serial = parsed;
    }
    absl::StatusOr<FetchedBackup> fetched = backup_->Fetch(serial);
    if (absl::IsNotFound(fetched.status()) && want.empty()) {
      return absl::OkStatus();  // IfMissing, and nothing was ever backed up: a new Workspace
    }
    if (!fetched.ok()) {
      return absl::Status(fetched.status().code(), "cannot restore the state from its backup: " +
                                                       std::string(fetched.status().message()) +
                                                       "; nothing is planned until it can be read");
    }
    const std::string where = "s3://" + backup_->options().s3.bucket + "/" + fetched->record.object;
    absl::StatusOr<std::string> plaintext = store_.OpenSealed(fetched->blob);
    if (!plaintext.ok()) {
      return absl::Status(plaintext.status().code(), "cannot open the backup " + where + ": " +
                                                         std::string(plaintext.status().message()));
    }
    ASSIGN_OR_RETURN(const State restored, ParseState(*plaintext));
    if (restored.checksum != fetched->record.checksum ||
        restored.serial != fetched->record.serial) {
      return absl::DataLossError("the backup " + where + " holds serial " +
                                 std::to_string(restored.serial) + " with checksum " +
                                 restored.checksum + ", not the serial " +
                                 std::to_string(fetched->record.serial) + " and checksum " +
                                 fetched->record.checksum + " recorded with it");
    }
    // An older version goes in above the newest one backed up (as a
    // rollback does), so the next save never overwrites a newer copy.
    std::string text = *std::move(plaintext);
    std::string stored_as;
    if (fetched->highest_serial > restored.serial) {
      Json doc = Json::parse(text);
      doc["serial"] = fetched->highest_serial + 1;
      text = doc.dump(2) + "\n";
      stored_as = ", stored as serial " + std::to_string(fetched->highest_serial + 1) +
                  " above the newest backed up";
    }
    RETURN_IF_ERROR(store_.Save(text).status());
    ASSIGN_OR_RETURN(current_, store_.Load());
    Json& at = mr["status"]["atProvider"];
    if (!at.is_object()) at = Json::object();
    at["backup"]["restoredFrom"] = where;
    events_.Normal(mr, "RestoredState",
                   "Restored state serial " + std::to_string(restored.serial) + " (lineage " +
                       restored.lineage + ") from " + where + ", checksum verified" + stored_as);
    return absl::OkStatus();
  }

  // What the status says of the state's last backup, when the bucket is to
  // be checked or written (BackUp): the state is not the one backed up, the
  // last backup failed, or a check is due on the schedule.
  struct BackupDue {
    BackupRecord last;
    bool same = false;     // last is the state read
    bool failing = false;  // the BackedUp condition is False
  };
  std::optional<BackupDue> BackupDueNow(const Json& mr) const {
    if (!backup_ || !store_.sealed()) return std::nullopt;
    const SealedState& sealed = *store_.sealed();
    const Json status = ObjectAt(ObjectAt(ObjectAt(mr, "status"), "atProvider"), "backup");
    BackupDue due;
    due.failing = StringAt(runtime::GetCondition(mr, kBackedUpCondition), "status") == "False";
    due.last = {StringAt(status, "object"), status.value("serial", int64_t{-1}),
                StringAt(status, "lineage"), StringAt(status, "checksum"),
                StringAt(status, "sha256")};
    due.same = due.last.serial == sealed.serial && due.last.lineage == sealed.lineage &&
               due.last.checksum == sealed.checksum;
    std::optional<kube::Time> checked;
    if (const std::string at_text = StringAt(status, "checkedAt"); !at_text.empty()) {
      if (const absl::StatusOr<kube::Time> t = kube::ParseRfc3339(at_text); t.ok()) checked = *t;
    }
    const bool scheduled = !checked || clock_.Now() - *checked >= backup_->options().interval;
    if (due.same && !due.failing && !scheduled) return std::nullopt;
    return due;
  }

  // Copies the current state to the bucket when the bucket does not have it
  // yet: a new serial, or a check on the schedule that finds it gone. A
  // failure never fails the reconcile (the state is stored in the cluster
  // already): the BackedUp condition turns False, a warning is recorded, and
  // the next reconcile tries again.
  void BackUp(Json& mr) { BackUp(mr, BackupDueNow(mr)); }
  void BackUp(Json& mr, const std::optional<BackupDue>& due) {
    if (!due) return;
    const SealedState& sealed = *store_.sealed();
    const BackupRecord& last = due->last;
    const bool same = due->same, failing = due->failing;
    Json& at = mr["status"]["atProvider"];
    if (!at.is_object()) at = Json::object();
    Json& status = at["backup"];
    if (!status.is_object()) status = Json::object();
    const kube::Time now = clock_.Now();
    const absl::Status done = [&]() -> absl::Status {
      if (same && !failing) {
        ASSIGN_OR_RETURN(const bool present, backup_->Present(last));
        if (present) return absl::OkStatus();
        events_.Warning(mr, "BackupMissing",
                        "The backup " + last.object + " is gone from the bucket; uploading again");
      }
      ASSIGN_OR_RETURN(const BackupRecord uploaded, backup_->Upload(sealed, s_.uid));
      status["object"] = uploaded.object;
      status["serial"] = uploaded.serial;
      status["lineage"] = uploaded.lineage;
      status["checksum"] = uploaded.checksum;
      status["sha256"] = uploaded.sha256;
      status["uploadedAt"] = kube::Rfc3339(now);
      return absl::OkStatus();
    }();
    if (!done.ok()) {
      const std::string message =
          "state serial " + std::to_string(sealed.serial) +
          " is stored in the cluster but not backed up: " + std::string(done.message()) +
          "; retrying on the next reconcile";
      spdlog::warn("workspace {}: {}", s_.uid, message);
      events_.Warning(mr, "BackupFailed", message);
      runtime::SetCondition(
          mr, {kBackedUpCondition, "False", "BackupFailed", runtime::Truncate(message)}, now);
      return;
    }
    status["checkedAt"] = kube::Rfc3339(now);
    if (failing) {
      events_.Normal(mr, "BackedUp",
                     "The backup caught up: state serial " + std::to_string(sealed.serial) +
                         " is in " + StringAt(status, "object"));
    }
    runtime::SetCondition(mr, {kBackedUpCondition, "True", "Uploaded", ""}, now);
  }

  absl::StatusOr<Json> GetOrNull(const kube::Resource& r, const kube::ObjectKey& key) {
    absl::StatusOr<Json> got = client_.Get(r, key);
    if (got.ok()) return got;
    if (kube::IsNotFound(got.status())) return Json();
    return got.status();
  }

  static kube::ObjectKey ParseKey(const std::string& s) {
    const size_t slash = s.find('/');
    if (slash == std::string::npos) return {"", s};
    return {s.substr(0, slash), s.substr(slash + 1)};
  }

  // Writes the module, provider configuration, credentials, variables and
  // the state into the working folder and runs init.
  absl::Status Prepare(Json& mr) {
    RETURN_IF_ERROR(BeforeDeadline("preparing the working folder"));
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (ec) return absl::InternalError("cannot create the working folder: " + ec.message());
    prepared_ = true;
    ::chmod(dir_.c_str(), 0700);
    // Credentials first: git may need its own (HTTPS credentials, SSH key).
    std::vector<std::string> git_env = BaseEnv();
    ASSIGN_OR_RETURN(const auto git_auth, provider::WriteCredentialFiles(dir_.string(), s_.files));
    git_env.insert(git_env.end(), git_auth.begin(), git_auth.end());
    if (s_.source == "Git") {
      ASSIGN_OR_RETURN(
          const provider::SourceResult source,
          provider::PrepareGit(dir_.string(), s_.git,
                               (fs::path(options_.cache_root) / "git").string(), git_env));
      mr["status"]["atProvider"]["source"] = {{"commit", source.commit}};
    } else {
      RETURN_IF_ERROR(PrepareInline(dir_.string(), s_.module, s_.json));
    }
    // Before init: init would already configure a backend of its own.
    if (const absl::Status own = RefuseOwnBackend(dir_.string()); !own.ok()) {
      return absl::Status(own.code(), (s_.source == "Git" ? "spec.forProvider.git: "
                                                          : "spec.forProvider.module: ") +
                                          std::string(own.message()));
    }
    ASSIGN_OR_RETURN(const std::vector<std::string> var_files,
                     WriteVarFiles(dir_.string(), s_.var_files, s_.varmap, s_.vars));
    if (current_) RETURN_IF_ERROR(provider::WritePrivateFile(dir_ / kStateFile, current_->json));
    // The provider versions of the last init, unless the source brings its
    // own lock file or an upgrade is asked for.
    const fs::path lock_path = dir_ / kStoredLockFile;
    std::error_code exists_ec;
    if (current_ && current_->lock_file && !fs::exists(lock_path, exists_ec) &&
        runtime::Annotation(mr, kUpgradeProvidersAnnotation).empty()) {
      RETURN_IF_ERROR(provider::WritePrivateFile(lock_path, *current_->lock_file));
    }

    Tofu::Options o;
    o.binary = options_.tofu_binary;
    o.dir = dir_.string();
    o.env = BaseEnv();
    o.env.insert(o.env.end(), s_.env.begin(), s_.env.end());
    o.timeout = s_.timeout;
    o.deadline = deadline_;
    o.grace = s_.stop_grace;
    // Interrupted when the provider stops, and as soon as the state lock is
    // lost or cannot be renewed in time.
    o.cancel = holder_ ? holder_->cancel() : options_.cancel;
    o.var_files = var_files;
    o.secrets = s_.secrets;
    for (std::string& value :
         SensitiveValues(SensitiveVariables(dir_.string()), s_.var_files, s_.varmap, s_.vars)) {
      o.secrets.push_back(std::move(value));
    }
    tofu_ = std::make_unique<Tofu>(o);
    const kube::Time started = clock_.Now();
    const absl::Status init = tofu_->Init();
    if (!init.ok()) {
      RecordRun(mr, "Plan", false, started, std::string(init.message()));
      return init;
    }
    // What init wrote is stored: with the state once there is one, at once
    // when only the lock file changed.
    if (fs::exists(lock_path, exists_ec)) {
      lock_file_ = RunFile(lock_path);
      if (current_ && current_->lock_file != lock_file_) {
        RETURN_IF_ERROR(HoldLock());
        if (const absl::Status saved = store_.SaveLockFile(*lock_file_).status(); !saved.ok()) {
          return absl::Status(saved.code(), "cannot store the dependency lock file: " +
                                                std::string(saved.message()));
        }
        current_->lock_file = lock_file_;
      }
    }
    return absl::OkStatus();
  }

  // DeadlineExceeded when this reconcile's deadline has passed, naming the
  // step that will not start.
  absl::Status BeforeDeadline(const std::string& step) const {
    if (std::chrono::steady_clock::now() < deadline_) return absl::OkStatus();
    return absl::DeadlineExceededError("the reconcile passed its deadline (" +
                                       runtime::FormatDuration(s_.timeout) + " timeout + " +
                                       runtime::FormatDuration(options_.reconcile_margin) +
                                       " margin) before " + step + "; it is retried");
  }

  std::vector<std::string> BaseEnv() const {
    std::vector<std::string> env;
    for (const char* name : {"PATH", "LANG", "TZ", "SSL_CERT_FILE", "SSL_CERT_DIR",
                             "GIT_SSL_CAINFO", "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY"}) {
      if (const char* v = std::getenv(name)) env.push_back(std::string(name) + "=" + v);
    }
    env.push_back("HOME=" + (fs::path(options_.cache_root) / "home").string());
    if (s_.inherit_identity) {
      // The pod's workload identity (EKS Pod Identity, IRSA): paths and
      // URLs the AWS SDKs read, no secret values.
      for (const char* name : kPodIdentityVariables) {
        if (const char* v = std::getenv(name)) env.push_back(std::string(name) + "=" + v);
      }
    }
    if (s_.plugin_cache) {
      const fs::path cache = fs::path(options_.cache_root) / "plugins";
      std::error_code ec;
      fs::create_directories(cache, ec);
      env.push_back("TF_PLUGIN_CACHE_DIR=" + cache.string());
    }
    return env;
  }

  // A deleted Workspace with requireApproval (and requireDestroyApproval
  // left true): plans the destroy and awaits the approval of that plan
  // (Delete applies it, or refuses until it is approved).
  absl::Status PlanDestroy(Json& mr, Json& at, runtime::Observation& o) {
    const Json previous_plan = ObjectAt(at, "plan");
    const Json previous_source = ObjectAt(at, "source");
    RETURN_IF_ERROR(Prepare(mr));
    const kube::Time started = clock_.Now();
    const absl::StatusOr<PlanResult> planned = tofu_->Plan(kDestroyPlanFile, true);
    if (!planned.ok()) {
      RecordRun(mr, "Plan", false, started, std::string(planned.status().message()));
      return planned.status();
    }
    const std::string previous_fingerprint = StringAt(previous_plan, "fingerprint");
    at["plan"] = PlanStatus(*planned, mr);
    destroy_planned_ = true;
    if (planned->changes) {
      RETURN_IF_ERROR(
          AwaitApproval(mr, at, previous_fingerprint, o, kDestroyPlanFile, "destroy plan "));
    }
    KeepPlannedAt(mr, previous_plan, previous_source);
    return absl::OkStatus();
  }

  // status.atProvider.plan for a plan just made (AwaitApproval adds the
  // fingerprint; KeepPlannedAt may put the last plannedAt back).
  Json PlanStatus(const PlanResult& plan, const Json& mr) const {
    return {{"add", plan.add},
            {"change", plan.change},
            {"destroy", plan.destroy},
            {"plannedAt", kube::Rfc3339(clock_.Now())},
            {"generation", ObjectAt(mr, "metadata").value("generation", int64_t{0})}};
  }

  // A plan that finds what the last one found (the same counts, the same
  // fingerprint and wait for approval, of the same generation of the spec)
  // keeps the last one's plannedAt: the time the result was first seen. An
  // idle poll then leaves the status as it was, and the reconciler writes
  // nothing (a timestamp that moved on every poll cost each Workspace one
  // status write per poll). It moves anyway when what the plan rests on
  // moved since: the commit checked out, or a run that finished when or
  // after it was made (a failed plan or an apply in between; times are in
  // whole seconds).
  static void KeepPlannedAt(Json& mr, const Json& previous_plan, const Json& previous_source) {
    const std::string kept = StringAt(previous_plan, "plannedAt");
    const absl::StatusOr<kube::Time> planned_at = kube::ParseRfc3339(kept);
    if (!planned_at.ok()) return;
    Json& at = mr["status"]["atProvider"];
    if (ObjectAt(at, "source") != previous_source) return;
    if (const std::string finished = StringAt(ObjectAt(at, "lastRun"), "finishedAt");
        !finished.empty()) {
      const absl::StatusOr<kube::Time> run = kube::ParseRfc3339(finished);
      if (!run.ok() || *run >= *planned_at) return;
    }
    Json now = at["plan"];
    now.erase("plannedAt");
    Json before = previous_plan;
    before.erase("plannedAt");
    if (now == before) at["plan"]["plannedAt"] = kept;
  }

  // Approval of a plan with changes: applied only when the approve-plan
  // annotation names its fingerprint. An existing Workspace meanwhile counts
  // as up to date (it is re-planned every poll; nothing is applied); a new
  // one's create is refused with what to do, and so is a deleted one's
  // destroy.
  absl::Status AwaitApproval(Json& mr, Json& at, const std::string& previous,
                             runtime::Observation& o, const char* plan_file = kPlanFile,
                             const std::string& what = "plan ") {
    const absl::StatusOr<std::string> fingerprinted = tofu_->Fingerprint(plan_file);
    if (!fingerprinted.ok()) {
      return absl::Status(
          fingerprinted.status().code(),
          "cannot fingerprint the plan: " + std::string(fingerprinted.status().message()));
    }
    const std::string& fingerprint = *fingerprinted;
    at["plan"]["fingerprint"] = fingerprint;
    if (runtime::Annotation(mr, kApprovePlanAnnotation) == fingerprint) return absl::OkStatus();
    at["plan"]["awaitingApproval"] = true;
    awaiting_ = what + fingerprint + " awaits approval: annotate the Workspace with " +
                kApprovePlanAnnotation + "=" + fingerprint;
    if (previous != fingerprint) events_.Normal(mr, "PlanAwaitingApproval", awaiting_);
    if (o.exists) o.up_to_date = true;
    return absl::OkStatus();
  }

  absl::StatusOr<runtime::ExternalResult> Apply(Json& mr) {
    if (!planned_) return absl::FailedPreconditionError("no plan to apply (observe did not plan)");
    if (!awaiting_.empty()) return absl::FailedPreconditionError(awaiting_);
    RETURN_IF_ERROR(HoldLock());  // held since Observe, which planned the apply
    RETURN_IF_ERROR(CheckPlanSize());
    const kube::Time started = clock_.Now();
    const absl::Status run = tofu_->Apply(kPlanFile);
    // Whatever happened, what tofu recorded is kept: a failed apply may
    // still have created things.
    ASSIGN_OR_RETURN(const std::string after, SaveState(mr));
    BackUp(mr);
    if (!run.ok()) {
      const std::string error(run.message());
      ReportUntracked(mr, after.empty() && current_ ? current_->json : after);
      RecordRun(mr, "Apply", false, started, error);
      runtime::SetCondition(mr, runtime::Unavailable(error), clock_.Now());
      events_.Warning(mr, "ApplyFailed", error);
      return run;
    }
    RecordRun(mr, "Apply", true, started, "");
    runtime::ExternalResult result;
    if (!after.empty()) {
      PublishOutputs(mr, after, result.details);
      // What was just stored: no need to read it back.
      ASSIGN_OR_RETURN(const State saved, ParseState(after, false));
      ASSIGN_OR_RETURN(const std::vector<int64_t> versions, store_.Versions());
      mr["status"]["atProvider"]["state"] = {
          {"serial", saved.serial},
          {"lineage", saved.lineage},
          {"secret", s_.state_ns + "/" + StateStore::SecretName(s_.uid)},
          {"versions", versions}};
    }
    const Json plan = ObjectAt(ObjectAt(ObjectAt(mr, "status"), "atProvider"), "plan");
    const std::string summary =
        PlanSummary(plan.value("add", 0), plan.value("change", 0), plan.value("destroy", 0));
    events_.Normal(mr, "Applied", "Applied: " + summary);
    result.summary = {{"plan", summary},
                      {"add", std::to_string(plan.value("add", 0))},
                      {"change", std::to_string(plan.value("change", 0))},
                      {"destroy", std::to_string(plan.value("destroy", 0))}};
    runtime::SetCondition(mr, runtime::Available(), clock_.Now());
    return result;
  }

  // A state the store cannot keep is refused before anything is applied:
  // the saved plan holds the prior state and the planned values, compressed,
  // so its size bounds the stored state after the apply from above.
  absl::Status CheckPlanSize() {
    std::error_code ec;
    const uintmax_t size = fs::file_size(dir_ / kPlanFile, ec);
    if (ec || size <= StateStore::kMaxStateBytes) return absl::OkStatus();
    return absl::ResourceExhaustedError(
        "the plan takes " + std::to_string(size >> 20) +
        " MiB compressed, so the state after it could exceed the " +
        std::to_string(StateStore::kMaxStateBytes >> 20) +
        " MiB a stored state version may take; nothing was applied");
  }

  // Stores the working folder's state file; returns its text ("" if none).
  // When it cannot be stored the folder is kept, and the error says so: the
  // next reconcile's Recover stores it before anything is planned again.
  absl::StatusOr<std::string> SaveState(Json& mr) {
    if (holder_ && holder_->lost()) {
      // The run was interrupted. Its state is stored only if the lock can be
      // held again; else someone else may hold the state now and writing it
      // could undo theirs.
      lock_lost_ = true;
      const std::string why = holder_->LostReason();
      const std::string lost = "The state lock " + LockKey().name + " was lost during the run (" +
                               why + ") and the run was interrupted; ";
      if (holder_->Regain()) {
        events_.Warning(mr, "LockLost", lost + "the lock was held again and its state is stored");
      } else {
        keep_dir_ = true;
        const std::string message =
            lost + "its state stays in the working folder and is recovered by the next reconcile";
        events_.Warning(mr, "LockLost", message);
        return absl::AbortedError(message);
      }
    }
    const fs::path state = dir_ / kStateFile;
    std::error_code ec;
    if (!fs::exists(state, ec)) return "";
    const std::string text = RunFile(state);
    if (text.empty()) return "";
    if (const absl::Status saved = store_.Save(text, lock_file_).status(); !saved.ok()) {
      keep_dir_ = true;
      const std::string message =
          "the state could not be stored (" + std::string(saved.message()) +
          "); it stays in the working folder and nothing is planned or applied until the next "
          "reconcile stores it";
      events_.Warning(mr, "StateNotStored", message);
      return absl::Status(saved.code(), message);
    }
    return text;
  }

  void PublishOutputs(Json& mr, const std::string& state, runtime::ConnectionDetails& details) {
    Json outputs = Json::object();
    for (const auto& [name, output] : ParseOutputs(state)) {
      details[name] =
          output.value.is_string() ? output.value.get<std::string>() : output.value.dump();
      if (!output.sensitive) outputs[name] = output.value;
    }
    mr["status"]["atProvider"]["outputs"] = outputs;
  }

  void RecordRun(Json& mr, const std::string& operation, bool ok, kube::Time started,
                 const std::string& message) {
    Json run = {{"operation", operation},
                {"result", ok ? "Succeeded" : "Failed"},
                {"startedAt", kube::Rfc3339(started)},
                {"finishedAt", kube::Rfc3339(clock_.Now())}};
    if (!message.empty()) run["message"] = runtime::Truncate(message, 512);
    Json& at = mr["status"]["atProvider"];
    if (!at.is_object()) at = Json::object();
    at["lastRun"] = run;
  }

  kube::Client& client_;
  HeldEvents events_;
  const kube::Clock& clock_;
  const WorkspaceOptions& options_;
  Settings s_;
  fs::path dir_;
  // The end of this reconcile (timeout + margin from Connect): nothing runs
  // past it.
  std::chrono::steady_clock::time_point deadline_;
  StateStore store_;
  std::optional<StateBackup> backup_;  // spec.state.backup
  std::unique_ptr<kube::LeaseHolder> holder_;
  std::optional<State> current_;
  std::optional<std::string> lock_file_;  // what the last init left
  std::unique_ptr<Tofu> tofu_;
  bool planned_ = false;
  bool destroy_planned_ = false;  // Delete applies kDestroyPlanFile
  std::string awaiting_;          // why the plan may not be applied yet
  bool prepared_ = false;         // Prepare made the working folder
  bool keep_dir_ = false;
  bool remove_lease_ = false;
  bool disconnected_ = false;
  // HoldLock's answer where it took the lock late (planned without it).
  std::optional<absl::Status> lock_status_;
  // HoldLock found the state changed since it was read without the lock.
  bool state_moved_ = false;
  // PlanUnlockedFrom's answer at the connect (nullopt once Observe used it),
  // and the read of the state sent then.
  std::optional<kube::LeaseObservations::ReleasedLease> released_;
  std::future<StateStore::IndexRead> state_read_;
  // The lock was lost during this reconcile (and maybe held again): what
  // the store knows of the state may be older than what another holder
  // wrote meanwhile.
  bool lock_lost_ = false;
};

}  // namespace

std::string NewIdentity() {
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  std::random_device rd;
  std::ostringstream s;
  s << host << "-" << ::getpid() << "-" << std::hex << (static_cast<uint64_t>(rd()) << 32 | rd());
  return s.str();
}

bool HolderIsGone(const std::string& holder, const std::string& self) {
  if (holder.empty() || holder == self) return false;
  // <host>-<pid>-<random>: split from the right, hosts may contain dashes.
  const size_t r = holder.rfind('-');
  const size_t p = r == std::string::npos || r == 0 ? std::string::npos : holder.rfind('-', r - 1);
  const size_t sr = self.rfind('-');
  const size_t sp =
      sr == std::string::npos || sr == 0 ? std::string::npos : self.rfind('-', sr - 1);
  if (p == std::string::npos || sp == std::string::npos) return false;
  if (holder.substr(0, p) != self.substr(0, sp)) return false;  // another host: trust the lease
  const std::string pid_text = holder.substr(p + 1, r - p - 1);
  if (pid_text.empty() || pid_text.find_first_not_of("0123456789") != std::string::npos)
    return false;
  int64_t pid_value = 0;
  if (!ParseInt(pid_text, &pid_value) || pid_value > std::numeric_limits<pid_t>::max()) {
    return false;
  }
  const pid_t pid = static_cast<pid_t>(pid_value);
  if (pid == ::getpid()) return true;  // this pid, another life
  return ::kill(pid, 0) != 0 && errno == ESRCH;
}

WorkspaceConnector::WorkspaceConnector(kube::Client& client, runtime::EventSink& events,
                                       const kube::Clock& clock, WorkspaceOptions options)
    : client_(client),
      inputs_(client),
      events_(events),
      clock_(clock),
      options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<runtime::ExternalClient>> WorkspaceConnector::Connect(
    Json& mr, const Json& pc) {
  // A reconcile that will plan without the lock reads the state first of
  // all: the read of its index Secret goes out now, alongside the reads of
  // the inputs (the encryption key above all) instead of after them; chunks
  // and the decryption come later. It may be any read of the state as it
  // was at the release or later (ObserveUnlocked): from the watch cache, not
  // older than the version noted at a release this provider wrote, else
  // from etcd. When the inputs cannot be resolved, the read is waited for
  // and thrown away.
  const std::string state_ns = StateNamespace(pc, options_);
  std::optional<kube::LeaseObservations::ReleasedLease> released =
      PlanUnlockedFrom(options_, mr, state_ns);
  std::future<StateStore::IndexRead> state_read;
  if (released) {
    try {
      state_read = std::async(std::launch::async,
                              [&client = client_, state_ns, uid = mr["metadata"].value("uid", ""),
                               version = released->note] {
                                return StateStore::ReadIndexSecret(client, state_ns, uid, version);
                              });
    } catch (const std::system_error& e) {  // no thread to spare: read in turn
      spdlog::debug("cannot read the state alongside the inputs: {}", e.what());
    }
  }
  ASSIGN_OR_RETURN(Settings settings, Resolve(inputs_, mr, pc, options_));
  return std::make_unique<WorkspaceClient>(client_, events_, clock_, options_, std::move(settings),
                                           mr, std::move(released), std::move(state_read));
}

}  // namespace workspace
