// The XCluster renderer (Cluster API + EKS) through the Runner and the
// builtin registry, as Crossplane calls it: what is composed per node pool,
// the staging of node pools behind the control plane, the readiness rules,
// the deletion order, and errors naming their field.
#include "function/renderers/xcluster/xcluster.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "function/compose/aws_names.h"
#include "function/policy/policy.h"
#include "function/registry.h"
#include "function/renderers/builtin.h"
#include "function/renderers/xcluster/params.h"
#include "function/runner.h"
#include "function/sdk/fields.h"
#include "function/sdk/strings.h"
#include "function/sdk/struct_json.h"
#include "function/testing/proto_test_util.h"
#include "function/testing/render_test_util.h"
#include "function/testing/rendered.h"

namespace platform::fn::renderers {
namespace {

using ::platform::fn::testing::At;
using ::platform::fn::testing::Call;
using ::platform::fn::testing::Names;
using ::platform::fn::testing::PolicyInput;
using ::platform::fn::testing::Rendered;
using ::platform::fn::testing::RequestOf;
using ::platform::fn::testing::With;
using ::platform::fn::testing::XrOf;

using ::platform::fn::testing::CaseName;
using ::platform::fn::testing::FromJson;
using ::testing::HasSubstr;

using sdk::Json;

constexpr char kXrName[] = "payments-eks";

using ::platform::fn::testing::kManagementCidr;
using ::platform::fn::testing::kTransitGateway;
using ::platform::fn::testing::RunProtoWithPath;
using ::platform::fn::testing::RunWithPath;

Json Xr(const Json& parameters, const std::string& ns = "",
        const std::string& claim_ns = "team-payments") {
  return XrOf("XCluster", kXrName, parameters, ns, claim_ns);
}

// --- Requests ---------------------------------------------------------------------

Json Params(const std::string& environment = "dev") {
  return {{"environment", environment},
          {"region", "eu-west-1"},
          {"team", "payments"},
          {"costCenter", "cc-1234"},
          {"network",
           {{"vpcId", "vpc-0abc"}, {"privateSubnetIds", {"subnet-0a", "subnet-0b", "subnet-0c"}}}},
          {"nodePools", {{{"name", "general"}, {"instanceType", "m6i.large"}}}}};
}

// Observed objects: what Crossplane reports back once they exist.
Json Obj(const Json& status = Json::object()) { return {{"status", status}}; }
Json ReadyCondition() {
  return {{"conditions", {{{"type", "Ready"}, {"status", "True"}, {"reason", "Available"}}}}};
}
Json ReadyControlPlane() {
  return Obj({{"ready", true}, {"initialized", true}, {"version", "v1.33.5"}});
}
Json NotReadyControlPlane() { return Obj({{"ready", false}}); }

const Names kBase = {"cluster", "awsmanagedcluster", "controlplane"};
// The Pod Identity agent, which prod clusters need for the VPC CNI's role.
const Json kPodIdentityAgent = {
    {{"name", "eks-pod-identity-agent"}, {"version", "v1.3.4-eksbuild.1"}}};

Names PoolNames(const std::vector<std::string>& pools) {
  Names n = kBase;
  for (const std::string& p : pools) {
    n.insert("machinepool-" + p);
    n.insert("awsmachinepool-" + p);
    n.insert("usage-controlplane-by-machinepool-" + p);
    n.insert("usage-controlplane-by-awsmachinepool-" + p);
  }
  return n;
}

// --- Composition per node pool -------------------------------------------------------

struct PoolCase {
  std::string name;
  Json pools;
  std::vector<std::string> expected;
};

void PrintTo(const PoolCase& c, std::ostream* os) { *os << c.name; }

class XClusterPoolTest : public ::testing::TestWithParam<PoolCase> {};

TEST_P(XClusterPoolTest, ComposesAMachinePoolAndANodeGroupPerPool) {
  const PoolCase& c = GetParam();
  const Rendered r = RunWithPath(Call{.xr = Xr(With(Params(), {{"nodePools", c.pools}})),
                                      .observed = {{"controlplane", ReadyControlPlane()}}});
  EXPECT_EQ(r.names(), PoolNames(c.expected));
  for (const std::string& p : c.expected) {
    const std::string object = std::string(kXrName) + "-" + p;
    EXPECT_EQ(r.Get("machinepool-" + p, "apiVersion"), "cluster.x-k8s.io/v1beta2");
    EXPECT_EQ(r.Get("machinepool-" + p, "metadata.name"), object);
    EXPECT_EQ(r.Get("machinepool-" + p, "spec.clusterName"), kXrName);
    EXPECT_EQ(r.Get("machinepool-" + p, "spec.template.spec.infrastructureRef"),
              Json({{"apiGroup", "infrastructure.cluster.x-k8s.io"},
                    {"kind", "AWSManagedMachinePool"},
                    {"name", object}}));
    EXPECT_EQ(r.Get("awsmachinepool-" + p, "apiVersion"),
              "infrastructure.cluster.x-k8s.io/v1beta2");
    EXPECT_EQ(r.Get("awsmachinepool-" + p, "kind"), "AWSManagedMachinePool");
    EXPECT_EQ(r.Get("awsmachinepool-" + p, "metadata.name"), object);
    // Nodes only ever in the private subnets.
    EXPECT_EQ(r.Get("awsmachinepool-" + p, "spec.subnetIDs"),
              Json({"subnet-0a", "subnet-0b", "subnet-0c"}));
  }
}

INSTANTIATE_TEST_SUITE_P(
    XCluster, XClusterPoolTest,
    ::testing::Values(
        PoolCase{"OnePool", {{{"name", "general"}, {"instanceType", "m6i.large"}}}, {"general"}},
        PoolCase{"ThreePools",
                 {{{"name", "general"}, {"instanceType", "m6i.large"}},
                  {{"name", "arm"}, {"instanceType", "m7g.large"}},
                  {{"name", "batch"}, {"instanceType", "c6i.xlarge"}, {"capacityType", "SPOT"}}},
                 {"general", "arm", "batch"}}),
    CaseName<PoolCase>);

TEST(XCluster, PoolFieldsMapToCapa) {
  const Json pools = {
      {{"name", "batch"},
       {"instanceType", "m7g.large"},
       {"minSize", 2},
       {"maxSize", 5},
       {"desiredSize", 3},
       {"capacityType", "SPOT"},
       {"diskSize", 100},
       {"labels", {{"workload", "batch"}}},
       {"taints", {{{"key", "batch"}, {"value", "true"}, {"effect", "NoSchedule"}}}}}};
  const Rendered r = RunWithPath(Call{.xr = Xr(With(Params(), {{"nodePools", pools}})),
                                      .observed = {{"controlplane", ReadyControlPlane()}}});
  const std::string amp = "awsmachinepool-batch";
  EXPECT_EQ(r.Get(amp, "spec.instanceType"), "m7g.large");
  EXPECT_EQ(r.Get(amp, "spec.diskSize"), 100);
  EXPECT_EQ(r.Get(amp, "spec.scaling"), Json({{"minSize", 2}, {"maxSize", 5}}));
  EXPECT_EQ(r.Get(amp, "spec.capacityType"), "spot");
  EXPECT_EQ(r.Get(amp, "spec.amiType"), "AL2023_ARM_64_STANDARD");
  EXPECT_EQ(r.Get(amp, "spec.labels"), Json({{"workload", "batch"}}));
  EXPECT_EQ(r.Get(amp, "spec.taints"),
            Json::array({{{"key", "batch"}, {"value", "true"}, {"effect", "no-schedule"}}}));
  EXPECT_EQ(r.Get("machinepool-batch", "spec.replicas"), 3);
}

TEST(XCluster, AmiTypeFollowsTheInstanceFamily) {
  struct Case {
    std::string family;
    std::string ami;
  };
  for (const Case& c :
       {Case{"m7i", "AL2023_x86_64_STANDARD"}, Case{"m7g", "AL2023_ARM_64_STANDARD"},
        Case{"c7gn", "AL2023_ARM_64_STANDARD"}, Case{"a1", "AL2023_ARM_64_STANDARD"},
        Case{"g5", "AL2023_x86_64_NVIDIA"}, Case{"g6e", "AL2023_x86_64_NVIDIA"},
        Case{"gr6", "AL2023_x86_64_NVIDIA"}, Case{"p5", "AL2023_x86_64_NVIDIA"},
        Case{"p4d", "AL2023_x86_64_NVIDIA"}, Case{"g5g", "AL2023_ARM_64_NVIDIA"},
        Case{"g4ad", "AL2023_x86_64_STANDARD"}, Case{"inf2", "AL2023_x86_64_NEURON"},
        Case{"trn1", "AL2023_x86_64_NEURON"}, Case{"trn2", "AL2023_x86_64_NEURON"}}) {
    EXPECT_EQ(xcluster::AmiType(c.family), c.ami) << c.family;
  }
  // As CAPA's managed machine pool gets it (the AWS provisioner's node group too).
  const Json pools = {{{"name", "gpu"}, {"instanceType", "g6.xlarge"}}};
  const Rendered r = RunWithPath(
      Call{.xr = Xr(With(Params("prod"), {{"nodePools", pools}, {"addons", kPodIdentityAgent}})),
           .observed = {{"controlplane", ReadyControlPlane()},
                        {"podidentity-vpc-cni", Obj(ReadyCondition())}}});
  EXPECT_EQ(r.Get("awsmachinepool-gpu", "spec.amiType"), "AL2023_x86_64_NVIDIA");
}

TEST(XCluster, SecurityGroupsGoThroughALaunchTemplate) {
  const Rendered r = RunWithPath(Call{
      .xr = Xr(With(Params(), {{"network", {{"securityGroupIds", {"sg-0user"}}}}})),
      .observed = {{"controlplane", ReadyControlPlane()}},
      .input =
          PolicyInput({{"classes", {{"dev", {{"securityGroupIds", {"sg-0123456789abcdef0"}}}}}}})});
  const std::string amp = "awsmachinepool-general";
  EXPECT_EQ(r.Get(amp, "spec.instanceType"), nullptr);
  EXPECT_EQ(r.Get(amp, "spec.diskSize"), nullptr);
  EXPECT_EQ(r.Get(amp, "spec.awsLaunchTemplate"),
            Json({{"instanceType", "m6i.large"},
                  {"rootVolume", {{"size", 50}}},
                  {"additionalSecurityGroups",
                   {{{"id", "sg-0user"}}, {{"id", "sg-0123456789abcdef0"}}}}}));
  EXPECT_EQ(r.Get(amp, "spec.amiType"), "AL2023_x86_64_STANDARD");
}

// --- The control plane ------------------------------------------------------------

TEST(XCluster, VersionIsSetOnTheControlPlane) {
  for (const std::string v : {"1.31", "1.32", "1.33", "1.34"}) {
    const Rendered r = RunWithPath(Call{.xr = Xr(With(Params(), {{"kubernetesVersion", v}}))});
    EXPECT_EQ(r.Get("controlplane", "spec.version"), "v" + v);
  }
  const Rendered r = RunWithPath(Call{.xr = Xr(Params())});
  EXPECT_EQ(r.Get("controlplane", "spec.version"), "v1.34");
}

TEST(XCluster, ClusterReferencesItsControlPlaneAndInfrastructure) {
  const Rendered r = RunWithPath(Call{.xr = Xr(Params())});
  EXPECT_EQ(r.Get("cluster", "apiVersion"), "cluster.x-k8s.io/v1beta2");
  EXPECT_EQ(r.Get("cluster", "spec.controlPlaneRef"),
            Json({{"apiGroup", "controlplane.cluster.x-k8s.io"},
                  {"kind", "AWSManagedControlPlane"},
                  {"name", "payments-eks-control-plane"}}));
  EXPECT_EQ(r.Get("cluster", "spec.infrastructureRef"),
            Json({{"apiGroup", "infrastructure.cluster.x-k8s.io"},
                  {"kind", "AWSManagedCluster"},
                  {"name", "payments-eks"}}));
  EXPECT_EQ(r.Get("controlplane", "apiVersion"), "controlplane.cluster.x-k8s.io/v1beta2");
  EXPECT_EQ(r.Get("controlplane", "metadata.name"), "payments-eks-control-plane");
  EXPECT_EQ(r.Get("controlplane", "spec.region"), "eu-west-1");
  EXPECT_EQ(r.Get("controlplane", "spec.eksClusterName"), "payments-eks");
  EXPECT_EQ(
      r.Get("controlplane", "spec.network"),
      Json({{"vpc", {{"id", "vpc-0abc"}}},
            {"subnets", {{{"id", "subnet-0a"}}, {{"id", "subnet-0b"}}, {{"id", "subnet-0c"}}}},
            // The Private endpoint admits the management network.
            {"additionalControlPlaneIngressRules",
             {{{"description", "the management cluster (transit gateway)"},
               {"protocol", "tcp"},
               {"fromPort", 443},
               {"toPort", 443},
               {"cidrBlocks", {kManagementCidr}}}}}}));
  EXPECT_EQ(r.Get("controlplane", "spec.endpointAccess"),
            Json({{"public", false}, {"private", true}}));
}

TEST(XCluster, EndpointAccessAddonsAndAccessEntries) {
  const Json params = With(
      Params(),
      {{"endpointAccess", "PublicAndPrivate"},
       {"addons",
        {{{"name", "vpc-cni"}},
         {{"name", "coredns"}, {"version", "v1.11.4-eksbuild.2"}},
         {{"name", "eks-pod-identity-agent"}, {"version", "v1.3.4-eksbuild.1"}},
         {{"name", "aws-ebs-csi-driver"}, {"version", "v1.44.0-eksbuild.1"}}}},
       {"accessEntries",
        {{{"principalArn", "arn:aws:iam::123456789012:role/admins"}, {"policy", "ClusterAdmin"}},
         {{"principalArn", "arn:aws:iam::123456789012:role/devs"},
          {"policy", "Edit"},
          {"namespaces", {"payments"}}}}}});
  const Rendered r = RunWithPath(Call{.xr = Xr(params)});
  EXPECT_EQ(r.Get("controlplane", "spec.endpointAccess"),
            Json({{"public", true}, {"private", true}}));
  // vpc-cni without a version stays EKS's own; the EBS CSI driver waits for
  // its Pod Identity association, so its pods start with their credentials.
  const Json coredns = {{"name", "coredns"}, {"version", "v1.11.4-eksbuild.2"}};
  const Json agent = {{"name", "eks-pod-identity-agent"}, {"version", "v1.3.4-eksbuild.1"}};
  const Json ebs = {{"name", "aws-ebs-csi-driver"}, {"version", "v1.44.0-eksbuild.1"}};
  EXPECT_EQ(r.Get("controlplane", "spec.addons"), Json::array({coredns, agent}));
  const Rendered later = RunOk(Call{.xr = Xr(params),
                                    .observed = {{"controlplane", ReadyControlPlane()},
                                                 {"podidentity-ebs-csi", Obj(ReadyCondition())}}});
  EXPECT_EQ(later.Get("controlplane", "spec.addons"), Json::array({coredns, agent, ebs}));
  const Json entries = r.Get("controlplane", "spec.accessEntries");
  ASSERT_EQ(entries.size(), 2u) << entries.dump();
  EXPECT_EQ(entries[0]["principalARN"], "arn:aws:iam::123456789012:role/admins");
  EXPECT_EQ(entries[0]["accessPolicies"][0]["policyARN"],
            "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy");
  EXPECT_EQ(entries[0]["accessPolicies"][0]["accessScope"], Json({{"type", "cluster"}}));
  EXPECT_EQ(entries[1]["accessPolicies"][0]["accessScope"],
            Json({{"type", "namespace"}, {"namespaces", {"payments"}}}));
  EXPECT_EQ(r.Get("controlplane", "spec.accessConfig.authenticationMode"), "api_and_config_map");
}

TEST(XCluster, MandatedTagsWinOverUserTags) {
  const Json params =
      With(Params(), {{"tags", {{"owner", "oncall"}, {"platform.terraforming.io/team", "evil"}}}});
  const Rendered r =
      RunWithPath(Call{.xr = Xr(params), .observed = {{"controlplane", ReadyControlPlane()}}});
  for (const std::string name : {"controlplane", "awsmachinepool-general"}) {
    const Json tags = r.Get(name, "spec.additionalTags");
    EXPECT_EQ(tags["owner"], "oncall") << name;
    EXPECT_EQ(tags["platform.terraforming.io/team"], "payments") << name;
    EXPECT_EQ(tags["platform.terraforming.io/environment"], "dev") << name;
    EXPECT_EQ(tags["platform.terraforming.io/cost-center"], "cc-1234") << name;
    EXPECT_EQ(tags["platform.terraforming.io/managed-by"], "function-platform") << name;
  }
}

// --- Staging ----------------------------------------------------------------------

struct StageCase {
  std::string name;
  Json observed;
  bool pools_desired;
};

void PrintTo(const StageCase& c, std::ostream* os) { *os << c.name; }

class XClusterStagingTest : public ::testing::TestWithParam<StageCase> {};

TEST_P(XClusterStagingTest, NodePoolsWaitForTheControlPlaneAndStayOnceObserved) {
  const StageCase& c = GetParam();
  const Rendered r = RunWithPath(Call{.xr = Xr(Params()), .observed = c.observed});
  EXPECT_EQ(r.names(), c.pools_desired ? PoolNames({"general"}) : kBase);
  EXPECT_EQ(r.Status("nodePools.general.phase") == "WaitingForControlPlane", !c.pools_desired);
  if (!c.pools_desired) {
    EXPECT_EQ(r.CompositeReady(), pb::READY_FALSE);
  }
}

INSTANTIATE_TEST_SUITE_P(
    XCluster, XClusterStagingTest,
    ::testing::Values(
        StageCase{"NothingObserved", Json::object(), false},
        StageCase{"ControlPlaneNotReady", {{"controlplane", NotReadyControlPlane()}}, false},
        StageCase{"ControlPlaneReadyFlag", {{"controlplane", ReadyControlPlane()}}, true},
        StageCase{"ControlPlaneReadyCondition", {{"controlplane", Obj(ReadyCondition())}}, true},
        // The guard: once a pool's objects exist they stay desired, even when
        // the control plane flaps to not ready.
        StageCase{"FlappedWithMachinePoolObserved",
                  {{"controlplane", NotReadyControlPlane()}, {"machinepool-general", Obj()}},
                  true},
        StageCase{"FlappedWithNodeGroupObserved",
                  {{"controlplane", NotReadyControlPlane()}, {"awsmachinepool-general", Obj()}},
                  true},
        StageCase{"ControlPlaneGoneButPoolObserved", {{"machinepool-general", Obj()}}, true}),
    CaseName<StageCase>);

TEST(XCluster, OnlyUnobservedPoolsWaitWhenTheControlPlaneFlaps) {
  const Json params = With(Params(), {{"nodePools",
                                       {{{"name", "general"}, {"instanceType", "m6i.large"}},
                                        {{"name", "extra"}, {"instanceType", "m6i.large"}}}}});
  const Rendered r =
      RunWithPath(Call{.xr = Xr(params),
                       .observed = {{"controlplane", NotReadyControlPlane()},
                                    {"machinepool-general", Obj({{"phase", "Running"}})}}});
  Names want = PoolNames({"general"});
  EXPECT_EQ(r.names(), want);
  EXPECT_EQ(r.Status("nodePools.extra.phase"), "WaitingForControlPlane");
  EXPECT_EQ(r.Status("nodePools.general.phase"), "Running");
}

// --- Readiness --------------------------------------------------------------------

struct ReadyCase {
  std::string name;
  std::string resource;
  Json observed;
  pb::Ready want;
};

void PrintTo(const ReadyCase& c, std::ostream* os) { *os << c.name; }

class XClusterReadyTest : public ::testing::TestWithParam<ReadyCase> {};

TEST_P(XClusterReadyTest, FollowsTheRulesOfTheDocs) {
  const ReadyCase& c = GetParam();
  Json observed = {{"controlplane", ReadyControlPlane()}};
  observed[c.resource] = c.observed;
  const Rendered r = RunWithPath(Call{.xr = Xr(Params()), .observed = observed});
  EXPECT_EQ(r.Ready(c.resource), c.want);
}

Json Condition(const std::string& type, const std::string& status) {
  return {{"conditions", {{{"type", type}, {"status", status}, {"reason", "R"}}}}};
}

INSTANTIATE_TEST_SUITE_P(
    XCluster, XClusterReadyTest,
    ::testing::Values(
        ReadyCase{"ClusterAvailable", "cluster", Obj(Condition("Available", "True")),
                  pb::READY_TRUE},
        ReadyCase{"ClusterNotAvailable", "cluster", Obj(Condition("Available", "False")),
                  pb::READY_FALSE},
        ReadyCase{"ClusterProvisioned", "cluster", Obj({{"phase", "Provisioned"}}), pb::READY_TRUE},
        ReadyCase{"ClusterProvisioning", "cluster", Obj({{"phase", "Provisioning"}}),
                  pb::READY_FALSE},
        ReadyCase{"ClusterV1beta1Ready", "cluster",
                  Obj({{"deprecated", {{"v1beta1", Condition("Ready", "True")}}}}), pb::READY_TRUE},
        ReadyCase{"ClusterNotObserved", "cluster", nullptr, pb::READY_FALSE},
        ReadyCase{"ControlPlaneReady", "controlplane", ReadyControlPlane(), pb::READY_TRUE},
        ReadyCase{"InfraClusterReady", "awsmanagedcluster", Obj({{"ready", true}}), pb::READY_TRUE},
        ReadyCase{"InfraClusterNotReady", "awsmanagedcluster", Obj({{"ready", false}}),
                  pb::READY_FALSE},
        ReadyCase{"MachinePoolRunning", "machinepool-general", Obj({{"phase", "Running"}}),
                  pb::READY_TRUE},
        ReadyCase{"MachinePoolScalingUp", "machinepool-general", Obj({{"phase", "ScalingUp"}}),
                  pb::READY_FALSE},
        ReadyCase{"NodeGroupReady", "awsmachinepool-general", Obj({{"ready", true}}),
                  pb::READY_TRUE},
        ReadyCase{"UsageReady", "usage-controlplane-by-machinepool-general", Obj(ReadyCondition()),
                  pb::READY_TRUE},
        ReadyCase{"UsageNotReady", "usage-controlplane-by-machinepool-general", Obj(),
                  pb::READY_FALSE}),
    CaseName<ReadyCase>);

TEST(XCluster, StatusPublishesWhatConsumersNeed) {
  Json cp = ReadyControlPlane();
  cp["spec"] = {
      {"controlPlaneEndpoint", {{"host", "ABC.gr7.eu-west-1.eks.amazonaws.com"}, {"port", 443}}}};
  const Rendered r = RunWithPath(
      Call{.xr = Xr(Params()),
           .observed = {{"controlplane", cp},
                        {"machinepool-general",
                         Obj({{"phase", "Running"}, {"replicas", 1}, {"readyReplicas", 1}})}}});
  EXPECT_EQ(r.Status("clusterName"), "payments-eks");
  EXPECT_EQ(r.Status("namespace"), "team-payments");
  EXPECT_EQ(r.Status("kubeconfigSecretName"), "payments-eks-kubeconfig");
  EXPECT_EQ(r.Status("version"), "v1.33.5");
  EXPECT_EQ(r.Status("endpoint"), "https://ABC.gr7.eu-west-1.eks.amazonaws.com");
  EXPECT_EQ(r.Status("controlPlaneReady"), true);
  EXPECT_EQ(r.Status("nodePools.general"),
            Json({{"phase", "Running"}, {"ready", true}, {"replicas", 1}, {"readyReplicas", 1}}));
}

TEST(XCluster, AnnouncesNewResourcesOnce) {
  const Rendered first = RunWithPath(Call{.xr = Xr(Params())});
  ASSERT_EQ(first.Normal().size(), 1u);
  EXPECT_THAT(first.Normal()[0],
              HasSubstr("creating 3 resources for the EKS cluster payments-eks"));
  EXPECT_THAT(first.Normal()[0], HasSubstr("node pools general wait for the control plane"));
  Json all = Json::object();
  for (const std::string& n : PoolNames({"general"})) all[n] = Obj(ReadyCondition());
  const Rendered steady = RunWithPath(Call{.xr = Xr(Params()), .observed = all});
  EXPECT_TRUE(steady.Normal().empty());
  EXPECT_EQ(steady.CompositeReady(), pb::READY_UNSPECIFIED);
}

// --- Usages and scope -------------------------------------------------------------

TEST(XCluster, NodePoolsAreDeletedBeforeTheControlPlane) {
  const Rendered r =
      RunWithPath(Call{.xr = Xr(Params()), .observed = {{"controlplane", ReadyControlPlane()}}});
  for (const auto& [by, kind, api] :
       {std::tuple<std::string, std::string, std::string>{"machinepool-general", "MachinePool",
                                                          "cluster.x-k8s.io/v1beta2"},
        {"awsmachinepool-general", "AWSManagedMachinePool",
         "infrastructure.cluster.x-k8s.io/v1beta2"}}) {
    const std::string usage = "usage-controlplane-by-" + by;
    EXPECT_EQ(r.Get(usage, "apiVersion"), "protection.crossplane.io/v1beta1");
    EXPECT_EQ(r.Get(usage, "kind"), "Usage");
    EXPECT_EQ(r.Get(usage, "metadata.namespace"), "team-payments");
    EXPECT_EQ(r.Get(usage, "spec.of"),
              Json({{"apiVersion", "controlplane.cluster.x-k8s.io/v1beta2"},
                    {"kind", "AWSManagedControlPlane"},
                    {"resourceRef", {{"name", "payments-eks-control-plane"}}}}));
    EXPECT_EQ(r.Get(usage, "spec.by"), Json({{"apiVersion", api},
                                             {"kind", kind},
                                             {"resourceRef", {{"name", "payments-eks-general"}}}}));
    EXPECT_EQ(r.Get(usage, "spec.replayDeletion"), true);
  }
}

struct ScopeCase {
  std::string name;
  Json xr;
  std::string ns;
  std::string eks_name;
};

void PrintTo(const ScopeCase& c, std::ostream* os) { *os << c.name; }

class XClusterScopeTest : public ::testing::TestWithParam<ScopeCase> {};

TEST_P(XClusterScopeTest, EveryObjectLandsInOneNamespace) {
  const ScopeCase& c = GetParam();
  const Rendered r =
      RunWithPath(Call{.xr = c.xr, .observed = {{"controlplane", ReadyControlPlane()}}});
  ASSERT_EQ(r.names(), PoolNames({"general"}));
  for (const auto& [name, o] : r.resources()) {
    EXPECT_EQ(At(o, "metadata.namespace"), c.ns) << name;
    EXPECT_EQ(At(o, "metadata.labels[cluster.x-k8s.io/cluster-name]"), kXrName) << name;
  }
  EXPECT_EQ(r.Get("controlplane", "spec.eksClusterName"), c.eks_name);
  EXPECT_EQ(r.Status("clusterName"), c.eks_name);
}

INSTANTIATE_TEST_SUITE_P(
    XCluster, XClusterScopeTest,
    ::testing::Values(ScopeCase{"ClaimBased", Xr(Params()), "team-payments", "payments-eks"},
                      ScopeCase{"ClaimBasedWithParameter",
                                Xr(With(Params(), {{"namespace", "clusters"}}), "", ""), "clusters",
                                "payments-eks"},
                      ScopeCase{"Namespaced", Xr(Params(), "team-web"), "team-web",
                                "team-web-payments-eks"},
                      // A namespace of 63 and the name make 76: kept whole.
                      ScopeCase{"LongNamespace", Xr(Params(), std::string(63, 'n')),
                                std::string(63, 'n'), std::string(63, 'n') + "-payments-eks"}),
    CaseName<ScopeCase>);

// A namespace of 63 and a name of 40 make 104 characters, more than the 100
// EKS takes: shortened with a hash, the same in every call.
TEST(XCluster, EksClusterNamesFitEks) {
  const std::string ns(63, 'n');
  Json xr = Xr(Params(), ns);
  xr["metadata"]["name"] = std::string(40, 'c');
  const Rendered r = RunWithPath(Call{.xr = xr});
  const std::string want = compose::EksClusterName(ns + "-" + std::string(40, 'c'));
  EXPECT_EQ(want.size(), 100u);
  EXPECT_TRUE(want.starts_with(ns + "-" + std::string(27, 'c') + "-")) << want;
  EXPECT_EQ(r.Get("controlplane", "spec.eksClusterName"), want);
  EXPECT_EQ(r.Status("clusterName"), want);
}

// The account of the team: the control plane (and so the node groups CAPA
// makes for it) in the account of its identity.
TEST(XCluster, TheControlPlaneTakesTheIdentityOfTheAccount) {
  const Json input = PolicyInput(
      {{"accounts",
        {{{"name", "payments"},
          {"teams", {"payments"}},
          {"providerConfig", "payments"},
          {"clusterIdentity", {{"kind", "AWSClusterStaticIdentity"}, {"name", "payments"}}}}}}});
  const Rendered r = RunWithPath(Call{
      .xr = Xr(Params()), .observed = {{"controlplane", ReadyControlPlane()}}, .input = input});
  ASSERT_EQ(r.names(), PoolNames({"general"}));
  EXPECT_EQ(r.Get("controlplane", "spec.identityRef"),
            Json({{"kind", "AWSClusterStaticIdentity"}, {"name", "payments"}}));
  for (const auto& [name, o] : r.resources()) {
    if (name == "controlplane") continue;
    EXPECT_EQ(At(o, "spec.identityRef"), nullptr) << name;
  }
  EXPECT_EQ(RunWithPath(Call{.xr = Xr(Params())}).Get("controlplane", "spec.identityRef"), nullptr);
}

TEST(XCluster, BuiltinRegistryRendersXCluster) {
  EXPECT_NE(BuiltinRegistry().Find("XCluster"), nullptr);
}

// --- Errors -----------------------------------------------------------------------

struct ErrorCase {
  std::string name;
  Json xr;
  std::string message;
  std::string condition_type = "";
  Json input = nullptr;
};

void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }

std::vector<ErrorCase> ErrorCases() {
  const Json pool = {{"name", "general"}, {"instanceType", "m6i.large"}};
  auto pools = [&](const Json& patch) { return Json::array({With(pool, patch)}); };
  return {
      {"MissingRegion", Xr(With(Params(), {{"region", nullptr}})),
       "spec.parameters.region: required"},
      {"UnknownRegion", Xr(With(Params(), {{"region", "mars-north-1"}})),
       "spec.parameters.region: unknown AWS region"},
      {"MissingTeam", Xr(With(Params(), {{"team", ""}})), "spec.parameters.team: required"},
      {"UnknownProvisioner", Xr(With(Params(), {{"provisioner", "Terraform"}})),
       "spec.parameters.provisioner: must be one of CAPI, AWS"},
      {"UnknownFlavor", Xr(With(Params(), {{"flavor", "K3s"}})),
       "spec.parameters.flavor: must be one of EKS, Kubeadm"},
      {"CidrsForAPrivateEndpoint",
       Xr(With(Params(), {{"endpointPublicAccessCidrs", {"203.0.113.0/24"}}})),
       "spec.parameters.endpointPublicAccessCidrs: only with endpoint access Public or "
       "PublicAndPrivate"},
      {"CidrNotABlock",
       Xr(With(Params(),
               {{"endpointAccess", "Public"}, {"endpointPublicAccessCidrs", {"203.0.113.7/24"}}})),
       "spec.parameters.endpointPublicAccessCidrs[0]: "},
      {"KubeadmThroughAws", Xr(With(Params(), {{"provisioner", "AWS"}, {"flavor", "Kubeadm"}})),
       "spec.parameters.flavor: provisioner AWS makes EKS clusters; Kubeadm needs provisioner "
       "CAPI"},
      {"ControlPlaneForEks", Xr(With(Params(), {{"controlPlane", {{"replicas", 3}}}})),
       "spec.parameters.controlPlane: only for flavor Kubeadm: EKS runs the control plane"},
      {"NetworkEnvironmentAndIds",
       Xr(With(Params(), {{"network", {{"environment", "payments-dev"}}}})),
       "spec.parameters.network.environment: give either an environment or vpcId and subnet "
       "ids, not both"},
      {"NetworkMissing",
       Xr(With(Params(), {{"network", {{"vpcId", nullptr}, {"privateSubnetIds", nullptr}}}})),
       "spec.parameters.network.vpcId: required unless network.environment names an "
       "XEnvironment"},
      {"UnknownVersion", Xr(With(Params(), {{"kubernetesVersion", "1.29"}})),
       "spec.parameters.kubernetesVersion: must be one of 1.34, 1.33, 1.32, 1.31, not \"1.29\""},
      {"ProdOldVersion", Xr(With(Params("prod"), {{"kubernetesVersion", "1.31"}})),
       "spec.parameters.kubernetesVersion: prod clusters may use Kubernetes 1.34, 1.33, 1.32, "
       "not 1.31",
       "PolicyCompliant"},
      {"ClusterNetworkForEks",
       Xr(With(Params(), {{"clusterNetwork", {{"podCidr", "100.64.0.0/16"}}}})),
       "spec.parameters.clusterNetwork: only for flavor Kubeadm: EKS gives pods VPC addresses "
       "(vpc-cni) and chooses the service block itself"},
      {"ProdPublicEndpoint", Xr(With(Params("prod"), {{"endpointAccess", "Public"}})),
       "spec.parameters.endpointAccess: prod clusters may use endpoint access Private, "
       "PublicAndPrivate, not Public",
       "PolicyCompliant"},
      {"MissingNetwork", Xr(With(Params(), {{"network", nullptr}})),
       "spec.parameters.network: required"},
      {"BadVpc", Xr(With(Params(), {{"network", {{"vpcId", "abc"}}}})),
       "spec.parameters.network.vpcId: \"abc\" is not a VPC id"},
      {"OneSubnet", Xr(With(Params(), {{"network", {{"privateSubnetIds", {"subnet-0a"}}}}})),
       "spec.parameters.network.privateSubnetIds: a cluster needs at least two subnets"},
      {"DuplicateSubnet",
       Xr(With(Params(), {{"network", {{"privateSubnetIds", {"subnet-0a", "subnet-0a"}}}}})),
       "spec.parameters.network.privateSubnetIds[1]: subnet-0a is listed twice"},
      {"BadSecurityGroup",
       Xr(With(Params(), {{"network", {{"securityGroupIds", {"sg-1", "web"}}}}})),
       "spec.parameters.network.securityGroupIds[1]: \"web\" is not a security group id"},
      {"NoPools", Xr(With(Params(), {{"nodePools", Json::array()}})),
       "spec.parameters.nodePools: at least one node pool is required"},
      {"DuplicatePool", Xr(With(Params(), {{"nodePools", {pool, pool}}})),
       "spec.parameters.nodePools[1].name: node pool \"general\" is listed twice"},
      {"BadPoolName", Xr(With(Params(), {{"nodePools", pools({{"name", "Gen"}})}})),
       "spec.parameters.nodePools[0].name: must be 1 to 20"},
      {"DesiredAboveMax",
       Xr(With(Params(), {{"nodePools", pools({{"maxSize", 3}, {"desiredSize", 4}})}})),
       "spec.parameters.nodePools[0].desiredSize: must be between minSize (1) and maxSize (3)"},
      {"MaxBelowMin", Xr(With(Params(), {{"nodePools", pools({{"minSize", 3}, {"maxSize", 2}})}})),
       "spec.parameters.nodePools[0].maxSize: must be at least 1 and at least minSize (3)"},
      {"TooManyNodesForDev", Xr(With(Params(), {{"nodePools", pools({{"maxSize", 6}})}})),
       "spec.parameters.nodePools[0].maxSize: dev clusters may have at most 5 nodes per pool, "
       "not 6",
       "PolicyCompliant"},
      {"BigInstanceForDev",
       Xr(With(Params(), {{"nodePools", pools({{"instanceType", "x2iedn.32xlarge"}})}})),
       "spec.parameters.nodePools[0].instanceType: dev clusters may use instance families",
       "PolicyCompliant"},
      {"NotAnInstanceType", Xr(With(Params(), {{"nodePools", pools({{"instanceType", "large"}})}})),
       "spec.parameters.nodePools[0].instanceType: \"large\" is not an EC2 instance type"},
      {"BadCapacityType",
       Xr(With(Params(), {{"nodePools", pools({{"capacityType", "RESERVED"}})}})),
       "spec.parameters.nodePools[0].capacityType: must be one of ON_DEMAND, SPOT"},
      {"BadTaintEffect",
       Xr(With(Params(),
               {{"nodePools", pools({{"taints", {{{"key", "k"}, {"effect", "Never"}}}}})}})),
       "spec.parameters.nodePools[0].taints[0].effect: must be one of"},
      {"AddonWithoutVersion", Xr(With(Params(), {{"addons", {{{"name", "aws-ebs-csi-driver"}}}}})),
       "spec.parameters.addons[0].version: required for aws-ebs-csi-driver"},
      {"UnknownAddon", Xr(With(Params(), {{"addons", {{{"name", "istio"}}}}})),
       "spec.parameters.addons[0].name: must be one of"},
      {"BadPrincipal", Xr(With(Params(), {{"accessEntries", {{{"principalArn", "admins"}}}}})),
       "spec.parameters.accessEntries[0].principalArn: \"admins\" is not an IAM role or user ARN"},
      {"NoNamespaceForBareXr", Xr(Params(), "", ""),
       "spec.parameters.namespace: required for an XR without the "
       "crossplane.io/claim-namespace label"},
      {"NamespaceOfNamespacedXr", Xr(With(Params(), {{"namespace", "other"}}), "team-web"),
       "spec.parameters.namespace: a namespaced XCluster composes into its own namespace "
       "\"team-web\"; leave this unset"},
      {"AwsTagKey", Xr(With(Params(), {{"tags", {{"aws:x", "y"}}}})),
       "spec.parameters.tags[aws:x]: keys starting with aws: are reserved by AWS"},
      {"Unauthorized", Xr(Params("prod")),
       "team \"payments\" (namespace \"team-payments\") may not create prod XClusters",
       "Authorized",
       PolicyInput({{"authorization",
                     {{{"name", "payments-nonprod"},
                       {"teams", {"payments"}},
                       {"classes", {"dev", "test"}}}}}})},
  };
}

class XClusterErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(XClusterErrorTest, FailsNamingTheField) {
  const ErrorCase& c = GetParam();
  const pb::RunFunctionResponse rsp = RunProtoWithPath(Call{.xr = c.xr, .input = c.input});
  ASSERT_EQ(rsp.results_size(), 1) << rsp.DebugString();
  EXPECT_EQ(rsp.results(0).severity(), pb::SEVERITY_FATAL);
  EXPECT_THAT(rsp.results(0).message(), ::testing::StartsWith(c.message));
  EXPECT_EQ(rsp.desired().resources_size(), 0);
  if (c.condition_type.empty()) {
    EXPECT_EQ(rsp.conditions_size(), 0) << rsp.DebugString();
  } else {
    ASSERT_EQ(rsp.conditions_size(), 1) << rsp.DebugString();
    EXPECT_EQ(rsp.conditions(0).type(), c.condition_type);
    EXPECT_EQ(rsp.conditions(0).status(), pb::STATUS_CONDITION_FALSE);
  }
}

INSTANTIATE_TEST_SUITE_P(XCluster, XClusterErrorTest, ::testing::ValuesIn(ErrorCases()),
                         CaseName<ErrorCase>);

// --- The management path -------------------------------------------------------------

// What the error says for a Private endpoint of a dev cluster without a path.
constexpr char kNoPathMessage[] =
    "spec.parameters.endpointAccess: a Private endpoint of a Cluster API cluster is out of reach "
    "of Cluster API and CAPA in the management cluster unless the dev policy gives a management "
    "path: the platform team sets policy.classes.dev.network.managementPath (transitGatewayId, "
    "cidrs); until then use endpoint access PublicAndPrivate, or provisioner AWS";

TEST(XClusterManagementPath, APrivateEndpointWithoutAPathIsRefusedNamingBothFields) {
  for (const Json& params : {Params(), With(Params(), {{"endpointAccess", "Private"}}),
                             With(Params(), {{"flavor", "Kubeadm"}})}) {
    SCOPED_TRACE(params.dump());
    // No input at all: the defaults have no path.
    const pb::RunFunctionResponse rsp = ::platform::fn::testing::RunProto(Call{.xr = Xr(params)});
    ASSERT_EQ(rsp.results_size(), 1) << rsp.DebugString();
    EXPECT_EQ(rsp.results(0).severity(), pb::SEVERITY_FATAL);
    EXPECT_EQ(rsp.results(0).message(), kNoPathMessage);
    EXPECT_EQ(rsp.desired().resources_size(), 0);
  }
  // A path for another class does not help, and an EnvironmentConfig-style
  // null removes the class's own.
  const Json prod_only = PolicyInput(
      {{"classes",
        {{"prod",
          {{"network",
            {{"managementPath",
              {{"transitGatewayId", kTransitGateway}, {"cidrs", {kManagementCidr}}}}}}}}}}});
  EXPECT_EQ(::platform::fn::testing::RunProto(Call{.xr = Xr(Params()), .input = prod_only})
                .results(0)
                .message(),
            kNoPathMessage);
  const Json removed =
      PolicyInput({{"classes", {{"dev", {{"network", {{"managementPath", nullptr}}}}}}}});
  EXPECT_EQ(RunProtoWithPath(Call{.xr = Xr(Params()), .input = removed}).results(0).message(),
            kNoPathMessage);
}

TEST(XClusterManagementPath, NotNeededByPublicEndpointsNorTheAwsProvisioner) {
  for (const Json& params :
       {With(Params(), {{"endpointAccess", "PublicAndPrivate"}}),
        With(Params(), {{"endpointAccess", "Public"}}), With(Params(), {{"provisioner", "AWS"}})}) {
    SCOPED_TRACE(params.dump());
    const Rendered r = ::platform::fn::testing::RunOk(Call{.xr = Xr(params)});
    EXPECT_FALSE(r.names().empty());
  }
}

TEST(XClusterManagementPath, ThePrivateEndpointAdmitsTheManagementNetworkOn443) {
  const Json input = PolicyInput({{"classes",
                                   {{"dev",
                                     {{"network",
                                       {{"managementPath",
                                         {{"transitGatewayId", kTransitGateway},
                                          {"cidrs", {"10.100.0.0/16", "10.101.4.0/24"}}}}}}}}}}});
  const Rendered r = ::platform::fn::testing::RunOk(Call{.xr = Xr(Params()), .input = input});
  EXPECT_EQ(r.Get("controlplane", "spec.network.additionalControlPlaneIngressRules"),
            Json::parse(R"json([{"description": "the management cluster (transit gateway)",
                             "protocol": "tcp", "fromPort": 443, "toPort": 443,
                             "cidrBlocks": ["10.100.0.0/16", "10.101.4.0/24"]}])json"));
  // A public endpoint is reached the public way: no rule.
  const Rendered public_too = ::platform::fn::testing::RunOk(
      Call{.xr = Xr(With(Params(), {{"endpointAccess", "PublicAndPrivate"}})), .input = input});
  EXPECT_EQ(public_too.Get("controlplane", "spec.network.additionalControlPlaneIngressRules"),
            nullptr);
}

