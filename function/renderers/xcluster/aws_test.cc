// Tests of function/renderers/xcluster/aws.cc: the XCluster renderer with
// provisioner AWS, through the Runner and the builtin registry as Crossplane
// calls it. What is composed before and after the control plane is ready,
// the API groups of each scope, the wiring through selectors, the deletion
// order, tags, the kubeconfig and the status.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "function/registry.h"
#include "function/renderers/builtin.h"
#include "function/runner.h"
#include "function/sdk/fields.h"
#include "function/sdk/struct_json.h"
#include "function/testing/proto_test_util.h"
#include "function/testing/render_test_util.h"
#include "function/testing/rendered.h"

namespace platform::fn::renderers {
namespace {

using ::platform::fn::testing::At;
using ::platform::fn::testing::Call;
using ::platform::fn::testing::CaseName;
using ::platform::fn::testing::Names;
using ::platform::fn::testing::PolicyInput;
using ::platform::fn::testing::Rendered;
using ::platform::fn::testing::RequestOf;
using ::platform::fn::testing::RunOk;
using ::platform::fn::testing::RunProto;
using ::platform::fn::testing::With;
using ::platform::fn::testing::XrOf;
using ::testing::HasSubstr;

using sdk::Json;

constexpr char kXrName[] = "payments-eks";
constexpr char kLabel[] = "platform.terraforming.io/resource";
constexpr char kIssuer[] = "https://oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF";

// --- Requests ---------------------------------------------------------------------

Json Params() {
  return {{"provisioner", "AWS"},
          {"environment", "dev"},
          {"region", "eu-west-1"},
          {"team", "payments"},
          {"costCenter", "cc-1234"},
          {"kubernetesVersion", "1.33"},
          {"network",
           {{"vpcId", "vpc-0abc"}, {"privateSubnetIds", {"subnet-0a", "subnet-0b", "subnet-0c"}}}},
          {"nodePools", {{{"name", "general"}, {"instanceType", "m6i.large"}}}}};
}

// One of everything that is staged: a pool, a versioned add-on (and one of
// EKS's own), an access entry.
Json Full() {
  Json p = Params();
  p["addons"] = {{{"name", "vpc-cni"}}, {{"name", "coredns"}, {"version", "v1.11.4-eksbuild.2"}}};
  p["accessEntries"] = {
      {{"principalArn", "arn:aws:iam::123456789012:role/admins"}, {"policy", "ClusterAdmin"}}};
  return p;
}

// A namespaced XR when `ns` is set, else a claim-based one from team-payments.
Json Xr(const Json& parameters, const std::string& ns = "") {
  return XrOf("XCluster", kXrName, parameters, ns);
}

// Like RunOk, with connection details on observed resources (the Call of
// render_test_util.h has no field for them).
Rendered RunWithDetails(const Call& c,
                        const std::map<std::string, std::map<std::string, std::string>>& details) {
  static const Registry* const registry = new Registry(BuiltinRegistry());
  pb::RunFunctionRequest req = RequestOf(c);
  for (const auto& [resource, kv] : details) {
    auto& cd =
        *(*req.mutable_observed()->mutable_resources())[resource].mutable_connection_details();
    for (const auto& [k, v] : kv) cd[k] = v;
  }
  Rendered r(Runner(*registry).Run(req));
  EXPECT_EQ(r.Fatal(), "");
  return r;
}

// Observed managed resources, as Crossplane reports them back.
Json ReadyConditions() {
  return {{"conditions", {{{"type", "Ready"}, {"status", "True"}, {"reason", "Available"}}}}};
}
Json Obj(Json status = Json::object()) { return {{"status", std::move(status)}}; }
Json ReadyObj() { return Obj(ReadyConditions()); }

// The eks Cluster: ready or not, with what EKS has published so far.
Json Cluster(bool ready, const std::string& version = "1.33", const std::string& issuer = "") {
  Json s =
      ready ? ReadyConditions() : Json{{"conditions", {{{"type", "Ready"}, {"status", "False"}}}}};
  s["atProvider"] = {{"status", ready ? "ACTIVE" : "CREATING"}};
  if (!version.empty()) s["atProvider"]["version"] = version;
  if (ready) {
    s["atProvider"]["endpoint"] = "https://ABCDEF.gr7.eu-west-1.eks.amazonaws.com";
  }
  if (!issuer.empty()) s["atProvider"]["identity"] = {{{"oidc", {{{"issuer", issuer}}}}}};
  if (!version.empty()) s["atProvider"]["vpcConfig"] = {{"clusterSecurityGroupId", "sg-0cluster"}};
  return Obj(std::move(s));
}

// A pool's launch template once the provider made it.
Json LaunchTemplate(const std::string& pool = "general", std::int64_t latest = 1) {
  Json o = ReadyObj();
  o["spec"] = {{"forProvider", {{"vpcSecurityGroupIds", {"sg-0cluster"}}}}};
  o["status"]["atProvider"] = {{"id", "lt-0" + pool}, {"latestVersion", latest}};
  return o;
}

// What is there from the first call on.
const Names kBase = {
    "role-controlplane",
    "role-nodes",
    "rpa-controlplane-cluster",
    "rpa-nodes-worker",
    "rpa-nodes-cni",
    "rpa-nodes-ecr",
    "controlplane",
    "usage-role-controlplane-by-controlplane",
    "usage-rpa-controlplane-cluster-by-controlplane",
    "usage-rpa-nodes-worker-by-controlplane",
    "usage-rpa-nodes-cni-by-controlplane",
    "usage-rpa-nodes-ecr-by-controlplane",
};
const Names kPool = {"lt-general", "nodegroup-general", "usage-controlplane-by-nodegroup-general",
                     "usage-role-nodes-by-nodegroup-general",
                     "usage-lt-general-by-nodegroup-general"};
const Names kAddon = {"addon-coredns", "usage-controlplane-by-addon-coredns"};
const Names kEntry = {"accessentry-bb782724", "accesspolicy-bb782724",
                      "usage-controlplane-by-accessentry-bb782724",
                      "usage-accessentry-bb782724-by-accesspolicy-bb782724"};
const Names kAuth = {"clusterauth"};
const Names kOidc = {"oidc"};

Names Union(std::initializer_list<Names> sets) {
  Names out;
  for (const Names& s : sets) out.insert(s.begin(), s.end());
  return out;
}

// --- Staging ----------------------------------------------------------------------

struct StageCase {
  std::string name;
  Json observed;
  Names want;
  bool pool_waits;
};

void PrintTo(const StageCase& c, std::ostream* os) { *os << c.name; }

class AwsStagingTest : public ::testing::TestWithParam<StageCase> {};

TEST_P(AwsStagingTest, ComposesWhatTheControlPlaneAllowsAndKeepsWhatExists) {
  const StageCase& c = GetParam();
  const Rendered r = RunOk(Call{.xr = Xr(Full()), .observed = c.observed});
  EXPECT_EQ(r.names(), c.want);
  EXPECT_EQ(r.Status("nodePools.general.phase") == "WaitingForControlPlane", c.pool_waits);
  if (c.pool_waits) {
    EXPECT_EQ(r.CompositeReady(), pb::READY_FALSE);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Aws, AwsStagingTest,
    ::testing::Values(
        StageCase{"NothingObserved", Json::object(), kBase, true},
        StageCase{"ControlPlaneCreating", {{"controlplane", Cluster(false, "")}}, kBase, true},
        StageCase{"ControlPlaneReady",
                  {{"lt-general", LaunchTemplate()}, {"controlplane", Cluster(true)}},
                  Union({kBase, kPool, kAddon, kEntry, kAuth}),
                  false},
        StageCase{
            "ControlPlaneReadyWithIssuer",
            {{"lt-general", LaunchTemplate()}, {"controlplane", Cluster(true, "1.33", kIssuer)}},
            Union({kBase, kPool, kAddon, kEntry, kAuth, kOidc}),
            false},
        // The OIDC provider needs the issuer, not readiness.
        StageCase{"IssuerBeforeReady",
                  {{"controlplane", Cluster(false, "1.33", kIssuer)}},
                  Union({kBase, kOidc}),
                  true},
        // The guard: whatever exists stays desired when the control plane
        // flaps to not ready, and nothing else is added.
        StageCase{"FlappedWithNodeGroupObserved",
                  {{"controlplane", Cluster(false)}, {"nodegroup-general", ReadyObj()}},
                  Union({kBase, kPool}),
                  false},
        // A node group needs its launch template: a usage alone (it guards
        // nothing) brings back the template, and the pool waits for it.
        StageCase{"FlappedWithOnlyAUsageOfThePoolObserved",
                  {{"controlplane", Cluster(false)},
                   {"usage-role-nodes-by-nodegroup-general", ReadyObj()}},
                  Union({kBase, {"lt-general"}}),
                  true},
        StageCase{"FlappedWithAddonObserved",
                  {{"controlplane", Cluster(false)}, {"addon-coredns", ReadyObj()}},
                  Union({kBase, kAddon}),
                  true},
        StageCase{"FlappedWithAccessPolicyObserved",
                  {{"controlplane", Cluster(false)}, {"accesspolicy-bb782724", ReadyObj()}},
                  Union({kBase, kEntry}),
                  true},
        StageCase{"FlappedWithClusterAuthObserved",
                  {{"controlplane", Cluster(false)}, {"clusterauth", ReadyObj()}},
                  Union({kBase, kAuth}),
                  true},
        StageCase{"FlappedWithEverythingObserved",
                  {{"controlplane", Cluster(false)},
                   {"nodegroup-general", ReadyObj()},
                   {"addon-coredns", ReadyObj()},
                   {"accessentry-bb782724", ReadyObj()},
                   {"clusterauth", ReadyObj()},
                   {"oidc", {{"spec", {{"forProvider", {{"url", kIssuer}}}}}}}},
                  Union({kBase, kPool, kAddon, kEntry, kAuth, kOidc}),
                  false},
        StageCase{"ControlPlaneGoneButNodeGroupObserved",
                  {{"nodegroup-general", ReadyObj()}, {"lt-general", LaunchTemplate()}},
                  Union({kBase, kPool}),
                  false}),
    CaseName<StageCase>);

TEST(Aws, OnlyUnobservedPoolsWaitWhenTheControlPlaneFlaps) {
  const Json params = With(Params(), {{"nodePools",
                                       {{{"name", "general"}, {"instanceType", "m6i.large"}},
                                        {{"name", "extra"}, {"instanceType", "m6i.large"}}}}});
  const Rendered r = RunOk(
      Call{.xr = Xr(params),
           .observed = {{"controlplane", Cluster(false)},
                        {"nodegroup-general", Obj({{"atProvider", {{"status", "ACTIVE"}}}})}}});
  EXPECT_EQ(r.names(), Union({kBase, kPool}));
  EXPECT_EQ(r.Status("nodePools.extra.phase"), "WaitingForControlPlane");
  EXPECT_EQ(r.Status("nodePools.general.phase"), "ACTIVE");
}

TEST(Aws, TheOidcProviderKeepsItsUrlWhenTheIssuerGoesMissing) {
  const Rendered r =
      RunOk(Call{.xr = Xr(Params()),
                 .observed = {{"lt-general", LaunchTemplate()},
                              {"controlplane", Cluster(true, "1.33")},
                              {"oidc", {{"spec", {{"forProvider", {{"url", kIssuer}}}}}}}}});
  EXPECT_EQ(r.Get("oidc", "spec.forProvider.url"), kIssuer);
}

TEST(Aws, TheOidcProviderTrustsTheIssuerForSts) {
  const Rendered r = RunOk(Call{.xr = Xr(Params()),
                                .observed = {{"lt-general", LaunchTemplate()},
                                             {"controlplane", Cluster(true, "1.33", kIssuer)}}});
  EXPECT_EQ(r.Get("oidc", "spec.forProvider.url"), kIssuer);
  EXPECT_EQ(r.Get("oidc", "spec.forProvider.clientIdList"), Json({"sts.amazonaws.com"}));
  EXPECT_EQ(r.Get("oidc", "kind"), "OpenIDConnectProvider");
}

// --- Scope: API groups, versions, namespaces ---------------------------------------

struct KindCase {
  std::string resource;
  std::string kind;
  std::string cluster_api_version;
  std::string namespaced_api_version;
};

const std::vector<KindCase>& Kinds() {
  static const auto* const kinds = new std::vector<KindCase>{
      {"role-controlplane", "Role", "iam.aws.upbound.io/v1beta1", "iam.aws.m.upbound.io/v1beta1"},
      {"role-nodes", "Role", "iam.aws.upbound.io/v1beta1", "iam.aws.m.upbound.io/v1beta1"},
      {"rpa-nodes-cni", "RolePolicyAttachment", "iam.aws.upbound.io/v1beta1",
       "iam.aws.m.upbound.io/v1beta1"},
      {"controlplane", "Cluster", "eks.aws.upbound.io/v1beta2", "eks.aws.m.upbound.io/v1beta1"},
      {"nodegroup-general", "NodeGroup", "eks.aws.upbound.io/v1beta2",
       "eks.aws.m.upbound.io/v1beta1"},
      {"addon-coredns", "Addon", "eks.aws.upbound.io/v1beta1", "eks.aws.m.upbound.io/v1beta1"},
      {"accessentry-bb782724", "AccessEntry", "eks.aws.upbound.io/v1beta1",
       "eks.aws.m.upbound.io/v1beta1"},
      {"accesspolicy-bb782724", "AccessPolicyAssociation", "eks.aws.upbound.io/v1beta1",
       "eks.aws.m.upbound.io/v1beta1"},
      {"clusterauth", "ClusterAuth", "eks.aws.upbound.io/v1beta1", "eks.aws.m.upbound.io/v1beta1"},
      {"oidc", "OpenIDConnectProvider", "iam.aws.upbound.io/v1beta1",
       "iam.aws.m.upbound.io/v1beta1"},
  };
  return *kinds;
}

Rendered RenderAll(const std::string& ns = "") {
  return RunOk(Call{.xr = Xr(Full(), ns),
                    .observed = {{"lt-general", LaunchTemplate()},
                                 {"controlplane", Cluster(true, "1.33", kIssuer)}}});
}

TEST(Aws, ClaimBasedXrsComposeClusterScopedKinds) {
  const Rendered r = RenderAll();
  for (const KindCase& k : Kinds()) {
    EXPECT_EQ(r.Get(k.resource, "apiVersion"), k.cluster_api_version) << k.resource;
    EXPECT_EQ(r.Get(k.resource, "kind"), k.kind) << k.resource;
  }
  for (const auto& [name, o] : r.resources()) {
    EXPECT_EQ(At(o, "metadata.namespace"), nullptr) << name;
    if (name.starts_with("usage-")) {
      EXPECT_EQ(At(o, "kind"), "ClusterUsage") << name;
    } else {
      EXPECT_THAT(At(o, "apiVersion").get<std::string>(), HasSubstr(".aws.upbound.io/")) << name;
    }
  }
}

TEST(Aws, NamespacedXrsComposeNamespacedKindsInTheirNamespace) {
  const Rendered r = RenderAll("team-web");
  for (const KindCase& k : Kinds()) {
    EXPECT_EQ(r.Get(k.resource, "apiVersion"), k.namespaced_api_version) << k.resource;
    EXPECT_EQ(r.Get(k.resource, "kind"), k.kind) << k.resource;
  }
  for (const auto& [name, o] : r.resources()) {
    EXPECT_EQ(At(o, "metadata.namespace"), "team-web") << name;
    if (name.starts_with("usage-")) {
      EXPECT_EQ(At(o, "kind"), "Usage") << name;
    }
  }
}

// Every managed resource, in either scope, names the account's ProviderConfig;
// the usages name none.
TEST(Aws, EveryManagedResourceNamesTheAccount) {
  const Json input =
      PolicyInput({{"classes", {{"dev", {{"account", {{"providerConfig", "dev"}}}}}}}});
  for (const std::string ns : {"", "team-web"}) {
    SCOPED_TRACE(ns);
    const Rendered r = RunOk(Call{.xr = Xr(Full(), ns),
                                  .observed = {{"lt-general", LaunchTemplate()},
                                               {"controlplane", Cluster(true, "1.33", kIssuer)}},
                                  .input = input});
    const Json want = ns.empty() ? Json({{"name", "dev"}})
                                 : Json({{"kind", "ClusterProviderConfig"}, {"name", "dev"}});
    for (const KindCase& k : Kinds()) {
      EXPECT_EQ(r.Get(k.resource, "spec.providerConfigRef"), want) << k.resource;
    }
    for (const auto& [name, o] : r.resources()) {
      if (name.starts_with("usage-")) {
        EXPECT_EQ(At(o, "spec.providerConfigRef"), nullptr) << name;
      } else {
        EXPECT_EQ(At(o, "spec.providerConfigRef"), want) << name;
      }
    }
  }
  // Without a policy: the default, named.
  EXPECT_EQ(RenderAll().Get("controlplane", "spec.providerConfigRef"), Json({{"name", "default"}}));
}

// --- The control plane and the node groups --------------------------------------------

TEST(Aws, VersionIsReallySetOnTheClusterAndTheNodeGroups) {
  for (const std::string v : {"1.31", "1.32", "1.33", "1.34"}) {
    const Rendered r = RunOk(
        Call{.xr = Xr(With(Params(), {{"kubernetesVersion", v}})),
             .observed = {{"lt-general", LaunchTemplate()}, {"controlplane", Cluster(true, v)}}});
    EXPECT_EQ(r.Get("controlplane", "spec.forProvider.version"), v);
    EXPECT_EQ(r.Get("nodegroup-general", "spec.forProvider.version"), v);
  }
  // The default, before anything is observed.
  const Rendered r = RunOk(Call{.xr = Xr(With(Params(), {{"kubernetesVersion", nullptr}}))});
  EXPECT_EQ(r.Get("controlplane", "spec.forProvider.version"), "1.34");
}

struct UpgradeCase {
  std::string name;
  std::string observed;  // the control plane's version
  std::string want;      // the node groups'
};

void PrintTo(const UpgradeCase& c, std::ostream* os) { *os << c.name; }

class AwsUpgradeTest : public ::testing::TestWithParam<UpgradeCase> {};

TEST_P(AwsUpgradeTest, NodeGroupsNeverRunAheadOfTheControlPlane) {
  const UpgradeCase& c = GetParam();
  const Rendered r = RunOk(Call{
      .xr = Xr(With(Params(), {{"kubernetesVersion", "1.34"}})),
      .observed = {{"lt-general", LaunchTemplate()}, {"controlplane", Cluster(true, c.observed)}}});
  EXPECT_EQ(r.Get("controlplane", "spec.forProvider.version"), "1.34");
  EXPECT_EQ(r.Get("nodegroup-general", "spec.forProvider.version"), c.want);
}

INSTANTIATE_TEST_SUITE_P(Aws, AwsUpgradeTest,
                         ::testing::Values(UpgradeCase{"Upgrading", "1.33", "1.33"},
                                           UpgradeCase{"Upgraded", "1.34", "1.34"},
                                           UpgradeCase{"NotObserved", "", "1.34"},
                                           UpgradeCase{"Unparsable", "latest", "1.34"}),
                         CaseName<UpgradeCase>);

TEST(Aws, NodesAndControlPlaneOnlyInPrivateSubnets) {
  const Json params =
      With(Full(), {{"network", {{"publicSubnetIds", {"subnet-0pub1", "subnet-0pub2"}}}}});
  const Rendered r = RunOk(Call{.xr = Xr(params),
                                .observed = {{"lt-general", LaunchTemplate()},
                                             {"controlplane", Cluster(true, "1.33", kIssuer)}}});
  const Json priv = {"subnet-0a", "subnet-0b", "subnet-0c"};
  EXPECT_EQ(r.Get("controlplane", "spec.forProvider.vpcConfig.subnetIds"), priv);
  EXPECT_EQ(r.Get("nodegroup-general", "spec.forProvider.subnetIds"), priv);
  for (const auto& [name, o] : r.resources()) {
    EXPECT_THAT(o.dump(), ::testing::Not(HasSubstr("subnet-0pub"))) << name;
  }
}

struct EndpointCase {
  std::string name;
  bool private_access;
  bool public_access;
};

void PrintTo(const EndpointCase& c, std::ostream* os) { *os << c.name; }

class AwsEndpointTest : public ::testing::TestWithParam<EndpointCase> {};

TEST_P(AwsEndpointTest, EndpointAccessMapsToTheVpcConfig) {
  const EndpointCase& c = GetParam();
  const Rendered r = RunOk(Call{.xr = Xr(With(Params(), {{"endpointAccess", c.name}}))});
  EXPECT_EQ(r.Get("controlplane", "spec.forProvider.vpcConfig.endpointPrivateAccess"),
            c.private_access);
  EXPECT_EQ(r.Get("controlplane", "spec.forProvider.vpcConfig.endpointPublicAccess"),
            c.public_access);
}

INSTANTIATE_TEST_SUITE_P(Aws, AwsEndpointTest,
                         ::testing::Values(EndpointCase{"Private", true, false},
                                           EndpointCase{"PublicAndPrivate", true, true},
                                           EndpointCase{"Public", false, true}),
                         CaseName<EndpointCase>);

TEST(Aws, TheClusterNamesItsRoleAndBootstrapsAccessAndAddons) {
  const Rendered r = RunOk(Call{.xr = Xr(Params())});
  EXPECT_EQ(r.Get("controlplane", "spec.forProvider.accessConfig"),
            Json({{"authenticationMode", "API_AND_CONFIG_MAP"},
                  {"bootstrapClusterCreatorAdminPermissions", true}}));
  EXPECT_EQ(r.Get("controlplane", "spec.forProvider.bootstrapSelfManagedAddons"), true);
  EXPECT_EQ(r.Get("controlplane", "spec.forProvider.roleArn"), nullptr);
  // No groups given and none mandated: none set.
  EXPECT_EQ(r.Get("controlplane", "spec.forProvider.vpcConfig.securityGroupIds"), nullptr);
}

// The nodes are in the cluster's group (which EKS adds only to node groups
// without a launch template), the environment's baseline and every other
// group: a database that admits the baseline admits the pods.
TEST(Aws, SecurityGroupsGoOnTheControlPlaneAndTheNodes) {
  const Rendered r =
      RunOk(Call{.xr = Xr(With(Params(), {{"network", {{"securityGroupIds", {"sg-0user"}}}}})),
                 .observed = {{"lt-general", LaunchTemplate()}, {"controlplane", Cluster(true)}},
                 .input = PolicyInput(
                     {{"classes", {{"dev", {{"securityGroupIds", {"sg-0123456789abcdef0"}}}}}}})});
  EXPECT_EQ(r.Get("controlplane", "spec.forProvider.vpcConfig.securityGroupIds"),
            Json({"sg-0user", "sg-0123456789abcdef0"}));
  EXPECT_EQ(r.Get("lt-general", "spec.forProvider.vpcSecurityGroupIds"),
            Json({"sg-0cluster", "sg-0user", "sg-0123456789abcdef0"}));
  EXPECT_EQ(r.Get("nodegroup-general", "spec.forProvider.launchTemplate"),
            Json({{"id", "lt-0general"}, {"version", "1"}}));
  EXPECT_EQ(r.Get("lt-general", "kind"), "LaunchTemplate");
  EXPECT_EQ(r.Get("lt-general", "apiVersion"), "ec2.aws.upbound.io/v1beta1");
}

// The template holds the instance type and disk (EKS refuses them beside
// one), IMDSv2 only, an encrypted gp3 root volume, and tags the instances
// and volumes as the platform tags everything else.
TEST(Aws, TheLaunchTemplateHoldsTheMachine) {
  const Rendered r = RunOk(Call{
      .xr = Xr(Params()),
      .observed = {{"lt-general", LaunchTemplate("general", 3)}, {"controlplane", Cluster(true)}}});
  const Json fp = r.Get("lt-general", "spec.forProvider");
  EXPECT_EQ(fp["instanceType"], "m6i.large");
  EXPECT_EQ(fp["blockDeviceMappings"],
            Json::parse(R"([{"deviceName": "/dev/xvda", "ebs": [{"volumeSize": 50,
              "volumeType": "gp3", "encrypted": "true", "deleteOnTermination": "true"}]}])"));
  EXPECT_EQ(fp["metadataOptions"][0]["httpTokens"], "required");
  EXPECT_EQ(fp["updateDefaultVersion"], true);
  ASSERT_EQ(fp["tagSpecifications"].size(), 2u);
  for (const Json& spec : fp["tagSpecifications"]) {
    EXPECT_EQ(spec["tags"]["platform.terraforming.io/team"], "payments") << spec;
  }
  EXPECT_EQ(fp["tags"]["platform.terraforming.io/team"], "payments");
  const Json ng = r.Get("nodegroup-general", "spec.forProvider");
  EXPECT_EQ(ng["launchTemplate"], Json({{"id", "lt-0general"}, {"version", "3"}}));
  EXPECT_FALSE(ng.contains("instanceTypes"));
  EXPECT_FALSE(ng.contains("diskSize"));
  EXPECT_TRUE(r.Has("usage-lt-general-by-nodegroup-general"));
}

