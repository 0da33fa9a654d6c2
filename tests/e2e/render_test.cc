// End to end with the real crossplane CLI: start function-platform with
// --insecure on a free port, run `crossplane render` on the bundled examples
// through the Development runtime, and check what it prints.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/subprocess.h"

namespace platform::testing {
namespace {

const std::string kSource = PLATFORM_SOURCE_DIR;

// The node at `path`, or an undefined node when any step is missing. (Chained
// operator[] on a missing key throws in yaml-cpp.)
YAML::Node At(const YAML::Node& node, std::initializer_list<const char*> path) {
  YAML::Node cur = YAML::Clone(node);
  for (const char* key : path) {
    if (!cur.IsMap() || !cur[key]) return YAML::Node(YAML::NodeType::Undefined);
    cur = cur[key];
  }
  return cur;
}

std::string Str(const YAML::Node& node, std::initializer_list<const char*> path) {
  YAML::Node n = At(node, path);
  return n.IsScalar() ? n.as<std::string>() : "";
}

std::string Crossplane() {
  const char* bin = std::getenv("CROSSPLANE");
  return bin != nullptr ? bin : "";
}

// One running function and a functions.yaml that points render at it.
class RenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(Crossplane().empty())
        << "CROSSPLANE is not set: run through `make test`, or set it to the path printed by "
           "scripts/tools.sh crossplane";
    port_ = FreePort();
    log_ = dir_.path() + "/function.log";
    function_ = std::make_unique<Background>(
        std::vector<std::string>{FUNCTION_PLATFORM_BIN, "--insecure", "--debug", "--address",
                                 "127.0.0.1:" + std::to_string(port_)},
        log_);
    ASSERT_TRUE(WaitForPort(port_, std::chrono::seconds(10))) << "function did not start:\n"
                                                              << ReadFile(log_);
    functions_ = dir_.Write("functions.yaml", R"(apiVersion: pkg.crossplane.io/v1
kind: Function
metadata:
  name: function-platform
  annotations:
    render.crossplane.io/runtime: Development
    render.crossplane.io/runtime-development-target: 127.0.0.1:)" +
                                                  std::to_string(port_) +
                                                  R"(
spec:
  package: xpkg.crossplane.io/terraforming/function-platform:v0.1.0
)");
  }

  void TearDown() override {
    if (function_ != nullptr) {
      EXPECT_EQ(function_->Stop(), 0) << "function did not stop cleanly:\n" << ReadFile(log_);
    }
  }

  RunResult Render(const std::string& xr, const std::string& composition,
                   std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {Crossplane(),   "render",   xr,
                                     composition,    functions_, "--include-function-results",
                                     "--timeout=60s"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunCommand(argv);
  }

  // Splits render's output into the XR, composed resources by composition
  // resource name, and results.
  struct Rendered {
    YAML::Node xr;
    std::map<std::string, YAML::Node> resources;
    std::vector<YAML::Node> results;
  };
  static Rendered Parse(const std::string& out) {
    Rendered r;
    for (const YAML::Node& doc : YAML::LoadAll(out)) {
      if (!doc.IsMap()) continue;
      const std::string api = doc["apiVersion"].as<std::string>("");
      const std::string kind = doc["kind"].as<std::string>("");
      if (api == "render.crossplane.io/v1beta1" && kind == "Result") {
        r.results.push_back(doc);
      } else if (std::string name = Str(
                     doc, {"metadata", "annotations", "crossplane.io/composition-resource-name"});
                 !name.empty()) {
        r.resources[name] = doc;
      } else {
        EXPECT_FALSE(r.xr.IsMap()) << "two documents without a composition resource name";
        r.xr = doc;
      }
    }
    return r;
  }

  TempDir dir_;
  int port_ = 0;
  std::string log_;
  std::string functions_;
  std::unique_ptr<Background> function_;
};