TEST(XCluster, PoliciesPassedAreReported) {
  const Rendered r = RunWithPath(Call{.xr = Xr(Params())});
  std::map<std::string, pb::Status> conditions;
  for (const pb::Condition& c : r.proto().conditions()) conditions[c.type()] = c.status();
  EXPECT_EQ(conditions["Authorized"], pb::STATUS_CONDITION_TRUE);
  EXPECT_EQ(conditions["PolicyCompliant"], pb::STATUS_CONDITION_TRUE);
}

}  // namespace
}  // namespace platform::fn::renderers

namespace platform::fn::renderers {
namespace {

// The kubeconfig Secret Cluster API writes, as Crossplane returns it for a
// required resource (data base64-encoded).
Json KubeconfigSecret(const std::string& value_base64) {
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"metadata", {{"name", "payments-eks-kubeconfig"}, {"namespace", "team-payments"}}},
          {"data", {{"value", value_base64}}}};
}

TEST(XClusterKubeconfig, NotAskedForBeforeTheControlPlaneIsReady) {
  const Rendered r = RunWithPath(Call{.xr = Xr(Params())});
  EXPECT_FALSE(r.proto().has_requirements());
  EXPECT_EQ(r.proto().desired().composite().connection_details_size(), 0);
}

TEST(XClusterKubeconfig, AskedForOnceTheControlPlaneIsReady) {
  const Rendered r =
      RunWithPath(Call{.xr = Xr(Params()), .observed = {{"controlplane", ReadyControlPlane()}}});
  ASSERT_TRUE(r.proto().has_requirements()) << r.proto().DebugString();
  const auto& wanted = r.proto().requirements().resources();
  ASSERT_EQ(wanted.count("kubeconfig"), 1u);
  const pb::ResourceSelector& s = wanted.at("kubeconfig");
  EXPECT_EQ(s.api_version(), "v1");
  EXPECT_EQ(s.kind(), "Secret");
  EXPECT_EQ(s.match_name(), "payments-eks-kubeconfig");
  EXPECT_EQ(s.namespace_(), "team-payments");
  EXPECT_EQ(r.proto().desired().composite().connection_details_size(), 0);
}

