// The arm64 images and packages (`make arm64`: cross-built on this machine by
// scripts/cross-build.sh, imaged by scripts/image.sh and
// scripts/provider-image.sh with PLATFORM_ARCH=arm64), run under
// qemu-user-static through podman: a smoke test of each, kept short because
// every instruction is emulated. The images' SBOMs are checked by sbom_test.cc
// for both architectures.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/render.h"
#include "tests/support/subprocess.h"

namespace platform::testing {
namespace {

namespace fs = std::filesystem;

const std::string kSource = PLATFORM_SOURCE_DIR;
const std::string kArm64Build = PLATFORM_ARM64_BUILD_DIR;
const std::string kFunctionTar = kArm64Build + "/image/function-platform.tar";
const std::string kProviderTar = kArm64Build + "/provider-image/provider-workloads.tar";

std::string Podman() { return kSource + "/scripts/podman.sh"; }

RunResult Cmd(const std::vector<std::string>& argv,
              std::chrono::seconds timeout = std::chrono::seconds(300)) {
  return RunCommand(argv, timeout);
}

std::string Trimmed(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

std::string Version() { return Trimmed(ReadFile(kSource + "/VERSION")); }

// A docker-archive (podman save, crossplane xpkg build) unpacked: its image
// config and its layers in order.
class Archive {
 public:
  explicit Archive(const std::string& path) {
    RunResult r = Cmd({"tar", "-xf", path, "-C", dir_.path()});
    EXPECT_EQ(r.exit_code, 0) << path << ": " << r.err;
    const YAML::Node manifest = YAML::LoadFile(dir_.path() + "/manifest.json");
    config_ = YAML::LoadFile(dir_.path() + "/" + manifest[0]["Config"].as<std::string>());
    if (manifest[0]["RepoTags"].IsSequence()) tag_ = manifest[0]["RepoTags"][0].as<std::string>();
    for (const YAML::Node& l : manifest[0]["Layers"]) layers_.push_back(l.as<std::string>());
  }
  const YAML::Node& config() const { return config_; }
  const std::string& tag() const { return tag_; }
  // The ELF machine of `path` inside the image (the last layer holding it
  // wins); 0 when no layer has it.
  int ElfMachine(const std::string& path) const {
    int machine = 0;
    for (const std::string& layer : layers_) {
      RunResult r = Cmd({"tar", "-xOf", dir_.path() + "/" + layer, path.substr(1)});
      if (r.exit_code != 0 || r.out.size() < 20 ||
          r.out.compare(0, 4,
                        "\x7f"
                        "ELF") != 0) {
        continue;
      }
      machine = static_cast<unsigned char>(r.out[18]) | static_cast<unsigned char>(r.out[19]) << 8;
    }
    return machine;
  }

 private:
  TempDir dir_;
  YAML::Node config_;
  std::string tag_;
  std::vector<std::string> layers_;
};

constexpr int kElfAarch64 = 183;  // EM_AARCH64

class Arm64Test : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const std::string& f : {kFunctionTar, kProviderTar}) {
      ASSERT_TRUE(fs::exists(f)) << f << " is missing: run `make arm64` (make test does)";
    }
    const std::string handler = ReadFile("/proc/sys/fs/binfmt_misc/qemu-aarch64");
    ASSERT_NE(handler.find("enabled"), std::string::npos)
        << "qemu-aarch64 is not registered with binfmt_misc: run scripts/binfmt.sh";
  }

  // Loads a docker-archive into podman's store; returns its tag.
  static std::string Load(const std::string& tar) {
    RunResult r = Cmd({Podman(), "load", "--quiet", "--input", tar});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return Archive(tar).tag();
  }
};

TEST_F(Arm64Test, TheImagesAndPackagesAreForArm64) {
  for (const std::string& f :
       {kFunctionTar, kProviderTar, kArm64Build + "/package/function-platform.xpkg",
        kArm64Build + "/package/provider-workloads.xpkg"}) {
    SCOPED_TRACE(f);
    ASSERT_TRUE(fs::exists(f));
    const Archive a(f);
    EXPECT_EQ(a.config()["architecture"].as<std::string>(""), "arm64");
    EXPECT_EQ(a.config()["os"].as<std::string>(""), "linux");
  }
  // The programs themselves, not only the label.
  const Archive function(kFunctionTar);
  EXPECT_EQ(function.tag(),
            "xpkg.crossplane.io/terraforming/function-platform:v" + Version() + "-arm64");
  EXPECT_EQ(function.ElfMachine("/function-platform"), kElfAarch64);
  EXPECT_EQ(function.ElfMachine("/platform-admission"), kElfAarch64);
  EXPECT_EQ(function.ElfMachine("/lib/ld-linux-aarch64.so.1"), kElfAarch64);
  const Archive provider(kProviderTar);
  for (const char* p :
       {"/usr/local/bin/provider-workloads", "/usr/local/bin/provider-workloads-supervisor",
        "/usr/local/bin/tofu", "/bin/dash", "/usr/bin/python3.11", "/usr/bin/git"}) {
    EXPECT_EQ(provider.ElfMachine(p), kElfAarch64) << p;
  }
}