// The template needs the cluster's group, the node group the template's id
// and version: each waits for the one before.
TEST(Aws, NodeGroupsWaitForTheirLaunchTemplate) {
  const Rendered r = RunOk(Call{.xr = Xr(Params()), .observed = {{"controlplane", Cluster(true)}}});
  EXPECT_TRUE(r.Has("lt-general"));
  EXPECT_FALSE(r.Has("nodegroup-general"));
  EXPECT_EQ(r.Status("nodePools.general.phase"), "WaitingForControlPlane");
  EXPECT_EQ(r.CompositeReady(), pb::READY_FALSE);
  // Before the control plane reports its group, not even the template.
  Json creating = Cluster(true);
  creating["status"]["atProvider"].erase("vpcConfig");
  const Rendered early = RunOk(Call{.xr = Xr(Params()), .observed = {{"controlplane", creating}}});
  EXPECT_FALSE(early.Has("lt-general"));
}

// EKS cannot add a launch template to an existing node group: one made
// without keeps its shape rather than fail every update.
TEST(Aws, ANodeGroupMadeWithoutALaunchTemplateKeepsItsShape) {
  Json legacy = ReadyObj();
  legacy["spec"] = {{"forProvider", {{"instanceTypes", {"m6i.large"}}, {"diskSize", 50}}}};
  const Rendered r =
      RunOk(Call{.xr = Xr(Params()),
                 .observed = {{"controlplane", Cluster(true)}, {"nodegroup-general", legacy}}});
  EXPECT_FALSE(r.Has("lt-general"));
  EXPECT_EQ(r.Get("nodegroup-general", "spec.forProvider.instanceTypes"), Json({"m6i.large"}));
  EXPECT_EQ(r.Get("nodegroup-general", "spec.forProvider.launchTemplate"), nullptr);
}