TEST(XClusterKubeconfig, PublishedAsConnectionDetailsWhenTheSecretIsThere) {
  // "apiVersion: v1\n" in base64.
  const Rendered r =
      RunWithPath(Call{.xr = Xr(Params()),
                       .observed = {{"controlplane", ReadyControlPlane()}},
                       .required = {{"kubeconfig", {KubeconfigSecret("YXBpVmVyc2lvbjogdjEK")}}}});
  const auto& details = r.proto().desired().composite().connection_details();
  ASSERT_EQ(details.count("kubeconfig"), 1u) << r.proto().DebugString();
  EXPECT_EQ(details.at("kubeconfig"), "apiVersion: v1\n");
  // Still asked for, so the requirements stay the same between calls.
  EXPECT_EQ(r.proto().requirements().resources().count("kubeconfig"), 1u);
}

TEST(XClusterKubeconfig, NotYetWrittenMeansNoConnectionDetails) {
  const Rendered r = RunWithPath(Call{.xr = Xr(Params()),
                                      .observed = {{"controlplane", ReadyControlPlane()}},
                                      .required = {{"kubeconfig", Json::array()}}});
  EXPECT_EQ(r.proto().desired().composite().connection_details_size(), 0);
}

TEST(XClusterKubeconfig, BadBase64IsFatalNamingTheField) {
  const pb::RunFunctionResponse rsp =
      RunProtoWithPath(Call{.xr = Xr(Params()),
                            .observed = {{"controlplane", ReadyControlPlane()}},
                            .required = {{"kubeconfig", {KubeconfigSecret("not base64!")}}}});
  ASSERT_EQ(rsp.results_size(), 1);
  EXPECT_EQ(rsp.results(0).severity(), pb::SEVERITY_FATAL);
  EXPECT_EQ(rsp.results(0).message(), "required resource kubeconfig.data.value: must be base64");
}

