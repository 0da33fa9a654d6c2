// Everything we ship, and everything the function renders, checked by a real
// kube-apiserver (with etcd) that has the upstream CRDs loaded: OpenAPI
// schemas and CEL rules included. The control plane is started and stopped by
// the ctest fixture around these tests (tests/controlplane/controlplane.sh).
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "tests/support/kubectl.h"
#include "tests/support/render.h"
#include "tests/support/subprocess.h"

namespace platform::testing {
namespace {

namespace fs = std::filesystem;

const std::string kSource = PLATFORM_SOURCE_DIR;

// The upstream CRDs: $PLATFORM_SHARED_CRDS, else the folder CMake was given
// (the Makefile passes `scripts/tools.sh upstream-crds`), else the snapshot
// beside the clone.
std::string SharedCrds() {
  const std::string env = Tool("PLATFORM_SHARED_CRDS");
  if (!env.empty()) return env;
  const std::string configured = PLATFORM_SHARED_CRDS_DIR;
  return configured.empty() ? kSource + "/../shared/crds" : configured;
}

// Every YAML manifest we ship. deploy/kustomize and deploy/helm are sources
// of manifests (kustomizations, patches, chart templates, helmfile), not
// manifests: delivery_test.cc renders them with kustomize, helm and helmfile
// and dry-runs what they render.
std::vector<std::string> ShippedManifests() {
  std::vector<std::string> files;
  const fs::path deploy = fs::path(kSource) / "deploy";
  for (const char* dir : {"xrds", "compositions", "package", "examples", "deploy"}) {
    const fs::path root = fs::path(kSource) / dir;
    if (!fs::exists(root)) continue;
    for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
         ++it) {
      const fs::path& p = it->path();
      if (it->is_directory() && (p == deploy / "kustomize" || p == deploy / "helm")) {
        it.disable_recursion_pending();
        continue;
      }
      if (!it->is_regular_file() || (p.extension() != ".yaml" && p.extension() != ".yml")) {
        continue;
      }
      // Package metadata (package/crossplane.yaml, package/configuration/
      // crossplane.yaml) is read by the package tools, never applied.
      if (p.filename() == "crossplane.yaml" &&
          p.string().starts_with((fs::path(kSource) / "package").string())) {
        continue;
      }
      files.push_back(p.string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

// One example the function renders, and where its resources must land.
struct Example {
  std::string name;
  std::string xr;
  std::string composition;
  std::string namespace_;  // empty for claim-based (cluster-scoped) XRs
  // Where a claim-based XR's namespaced objects (Cluster API kinds) land: the
  // claim's namespace. Empty when it composes none.
  std::string objects_namespace = "";
  // Extra flags for render, e.g. --observed-resources.
  std::vector<std::string> render_flags = {};
};

void PrintTo(const Example& e, std::ostream* os) { *os << e.name; }

const Example kExamples[] = {
    {"ClaimBasedEnvironment", "examples/xenvironment/xr.yaml", "compositions/xenvironment.yaml",
     ""},
    {"NamespacedEnvironment", "examples/xenvironment/xr-namespaced.yaml",
     "compositions/xenvironment-namespaced.yaml", "team-payments"},
    {"ProdEnvironment",
     "examples/xenvironment/xr-prod.yaml",
     "compositions/xenvironment.yaml",
     "",
     "",
     {"--required-resources=" + kSource + "/examples/xenvironment/required/xr-prod.yaml"}},
    {"TwoZoneTestEnvironment", "examples/xenvironment/xr-test-2zones.yaml",
     "compositions/xenvironment.yaml", ""},
    {"ZoneIdEnvironment", "examples/xenvironment/xr-zone-ids.yaml",
     "compositions/xenvironment.yaml", ""},
    {"FourZoneProdEnvironment", "examples/xenvironment/xr-prod-4zones.yaml",
     "compositions/xenvironment.yaml", ""},
    {"EnvironmentWithCluster", "examples/xenvironment/xr-with-cluster.yaml",
     "compositions/xenvironment.yaml", ""},
    {"EnvironmentWithDatabase", "examples/xenvironment/xr-with-database.yaml",
     "compositions/xenvironment-namespaced.yaml", "team-payments"},
    // Node pools are only rendered once the control plane is observed ready.
    {"ClaimBasedCluster",
     "examples/xcluster/xr.yaml",
     "compositions/xcluster.yaml",
     "",
     "team-payments",
     {"--required-resources=" + kSource + "/examples/xcluster/required/xr.yaml"}},
    {"ClaimBasedClusterControlPlaneReady",
     "examples/xcluster/xr.yaml",
     "compositions/xcluster.yaml",
     "",
     "team-payments",
     {"--required-resources=" + kSource + "/examples/xcluster/required/xr.yaml",
      "--observed-resources=" + kSource + "/tests/e2e/testdata/xcluster-controlplane-ready.yaml"}},
    {"NamespacedCluster",
     "examples/xcluster/xr-namespaced.yaml",
     "compositions/xcluster-namespaced.yaml",
     "team-payments",
     "",
     {"--observed-resources=" + kSource +
      "/tests/e2e/testdata/xcluster-namespaced-controlplane-ready.yaml"}},
    // The network from an Environment claim, answered by --required-resources.
    {"ClaimBasedClusterFromEnvironment",
     "examples/xcluster/xr-environment.yaml",
     "compositions/xcluster.yaml",
     "",
     "team-payments",
     {"--required-resources=" + kSource + "/examples/xcluster/required/xr-environment.yaml"}},
    {"ClaimBasedPostgres", "examples/xdatabase/xr.yaml", "compositions/xdatabase.yaml", ""},
    {"ClaimBasedAuroraMysql", "examples/xdatabase/xr-aurora-mysql.yaml",
     "compositions/xdatabase.yaml", ""},
    {"ClaimBasedMariadb", "examples/xdatabase/xr-mariadb.yaml", "compositions/xdatabase.yaml", ""},
    {"ProdDatabase", "examples/xdatabase/xr-prod.yaml", "compositions/xdatabase.yaml", ""},
    {"NamespacedDatabase",
     "examples/xdatabase/xr-namespaced.yaml",
     "compositions/xdatabase-namespaced.yaml",
     "team-payments",
     "",
     {"--required-resources=" + kSource + "/examples/xdatabase/required/xr-namespaced.yaml",
      "--observed-resources=" + kSource +
          "/tests/e2e/testdata/xdatabase-namespaced-observed.yaml"}},
    {"ClaimBasedKubeadmClusterControlPlaneReady",
     "examples/xcluster/xr-kubeadm.yaml",
     "compositions/xcluster.yaml",
     "",
     "team-payments",
     {"--required-resources=" + kSource + "/examples/xcluster/required/xr-kubeadm.yaml",
      "--observed-resources=" + kSource +
          "/tests/e2e/testdata/xcluster-kubeadm-controlplane-ready.yaml"}},
    {"ClaimBasedAwsClusterControlPlaneReady",
     "examples/xcluster/xr-aws.yaml",
     "compositions/xcluster.yaml",
     "",
     "",
     {"--observed-resources=" + kSource +
      "/tests/e2e/testdata/xcluster-aws-controlplane-ready.yaml"}},
    {"ProdAwsClusterObserved",
     "examples/xcluster/xr-aws-prod.yaml",
     "compositions/xcluster.yaml",
     "",
     "",
     {"--observed-resources=" + kSource + "/tests/e2e/testdata/xcluster-aws-prod-observed.yaml"}},
    {"NamespacedAwsClusterControlPlaneReady",
     "examples/xcluster/xr-aws-namespaced.yaml",
     "compositions/xcluster-namespaced.yaml",
     "team-payments",
     "",
     {"--observed-resources=" + kSource +
      "/tests/e2e/testdata/xcluster-aws-namespaced-controlplane-ready.yaml"}},
};

class ControlPlaneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(Tool("CROSSPLANE").empty()) << "CROSSPLANE is not set: run through `make test`";
    ASSERT_FALSE(std::string(KUBECTL_BIN).empty())
        << "configure with -DKUBECTL_BIN (the Makefile does): run through `make test`";
    ASSERT_TRUE(fs::exists(CONTROLPLANE_KUBECONFIG))
        << "no control plane: these tests run inside ctest's controlplane fixture";
  }

  static RunResult Kubectl(std::vector<std::string> args) {
    return RunKubectl(KUBECTL_BIN, CONTROLPLANE_KUBECONFIG, std::move(args));
  }

  void EnsureNamespace(const std::string& ns) {
    RunResult r = testing::EnsureNamespace(KUBECTL_BIN, CONTROLPLANE_KUBECONFIG, dir_, ns);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  TempDir dir_;
};

TEST_F(ControlPlaneTest, EveryShippedManifestIsAcceptedByServerSideDryRun) {
  const std::vector<std::string> files = ShippedManifests();
  ASSERT_GE(files.size(), 8u) << "the manifest walk found too few files";
  std::set<std::string> namespaces;
  for (const std::string& f : files) {
    for (const YAML::Node& doc : YAML::LoadAllFromFile(f)) {
      if (const std::string ns = Str(doc, {"metadata", "namespace"}); !ns.empty()) {
        namespaces.insert(ns);
      }
    }
  }
  for (const std::string& ns : namespaces) EnsureNamespace(ns);

  for (const std::string& f : files) {
    RunResult r = Kubectl(
        {"apply", "--server-side", "--dry-run=server", "--field-manager=platform-tests", "-f", f});
    EXPECT_EQ(r.exit_code, 0) << f << " rejected:\n" << r.err;
    EXPECT_NE(r.out.find("(server dry run)"), std::string::npos) << f << ":\n" << r.out;
  }
}

class RenderedTest : public ControlPlaneTest, public ::testing::WithParamInterface<Example> {};

TEST_P(RenderedTest, EveryRenderedResourceIsAcceptedByTheApiServer) {
  const Example& ex = GetParam();
  FunctionUnderTest function(FUNCTION_PLATFORM_BIN);
  ASSERT_TRUE(function.ok()) << function.log();
  RunResult r =
      function.Render(kSource + "/" + ex.xr, kSource + "/" + ex.composition, ex.render_flags);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Rendered out = ParseRendered(r.out);
  ASSERT_FALSE(out.resources.empty()) << r.out;
  if (!ex.namespace_.empty()) EnsureNamespace(ex.namespace_);
  if (!ex.objects_namespace.empty()) EnsureNamespace(ex.objects_namespace);

  for (auto& [name, doc] : out.resources) {
    if (ex.namespace_.empty()) {
      const std::string ns = Str(doc, {"metadata", "namespace"});
      EXPECT_TRUE(ns.empty() || ns == ex.objects_namespace)
          << name << " of a claim-based XR in namespace " << ns;
    } else {
      EXPECT_EQ(Str(doc, {"metadata", "namespace"}), ex.namespace_) << name;
    }
  }
  // As render prints them: its names, and owner references to the fake uid
  // it gives the XR (the API server refuses an empty one).
  const std::string file = dir_.Write("rendered.yaml", ApiObjects(r.out, false));
  // `create`, not `apply`: composed resources carry generateName, which only
  // create accepts (Crossplane names them on create too).
  RunResult created = Kubectl({"create", "--dry-run=server", "-o", "name", "-f", file});
  EXPECT_EQ(created.exit_code, 0) << "rejected:\n" << created.err << "\nrendered:\n" << r.out;
  const auto accepted = std::count(created.out.begin(), created.out.end(), '\n');
  EXPECT_EQ(static_cast<std::size_t>(accepted), out.resources.size()) << created.out;
}

INSTANTIATE_TEST_SUITE_P(Examples, RenderedTest, ::testing::ValuesIn(kExamples),
                         [](const ::testing::TestParamInfo<Example>& p) { return p.param.name; });

// Shows the check can fail: SecurityGroupIngressRule requires ipProtocol
// only through a CEL rule (x-kubernetes-validations), not an OpenAPI
// `required`, so only a real API server catches its absence.
TEST_F(ControlPlaneTest, NegativeControlCelRequiredFieldIsRejected) {
  const std::string rule = R"(apiVersion: ec2.aws.upbound.io/v1beta1
kind: SecurityGroupIngressRule
metadata:
  name: negative-control
spec:
  forProvider:
    region: eu-west-1
    cidrIpv4: 10.0.0.0/16
    fromPort: 443
    toPort: 443
    securityGroupId: sg-0123456789abcdef0
)";
  RunResult missing = Kubectl(
      {"apply", "--server-side", "--dry-run=server", "-f", dir_.Write("missing.yaml", rule)});
  EXPECT_NE(missing.exit_code, 0) << missing.out;
  EXPECT_NE(missing.err.find("spec.forProvider.ipProtocol is a required parameter"),
            std::string::npos)
      << missing.err;

  RunResult complete = Kubectl({"apply", "--server-side", "--dry-run=server", "-f",
                                dir_.Write("complete.yaml", rule + "    ipProtocol: tcp\n")});
  EXPECT_EQ(complete.exit_code, 0) << complete.err;
}

// The XCluster XRD's own CEL rules, on the CRD Crossplane would generate: a
// claim asking for something no provisioner makes is refused by the API
// server, with the rule's message, before the function ever sees it.
TEST_F(ControlPlaneTest, XClusterRulesRefuseImpossibleClaims) {
  const std::string claim = R"(apiVersion: platform.terraforming.io/v1alpha1
kind: Cluster
metadata:
  name: rules
  namespace: default
spec:
  parameters:
    environment: dev
    region: eu-west-1
    team: payments
    nodePools: [{name: general, instanceType: m6i.large}]
)";
  struct Case {
    std::string extra;
    std::string message;  // empty: accepted
  };
  const Case cases[] = {
      {"    network: {vpcId: vpc-0a1b, privateSubnetIds: [subnet-0a, subnet-0b]}\n", ""},
      {"    network: {environment: payments-dev}\n", ""},
      {"    network: {environment: payments-dev, vpcId: vpc-0a1b}\n",
       "give either environment or vpcId and subnet ids"},
      {"    network: {vpcId: vpc-0a1b}\n",
       "vpcId and privateSubnetIds are required without environment"},
      {"    network: {environment: payments-dev}\n    provisioner: AWS\n    flavor: Kubeadm\n",
       "provisioner AWS makes EKS clusters; Kubeadm needs provisioner CAPI"},
      {"    network: {environment: payments-dev}\n    controlPlane: {replicas: 3}\n",
       "controlPlane is only for flavor Kubeadm"},
      {"    network: {environment: payments-dev}\n    flavor: Kubeadm\n"
       "    addons: [{name: vpc-cni}]\n",
       "EKS add-ons need an EKS cluster"},
  };
  int i = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.extra);
    RunResult r = Kubectl({"create", "--dry-run=server", "-f",
                           dir_.Write("claim-" + std::to_string(i++) + ".yaml", claim + c.extra)});
    if (c.message.empty()) {
      EXPECT_EQ(r.exit_code, 0) << r.err;
    } else {
      EXPECT_NE(r.exit_code, 0) << r.out;
      EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    }
  }
}