TEST(Aws, ExternalNamesAreTheEksNames) {
  const Rendered claim =
      RunOk(Call{.xr = Xr(Params()),
                 .observed = {{"lt-general", LaunchTemplate()}, {"controlplane", Cluster(true)}}});
  EXPECT_EQ(claim.Get("controlplane", "metadata.annotations[crossplane.io/external-name]"),
            "payments-eks");
  EXPECT_EQ(claim.Get("nodegroup-general", "metadata.annotations[crossplane.io/external-name]"),
            "general");
  const Rendered ns =
      RunOk(Call{.xr = Xr(Params(), "team-web"),
                 .observed = {{"lt-general", LaunchTemplate()}, {"controlplane", Cluster(true)}}});
  EXPECT_EQ(ns.Get("controlplane", "metadata.annotations[crossplane.io/external-name]"),
            "team-web-payments-eks");
  EXPECT_EQ(ns.Status("clusterName"), "team-web-payments-eks");
  // IAM roles keep Crossplane's generated (unique) names.
  EXPECT_EQ(ns.Get("role-nodes", "metadata.annotations"), nullptr);
}

TEST(Aws, PoolFieldsMapToTheNodeGroup) {
  const Json pools = {{{"name", "batch"},
                       {"instanceType", "m7g.large"},
                       {"minSize", 2},
                       {"maxSize", 5},
                       {"desiredSize", 3},
                       {"capacityType", "SPOT"},
                       {"diskSize", 100},
                       {"labels", {{"workload", "batch"}}},
                       {"taints",
                        {{{"key", "a"}, {"value", "1"}, {"effect", "NoSchedule"}},
                         {{"key", "b"}, {"value", "2"}, {"effect", "NoExecute"}},
                         {{"key", "c"}, {"value", "3"}, {"effect", "PreferNoSchedule"}}}}},
                      {{"name", "general"}, {"instanceType", "m6i.large"}}};
  const Rendered r = RunOk(Call{.xr = Xr(With(Params(), {{"nodePools", pools}})),
                                .observed = {{"lt-general", LaunchTemplate()},
                                             {"lt-batch", LaunchTemplate("batch")},
                                             {"controlplane", Cluster(true)}}});
  const std::string ng = "nodegroup-batch";
  EXPECT_EQ(r.Get("lt-batch", "spec.forProvider.instanceType"), "m7g.large");
  EXPECT_EQ(r.Get("lt-batch", "spec.forProvider.blockDeviceMappings[0].ebs[0].volumeSize"), 100);
  EXPECT_EQ(r.Get(ng, "spec.forProvider.launchTemplate.id"), "lt-0batch");
  EXPECT_EQ(r.Get(ng, "spec.forProvider.capacityType"), "SPOT");
  EXPECT_EQ(r.Get(ng, "spec.forProvider.amiType"), "AL2023_ARM_64_STANDARD");
  EXPECT_EQ(r.Get(ng, "spec.forProvider.labels"), Json({{"workload", "batch"}}));
  EXPECT_EQ(r.Get(ng, "spec.forProvider.taint"),
            Json::array({{{"key", "a"}, {"value", "1"}, {"effect", "NO_SCHEDULE"}},
                         {{"key", "b"}, {"value", "2"}, {"effect", "NO_EXECUTE"}},
                         {{"key", "c"}, {"value", "3"}, {"effect", "PREFER_NO_SCHEDULE"}}}));
  // min and max are enforced; desiredSize is only the size on creation, so
  // the cluster autoscaler owns it afterwards.
  EXPECT_EQ(r.Get(ng, "spec.forProvider.scalingConfig"), Json({{"minSize", 2}, {"maxSize", 5}}));
  EXPECT_EQ(r.Get(ng, "spec.initProvider"), Json({{"scalingConfig", {{"desiredSize", 3}}}}));
  EXPECT_EQ(r.Get("nodegroup-general", "spec.forProvider.capacityType"), "ON_DEMAND");
  EXPECT_EQ(r.Get("nodegroup-general", "spec.forProvider.amiType"), "AL2023_x86_64_STANDARD");
  EXPECT_EQ(r.Get("nodegroup-general", "spec.forProvider.taint"), nullptr);
  EXPECT_EQ(r.Get("nodegroup-general", "spec.forProvider.labels"), nullptr);
}