TEST(XClusterKubeconfig, NamespacedXrsDoNotAskForIt) {
  const Rendered r = RunWithPath(Call{.xr = Xr(Params(), "team-payments"),
                                      .observed = {{"controlplane", ReadyControlPlane()}}});
  EXPECT_FALSE(r.proto().has_requirements());
}

// --- Class limits from the platform's policy ------------------------------------------

TEST(XClusterEndpoint, PublicAccessLimitedToTheGivenBlocks) {
  const Rendered eks = RunWithPath(
      Call{.xr = Xr(With(Params(), {{"endpointAccess", "PublicAndPrivate"},
                                    {"endpointPublicAccessCidrs", {"203.0.113.0/24"}}}))});
  EXPECT_EQ(eks.Get("controlplane", "spec.endpointAccess"),
            Json({{"public", true}, {"private", true}, {"publicCIDRs", {"203.0.113.0/24"}}}));
  const Rendered aws = RunWithPath(
      Call{.xr = Xr(With(Params(), {{"provisioner", "AWS"},
                                    {"endpointAccess", "Public"},
                                    {"endpointPublicAccessCidrs", {"203.0.113.0/24"}}}))});
  EXPECT_EQ(aws.Get("controlplane", "spec.forProvider.vpcConfig.publicAccessCidrs"),
            Json({"203.0.113.0/24"}));
}