TEST_F(RenderTest, RendersClaimBasedEnvironmentIntoClusterScopedKinds) {
  RunResult r = Render(kSource + "/examples/xenvironment/xr.yaml",
                       kSource + "/compositions/xenvironment.yaml");
  ASSERT_EQ(r.exit_code, 0) << r.err << "\nfunction log:\n" << ReadFile(log_);
  Rendered out = Parse(r.out);

  ASSERT_TRUE(out.xr.IsMap());
  EXPECT_EQ(Str(out.xr, {"kind"}), "XEnvironment");
  EXPECT_EQ(Str(out.xr, {"metadata", "name"}), "payments-dev");

  ASSERT_EQ(out.resources.count("vpc"), 1u) << r.out;
  const YAML::Node vpc = out.resources["vpc"];
  EXPECT_EQ(Str(vpc, {"apiVersion"}), "ec2.aws.upbound.io/v1beta1");
  EXPECT_EQ(Str(vpc, {"kind"}), "VPC");
  EXPECT_FALSE(At(vpc, {"metadata", "namespace"}));
  EXPECT_FALSE(vpc["status"]);
  const YAML::Node fp = At(vpc, {"spec", "forProvider"});
  EXPECT_EQ(Str(fp, {"region"}), "eu-west-1");
  EXPECT_EQ(Str(fp, {"cidrBlock"}), "10.10.0.0/16");
  EXPECT_TRUE(At(fp, {"enableDnsHostnames"}).as<bool>(false));
  EXPECT_EQ(Str(fp, {"tags", "platform.terraforming.io/team"}), "payments");
  EXPECT_EQ(Str(fp, {"tags", "owner"}), "payments-oncall");

  // Not ready yet: nothing is observed, so the XR is still creating.
  bool creating = false;
  for (const YAML::Node& c : At(out.xr, {"status", "conditions"})) {
    if (Str(c, {"type"}) == "Ready") creating = Str(c, {"reason"}) == "Creating";
  }
  EXPECT_TRUE(creating) << r.out;

  ASSERT_EQ(out.results.size(), 1u) << r.out;
  EXPECT_EQ(Str(out.results[0], {"severity"}), "SEVERITY_NORMAL");

  // The call was logged at --debug with the XR's kind and name.
  EXPECT_NE(ReadFile(log_).find("kind=XEnvironment name=payments-dev"), std::string::npos);
}

TEST_F(RenderTest, RendersNamespacedEnvironmentIntoNamespacedKinds) {
  RunResult r = Render(kSource + "/examples/xenvironment/xr-namespaced.yaml",
                       kSource + "/compositions/xenvironment-namespaced.yaml");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Rendered out = Parse(r.out);
  ASSERT_EQ(out.resources.count("vpc"), 1u) << r.out;
  EXPECT_EQ(Str(out.resources["vpc"], {"apiVersion"}), "ec2.aws.m.upbound.io/v1beta1");
  EXPECT_EQ(Str(out.resources["vpc"], {"metadata", "namespace"}), "team-payments");
}

TEST_F(RenderTest, ObservedReadyResourcesMakeTheCompositeReadyWithoutNewEvents) {
  const std::string observed = dir_.Write("observed.yaml", R"(apiVersion: ec2.aws.upbound.io/v1beta1
kind: VPC
metadata:
  name: payments-dev-abcde
  annotations:
    crossplane.io/composition-resource-name: vpc
spec:
  forProvider:
    region: eu-west-1
status:
  atProvider:
    id: vpc-0123456789abcdef0
  conditions:
  - type: Ready
    status: "True"
    reason: Available
    lastTransitionTime: "2024-01-01T00:00:00Z"
)");
  RunResult r =
      Render(kSource + "/examples/xenvironment/xr.yaml",
             kSource + "/compositions/xenvironment.yaml", {"--observed-resources=" + observed});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Rendered out = Parse(r.out);
  EXPECT_EQ(Str(out.xr, {"status", "vpcId"}), "vpc-0123456789abcdef0") << r.out;
  bool available = false;
  for (const YAML::Node& c : At(out.xr, {"status", "conditions"})) {
    if (Str(c, {"type"}) == "Ready") available = Str(c, {"reason"}) == "Available";
  }
  EXPECT_TRUE(available) << r.out;
  EXPECT_EQ(Str(out.resources["vpc"], {"metadata", "name"}), "payments-dev-abcde");
  // Steady state: no event.
  EXPECT_TRUE(out.results.empty()) << r.out;
}

TEST_F(RenderTest, MissingRequiredFieldFailsRenderNamingTheField) {
  const std::string xr = dir_.Write("xr.yaml", R"(apiVersion: platform.terraforming.io/v1alpha1
kind: XEnvironment
metadata:
  name: broken
spec:
  parameters:
    environment: dev
    team: payments
)");
  RunResult r = Render(xr, kSource + "/compositions/xenvironment.yaml");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("spec.parameters.region: required"), std::string::npos) << r.err;
}

TEST_F(RenderTest, UnknownKindFailsRenderNamingTheKind) {
  const std::string xr = dir_.Write("xr.yaml", R"(apiVersion: example.org/v1
kind: XBucket
metadata:
  name: b
spec: {}
)");
  const std::string composition = dir_.Write("composition.yaml",
                                             R"(apiVersion: apiextensions.crossplane.io/v1
kind: Composition
metadata:
  name: xbuckets
spec:
  compositeTypeRef:
    apiVersion: example.org/v1
    kind: XBucket
  mode: Pipeline
  pipeline:
  - step: render
    functionRef:
      name: function-platform
)");
  RunResult r = Render(xr, composition);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("no renderer for XR kind XBucket"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace platform::testing