TEST(Aws, RolesTrustTheirServiceAndCarryTheEksPolicies) {
  const Rendered r = RunOk(Call{.xr = Xr(Params())});
  for (const auto& [role, service] : std::map<std::string, std::string>{
           {"role-controlplane", "eks.amazonaws.com"}, {"role-nodes", "ec2.amazonaws.com"}}) {
    const Json policy =
        Json::parse(r.Get(role, "spec.forProvider.assumeRolePolicy").get<std::string>());
    EXPECT_EQ(policy["Statement"][0]["Principal"]["Service"], service) << role;
    EXPECT_EQ(policy["Statement"][0]["Action"], "sts:AssumeRole") << role;
    EXPECT_EQ(policy["Statement"][0]["Effect"], "Allow") << role;
  }
  for (const auto& [rpa, want] : std::map<std::string, std::pair<std::string, std::string>>{
           {"rpa-controlplane-cluster", {"role-controlplane", "AmazonEKSClusterPolicy"}},
           {"rpa-nodes-worker", {"role-nodes", "AmazonEKSWorkerNodePolicy"}},
           {"rpa-nodes-cni", {"role-nodes", "AmazonEKS_CNI_Policy"}},
           {"rpa-nodes-ecr", {"role-nodes", "AmazonEC2ContainerRegistryReadOnly"}}}) {
    EXPECT_EQ(r.Get(rpa, "spec.forProvider.policyArn"), "arn:aws:iam::aws:policy/" + want.second);
    EXPECT_EQ(r.Get(rpa, "spec.forProvider.roleSelector.matchLabels"),
              Json({{kLabel, want.first}}));
  }
}

TEST(Aws, AddonsWithAVersionAreComposedEksOwnAreNot) {
  const Rendered r = RenderAll();
  EXPECT_EQ(r.Get("addon-coredns", "spec.forProvider.addonName"), "coredns");
  EXPECT_EQ(r.Get("addon-coredns", "spec.forProvider.addonVersion"), "v1.11.4-eksbuild.2");
  EXPECT_EQ(r.Get("addon-coredns", "spec.forProvider.resolveConflictsOnCreate"), "OVERWRITE");
  EXPECT_EQ(r.Get("addon-coredns", "spec.forProvider.resolveConflictsOnUpdate"), "OVERWRITE");
  EXPECT_EQ(r.resources().count("addon-vpc-cni"), 0u);
}

struct EntryCase {
  std::string name;
  Json entry;
  std::string policy_arn;
  Json scope;
};

