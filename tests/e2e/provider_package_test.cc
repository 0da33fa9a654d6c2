// provider-workloads as Crossplane installs it: its runtime image (built by
// scripts/provider-image.sh from Debian packages) and its package (built by
// scripts/provider-package.sh with the real crossplane CLI). `make test`
// builds both before running these; without them the tests fail.
//
// The image is run with podman: its tools, its user, and real work against
// the kube-apiserver of the ctest `controlplane` fixture (host network, the
// kubeconfig and its certificates mounted read-only): a Workspace and an
// AnsibleRun that need nothing on the host become Ready.
#include <yaml-cpp/yaml.h>

#include <set>

#include "tests/e2e/provider_image.h"

namespace platform::testing {
namespace {

const std::string kXpkg = kBuild + "/package/provider-workloads.xpkg";

// `podman run --rm` of the image with another entrypoint.
RunResult RunIn(const std::string& entrypoint, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {Podman(), "run", "--rm", "--entrypoint", entrypoint, kImage};
  argv.insert(argv.end(), args.begin(), args.end());
  return Cmd(argv);
}

// A docker-archive unpacked (what podman save and crossplane xpkg build
// write): its config and layers.
class Archive {
 public:
  explicit Archive(const std::string& path) {
    RunResult r = Cmd({"tar", "-xf", path, "-C", dir_.path()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const Json manifest = Json::parse(ReadFile(dir_.path() + "/manifest.json"), nullptr, false);
    if (!manifest.is_array() || manifest.empty()) return;
    config_ =
        Json::parse(ReadFile(dir_.path() + "/" + manifest[0].value("Config", "")), nullptr, false);
    for (const auto& l : manifest[0].value("Layers", Json::array())) layers_.push_back(l);
  }
  const Json& config() const { return config_; }
  const std::vector<std::string>& layers() const { return layers_; }
  std::string LayerPath(const std::string& layer) const { return dir_.path() + "/" + layer; }
  // The layer the config labels `io.crossplane.xpkg:<digest>: base`, where
  // Crossplane looks for package.yaml; "" when none is.
  std::string PackageLayer() const {
    if (!config_.is_object()) return "";
    const Json labels = config_["config"].value("Labels", Json::object());
    for (const auto& [key, value] : labels.items()) {
      if (!key.starts_with("io.crossplane.xpkg:") || value != "base") continue;
      const std::string hex = key.substr(key.rfind(':') + 1);
      for (const std::string& l : layers_) {
        if (l.find(hex) != std::string::npos) return l;
      }
    }
    return "";
  }

 private:
  TempDir dir_;
  Json config_;
  std::vector<std::string> layers_;
};

// --- The image ------------------------------------------------------------------

TEST(ProviderImageTest, RunsAsUser2000WithOpenTofuAnsibleAndGit) {
  LoadImage();
  if (HasFatalFailure()) return;
  RunResult inspect = Cmd({Podman(), "image", "inspect", kImage});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  const Json config = Json::parse(inspect.out)[0]["Config"];
  EXPECT_EQ(config.value("User", ""), "2000:2000");
  EXPECT_TRUE(config["ExposedPorts"].contains("8080/tcp")) << config.dump();
  EXPECT_EQ(config["Entrypoint"], Json::array({"/usr/local/bin/provider-workloads"}));

  // --version exits 0; the usage (absl's --helpfull, which exits 1 like
  // every absl usage flag) lists the flags.
  RunResult version = Cmd({Podman(), "run", "--rm", kImage, "--version"});
  EXPECT_EQ(version.exit_code, 0) << version.out << version.err;
  EXPECT_EQ(version.out.rfind("provider-workloads\n", 0), 0u) << version.out;
  RunResult help = Cmd({Podman(), "run", "--rm", kImage, "--helpfull"});
  EXPECT_TRUE(help.exit_code == 0 || help.exit_code == 1) << help.out << help.err;
  const std::string usage = help.out + help.err;
  EXPECT_NE(usage.find("provider-workloads: Crossplane provider"), std::string::npos) << usage;
  EXPECT_NE(usage.find("--work_dir"), std::string::npos) << usage;

  RunResult id = RunIn("id", {"-u"});
  EXPECT_EQ(id.exit_code, 0) << id.err;
  EXPECT_EQ(id.out, "2000\n");

  RunResult tofu = RunIn("tofu", {"version"});
  EXPECT_EQ(tofu.exit_code, 0) << tofu.err;
  EXPECT_NE(tofu.out.find("OpenTofu v1.12.6"), std::string::npos) << tofu.out;

  RunResult ansible = RunIn("ansible-playbook", {"--version"});
  EXPECT_EQ(ansible.exit_code, 0) << ansible.out << ansible.err;
  EXPECT_NE(ansible.out.find("ansible-playbook [core 2.14"), std::string::npos) << ansible.out;
  RunResult galaxy = RunIn("ansible-galaxy", {"--version"});
  EXPECT_EQ(galaxy.exit_code, 0) << galaxy.out << galaxy.err;

  RunResult git = RunIn("git", {"--version"});
  EXPECT_EQ(git.exit_code, 0) << git.err;
  EXPECT_EQ(git.out.rfind("git version ", 0), 0u) << git.out;

  // What OpenTofu's local-exec and Git over SSH need.
  RunResult sh = RunIn("/bin/sh", {"-c", "echo ok; command -v ssh; test -s \"$SSL_CERT_FILE\""});
  EXPECT_EQ(sh.exit_code, 0) << sh.out << sh.err;
  EXPECT_EQ(sh.out, "ok\n/usr/bin/ssh\n");
}

// --- The image at work -------------------------------------------------------------

constexpr char kModule[] = R"(variable "greeting" { type = string }
resource "terraform_data" "greeting" {
  input = var.greeting
}
output "greeting" { value = terraform_data.greeting.output }
)";

constexpr char kPlaybook[] = R"(- hosts: all
  gather_facts: false
  tasks:
  - name: publish
    ansible.builtin.set_stats:
      data:
        greeting: "{{ greeting }}"
)";

class ProviderImageWorkTest : public ProviderTest {
 protected:
  void TearDown() override {
    // The container first, so nothing puts finalizers back.
    if (!container_.empty()) {
      if (provider_ && provider_->running()) provider_->Stop();
      Cmd({Podman(), "rm", "--force", "--ignore", container_});
    }
    ProviderTest::TearDown();
  }

