#include "provider/ansible/external.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "common/status_macros.h"
#include "provider/ansible/files.h"
#include "provider/ansible/playbook.h"
#include "provider/common/crypto.h"
#include "provider/common/files.h"
#include "provider/common/redact.h"
#include "provider/common/source.h"
#include "provider/runtime/conditions.h"
#include "provider/runtime/duration.h"
#include "provider/runtime/providerconfig.h"
#include "provider/runtime/refs.h"

namespace ansible {
namespace {

namespace fs = std::filesystem;
using kube::Json;
using runtime::ArrayAt;
using runtime::ObjectAt;
using runtime::ReadKey;
using runtime::StringAt;

// A run just made counts as this poll's run under driftPolicy EveryPoll (the
// reconciler observes again right after a create).
constexpr std::chrono::seconds kFreshRun{10};

struct Settings {
  std::string uid;
  std::string source;
  std::string playbook;  // inline content
  provider::GitSource git;
  std::string requirements;
  std::string inventory;
  Json vars = Json::object();
  std::vector<std::string> var_files;  // contents, in order
  std::string state_variable = "state";
  std::string delete_playbook;
  std::string drift_policy = "CheckOnObserve";
  std::chrono::milliseconds timeout{0};
  std::vector<std::pair<std::string, std::string>> credentials;
  std::string known_hosts;  // the ProviderConfig's spec.ssh
  std::vector<std::string> secrets;
  std::string spec_hash;
};

void CollectYamlValues(const YAML::Node& node, std::vector<std::string>& out) {
  if (node.IsScalar()) {
    out.push_back(node.Scalar());
  } else if (node.IsSequence()) {
    for (const auto& n : node) CollectYamlValues(n, out);
  } else if (node.IsMap()) {
    for (const auto& kv : node) CollectYamlValues(kv.second, out);
  }
}

absl::StatusOr<Settings> Resolve(kube::Client& client, const Json& mr, const Json& pc,
                                 const AnsibleOptions& options) {
  Settings s;
  s.uid = mr["metadata"].value("uid", "");
  const std::string mr_ns = mr["metadata"].value("namespace", "");
  ASSIGN_OR_RETURN(s.credentials, runtime::CredentialFiles(client, pc));
  ASSIGN_OR_RETURN(s.known_hosts, runtime::SshKnownHosts(client, pc));
  // Git over SSH trusts the same hosts unless a credential names its own.
  if (!s.known_hosts.empty() &&
      std::none_of(s.credentials.begin(), s.credentials.end(),
                   [](const auto& c) { return c.first == provider::kGitKnownHostsFile; })) {
    s.credentials.emplace_back(provider::kGitKnownHostsFile, s.known_hosts);
  }
  // Each credential whole and each value in it on its own.
  for (const auto& [name, content] : s.credentials) {
    for (std::string& v : provider::SecretFileValues(content)) s.secrets.push_back(std::move(v));
  }

  const Json fp = ObjectAt(ObjectAt(mr, "spec"), "forProvider");
  s.source = StringAt(fp, "source");
  if (s.source == "Inline") {
    s.playbook = StringAt(fp, "playbook");
    if (s.playbook.empty()) {
      return absl::InvalidArgumentError(
          "spec.forProvider.playbook is required when source is Inline");
    }
  } else if (s.source == "Git") {
    const Json git = ObjectAt(fp, "git");
    s.git = {StringAt(git, "url"), StringAt(git, "ref"), StringAt(git, "path")};
    if (s.git.url.empty() || s.git.ref.empty() || s.git.path.empty()) {
      return absl::InvalidArgumentError(
          "spec.forProvider.git.url, git.ref and git.path are required when source is Git");
    }
    // Refused here already, before any run.
    RETURN_IF_ERROR(provider::CheckGitPath(s.git.path));
  } else {
    return absl::InvalidArgumentError("spec.forProvider.source: \"" + s.source +
                                      "\" is not Inline or Git");
  }
  s.requirements = StringAt(fp, "requirements");
  s.inventory = StringAt(fp, "inventory");
  if (fp.contains("vars") && fp["vars"].is_object()) s.vars = fp["vars"];
  // `vars` are in the spec for anyone who reads the AnsibleRun to see: not
  // secrets. Values from Secrets are.
  const Json var_files = ArrayAt(fp, "varFiles");
  for (size_t i = 0; i < var_files.size(); ++i) {
    const Json& v = var_files[i];
    const std::string field = "spec.forProvider.varFiles[" + std::to_string(i) + "]";
    ASSIGN_OR_RETURN(std::string content, runtime::ReadVarFile(client, v, mr_ns, field));
    YAML::Node parsed;
    try {
      parsed = YAML::Load(content);
    } catch (const YAML::Exception&) {  // yaml-cpp reports by throwing
      return absl::InvalidArgumentError(field + ": the content is not YAML or JSON");
    }
    if (!parsed.IsMap()) {
      return absl::InvalidArgumentError(field + ": the content is not a map of variables");
    }
    if (StringAt(v, "source") == "SecretKey") {
      CollectYamlValues(parsed, s.secrets);
      for (std::string& value : provider::SecretFileValues(content)) {
        s.secrets.push_back(std::move(value));
      }
    }
    s.var_files.push_back(std::move(content));
  }
  if (fp.contains("stateVariable")) s.state_variable = StringAt(fp, "stateVariable");
  s.delete_playbook = StringAt(fp, "deletePlaybook");
  if (const std::string p = StringAt(fp, "driftPolicy"); !p.empty()) s.drift_policy = p;
  if (s.drift_policy != "CheckOnObserve" && s.drift_policy != "OnSpecChange" &&
      s.drift_policy != "EveryPoll") {
    return absl::InvalidArgumentError("spec.forProvider.driftPolicy: \"" + s.drift_policy +
                                      "\" is not CheckOnObserve, OnSpecChange or EveryPoll");
  }
  ASSIGN_OR_RETURN(s.timeout, runtime::TimeoutField(fp, options.default_timeout));
  // What the run depends on: the spec and what its references hold (a
  // changed Secret is a changed spec). Only a digest is kept.
  std::string material = fp.dump();
  for (const auto& content : s.var_files) material += '\0' + content;
  s.spec_hash = provider::Sha256Hex(material);
  return s;
}

std::string Plural(int n, const std::string& word) { return std::to_string(n) + " " + word; }

class AnsibleClient : public runtime::ExternalClient {
 public:
  AnsibleClient(runtime::EventSink& events, const kube::Clock& clock, const AnsibleOptions& options,
                Settings settings)
      : events_(events),
        clock_(clock),
        options_(options),
        s_(std::move(settings)),
        dir_(fs::path(options.work_root) / s_.uid) {}