void PrintTo(const EntryCase& c, std::ostream* os) { *os << c.name; }

class AwsAccessEntryTest : public ::testing::TestWithParam<EntryCase> {};

TEST_P(AwsAccessEntryTest, EntryAndPolicyAssociation) {
  const EntryCase& c = GetParam();
  const Rendered r =
      RunOk(Call{.xr = Xr(With(Params(), {{"accessEntries", {c.entry}}})),
                 .observed = {{"lt-general", LaunchTemplate()}, {"controlplane", Cluster(true)}}});
  std::string entry, policy;
  for (const std::string& n : r.names()) {
    if (n.starts_with("accessentry-")) entry = n;
    if (n.starts_with("accesspolicy-")) policy = n;
  }
  ASSERT_FALSE(entry.empty());
  EXPECT_EQ(entry.substr(std::string("accessentry-").size()),
            policy.substr(std::string("accesspolicy-").size()));
  EXPECT_EQ(r.Get(entry, "spec.forProvider.principalArn"), c.entry["principalArn"]);
  EXPECT_EQ(r.Get(entry, "spec.forProvider.type"), "STANDARD");
  EXPECT_EQ(r.Get(policy, "spec.forProvider.policyArn"), c.policy_arn);
  EXPECT_EQ(r.Get(policy, "spec.forProvider.accessScope"), c.scope);
}

// Entries are named by their principal: reordering or removing one leaves
// the others' names (and so their resources) as they are.
TEST(AwsAccessEntries, NamedByPrincipalNotPosition) {
  const Json admins = {{"principalArn", "arn:aws:iam::123456789012:role/admins"}};
  const Json devs = {{"principalArn", "arn:aws:iam::123456789012:role/devs"}};
  auto entries = [](const Rendered& r) {
    Names out;
    for (const std::string& n : r.names()) {
      if (n.starts_with("accessentry-")) out.insert(n);
    }
    return out;
  };
  const Rendered both =
      RunOk(Call{.xr = Xr(With(Params(), {{"accessEntries", {admins, devs}}})),
                 .observed = {{"lt-general", LaunchTemplate()}, {"controlplane", Cluster(true)}}});
  const Rendered swapped =
      RunOk(Call{.xr = Xr(With(Params(), {{"accessEntries", {devs, admins}}})),
                 .observed = {{"lt-general", LaunchTemplate()}, {"controlplane", Cluster(true)}}});
  const Rendered devs_only =
      RunOk(Call{.xr = Xr(With(Params(), {{"accessEntries", {devs}}})),
                 .observed = {{"lt-general", LaunchTemplate()}, {"controlplane", Cluster(true)}}});
  EXPECT_EQ(entries(both), Names({"accessentry-bb782724", "accessentry-b4c6f40e"}));
  EXPECT_EQ(entries(swapped), entries(both));
  EXPECT_EQ(entries(devs_only), Names({"accessentry-b4c6f40e"}));
  EXPECT_EQ(devs_only.Get("accessentry-b4c6f40e", "spec.forProvider.principalArn"),
            devs["principalArn"]);
}

INSTANTIATE_TEST_SUITE_P(
    Aws, AwsAccessEntryTest,
    ::testing::Values(
        EntryCase{
            "ClusterAdmin",
            {{"principalArn", "arn:aws:iam::123456789012:role/admins"}, {"policy", "ClusterAdmin"}},
            "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
            {{"type", "cluster"}}},
        EntryCase{"EditInNamespaces",
                  {{"principalArn", "arn:aws:iam::123456789012:role/devs"},
                   {"policy", "Edit"},
                   {"namespaces", {"payments", "jobs"}}},
                  "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy",
                  {{"type", "namespace"}, {"namespaces", {"payments", "jobs"}}}},
        EntryCase{"ViewByDefault",
                  {{"principalArn", "arn:aws:iam::123456789012:user/auditor"}},
                  "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
                  {{"type", "cluster"}}}),
    CaseName<EntryCase>);

// --- Selectors ----------------------------------------------------------------------

struct SelectorCase {
  std::string resource;
  std::string field;  // under spec.forProvider
  std::string target;
};

TEST(Aws, EveryReferenceIsASelectorOnTheResourceLabel) {
  const Rendered r = RenderAll();
  const std::vector<SelectorCase> cases = {
      {"controlplane", "roleArnSelector", "role-controlplane"},
      {"nodegroup-general", "clusterNameSelector", "controlplane"},
      {"nodegroup-general", "nodeRoleArnSelector", "role-nodes"},
      {"addon-coredns", "clusterNameSelector", "controlplane"},
      {"accessentry-bb782724", "clusterNameSelector", "controlplane"},
      {"accesspolicy-bb782724", "clusterNameSelector", "controlplane"},
      {"accesspolicy-bb782724", "principalArnSelector", "accessentry-bb782724"},
      {"clusterauth", "clusterNameSelector", "controlplane"},
      {"rpa-controlplane-cluster", "roleSelector", "role-controlplane"},
      {"rpa-nodes-ecr", "roleSelector", "role-nodes"},
  };
  for (const SelectorCase& c : cases) {
    EXPECT_EQ(r.Get(c.resource, "spec.forProvider." + c.field),
              Json({{"matchControllerRef", true}, {"matchLabels", {{kLabel, c.target}}}}))
        << c.resource << " " << c.field;
    // The selector finds its target: the target carries the label.
    EXPECT_EQ(r.Get(c.target, std::string("metadata.labels[") + kLabel + "]"), c.target);
  }
  // No ids the user must copy.
  for (const auto& [resource, field] :
       std::vector<std::pair<std::string, std::string>>{{"controlplane", "roleArn"},
                                                        {"nodegroup-general", "clusterName"},
                                                        {"nodegroup-general", "nodeRoleArn"},
                                                        {"accesspolicy-bb782724", "principalArn"},
                                                        {"clusterauth", "clusterName"}}) {
    EXPECT_EQ(r.Get(resource, "spec.forProvider." + field), nullptr) << resource << " " << field;
  }
}

// --- Usages -------------------------------------------------------------------------

struct UsageCase {
  std::string of;
  std::string of_kind;
  std::string of_version;  // of the cluster-scoped kind
  std::string by;
  std::string by_kind;
  std::string by_version;
};

const std::vector<UsageCase>& Usages() {
  static const auto* const usages = new std::vector<UsageCase>{
      {"role-controlplane", "Role", "iam.aws.upbound.io/v1beta1", "controlplane", "Cluster",
       "eks.aws.upbound.io/v1beta2"},
      {"rpa-controlplane-cluster", "RolePolicyAttachment", "iam.aws.upbound.io/v1beta1",
       "controlplane", "Cluster", "eks.aws.upbound.io/v1beta2"},
      {"rpa-nodes-worker", "RolePolicyAttachment", "iam.aws.upbound.io/v1beta1", "controlplane",
       "Cluster", "eks.aws.upbound.io/v1beta2"},
      {"rpa-nodes-cni", "RolePolicyAttachment", "iam.aws.upbound.io/v1beta1", "controlplane",
       "Cluster", "eks.aws.upbound.io/v1beta2"},
      {"rpa-nodes-ecr", "RolePolicyAttachment", "iam.aws.upbound.io/v1beta1", "controlplane",
       "Cluster", "eks.aws.upbound.io/v1beta2"},
      {"controlplane", "Cluster", "eks.aws.upbound.io/v1beta2", "nodegroup-general", "NodeGroup",
       "eks.aws.upbound.io/v1beta2"},
      {"role-nodes", "Role", "iam.aws.upbound.io/v1beta1", "nodegroup-general", "NodeGroup",
       "eks.aws.upbound.io/v1beta2"},
      {"lt-general", "LaunchTemplate", "ec2.aws.upbound.io/v1beta1", "nodegroup-general",
       "NodeGroup", "eks.aws.upbound.io/v1beta2"},
      {"controlplane", "Cluster", "eks.aws.upbound.io/v1beta2", "addon-coredns", "Addon",
       "eks.aws.upbound.io/v1beta1"},
      {"controlplane", "Cluster", "eks.aws.upbound.io/v1beta2", "accessentry-bb782724",
       "AccessEntry", "eks.aws.upbound.io/v1beta1"},
      {"accessentry-bb782724", "AccessEntry", "eks.aws.upbound.io/v1beta1", "accesspolicy-bb782724",
       "AccessPolicyAssociation", "eks.aws.upbound.io/v1beta1"},
  };
  return *usages;
}

