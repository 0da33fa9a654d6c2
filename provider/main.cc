// provider-workloads: a Crossplane provider that runs OpenTofu workspaces
// and Ansible playbooks as managed resources.
//
// Usage: provider-workloads [--kubeconfig FILE] [--poll 10m] [--poll-jitter 1m]
//          [--max-reconcile-rate 2] [--timeout 20m] [--leader-election | --sharding]
//          [--shards 32] [--sharding-lease-duration 15s] [--debug]
//          [--metrics-address :8080] [--work-dir DIR] [--cache-dir DIR]
//          [--state-namespace NS] [--state-lock-duration 60s] [--tofu PATH]
//          [--ansible-playbook PATH] [--stop-grace-period 5m] [--reconcile-margin 5m]
#include <malloc.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
// Angle brackets: a quoted "common/files.h" would find provider/common/files.h.
#include <common/files.h>

#include "common/flags.h"
#include "common/log_format.h"
#include "common/signals.h"
#include "provider/ansible/setup.h"
#include "provider/changelogs/grpc_change_log.h"
#include "provider/exec/init.h"
#include "provider/exec/process.h"
#include "provider/kube/config.h"
#include "provider/kube/events.h"
#include "provider/kube/lease.h"
#include "provider/kube/rest_client.h"
#include "provider/runtime/conditions.h"
#include "provider/runtime/controller.h"
#include "provider/runtime/duration.h"
#include "provider/runtime/kind.h"
#include "provider/runtime/managed.h"
#include "provider/runtime/metrics.h"
#include "provider/runtime/providerconfig.h"
#include "provider/runtime/sharding.h"
#include "provider/workspace/backup.h"
#include "provider/workspace/kinds.h"
#include "provider/workspace/setup.h"

ABSL_FLAG(std::string, open_backup, "",
          "Print the state JSON of this state backup object (a file downloaded from the "
          "backup bucket) and exit; see --open-backup-key-file.");
ABSL_FLAG(std::string, open_backup_key_file, "",
          "With --open-backup: a file holding the state key material (the value in the "
          "ProviderConfig's encryptionKeySecretRef) the backup is sealed with.");
ABSL_FLAG(std::string, kubeconfig, "",
          "Kubeconfig file (default: $KUBECONFIG, then the in-cluster service account, then "
          "~/.kube/config).");
ABSL_FLAG(std::string, poll, "10m", "How often an up-to-date resource is checked for drift.");
ABSL_FLAG(std::string, poll_jitter, "1m", "Random spread added to each poll (plus or minus).");
ABSL_FLAG(int, max_reconcile_rate, 2,
          "Reconciles running at once, and reconciles started per second.");
ABSL_FLAG(std::string, timeout, "20m",
          "Longest run of one OpenTofu command; a Workspace's spec.forProvider.timeout overrides "
          "it.");
ABSL_FLAG(bool, leader_election, false, "Run only while holding the leader Lease (for HA).");
ABSL_FLAG(std::string, leader_election_namespace, "",
          "Namespace of the leader Lease (default: $POD_NAMESPACE, else crossplane-system).");
ABSL_FLAG(bool, sharding, false,
          "Share the managed resources among every replica run with --sharding (scale-out): each "
          "object is reconciled by one live replica, membership through Leases in the "
          "--leader-election-namespace. Not with --leader-election.");
ABSL_FLAG(int, shards, 32,
          "With --sharding: the shards objects are hashed to (the same on every replica; at "
          "least the replicas you run).");
ABSL_FLAG(std::string, sharding_lease_duration, "15s",
          "With --sharding: a replica whose member Lease has not been renewed for this long is "
          "counted dead and its shards are taken over.");
ABSL_FLAG(bool, debug, false, "Log every reconcile.");
ABSL_FLAG(std::string, log_format, "text", "Log format: text or json.");
ABSL_FLAG(std::string, metrics_address, ":8080", "Where to serve /metrics, /healthz and /readyz.");
ABSL_FLAG(std::string, work_dir, "",
          "Working folders, one per Workspace (default: $TMPDIR/provider-workloads/work).");
ABSL_FLAG(std::string, cache_dir, "",
          "Git mirrors and the plugin cache (default: $TMPDIR/provider-workloads/cache).");