  ~AnsibleClient() override { Release(); }

  absl::StatusOr<runtime::Observation> Observe(Json& mr) override {
    Json& at = AtProvider(mr);
    runtime::Observation o;
    const std::string applied = StringAt(at, "appliedSpecHash");
    o.exists = !applied.empty();
    o.details = Details(ObjectAt(at, "outputs"));
    if (!o.exists) return o;
    if (mr["metadata"].contains("deletionTimestamp")) {
      o.up_to_date = true;
      return o;
    }
    const bool spec_changed = applied != s_.spec_hash;
    if (s_.drift_policy == "OnSpecChange") {
      o.up_to_date = !spec_changed;
    } else if (s_.drift_policy == "EveryPoll") {
      const absl::StatusOr<kube::Time> applied_at = kube::ParseRfc3339(StringAt(at, "appliedAt"));
      const bool fresh = applied_at.ok() && clock_.Now() - *applied_at < kFreshRun;
      o.up_to_date = !spec_changed && fresh;
    } else if (spec_changed) {
      o.up_to_date = false;
    } else {
      // CheckOnObserve: would any task change something?
      const Json previous_source = ObjectAt(at, "source");
      RETURN_IF_ERROR(Prepare(mr));
      const Json previous_run = ObjectAt(at, "lastRun");
      const Json previous_drift = ObjectAt(at, "drift");
      const kube::Time started = clock_.Now();
      ASSIGN_OR_RETURN(const Result check, RunPlaybook(PlaybookPath(), "present", true));
      RecordRun(mr, "Check", check, started);
      if (!check.ok) return RunError(check, "check run failed: " + check.error);
      Json tasks = Json::array();
      for (const auto& t : check.tasks) {
        if (t.changed > 0) tasks.push_back(t.name);
      }
      at["drift"] = {
          {"detected", check.changed > 0}, {"tasks", tasks}, {"at", kube::Rfc3339(clock_.Now())}};
      if (check.changed > 0) {
        events_.Warning(mr, "DriftDetected",
                        "A check run found " + Plural(check.changed, "task(s)") +
                            " that would change: " + tasks.dump());
      }
      if (ObjectAt(at, "source") == previous_source) {
        KeepCheckTimes(at, previous_run, previous_drift);
      }
      o.up_to_date = check.changed == 0;
    }
    if (o.up_to_date) runtime::SetCondition(mr, runtime::Available(), clock_.Now());
    return o;
  }

