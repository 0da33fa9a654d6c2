// End to end with the real crossplane CLI: start function-platform with
// --insecure on a free port, run `crossplane composition render` (with
// Crossplane core as its engine) on the bundled examples through the
// Development runtime, and check what it prints.
#include "tests/support/render.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
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
    ASSERT_FALSE(CrossplaneCore().empty())
        << "CROSSPLANE_CORE_BIN is empty: configure with -DCROSSPLANE_CORE_BIN=$(scripts/tools.sh "
           "crossplane-core) (the Makefile does)";
    function_ = std::make_unique<FunctionUnderTest>(FUNCTION_PLATFORM_BIN);
    ASSERT_TRUE(function_->ok()) << "function did not start:\n" << function_->log();
  }

  void TearDown() override {
    if (function_ != nullptr) {
      EXPECT_EQ(function_->Stop(), 0) << "function did not stop cleanly:\n" << function_->log();
    }
  }

  RunResult Render(const std::string& xr, const std::string& composition,
                   const std::vector<std::string>& extra = {}, const std::string& xrd = "") {
    return function_->Render(xr, composition, extra, xrd);
  }
  static Rendered Parse(const std::string& out) {
    Rendered r = ParseRendered(out);
    EXPECT_LE(r.xr_documents, 1) << "two documents without a composition resource name";
    return r;
  }
  // The message of the FATAL result that stopped a render: the CLI prints it
  // on stderr (`pipeline step "render" returned a fatal result: ...`), exits
  // non-zero and prints no partial output.
  static std::string Fatal(const RunResult& r) {
    EXPECT_NE(r.exit_code, 0) << r.out;
    EXPECT_EQ(r.out, "");
    EXPECT_NE(r.err.find("pipeline step \"render\" returned a fatal result: "), std::string::npos)
        << r.err;
    return FatalMessage(r);
  }
  std::string ReadLog() const { return function_->log(); }
  const TempDir& dir() const { return function_->dir(); }

  std::unique_ptr<FunctionUnderTest> function_;
};

// Golden files: render's whole output for each example, compared exactly in
// its canonical form (CanonicalRender: Crossplane's own events, which come in
// a different order on every run, sorted after the function's results).
// Regenerate them with `make golden` (UPDATE_GOLDEN=1) after a deliberate
// change, and review the diff like code.
struct GoldenCase {
  std::string name;
  std::string xr;
  std::string composition;
  bool observe_all = false;  // render once, then again with everything observed ready
  // Extra flags for every render, e.g. --required-resources.
  std::vector<std::string> render_flags = {};
  // With observe_all: the XR whose first render is observed, when not `xr`
  // (an XR changed since, say).
  std::string observed_xr = "";
  // With observe_all: how many times everything is observed ready and
  // rendered again; 0 for one round (two with observed_xr). An environment
  // needs two: its NAT gateways come once the internet gateway is ready.
  int rounds = 0;
};

void PrintTo(const GoldenCase& c, std::ostream* os) { *os << c.name; }