TEST(XClusterPolicy, ClusterLimitsComeFromTheInput) {
  const Json input = PolicyInput(
      {{"classes",
        {{"dev", {{"cluster", {{"maxNodesPerPool", 2}, {"instanceFamilies", {"t4g"}}}}}}}}});
  const pb::RunFunctionResponse rsp = RunProtoWithPath(Call{.xr = Xr(Params()), .input = input});
  ASSERT_EQ(rsp.results_size(), 1);
  EXPECT_EQ(rsp.results(0).message(),
            "spec.parameters.nodePools[0].instanceType: dev clusters may use instance families "
            "t4g, not m6i");
  const Rendered r = RunWithPath(Call{
      .xr = Xr(With(
          Params(),
          {{"nodePools", {{{"name", "arm"}, {"instanceType", "t4g.large"}, {"maxSize", 2}}}}})),
      .input = input});
  EXPECT_EQ(r.names(), kBase);
  const pb::RunFunctionResponse too_big = RunProtoWithPath(Call{
      .xr = Xr(With(Params(), {{"nodePools", {{{"name", "arm"}, {"instanceType", "t4g.large"}}}}})),
      .input = input});
  ASSERT_EQ(too_big.results_size(), 1);
  EXPECT_EQ(too_big.results(0).message(),
            "spec.parameters.nodePools[0].maxSize: dev clusters may have at most 2 nodes per "
            "pool, not 3");
}