ABSL_FLAG(std::string, state_namespace, "",
          "Where state Secrets and locks live when a ProviderConfig does not say (default: "
          "$POD_NAMESPACE, else crossplane-system).");
ABSL_FLAG(std::string, state_lock_duration, "60s",
          "How long a state lock lasts without renewal; another provider takes an abandoned "
          "lock over after it.");
ABSL_FLAG(std::string, stop_grace_period, "5m",
          "How long an interrupted OpenTofu (timeout, deadline, shutdown) may take to finish its "
          "cloud calls in flight and write its state before it is killed; a ProviderConfig's "
          "spec.stopGracePeriod overrides it.");
ABSL_FLAG(std::string, reconcile_margin, "5m",
          "A Workspace reconcile's deadline is its timeout plus this, from its start: lock wait, "
          "module fetch, init, plan, apply or destroy and storing the state all end by then.");
ABSL_FLAG(std::string, tofu, "",
          "The OpenTofu binary (default: tofu from PATH, else terraform: a terraform binary works "
          "too).");
ABSL_FLAG(std::string, init_grace, "10m",
          "As a container's first process (PID 1), the provider forks and stays behind as its "
          "init: once the provider ends, how long to wait for the runs it interrupted to write "
          "their state before the container stops.");
ABSL_FLAG(std::string, ansible_playbook, "ansible-playbook",
          "The ansible-playbook binary (ansible-galaxy is looked up beside it, then in PATH).");
// Crossplane's change-log flags, with the names and environment variables
// every Crossplane provider uses.
ABSL_FLAG(
    bool, enable_changelogs,
    [] {
      const char* v = std::getenv("ENABLE_CHANGE_LOGS");
      return v != nullptr && std::string(v) == "true";
    }(),
    "Send an entry for every create, update and delete (and drift an observe-only resource shows) "
    "to the change-log sidecar (env ENABLE_CHANGE_LOGS).");
ABSL_FLAG(
    std::string, changelogs_socket_path,
    [] {
      const char* v = std::getenv("CHANGELOGS_SOCKET_PATH");
      return std::string(v != nullptr && *v != '\0' ? v : "/var/run/changelogs/changelogs.sock");
    }(),
    "The change-log sidecar's Unix socket (env CHANGELOGS_SOCKET_PATH).");

namespace {

std::atomic<bool> g_stop{false};

std::chrono::milliseconds DurationFlag(const std::string& name, const std::string& value) {
  const absl::StatusOr<std::chrono::milliseconds> d = runtime::ParseDuration(value);
  if (!d.ok()) {
    spdlog::error("--{}: \"{}\" is not a duration like 90s, 10m or 1h", name, value);
    std::exit(2);
  }
  return *d;
}

// Each tool's supervisor: provider-workloads-supervisor next to this program
// (the image has it there), started with posix_spawn; without it, a fork of
// this process, which copies its page tables for every tool it runs.
void ChooseSupervisor() {
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  const std::filesystem::path program =
      ec ? std::filesystem::path() : self.parent_path() / "provider-workloads-supervisor";
  if (!program.empty() && ::access(program.c_str(), X_OK) == 0) {
    exec::UseSupervisor(program.string());
    spdlog::debug("tools run under {}", program.string());
    return;
  }
  spdlog::info(
      "no provider-workloads-supervisor next to this program: each tool's supervisor is a fork "
      "of the provider");
}

std::string DefaultNamespace() {
  if (const char* ns = std::getenv("POD_NAMESPACE"); ns != nullptr && *ns != '\0') return ns;
  return "crossplane-system";
}

// The first of `names` found in PATH, or "".
std::string FindInPath(const std::vector<std::string>& names) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return "";
  for (const auto& name : names) {
    std::string dirs = path;
    size_t start = 0;
    while (start <= dirs.size()) {
      size_t end = dirs.find(':', start);
      if (end == std::string::npos) end = dirs.size();
      const std::string candidate =
          (end > start ? dirs.substr(start, end - start) : std::string(".")) + "/" + name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
      start = end + 1;
    }
  }
  return "";
}