// The name of a metadata block's `name:` line in a document's text: the
// offset of its value and its length, or npos when there is none.
std::pair<std::size_t, std::size_t> MetadataName(const std::string& doc) {
  const std::string metadata = "metadata:\n";
  std::size_t at = doc.starts_with(metadata) ? 0 : doc.find("\n" + metadata);
  if (at == std::string::npos) return {std::string::npos, 0};
  at = doc.find('\n', at + (doc[at] == '\n' ? 1 : 0)) + 1;
  while (at < doc.size() && doc[at] == ' ') {
    const std::size_t end = doc.find('\n', at);
    const std::string line = doc.substr(at, end - at);
    if (line.starts_with("  name: ")) return {at + 8, line.size() - 8};
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return {std::string::npos, 0};
}

// Everything of a first render, as Crossplane would observe it once created
// and ready: an id in status.atProvider and a Ready condition. Built on the
// original text so quoting survives. Crossplane names what the renderer
// leaves unnamed (generateName set): generateName and a hash of the XR's uid
// and the resource name. Render's names hash the fake uid it gives the XR;
// here they become <generateName><resource>, names render would never
// compute, so a second render shows it keeps the names it observed. Objects
// the renderer names itself (Cluster API kinds) keep their name.
std::string ObserveAll(const std::string& rendered) {
  std::string out;
  for (const std::string& doc : SplitDocuments(ApiObjects(rendered, false))) {
    const YAML::Node node = YAML::Load(doc);
    const std::string resource =
        Str(node, {"metadata", "annotations", "crossplane.io/composition-resource-name"});
    const std::string prefix = Str(node, {"metadata", "generateName"});
    std::string text = doc;
    if (!prefix.empty()) {
      const auto [at, length] = MetadataName(text);
      EXPECT_NE(at, std::string::npos) << "render gave no name:\n" << doc;
      if (at != std::string::npos) text.replace(at, length, prefix + resource);
    }
    text += "status:\n  atProvider:\n    id: " + resource + "-0123456789\n" +
            "  conditions:\n  - type: Ready\n    status: \"True\"\n    reason: Available\n" +
            "    lastTransitionTime: \"2024-01-01T00:00:00Z\"\n";
    out += "---\n" + text;
  }
  return out;
}

class GoldenRenderTest : public RenderTest, public ::testing::WithParamInterface<GoldenCase> {};

TEST_P(GoldenRenderTest, MatchesGolden) {
  const GoldenCase& c = GetParam();
  const std::string first = kSource + "/" + (c.observed_xr.empty() ? c.xr : c.observed_xr);
  RunResult r = Render(first, kSource + "/" + c.composition, c.render_flags);
  ASSERT_EQ(r.exit_code, 0) << r.err << "\nfunction log:\n" << ReadLog();
  if (c.observe_all) {
    // A changed XR is rendered against everything the original composes
    // once all of it is ready: two rounds, as staging adds node pools only
    // once the control plane is observed ready.
    const int rounds = c.rounds > 0 ? c.rounds : (c.observed_xr.empty() ? 1 : 2);
    for (int round = 0; round < rounds; ++round) {
      const std::string observed =
          dir().Write("observed-" + std::to_string(round) + ".yaml", ObserveAll(r.out));
      std::vector<std::string> flags = c.render_flags;
      flags.push_back("--observed-resources=" + observed);
      r = Render(round + 1 == rounds ? kSource + "/" + c.xr : first, kSource + "/" + c.composition,
                 flags);
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
  }
  const std::string golden = kSource + "/tests/e2e/golden/" + c.name + ".yaml";
  const std::string got = CanonicalRender(r.out);
  if (!Tool("UPDATE_GOLDEN").empty()) {
    std::ofstream(golden) << got;
    GTEST_SKIP() << "wrote " << golden;
  }
  EXPECT_EQ(got, ReadFile(golden)) << "render output differs from " << golden
                                   << "; if the change is intended, run `make golden`";
}

INSTANTIATE_TEST_SUITE_P(
    Examples, GoldenRenderTest,
    ::testing::Values(
        GoldenCase{"dev", "examples/xenvironment/xr.yaml", "compositions/xenvironment.yaml"},
        GoldenCase{"dev-observed",
                   "examples/xenvironment/xr.yaml",
                   "compositions/xenvironment.yaml",
                   true,
                   {},
                   "",
                   2},
        // With the delivered policy of examples/xenvironment/required: its own
        // account, S3 and DynamoDB endpoints.
        GoldenCase{
            "prod",
            "examples/xenvironment/xr-prod.yaml",
            "compositions/xenvironment.yaml",
            false,
            {"--required-resources=" + kSource + "/examples/xenvironment/required/xr-prod.yaml"}},
        // Once the internet gateway is attached: the NAT gateways, and the
        // whole network ready.
        GoldenCase{
            "prod-observed",
            "examples/xenvironment/xr-prod.yaml",
            "compositions/xenvironment.yaml",
            true,
            {"--required-resources=" + kSource + "/examples/xenvironment/required/xr-prod.yaml"},
            "",
            2},
        GoldenCase{"test-2zones", "examples/xenvironment/xr-test-2zones.yaml",
                   "compositions/xenvironment.yaml"},
        GoldenCase{"zone-ids", "examples/xenvironment/xr-zone-ids.yaml",
                   "compositions/xenvironment.yaml"},
        GoldenCase{"prod-4zones", "examples/xenvironment/xr-prod-4zones.yaml",
                   "compositions/xenvironment.yaml"},
        // An environment nesting a cluster, everything observed ready.
        GoldenCase{"with-cluster",
                   "examples/xenvironment/xr-with-cluster.yaml",
                   "compositions/xenvironment.yaml",
                   true,
                   {},
                   "",
                   2},
        GoldenCase{"with-database", "examples/xenvironment/xr-with-database.yaml",
                   "compositions/xenvironment-namespaced.yaml"},
        GoldenCase{"namespaced", "examples/xenvironment/xr-namespaced.yaml",
                   "compositions/xenvironment-namespaced.yaml"},
        // Before the control plane is ready: no node pools yet.
        GoldenCase{"xcluster-eks",
                   "examples/xcluster/xr.yaml",
                   "compositions/xcluster.yaml",
                   false,
                   {"--required-resources=" + kSource + "/examples/xcluster/required/xr.yaml"}},
        // Everything observed ready (a Ready condition, which the control
        // plane's readiness rule accepts): the node pools and their usages.
        GoldenCase{"xcluster-eks-ready",
                   "examples/xcluster/xr.yaml",
                   "compositions/xcluster.yaml",
                   true,
                   {"--required-resources=" + kSource + "/examples/xcluster/required/xr.yaml"}},
        GoldenCase{"xcluster-namespaced", "examples/xcluster/xr-namespaced.yaml",
                   "compositions/xcluster-namespaced.yaml"},
        // The batch pool removed from a cluster whose pools all exist: its
        // objects and usages go (Crossplane deletes them), the rest stays.
        GoldenCase{"xcluster-eks-pool-removed",
                   "tests/e2e/testdata/xcluster-pool-removed.yaml",
                   "compositions/xcluster.yaml",
                   true,
                   {"--required-resources=" + kSource + "/examples/xcluster/required/xr.yaml"},
                   "examples/xcluster/xr.yaml"},
        // The network from the team's Environment claim, read as a required
        // resource; everything observed ready: node pools in its baseline group.
        GoldenCase{"xcluster-eks-environment",
                   "examples/xcluster/xr-environment.yaml",
                   "compositions/xcluster.yaml",
                   true,
                   {"--required-resources=" + kSource +
                    "/examples/xcluster/required/xr-environment.yaml"}},
        // XDatabase: each engine and mode; observed ready with the RDS
        // resource's connection Secret answered (examples/xdatabase/required/).
        GoldenCase{"xdatabase-postgres", "examples/xdatabase/xr.yaml",
                   "compositions/xdatabase.yaml"},
        GoldenCase{"xdatabase-postgres-ready",
                   "examples/xdatabase/xr.yaml",
                   "compositions/xdatabase.yaml",
                   true,
                   {"--required-resources=" + kSource + "/examples/xdatabase/required/xr.yaml"}},
        GoldenCase{"xdatabase-mysql-aurora", "examples/xdatabase/xr-aurora-mysql.yaml",
                   "compositions/xdatabase.yaml", true},
        GoldenCase{"xdatabase-mariadb", "examples/xdatabase/xr-mariadb.yaml",
                   "compositions/xdatabase.yaml"},
        GoldenCase{"xdatabase-prod", "examples/xdatabase/xr-prod.yaml",
                   "compositions/xdatabase.yaml", true},
        GoldenCase{"xdatabase-namespaced",
                   "examples/xdatabase/xr-namespaced.yaml",
                   "compositions/xdatabase-namespaced.yaml",
                   true,
                   {"--required-resources=" + kSource +
                    "/examples/xdatabase/required/xr-namespaced.yaml"}},
        // Cluster API, flavor Kubeadm: before and after the control plane.
        GoldenCase{
            "xcluster-kubeadm",
            "examples/xcluster/xr-kubeadm.yaml",
            "compositions/xcluster.yaml",
            false,
            {"--required-resources=" + kSource + "/examples/xcluster/required/xr-kubeadm.yaml"}},
        GoldenCase{
            "xcluster-kubeadm-ready",
            "examples/xcluster/xr-kubeadm.yaml",
            "compositions/xcluster.yaml",
            true,
            {"--required-resources=" + kSource + "/examples/xcluster/required/xr-kubeadm.yaml"}},
        // Provisioner AWS (the AWS provider's eks and iam kinds).
        GoldenCase{"xcluster-aws", "examples/xcluster/xr-aws.yaml", "compositions/xcluster.yaml"},
        GoldenCase{"xcluster-aws-ready", "examples/xcluster/xr-aws.yaml",
                   "compositions/xcluster.yaml", true},
        // The EKS cluster observed as the provider reports it (version,
        // endpoint, OIDC issuer): the staged resources and the OIDC provider.
        GoldenCase{"xcluster-aws-controlplane-ready",
                   "examples/xcluster/xr-aws.yaml",
                   "compositions/xcluster.yaml",
                   false,
                   {"--observed-resources=" + kSource +
                    "/tests/e2e/testdata/xcluster-aws-controlplane-ready.yaml"}},
        // A prod cluster observed with its control plane, launch template and
        // Pod Identity associations ready: nodes in the cluster's and the
        // environment's groups, the add-ons' roles, Extended support, logs.
        GoldenCase{"xcluster-aws-prod",
                   "examples/xcluster/xr-aws-prod.yaml",
                   "compositions/xcluster.yaml",
                   false,
                   {"--observed-resources=" + kSource +
                    "/tests/e2e/testdata/xcluster-aws-prod-observed.yaml"}},
        GoldenCase{"xcluster-aws-namespaced", "examples/xcluster/xr-aws-namespaced.yaml",
                   "compositions/xcluster-namespaced.yaml", true}),
    [](const ::testing::TestParamInfo<GoldenCase>& p) {
      std::string n = p.param.name;
      for (char& ch : n) {
        if (ch == '-') ch = '_';
      }
      return n;
    });

// The facts the goldens encode, asserted directly so a regenerated golden
// cannot quietly lose them.
TEST_F(RenderTest, ProdHasANatGatewayPerZoneAndPrivateRoutesNeverToTheInternetGateway) {
  const std::string xr = kSource + "/examples/xenvironment/xr-prod.yaml";
  const std::string composition = kSource + "/compositions/xenvironment.yaml";
  RunResult first = Render(xr, composition);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  // NAT gateways wait until the internet gateway is attached (observed
  // ready), as one made before fails.
  for (const auto& [name, doc] : Parse(first.out).resources) {
    EXPECT_NE(Str(doc, {"kind"}), "NATGateway") << name;
  }
  const std::string observed = dir().Write("observed.yaml", ObserveAll(first.out));
  RunResult r = Render(xr, composition, {"--observed-resources=" + observed});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Rendered out = Parse(r.out);
  for (const char* zone : {"a", "b", "c"}) {
    const std::string z(zone);
    ASSERT_EQ(out.resources.count("nat-" + z), 1u) << r.out;
    const YAML::Node route = out.resources["route-private-nat-" + z];
    EXPECT_EQ(Str(route, {"spec", "forProvider", "natGatewayIdSelector", "matchLabels",
                          "platform.terraforming.io/resource"}),
              "nat-" + z);
    EXPECT_FALSE(At(route, {"spec", "forProvider", "gatewayIdSelector"}));
    EXPECT_EQ(Str(out.resources["subnet-private-" + z], {"spec", "forProvider", "cidrBlock"}),
              z == "a"   ? "10.0.0.0/20"
              : z == "b" ? "10.0.16.0/20"
                         : "10.0.32.0/20");
  }
  EXPECT_EQ(Str(out.resources["vpc"],
                {"spec", "forProvider", "tags", "platform.terraforming.io/environment"}),
            "prod");
  // The database tier has no way out of the VPC.
  for (const auto& [name, doc] : out.resources) {
    if (Str(doc, {"kind"}) != "Route") continue;
    EXPECT_NE(Str(doc, {"spec", "forProvider", "routeTableIdSelector", "matchLabels",
                        "platform.terraforming.io/resource"}),
              "rt-database")
        << name;
  }
}

TEST_F(RenderTest, ObservedResourcesFillStatusAndMakeTheCompositeReady) {
  const std::string xr = kSource + "/examples/xenvironment/xr.yaml";
  const std::string composition = kSource + "/compositions/xenvironment.yaml";
  RunResult r = Render(xr, composition);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Twice: the NAT gateway comes once the internet gateway is ready.
  for (int round = 0; round < 2; ++round) {
    const std::string observed =
        dir().Write("observed-" + std::to_string(round) + ".yaml", ObserveAll(r.out));
    r = Render(xr, composition, {"--observed-resources=" + observed});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  Rendered out = Parse(r.out);
  EXPECT_EQ(Str(out.xr, {"status", "vpcId"}), "vpc-0123456789") << r.out;
  EXPECT_EQ(Str(out.xr, {"status", "subnets", "private", "a", "id"}),
            "subnet-private-a-0123456789");
  EXPECT_EQ(Str(out.xr, {"status", "natGatewayIds", "a"}), "nat-a-0123456789");
  EXPECT_EQ(At(out.xr, {"status", "privateSubnetIds"}).size(), 2u) << r.out;
  bool available = false;
  for (const YAML::Node& c : At(out.xr, {"status", "conditions"})) {
    if (Str(c, {"type"}) == "Ready") available = Str(c, {"reason"}) == "Available";
  }
  EXPECT_TRUE(available) << r.out;
  // Names Crossplane gave stay (ObserveAll's, not the ones render computes);
  // steady state announces nothing.
  EXPECT_EQ(Str(out.resources["vpc"], {"metadata", "name"}), "payments-dev-vpc");
  // Only the warning that the delivered policy (EnvironmentConfig
  // platform-policy, which render is not given here) is missing.
  for (const YAML::Node& result : out.results) {
    EXPECT_EQ(Str(result, {"severity"}), "Warning") << r.out;
    EXPECT_EQ(Str(result, {"reason"}), "PolicyNotFound") << r.out;
  }
  // And Crossplane finds every composed resource ready.
  for (const YAML::Node& event : out.events) {
    EXPECT_EQ(Str(event, {"message"}).find("is not yet ready"), std::string::npos) << r.out;
  }
}

// The whole chain of a nested cluster, through the real CLI: the environment
// composes an XCluster; that XCluster, rendered on its own with the
// environment's XR as a required resource (as Crossplane hands it over), finds
// its network through the status the environment published.
TEST_F(RenderTest, NestedClusterFindsItsEnvironmentsNetwork) {
  const std::string xr = kSource + "/examples/xenvironment/xr-with-cluster.yaml";
  const std::string composition = kSource + "/compositions/xenvironment.yaml";
  RunResult first = Render(xr, composition);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const std::string observed = dir().Write("observed.yaml", ObserveAll(first.out));
  RunResult env =
      Render(xr, composition, {"--observed-resources=" + observed, "--include-full-xr"});
  ASSERT_EQ(env.exit_code, 0) << env.err;
  std::string environment, cluster;
  for (const std::string& doc : SplitDocuments(ApiObjects(env.out, true))) {
    const YAML::Node node = YAML::Load(doc);
    if (Str(node, {"kind"}) == "XEnvironment") environment = doc;
    if (Str(node, {"kind"}) == "XCluster") cluster = doc;
  }
  ASSERT_FALSE(environment.empty()) << env.out;
  ASSERT_FALSE(cluster.empty()) << env.out;

  RunResult r =
      Render(dir().Write("xcluster.yaml", cluster), kSource + "/compositions/xcluster.yaml",
             {"--required-resources=" + dir().Write("environment.yaml", environment),
              // The platform policy with a management path for the private
              // Cluster API endpoint.
              "--required-resources=" + kSource + "/examples/xcluster/required/xr.yaml"});
  ASSERT_EQ(r.exit_code, 0) << r.err << "\nfunction log:\n" << ReadLog();
  Rendered out = Parse(r.out);
  const YAML::Node cp = out.resources["controlplane"];
  EXPECT_EQ(Str(cp, {"spec", "network", "vpc", "id"}), "vpc-0123456789") << r.out;
  const YAML::Node subnets = At(cp, {"spec", "network", "subnets"});
  ASSERT_EQ(subnets.size(), 2u) << r.out;
  EXPECT_EQ(subnets[0]["id"].as<std::string>(), "subnet-private-a-0123456789");
  EXPECT_EQ(Str(cp, {"spec", "version"}), "v1.33");
  EXPECT_EQ(Str(cp, {"metadata", "namespace"}), "team-payments");
  EXPECT_EQ(Str(out.xr, {"status", "vpcId"}), "vpc-0123456789");
  // No Usage of its own parent: that would block the environment's deletion.
  EXPECT_EQ(out.resources.count("usage-environment-by-controlplane"), 0u);
}

TEST_F(RenderTest, NamespacedEnvironmentUsesNamespacedKindsInItsNamespace) {
  RunResult r = Render(kSource + "/examples/xenvironment/xr-namespaced.yaml",
                       kSource + "/compositions/xenvironment-namespaced.yaml");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Rendered out = Parse(r.out);
  ASSERT_FALSE(out.resources.empty());
  for (const auto& [name, doc] : out.resources) {
    const std::string api = Str(doc, {"apiVersion"});
    EXPECT_TRUE(api.find(".aws.m.upbound.io/v1beta1") != std::string::npos ||
                api == "protection.crossplane.io/v1beta1")
        << name << ": " << api;
    if (api == "protection.crossplane.io/v1beta1") {
      EXPECT_EQ(Str(doc, {"kind"}), "Usage") << name;
    }
    EXPECT_EQ(Str(doc, {"metadata", "namespace"}), "team-payments") << name;
  }
}

TEST_F(RenderTest, AuthorizationDenialFailsRenderNamingTheRule) {
  const std::string composition = kSource + "/tests/e2e/testdata/composition-authorization.yaml";
  const std::string xrd = kSource + "/xrds/xenvironment.yaml";
  RunResult r = Render(kSource + "/examples/xenvironment/xr-prod.yaml", composition, {}, xrd);
  const std::string fatal = Fatal(r);
  EXPECT_NE(fatal.find("payments-nonprod"), std::string::npos) << r.err;
  EXPECT_NE(fatal.find("prod"), std::string::npos) << r.err;
  // The same policy lets the team create a dev environment.
  RunResult dev = Render(kSource + "/examples/xenvironment/xr.yaml", composition, {}, xrd);
  EXPECT_EQ(dev.exit_code, 0) << dev.err;
}

TEST_F(RenderTest, PolicyViolationFailsRenderNamingTheFieldAndTheRule) {
  const std::string xr = dir().Write("xr.yaml", R"(apiVersion: platform.terraforming.io/v1alpha1
kind: XEnvironment
metadata:
  name: too-many-zones
spec:
  parameters:
    environment: dev
    region: us-east-1
    team: payments
    zoneCount: 4
)");
  RunResult r = Render(xr, kSource + "/compositions/xenvironment.yaml");
  EXPECT_TRUE(
      Fatal(r).starts_with("spec.parameters.zoneCount: dev environments may use at most 2 zones"))
      << r.err;
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
  EXPECT_EQ(Fatal(r), "spec.parameters.region: required") << r.err;
}

// An app team's CI asks for the policy through the pipeline context (as
// docs/render-in-ci.md shows): forgotten, the render fails, where it would
// otherwise pass on the built-in defaults; given, it renders.
TEST_F(RenderTest, ACiRenderThatRequiresThePolicyFailsWithoutIt) {
  const std::string xr = kSource + "/examples/xenvironment/xr.yaml";
  const std::string composition = kSource + "/compositions/xenvironment.yaml";
  const std::string strict =
      R"(--context-values=platform.terraforming.io/render={"requirePolicy": true})";
  RunResult lenient = Render(xr, composition);
  ASSERT_EQ(lenient.exit_code, 0) << lenient.err;
  RunResult missing = Render(xr, composition, {strict});
  EXPECT_EQ(Fatal(missing),
            "input.policy.environmentConfigRef.name: EnvironmentConfig \"platform-policy\" was "
            "not given, and this render requires the platform's policy (context "
            "platform.terraforming.io/render.requirePolicy); pass the stage's policy with "
            "--required-resources")
      << missing.err;
  RunResult given =
      Render(xr, composition,
             {strict, "--required-resources=" + kSource + "/examples/xcluster/required/xr.yaml"});
  EXPECT_EQ(given.exit_code, 0) << given.err;
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
      name: terraforming-function-platform
)");
  RunResult r = Render(xr, composition);
  EXPECT_NE(Fatal(r).find("no renderer for XR kind XBucket"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace platform::testing