Json Selector(const std::string& resource) {
  return {{"matchControllerRef", true}, {"matchLabels", {{kLabel, resource}}}};
}

// The namespaced form of a cluster-scoped apiVersion: .m. group, v1beta1.
std::string Namespaced(const std::string& api_version) {
  std::string group = api_version.substr(0, api_version.find('/'));
  group.replace(group.find(".aws."), 5, ".aws.m.");
  return group + "/v1beta1";
}

TEST(Aws, DeletionOrderThroughUsagesOfTheComposedVersions) {
  for (const std::string ns : {"", "team-web"}) {
    const Rendered r = RenderAll(ns);
    Names usages;
    for (const auto& [name, unused] : r.resources()) {
      if (name.starts_with("usage-")) usages.insert(name);
    }
    Names want;
    for (const UsageCase& u : Usages()) {
      const std::string name = "usage-" + u.of + "-by-" + u.by;
      want.insert(name);
      EXPECT_EQ(r.Get(name, "apiVersion"), "protection.crossplane.io/v1beta1");
      EXPECT_EQ(r.Get(name, "kind"), ns.empty() ? "ClusterUsage" : "Usage");
      EXPECT_EQ(r.Get(name, "spec.replayDeletion"), true) << name;
      EXPECT_EQ(r.Get(name, "spec.of"),
                Json({{"apiVersion", ns.empty() ? u.of_version : Namespaced(u.of_version)},
                      {"kind", u.of_kind},
                      {"resourceSelector", Selector(u.of)}}))
          << name;
      EXPECT_EQ(r.Get(name, "spec.by"),
                Json({{"apiVersion", ns.empty() ? u.by_version : Namespaced(u.by_version)},
                      {"kind", u.by_kind},
                      {"resourceSelector", Selector(u.by)}}))
          << name;
      // The usage names the version the object is composed at.
      EXPECT_EQ(r.Get(name, "spec.of.apiVersion"), r.Get(u.of, "apiVersion")) << name;
      EXPECT_EQ(r.Get(name, "spec.by.apiVersion"), r.Get(u.by, "apiVersion")) << name;
    }
    EXPECT_EQ(usages, want) << "namespace " << ns;
  }
}

// --- Tags and region ------------------------------------------------------------------

TEST(Aws, TaggableKindsCarryUserAndMandatedTagsOthersNone) {
  const Json params =
      With(Full(), {{"tags", {{"owner", "oncall"}, {"platform.terraforming.io/team", "evil"}}}});
  const Rendered r = RunOk(Call{.xr = Xr(params),
                                .observed = {{"lt-general", LaunchTemplate()},
                                             {"controlplane", Cluster(true, "1.33", kIssuer)}}});
  const std::set<std::string> untaggable = {"RolePolicyAttachment", "AccessPolicyAssociation",
                                            "ClusterAuth", "ClusterUsage"};
  int tagged = 0;
  for (const auto& [name, o] : r.resources()) {
    const Json tags = At(o, "spec.forProvider.tags");
    if (untaggable.count(At(o, "kind").get<std::string>()) > 0) {
      EXPECT_EQ(tags, nullptr) << name;
      continue;
    }
    ++tagged;
    EXPECT_EQ(tags["owner"], "oncall") << name;
    EXPECT_EQ(tags["platform.terraforming.io/team"], "payments") << name;
    EXPECT_EQ(tags["platform.terraforming.io/environment"], "dev") << name;
    EXPECT_EQ(tags["platform.terraforming.io/cost-center"], "cc-1234") << name;
    EXPECT_EQ(tags["platform.terraforming.io/managed-by"], "function-platform") << name;
    EXPECT_EQ(tags["platform.terraforming.io/composite"], kXrName) << name;
  }
  // Roles, cluster, launch template, node group, add-on, access entry, OIDC
  // provider.
  EXPECT_EQ(tagged, 8);
}

TEST(Aws, RegionOnRegionalKindsOnlyIamIsGlobal) {
  const Rendered r = RenderAll();
  for (const auto& [name, o] : r.resources()) {
    if (name.starts_with("usage-")) continue;
    const bool iam = At(o, "apiVersion").get<std::string>().starts_with("iam.");
    EXPECT_EQ(At(o, "spec.forProvider.region"), iam ? Json(nullptr) : Json("eu-west-1")) << name;
  }
}

// --- Readiness ------------------------------------------------------------------------

struct ReadyCase {
  std::string name;
  std::string resource;
  Json observed;
  pb::Ready want;
};

void PrintTo(const ReadyCase& c, std::ostream* os) { *os << c.name; }

class AwsReadyTest : public ::testing::TestWithParam<ReadyCase> {};

TEST_P(AwsReadyTest, ReadyConditionDecides) {
  const ReadyCase& c = GetParam();
  Json observed = {{"lt-general", LaunchTemplate()}, {"controlplane", Cluster(true)}};
  if (!c.observed.is_null()) observed[c.resource] = c.observed;
  const Rendered r = RunOk(Call{.xr = Xr(Full()), .observed = observed});
  EXPECT_EQ(r.Ready(c.resource), c.want);
}

INSTANTIATE_TEST_SUITE_P(
    Aws, AwsReadyTest,
    ::testing::Values(ReadyCase{"ControlPlaneReady", "controlplane", Cluster(true), pb::READY_TRUE},
                      ReadyCase{"NodeGroupReady", "nodegroup-general", ReadyObj(), pb::READY_TRUE},
                      ReadyCase{"NodeGroupActiveButNotReady", "nodegroup-general",
                                Obj({{"atProvider", {{"status", "ACTIVE"}}}}), pb::READY_FALSE},
                      ReadyCase{"NodeGroupNotObserved", "nodegroup-general", nullptr,
                                pb::READY_FALSE},
                      ReadyCase{"RoleReady", "role-nodes", ReadyObj(), pb::READY_TRUE},
                      ReadyCase{"RoleNotReady", "role-nodes",
                                Obj({{"conditions", {{{"type", "Ready"}, {"status", "False"}}}}}),
                                pb::READY_FALSE},
                      ReadyCase{"UsageReady", "usage-controlplane-by-nodegroup-general", ReadyObj(),
                                pb::READY_TRUE},
                      ReadyCase{"UsageNotReady", "usage-controlplane-by-nodegroup-general", Obj(),
                                pb::READY_FALSE},
                      ReadyCase{"ClusterAuthReady", "clusterauth", ReadyObj(), pb::READY_TRUE}),
    CaseName<ReadyCase>);

// --- Status ---------------------------------------------------------------------------

TEST(Aws, StatusPublishesWhatTheClusterReports) {
  const Rendered r = RunOk(
      Call{.xr = Xr(Params()),
           .observed = {
               {"lt-general", LaunchTemplate()},
               {"controlplane", Cluster(true, "1.33", kIssuer)},
               {"nodegroup-general",
                Obj({{"atProvider",
                      {{"status", "ACTIVE"},
                       {"scalingConfig", {{"desiredSize", 2}, {"minSize", 1}, {"maxSize", 3}}}}},
                     {"conditions", ReadyConditions()["conditions"]}})}}});
  EXPECT_EQ(r.Status("clusterName"), "payments-eks");
  EXPECT_EQ(r.Status("namespace"), "team-payments");
  EXPECT_EQ(r.Status("kubeconfigSecretName"), "payments-eks-kubeconfig");
  EXPECT_EQ(r.Status("userKubeconfigSecretName"), nullptr);
  EXPECT_EQ(r.Status("controlPlaneReady"), true);
  EXPECT_EQ(r.Status("version"), "1.33");
  EXPECT_EQ(r.Status("endpoint"), "https://ABCDEF.gr7.eu-west-1.eks.amazonaws.com");
  EXPECT_EQ(r.Status("oidcIssuer"), kIssuer);
  EXPECT_EQ(r.Status("nodePools.general"),
            Json({{"phase", "ACTIVE"}, {"ready", true}, {"replicas", 2}}));
}

TEST(Aws, StatusBeforeAnythingIsObserved) {
  const Rendered r = RunOk(Call{.xr = Xr(Params())});
  EXPECT_EQ(r.Status("controlPlaneReady"), false);
  EXPECT_EQ(r.Status("version"), nullptr);
  EXPECT_EQ(r.Status("endpoint"), nullptr);
  EXPECT_EQ(r.Status("oidcIssuer"), nullptr);
  EXPECT_EQ(r.Status("nodePools.general"),
            Json({{"phase", "WaitingForControlPlane"}, {"ready", false}}));
  // A composed node group not yet reported on.
  const Rendered pending =
      RunOk(Call{.xr = Xr(Params()),
                 .observed = {{"lt-general", LaunchTemplate()}, {"controlplane", Cluster(true)}}});
  EXPECT_EQ(pending.Status("nodePools.general"), Json({{"phase", "Pending"}, {"ready", false}}));
}