// --- Network from an XEnvironment -----------------------------------------------------

Json EnvironmentParams(const std::string& environment = "dev") {
  Json p = Params(environment);
  p["network"] = {{"environment", "payments-net"}, {"securityGroupIds", {"sg-0user"}}};
  return p;
}

// The XEnvironment as Crossplane returns it for the requirement.
Json Environment(const std::string& cls = "dev", const std::string& region = "eu-west-1",
                 bool with_status = true) {
  if (!with_status) return ::platform::fn::testing::ObservedEnvironment(cls, region, nullptr);
  return ::platform::fn::testing::ObservedEnvironment(
      cls, region,
      {{"vpcId", "vpc-0env"},
       {"privateSubnetIds", {"subnet-0p1", "subnet-0p2"}},
       {"publicSubnetIds", {"subnet-0u1", "subnet-0u2"}},
       {"securityGroupIds", {{"baseline", "sg-0baseline"}}}});
}

TEST(XClusterNetwork, AsksForTheClaimedEnvironmentInTheClaimsNamespace) {
  const Rendered r = RunWithPath(Call{.xr = Xr(EnvironmentParams())});
  // Nothing is composed until Crossplane answers (it calls again at once).
  EXPECT_TRUE(r.names().empty());
  EXPECT_EQ(r.CompositeReady(), pb::READY_FALSE);
  ASSERT_EQ(r.proto().requirements().resources().count("network-environment"), 1u);
  const pb::ResourceSelector& s = r.proto().requirements().resources().at("network-environment");
  EXPECT_EQ(s.api_version(), "platform.terraforming.io/v1alpha1");
  EXPECT_EQ(s.kind(), "XEnvironment");
  EXPECT_EQ(s.match_labels().labels().at("crossplane.io/claim-name"), "payments-net");
  EXPECT_EQ(s.match_labels().labels().at("crossplane.io/claim-namespace"), "team-payments");
}