std::string TempRoot() {
  const char* tmp = std::getenv("TMPDIR");
  return (std::filesystem::path(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") /
          "provider-workloads")
      .string();
}

// Crossplane's managed-resource state gauges, from a controller's cache.
void CollectStates(runtime::Metrics& m, const std::string& gvk, const runtime::Controller& c) {
  double exists = 0, ready = 0, synced = 0;
  // Counted in the cache: a scrape copies no object.
  c.ForEachObject([&](const kube::Json& o) {
    ++exists;
    if (runtime::GetCondition(o, "Ready").value("status", "") == "True") ++ready;
    if (runtime::GetCondition(o, "Synced").value("status", "") == "True") ++synced;
  });
  m.Set("crossplane_managed_resource_exists", {{"gvk", gvk}}, exists,
        "The number of managed resources that exist.");
  m.Set("crossplane_managed_resource_ready", {{"gvk", gvk}}, ready,
        "The number of managed resources in Ready=True state.");
  m.Set("crossplane_managed_resource_synced", {{"gvk", gvk}}, synced,
        "The number of managed resources in Synced=True state.");
}

// A kind of managed resource and how it joins the provider: each kind's
// folder exports its Register function.
struct KindSetup {
  const char* name;
  std::function<std::vector<runtime::ManagedKind>(const runtime::KindContext&)> register_kind;
};

// The Workspace's options from the flags; its folders are made here.
absl::StatusOr<workspace::WorkspaceOptions> WorkspaceFlags(const std::string& identity,
                                                           std::chrono::milliseconds timeout,
                                                           std::chrono::milliseconds lock) {
  workspace::WorkspaceOptions wo;
  wo.default_stop_grace = DurationFlag("stop-grace-period", absl::GetFlag(FLAGS_stop_grace_period));
  wo.reconcile_margin = DurationFlag("reconcile-margin", absl::GetFlag(FLAGS_reconcile_margin));
  wo.tofu_binary = absl::GetFlag(FLAGS_tofu);
  if (wo.tofu_binary.empty()) wo.tofu_binary = FindInPath({"tofu", "terraform"});
  if (wo.tofu_binary.empty()) {
    spdlog::warn(
        "neither tofu nor terraform is in PATH (and --tofu is not set): Workspaces "
        "will fail until one is");
    wo.tofu_binary = "tofu";
  }
  wo.work_root =
      absl::GetFlag(FLAGS_work_dir).empty() ? TempRoot() + "/work" : absl::GetFlag(FLAGS_work_dir);
  wo.cache_root = absl::GetFlag(FLAGS_cache_dir).empty() ? TempRoot() + "/cache"
                                                         : absl::GetFlag(FLAGS_cache_dir);
  wo.default_state_namespace = absl::GetFlag(FLAGS_state_namespace).empty()
                                   ? DefaultNamespace()
                                   : absl::GetFlag(FLAGS_state_namespace);
  wo.identity = identity;
  wo.default_timeout = timeout;
  wo.lock_duration = std::chrono::duration_cast<std::chrono::seconds>(lock);
  wo.cancel = &g_stop;
  std::error_code ec;
  std::filesystem::create_directories(wo.work_root, ec);
  std::filesystem::create_directories(wo.cache_root, ec);
  if (ec) {
    return absl::InternalError("cannot create " + wo.work_root + " or " + wo.cache_root + ": " +
                               ec.message());
  }
  return wo;
}

// The AnsibleRun's options from the flags; it shares the Workspace's folders.
ansible::AnsibleOptions AnsibleFlags(const workspace::WorkspaceOptions& wo,
                                     std::chrono::milliseconds timeout) {
  ansible::AnsibleOptions ao;
  ao.ansible_playbook = absl::GetFlag(FLAGS_ansible_playbook);
  // ansible-galaxy from the same installation as ansible-playbook.
  if (const auto slash = ao.ansible_playbook.rfind('/'); slash != std::string::npos) {
    ao.ansible_galaxy = ao.ansible_playbook.substr(0, slash + 1) + "ansible-galaxy";
  }
  ao.work_root = wo.work_root;
  ao.cache_root = wo.cache_root;
  ao.default_timeout = timeout;
  ao.cancel = &g_stop;
  return ao;
}

// A controller per ProviderConfig kind; each also wakes up when its usages
// change, and counts them in its own cache of them. Their caches (each config
// kind, its usages) answer the managed reconcilers' ConfigCache, through
// `cached_by`.
void AddProviderConfigControllers(
    kube::Client& client, runtime::EventSink& events, const kube::Clock& clock,
    runtime::Metrics& metrics,
    std::vector<std::unique_ptr<runtime::ProviderConfigReconciler>>& reconcilers,
    std::vector<std::unique_ptr<runtime::Controller>>& controllers,
    std::vector<const runtime::Controller*>& cached_by) {
  struct ConfigKind {
    kube::Resource config;
    kube::Resource usage;
    bool modern;
  };
  const std::vector<ConfigKind> config_kinds = {
      {workspace::kProviderConfigs, workspace::kProviderConfigUsages, false},
      {workspace::kModernProviderConfigs, workspace::kModernProviderConfigUsages, true},
      {workspace::kClusterProviderConfigs, workspace::kModernProviderConfigUsages, true},
  };
  for (const auto& k : config_kinds) {
    reconcilers.push_back(std::make_unique<runtime::ProviderConfigReconciler>(
        client, events, clock, k.config, k.usage, k.modern));
    auto* rec = reconcilers.back().get();
    auto c = std::make_unique<runtime::Controller>(
        "providerconfig/" + k.config.plural + "." + k.config.group, client, k.config,
        [rec](const kube::ObjectKey& key) {
          return rec->Reconcile(key) ? runtime::Result::Done() : runtime::Result::Backoff();
        },
        1, nullptr, &metrics);
    const kube::Resource& config = k.config;
    c->Watch(
        k.usage,
        [config](const kube::Json& usage) -> std::optional<kube::ObjectKey> {
          const kube::Json ref = usage.value("providerConfigRef", kube::Json::object());
          // Legacy usages name no kind: theirs is always the ProviderConfig.
          if (ref.value("kind", "ProviderConfig") != config.kind) return std::nullopt;
          return kube::ObjectKey{config.namespaced ? kube::KeyOf(usage).ns : "",
                                 ref.value("name", "")};
        },
        runtime::KeepForUsageCache);
    // Two of these controllers watch the same usages (the namespaced
    // ProviderConfigs' and the ClusterProviderConfigs'), each with its own
    // informer: a reconcile counts in the one whose event woke it.
    runtime::ConfigCache own;
    own.count = [watcher = c.get()](const kube::Resource& r,
                                    const std::function<bool(const kube::Json&)>& match) {
      return watcher->CountCached(r, match);
    };
    rec->UseCache(std::move(own));
    controllers.push_back(std::move(c));
    cached_by.push_back(controllers.back().get());
  }
}

}  // namespace