// A second opinion, offline: `crossplane resource validate` over the examples
// and the rendered output, against the upstream CRDs and our XRDs.
class ValidateTest : public ControlPlaneTest {
 protected:
  void SetUp() override {
    ControlPlaneTest::SetUp();
    extensions_ = dir_.path() + "/extensions";
    for (const std::string& d :
         {SharedCrds() + "/provider-aws", std::string(AWS_EXTRA_CRDS_DIR), SharedCrds() + "/capi",
          SharedCrds() + "/argocd", kSource + "/xrds", kSource + "/package/input"}) {
      ASSERT_TRUE(fs::exists(d)) << d;
      fs::create_directories(extensions_);
      for (const auto& e : fs::directory_iterator(d)) {
        fs::copy_file(e.path(), fs::path(extensions_) / e.path().filename(),
                      fs::copy_options::overwrite_existing);
      }
    }
    // validate looks up Crossplane's own schemas in its cache by the image
    // of --crossplane-image; seed it from the upstream CRDs so it never
    // downloads.
    cache_ = dir_.path() + "/cache";
    std::string error;
    image_ = SeedCrossplaneSchemas(cache_, SharedCrds() + "/crossplane", error);
    ASSERT_FALSE(image_.empty()) << error;
  }

  // Core objects (v1 Secrets) have no schema validate could load; the API
  // server's dry-runs above check them.
  static std::string WithoutCoreObjects(const std::string& stream) {
    std::string out;
    for (const std::string& doc : SplitDocuments(stream)) {
      if (Str(YAML::Load(doc), {"apiVersion"}) == "v1") continue;
      out += "---\n" + doc + "\n";
    }
    return out;
  }