TEST(Aws, AnnouncesNewResourcesOnce) {
  const Rendered first = RunOk(Call{.xr = Xr(Params())});
  ASSERT_EQ(first.Normal().size(), 1u);
  EXPECT_THAT(first.Normal()[0],
              HasSubstr("creating 12 resources for the EKS cluster payments-eks (AWS provider)"));
  EXPECT_THAT(first.Normal()[0], HasSubstr("node pools general wait for the control plane"));
  Json all = {{"lt-general", LaunchTemplate()}, {"controlplane", Cluster(true)}};
  for (const std::string& n : Union({kBase, kPool, kAuth})) {
    if (n != "controlplane") all[n] = ReadyObj();
  }
  const Rendered steady = RunOk(Call{.xr = Xr(Params()), .observed = all});
  EXPECT_TRUE(steady.Normal().empty());
  EXPECT_EQ(steady.names(), Union({kBase, kPool, kAuth}));
  EXPECT_EQ(steady.CompositeReady(), pb::READY_UNSPECIFIED);
}

// --- Kubeconfig -----------------------------------------------------------------------

TEST(AwsKubeconfig, ClusterAuthWritesItNextToTheClaim) {
  const Rendered claim =
      RunOk(Call{.xr = Xr(Params()),
                 .observed = {{"lt-general", LaunchTemplate()}, {"controlplane", Cluster(true)}}});
  EXPECT_EQ(claim.Get("clusterauth", "spec.writeConnectionSecretToRef"),
            Json({{"name", "payments-eks-kubeconfig"}, {"namespace", "team-payments"}}));
  const Rendered ns =
      RunOk(Call{.xr = Xr(Params(), "team-web"),
                 .observed = {{"lt-general", LaunchTemplate()}, {"controlplane", Cluster(true)}}});
  // Namespaced managed resources write to their own namespace.
  EXPECT_EQ(ns.Get("clusterauth", "spec.writeConnectionSecretToRef"),
            Json({{"name", "payments-eks-kubeconfig"}}));
}

TEST(AwsKubeconfig, PublishedFromClusterAuthsConnectionDetails) {
  const Rendered r = RunWithDetails(
      Call{.xr = Xr(Params()),
           .observed = {{"lt-general", LaunchTemplate()},
                        {"controlplane", Cluster(true)},
                        {"clusterauth", ReadyObj()}}},
      {{"clusterauth", {{"kubeconfig", "apiVersion: v1\n"}, {"endpoint", "https://x"}}}});
  const auto& details = r.proto().desired().composite().connection_details();
  ASSERT_EQ(details.count("kubeconfig"), 1u) << r.proto().DebugString();
  EXPECT_EQ(details.at("kubeconfig"), "apiVersion: v1\n");
  EXPECT_EQ(details.size(), 1u);
  // No need to read the Secret.
  EXPECT_FALSE(r.proto().has_requirements()) << r.proto().DebugString();
}

TEST(AwsKubeconfig, NotPublishedForNamespacedXrs) {
  const Rendered r = RunWithDetails(Call{.xr = Xr(Params(), "team-web"),
                                         .observed = {{"lt-general", LaunchTemplate()},
                                                      {"controlplane", Cluster(true)},
                                                      {"clusterauth", ReadyObj()}}},
                                    {{"clusterauth", {{"kubeconfig", "apiVersion: v1\n"}}}});
  EXPECT_EQ(r.proto().desired().composite().connection_details_size(), 0);
  EXPECT_FALSE(r.proto().has_requirements());
}

TEST(AwsKubeconfig, NothingBeforeClusterAuthExists) {
  const Rendered r =
      RunOk(Call{.xr = Xr(Params()),
                 .observed = {{"lt-general", LaunchTemplate()}, {"controlplane", Cluster(true)}}});
  EXPECT_EQ(r.proto().desired().composite().connection_details_size(), 0);
  EXPECT_FALSE(r.proto().has_requirements());
}

TEST(AwsKubeconfig, NotPublishedWhileTheControlPlaneIsNotReady) {
  const Rendered r = RunWithDetails(
      Call{.xr = Xr(Params()),
           .observed = {{"controlplane", Cluster(false)}, {"clusterauth", ReadyObj()}}},
      {{"clusterauth", {{"kubeconfig", "apiVersion: v1\n"}}}});
  EXPECT_EQ(r.proto().desired().composite().connection_details_size(), 0);
}

TEST(AwsKubeconfig, ReadFromTheSecretWhenCrossplanePassesNoConnectionDetails) {
  const Call call{.xr = Xr(Params()),
                  .observed = {{"lt-general", LaunchTemplate()},
                               {"controlplane", Cluster(true)},
                               {"clusterauth", ReadyObj()}}};
  const Rendered asked = RunOk(call);
  ASSERT_EQ(asked.proto().requirements().resources().count("kubeconfig"), 1u)
      << asked.proto().DebugString();
  const pb::ResourceSelector& s = asked.proto().requirements().resources().at("kubeconfig");
  EXPECT_EQ(s.kind(), "Secret");
  EXPECT_EQ(s.match_name(), "payments-eks-kubeconfig");
  EXPECT_EQ(s.namespace_(), "team-payments");

  Call answered = call;
  // "apiVersion: v1\n" in base64, under ClusterAuth's key.
  answered.required = {
      {"kubeconfig",
       {{{"apiVersion", "v1"},
         {"kind", "Secret"},
         {"metadata", {{"name", "payments-eks-kubeconfig"}, {"namespace", "team-payments"}}},
         {"data", {{"kubeconfig", "YXBpVmVyc2lvbjogdjEK"}}}}}}};
  const Rendered r = RunOk(answered);
  const auto& details = r.proto().desired().composite().connection_details();
  ASSERT_EQ(details.count("kubeconfig"), 1u) << r.proto().DebugString();
  EXPECT_EQ(details.at("kubeconfig"), "apiVersion: v1\n");
}

// --- IAM: Pod Identity, support policy, logs, team access -----------------------------

const Json kAgent = {{"name", "eks-pod-identity-agent"}, {"version", "v1.3.4-eksbuild.1"}};
const Json kEbs = {{"name", "aws-ebs-csi-driver"}, {"version", "v1.44.0-eksbuild.1"}};

// The EBS CSI driver gets a role EKS Pod Identity may assume, with AWS's
// policy for it, associated with its controller's service account once the
// cluster exists; the add-on installs once the association is ready.
TEST(Aws, TheEbsCsiDriverGetsItsRoleThroughPodIdentity) {
  const Json params = With(Params(), {{"addons", {kAgent, kEbs}}});
  const Rendered first = RunOk(Call{.xr = Xr(params)});
  EXPECT_TRUE(first.Has("role-ebs-csi"));
  EXPECT_EQ(first.Get("rpa-ebs-csi", "spec.forProvider.policyArn"),
            "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy");
  EXPECT_EQ(Json::parse(first.Get("role-ebs-csi", "spec.forProvider.assumeRolePolicy")
                            .get<std::string>())["Statement"][0],
            Json::parse(R"({"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
                            "Action": ["sts:AssumeRole", "sts:TagSession"]})"));
  EXPECT_FALSE(first.Has("podidentity-ebs-csi"));

  const Rendered ready =
      RunOk(Call{.xr = Xr(params),
                 .observed = {{"lt-general", LaunchTemplate()}, {"controlplane", Cluster(true)}}});
  const Json fp = ready.Get("podidentity-ebs-csi", "spec.forProvider");
  EXPECT_EQ(fp["clusterNameSelector"]["matchLabels"][kLabel], "controlplane");
  EXPECT_EQ(fp["namespace"], "kube-system");
  EXPECT_EQ(fp["serviceAccount"], "ebs-csi-controller-sa");
  EXPECT_EQ(fp["roleArnSelector"]["matchLabels"][kLabel], "role-ebs-csi");
  EXPECT_EQ(ready.Get("podidentity-ebs-csi", "apiVersion"), "eks.aws.upbound.io/v1beta1");
  EXPECT_TRUE(ready.Has("usage-controlplane-by-podidentity-ebs-csi"));
  EXPECT_TRUE(ready.Has("addon-eks-pod-identity-agent"));
  EXPECT_FALSE(ready.Has("addon-aws-ebs-csi-driver"));

  const Rendered associated = RunOk(Call{.xr = Xr(params),
                                         .observed = {{"lt-general", LaunchTemplate()},
                                                      {"controlplane", Cluster(true)},
                                                      {"podidentity-ebs-csi", ReadyObj()}}});
  EXPECT_EQ(associated.Get("addon-aws-ebs-csi-driver", "spec.forProvider.addonName"),
            "aws-ebs-csi-driver");
}