// The arm64 function, serving in its container, renders the prod
// XEnvironment and the prod EKS cluster with its observed resources (the
// golden case xcluster-aws-prod) exactly as the native binary does.
TEST_F(Arm64Test, TheFunctionImageRendersAsTheNativeFunction) {
  const std::string image = Load(kFunctionTar);
  RunResult version = Cmd({Podman(), "run", "--rm", "--arch", "arm64", image, "--version"});
  ASSERT_EQ(version.exit_code, 0) << version.err;
  EXPECT_NE(version.out.find(Version()), std::string::npos) << version.out;

  const int port = FreePort();
  const std::string name = "arm64-function-" + std::to_string(port);
  RunResult started =
      Cmd({Podman(), "run", "--detach", "--rm", "--arch", "arm64", "--name", name, "--publish",
           "127.0.0.1:" + std::to_string(port) + ":9443", image, "--insecure"});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  struct Remove {
    std::string name;
    ~Remove() { RunCommand({Podman(), "rm", "--force", "--time=2", name}); }
  } remove{name};
  const FunctionUnderTest arm64(port);
  ASSERT_TRUE(arm64.ok()) << Cmd({Podman(), "logs", name}).err;
  FunctionUnderTest native(FUNCTION_PLATFORM_BIN);
  ASSERT_TRUE(native.ok()) << native.log();
  struct Case {
    std::string xr, composition;
    std::vector<std::string> flags;
  };
  const std::vector<Case> cases = {
      {"examples/xenvironment/xr-prod.yaml", "compositions/xenvironment.yaml", {}},
      {"examples/xcluster/xr-aws-prod.yaml",
       "compositions/xcluster.yaml",
       {"--observed-resources=" + kSource + "/tests/e2e/testdata/xcluster-aws-prod-observed.yaml"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.xr);
    const std::string xr = kSource + "/" + c.xr;
    const std::string composition = kSource + "/" + c.composition;
    RunResult want = native.Render(xr, composition, c.flags);
    ASSERT_EQ(want.exit_code, 0) << want.err;
    RunResult got = arm64.Render(xr, composition, c.flags);
    ASSERT_EQ(got.exit_code, 0) << got.err << Cmd({Podman(), "logs", name}).err;
    EXPECT_FALSE(ParseRendered(got.out).resources.empty());
    EXPECT_EQ(CanonicalRender(got.out), CanonicalRender(want.out));
  }
}

// The arm64 provider image: its programs start, and OpenTofu and Ansible do a
// trivial run each, as the provider runs them (its user, its environment).
TEST_F(Arm64Test, TheProviderImageRunsTofuAndAnsible) {
  const std::string image = Load(kProviderTar);
  TempDir dir;
  fs::create_directories(dir.path() + "/module");
  dir.Write("module/main.tf", R"(resource "terraform_data" "smoke" {
  input = "arm64"
}
output "echo" {
  value = terraform_data.smoke.output
}
)");
  dir.Write("playbook.yaml", R"(- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - ansible.builtin.debug:
        msg: "ansible on {{ 'arm' ~ '64' }}"
)");
  fs::permissions(dir.path(), fs::perms::all, fs::perm_options::add);
  for (const auto& e : fs::recursive_directory_iterator(dir.path())) {
    fs::permissions(e.path(), fs::perms::all, fs::perm_options::add);
  }
  auto run = [&](const std::string& script) {
    return Cmd({Podman(), "run", "--rm", "--arch", "arm64", "--volume", dir.path() + ":/smoke:ro",
                "--entrypoint", "/bin/sh", image, "-c", script},
               std::chrono::seconds(600));
  };

  RunResult versions = run("uname -m && provider-workloads --version && tofu version");
  ASSERT_EQ(versions.exit_code, 0) << versions.out << versions.err;
  EXPECT_EQ(versions.out.substr(0, versions.out.find('\n')), "aarch64");
  EXPECT_NE(versions.out.find("provider-workloads"), std::string::npos) << versions.out;
  EXPECT_NE(versions.out.find("OpenTofu v"), std::string::npos) << versions.out;

  RunResult tofu = run(
      "cp -R /smoke/module /tmp/m && cd /tmp/m && tofu init -input=false -no-color >/dev/null && "
      "tofu apply -input=false -auto-approve -no-color >/dev/null && tofu output -raw echo");
  ASSERT_EQ(tofu.exit_code, 0) << tofu.out << tofu.err;
  EXPECT_EQ(tofu.out, "arm64");

  RunResult ansible = run("ansible-playbook -i localhost, /smoke/playbook.yaml");
  ASSERT_EQ(ansible.exit_code, 0) << ansible.out << ansible.err;
  EXPECT_NE(ansible.out.find("\"msg\": \"ansible on arm64\""), std::string::npos) << ansible.out;
  EXPECT_NE(ansible.out.find("ok=1"), std::string::npos) << ansible.out;
}

}  // namespace
}  // namespace platform::testing