  RunResult Validate(const std::string& resources) {
    return RunCommand({Tool("CROSSPLANE"), "resource", "validate", extensions_, resources,
                       "--cache-dir", cache_, "--crossplane-image", image_,
                       "--error-on-missing-schemas"});
  }

  std::string extensions_;
  std::string cache_;
  std::string image_;
};

TEST_F(ValidateTest, ExamplesPass) {
  const fs::path copy = fs::path(dir_.path()) / "examples";
  for (const auto& e : fs::recursive_directory_iterator(kSource + "/examples")) {
    if (!e.is_regular_file() || e.path().extension() != ".yaml") continue;
    const fs::path to = copy / fs::relative(e.path(), kSource + "/examples");
    fs::create_directories(to.parent_path());
    std::ofstream(to) << WithoutCoreObjects(ReadFile(e.path().string()));
  }
  RunResult r = Validate(copy.string());
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(" 0 failure cases"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" 0 missing schemas"), std::string::npos) << r.out;
}

TEST_F(ValidateTest, RenderedOutputPasses) {
  FunctionUnderTest function(FUNCTION_PLATFORM_BIN);
  ASSERT_TRUE(function.ok()) << function.log();
  for (const Example& ex : kExamples) {
    std::vector<std::string> flags = ex.render_flags;
    flags.push_back("--include-full-xr");
    RunResult r = function.Render(kSource + "/" + ex.xr, kSource + "/" + ex.composition, flags);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // Results are render's own documents, not API objects.
    RunResult v =
        Validate(dir_.Write(ex.name + ".yaml", WithoutCoreObjects(ApiObjects(r.out, true))));
    EXPECT_EQ(v.exit_code, 0) << ex.name << ":\n" << v.out << v.err;
    EXPECT_NE(v.out.find(" 0 failure cases"), std::string::npos) << v.out;
  }
}

TEST_F(ValidateTest, AnInvalidExampleFails) {
  const std::string xr = dir_.Write("bad/xr.yaml", R"(apiVersion: platform.terraforming.io/v1alpha1
kind: XEnvironment
metadata:
  name: bad
spec:
  parameters:
    environment: qa
    region: eu-west-1
    team: payments
)");
  RunResult r = Validate(xr);
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("spec.parameters.environment"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace platform::testing