  absl::StatusOr<runtime::ExternalResult> Create(Json& mr) override { return Apply(mr); }
  absl::StatusOr<runtime::ExternalResult> Update(Json& mr) override { return Apply(mr); }

  absl::Status Delete(Json& mr) override {
    RETURN_IF_ERROR(Prepare(mr));
    std::string playbook = PlaybookPath();
    if (!s_.delete_playbook.empty()) {
      RETURN_IF_ERROR(
          provider::WritePrivateFile((dir_ / "delete.yml").string(), s_.delete_playbook));
      playbook = "delete.yml";
    }
    const kube::Time started = clock_.Now();
    ASSIGN_OR_RETURN(const Result run, RunPlaybook(playbook, "absent", false));
    RecordRun(mr, "Delete", run, started);
    if (!run.ok) {
      events_.Warning(mr, "DeleteFailed", run.error);
      return RunError(run, run.error);
    }
    Json& at = AtProvider(mr);
    at.erase("appliedSpecHash");
    at.erase("appliedAt");
    events_.Normal(mr, "Deleted",
                   "Ran the " +
                       std::string(s_.delete_playbook.empty()
                                       ? "playbook with " + s_.state_variable + "=absent"
                                       : "delete playbook") +
                       ": " + Plural(run.changed, "changed") + ", " + Plural(run.ok_count, "ok"));
    return absl::OkStatus();
  }

  absl::Status Disconnect() override {
    Release();
    return absl::OkStatus();
  }

 private:
  // A failed run as a Status with `message`.
  static absl::Status RunError(const Result& run, const std::string& message) {
    if (run.timed_out) return absl::DeadlineExceededError(message);
    if (run.cancelled) return absl::CancelledError(message);
    return absl::UnknownError(message);
  }

  // Disconnect's work, also when the client goes without one: removes the
  // working folder; a failure is logged.
  void Release() {
    if (disconnected_) return;
    disconnected_ = true;
    std::error_code ec;
    if (prepared_ || fs::exists(dir_, ec)) fs::remove_all(dir_, ec);
    if (ec) spdlog::warn("cannot remove the working folder of run {}: {}", s_.uid, ec.message());
  }

  static Json& AtProvider(Json& mr) {
    Json& status = mr["status"];
    if (!status.is_object()) status = Json::object();
    Json& at = status["atProvider"];
    if (!at.is_object()) at = Json::object();
    return at;
  }

  static runtime::ConnectionDetails Details(const Json& outputs) {
    runtime::ConnectionDetails details;
    for (const auto& [k, v] : outputs.items()) {
      details[k] = v.is_string() ? v.get<std::string>() : v.dump();
    }
    return details;
  }

