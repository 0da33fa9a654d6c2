// provider-workloads' Workspace kind as platform teams run it: the provider
// binary as a process with its kubeconfig, against the real kube-apiserver of
// the ctest `controlplane` fixture (which loads provider/package/crds),
// running the real OpenTofu. The modules use only OpenTofu's built-in
// terraform_data resource, local-exec provisioners and outputs, so nothing is
// downloaded: their "infrastructure" is files in a temporary folder, which
// the tests change behind the provider's back.
#include <sstream>

#include "tests/e2e/provider_fixture.h"

namespace platform::testing {
namespace {

// A module whose "infrastructure" is a file. terraform_data.file writes it
// and is replaced (so writes it again) when the content or the file on disk
// differs from what it last saw: its trigger reads the file at plan time, so
// a file changed behind the provider's back shows up in the plan. Each
// change takes two applies to settle (the trigger records what the plan saw,
// before the write). terraform_data.cleanup removes the file on destroy.
constexpr char kFileModule[] = R"(variable "path" { type = string }
variable "content" { type = string }
variable "token" {
  type      = string
  sensitive = true
}
resource "terraform_data" "cleanup" {
  input = var.path
  provisioner "local-exec" {
    when        = destroy
    command     = "rm -f \"$FILE\""
    environment = { FILE = self.output }
  }
}
resource "terraform_data" "file" {
  input            = { path = var.path, content = var.content }
  triggers_replace = [var.content, fileexists(var.path) ? file(var.path) : "absent"]
  depends_on       = [terraform_data.cleanup]
  provisioner "local-exec" {
    command     = "printf '%s' \"$CONTENT\" > \"$FILE\""
    environment = { FILE = self.input.path, CONTENT = self.input.content }
  }
}
output "path" { value = terraform_data.cleanup.output }
output "content" { value = var.content }
output "token" {
  value     = var.token
  sensitive = true
}
)";

// A module with a fast resource and a slow one: the provider is killed while
// the slow one is being created. The fast one must survive in the state: its
// provisioner appends to a log, so re-creating it would show.
constexpr char kSlowModule[] = R"(variable "dir" { type = string }
resource "terraform_data" "first" {
  input = "first"
  provisioner "local-exec" {
    command = "echo created >> \"$DIR/first.log\""
    environment = { DIR = var.dir }
  }
}
resource "terraform_data" "slow" {
  input      = "slow"
  depends_on = [terraform_data.first]
  provisioner "local-exec" {
    command = "touch \"$DIR/slow.started\"; if [ ! -e \"$DIR/slow.once\" ]; then touch \"$DIR/slow.once\"; sleep 30; fi; echo done > \"$DIR/slow.txt\""
    environment = { DIR = var.dir }
  }
}
output "done" { value = terraform_data.slow.output }
)";

// A module with one resource whose creation appends to a log: a resource
// created twice (its state lost in between) shows as two lines.
constexpr char kCountedModule[] = R"(variable "dir" { type = string }
resource "terraform_data" "counted" {
  input = "counted"
  provisioner "local-exec" {
    command = "echo created >> \"$DIR/created.log\""
    environment = { DIR = var.dir }
  }
}
output "input" { value = terraform_data.counted.output }
)";

class ProviderWorkspaceTest : public ProviderTest {
 protected:
  // A cluster-scoped Workspace of kFileModule writing `content` to `path`.
  std::string LegacyWorkspace(const std::string& name, const std::string& path,
                              const std::string& content, const std::string& module = kFileModule) {
    created_.emplace_back("workspaces.terraform.workloads.terraforming.io", name);
    return "apiVersion: terraform.workloads.terraforming.io/v1alpha1\nkind: Workspace\nmetadata:\n"
           "  name: " +
           name + "\nspec:\n  providerConfigRef: {name: pc-" + suffix_ +
           "}\n"
           "  writeConnectionSecretToRef: {name: " +
           name + "-conn, namespace: " + state_ns_ +
           "}\n  forProvider:\n    source: Inline\n    module: |\n" + Indent(module, 6) +
           "    vars:\n    - {key: path, value: " + path +
           "}\n    - {key: content, value: " + content + "}\n    - {key: token, value: tok-" +
           content + "}\n";
  }

  // A cluster-scoped Workspace of kSlowModule with its files in `infra`,
  // applied; returns once its slow resource is being created.
  void ApplySlowWorkspace(const std::string& name, const std::string& infra) {
    fs::create_directories(infra);
    created_.emplace_back("workspaces.terraform.workloads.terraforming.io", name);
    Apply("ws",
          "apiVersion: terraform.workloads.terraforming.io/v1alpha1\nkind: Workspace\n"
          "metadata:\n  name: " +
              name + "\nspec:\n  providerConfigRef: {name: pc-" + suffix_ +
              "}\n  forProvider:\n    source: Inline\n    module: |\n" + Indent(kSlowModule, 6) +
              "    vars:\n    - {key: dir, value: " + infra + "}\n");
    ASSERT_TRUE(Eventually([&] { return fs::exists(infra + "/slow.started"); }));
  }

  std::string StateSecret(const Json& ws) {
    return "tfstate-" + ws["metadata"]["uid"].get<std::string>();
  }
};

constexpr char kWs[] = "workspaces.terraform.workloads.terraforming.io";
constexpr char kNsWs[] = "workspaces.terraform.workloads.m.terraforming.io";