TEST(XClusterNetwork, AsksForTheNamespacedEnvironmentInItsOwnNamespace) {
  const Rendered r = RunWithPath(Call{.xr = Xr(EnvironmentParams(), "team-payments")});
  const pb::ResourceSelector& s = r.proto().requirements().resources().at("network-environment");
  EXPECT_EQ(s.api_version(), "platform.m.terraforming.io/v1alpha1");
  EXPECT_EQ(s.match_name(), "payments-net");
  EXPECT_EQ(s.namespace_(), "team-payments");
}

TEST(XClusterNetwork, ABareXrNamesTheXEnvironmentItself) {
  const Rendered r =
      RunWithPath(Call{.xr = Xr(With(EnvironmentParams(), {{"namespace", "clusters"}}), "", "")});
  const pb::ResourceSelector& s = r.proto().requirements().resources().at("network-environment");
  EXPECT_EQ(s.api_version(), "platform.terraforming.io/v1alpha1");
  EXPECT_EQ(s.match_name(), "payments-net");
  EXPECT_FALSE(s.has_match_labels());
}

TEST(XClusterNetwork, UsesTheIdsTheEnvironmentPublishes) {
  const Rendered r = RunWithPath(Call{.xr = Xr(EnvironmentParams()),
                                      .observed = {{"controlplane", ReadyControlPlane()}},
                                      .required = {{"network-environment", {Environment()}}}});
  EXPECT_EQ(r.names(), PoolNames({"general"}));
  EXPECT_EQ(r.Get("controlplane", "spec.network.vpc.id"), "vpc-0env");
  EXPECT_EQ(r.Get("controlplane", "spec.network.subnets"),
            Json({{{"id", "subnet-0p1"}}, {{"id", "subnet-0p2"}}}));
  // Nodes only in the private subnets; in the environment's baseline group
  // first, then the user's.
  EXPECT_EQ(r.Get("awsmachinepool-general", "spec.subnetIDs"), Json({"subnet-0p1", "subnet-0p2"}));
  EXPECT_EQ(r.Get("awsmachinepool-general", "spec.awsLaunchTemplate.additionalSecurityGroups"),
            Json({{{"id", "sg-0baseline"}}, {{"id", "sg-0user"}}}));
  EXPECT_EQ(r.Status("vpcId"), "vpc-0env");
}

TEST(XClusterNetwork, TheNamespacedEnvironmentIsKeptUntilTheControlPlaneIsGone) {
  Json env = Environment("sandbox", "eu-west-1");
  env["apiVersion"] = "platform.m.terraforming.io/v1alpha1";
  env["metadata"] = {{"name", "payments-net"}, {"namespace", "team-payments"}};
  const Rendered r = RunWithPath(Call{.xr = Xr(EnvironmentParams("sandbox"), "team-payments"),
                                      .required = {{"network-environment", {env}}}});
  Names want = kBase;
  want.insert("usage-environment-by-controlplane");
  EXPECT_EQ(r.names(), want);
  const std::string u = "usage-environment-by-controlplane";
  EXPECT_EQ(r.Get(u, "kind"), "Usage");
  EXPECT_EQ(r.Get(u, "metadata.namespace"), "team-payments");
  EXPECT_EQ(r.Get(u, "spec.of"), Json({{"apiVersion", "platform.m.terraforming.io/v1alpha1"},
                                       {"kind", "XEnvironment"},
                                       {"resourceRef", {{"name", "payments-net"}}}}));
  EXPECT_EQ(r.Get(u, "spec.by"), Json({{"apiVersion", "controlplane.cluster.x-k8s.io/v1beta2"},
                                       {"kind", "AWSManagedControlPlane"},
                                       {"resourceRef", {{"name", "payments-eks-control-plane"}}}}));
}

TEST(XClusterNetwork, TheClaimedEnvironmentIsKeptUntilTheEksClusterIsGone) {
  const Rendered r = RunWithPath(Call{.xr = Xr(With(EnvironmentParams(), {{"provisioner", "AWS"}})),
                                      .required = {{"network-environment", {Environment()}}}});
  const std::string u = "usage-environment-by-controlplane";
  ASSERT_EQ(r.names().count(u), 1u);
  EXPECT_EQ(r.Get(u, "kind"), "ClusterUsage");
  EXPECT_EQ(r.Get(u, "metadata.namespace"), nullptr);
  EXPECT_EQ(r.Get(u, "spec.of.resourceRef.name"), "payments-net-x7k2p");
  EXPECT_EQ(r.Get(u, "spec.by.apiVersion"), "eks.aws.upbound.io/v1beta2");
  EXPECT_EQ(r.Get(u, "spec.by.kind"), "Cluster");
  EXPECT_EQ(r.Get(u, "spec.by.resourceSelector.matchLabels[platform.terraforming.io/resource]"),
            "controlplane");
}

// Crossplane labels every top-level XR crossplane.io/composite with its own
// name, so a cluster named like its environment carries that name there: it
// still needs its Usage. Only a controller owner reference says "nested".
TEST(XClusterNetwork, AClusterNamedLikeItsEnvironmentKeepsItsUsage) {
  Json env = Environment("sandbox", "eu-west-1");
  env["apiVersion"] = "platform.m.terraforming.io/v1alpha1";
  env["metadata"] = {{"name", "payments"}, {"namespace", "team-payments"}};
  Json params = EnvironmentParams("sandbox");
  params["network"]["environment"] = "payments";
  Json xr = Xr(params, "team-payments");
  xr["metadata"]["name"] = "payments";
  xr["metadata"]["labels"]["crossplane.io/composite"] = "payments";
  const Rendered r = RunWithPath(Call{.xr = xr, .required = {{"network-environment", {env}}}});
  EXPECT_EQ(r.names().count("usage-environment-by-controlplane"), 1u);
  EXPECT_EQ(r.Get("usage-environment-by-controlplane", "spec.of.resourceRef.name"), "payments");
}