  // The image with the provider's flags, host network, the kubeconfig and
  // the certificates it names at the same paths. Copies of them, readable by
  // user 2000 (the control plane writes its keys for root only).
  void StartImage() {
    container_ = "provider-workloads-e2e-" + suffix_;
    log_ = dir_.path() + "/container.log";
    std::vector<std::string> argv = {Podman(),   "run",       "--rm", "--name",
                                     container_, "--network", "host"};
    for (std::string& a : KubeconfigMounts(dir_.path())) argv.push_back(std::move(a));
    argv.insert(argv.end(),
                {kImage, "--kubeconfig=/etc/provider/kubeconfig", "--poll=2s", "--poll-jitter=0s",
                 "--state-namespace=" + state_ns_, "--state-lock-duration=5s",
                 "--metrics-address=127.0.0.1:" + std::to_string(FreePort()), "--debug"});
    provider_ = std::make_unique<Background>(argv, log_);
  }

  std::string container_;
};

TEST_F(ProviderImageWorkTest, WorkspaceAndAnsibleRunBecomeReady) {
  LoadImage();
  if (HasFatalFailure()) return;
  StartImage();
  const std::string ws = "image-ws-" + suffix_;
  const std::string run = "image-run-" + suffix_;
  constexpr char kWs[] = "workspaces.terraform.workloads.terraforming.io";
  constexpr char kRuns[] = "ansibleruns.ansible.workloads.terraforming.io";
  created_.emplace_back(kWs, ws);
  created_.emplace_back(kRuns, run);
  Apply("objects",
        "apiVersion: terraform.workloads.terraforming.io/v1alpha1\nkind: Workspace\nmetadata:\n"
        "  name: " +
            ws + "\nspec:\n  providerConfigRef: {name: pc-" + suffix_ +
            "}\n  forProvider:\n    source: Inline\n    module: |\n" + Indent(kModule, 6) +
            "    vars:\n    - {key: greeting, value: hello-from-tofu}\n---\n"
            "apiVersion: ansible.workloads.terraforming.io/v1alpha1\nkind: AnsibleRun\n"
            "metadata:\n  name: " +
            run + "\nspec:\n  providerConfigRef: {name: pc-" + suffix_ +
            "}\n  forProvider:\n    source: Inline\n    playbook: |\n" + Indent(kPlaybook, 6) +
            "    vars: {greeting: hello-from-ansible}\n");

  const bool ready = Eventually(
      [&] { return ReadyAndSynced(Get(kWs, ws)) && ReadyAndSynced(Get(kRuns, run)); }, 240s);
  ASSERT_TRUE(ready) << Get(kWs, ws).dump(2) << "\n" << Get(kRuns, run).dump(2);
  EXPECT_EQ(Get(kWs, ws)["status"]["atProvider"]["outputs"]["greeting"], "hello-from-tofu");
  EXPECT_EQ(Get(kRuns, run)["status"]["atProvider"]["outputs"]["greeting"], "hello-from-ansible");
  // The tools ran under the supervisor program next to the provider, not a
  // fork of the provider.
  const std::string log = ReadFile(log_);
  EXPECT_NE(log.find("tools run under /usr/local/bin/provider-workloads-supervisor"),
            std::string::npos)
      << log;

  // Deleting both runs their delete (OpenTofu destroy, the absent pass).
  ASSERT_EQ(Kubectl({"delete", kWs, ws, "--wait=false"}).exit_code, 0);
  ASSERT_EQ(Kubectl({"delete", kRuns, run, "--wait=false"}).exit_code, 0);
  EXPECT_TRUE(
      Eventually([&] { return !Get(kWs, ws).is_object() && !Get(kRuns, run).is_object(); }, 120s));
  EXPECT_TRUE(provider_->running()) << "the container stopped";
}

// --- The package -------------------------------------------------------------------

TEST(ProviderPackageTest, HoldsTheMetadataTheCrdsAndTheRuntimeImage) {
  ASSERT_TRUE(fs::exists(kXpkg)) << kXpkg
                                 << " is missing: run `make provider-package` (make test does)";
  Archive xpkg(kXpkg);
  const std::string layer = xpkg.PackageLayer();
  ASSERT_FALSE(layer.empty()) << "no layer labelled as the package's: " << xpkg.config().dump();
  RunResult yaml = Cmd({"tar", "-xzOf", xpkg.LayerPath(layer), "package.yaml"});
  ASSERT_EQ(yaml.exit_code, 0) << yaml.err;

  std::vector<YAML::Node> docs;
  for (const YAML::Node& d : YAML::LoadAll(yaml.out)) {
    if (d.IsMap()) docs.push_back(d);
  }
  ASSERT_FALSE(docs.empty());
  EXPECT_EQ(docs[0]["apiVersion"].as<std::string>(), "meta.pkg.crossplane.io/v1");
  EXPECT_EQ(docs[0]["kind"].as<std::string>(), "Provider");
  EXPECT_EQ(docs[0]["metadata"]["name"].as<std::string>(), "provider-workloads");

  std::set<std::string> want, got;
  for (const auto& e : fs::directory_iterator(kSource + "/provider/package/crds")) {
    want.insert(YAML::LoadFile(e.path().string())["metadata"]["name"].as<std::string>());
  }
  for (const YAML::Node& d : docs) {
    if (d["kind"].as<std::string>() == "CustomResourceDefinition") {
      got.insert(d["metadata"]["name"].as<std::string>());
    }
  }
  EXPECT_EQ(want.size(), 9u);
  EXPECT_EQ(got, want);

  // The runtime image is the package's own: its layers and its config.
  const Json config = xpkg.config()["config"];
  EXPECT_EQ(config["Entrypoint"], Json::array({"/usr/local/bin/provider-workloads"}));
  EXPECT_EQ(config.value("User", ""), "2000:2000");
  ASSERT_TRUE(fs::exists(kImageTar));
  Archive image(kImageTar);
  EXPECT_EQ(xpkg.layers().size(), image.layers().size() + 2) << "image layers, package, examples";

  // The real CLI finds it the way Crossplane does.
  const char* crossplane = std::getenv("CROSSPLANE");
  ASSERT_TRUE(crossplane != nullptr && *crossplane != '\0')
      << "configure with -DCROSSPLANE_BIN (make test does)";
  TempDir out;
  RunResult extract =
      RunCommand({"sh", "-c", "cd \"$1\" && \"$2\" xpkg extract --from-xpkg \"$3\" -o out.gz", "sh",
                  out.path(), crossplane, kXpkg},
                 std::chrono::seconds(300));
  ASSERT_EQ(extract.exit_code, 0) << extract.out << extract.err;
  RunResult extracted = Cmd({"sh", "-c", "zcat \"$1\"/out.gz", "sh", out.path()});
  EXPECT_NE(extracted.out.find("name: provider-workloads"), std::string::npos);
}

}  // namespace
}  // namespace platform::testing