TEST_F(ProviderWorkspaceTest, BecomesReadyAppliesChangesCorrectsDriftAndDestroys) {
  StartProvider();
  const std::string file = dir_.path() + "/infra.txt";
  const std::string name = "files-" + suffix_;
  Apply("ws", LegacyWorkspace(name, file, "one"));

  // Ready, with its outputs: non-sensitive ones in status, all in the Secret.
  ASSERT_TRUE(Eventually([&] { return ReadyAndSynced(Get(kWs, name)) && FileHas(file, "one"); }));
  Json ws = Get(kWs, name);
  const Json outputs = ws["status"]["atProvider"]["outputs"];
  EXPECT_EQ(outputs["content"], "one");
  EXPECT_EQ(outputs["path"], file);
  EXPECT_FALSE(outputs.contains("token")) << "a sensitive output never reaches status";
  RunResult token =
      Kubectl({"get", "secret", name + "-conn", "-n", state_ns_, "-o", "jsonpath={.data.token}"});
  RunResult decoded = RunCommand({"sh", "-c", "printf '%s' '" + token.out + "' | base64 -d"});
  EXPECT_EQ(decoded.out, "tok-one");
  EXPECT_EQ(ws["metadata"]["annotations"]["crossplane.io/external-name"], name);
  EXPECT_TRUE(ws["status"]["atProvider"]["lastRun"]["result"] == "Succeeded");

  // The provider's updates carry no managedFields: the API server keeps its
  // record of what the provider set, in the object and in its status.
  RunResult shown = Kubectl({"get", kWs, name, "-o", "json", "--show-managed-fields"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  bool object_fields = false, status_fields = false, spec_fields = false;
  for (const Json& f : Json::parse(shown.out)["metadata"].value("managedFields", Json::array())) {
    const Json v1 = f.value("fieldsV1", Json());
    if (!v1.is_object()) continue;
    if (f.value("manager", "") != "provider-workloads") {
      // The spec as kubectl applied it stays kubectl's.
      spec_fields = spec_fields || v1.contains("f:spec");
      continue;
    }
    if (f.value("subresource", "") == "status") {
      status_fields =
          status_fields || v1.value("f:status", Json::object()).contains("f:atProvider");
    } else {
      object_fields =
          object_fields || v1.value("f:metadata", Json::object()).contains("f:finalizers");
    }
  }
  EXPECT_TRUE(object_fields && status_fields && spec_fields) << shown.out;

  // State: in a Secret keyed by the uid, encrypted, the Lease released.
  const std::string secret = StateSecret(ws);
  Json state = Get("secret", secret, state_ns_);
  ASSERT_TRUE(state.is_object()) << "no state Secret " << secret;
  EXPECT_EQ(state["metadata"]["annotations"]["workloads.terraforming.io/encryption"],
            "aes-256-gcm");
  RunResult raw =
      RunCommand({"sh", "-c",
                  "printf '%s' '" + state["data"]["tfstate"].get<std::string>() + "' | base64 -d"});
  EXPECT_EQ(raw.out.find("terraform_data"), std::string::npos) << "state is readable at rest";
  EXPECT_EQ(raw.out.rfind("tfenc1:", 0), 0u);
  EXPECT_TRUE(HasEvent(name, "default", "Applied"));

  // A spec change is planned and applied.
  const int64_t serial_before = ws["status"]["atProvider"]["state"]["serial"];
  Apply("ws", LegacyWorkspace(name, file, "two"));
  ASSERT_TRUE(Eventually([&] {
    const Json w = Get(kWs, name);
    return FileHas(file, "two") && ReadyAndSynced(w) &&
           w["status"]["atProvider"]["outputs"].value("content", "") == "two";
  })) << Get(kWs, name).dump(2);
  ws = Get(kWs, name);
  EXPECT_GT(ws["status"]["atProvider"]["state"]["serial"].get<int64_t>(), serial_before);
  EXPECT_FALSE(ws["status"]["atProvider"]["state"]["versions"].empty())
      << "earlier state versions are kept";

  // Drift: the file changed behind the provider's back is put back.
  { std::ofstream(file) << "tampered"; }
  ASSERT_TRUE(Eventually([&] { return FileHas(file, "two"); }));
  EXPECT_TRUE(HasEvent(name, "default", "PlannedChanges"));
  ASSERT_TRUE(Eventually([&] {
    const Json w = Get(kWs, name);
    const Json plan = w["status"]["atProvider"].value("plan", Json::object());
    return ReadyAndSynced(w) && plan.value("add", -1) == 0 && plan.value("destroy", -1) == 0;
  }));

  // Delete destroys, then the Workspace, its state and its lock go.
  ASSERT_EQ(Kubectl({"delete", kWs, name, "--wait=false"}).exit_code, 0);
  ASSERT_TRUE(Eventually([&] { return !Get(kWs, name).is_object(); }));
  EXPECT_FALSE(fs::exists(file)) << "destroy ran the module's destroy provisioner";
  EXPECT_FALSE(Get("secret", secret, state_ns_).is_object()) << "state Secret left behind";
  EXPECT_FALSE(
      Get("lease", "tflock-" + ws["metadata"]["uid"].get<std::string>(), state_ns_).is_object());
  EXPECT_TRUE(HasEvent(name, "default", "Destroyed"));
  EXPECT_TRUE(fs::is_empty(dir_.path() + "/work")) << "working folders are cleaned up";
}

TEST_F(ProviderWorkspaceTest, SameNameInTwoNamespacesKeepsSeparateState) {
  StartProvider();
  std::vector<std::string> files;
  for (const std::string team : {"a", "b"}) {
    const std::string ns = "wl-" + team + "-" + suffix_;
    const std::string file = dir_.path() + "/" + team + ".txt";
    files.push_back(file);
    created_.emplace_back(kNsWs, ns + "/app");
    Apply("ns", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + ns +
                    "\n---\n"
                    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: vars\n  namespace: " +
                    ns + "\nstringData:\n  token: 'token = \"secret-" + team +
                    "\"'\n---\n"
                    "apiVersion: terraform.workloads.m.terraforming.io/v1alpha1\nkind: Workspace\n"
                    "metadata:\n  name: app\n  namespace: " +
                    ns +
                    "\nspec:\n"
                    "  providerConfigRef: {kind: ClusterProviderConfig, name: cpc-" +
                    suffix_ +
                    "}\n"
                    "  forProvider:\n    source: Inline\n    module: |\n" +
                    Indent(kFileModule, 6) + "    varmap: {path: " + file + ", content: team-" +
                    team +
                    "}\n"
                    "    varFiles:\n    - source: SecretKey\n      format: HCL\n"
                    "      secretKeyRef: {name: vars, key: token}\n");
  }
  ASSERT_TRUE(Eventually([&] {
    return FileHas(files[0], "team-a") && FileHas(files[1], "team-b") &&
           ReadyAndSynced(Get(kNsWs, "app", "wl-a-" + suffix_)) &&
           ReadyAndSynced(Get(kNsWs, "app", "wl-b-" + suffix_));
  }));
  const Json a = Get(kNsWs, "app", "wl-a-" + suffix_);
  const Json b = Get(kNsWs, "app", "wl-b-" + suffix_);
  EXPECT_NE(StateSecret(a), StateSecret(b));
  EXPECT_TRUE(Get("secret", StateSecret(a), state_ns_).is_object());
  EXPECT_TRUE(Get("secret", StateSecret(b), state_ns_).is_object());
  EXPECT_EQ(a["status"]["atProvider"]["outputs"]["content"], "team-a");
  EXPECT_EQ(b["status"]["atProvider"]["outputs"]["content"], "team-b");
  // Their ProviderConfigUsages, in their namespaces, count as users.
  ASSERT_TRUE(Eventually([&] {
    const Json cpc =
        Get("clusterproviderconfigs.terraform.workloads.m.terraforming.io", "cpc-" + suffix_);
    return cpc.is_object() && cpc["status"].value("users", 0) == 2;
  }));

  // Deleting one leaves the other's state and file alone.
  ASSERT_EQ(Kubectl({"delete", kNsWs, "app", "-n", "wl-a-" + suffix_, "--wait=false"}).exit_code,
            0);
  ASSERT_TRUE(Eventually([&] { return !Get(kNsWs, "app", "wl-a-" + suffix_).is_object(); }));
  EXPECT_FALSE(fs::exists(files[0]));
  EXPECT_TRUE(FileHas(files[1], "team-b"));
  EXPECT_TRUE(Get("secret", StateSecret(b), state_ns_).is_object());
}

TEST_F(ProviderWorkspaceTest, AWrongModuleGivesAClearConditionNotACrash) {
  StartProvider();
  const std::string name = "broken-" + suffix_;
  const std::string module =
      "resource \"terraform_data\" \"x\" {\n  input = var.missing\n}\n"
      "variable \"token\" {\n  type      = string\n  sensitive = true\n}\n"
      "output \"leak\" { value = nonexistent_function(var.token) }\n";
  created_.emplace_back(kWs, name);
  Apply("ws",
        "apiVersion: terraform.workloads.terraforming.io/v1alpha1\nkind: Workspace\n"
        "metadata:\n  name: " +
            name + "\nspec:\n  providerConfigRef: {name: pc-" + suffix_ +
            "}\n  forProvider:\n    source: Inline\n    module: |\n" + Indent(module, 6) +
            "    vars:\n    - {key: token, value: hunter2-very-secret}\n");
  std::string message;
  ASSERT_TRUE(Eventually([&] {
    const Json ws = Get(kWs, name);
    message = Condition(ws, "Synced", "message");
    return Condition(ws, "Synced") == "False" && !message.empty();
  }));
  EXPECT_NE(message.find("main.tf"), std::string::npos) << message;
  EXPECT_EQ(message.find("hunter2-very-secret"), std::string::npos) << message;
  EXPECT_LT(message.size(), 600u);
  EXPECT_TRUE(HasEvent(name, "default", "CannotObserveExternalResource"));
  EXPECT_TRUE(provider_->running()) << "the provider must survive a broken module";
  // Nothing was applied, so there is no state.
  EXPECT_FALSE(Get("secret", StateSecret(Get(kWs, name)), state_ns_).is_object());
  // Deleting it needs no destroy and does not hang.
  ASSERT_EQ(Kubectl({"delete", kWs, name, "--wait=false"}).exit_code, 0);
  ASSERT_TRUE(Eventually([&] { return !Get(kWs, name).is_object(); }, 60s));
}

TEST_F(ProviderWorkspaceTest, AStateThatCannotBeStoredKeepsItsFolderUntilItIsStored) {
  StartProvider();
  // No Secret can be created in the state namespace: the apply succeeds and
  // its state cannot be stored.
  Apply("quota",
        "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: no-secrets\n"
        "  namespace: " +
            state_ns_ + "\nspec:\n  hard:\n    count/secrets: \"0\"\n");
  // Without a quota controller on the test control plane, the status that
  // admission enforces is written here.
  ASSERT_EQ(Kubectl({"patch", "resourcequota", "no-secrets", "-n", state_ns_,
                     "--subresource=status", "--type=merge", "-p",
                     R"({"status":{"hard":{"count/secrets":"0"},"used":{"count/secrets":"0"}}})"})
                .exit_code,
            0);
  const std::string infra = dir_.path() + "/infra";
  fs::create_directories(infra);
  const std::string name = "unstored-" + suffix_;
  created_.emplace_back(kWs, name);
  Apply("ws",
        "apiVersion: terraform.workloads.terraforming.io/v1alpha1\nkind: Workspace\n"
        "metadata:\n  name: " +
            name + "\nspec:\n  providerConfigRef: {name: pc-" + suffix_ +
            "}\n  forProvider:\n    source: Inline\n    module: |\n" + Indent(kCountedModule, 6) +
            "    vars:\n    - {key: dir, value: " + infra + "}\n");
  ASSERT_TRUE(Eventually([&] { return HasEvent(name, "default", "StateNotStored"); }, 120s))
      << log_;
  EXPECT_EQ(ReadFile(infra + "/created.log"), "created\n");
  const std::string uid = Get(kWs, name)["metadata"]["uid"];
  const std::string kept = dir_.path() + "/work/" + uid + "/terraform.tfstate";
  EXPECT_TRUE(fs::exists(kept)) << "the only copy of the state was removed";

  // While it cannot be stored nothing is planned or applied again: the
  // reconciles that follow fail, naming why.
  std::string message;
  ASSERT_TRUE(Eventually([&] {
    message = Condition(Get(kWs, name), "Synced", "message");
    return message.find("is not stored yet") != std::string::npos;
  }));
  EXPECT_EQ(ReadFile(infra + "/created.log"), "created\n");
  EXPECT_TRUE(fs::exists(kept));

  // Once Secrets can be written, the next reconcile stores it and goes on
  // from it: nothing is created twice.
  ASSERT_EQ(Kubectl({"delete", "resourcequota", "no-secrets", "-n", state_ns_}).exit_code, 0);
  ASSERT_TRUE(Eventually([&] { return ReadyAndSynced(Get(kWs, name)); }, 120s))
      << Get(kWs, name).dump(2);
  EXPECT_TRUE(HasEvent(name, "default", "RecoveredState"));
  EXPECT_EQ(ReadFile(infra + "/created.log"), "created\n")
      << "the resource was created again: the state of its first apply was lost";
  EXPECT_TRUE(Get("secret", StateSecret(Get(kWs, name)), state_ns_).is_object());
  EXPECT_EQ(Get(kWs, name)["status"]["atProvider"]["outputs"]["input"], "counted");

  ASSERT_EQ(Kubectl({"delete", kWs, name, "--wait=false"}).exit_code, 0);
  ASSERT_TRUE(Eventually([&] { return !Get(kWs, name).is_object(); }));
}

TEST_F(ProviderWorkspaceTest, AKillDuringApplyIsRecoveredWithoutLosingState) {
  StartProvider();
  const std::string infra = dir_.path() + "/infra";
  const std::string name = "crash-" + suffix_;
  ASSERT_NO_FATAL_FAILURE(ApplySlowWorkspace(name, infra));
  ASSERT_TRUE(FileHas(infra + "/first.log", "created\n"));
  // kill -9: no chance to clean up or to record anything.
  ::kill(provider_->pid(), SIGKILL);
  provider_->Stop(100ms);
  const Json before = Get(kWs, name);
  EXPECT_FALSE(
      before["metadata"]["annotations"].value("crossplane.io/external-create-pending", "").empty());

  StartProvider();
  ASSERT_TRUE(Eventually(
      [&] { return ReadyAndSynced(Get(kWs, name)) && FileHas(infra + "/slow.txt", "done\n"); },
      120s))
      << Get(kWs, name).dump(2);
  EXPECT_EQ(ReadFile(infra + "/first.log"), "created\n")
      << "the resource created before the kill was created again: its state was lost";
  const Json ws = Get(kWs, name);
  EXPECT_EQ(ws["status"]["atProvider"]["outputs"]["done"], "slow");
  EXPECT_TRUE(HasEvent(name, "default", "RecoveredState"));
  // The create is recorded: no pending annotation newer than the outcome.
  const Json annotations = ws["metadata"]["annotations"];
  EXPECT_GE(annotations.value("crossplane.io/external-create-succeeded", ""),
            annotations.value("crossplane.io/external-create-pending", ""));
  // The Lease is held by nobody (released by the new provider after its run,
  // alongside its status write: it may land just after the Ready status).
  const std::string lease_name = "tflock-" + ws["metadata"]["uid"].get<std::string>();
  EXPECT_TRUE(Eventually(
      [&] {
        const Json lease = Get("lease", lease_name, state_ns_);
        return lease.is_object() && lease["spec"].value("holderIdentity", "").empty();
      },
      30s))
      << Get("lease", lease_name, state_ns_).dump(2);

  ASSERT_EQ(Kubectl({"delete", kWs, name, "--wait=false"}).exit_code, 0);
  ASSERT_TRUE(Eventually([&] { return !Get(kWs, name).is_object(); }));
}

// The processes whose working folder is `cwd` and whose name is `comm`.
std::vector<pid_t> ProcessesIn(const std::string& cwd, const std::string& comm) {
  std::vector<pid_t> pids;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    std::error_code link_ec;
    if (fs::read_symlink(entry.path() / "cwd", link_ec).string() != cwd) continue;
    std::ifstream in(entry.path() / "comm");
    std::string process;
    if (std::getline(in, process) && process == comm) pids.push_back(std::stoi(name));
  }
  return pids;
}

// OpenTofu itself killed hard (what the OOM killer does) while the provider
// lives: it had no chance to write its state, so what it created is not in
// it. The provider names those resources in an event instead of silently
// creating them again.
TEST_F(ProviderWorkspaceTest, AHardKillOfOpenTofuNamesTheResourcesItsStateLacks) {
  StartProvider();
  const std::string infra = dir_.path() + "/infra-hard";
  const std::string name = "hardkill-" + suffix_;
  ASSERT_NO_FATAL_FAILURE(ApplySlowWorkspace(name, infra));
  const std::string work =
      dir_.path() + "/work/" + Get(kWs, name)["metadata"]["uid"].get<std::string>();
  // The kernel keeps 15 characters of a program's name.
  const std::vector<pid_t> tofu =
      ProcessesIn(fs::canonical(work).string(), fs::path(kTofu).filename().string().substr(0, 15));
  ASSERT_EQ(tofu.size(), 1u);
  ::kill(tofu[0], SIGKILL);

  std::string message;
  ASSERT_TRUE(Eventually([&] {
    for (const auto& e : Events(name, "default")) {
      if (e.value("reason", "") == "UntrackedResources") message = e.value("message", "");
    }
    return !message.empty();
  })) << log_;
  EXPECT_NE(message.find("terraform_data.first (id="), std::string::npos) << message;
  EXPECT_EQ(message.find("terraform_data.slow"), std::string::npos) << message;
  EXPECT_TRUE(provider_->running());
  // The provider carries on; the event's warning was true: `first` is
  // created a second time.
  ASSERT_TRUE(Eventually(
      [&] { return ReadyAndSynced(Get(kWs, name)) && FileHas(infra + "/slow.txt", "done\n"); },
      120s));
  EXPECT_EQ(ReadFile(infra + "/first.log"), "created\ncreated\n");
  ASSERT_EQ(Kubectl({"delete", kWs, name, "--wait=false"}).exit_code, 0);
  ASSERT_TRUE(Eventually([&] { return !Get(kWs, name).is_object(); }));
}

TEST_F(ProviderWorkspaceTest, RollbackRestoresAKeptStateVersion) {
  StartProvider();
  const std::string file = dir_.path() + "/r.txt";
  const std::string name = "rollback-" + suffix_;
  Apply("ws", LegacyWorkspace(name, file, "v1"));
  ASSERT_TRUE(Eventually([&] { return ReadyAndSynced(Get(kWs, name)) && FileHas(file, "v1"); }));
  Apply("ws", LegacyWorkspace(name, file, "v2"));
  ASSERT_TRUE(Eventually([&] {
    const Json w = Get(kWs, name);
    return ReadyAndSynced(w) && w["status"]["atProvider"]["outputs"].value("content", "") == "v2";
  }));
  const Json ws = Get(kWs, name);
  const Json versions = ws["status"]["atProvider"]["state"]["versions"];
  ASSERT_FALSE(versions.empty());
  const std::string target = std::to_string(versions.back().get<int64_t>());
  ASSERT_EQ(
      Kubectl({"annotate", kWs, name, "workloads.terraforming.io/rollback-to=" + target}).exit_code,
      0);
  ASSERT_TRUE(Eventually(
      [&] { return Get(kWs, name)["status"]["atProvider"].value("lastRollback", "") == target; }));
  EXPECT_TRUE(HasEvent(name, "default", "RolledBack"));
  // The configuration still says v2: after the rollback it converges there.
  ASSERT_TRUE(Eventually([&] { return ReadyAndSynced(Get(kWs, name)) && FileHas(file, "v2"); }));
  ASSERT_EQ(Kubectl({"delete", kWs, name, "--wait=false"}).exit_code, 0);
  ASSERT_TRUE(Eventually([&] { return !Get(kWs, name).is_object(); }));
}

// A private repository: served over HTTPS with basic authentication (git
// http-backend behind provider/workspace/testdata/git_http_server.py), read
// with the ProviderConfig's .git-credentials credential.
TEST_F(ProviderWorkspaceTest, RunsAModuleFromAPrivateGitRepositoryAtAPinnedCommit) {
  // The module in a sub-folder, then a later commit that breaks it, which
  // the pinned commit must not see.
  const std::string repo = dir_.path() + "/repo";
  fs::create_directories(repo + "/modules/app");
  auto git = [&](std::vector<std::string> args) {
    args.insert(args.begin(),
                {"git", "-C", repo, "-c", "user.name=test", "-c", "user.email=test@example.com"});
    RunResult r = RunCommand(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  };
  git({"init", "-q"});
  {
    std::ofstream(repo + "/modules/app/main.tf")
        << "resource \"terraform_data\" \"app\" {\n"
           "  input = \"from-git\"\n}\n"
           "output \"source\" { value = terraform_data.app.output }\n";
  }
  git({"add", "."});
  git({"commit", "-q", "-m", "module"});
  std::string commit = git({"rev-parse", "HEAD"});
  commit.erase(commit.find_last_not_of("\n") + 1);
  { std::ofstream(repo + "/modules/app/main.tf") << "this is not HCL {"; }
  git({"commit", "-q", "-am", "broken"});
  const std::string served = dir_.path() + "/served";
  fs::create_directories(served);
  ASSERT_EQ(RunCommand({"git", "clone", "-q", "--bare", repo, served + "/app.git"}).exit_code, 0);
  // HTTPS with a certificate of its own, which the provider trusts through
  // GIT_SSL_CAINFO (as a DeploymentRuntimeConfig would set it).
  const std::string cert = dir_.path() + "/git.crt", key = dir_.path() + "/git.key";
  ASSERT_EQ(RunCommand({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", cert})
                .exit_code,
            0);
  ::setenv("GIT_SSL_CAINFO", cert.c_str(), 1);
  struct Unset {
    ~Unset() { ::unsetenv("GIT_SSL_CAINFO"); }
  } unset;
  const std::string port_file = dir_.path() + "/git-port";
  Background server({"sh", "-c",
                     "exec python3 " + std::string(PLATFORM_SOURCE_DIR) +
                         "/provider/workspace/testdata/git_http_server.py " + served +
                         " bot s3cret-token " + cert + " " + key + " > " + port_file},
                    dir_.path() + "/git-server.log");
  ASSERT_TRUE(
      Eventually([&] { return fs::exists(port_file) && fs::file_size(port_file) > 0; }, 10s));
  const std::string port = ReadFile(port_file).substr(0, ReadFile(port_file).find('\n'));
  const std::string url = "https://127.0.0.1:" + port + "/app.git";

  // A ProviderConfig of its own, with git's credentials from a Secret.
  const std::string pc = "pc-git-" + suffix_;
  created_.emplace_back("providerconfigs.terraform.workloads.terraforming.io", pc);
  Apply("pc",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: git-credentials\n  namespace: " +
            state_ns_ + "\nstringData:\n  credentials: https://bot:s3cret-token@127.0.0.1:" + port +
            "\n---\n"
            "apiVersion: terraform.workloads.terraforming.io/v1alpha1\nkind: ProviderConfig\n"
            "metadata:\n  name: " +
            pc +
            "\nspec:\n  credentials:\n"
            "  - filename: .git-credentials\n    source: Secret\n    secretRef: {namespace: " +
            state_ns_ +
            ", name: git-credentials, key: credentials}\n"
            "  state:\n    namespace: " +
            state_ns_ + "\n");

  StartProvider();
  const std::string name = "git-" + suffix_;
  created_.emplace_back(kWs, name);
  Apply("ws",
        "apiVersion: terraform.workloads.terraforming.io/v1alpha1\nkind: Workspace\n"
        "metadata:\n  name: " +
            name + "\nspec:\n  providerConfigRef: {name: " + pc +
            "}\n  forProvider:\n    source: Git\n    git:\n      url: " + url +
            "\n      ref: " + commit + "\n      path: modules/app\n");
  ASSERT_TRUE(Eventually([&] { return ReadyAndSynced(Get(kWs, name)); })) << Get(kWs, name).dump(2);
  const Json ws = Get(kWs, name);
  EXPECT_EQ(ws["status"]["atProvider"]["outputs"]["source"], "from-git");
  EXPECT_EQ(ws["status"]["atProvider"]["source"]["commit"], commit);
  ASSERT_EQ(Kubectl({"delete", kWs, name, "--wait=false"}).exit_code, 0);
  ASSERT_TRUE(Eventually([&] { return !Get(kWs, name).is_object(); }));
}

TEST_F(ProviderWorkspaceTest, RotatesTheStateKey) {
  StartProvider();
  const std::string file = dir_.path() + "/k.txt";
  const std::string name = "rotate-" + suffix_;
  Apply("ws", LegacyWorkspace(name, file, "k1"));
  ASSERT_TRUE(Eventually([&] { return ReadyAndSynced(Get(kWs, name)) && FileHas(file, "k1"); }));
  const std::string secret = StateSecret(Get(kWs, name));
  auto key_id = [&] {
    const Json s = Get("secret", secret, state_ns_);
    return s.is_object()
               ? s["metadata"]["annotations"].value("workloads.terraforming.io/key-id", "")
               : std::string();
  };
  const std::string first_key = key_id();
  ASSERT_FALSE(first_key.empty());

  // A new key without the old one: the state cannot be read, and says so.
  auto config = [&](const std::string& previous) {
    return "apiVersion: v1\nkind: Secret\nmetadata:\n  name: state-key-2\n  namespace: " +
           state_ns_ +
           "\nstringData:\n  key: a-brand-new-key\n---\n"
           "apiVersion: terraform.workloads.terraforming.io/v1alpha1\nkind: ProviderConfig\n"
           "metadata:\n  name: pc-" +
           suffix_ + "\nspec:\n  state:\n    namespace: " + state_ns_ +
           "\n    history: 3\n    encryptionKeySecretRef: {namespace: " + state_ns_ +
           ", name: state-key-2, key: key}\n" + previous;
  };
  Apply("config", config(""));
  std::string message;
  ASSERT_TRUE(Eventually([&] {
    message = Condition(Get(kWs, name), "Synced", "message");
    return message.find("the key does not match") != std::string::npos;
  })) << message;
  EXPECT_TRUE(provider_->running());

  // With the old key listed, the next write seals everything with the new one.
  Apply("config", config("    previousEncryptionKeySecretRefs:\n    - {namespace: " + state_ns_ +
                         ", name: state-key, key: key}\n"));
  Apply("ws", LegacyWorkspace(name, file, "k2"));
  ASSERT_TRUE(Eventually([&] {
    return ReadyAndSynced(Get(kWs, name)) && FileHas(file, "k2") && key_id() != first_key;
  })) << Get(kWs, name).dump(2);
  ASSERT_EQ(Kubectl({"delete", kWs, name, "--wait=false"}).exit_code, 0);
  ASSERT_TRUE(Eventually([&] { return !Get(kWs, name).is_object(); }));
}

TEST_F(ProviderWorkspaceTest, RequireApprovalAppliesOnlyTheApprovedPlan) {
  StartProvider();
  const std::string file = dir_.path() + "/approved.txt";
  const std::string name = "approve-" + suffix_;
  // Replaced (so written again) whenever the content changes; settles in one apply.
  const std::string module = R"(variable "path" { type = string }
variable "content" { type = string }
variable "token" {
  type      = string
  sensitive = true
}
resource "terraform_data" "file" {
  triggers_replace = [var.content]
  provisioner "local-exec" {
    command     = "printf '%s' \"$CONTENT\" > \"$FILE\""
    environment = { FILE = var.path, CONTENT = var.content }
  }
}
)";
  auto manifest = [&](const std::string& content) {
    std::string m = LegacyWorkspace(name, file, content, module);
    const std::string marker = "    source: Inline\n";
    // (Its delete destroys without approval: requireDestroyApproval: false.)
    m.insert(m.find(marker), "    requireApproval: true\n    requireDestroyApproval: false\n");
    return m;
  };
  auto fingerprint = [&] {
    return Get(kWs, name)["status"]["atProvider"]
        .value("plan", Json::object())
        .value("fingerprint", "");
  };
  Apply("ws", manifest("a1"));
  // Nothing is created before approval; the condition says what to do.
  std::string message;
  ASSERT_TRUE(Eventually([&] {
    message = Condition(Get(kWs, name), "Synced", "message");
    return message.find("awaits approval") != std::string::npos && !fingerprint().empty();
  })) << Get(kWs, name).dump(2);
  EXPECT_NE(message.find("workloads.terraforming.io/approve-plan=" + fingerprint()),
            std::string::npos)
      << message;
  EXPECT_FALSE(fs::exists(file));
  EXPECT_TRUE(HasEvent(name, "default", "PlanAwaitingApproval"));

  const std::string first = fingerprint();
  ASSERT_EQ(
      Kubectl({"annotate", kWs, name, "workloads.terraforming.io/approve-plan=" + first}).exit_code,
      0);
  ASSERT_TRUE(Eventually([&] { return ReadyAndSynced(Get(kWs, name)) && FileHas(file, "a1"); }));

  // A new plan is not covered by the old approval: it waits, the Workspace
  // stays Ready, nothing changes.
  Apply("ws", manifest("a2"));
  ASSERT_TRUE(Eventually([&] {
    const Json w = Get(kWs, name);
    const Json plan = w["status"]["atProvider"].value("plan", Json::object());
    return plan.value("awaitingApproval", false) && plan.value("fingerprint", "") != first;
  }));
  std::this_thread::sleep_for(3s);
  EXPECT_TRUE(FileHas(file, "a1")) << "a plan that was not approved was applied";
  EXPECT_TRUE(ReadyAndSynced(Get(kWs, name)));
  ASSERT_EQ(Kubectl({"annotate", "--overwrite", kWs, name,
                     "workloads.terraforming.io/approve-plan=" + fingerprint()})
                .exit_code,
            0);
  ASSERT_TRUE(Eventually([&] { return FileHas(file, "a2"); }));
  ASSERT_EQ(Kubectl({"delete", kWs, name, "--wait=false"}).exit_code, 0);
  ASSERT_TRUE(Eventually([&] { return !Get(kWs, name).is_object(); }));
}

TEST_F(ProviderWorkspaceTest, ServesMetricsAndElectsOneLeader) {
  const int port = FreePort();
  StartProvider({"--metrics-address=127.0.0.1:" + std::to_string(port), "--leader-election",
                 "--leader-election-namespace=" + state_ns_});
  ASSERT_TRUE(WaitForPort(port, 10s));
  auto ready = [](int p) {
    return RunCommand({"curl", "-sf", "http://127.0.0.1:" + std::to_string(p) + "/readyz"})
               .exit_code == 0;
  };
  ASSERT_TRUE(Eventually([&] { return ready(port); }, 30s));
  RunResult m =
      RunCommand({"curl", "-sf", "http://127.0.0.1:" + std::to_string(port) + "/metrics"});
  EXPECT_NE(m.out.find("crossplane_managed_resource_exists{gvk=\"terraform.workloads."
                       "terraforming.io/v1alpha1, Kind=Workspace\"}"),
            std::string::npos)
      << m.out;
  EXPECT_NE(m.out.find("Kind=AnsibleRun"), std::string::npos);
  EXPECT_NE(m.out.find("workqueue_depth"), std::string::npos);
  const Json lease = Get("lease", "provider-workloads-leader", state_ns_);
  ASSERT_TRUE(lease.is_object());
  EXPECT_FALSE(lease["spec"].value("holderIdentity", "").empty());

  // A second instance waits for the lease: never ready while the first leads.
  const int second_port = FreePort();
  Background second(
      {kProvider, "--kubeconfig=" + kKubeconfig, "--leader-election",
       "--leader-election-namespace=" + state_ns_,
       "--metrics-address=127.0.0.1:" + std::to_string(second_port),
       "--work-dir=" + dir_.path() + "/work2", "--cache-dir=" + dir_.path() + "/cache"},
      dir_.path() + "/second.log");
  ASSERT_TRUE(WaitForPort(second_port, 10s));
  std::this_thread::sleep_for(3s);
  EXPECT_FALSE(ready(second_port)) << "two leaders";
  EXPECT_EQ(Get("lease", "provider-workloads-leader", state_ns_)["spec"]["holderIdentity"],
            lease["spec"]["holderIdentity"]);
  second.Stop();
}

TEST_F(ProviderWorkspaceTest, AStateBiggerThanASecretIsStoredInChunksAndRemovedWithIt) {
  StartProvider();
  const std::string name = "big-" + suffix_;
  // 40,000 SHA-512 sums in base64 (range() makes at most 1024 values): 3.5 MB
  // of text that gzip hardly shrinks, in the state twice (input and output),
  // so a 7 MB state, 5.3 MB stored.
  constexpr char kBigModule[] = R"(variable "seed" { type = string }
resource "terraform_data" "big" {
  input = join("", [for i in range(200) : join("", [for j in range(200) :
    base64sha512("${var.seed}-${i}-${j}")])])
}
output "length" { value = length(terraform_data.big.output) }
)";
  created_.emplace_back(kWs, name);
  Apply("ws",
        "apiVersion: terraform.workloads.terraforming.io/v1alpha1\nkind: Workspace\n"
        "metadata:\n  name: " +
            name + "\nspec:\n  providerConfigRef: {name: pc-" + suffix_ +
            "}\n  forProvider:\n    source: Inline\n    module: |\n" + Indent(kBigModule, 6) +
            "    vars:\n    - {key: seed, value: one}\n");
  ASSERT_TRUE(Eventually([&] { return ReadyAndSynced(Get(kWs, name)); }, 180s))
      << Get(kWs, name).dump(2);
  Json ws = Get(kWs, name);
  EXPECT_EQ(ws["status"]["atProvider"]["outputs"]["length"], 40000 * 88);
  const std::string uid = ws["metadata"]["uid"];
  auto chunks = [&] {
    RunResult r = Kubectl({"get", "secrets", "-n", state_ns_, "-o", "json", "-l",
                           "workloads.terraforming.io/state-chunk=true,"
                           "workloads.terraforming.io/workspace-uid=" +
                               uid});
    const Json list = Json::parse(r.out, nullptr, false);
    return list.is_object() ? list.value("items", Json::array()) : Json::array();
  };
  const Json stored = chunks();
  EXPECT_GE(stored.size(), 5u) << "the state is split into chunk Secrets";
  for (const Json& chunk : stored) EXPECT_EQ(chunk.value("immutable", false), true);
  const Json index = Get("secret", StateSecret(ws), state_ns_);
  ASSERT_TRUE(index.is_object());
  EXPECT_TRUE(index["data"].contains("chunks"));
  EXPECT_FALSE(index["data"].contains("tfstate")) << "the current state is in chunks";
  const int64_t serial = ws["status"]["atProvider"]["state"]["serial"];

  // The next poll reads it back and plans no changes. (A poll that plans
  // what the last one did leaves the status as it was: the provider's log
  // tells the polls that succeeded, and one that started after this line is
  // the second to end after it.)
  const auto polls = [&] {
    std::istringstream log(ReadFile(log_));
    const std::string reconciled = ": reconciled " + name + " in ";
    std::size_t n = 0;
    for (std::string line; std::getline(log, line);) {
      n += line.find(reconciled) != std::string::npos && line.ends_with(": requeue_after");
    }
    return n;
  };
  const std::size_t polled = polls();
  ASSERT_TRUE(Eventually([&] {
    if (polls() < polled + 2) return false;
    const Json w = Get(kWs, name);
    const Json plan = w["status"]["atProvider"].value("plan", Json::object());
    return ReadyAndSynced(w) && plan.value("add", -1) == 0 && plan.value("change", -1) == 0 &&
           plan.value("destroy", -1) == 0;
  })) << Get(kWs, name).dump(2);
  EXPECT_EQ(Get(kWs, name)["status"]["atProvider"]["state"]["serial"], serial);

  // The dependency lock file is put back before init: a stored one naming a
  // provider the module does not use is what init rewrites (to its header
  // alone), and what it wrote is stored again. Without the put back there
  // would be no lock file and the stored one would stay.
  const std::string seeded =
      "provider \"registry.opentofu.org/hashicorp/null\" {\n  version = \"3.2.2\"\n}\n";
  RunResult encoded = RunCommand({"sh", "-c", "printf '%s' '" + seeded + "' | base64 -w0"});
  ASSERT_EQ(Kubectl({"patch", "secret", StateSecret(ws), "-n", state_ns_, "--type=merge", "-p",
                     R"({"data":{".terraform.lock.hcl":")" + encoded.out + R"("}})"})
                .exit_code,
            0);
  std::string lock;
  ASSERT_TRUE(Eventually([&] {
    const Json s = Get("secret", StateSecret(ws), state_ns_);
    const std::string b64 = s["data"].value(".terraform.lock.hcl", "");
    lock = RunCommand({"sh", "-c", "printf '%s' '" + b64 + "' | base64 -d"}).out;
    return !lock.empty() && lock != seeded;
  })) << lock;
  EXPECT_NE(lock.find("maintained automatically by \"tofu init\""), std::string::npos) << lock;
  EXPECT_EQ(lock.find("hashicorp/null"), std::string::npos) << lock;

  // Deleting the Workspace removes the index and every chunk.
  ASSERT_EQ(Kubectl({"delete", kWs, name, "--wait=false"}).exit_code, 0);
  ASSERT_TRUE(Eventually([&] { return !Get(kWs, name).is_object(); }, 120s));
  EXPECT_FALSE(Get("secret", StateSecret(ws), state_ns_).is_object());
  EXPECT_TRUE(chunks().empty()) << chunks().dump();
}

// The state lock rewritten to another holder while a slow apply runs (an
// operator, or another replica that judged the lease expired): the apply is
// interrupted at once rather than going on without the lock, its state is
// kept for recovery, and once the other holder's lease expires the
// Workspace converges from that state: nothing created twice, nothing lost.
TEST_F(ProviderWorkspaceTest, ALockStolenMidApplyInterruptsTheApplyAndLosesNothing) {
  StartProvider();
  const std::string infra = dir_.path() + "/infra-stolen";
  const std::string name = "stolen-" + suffix_;
  ASSERT_NO_FATAL_FAILURE(ApplySlowWorkspace(name, infra));
  ASSERT_TRUE(FileHas(infra + "/first.log", "created\n"));
  const std::string uid = Get(kWs, name)["metadata"]["uid"];
  const std::string lease = "tflock-" + uid;
  ASSERT_FALSE(Get("lease", lease, state_ns_)["spec"].value("holderIdentity", "").empty());

  // Another holder whose clock is years behind: its renewTime says nothing
  // about when its hold ends here, only when this provider saw it change.
  const auto stolen = std::chrono::steady_clock::now();
  ASSERT_EQ(Kubectl({"patch", "lease", lease, "-n", state_ns_, "--type=merge", "-p",
                     R"({"spec":{"holderIdentity":"elsewhere-1-beef","leaseDurationSeconds":5,)"
                     R"("renewTime":"2020-01-01T00:00:00.000000Z"}})"})
                .exit_code,
            0);
  std::string message;
  ASSERT_TRUE(Eventually(
      [&] {
        for (const auto& e : Events(name, "default")) {
          if (e.value("reason", "") == "LockLost") message = e.value("message", "");
        }
        return !message.empty();
      },
      60s))
      << log_;
  // Promptly: the slow resource sleeps 30s; the run did not go on to finish it.
  EXPECT_LT(std::chrono::steady_clock::now() - stolen, 20s);
  EXPECT_FALSE(fs::exists(infra + "/slow.txt")) << "the apply went on without its lock";
  EXPECT_NE(message.find("elsewhere-1-beef"), std::string::npos) << message;
  EXPECT_NE(message.find("working folder"), std::string::npos) << message;
  EXPECT_TRUE(fs::exists(dir_.path() + "/work/" + uid + "/terraform.tfstate"));

  // The other holder never renews: its lease expires 5s after the provider
  // saw it, the kept state is recovered and the Workspace converges.
  ASSERT_TRUE(Eventually(
      [&] { return ReadyAndSynced(Get(kWs, name)) && FileHas(infra + "/slow.txt", "done\n"); },
      120s))
      << Get(kWs, name).dump(2);
  EXPECT_TRUE(HasEvent(name, "default", "RecoveredState"));
  EXPECT_EQ(ReadFile(infra + "/first.log"), "created\n")
      << "the resource created before the theft was created again: its state was lost";
  const Json ws = Get(kWs, name);
  EXPECT_EQ(ws["status"]["atProvider"]["outputs"]["done"], "slow");
  // The stored state is what the Workspace reports, and planning again
  // finds nothing to do (Ready stays, nothing is created again).
  const Json secret = Get("secret", "tfstate-" + uid, state_ns_);
  ASSERT_TRUE(secret.is_object());
  EXPECT_EQ(secret["metadata"]["annotations"].value("workloads.terraforming.io/serial", ""),
            std::to_string(ws["status"]["atProvider"]["state"].value("serial", -1)))
      << secret["metadata"].dump(2);
  std::this_thread::sleep_for(6s);  // a few polls
  EXPECT_TRUE(ReadyAndSynced(Get(kWs, name)));
  EXPECT_EQ(ReadFile(infra + "/first.log"), "created\n");
  // No lock left held.
  ASSERT_TRUE(Eventually(
      [&] { return Get("lease", lease, state_ns_)["spec"].value("holderIdentity", "").empty(); },
      30s));

  ASSERT_EQ(Kubectl({"delete", kWs, name, "--wait=false"}).exit_code, 0);
  ASSERT_TRUE(Eventually([&] { return !Get(kWs, name).is_object(); }));
}

// Two replicas without leader election reconcile the same Workspaces: the
// state locks keep them from applying twice.
TEST_F(ProviderWorkspaceTest, TwoReplicasWithoutLeaderElectionApplyEachWorkspaceOnce) {
  StartProvider();
  Background second({kProvider, "--kubeconfig=" + kKubeconfig, "--poll=2s", "--poll-jitter=0s",
                     "--max-reconcile-rate=4", "--work-dir=" + dir_.path() + "/work-second",
                     "--cache-dir=" + dir_.path() + "/cache", "--state-namespace=" + state_ns_,
                     "--state-lock-duration=5s", "--tofu=" + kTofu,
                     "--metrics-address=127.0.0.1:" + std::to_string(FreePort()), "--debug"},
                    dir_.path() + "/second.log");
  constexpr int kCount = 3;
  std::vector<std::string> names;
  for (int i = 0; i < kCount; ++i) {
    const std::string infra = dir_.path() + "/infra-replica-" + std::to_string(i);
    fs::create_directories(infra);
    const std::string name = "replica-" + std::to_string(i) + "-" + suffix_;
    names.push_back(name);
    created_.emplace_back(kWs, name);
    Apply("ws",
          "apiVersion: terraform.workloads.terraforming.io/v1alpha1\nkind: Workspace\n"
          "metadata:\n  name: " +
              name + "\nspec:\n  providerConfigRef: {name: pc-" + suffix_ +
              "}\n  forProvider:\n    source: Inline\n    module: |\n" + Indent(kCountedModule, 6) +
              "    vars:\n    - {key: dir, value: " + infra + "}\n");
  }
  ASSERT_TRUE(Eventually(
      [&] {
        for (const auto& name : names) {
          if (!ReadyAndSynced(Get(kWs, name))) return false;
        }
        return true;
      },
      120s))
      << log_;
  std::this_thread::sleep_for(8s);  // both replicas plan every poll meanwhile
  EXPECT_TRUE(second.running()) << ReadFile(dir_.path() + "/second.log");
  for (int i = 0; i < kCount; ++i) {
    const Json ws = Get(kWs, names[i]);
    EXPECT_TRUE(ReadyAndSynced(ws)) << ws.dump(2);
    EXPECT_EQ(ReadFile(dir_.path() + "/infra-replica-" + std::to_string(i) + "/created.log"),
              "created\n")
        << names[i] << " was applied more than once";
    const std::string uid = ws["metadata"]["uid"];
    // One state, one lock, held by nobody at rest.
    RunResult secrets = Kubectl({"get", "secrets", "-n", state_ns_, "-o", "name"});
    EXPECT_EQ(secrets.out.find("tfstate-" + uid), secrets.out.rfind("tfstate-" + uid));
    EXPECT_NE(secrets.out.find("tfstate-" + uid), std::string::npos);
    EXPECT_EQ(ws["status"]["atProvider"]["outputs"]["input"], "counted");
  }
  second.Stop();
  for (const auto& name : names) {
    ASSERT_EQ(Kubectl({"delete", kWs, name, "--wait=false"}).exit_code, 0);
  }
  for (const auto& name : names) {
    ASSERT_TRUE(Eventually([&] { return !Get(kWs, name).is_object(); })) << name;
  }
}

TEST_F(ProviderWorkspaceTest, AModuleWithItsOwnBackendIsRefusedAndNothingRuns) {
  StartProvider();
  const std::string name = "backend-" + suffix_;
  const std::string ran = dir_.path() + "/backend-ran.txt";
  const std::string elsewhere = dir_.path() + "/elsewhere.tfstate";
  const std::string module = "terraform {\n  backend \"local\" {\n    path = \"" + elsewhere +
                             "\"\n  }\n}\nresource \"terraform_data\" \"x\" {\n"
                             "  provisioner \"local-exec\" {\n    command = \"touch " +
                             ran + "\"\n  }\n}\n";
  created_.emplace_back(kWs, name);
  Apply("ws",
        "apiVersion: terraform.workloads.terraforming.io/v1alpha1\nkind: Workspace\n"
        "metadata:\n  name: " +
            name + "\nspec:\n  providerConfigRef: {name: pc-" + suffix_ +
            "}\n  forProvider:\n    source: Inline\n    module: |\n" + Indent(module, 6));
  std::string message;
  ASSERT_TRUE(Eventually([&] {
    message = Condition(Get(kWs, name), "Synced", "message");
    return Condition(Get(kWs, name), "Synced") == "False" && !message.empty();
  })) << Get(kWs, name).dump(2);
  EXPECT_NE(message.find("backend \"local\""), std::string::npos) << message;
  EXPECT_NE(message.find("main.tf:2"), std::string::npos) << message;
  EXPECT_NE(message.find("may not declare a backend or a cloud block"), std::string::npos)
      << message;
  EXPECT_TRUE(HasEvent(name, "default", "CannotObserveExternalResource"));
  // Nothing ran: no plan, no apply, no state here or in the module's backend.
  std::this_thread::sleep_for(2s);
  EXPECT_FALSE(fs::exists(ran));
  EXPECT_FALSE(fs::exists(elsewhere));
  EXPECT_FALSE(Get("secret", StateSecret(Get(kWs, name)), state_ns_).is_object());
  EXPECT_EQ(Get(kWs, name)["status"].value("atProvider", Json::object()).count("plan"), 0u);
  ASSERT_EQ(Kubectl({"delete", kWs, name, "--wait=false"}).exit_code, 0);
  ASSERT_TRUE(Eventually([&] { return !Get(kWs, name).is_object(); }, 60s));
}

TEST_F(ProviderWorkspaceTest, RequireApprovalHoldsADestroyUntilItsPlanIsApproved) {
  StartProvider();
  const std::string file = dir_.path() + "/destroy-approval.txt";
  const std::string name = "destroy-approve-" + suffix_;
  // The file exists while the resource does: a destroy removes it.
  const std::string module = R"(variable "path" { type = string }
variable "content" { type = string }
variable "token" {
  type      = string
  sensitive = true
}
resource "terraform_data" "file" {
  input = var.path
  provisioner "local-exec" {
    command     = "printf '%s' \"$CONTENT\" > \"$FILE\""
    environment = { FILE = var.path, CONTENT = var.content }
  }
  provisioner "local-exec" {
    when    = destroy
    command = "rm -f '${self.output}'"
  }
}
)";
  std::string manifest = LegacyWorkspace(name, file, "d1", module);
  manifest.insert(manifest.find("    source: Inline\n"), "    requireApproval: true\n");
  auto plan = [&] {
    const Json ws = Get(kWs, name);
    if (!ws.is_object()) return Json::object();
    const Json at = ws.value("status", Json::object()).value("atProvider", Json::object());
    return at.is_object() ? at.value("plan", Json::object()) : Json::object();
  };
  Apply("ws", manifest);
  ASSERT_TRUE(Eventually([&] { return plan().value("awaitingApproval", false); }));
  ASSERT_EQ(Kubectl({"annotate", kWs, name,
                     "workloads.terraforming.io/approve-plan=" + plan().value("fingerprint", "")})
                .exit_code,
            0);
  ASSERT_TRUE(Eventually([&] { return ReadyAndSynced(Get(kWs, name)) && FileHas(file, "d1"); }));
  const std::string applied = plan().value("fingerprint", "");

  // Deleted: the destroy is planned and waits; the Workspace keeps its
  // finalizer and the condition names the annotation.
  ASSERT_EQ(Kubectl({"delete", kWs, name, "--wait=false"}).exit_code, 0);
  std::string message, destroy;
  ASSERT_TRUE(Eventually([&] {
    const Json p = plan();
    destroy = p.value("fingerprint", "");
    message = Condition(Get(kWs, name), "Synced", "message");
    return p.value("awaitingApproval", false) && p.value("destroy", 0) == 1 && destroy != applied &&
           message.find("awaits approval") != std::string::npos;
  })) << Get(kWs, name).dump(2);
  EXPECT_NE(message.find("destroy plan " + destroy), std::string::npos) << message;
  EXPECT_NE(message.find("workloads.terraforming.io/approve-plan=" + destroy), std::string::npos)
      << message;
  EXPECT_TRUE(HasEvent(name, "default", "PlanAwaitingApproval"));
  std::this_thread::sleep_for(3s);
  const Json held = Get(kWs, name);
  ASSERT_TRUE(held.is_object()) << "deleted before its destroy was approved";
  EXPECT_FALSE(held["metadata"].value("finalizers", Json::array()).empty());
  EXPECT_TRUE(FileHas(file, "d1")) << "destroyed before approval";
  EXPECT_TRUE(Get("secret", StateSecret(held), state_ns_).is_object());

  ASSERT_EQ(Kubectl({"annotate", "--overwrite", kWs, name,
                     "workloads.terraforming.io/approve-plan=" + destroy})
                .exit_code,
            0);
  ASSERT_TRUE(Eventually([&] { return !Get(kWs, name).is_object(); }));
  EXPECT_FALSE(fs::exists(file));
  EXPECT_FALSE(Get("secret", StateSecret(held), state_ns_).is_object());
}

// A Workspace re-created with a new uid (deleted with deletionPolicy
// Orphan, then applied again, as a restore or a GitOps re-create does)
// adopts the earlier one's state by annotation: it plans no changes and
// creates nothing again, and the earlier state's Secret goes. Adopting the
// state of a Workspace that still exists is refused.
TEST_F(ProviderWorkspaceTest, ARecreatedWorkspaceAdoptsTheStateOfTheOneItReplaces) {
  StartProvider();
  const std::string infra = dir_.path() + "/infra-adopt";
  fs::create_directories(infra);
  const std::string name = "adopt-" + suffix_;
  created_.emplace_back(kWs, name);
  auto manifest = [&](const std::string& ws, const std::string& adopt) {
    return "apiVersion: terraform.workloads.terraforming.io/v1alpha1\nkind: Workspace\n"
           "metadata:\n  name: " +
           ws + "\n  annotations: {workloads.terraforming.io/adopt-state-of: \"" + adopt +
           "\"}\nspec:\n  deletionPolicy: Orphan\n  providerConfigRef: {name: pc-" + suffix_ +
           "}\n  forProvider:\n    source: Inline\n    module: |\n" + Indent(kCountedModule, 6) +
           "    vars:\n    - {key: dir, value: " + infra + "}\n";
  };
  Apply("ws", manifest(name, ""));
  ASSERT_TRUE(Eventually([&] { return ReadyAndSynced(Get(kWs, name)); }, 120s)) << log_;
  const std::string first_uid = Get(kWs, name)["metadata"]["uid"];
  const std::string first_secret = "tfstate-" + first_uid;
  ASSERT_EQ(ReadFile(infra + "/created.log"), "created\n");

  // Orphan: the Workspace goes, its resources and its state stay.
  ASSERT_EQ(Kubectl({"delete", kWs, name, "--wait=false"}).exit_code, 0);
  ASSERT_TRUE(Eventually([&] { return !Get(kWs, name).is_object(); }));
  ASSERT_TRUE(Get("secret", first_secret, state_ns_).is_object());

  Apply("ws", manifest(name, first_uid));
  ASSERT_TRUE(Eventually([&] { return ReadyAndSynced(Get(kWs, name)); }, 120s))
      << Get(kWs, name).dump(2) << log_;
  const Json ws = Get(kWs, name);
  EXPECT_NE(ws["metadata"]["uid"], first_uid);
  EXPECT_EQ(ws["status"]["atProvider"]["plan"].value("add", -1), 0);
  EXPECT_EQ(ws["status"]["atProvider"]["plan"].value("change", -1), 0);
  EXPECT_EQ(ReadFile(infra + "/created.log"), "created\n") << "the resource was created again";
  EXPECT_TRUE(HasEvent(name, "default", "AdoptedState"));
  EXPECT_FALSE(Get("secret", first_secret, state_ns_).is_object());
  EXPECT_TRUE(Get("secret", StateSecret(ws), state_ns_).is_object());

  // A second Workspace may not take the state of one that still exists.
  const std::string other = "adopt-other-" + suffix_;
  created_.emplace_back(kWs, other);
  Apply("other", manifest(other, ws["metadata"]["uid"].get<std::string>()));
  std::string message;
  ASSERT_TRUE(Eventually([&] {
    message = Condition(Get(kWs, other), "Synced", "message");
    return message.find("still exists") != std::string::npos;
  })) << message;
  EXPECT_NE(message.find("workloads.terraforming.io/adopt-state-of"), std::string::npos) << message;
  EXPECT_EQ(ReadFile(infra + "/created.log"), "created\n");
  EXPECT_TRUE(Get("secret", StateSecret(ws), state_ns_).is_object());
}

}  // namespace
}  // namespace platform::testing