TEST(XClusterNetwork, NoUsageOfTheEnvironmentThatComposedTheCluster) {
  Json env = Environment("sandbox", "eu-west-1");
  env["apiVersion"] = "platform.m.terraforming.io/v1alpha1";
  env["metadata"] = {{"name", "payments-net"}, {"namespace", "team-payments"}};
  Json xr = Xr(EnvironmentParams("sandbox"), "team-payments");
  xr["metadata"]["labels"]["crossplane.io/composite"] = "payments-net";
  xr["metadata"]["ownerReferences"] = {{{"apiVersion", "platform.m.terraforming.io/v1alpha1"},
                                        {"kind", "XEnvironment"},
                                        {"name", "payments-net"},
                                        {"uid", "7f1c2b3a-0000-4000-8000-000000000001"},
                                        {"controller", true},
                                        {"blockOwnerDeletion", true}}};
  const Rendered r = RunWithPath(Call{.xr = xr, .required = {{"network-environment", {env}}}});
  EXPECT_EQ(r.names(), kBase);
}

TEST(XClusterNetwork, NoUsageFromANamespacedControlPlaneToAClusterScopedEnvironment) {
  const Rendered r = RunWithPath(
      Call{.xr = Xr(EnvironmentParams()), .required = {{"network-environment", {Environment()}}}});
  EXPECT_EQ(r.names(), kBase);
}

TEST(XClusterNetwork, WaitsWhileTheEnvironmentPublishesNoNetworkYet) {
  const Rendered r = RunWithPath(
      Call{.xr = Xr(EnvironmentParams()),
           .required = {{"network-environment", {Environment("dev", "eu-west-1", false)}}}});
  EXPECT_TRUE(r.names().empty());
  EXPECT_EQ(r.CompositeReady(), pb::READY_FALSE);
  ASSERT_EQ(r.Normal().size(), 1u);
  EXPECT_EQ(r.Normal()[0],
            "waiting for Environment claim \"payments-net\" in namespace \"team-payments\" to "
            "publish vpcId in its status");
}

TEST(XClusterNetwork, NeverDropsAnExistingClusterWhenTheNetworkIsGone) {
  // The cluster exists; its environment lost its status: FATAL (Crossplane
  // then keeps every composed resource), never an empty desired state.
  const pb::RunFunctionResponse rsp = RunProtoWithPath(
      Call{.xr = Xr(EnvironmentParams()),
           .observed = {{"controlplane", ReadyControlPlane()}},
           .required = {{"network-environment", {Environment("dev", "eu-west-1", false)}}}});
  ASSERT_EQ(rsp.results_size(), 1);
  EXPECT_EQ(rsp.results(0).severity(), pb::SEVERITY_FATAL);
  EXPECT_EQ(rsp.results(0).message(),
            "spec.parameters.network.environment: Environment claim \"payments-net\" in "
            "namespace \"team-payments\" publishes no vpcId in its status; the cluster is kept "
            "as it is");
}

struct NetworkErrorCase {
  std::string name;
  Json xr;
  Json required;
  std::string want;
  bool violation = false;
};

void PrintTo(const NetworkErrorCase& c, std::ostream* os) { *os << c.name; }

class XClusterNetworkErrorTest : public ::testing::TestWithParam<NetworkErrorCase> {};

TEST_P(XClusterNetworkErrorTest, FailsNamingTheField) {
  const NetworkErrorCase& c = GetParam();
  const pb::RunFunctionResponse rsp = RunProtoWithPath(Call{.xr = c.xr, .required = c.required});
  ASSERT_EQ(rsp.results_size(), 1) << rsp.DebugString();
  EXPECT_EQ(rsp.results(0).severity(), pb::SEVERITY_FATAL);
  EXPECT_EQ(rsp.results(0).message(), c.want);
  EXPECT_EQ(rsp.desired().resources_size(), 0);
  // Violations of the platform's policy also say so in a condition.
  EXPECT_EQ(rsp.conditions_size(), c.violation ? 1 : 0);
}

INSTANTIATE_TEST_SUITE_P(
    XCluster, XClusterNetworkErrorTest,
    ::testing::Values(
        NetworkErrorCase{"NotFound",
                         Xr(EnvironmentParams()),
                         {{"network-environment", Json::array()}},
                         "spec.parameters.network.environment: Environment claim "
                         "\"payments-net\" in namespace \"team-payments\" does not exist"},
        NetworkErrorCase{"TwoFound",
                         Xr(EnvironmentParams()),
                         {{"network-environment", {Environment(), Environment()}}},
                         "spec.parameters.network.environment: Environment claim "
                         "\"payments-net\" in namespace \"team-payments\" matches 2 "
                         "XEnvironments; expected one"},
        NetworkErrorCase{"OtherClass",
                         Xr(EnvironmentParams()),
                         {{"network-environment", {Environment("prod")}}},
                         "spec.parameters.network.environment: a dev cluster may not use "
                         "Environment claim \"payments-net\" in namespace \"team-payments\", a "
                         "prod environment",
                         true},
        NetworkErrorCase{"OtherRegion",
                         Xr(EnvironmentParams()),
                         {{"network-environment", {Environment("dev", "us-east-1")}}},
                         "spec.parameters.network.environment: Environment claim "
                         "\"payments-net\" in namespace \"team-payments\" is in region "
                         "us-east-1, not eu-west-1"},
        NetworkErrorCase{"BareXrWithoutNamespace",
                         Xr(EnvironmentParams(), "", ""),
                         {{"network-environment", Json::array()}},
                         "spec.parameters.namespace: required for an XR without the "
                         "crossplane.io/claim-namespace label: the kubeconfig Secret (and Cluster "
                         "API objects) are namespaced"}),
    [](const ::testing::TestParamInfo<NetworkErrorCase>& p) { return p.param.name; });

// --- IAM, support policy and logs of the Cluster API EKS flavour ---------------------

// CAPA makes the IAM identity provider of the cluster (for the teams' IRSA
// roles), follows the class's support policy and sends its logs.
TEST(XCluster, OidcProviderSupportPolicyAndLogs) {
  const Rendered dev = RunWithPath(Call{.xr = Xr(Params())});
  EXPECT_EQ(dev.Get("controlplane", "spec.associateOIDCProvider"), true);
  EXPECT_EQ(dev.Get("controlplane", "spec.upgradePolicy"), "standard");
  EXPECT_EQ(dev.Get("controlplane", "spec.logging"), Json({{"apiServer", false},
                                                           {"audit", false},
                                                           {"authenticator", false},
                                                           {"controllerManager", false},
                                                           {"scheduler", false}}));
  const Rendered prod =
      RunWithPath(Call{.xr = Xr(With(Params("prod"), {{"addons", kPodIdentityAgent}}))});
  EXPECT_EQ(prod.Get("controlplane", "spec.upgradePolicy"), "extended");
  EXPECT_EQ(prod.Get("controlplane", "spec.logging"), Json({{"apiServer", true},
                                                            {"audit", true},
                                                            {"authenticator", true},
                                                            {"controllerManager", false},
                                                            {"scheduler", false}}));
}

// The add-ons' roles are AWS managed resources beside the Cluster API
// objects; the association names the cluster by the EKS name CAPA gives it.
// With the CNI's own role (prod), machine pools wait for its association.
TEST(XCluster, PodIdentityForTheCapiFlavour) {
  const Json params = With(Params("prod"), {{"addons", kPodIdentityAgent}});
  const Rendered first = RunWithPath(Call{.xr = Xr(params)});
  EXPECT_EQ(first.Get("role-vpc-cni", "apiVersion"), "iam.aws.upbound.io/v1beta1");
  EXPECT_FALSE(first.Has("podidentity-vpc-cni"));
  const Rendered ready =
      RunWithPath(Call{.xr = Xr(params), .observed = {{"controlplane", ReadyControlPlane()}}});
  EXPECT_EQ(ready.Get("podidentity-vpc-cni", "spec.forProvider.clusterName"), "payments-eks");
  EXPECT_EQ(ready.Get("podidentity-vpc-cni", "spec.forProvider.serviceAccount"), "aws-node");
  EXPECT_EQ(ready.Get("podidentity-vpc-cni", "spec.forProvider.region"), "eu-west-1");
  EXPECT_FALSE(ready.Has("machinepool-general"));
  const Rendered associated =
      RunWithPath(Call{.xr = Xr(params),
                       .observed = {{"controlplane", ReadyControlPlane()},
                                    {"podidentity-vpc-cni", Obj(ReadyCondition())}}});
  EXPECT_TRUE(associated.Has("machinepool-general"));
  // Dev keeps the CNI on the nodes' role: nothing to wait for.
  EXPECT_TRUE(
      RunWithPath(Call{.xr = Xr(Params()), .observed = {{"controlplane", ReadyControlPlane()}}})
          .Has("machinepool-general"));
}

}  // namespace
}  // namespace platform::fn::renderers
