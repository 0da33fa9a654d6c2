// End to end with the real crossplane CLI: start function-platform with
// --insecure on a free port, run `crossplane render` on the bundled examples
// through the Development runtime, and check what it prints.
#include "tests/support/render.h"

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

// One running function and a functions.yaml that points render at it.
class RenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(Tool("CROSSPLANE").empty())
        << "CROSSPLANE is not set: run through `make test`, or set it to the path printed by "
           "scripts/tools.sh crossplane";
    function_ = std::make_unique<FunctionUnderTest>(FUNCTION_PLATFORM_BIN);
    ASSERT_TRUE(function_->ok()) << "function did not start:\n" << function_->log();
  }

  void TearDown() override {
    if (function_ != nullptr) {
      EXPECT_EQ(function_->Stop(), 0) << "function did not stop cleanly:\n" << function_->log();
    }
  }

  RunResult Render(const std::string& xr, const std::string& composition,
                   const std::vector<std::string>& extra = {}) {
    return function_->Render(xr, composition, extra);
  }
  static Rendered Parse(const std::string& out) {
    Rendered r = ParseRendered(out);
    EXPECT_LE(r.xr_documents, 1) << "two documents without a composition resource name";
    return r;
  }
  std::string ReadLog() const { return function_->log(); }
  const TempDir& dir() const { return function_->dir(); }

  std::unique_ptr<FunctionUnderTest> function_;
};

TEST_F(RenderTest, RendersClaimBasedEnvironmentIntoClusterScopedKinds) {
  RunResult r = Render(kSource + "/examples/xenvironment/xr.yaml",
                       kSource + "/compositions/xenvironment.yaml");
  ASSERT_EQ(r.exit_code, 0) << r.err << "\nfunction log:\n" << ReadLog();
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
  EXPECT_NE(ReadLog().find("kind=XEnvironment name=payments-dev"), std::string::npos);
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
  const std::string observed =
      dir().Write("observed.yaml", R"(apiVersion: ec2.aws.upbound.io/v1beta1
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
  const std::string xr = dir().Write("xr.yaml", R"(apiVersion: platform.terraforming.io/v1alpha1
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
  const std::string xr = dir().Write("xr.yaml", R"(apiVersion: example.org/v1
kind: XBucket
metadata:
  name: b
spec: {}
)");
  const std::string composition = dir().Write("composition.yaml",
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
