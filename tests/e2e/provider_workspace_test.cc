// provider-workloads as platform teams run it: the provider binary as a
// process with its kubeconfig, against the real kube-apiserver of the ctest
// `controlplane` fixture (which loads provider/package/crds), running the
// real OpenTofu. The modules use only OpenTofu's built-in terraform_data
// resource, local-exec provisioners and outputs, so nothing is downloaded:
// their "infrastructure" is files in a temporary folder, which the tests
// change behind the provider's back.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/subprocess.h"

namespace platform::testing {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using namespace std::chrono_literals;

const std::string kKubectl = KUBECTL_BIN;
const std::string kKubeconfig = CONTROLPLANE_KUBECONFIG;
const std::string kProvider = PROVIDER_BIN;
const std::string kTofu = TOFU_BIN;

RunResult Kubectl(std::vector<std::string> args) {
  args.insert(args.begin(), {kKubectl, "--kubeconfig", kKubeconfig});
  return RunCommand(args, std::chrono::seconds(60));
}

bool FileHas(const std::string& path, const std::string& content) {
  return fs::exists(path) && ReadFile(path) == content;
}

// Waits until `check` holds, up to `timeout`.
bool Eventually(const std::function<bool()>& check, std::chrono::seconds timeout = 90s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (check()) return true;
    std::this_thread::sleep_for(250ms);
  }
  return check();
}

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

std::string Indent(const std::string& text, int spaces) {
  std::string out, pad(static_cast<size_t>(spaces), ' ');
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out += pad + text.substr(start, end - start) + "\n";
    start = end + 1;
  }
  return out;
}

class ProviderWorkspaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(kKubectl.empty()) << "configure with -DKUBECTL_BIN (make test does)";
    ASSERT_FALSE(kTofu.empty()) << "configure with -DTOFU_BIN (make test does)";
    ASSERT_TRUE(fs::exists(kKubeconfig))
        << "no control plane: these tests run inside ctest's controlplane fixture";
    const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    // Unique per test and per run: objects a failed run left behind never
    // meet this run's.
    suffix_ = std::to_string((std::hash<std::string>{}(name) + static_cast<size_t>(::getpid())) %
                             1000000);
    state_ns_ = "wl-state-" + suffix_;
    Apply("namespace", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + state_ns_ + "\n");
    // The key that encrypts state at rest, and the ProviderConfigs.
    Apply("config",
          "apiVersion: v1\nkind: Secret\nmetadata:\n  name: state-key\n  namespace: " + state_ns_ +
              "\nstringData:\n  key: correct-horse-battery-staple\n---\n"
              "apiVersion: terraform.workloads.terraforming.io/v1alpha1\nkind: ProviderConfig\n"
              "metadata:\n  name: pc-" +
              suffix_ + "\nspec:\n  state:\n    namespace: " + state_ns_ +
              "\n    history: 3\n    encryptionKeySecretRef: {namespace: " + state_ns_ +
              ", name: state-key, key: key}\n---\n"
              "apiVersion: terraform.workloads.m.terraforming.io/v1alpha1\n"
              "kind: ClusterProviderConfig\nmetadata:\n  name: cpc-" +
              suffix_ + "\nspec:\n  state:\n    namespace: " + state_ns_ + "\n");
  }

  void TearDown() override {
    if (provider_ && provider_->running()) provider_->Stop();
    // PROVIDER_TEST_LOGS=1 shows the log of passing tests too.
    if ((HasFailure() || std::getenv("PROVIDER_TEST_LOGS") != nullptr) && !log_.empty()) {
      std::cerr << "---- provider log (last 150 lines) ----\n";
      RunResult tail = RunCommand({"tail", "-150", log_});
      std::cerr << tail.out;
    }
    // Leave nothing behind, finalizers included.
    for (const auto& [kind, key] : created_) {
      std::vector<std::string> target = {kind};
      const size_t slash = key.find('/');
      if (slash != std::string::npos) {
        target.insert(target.end(), {key.substr(slash + 1), "-n", key.substr(0, slash)});
      } else {
        target.push_back(key);
      }
      std::vector<std::string> del = {"delete", "--ignore-not-found", "--wait=false"};
      del.insert(del.end(), target.begin(), target.end());
      Kubectl(del);
      std::vector<std::string> patch = {"patch"};
      patch.insert(patch.end(), target.begin(), target.end());
      patch.insert(patch.end(), {"--type=merge", "-p", R"({"metadata":{"finalizers":null}})"});
      Kubectl(patch);
    }
  }

  void StartProvider(const std::vector<std::string>& extra = {}) {
    log_ = dir_.path() + "/provider-" + std::to_string(++starts_) + ".log";
    std::vector<std::string> argv = {kProvider,
                                     "--kubeconfig=" + kKubeconfig,
                                     "--poll=2s",
                                     "--poll-jitter=0s",
                                     "--max-reconcile-rate=4",
                                     "--work-dir=" + dir_.path() + "/work",
                                     "--cache-dir=" + dir_.path() + "/cache",
                                     "--state-namespace=" + state_ns_,
                                     "--state-lock-duration=5s",
                                     "--tofu=" + kTofu,
                                     "--metrics-address=127.0.0.1:" + std::to_string(FreePort()),
                                     "--debug"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    provider_ = std::make_unique<Background>(argv, log_);
  }

  void Apply(const std::string& name, const std::string& manifest) {
    const std::string file = dir_.Write(name + "-" + std::to_string(++files_) + ".yaml", manifest);
    RunResult r = Kubectl({"apply", "-f", file});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

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

  Json Get(const std::string& kind, const std::string& name, const std::string& ns = "") {
    std::vector<std::string> args = {"get", kind, name, "-o", "json"};
    if (!ns.empty()) args.insert(args.end(), {"-n", ns});
    RunResult r = Kubectl(args);
    if (r.exit_code != 0) return Json();
    return Json::parse(r.out, nullptr, false);
  }

  static std::string Condition(const Json& o, const std::string& type,
                               const char* field = "status") {
    if (!o.is_object() || !o.contains("status")) return "";
    for (const auto& c : o["status"].value("conditions", Json::array())) {
      if (c.value("type", "") == type) return c.value(field, "");
    }
    return "";
  }

  bool ReadyAndSynced(const Json& o) {
    return Condition(o, "Ready") == "True" && Condition(o, "Synced") == "True";
  }

  std::vector<Json> Events(const std::string& involved_name, const std::string& ns) {
    RunResult r = Kubectl({"get", "events", "-n", ns, "--field-selector",
                           "involvedObject.name=" + involved_name, "-o", "json"});
    std::vector<Json> out;
    if (r.exit_code != 0) return out;
    const Json list = Json::parse(r.out, nullptr, false);
    if (!list.is_object()) return out;
    for (const auto& e : list.value("items", Json::array())) out.push_back(e);
    return out;
  }

  bool HasEvent(const std::string& name, const std::string& ns, const std::string& reason) {
    for (const auto& e : Events(name, ns)) {
      if (e.value("reason", "") == reason) return true;
    }
    return false;
  }

  std::string StateSecret(const Json& ws) {
    return "tfstate-" + ws["metadata"]["uid"].get<std::string>();
  }

  TempDir dir_;
  std::unique_ptr<Background> provider_;
  std::string log_;
  std::string suffix_, state_ns_;
  int starts_ = 0, files_ = 0;
  std::vector<std::pair<std::string, std::string>> created_;
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
      "variable \"token\" { type = string }\n"
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

TEST_F(ProviderWorkspaceTest, AKillDuringApplyIsRecoveredWithoutLosingState) {
  StartProvider();
  const std::string infra = dir_.path() + "/infra";
  fs::create_directories(infra);
  const std::string name = "crash-" + suffix_;
  created_.emplace_back(kWs, name);
  Apply("ws",
        "apiVersion: terraform.workloads.terraforming.io/v1alpha1\nkind: Workspace\n"
        "metadata:\n  name: " +
            name + "\nspec:\n  providerConfigRef: {name: pc-" + suffix_ +
            "}\n  forProvider:\n    source: Inline\n    module: |\n" + Indent(kSlowModule, 6) +
            "    vars:\n    - {key: dir, value: " + infra + "}\n");
  ASSERT_TRUE(Eventually([&] { return fs::exists(infra + "/slow.started"); }));
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
  // The Lease is held by nobody (released by the new provider after its run).
  const Json lease = Get("lease", "tflock-" + ws["metadata"]["uid"].get<std::string>(), state_ns_);
  ASSERT_TRUE(lease.is_object());
  EXPECT_EQ(lease["spec"].value("holderIdentity", ""), "");

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

TEST_F(ProviderWorkspaceTest, RunsAModuleFromAGitRepositoryAtAPinnedCommit) {
  // A repository of its own: the module in a sub-folder, then a later
  // commit that breaks it, which the pinned commit must not see.
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

  StartProvider();
  const std::string name = "git-" + suffix_;
  created_.emplace_back(kWs, name);
  Apply("ws",
        "apiVersion: terraform.workloads.terraforming.io/v1alpha1\nkind: Workspace\n"
        "metadata:\n  name: " +
            name + "\nspec:\n  providerConfigRef: {name: pc-" + suffix_ +
            "}\n  forProvider:\n    source: Git\n    git:\n      url: file://" + repo +
            "\n      ref: " + commit + "\n      path: modules/app\n");
  ASSERT_TRUE(Eventually([&] { return ReadyAndSynced(Get(kWs, name)); })) << Get(kWs, name).dump(2);
  const Json ws = Get(kWs, name);
  EXPECT_EQ(ws["status"]["atProvider"]["outputs"]["source"], "from-git");
  EXPECT_EQ(ws["status"]["atProvider"]["source"]["commit"], commit);
  ASSERT_EQ(Kubectl({"delete", kWs, name, "--wait=false"}).exit_code, 0);
  ASSERT_TRUE(Eventually([&] { return !Get(kWs, name).is_object(); }));
}

TEST_F(ProviderWorkspaceTest, ServesMetrics) {
  const int port = FreePort();
  StartProvider({"--metrics-address=127.0.0.1:" + std::to_string(port)});
  ASSERT_TRUE(WaitForPort(port, 10s));
  ASSERT_TRUE(Eventually(
      [&] {
        RunResult r =
            RunCommand({"curl", "-sf", "http://127.0.0.1:" + std::to_string(port) + "/readyz"});
        return r.exit_code == 0;
      },
      30s));
  RunResult m =
      RunCommand({"curl", "-sf", "http://127.0.0.1:" + std::to_string(port) + "/metrics"});
  EXPECT_NE(m.out.find("crossplane_managed_resource_exists{gvk=\"terraform.workloads.terraforming."
                       "io/v1alpha1, Kind=Workspace\"}"),
            std::string::npos)
      << m.out;
  EXPECT_NE(m.out.find("workqueue_depth"), std::string::npos);
}

}  // namespace
}  // namespace platform::testing