  std::string PlaybookPath() const { return playbook_; }

  std::vector<std::string> BaseEnv() const {
    std::vector<std::string> env;
    for (const char* name : {"PATH", "LANG", "LC_ALL", "TZ", "SSL_CERT_FILE", "SSL_CERT_DIR",
                             "GIT_SSL_CAINFO", "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY"}) {
      if (const char* v = std::getenv(name)) env.push_back(std::string(name) + "=" + v);
    }
    const fs::path home = fs::path(options_.cache_root) / "home";
    std::error_code ec;
    fs::create_directories(home, ec);
    env.push_back("HOME=" + home.string());
    return env;
  }

  // The working folder: playbook (inline or from Git), inventory,
  // credentials, requirements installed.
  absl::Status Prepare(Json& mr) {
    if (prepared_) return absl::OkStatus();
    std::error_code ec;
    fs::remove_all(dir_, ec);  // what an interrupted run left
    fs::create_directories(dir_, ec);
    if (ec) return absl::InternalError("cannot create the working folder: " + ec.message());
    ::chmod(dir_.c_str(), 0700);
    prepared_ = true;
    // Credentials first: git may need its own (HTTPS credentials, SSH key).
    std::vector<std::string> git_env = BaseEnv();
    ASSIGN_OR_RETURN(const auto git_auth,
                     provider::WriteCredentialFiles(dir_.string(), s_.credentials));
    git_env.insert(git_env.end(), git_auth.begin(), git_auth.end());
    if (s_.source == "Git") {
      ASSIGN_OR_RETURN(
          const GitPlaybook source,
          PrepareGitPlaybook(dir_.string(), s_.git.url, s_.git.ref, s_.git.path,
                             (fs::path(options_.cache_root) / "git").string(), git_env));
      playbook_ = source.playbook;
      AtProvider(mr)["source"] = {{"commit", source.commit}};
    } else {
      ASSIGN_OR_RETURN(playbook_, WritePlaybook(dir_.string(), s_.playbook));
    }
    ASSIGN_OR_RETURN(inventory_, WriteInventory(dir_.string(), s_.inventory));
    if (!s_.requirements.empty()) {
      RETURN_IF_ERROR(InstallRequirements(dir_.string(), s_.requirements, BaseEnv(), s_.timeout,
                                          options_.cancel, s_.secrets, options_.ansible_galaxy));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<Result> RunPlaybook(const std::string& playbook, const std::string& state,
                                     bool check) {
    RunSpec spec;
    spec.ansible_playbook = options_.ansible_playbook;
    spec.dir = dir_.string();
    spec.playbook = playbook;
    spec.inventory_file = inventory_;
    ASSIGN_OR_RETURN(spec.var_files,
                     WriteVarFiles(dir_.string(), s_.var_files, s_.vars, s_.state_variable, state));
    spec.check = check;
    spec.env = BaseEnv();
    spec.timeout = s_.timeout;
    spec.cancel = options_.cancel;
    spec.secrets = s_.secrets;
    spec.known_hosts = s_.known_hosts;
    return Run(spec);
  }

  absl::StatusOr<runtime::ExternalResult> Apply(Json& mr) {
    RETURN_IF_ERROR(Prepare(mr));
    const kube::Time started = clock_.Now();
    ASSIGN_OR_RETURN(const Result run, RunPlaybook(PlaybookPath(), "present", false));
    RecordRun(mr, "Apply", run, started);
    if (!run.ok) {
      runtime::SetCondition(mr, runtime::Unavailable(run.error), clock_.Now());
      events_.Warning(mr, "RunFailed", run.error);
      return RunError(run, run.error);
    }
    Json& at = AtProvider(mr);
    at["appliedSpecHash"] = s_.spec_hash;
    at["appliedAt"] = kube::Rfc3339(clock_.Now());
    at["drift"] = {
        {"detected", false}, {"tasks", Json::array()}, {"at", kube::Rfc3339(clock_.Now())}};
    Json outputs = run.custom_stats.is_object() ? run.custom_stats : Json::object();
    at["outputs"] = outputs;
    if (run.changed > 0) {
      events_.Normal(mr, "Applied",
                     "Ran the playbook: " + Plural(run.changed, "changed") + ", " +
                         Plural(run.ok_count, "ok"));
    }
    runtime::SetCondition(mr, runtime::Available(), clock_.Now());
    runtime::ExternalResult result{Details(outputs), {}};
    result.summary = {{"ok", std::to_string(run.ok_count)},
                      {"changed", std::to_string(run.changed)},
                      {"failed", std::to_string(run.failed)},
                      {"skipped", std::to_string(run.skipped)},
                      {"unreachable", std::to_string(run.unreachable)}};
    return result;
  }

  // A check that finds what the last check found (the same result, stats
  // and tasks, the same drift, of the same commit) keeps the last one's times in lastRun and
  // drift.at: they say when the check first found it. An idle poll then
  // leaves the status as it was, and the reconciler writes nothing (a time
  // that moved on every poll cost each AnsibleRun one status write per
  // poll). After an apply, lastRun is the apply's, and the next check's
  // times are kept from then on.
  static void KeepCheckTimes(Json& at, const Json& previous_run, const Json& previous_drift) {
    if (StringAt(previous_run, "mode") != "Check" || !previous_run.contains("startedAt") ||
        !previous_run.contains("finishedAt") || !previous_drift.contains("at")) {
      return;
    }
    auto without = [](Json j, std::initializer_list<const char*> fields) {
      for (const char* f : fields) j.erase(f);
      return j;
    };
    if (without(at["lastRun"], {"startedAt", "finishedAt"}) !=
            without(previous_run, {"startedAt", "finishedAt"}) ||
        without(at["drift"], {"at"}) != without(previous_drift, {"at"})) {
      return;
    }
    at["lastRun"]["startedAt"] = previous_run["startedAt"];
    at["lastRun"]["finishedAt"] = previous_run["finishedAt"];
    at["drift"]["at"] = previous_drift["at"];
  }

  void RecordRun(Json& mr, const std::string& mode, const Result& run, kube::Time started) {
    Json tasks = Json::array();
    for (const auto& t : run.tasks) {
      tasks.push_back({{"name", t.name}, {"changed", t.changed}, {"failed", t.failed}});
      if (tasks.size() >= 20) break;
    }
    Json last = {{"mode", mode},
                 {"result", run.ok ? "Succeeded" : "Failed"},
                 {"startedAt", kube::Rfc3339(started)},
                 {"finishedAt", kube::Rfc3339(clock_.Now())},
                 {"stats",
                  {{"ok", run.ok_count},
                   {"changed", run.changed},
                   {"failed", run.failed},
                   {"skipped", run.skipped},
                   {"unreachable", run.unreachable}}},
                 {"tasks", tasks}};
    if (!run.error.empty()) last["message"] = runtime::Truncate(run.error, 512);
    AtProvider(mr)["lastRun"] = last;
  }

  runtime::EventSink& events_;
  const kube::Clock& clock_;
  const AnsibleOptions& options_;
  Settings s_;
  fs::path dir_;
  std::string playbook_;   // relative to dir_
  std::string inventory_;  // relative to dir_
  bool prepared_ = false;
  bool disconnected_ = false;
};

}  // namespace

AnsibleConnector::AnsibleConnector(kube::Client& client, runtime::EventSink& events,
                                   const kube::Clock& clock, AnsibleOptions options)
    : client_(client),
      inputs_(client),
      events_(events),
      clock_(clock),
      options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<runtime::ExternalClient>> AnsibleConnector::Connect(Json& mr,
                                                                                   const Json& pc) {
  ASSIGN_OR_RETURN(Settings settings, Resolve(inputs_, mr, pc, options_));
  return std::make_unique<AnsibleClient>(events_, clock_, options_, std::move(settings));
}

}  // namespace ansible