// The bytes of `path`; nullopt with a message naming `flag` when it cannot
// be read.
std::optional<std::string> ReadFlagFile(const std::string& flag, const std::string& path) {
  absl::StatusOr<std::string> bytes = platform::ReadFile(path);
  if (!bytes.ok()) {
    fprintf(stderr, "provider-workloads: %s: %s\n", flag.c_str(),
            std::string(bytes.status().message()).c_str());
    return std::nullopt;
  }
  return *std::move(bytes);
}

// --open-backup: the state JSON of a backup object on stdout (disaster
// recovery, docs/operations.md); 1 with the reason when it cannot be opened.
int OpenBackupFile(const std::string& path, const std::string& key_file) {
  const std::optional<std::string> blob = ReadFlagFile("--open-backup", path);
  if (!blob) return 1;
  std::string key;
  if (!key_file.empty()) {
    const std::optional<std::string> read = ReadFlagFile("--open-backup-key-file", key_file);
    if (!read) return 1;
    key = *read;
  }
  const absl::StatusOr<std::string> state = workspace::OpenBackup(*blob, key);
  if (!state.ok()) {
    fprintf(stderr, "provider-workloads: --open-backup %s: %s\n", path.c_str(),
            std::string(state.status().message()).c_str());
    return 1;
  }
  fwrite(state->data(), 1, state->size(), stdout);
  return 0;
}

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Crossplane provider for OpenTofu workspaces and Ansible runs: Workspace "
      "(terraform.workloads.terraforming.io, terraform.workloads.m.terraforming.io) and "
      "AnsibleRun (ansible.workloads.terraforming.io, ansible.workloads.m.terraforming.io).");
  platform::ParseDashedFlags(argc, argv);
  if (const std::string backup = absl::GetFlag(FLAGS_open_backup); !backup.empty()) {
    return OpenBackupFile(backup, absl::GetFlag(FLAGS_open_backup_key_file));
  }
  // First, before any thread: in a container the provider is also its init.
  if (::getpid() == 1 &&
      !exec::RunAsInit(DurationFlag("init-grace", absl::GetFlag(FLAGS_init_grace)))) {
    fprintf(stderr, "provider-workloads: cannot fork the init (%s); running without one\n",
            strerror(errno));
  }
  if (!platform::SetUpLogger("provider-workloads", absl::GetFlag(FLAGS_log_format),
                             absl::GetFlag(FLAGS_debug))) {
    fprintf(stderr, "provider-workloads: --log-format: must be text or json\n");
    return 2;
  }
  ChooseSupervisor();

  const int rate = absl::GetFlag(FLAGS_max_reconcile_rate);
  if (rate < 1) {
    spdlog::error("--max-reconcile-rate: must be at least 1, not {}", rate);
    return 2;
  }
  const auto poll = DurationFlag("poll", absl::GetFlag(FLAGS_poll));
  const auto jitter = DurationFlag("poll-jitter", absl::GetFlag(FLAGS_poll_jitter));
  const auto timeout = DurationFlag("timeout", absl::GetFlag(FLAGS_timeout));
  const auto lock = DurationFlag("state-lock-duration", absl::GetFlag(FLAGS_state_lock_duration));
  if (poll.count() <= 0 || timeout.count() <= 0 || lock.count() < 1000) {
    spdlog::error("--poll and --timeout must be positive, --state-lock-duration at least 1s");
    return 2;
  }

  const bool sharded = absl::GetFlag(FLAGS_sharding);
  const auto member_lease =
      DurationFlag("sharding-lease-duration", absl::GetFlag(FLAGS_sharding_lease_duration));
  if (sharded && absl::GetFlag(FLAGS_leader_election)) {
    spdlog::error("--sharding and --leader-election: choose one (sharding needs no leader)");
    return 2;
  }
  if (sharded && (absl::GetFlag(FLAGS_shards) < 1 || absl::GetFlag(FLAGS_shards) > 4096 ||
                  member_lease < std::chrono::seconds(2))) {
    spdlog::error("--shards must be 1 to 4096 and --sharding-lease-duration at least 2s");
    return 2;
  }

  // SIGTERM and SIGINT are waited for by main; every thread inherits the mask.
  const sigset_t signals = platform::BlockShutdownSignals();

  absl::StatusOr<kube::Config> kube_config = kube::ResolveConfig(absl::GetFlag(FLAGS_kubeconfig));
  if (!kube_config.ok()) {
    spdlog::error("cannot configure the Kubernetes client: {}",
                  std::string(kube_config.status().message()));
    return 2;
  }
  kube::RestOptions client_options;
  client_options.qps = 5.0 * rate + 20;
  client_options.burst = 10 * rate + 40;
  const auto client = std::make_unique<kube::HttpClient>(*std::move(kube_config), client_options);

  kube::SystemClock clock;
  const std::string identity = workspace::NewIdentity();
  kube::EventRecorder events(*client, clock, "provider-workloads", identity);

  absl::StatusOr<workspace::WorkspaceOptions> workspace_options =
      WorkspaceFlags(identity, timeout, lock);
  if (!workspace_options.ok()) {
    spdlog::error("{}", std::string(workspace_options.status().message()));
    return 2;
  }
  const workspace::WorkspaceOptions& wo = *workspace_options;
  const ansible::AnsibleOptions ao = AnsibleFlags(wo, timeout);

  // The ProviderConfig controllers' caches, read by every reconcile (the
  // controllers are added below).
  std::vector<const runtime::Controller*> config_controllers;
  runtime::ConfigCache config_cache;
  config_cache.get = [&config_controllers](const kube::Resource& r, const kube::ObjectKey& k) {
    std::optional<kube::Json> found;
    for (const runtime::Controller* c : config_controllers) {
      if ((found = c->Cached(r, k))) break;
    }
    return found;
  };
  config_cache.count = [&config_controllers](const kube::Resource& r,
                                             const std::function<bool(const kube::Json&)>& match) {
    std::optional<int64_t> n;
    for (const runtime::Controller* c : config_controllers) {
      if ((n = c->CountCached(r, match))) break;
    }
    return n;
  };
  std::unique_ptr<changelogs::GrpcChangeLog> change_log;
  if (absl::GetFlag(FLAGS_enable_changelogs)) {
    changelogs::GrpcChangeLogOptions co;
    co.socket_path = absl::GetFlag(FLAGS_changelogs_socket_path);
    co.provider = std::string("provider-workloads:") + PROVIDER_WORKLOADS_VERSION;
    change_log = std::make_unique<changelogs::GrpcChangeLog>(co);
    spdlog::info("change logs go to the sidecar at {}", co.socket_path);
  }
  runtime::ProviderConfigs legacy_configs(*client, workspace::LegacyConfigKinds());
  runtime::ProviderConfigs modern_configs(*client, workspace::ModernConfigKinds());
  legacy_configs.UseCache(&config_cache);
  modern_configs.UseCache(&config_cache);
  const runtime::KindContext context{*client,        events, clock,  legacy_configs,
                                     modern_configs, poll,   jitter, change_log.get()};
  const std::vector<KindSetup> kinds = {
      {"Workspace",
       [&](const runtime::KindContext& c) { return workspace::RegisterWorkspaces(c, wo); }},
      {"AnsibleRun",
       [&](const runtime::KindContext& c) { return ansible::RegisterAnsibleRuns(c, ao); }},
  };

  runtime::TokenBucket limiter(rate, 10.0 * rate);
  // Reconciles at once across every managed controller: each controller has
  // `rate` workers (one kind's backlog does not hold the others up), and
  // together they run at most `rate` OpenTofu or Ansible runs.
  runtime::ConcurrencyLimit concurrency(rate);
  runtime::Metrics metrics;
  std::vector<runtime::ManagedKind> managed;
  std::vector<std::unique_ptr<runtime::Controller>> controllers;
  // Crossplane's managed-resource state gauges: (gvk, controller) per type.
  std::vector<std::pair<std::string, const runtime::Controller*>> gauges;
  for (const KindSetup& kind : kinds) {
    for (runtime::ManagedKind& m : kind.register_kind(context)) {
      runtime::ManagedReconciler* rec = m.reconciler.get();
      const kube::Resource& r = m.resource();
      controllers.push_back(std::make_unique<runtime::Controller>(
          "managed/" + r.plural + "." + r.group, *client, r,
          [rec](const kube::ObjectKey& k) { return rec->Reconcile(k); }, rate, &limiter, &metrics,
          &concurrency));
      // Each version the watch brings bounds the next read (Saw), before
      // the cache keeps its share of the object.
      controllers.back()->KeepInCache([rec](kube::Json& object) {
        rec->Saw(object);
        runtime::KeepForManagedCache(object);
      });
      gauges.emplace_back(m.Gvk(), controllers.back().get());
      spdlog::debug("{}: reconciling {}", kind.name, m.Gvk());
      managed.push_back(std::move(m));
    }
  }
  std::vector<std::unique_ptr<runtime::ProviderConfigReconciler>> config_reconcilers;
  AddProviderConfigControllers(*client, events, clock, metrics, config_reconcilers, controllers,
                               config_controllers);
  metrics.AddCollector([&](runtime::Metrics& m) {
    for (const auto& [gvk, controller] : gauges) CollectStates(m, gvk, *controller);
  });
  if (change_log) {
    metrics.AddCollector([&change_log, sent = uint64_t{0},
                          dropped = uint64_t{0}](runtime::Metrics& m) mutable {
      const uint64_t now_sent = change_log->sent(), now_dropped = change_log->dropped();
      m.Add("provider_workloads_changelog_entries_total", {{"result", "sent"}},
            static_cast<double>(now_sent - sent), "Change-log entries, by what became of them.");
      m.Add("provider_workloads_changelog_entries_total", {{"result", "dropped"}},
            static_cast<double>(now_dropped - dropped));
      sent = now_sent;
      dropped = now_dropped;
      m.Set("provider_workloads_changelog_pending", {}, static_cast<double>(change_log->pending()),
            "Change-log entries waiting for the sidecar.");
    });
  }

  // Before the metrics server, whose collectors read it until it stops.
  std::unique_ptr<runtime::Sharding> sharding;
  std::atomic<bool> running{false};
  absl::StatusOr<std::unique_ptr<runtime::MetricsServer>> started =
      runtime::MetricsServer::Start(metrics, absl::GetFlag(FLAGS_metrics_address), [&] {
        if (!running) return false;
        for (const auto& c : controllers) {
          if (!c->Synced()) return false;
        }
        return true;
      });
  if (!started.ok()) {
    spdlog::error("{}", std::string(started.status().message()));
    return 2;
  }
  const std::unique_ptr<runtime::MetricsServer> server = *std::move(started);

  auto start = [&] {
    for (auto& c : controllers) c->Start();
    running = true;
    spdlog::info(
        "provider-workloads {} running: poll {}, {} reconciles at once, state in {} by "
        "default, metrics on port {}",
        identity, runtime::FormatDuration(poll), rate, wo.default_state_namespace, server->port());
  };

  std::unique_ptr<kube::LeaderElector> elector;
  std::thread election;
  const std::string lease_namespace = absl::GetFlag(FLAGS_leader_election_namespace).empty()
                                          ? DefaultNamespace()
                                          : absl::GetFlag(FLAGS_leader_election_namespace);
  if (sharded) {
    runtime::ShardingOptions so;
    so.ns = lease_namespace;
    so.shards = absl::GetFlag(FLAGS_shards);
    so.lease_duration = std::chrono::duration_cast<std::chrono::seconds>(member_lease);
    sharding = std::make_unique<runtime::Sharding>(*client, clock, identity, so);
    for (auto& c : controllers) c->ShareWith(sharding.get());
    metrics.AddCollector([&sharding](runtime::Metrics& m) {
      m.Set("provider_workloads_shards_held", {}, static_cast<double>(sharding->Held().size()),
            "Shards whose objects this replica reconciles.");
      m.Set("provider_workloads_sharding_members", {},
            static_cast<double>(sharding->Members().size()), "Live replicas sharing the objects.");
    });
    // A shard handed over may be written by another replica before it
    // comes back: the objects' known versions go with it (all of them:
    // hand-overs are rare), so each is first read afresh when it returns.
    sharding->OnReleased([&managed](int) {
      for (runtime::ManagedKind& m : managed) m.reconciler->ForgetVersions();
    });
    start();
    const absl::Status joined = sharding->Start(
        [&] {
          for (auto& c : controllers) c->Resync();
        },
        [](const std::string& why) {
          // The others count this replica dead soon and take its shards:
          // stop at once, as a leader that lost its lease does.
          spdlog::error("lost the sharding member lease ({}); exiting", why);
          std::_Exit(1);
        });
    if (!joined.ok()) {
      spdlog::error("{}", std::string(joined.message()));
      return 1;
    }
  } else if (absl::GetFlag(FLAGS_leader_election)) {
    elector = std::make_unique<kube::LeaderElector>(
        *client, clock, kube::ObjectKey{lease_namespace, "provider-workloads-leader"}, identity);
    election = std::thread([&] {
      elector->Run(start, [] {
        // Another instance leads now: stop at once, as controller-runtime does.
        spdlog::error("lost the leader lease; exiting");
        std::_Exit(1);
      });
    });
  } else {
    start();
  }

  // Memory back to the system: glibc keeps what was freed (the parsed pages
  // of an informer's list, a burst of reconciles) for reuse, so RSS stays at
  // its high-water mark; at thousands of objects that is several times what
  // the caches hold. Trimmed once the caches have synced and every minute.
  std::thread trimmer([&] {
    bool synced = false;
    for (int second = 1; !g_stop; ++second) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      if (!synced) {
        synced = running && std::all_of(controllers.begin(), controllers.end(),
                                        [](const auto& c) { return c->Synced(); });
        if (synced) ::malloc_trim(0);
      } else if (second % 60 == 0) {
        ::malloc_trim(0);
      }
    }
  });

  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("received {}; stopping (runs in progress are interrupted and their state kept)",
               strsignal(sig));
  g_stop = true;
  // Starts nothing new, and hands each shard over as soon as its runs in
  // flight (interrupted now) have stopped: the others need not wait for
  // the member lease to expire, nor for the informers to stop.
  if (sharding) {
    sharding->Stop(DurationFlag("stop-grace-period", absl::GetFlag(FLAGS_stop_grace_period)) +
                   std::chrono::seconds(30));
  }
  for (auto& c : controllers) c->Stop();
  // What the runs just stopped recorded reaches the sidecar if it can.
  if (change_log) change_log->Stop(std::chrono::seconds(5));
  if (elector) {
    elector->Stop();
    if (election.joinable()) election.join();
  }
  trimmer.join();
  return 0;
}