TEST(Aws, PodIdentityNeedsItsAgent) {
  const pb::RunFunctionResponse rsp =
      RunProto(Call{.xr = Xr(With(Params(), {{"addons", {kEbs}}}))});
  ASSERT_EQ(rsp.results_size(), 1);
  EXPECT_EQ(rsp.results(0).message(),
            "spec.parameters.addons: aws-ebs-csi-driver gets its AWS permissions through EKS Pod "
            "Identity; list eks-pod-identity-agent (with a version) too");
  const pb::RunFunctionResponse prod =
      RunProto(Call{.xr = Xr(With(Params(), {{"environment", "prod"}}))});
  ASSERT_EQ(prod.results_size(), 1);
  EXPECT_THAT(prod.results(0).message(),
              HasSubstr("prod clusters give the VPC CNI its AWS permissions through EKS Pod "
                        "Identity (policy classes.prod.cluster.vpcCniPodIdentity)"));
}

// Where the class gives the CNI its own role, the nodes' role never gets the
// CNI policy, and the node groups come after the association, so every
// aws-node pod starts with the CNI's own credentials.
TEST(Aws, TheCniGetsItsOwnRoleWhereTheClassAsks) {
  const Json params = With(Params(), {{"environment", "prod"}, {"addons", {kAgent}}});
  const Rendered first = RunOk(Call{.xr = Xr(params)});
  EXPECT_FALSE(first.Has("rpa-nodes-cni"));
  EXPECT_FALSE(first.Has("usage-rpa-nodes-cni-by-controlplane"));
  EXPECT_EQ(first.Get("rpa-vpc-cni", "spec.forProvider.policyArn"),
            "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy");

  const Json cp_ready = {{"lt-general", LaunchTemplate()}, {"controlplane", Cluster(true)}};
  const Rendered waiting = RunOk(Call{.xr = Xr(params), .observed = cp_ready});
  EXPECT_EQ(waiting.Get("podidentity-vpc-cni", "spec.forProvider.serviceAccount"), "aws-node");
  EXPECT_FALSE(waiting.Has("nodegroup-general"));
  EXPECT_EQ(waiting.Status("nodePools.general.phase"), "WaitingForControlPlane");

  Json associated = cp_ready;
  associated["podidentity-vpc-cni"] = ReadyObj();
  EXPECT_TRUE(RunOk(Call{.xr = Xr(params), .observed = associated}).Has("nodegroup-general"));

  // A cluster made with the policy on its nodes keeps it: its running
  // aws-node pods may still use it.
  Json had = cp_ready;
  had["rpa-nodes-cni"] = ReadyObj();
  EXPECT_TRUE(RunOk(Call{.xr = Xr(params), .observed = had}).Has("rpa-nodes-cni"));
  // Without the class's word, the nodes' role has it as before.
  EXPECT_TRUE(RunOk(Call{.xr = Xr(Params())}).Has("rpa-nodes-cni"));
}

TEST(Aws, SupportPolicyAndControlPlaneLogsFollowTheClass) {
  const Rendered dev = RunOk(Call{.xr = Xr(Params())});
  EXPECT_EQ(dev.Get("controlplane", "spec.forProvider.upgradePolicy"),
            Json({{"supportType", "STANDARD"}}));
  EXPECT_EQ(dev.Get("controlplane", "spec.forProvider.enabledClusterLogTypes"), Json::array());
  const Rendered prod =
      RunOk(Call{.xr = Xr(With(Params(), {{"environment", "prod"}, {"addons", {kAgent}}}))});
  EXPECT_EQ(prod.Get("controlplane", "spec.forProvider.upgradePolicy"),
            Json({{"supportType", "EXTENDED"}}));
  EXPECT_EQ(prod.Get("controlplane", "spec.forProvider.enabledClusterLogTypes"),
            Json({"api", "audit", "authenticator"}));
  const Rendered chosen =
      RunOk(Call{.xr = Xr(Params()),
                 .input = PolicyInput({{"classes",
                                        {{"dev",
                                          {{"cluster",
                                            {{"upgradePolicy", "Extended"},
                                             {"controlPlaneLogs", {"audit", "scheduler"}}}}}}}}})});
  EXPECT_EQ(chosen.Get("controlplane", "spec.forProvider.upgradePolicy.supportType"), "EXTENDED");
  EXPECT_EQ(chosen.Get("controlplane", "spec.forProvider.enabledClusterLogTypes"),
            Json({"audit", "scheduler"}));
}

// The policy's cluster access rules give the team's role its entry on every
// EKS cluster of the team; for a principal the XR lists too, the policy's
// access wins (EKS takes one entry per principal).
TEST(Aws, TheTeamsRoleGetsTheAccessThePolicyGives) {
  const Json input = PolicyInput({{"clusterAccess",
                                   {{{"name", "payments-dev"},
                                     {"teams", {"payments"}},
                                     {"classes", {"dev"}},
                                     {"principalArn", "arn:aws:iam::123456789012:role/payments"},
                                     {"accessPolicy", "Edit"},
                                     {"namespaces", {"payments"}}},
                                    {{"name", "web"},
                                     {"teams", {"web"}},
                                     {"principalArn", "arn:aws:iam::123456789012:role/web"},
                                     {"accessPolicy", "Admin"}}}}});
  const Json params =
      With(Params(), {{"accessEntries",
                       {{{"principalArn", "arn:aws:iam::123456789012:role/payments"},
                         {"policy", "ClusterAdmin"}}}}});
  const Rendered r =
      RunOk(Call{.xr = Xr(params),
                 .observed = {{"lt-general", LaunchTemplate()}, {"controlplane", Cluster(true)}},
                 .input = input});
  std::vector<std::string> entries;
  for (const auto& [name, o] : r.resources()) {
    if (name.starts_with("accesspolicy-")) entries.push_back(name);
  }
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(r.Get(entries[0], "spec.forProvider.policyArn"),
            "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy");
  EXPECT_EQ(r.Get(entries[0], "spec.forProvider.accessScope"),
            Json({{"type", "namespace"}, {"namespaces", {"payments"}}}));
}

// Environment + AWS cluster + database, as a team composes them: the
// database admits the environment's baseline group (it has no clients of its
// own) and the nodes are in it, so pods reach the database.
TEST(Aws, TheEnvironmentsDatabaseAdmitsTheNodes) {
  const Json environment = ::platform::fn::testing::ObservedEnvironment(
      "dev", "eu-west-1", ::platform::fn::testing::PublishedNetwork("10.0.0.0/16"));
  const Json required = {{"network-environment", {environment}}};
  const Rendered cluster =
      RunOk(Call{.xr = Xr(With(Params(), {{"network",
                                           {{"environment", "payments-net"},
                                            {"vpcId", nullptr},
                                            {"privateSubnetIds", nullptr}}}})),
                 .observed = {{"lt-general", LaunchTemplate()}, {"controlplane", Cluster(true)}},
                 .required = required});
  const Json nodes = cluster.Get("lt-general", "spec.forProvider.vpcSecurityGroupIds");
  EXPECT_EQ(nodes, Json({"sg-0cluster", "sg-0baseline"}));
  EXPECT_EQ(cluster.Get("nodegroup-general", "spec.forProvider.launchTemplate.id"), "lt-0general");

  const Rendered database = RunOk(Call{.xr = XrOf("XDatabase", "payments-db",
                                                  {{"environment", "dev"},
                                                   {"region", "eu-west-1"},
                                                   {"team", "payments"},
                                                   {"engine", "postgres"},
                                                   {"network", {{"environment", "payments-net"}}}}),
                                       .required = required});
  Names admitted;
  for (const auto& [name, o] : database.resources()) {
    if (At(o, "kind") == "SecurityGroupIngressRule") {
      admitted.insert(At(o, "spec.forProvider.referencedSecurityGroupId").get<std::string>());
    }
  }
  ASSERT_EQ(admitted, Names({"sg-0baseline"}));
  EXPECT_NE(std::find(nodes.begin(), nodes.end(), Json(*admitted.begin())), nodes.end());
}

}  // namespace
}  // namespace platform::fn::renderers
