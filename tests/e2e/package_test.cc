// The function as users meet it: its runtime image, the Function and
// Configuration packages, and `crossplane composition render` with its default
// container runtime running that image through podman's Docker-compatible
// socket.
// `make test` builds the image and packages (scripts/image.sh,
// scripts/package.sh) before running these.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/render.h"
#include "tests/support/subprocess.h"

namespace platform::testing {
namespace {

namespace fs = std::filesystem;

const std::string kSource = PLATFORM_SOURCE_DIR;
const std::string kBuild = PLATFORM_BUILD_DIR;
const std::string kImage = "xpkg.crossplane.io/terraforming/function-platform:v0.1.0";

std::string Podman() { return kSource + "/scripts/podman.sh"; }

RunResult Cmd(const std::vector<std::string>& argv) {
  RunResult r = RunCommand(argv, std::chrono::seconds(300));
  return r;
}

std::vector<YAML::Node> Documents(const std::string& text) {
  std::vector<YAML::Node> out;
  for (const YAML::Node& d : YAML::LoadAll(text)) {
    if (d.IsMap()) out.push_back(d);
  }
  return out;
}

// Unpacks a docker-archive (what podman save and crossplane xpkg build write)
// and returns the layer file holding package.yaml, found the way Crossplane
// finds it: the layer the image config labels `io.crossplane.xpkg:<digest>:
// base`.
class Archive {
 public:
  explicit Archive(const std::string& path) {
    RunResult r = Cmd({"tar", "-xf", path, "-C", dir_.path()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const YAML::Node manifest = YAML::LoadFile(dir_.path() + "/manifest.json");
    config_ = YAML::LoadFile(dir_.path() + "/" + manifest[0]["Config"].as<std::string>());
    for (const YAML::Node& l : manifest[0]["Layers"]) layers_.push_back(l.as<std::string>());
  }
  const YAML::Node& config() const { return config_; }
  const std::vector<std::string>& layers() const { return layers_; }
  std::string LayerPath(const std::string& layer) const { return dir_.path() + "/" + layer; }
  // The layer labelled as the package's; "" when none is.
  std::string PackageLayer() const {
    for (const auto& kv : config_["config"]["Labels"]) {
      const std::string key = kv.first.as<std::string>();
      if (key.starts_with("io.crossplane.xpkg:") && kv.second.as<std::string>() == "base") {
        const std::string digest = key.substr(key.find(':') + 1);  // sha256:<hex>
        const std::string hex = digest.substr(digest.find(':') + 1);
        for (const std::string& l : layers_) {
          if (l.find(hex) != std::string::npos) return l;
        }
      }
    }
    return "";
  }

 private:
  TempDir dir_;
  YAML::Node config_;
  std::vector<std::string> layers_;
};

std::string ExtractFile(const std::string& layer_tar, const std::string& name) {
  RunResult r = Cmd({"tar", "-xzOf", layer_tar, name});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

class PackageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const std::string& f :
         {kBuild + "/image/function-platform.tar", kBuild + "/package/function-platform.xpkg",
          kBuild + "/package/configuration-platform.xpkg"}) {
      ASSERT_TRUE(fs::exists(f)) << f << " is missing: run `make image package` (make test does)";
    }
  }
};

// --- The runtime image ------------------------------------------------------------

TEST_F(PackageTest, ImageIsTheBinaryAndItsLibrariesRunAsNonRoot) {
  RunResult loaded =
      Cmd({Podman(), "load", "--quiet", "--input", kBuild + "/image/function-platform.tar"});
  ASSERT_EQ(loaded.exit_code, 0) << loaded.err;
  RunResult inspect = Cmd({Podman(), "image", "inspect", kImage});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  const YAML::Node image = YAML::Load(inspect.out)[0];
  const YAML::Node config = image["Config"];
  EXPECT_EQ(config["User"].as<std::string>(), "65532:65532");
  EXPECT_TRUE(config["ExposedPorts"]["9443/tcp"]) << inspect.out;
  ASSERT_EQ(config["Entrypoint"].size(), 1u);
  EXPECT_EQ(config["Entrypoint"][0].as<std::string>(), "/function-platform");
  EXPECT_FALSE(config["Cmd"] && config["Cmd"].size() > 0) << "no default arguments";

  // Nothing but the function and the admission webhook (docs/admission.md),
  // the loader, the libraries they load and the user database: no shell, no
  // package manager.
  RunResult created = Cmd({Podman(), "create", kImage});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const std::string id = created.out.substr(0, created.out.find('\n'));
  TempDir dir;
  RunResult exported = Cmd({Podman(), "export", "--output", dir.path() + "/fs.tar", id});
  Cmd({Podman(), "rm", id});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  RunResult list = Cmd({"tar", "-tf", dir.path() + "/fs.tar"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  std::set<std::string> files;
  std::size_t start = 0;
  while (start < list.out.size()) {
    const std::size_t end = list.out.find('\n', start);
    std::string f = list.out.substr(start, end - start);
    start = end == std::string::npos ? list.out.size() : end + 1;
    if (f.empty() || f.back() == '/') continue;
    files.insert(f);
  }
  EXPECT_TRUE(files.contains("function-platform"));
  EXPECT_TRUE(files.contains("platform-admission"));
  EXPECT_TRUE(files.contains("etc/passwd"));
  for (const std::string& f : files) {
    if (f == "function-platform" || f == "platform-admission" || f == "etc/passwd" ||
        f == "etc/group") {
      continue;
    }
    // Podman adds these mount points to every container.
    if (f == "etc/hosts" || f == "etc/resolv.conf" || f == "run/.containerenv") continue;
    EXPECT_NE(f.find(".so"), std::string::npos) << "unexpected file in the image: " << f;
  }
  EXPECT_FALSE(files.contains("bin/sh"));

  // The webhook runs from the image as its Deployment runs it.
  RunResult admission =
      Cmd({Podman(), "run", "--rm", "--entrypoint", "/platform-admission", kImage, "--version"});
  EXPECT_EQ(admission.exit_code, 0) << admission.err;
  EXPECT_EQ(admission.out.rfind("platform-admission ", 0), 0u) << admission.out;
}

TEST_F(PackageTest, ImageBuildIsReproducible) {
  RunResult first = Cmd({kSource + "/scripts/image.sh", kBuild});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  RunResult second = Cmd({kSource + "/scripts/image.sh", kBuild});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(first.out, second.out) << "the same sources gave two different image ids";
  EXPECT_NE(first.out.find(kImage), std::string::npos) << first.out;
}

// --- The Function package -------------------------------------------------------------

TEST_F(PackageTest, FunctionPackageHoldsTheMetadataTheInputCrdAndTheRuntime) {
  Archive xpkg(kBuild + "/package/function-platform.xpkg");
  const std::string layer = xpkg.PackageLayer();
  ASSERT_FALSE(layer.empty()) << "no layer labelled io.crossplane.xpkg ... base";
  const std::vector<YAML::Node> docs =
      Documents(ExtractFile(xpkg.LayerPath(layer), "package.yaml"));
  ASSERT_GE(docs.size(), 2u);
  EXPECT_EQ(Str(docs[0], {"apiVersion"}), "meta.pkg.crossplane.io/v1");
  EXPECT_EQ(Str(docs[0], {"kind"}), "Function");
  EXPECT_EQ(Str(docs[0], {"metadata", "name"}), "function-platform");
  EXPECT_EQ(Str(docs[0], {"spec", "crossplane", "version"}), ">=v2.2.0");
  bool input_crd = false;
  for (const YAML::Node& d : docs) {
    if (Str(d, {"kind"}) == "CustomResourceDefinition" &&
        Str(d, {"spec", "group"}) == "platform.fn.terraforming.io" &&
        Str(d, {"spec", "names", "kind"}) == "Input") {
      input_crd = true;
    }
  }
  EXPECT_TRUE(input_crd) << "the input CRD is not in package.yaml";
  // The runtime image's layers ride along: one of them holds the binary.
  bool binary = false;
  for (const std::string& l : xpkg.layers()) {
    if (l == layer) continue;
    RunResult r = Cmd({"tar", "-tzf", xpkg.LayerPath(l)});
    if (r.out.find("function-platform\n") != std::string::npos) binary = true;
  }
  EXPECT_TRUE(binary) << "no layer holds the function binary";
}

// --- The Configuration package ------------------------------------------------------

TEST_F(PackageTest, ConfigurationPackageHoldsTheApisAndItsDependencies) {
  TempDir dir;
  // `crossplane xpkg extract` finds the package as Crossplane does.
  RunResult extracted = RunCommand({"sh", "-c",
                                    "cd '" + dir.path() + "' && '" + Tool("CROSSPLANE") +
                                        "' xpkg extract --from-xpkg '" + kBuild +
                                        "/package/configuration-platform.xpkg' -o out.gz && "
                                        "gzip -dc out.gz"});
  ASSERT_EQ(extracted.exit_code, 0) << extracted.err;
  const std::vector<YAML::Node> docs = Documents(extracted.out);
  ASSERT_FALSE(docs.empty());
  const YAML::Node meta = docs[0];
  EXPECT_EQ(Str(meta, {"kind"}), "Configuration");
  EXPECT_EQ(Str(meta, {"metadata", "name"}), "configuration-platform");
  EXPECT_EQ(Str(meta, {"spec", "crossplane", "version"}), ">=v2.2.0");
  // Dependencies in the v2 form (apiVersion, kind, package): the function and
  // the AWS provider families whose kinds are composed, nothing else
  // (provider-workloads is installed beside the Configuration).
  std::map<std::string, std::string> depends;  // package: kind
  for (const YAML::Node& d : meta["spec"]["dependsOn"]) {
    EXPECT_EQ(Str(d, {"apiVersion"}), "pkg.crossplane.io/v1") << d;
    depends[Str(d, {"package"})] = Str(d, {"kind"});
  }
  const std::map<std::string, std::string> want_depends = {
      {"xpkg.crossplane.io/terraforming/function-platform", "Function"},
      {"xpkg.upbound.io/upbound/provider-aws-ec2", "Provider"},
      {"xpkg.upbound.io/upbound/provider-aws-eks", "Provider"},
      {"xpkg.upbound.io/upbound/provider-aws-iam", "Provider"},
      {"xpkg.upbound.io/upbound/provider-aws-rds", "Provider"},
      {"xpkg.upbound.io/upbound/provider-aws-kms", "Provider"},
      {"xpkg.upbound.io/upbound/provider-aws-cloudwatchlogs", "Provider"}};
  EXPECT_EQ(depends, want_depends);
  std::set<std::string> xrds, compositions;
  for (const YAML::Node& d : docs) {
    if (Str(d, {"kind"}) == "CompositeResourceDefinition")
      xrds.insert(Str(d, {"metadata", "name"}));
    if (Str(d, {"kind"}) == "Composition") compositions.insert(Str(d, {"metadata", "name"}));
  }
  const std::set<std::string> want = {
      "xenvironments.platform.terraforming.io", "xenvironments.platform.m.terraforming.io",
      "xclusters.platform.terraforming.io",     "xclusters.platform.m.terraforming.io",
      "xdatabases.platform.terraforming.io",    "xdatabases.platform.m.terraforming.io"};
  EXPECT_EQ(xrds, want);
  EXPECT_EQ(compositions, want);
}

// --- crossplane composition render through the container runtime ----------------

// Every example as the demo renders it: its composition by scope, and its
// required resources from examples/<kind>/required/.
struct Case {
  std::string xr;
  std::string composition;
  std::vector<std::string> flags;
};

std::vector<Case> Examples() {
  std::vector<Case> out;
  for (const char* kind : {"xenvironment", "xcluster", "xdatabase"}) {
    const fs::path dir = fs::path(kSource) / "examples" / kind;
    if (!fs::exists(dir)) continue;
    std::vector<fs::path> xrs;
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string name = e.path().filename().string();
      if (e.is_regular_file() && name.starts_with("xr") && name.ends_with(".yaml")) {
        xrs.push_back(e.path());
      }
    }
    std::sort(xrs.begin(), xrs.end());
    for (const fs::path& xr : xrs) {
      Case c;
      c.xr = xr.string();
      const bool namespaced = xr.filename().string().find("namespaced") != std::string::npos ||
                              YAML::LoadFile(xr.string())["metadata"]["namespace"].IsDefined();
      c.composition =
          kSource + "/compositions/" + kind + (namespaced ? "-namespaced" : "") + ".yaml";
      const fs::path required = dir / "required" / xr.filename();
      if (fs::exists(required)) c.flags.push_back("--required-resources=" + required.string());
      out.push_back(std::move(c));
    }
  }
  return out;
}

TEST_F(PackageTest, RenderRunsTheImageAndRendersAsTheDevelopmentRuntimeDoes) {
  RunResult loaded =
      Cmd({Podman(), "load", "--quiet", "--input", kBuild + "/image/function-platform.tar"});
  ASSERT_EQ(loaded.exit_code, 0) << loaded.err;
  TempDir dir;
  const std::string socket = dir.path() + "/podman.sock";
  Background service({Podman(), "system", "service", "--time=0", "unix://" + socket},
                     dir.path() + "/service.log");
  for (int i = 0; i < 100 && !fs::exists(socket); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(fs::exists(socket)) << ReadFile(dir.path() + "/service.log");
  const std::string functions = dir.Write("functions.yaml", R"(apiVersion: pkg.crossplane.io/v1
kind: Function
metadata:
  name: terraforming-function-platform
  annotations:
    render.crossplane.io/runtime: Docker
    render.crossplane.io/runtime-docker-pull-policy: Never
spec:
  package: )" + kImage + "\n");

  FunctionUnderTest development(FUNCTION_PLATFORM_BIN);
  ASSERT_TRUE(development.ok()) << development.log();
  const std::vector<Case> cases = Examples();
  ASSERT_GE(cases.size(), 10u);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.xr);
    RunResult want = development.Render(c.xr, c.composition, c.flags);
    ASSERT_EQ(want.exit_code, 0) << want.err;
    // Only the function runs in a container: render's engine is the same
    // Crossplane core binary as for the Development runtime (without
    // --crossplane-binary render would run the Crossplane image too). The
    // container publishes its port on 127.0.0.1, where the core reaches it.
    std::vector<std::string> argv = {"env",
                                     "DOCKER_HOST=unix://" + socket,
                                     Tool("CROSSPLANE"),
                                     "composition",
                                     "render",
                                     c.xr,
                                     c.composition,
                                     functions,
                                     "--include-function-results",
                                     "--timeout=120s",
                                     "--crossplane-binary=" + CrossplaneCore()};
    if (const std::string xrd = XrdFor(c.composition); !xrd.empty()) {
      argv.push_back("--xrd=" + xrd);
    }
    argv.insert(argv.end(), c.flags.begin(), c.flags.end());
    RunResult got = Cmd(argv);
    ASSERT_EQ(got.exit_code, 0) << got.err << ReadFile(dir.path() + "/service.log");
    // Crossplane's own events come in a different order on every run.
    EXPECT_EQ(CanonicalRender(got.out), CanonicalRender(want.out));
  }
  EXPECT_EQ(service.Stop(), 0);
}

}  // namespace
}  // namespace platform::testing
