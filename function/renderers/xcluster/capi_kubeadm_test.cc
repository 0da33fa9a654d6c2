// Tests of function/renderers/xcluster/capi_kubeadm.cc: the XCluster
// renderer with flavor Kubeadm through the Runner and the builtin registry,
// as Crossplane calls it. What is composed before and after the control
// plane is ready, the versions, replicas and node pool fields, the guard
// that keeps existing pools, the deletion order, readiness, status and
// errors naming their field.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "function/policy/policy.h"
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
using ::platform::fn::testing::With;
using ::platform::fn::testing::XrOf;
using ::testing::HasSubstr;

using sdk::Json;

constexpr char kXrName[] = "payments-kubeadm";

using ::platform::fn::testing::kManagementCidr;
using ::platform::fn::testing::kTransitGateway;
using ::platform::fn::testing::RunProtoWithPath;
using ::platform::fn::testing::RunWithPath;

// --- Requests ---------------------------------------------------------------------

Json Params(const std::string& environment = "dev") {
  return {{"environment", environment},
          {"region", "eu-west-1"},
          {"team", "payments"},
          {"costCenter", "cc-1234"},
          {"flavor", "Kubeadm"},
          {"network",
           {{"vpcId", "vpc-0abc"}, {"privateSubnetIds", {"subnet-0a", "subnet-0b", "subnet-0c"}}}},
          {"nodePools", {{{"name", "general"}, {"instanceType", "m6i.large"}}}}};
}

Json Pools(const Json& pool) {
  return {{"nodePools",
           Json::array({With({{"name", "general"}, {"instanceType", "m6i.large"}}, pool)})}};
}

// A claim-based XR in team-payments, or a namespaced one in `ns`.
Json Xr(const Json& parameters, const std::string& ns = "") {
  return XrOf("XCluster", kXrName, parameters, ns);
}

// Observed objects: what Crossplane reports back once they exist.
Json Obj(const Json& status = Json::object()) { return {{"status", status}}; }
Json Conditions(const std::string& type, const std::string& status) {
  return {{"conditions", {{{"type", type}, {"status", status}, {"reason", "R"}}}}};
}
// A v1beta2 KubeadmControlPlane once it is available.
Json ReadyControlPlane() {
  Json status = Conditions("Available", "True");
  status["initialization"] = {{"controlPlaneInitialized", true}};
  status["version"] = "v1.34.4";
  return Obj(status);
}
Json NotReadyControlPlane() {
  Json status = Conditions("Available", "False");
  status["initialization"] = {{"controlPlaneInitialized", true}};
  return Obj(status);
}

const Names kBase = {"cluster", "awscluster", "controlplane", "awsmachinetemplate-controlplane"};

Names PoolNames(const std::vector<std::string>& pools) {
  Names n = kBase;
  for (const std::string& p : pools) {
    n.insert("machinedeployment-" + p);
    n.insert("awsmachinetemplate-" + p);
    n.insert("kubeadmconfigtemplate-" + p);
    n.insert("usage-controlplane-by-machinedeployment-" + p);
  }
  return n;
}

Rendered RunReady(const Json& params, const Json& input = nullptr) {
  return RunWithPath(
      Call{.xr = Xr(params), .observed = {{"controlplane", ReadyControlPlane()}}, .input = input});
}

// --- Staging ----------------------------------------------------------------------

struct StageCase {
  std::string name;
  Json observed;
  bool pools_desired;
};

void PrintTo(const StageCase& c, std::ostream* os) { *os << c.name; }

class XClusterKubeadmStagingTest : public ::testing::TestWithParam<StageCase> {};

TEST_P(XClusterKubeadmStagingTest, NodePoolsWaitForTheControlPlaneAndStayOnceObserved) {
  const StageCase& c = GetParam();
  const Rendered r = RunWithPath(Call{.xr = Xr(Params()), .observed = c.observed});
  EXPECT_EQ(r.names(), c.pools_desired ? PoolNames({"general"}) : kBase);
  EXPECT_EQ(r.Status("nodePools.general.phase") == "WaitingForControlPlane", !c.pools_desired);
  EXPECT_EQ(r.Status("controlPlaneReady"), c.observed.contains("controlplane") &&
                                               c.observed["controlplane"] == ReadyControlPlane());
  if (!c.pools_desired) {
    EXPECT_EQ(r.CompositeReady(), pb::READY_FALSE);
  }
}

INSTANTIATE_TEST_SUITE_P(
    XClusterKubeadm, XClusterKubeadmStagingTest,
    ::testing::Values(
        StageCase{"NothingObserved", Json::object(), false},
        StageCase{"ControlPlaneObservedWithoutStatus", {{"controlplane", Obj()}}, false},
        // Initialized is not enough: the pools wait for Available.
        StageCase{"ControlPlaneInitializedNotAvailable",
                  {{"controlplane", NotReadyControlPlane()}},
                  false},
        StageCase{"ControlPlaneAvailable", {{"controlplane", ReadyControlPlane()}}, true},
        // The guard: once any object of a pool exists it stays desired, even
        // when the control plane flaps to not ready (or is not observed).
        StageCase{"FlappedWithMachineDeploymentObserved",
                  {{"controlplane", NotReadyControlPlane()}, {"machinedeployment-general", Obj()}},
                  true},
        StageCase{"FlappedWithMachineTemplateObserved",
                  {{"controlplane", NotReadyControlPlane()}, {"awsmachinetemplate-general", Obj()}},
                  true},
        StageCase{
            "FlappedWithConfigTemplateObserved",
            {{"controlplane", NotReadyControlPlane()}, {"kubeadmconfigtemplate-general", Obj()}},
            true},
        StageCase{"FlappedWithUsageObserved",
                  {{"controlplane", NotReadyControlPlane()},
                   {"usage-controlplane-by-machinedeployment-general", Obj()}},
                  true},
        StageCase{"ControlPlaneGoneButPoolObserved", {{"machinedeployment-general", Obj()}}, true}),
    CaseName<StageCase>);

TEST(XClusterKubeadm, OnlyUnobservedPoolsWaitWhenTheControlPlaneFlaps) {
  const Json params = With(Params(), {{"nodePools",
                                       {{{"name", "general"}, {"instanceType", "m6i.large"}},
                                        {{"name", "extra"}, {"instanceType", "m6i.large"}}}}});
  const Rendered r =
      RunWithPath(Call{.xr = Xr(params),
                       .observed = {{"controlplane", NotReadyControlPlane()},
                                    {"machinedeployment-general", Obj({{"phase", "Running"}})}}});
  EXPECT_EQ(r.names(), PoolNames({"general"}));
  EXPECT_EQ(r.Status("nodePools.extra.phase"), "WaitingForControlPlane");
  EXPECT_EQ(r.Status("nodePools.general.phase"), "Running");
  EXPECT_EQ(r.CompositeReady(), pb::READY_FALSE);
}

TEST(XClusterKubeadm, AnnouncesItsResources) {
  const Rendered first = RunWithPath(Call{.xr = Xr(Params())});
  ASSERT_EQ(first.Normal().size(), 1u);
  EXPECT_THAT(first.Normal()[0], HasSubstr("creating 4 resources for the Kubeadm cluster "
                                           "payments-kubeadm (Cluster API)"));
  EXPECT_THAT(first.Normal()[0], HasSubstr("node pools general wait for the control plane"));
  const Rendered ready = RunReady(Params());
  ASSERT_EQ(ready.Normal().size(), 1u);
  EXPECT_THAT(ready.Normal()[0], HasSubstr("creating 7 resources"));
}

// --- The cluster, its infrastructure and control plane -----------------------------

TEST(XClusterKubeadm, ClusterReferencesTheKubeadmControlPlaneAndTheAwsCluster) {
  const Rendered r = RunWithPath(Call{.xr = Xr(Params())});
  EXPECT_EQ(r.Get("cluster", "apiVersion"), "cluster.x-k8s.io/v1beta2");
  EXPECT_EQ(r.Get("cluster", "kind"), "Cluster");
  EXPECT_EQ(r.Get("cluster", "metadata.name"), kXrName);
  EXPECT_EQ(r.Get("cluster", "spec.controlPlaneRef"),
            Json({{"apiGroup", "controlplane.cluster.x-k8s.io"},
                  {"kind", "KubeadmControlPlane"},
                  {"name", "payments-kubeadm-control-plane"}}));
  EXPECT_EQ(r.Get("cluster", "spec.infrastructureRef"),
            Json({{"apiGroup", "infrastructure.cluster.x-k8s.io"},
                  {"kind", "AWSCluster"},
                  {"name", kXrName}}));
  EXPECT_EQ(r.Get("cluster", "spec.clusterNetwork"),
            Json({{"pods", {{"cidrBlocks", {"192.168.0.0/16"}}}},
                  {"services", {{"cidrBlocks", {"172.20.0.0/16"}}}}}));
}

TEST(XClusterKubeadm, PodAndServiceBlocksComeFromTheParameters) {
  const Rendered r = RunWithPath(Call{
      .xr = Xr(With(Params(), {{"clusterNetwork",
                                {{"podCidr", "100.64.0.0/16"}, {"serviceCidr", "10.96.0.0/16"}}},
                               {"network", {{"vpcCidr", "10.10.0.0/16"}}}}))});
  EXPECT_EQ(r.Get("cluster", "spec.clusterNetwork"),
            Json({{"pods", {{"cidrBlocks", {"100.64.0.0/16"}}}},
                  {"services", {{"cidrBlocks", {"10.96.0.0/16"}}}}}));
  // One given, the other keeps its default.
  const Rendered pods_only = RunWithPath(
      Call{.xr = Xr(With(Params(), {{"clusterNetwork", {{"podCidr", "100.64.0.0/16"}}}}))});
  EXPECT_EQ(pods_only.Get("cluster", "spec.clusterNetwork.services.cidrBlocks"),
            Json({"172.20.0.0/16"}));
}

TEST(XClusterKubeadm, ThePrivateLoadBalancerAdmitsTheManagementNetworkAndTheVpcOn6443) {
  const Json input = PolicyInput({{"classes",
                                   {{"dev",
                                     {{"network",
                                       {{"managementPath",
                                         {{"transitGatewayId", kTransitGateway},
                                          {"cidrs", {"10.100.0.0/16", "10.101.4.0/24"}}}}}}}}}}});
  const Rendered r = ::platform::fn::testing::RunOk(
      Call{.xr = Xr(With(Params(), {{"network", {{"vpcCidr", "10.10.0.0/16"}}}})), .input = input});
  EXPECT_EQ(r.Get("awscluster", "spec.controlPlaneLoadBalancer.ingressRules"),
            Json::parse(R"json([{"description": "the management cluster (transit gateway)",
                             "protocol": "tcp", "fromPort": 6443, "toPort": 6443,
                             "cidrBlocks": ["10.100.0.0/16", "10.101.4.0/24"]},
                            {"description": "the cluster's VPC",
                             "protocol": "tcp", "fromPort": 6443, "toPort": 6443,
                             "cidrBlocks": ["10.10.0.0/16"]}])json"));
  // An internet-facing one keeps CAPA's own rules.
  const Rendered public_lb = ::platform::fn::testing::RunOk(
      Call{.xr = Xr(With(Params(), {{"endpointAccess", "PublicAndPrivate"},
                                    {"network", {{"publicSubnetIds", {"subnet-1a"}}}}})),
           .input = input});
  EXPECT_EQ(public_lb.Get("awscluster", "spec.controlPlaneLoadBalancer.ingressRules"), nullptr);
}

// The XEnvironment named network.environment, publishing VPC block `vpc_cidr`.
Json Environment(const std::string& vpc_cidr) {
  return ::platform::fn::testing::ObservedEnvironment(
      "dev", "eu-west-1",
      {{"vpcId", "vpc-0env"},
       {"vpcCidr", vpc_cidr},
       {"privateSubnetIds", {"subnet-0p1", "subnet-0p2"}},
       {"publicSubnetIds", {"subnet-0u1", "subnet-0u2"}}});
}

TEST(XClusterKubeadm, ServiceBlockMayNotOverlapTheEnvironmentsVpc) {
  Json params = Params();
  params["network"] = {{"environment", "payments-net"}};
  const pb::RunFunctionResponse rsp = RunProtoWithPath(Call{
      .xr = Xr(params), .required = {{"network-environment", {Environment("172.20.0.0/20")}}}});
  ASSERT_EQ(rsp.results_size(), 1) << rsp.DebugString();
  EXPECT_EQ(rsp.results(0).severity(), pb::SEVERITY_FATAL);
  EXPECT_EQ(rsp.results(0).message(),
            "spec.parameters.clusterNetwork.serviceCidr: the default 172.20.0.0/16 overlaps the "
            "VPC's block 172.20.0.0/20 (the environment payments-net's status.vpcCidr): "
            "addresses of the VPC would be shadowed inside the cluster; choose a block outside "
            "it");
  EXPECT_EQ(rsp.desired().resources_size(), 0);
  // Outside it, the environment's cluster renders, its VPC admitted too.
  const Rendered ok = RunWithPath(
      Call{.xr = Xr(params), .required = {{"network-environment", {Environment("10.10.0.0/16")}}}});
  EXPECT_EQ(ok.Get("awscluster", "spec.controlPlaneLoadBalancer.ingressRules[1].cidrBlocks"),
            Json({"10.10.0.0/16"}));
}

struct EndpointCase {
  std::string name;
  Json network;
  std::string endpoint_access;
  std::string scheme;
  Json subnets;
};

void PrintTo(const EndpointCase& c, std::ostream* os) { *os << c.name; }

class XClusterKubeadmEndpointTest : public ::testing::TestWithParam<EndpointCase> {};

TEST_P(XClusterKubeadmEndpointTest, AwsClusterUsesTheGivenNetworkAndLoadBalancerScheme) {
  const EndpointCase& c = GetParam();
  const Rendered r = RunWithPath(Call{
      .xr = Xr(With(Params(), {{"network", c.network}, {"endpointAccess", c.endpoint_access}}))});
  EXPECT_EQ(r.Get("awscluster", "apiVersion"), "infrastructure.cluster.x-k8s.io/v1beta2");
  EXPECT_EQ(r.Get("awscluster", "kind"), "AWSCluster");
  EXPECT_EQ(r.Get("awscluster", "metadata.name"), kXrName);
  EXPECT_EQ(r.Get("awscluster", "spec.region"), "eu-west-1");
  // Bring your own VPC: only ids, nothing for CAPA to create.
  EXPECT_EQ(r.Get("awscluster", "spec.network"),
            Json({{"vpc", {{"id", "vpc-0abc"}}}, {"subnets", c.subnets}}));
  Json load_balancer =
      Json({{"loadBalancerType", "nlb"}, {"healthCheckProtocol", "HTTPS"}, {"scheme", c.scheme}});
  // An internal load balancer admits the management network (the VPC's
  // block is not given here).
  if (c.scheme == "internal") {
    load_balancer["ingressRules"] = {{{"description", "the management cluster (transit gateway)"},
                                      {"protocol", "tcp"},
                                      {"fromPort", 6443},
                                      {"toPort", 6443},
                                      {"cidrBlocks", {kManagementCidr}}}};
  }
  EXPECT_EQ(r.Get("awscluster", "spec.controlPlaneLoadBalancer"), load_balancer);
  EXPECT_EQ(r.Get("awscluster", "spec.sshKeyName"), "");
  EXPECT_EQ(r.Get("awscluster", "spec.bastion"), nullptr);
}

const Json kPrivateSubnets = {{{"id", "subnet-0a"}}, {{"id", "subnet-0b"}}, {{"id", "subnet-0c"}}};

INSTANTIATE_TEST_SUITE_P(XClusterKubeadm, XClusterKubeadmEndpointTest,
                         ::testing::Values(EndpointCase{"Private", Json::object(), "Private",
                                                        "internal", kPrivateSubnets},
                                           EndpointCase{"PrivateWithPublicSubnets",
                                                        {{"publicSubnetIds", {"subnet-1a"}}},
                                                        "Private",
                                                        "internal",
                                                        {{{"id", "subnet-0a"}},
                                                         {{"id", "subnet-0b"}},
                                                         {{"id", "subnet-0c"}},
                                                         {{"id", "subnet-1a"}}}},
                                           EndpointCase{
                                               "PublicAndPrivate",
                                               {{"publicSubnetIds", {"subnet-1a", "subnet-1b"}}},
                                               "PublicAndPrivate",
                                               "internet-facing",
                                               {{{"id", "subnet-0a"}},
                                                {{"id", "subnet-0b"}},
                                                {{"id", "subnet-0c"}},
                                                {{"id", "subnet-1a"}},
                                                {{"id", "subnet-1b"}}}},
                                           EndpointCase{"Public",
                                                        {{"publicSubnetIds", {"subnet-1a"}}},
                                                        "Public",
                                                        "internet-facing",
                                                        {{{"id", "subnet-0a"}},
                                                         {{"id", "subnet-0b"}},
                                                         {{"id", "subnet-0c"}},
                                                         {{"id", "subnet-1a"}}}}),
                         CaseName<EndpointCase>);

TEST(XClusterKubeadm, ControlPlaneRunsKubeadmWithTheExternalCloudProvider) {
  const Rendered r = RunWithPath(Call{.xr = Xr(Params())});
  EXPECT_EQ(r.Get("controlplane", "apiVersion"), "controlplane.cluster.x-k8s.io/v1beta2");
  EXPECT_EQ(r.Get("controlplane", "kind"), "KubeadmControlPlane");
  EXPECT_EQ(r.Get("controlplane", "metadata.name"), "payments-kubeadm-control-plane");
  EXPECT_EQ(r.Get("controlplane", "spec.machineTemplate.spec.infrastructureRef"),
            Json({{"apiGroup", "infrastructure.cluster.x-k8s.io"},
                  {"kind", "AWSMachineTemplate"},
                  {"name", "payments-kubeadm-control-plane"}}));
  const Json external = Json::array({{{"name", "cloud-provider"}, {"value", "external"}}});
  const Json registration = {{"name", "{{ ds.meta_data.local_hostname }}"},
                             {"kubeletExtraArgs", external}};
  EXPECT_EQ(r.Get("controlplane", "spec.kubeadmConfigSpec"),
            Json({{"clusterConfiguration", {{"controllerManager", {{"extraArgs", external}}}}},
                  {"initConfiguration", {{"nodeRegistration", registration}}},
                  {"joinConfiguration", {{"nodeRegistration", registration}}}}));
  // The kube-apiserver has no --cloud-provider since 1.33.
  EXPECT_EQ(r.Get("controlplane", "spec.kubeadmConfigSpec.clusterConfiguration.apiServer"),
            nullptr);
}

TEST(XClusterKubeadm, ControlPlaneMachinesFollowControlPlaneParameters) {
  const Rendered r = RunWithPath(Call{
      .xr = Xr(With(Params(),
                    {{"controlPlane", {{"instanceType", "m7i.xlarge"}, {"diskSize", 120}}}}))});
  const std::string t = "awsmachinetemplate-controlplane";
  EXPECT_EQ(r.Get(t, "apiVersion"), "infrastructure.cluster.x-k8s.io/v1beta2");
  EXPECT_EQ(r.Get(t, "kind"), "AWSMachineTemplate");
  EXPECT_EQ(r.Get(t, "metadata.name"), "payments-kubeadm-control-plane");
  EXPECT_EQ(r.Get(t, "spec.template.spec.instanceType"), "m7i.xlarge");
  EXPECT_EQ(r.Get(t, "spec.template.spec.iamInstanceProfile"),
            "control-plane.cluster-api-provider-aws.sigs.k8s.io");
  EXPECT_EQ(r.Get(t, "spec.template.spec.rootVolume"), Json({{"size", 120}, {"type", "gp3"}}));
  EXPECT_EQ(r.Get(t, "spec.template.spec.publicIP"), false);
  EXPECT_EQ(r.Get(t, "spec.template.spec.sshKeyName"), "");
  // Defaults.
  const Rendered d = RunWithPath(Call{.xr = Xr(Params())});
  EXPECT_EQ(d.Get(t, "spec.template.spec.instanceType"), "m6i.large");
  EXPECT_EQ(d.Get(t, "spec.template.spec.rootVolume.size"), 50);
}

// --- Versions and replicas ------------------------------------------------------------

// The patch releases of docs/xcluster-kubeadm.md; a change there must
// change this table too.
const std::map<std::string, std::string> kPatches = {
    {"1.34", "v1.34.4"}, {"1.33", "v1.33.8"}, {"1.32", "v1.32.12"}, {"1.31", "v1.31.14"}};

TEST(XClusterKubeadm, EveryOfferedVersionBecomesItsPatchReleaseEverywhere) {
  for (std::string_view minor : policy::kKubernetesVersions) {
    const std::string v(minor);
    SCOPED_TRACE(v);
    ASSERT_EQ(kPatches.count(v), 1u) << "no expected patch release for " << v;
    const Rendered r = RunReady(With(Params(), {{"kubernetesVersion", v}}));
    EXPECT_EQ(r.Get("controlplane", "spec.version"), kPatches.at(v));
    EXPECT_EQ(r.Get("machinedeployment-general", "spec.template.spec.version"), kPatches.at(v));
  }
  const Rendered r = RunWithPath(Call{.xr = Xr(Params())});
  EXPECT_EQ(r.Get("controlplane", "spec.version"), "v1.34.4");
}

struct ReplicasCase {
  std::string name;
  std::string environment;
  Json control_plane;  // null: not given
  int want;
};

void PrintTo(const ReplicasCase& c, std::ostream* os) { *os << c.name; }

class XClusterKubeadmReplicasTest : public ::testing::TestWithParam<ReplicasCase> {};

TEST_P(XClusterKubeadmReplicasTest, ControlPlaneReplicas) {
  const ReplicasCase& c = GetParam();
  Json params = Params(c.environment);
  if (!c.control_plane.is_null()) params["controlPlane"] = c.control_plane;
  const Rendered r = RunWithPath(Call{.xr = Xr(params)});
  EXPECT_EQ(r.Get("controlplane", "spec.replicas"), c.want);
}

INSTANTIATE_TEST_SUITE_P(XClusterKubeadm, XClusterKubeadmReplicasTest,
                         ::testing::Values(ReplicasCase{"DevDefault", "dev", nullptr, 1},
                                           ReplicasCase{"DevEmptyControlPlane", "dev",
                                                        Json::object(), 1},
                                           ReplicasCase{"ProdDefault", "prod", nullptr, 3},
                                           ReplicasCase{"DevThree", "dev", {{"replicas", 3}}, 3},
                                           ReplicasCase{"ProdFive", "prod", {{"replicas", 5}}, 5}),
                         CaseName<ReplicasCase>);

// --- Node pools -------------------------------------------------------------------

TEST(XClusterKubeadm, MachineDeploymentRunsThePoolsTemplates) {
  const Rendered r =
      RunReady(With(Params(), Pools({{"minSize", 2}, {"maxSize", 5}, {"desiredSize", 3}})));
  const std::string md = "machinedeployment-general";
  EXPECT_EQ(r.Get(md, "apiVersion"), "cluster.x-k8s.io/v1beta2");
  EXPECT_EQ(r.Get(md, "kind"), "MachineDeployment");
  EXPECT_EQ(r.Get(md, "metadata.name"), "payments-kubeadm-general");
  EXPECT_EQ(r.Get(md, "metadata.namespace"), "team-payments");
  EXPECT_EQ(r.Get(md, "metadata.annotations"),
            Json({{"cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size", "2"},
                  {"cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size", "5"}}));
  EXPECT_EQ(r.Get(md, "spec.clusterName"), kXrName);
  EXPECT_EQ(r.Get(md, "spec.replicas"), 3);
  const Json selector = {{"cluster.x-k8s.io/cluster-name", kXrName},
                         {"cluster.x-k8s.io/deployment-name", "payments-kubeadm-general"}};
  EXPECT_EQ(r.Get(md, "spec.selector.matchLabels"), selector);
  EXPECT_EQ(r.Get(md, "spec.template.metadata.labels"), selector);
  EXPECT_EQ(r.Get(md, "spec.template.spec.clusterName"), kXrName);
  EXPECT_EQ(r.Get(md, "spec.template.spec.bootstrap.configRef"),
            Json({{"apiGroup", "bootstrap.cluster.x-k8s.io"},
                  {"kind", "KubeadmConfigTemplate"},
                  {"name", "payments-kubeadm-general"}}));
  EXPECT_EQ(r.Get(md, "spec.template.spec.infrastructureRef"),
            Json({{"apiGroup", "infrastructure.cluster.x-k8s.io"},
                  {"kind", "AWSMachineTemplate"},
                  {"name", "payments-kubeadm-general"}}));

  const std::string amt = "awsmachinetemplate-general";
  EXPECT_EQ(r.Get(amt, "kind"), "AWSMachineTemplate");
  EXPECT_EQ(r.Get(amt, "metadata.name"), "payments-kubeadm-general");
  EXPECT_EQ(r.Get(amt, "spec.template.spec.instanceType"), "m6i.large");
  EXPECT_EQ(r.Get(amt, "spec.template.spec.iamInstanceProfile"),
            "nodes.cluster-api-provider-aws.sigs.k8s.io");
  EXPECT_EQ(r.Get(amt, "spec.template.spec.rootVolume"), Json({{"size", 50}, {"type", "gp3"}}));
  EXPECT_EQ(r.Get(amt, "spec.template.spec.publicIP"), false);
  EXPECT_EQ(r.Get(amt, "spec.template.spec.sshKeyName"), "");
  EXPECT_EQ(r.Get(amt, "spec.template.spec.spotMarketOptions"), nullptr);
  EXPECT_EQ(r.Get(amt, "spec.template.spec.additionalSecurityGroups"), nullptr);

  const std::string kct = "kubeadmconfigtemplate-general";
  EXPECT_EQ(r.Get(kct, "apiVersion"), "bootstrap.cluster.x-k8s.io/v1beta2");
  EXPECT_EQ(r.Get(kct, "kind"), "KubeadmConfigTemplate");
  EXPECT_EQ(r.Get(kct, "metadata.name"), "payments-kubeadm-general");
  EXPECT_EQ(r.Get(kct, "spec.template.spec.joinConfiguration.nodeRegistration"),
            Json({{"name", "{{ ds.meta_data.local_hostname }}"},
                  {"kubeletExtraArgs", {{{"name", "cloud-provider"}, {"value", "external"}}}}}));
}

TEST(XClusterKubeadm, SpotPoolsAskForSpotInstances) {
  const Rendered r = RunReady(With(Params(), Pools({{"capacityType", "SPOT"}, {"diskSize", 100}})));
  EXPECT_EQ(r.Get("awsmachinetemplate-general", "spec.template.spec.spotMarketOptions"),
            Json::object());
  EXPECT_EQ(r.Get("awsmachinetemplate-general", "spec.template.spec.rootVolume.size"), 100);
}

TEST(XClusterKubeadm, LabelsAndTaintsReachTheNodes) {
  const Rendered r = RunReady(With(
      Params(), Pools({{"labels",
                        {{"workload", "batch"},
                         {"example.com/team", "payments"},
                         {"node.kubernetes.io/lifecycle", "spot"},
                         {"node-role.kubernetes.io/batch", ""},
                         {"node.cluster.x-k8s.io/tier", "2"}}},
                       {"taints",
                        {{{"key", "workload"}, {"value", "batch"}, {"effect", "NoSchedule"}},
                         {{"key", "example.com/dedicated"}, {"effect", "PreferNoSchedule"}}}}})));
  const Json registration = r.Get("kubeadmconfigtemplate-general",
                                  "spec.template.spec.joinConfiguration.nodeRegistration");
  // The kubelet registers with what it may set, sorted by key.
  EXPECT_EQ(registration["kubeletExtraArgs"],
            Json::array({{{"name", "cloud-provider"}, {"value", "external"}},
                         {{"name", "node-labels"},
                          {"value",
                           "example.com/team=payments,node.kubernetes.io/lifecycle=spot,"
                           "workload=batch"}}}));
  EXPECT_EQ(registration["taints"],
            Json::array({{{"key", "workload"}, {"value", "batch"}, {"effect", "NoSchedule"}},
                         {{"key", "example.com/dedicated"}, {"effect", "PreferNoSchedule"}}}));
  // Cluster API copies roles and its own domain from the Machine.
  EXPECT_EQ(r.Get("machinedeployment-general", "spec.template.metadata.labels"),
            Json({{"cluster.x-k8s.io/cluster-name", kXrName},
                  {"cluster.x-k8s.io/deployment-name", "payments-kubeadm-general"},
                  {"node-role.kubernetes.io/batch", ""},
                  {"node.cluster.x-k8s.io/tier", "2"}}));
  // The selector stays the deployment's own.
  EXPECT_EQ(r.Get("machinedeployment-general", "spec.selector.matchLabels").size(), 2u);
}

TEST(XClusterKubeadm, SecurityGroupsGoOnEveryPoolMachine) {
  const Json params = With(Params(), {{"network", {{"securityGroupIds", {"sg-0user"}}}},
                                      {"nodePools",
                                       {{{"name", "general"}, {"instanceType", "m6i.large"}},
                                        {{"name", "batch"}, {"instanceType", "c6i.large"}}}}});
  const Rendered r = RunReady(
      params,
      PolicyInput({{"classes", {{"dev", {{"securityGroupIds", {"sg-0123456789abcdef0"}}}}}}}));
  for (const std::string pool : {"general", "batch"}) {
    EXPECT_EQ(r.Get("awsmachinetemplate-" + pool, "spec.template.spec.additionalSecurityGroups"),
              Json::array({{{"id", "sg-0user"}}, {{"id", "sg-0123456789abcdef0"}}}))
        << pool;
  }
  EXPECT_EQ(r.Get("awsmachinetemplate-controlplane", "spec.template.spec.additionalSecurityGroups"),
            nullptr);
}

TEST(XClusterKubeadm, MandatedTagsWinOverUserTags) {
  const Rendered r = RunReady(
      With(Params(), {{"tags", {{"owner", "oncall"}, {"platform.terraforming.io/team", "evil"}}}}));
  for (const auto& [name, path] :
       {std::pair<std::string, std::string>{"awscluster", "spec.additionalTags"},
        {"awsmachinetemplate-controlplane", "spec.template.spec.additionalTags"},
        {"awsmachinetemplate-general", "spec.template.spec.additionalTags"}}) {
    const Json tags = r.Get(name, path);
    EXPECT_EQ(tags["owner"], "oncall") << name;
    EXPECT_EQ(tags["platform.terraforming.io/team"], "payments") << name;
    EXPECT_EQ(tags["platform.terraforming.io/environment"], "dev") << name;
    EXPECT_EQ(tags["platform.terraforming.io/cost-center"], "cc-1234") << name;
  }
}

// --- Account ------------------------------------------------------------------------

TEST(XClusterKubeadm, TheAwsClusterTakesTheIdentityOfTheAccount) {
  const Json input = PolicyInput(
      {{"classes",
        {{"dev",
          {{"account",
            {{"providerConfig", "nonprod"},
             {"clusterIdentity", {{"kind", "AWSClusterRoleIdentity"}, {"name", "nonprod"}}}}}}}}}});
  const Rendered r = RunReady(Params(), input);
  EXPECT_EQ(r.Get("awscluster", "spec.identityRef"),
            Json({{"kind", "AWSClusterRoleIdentity"}, {"name", "nonprod"}}));
  for (const auto& [name, o] : r.resources()) {
    if (name == "awscluster") continue;
    EXPECT_EQ(At(o, "spec.identityRef"), nullptr) << name;
    EXPECT_EQ(At(o, "spec.providerConfigRef"), nullptr) << name;
  }
  // Without an identity CAPA uses its controller's credentials, as before.
  EXPECT_EQ(RunReady(Params()).Get("awscluster", "spec.identityRef"), nullptr);
}

// --- Deletion order -----------------------------------------------------------------

TEST(XClusterKubeadm, WorkersAreDeletedBeforeTheControlPlane) {
  const Rendered r = RunReady(Params());
  const std::string usage = "usage-controlplane-by-machinedeployment-general";
  EXPECT_EQ(r.Get(usage, "apiVersion"), "protection.crossplane.io/v1beta1");
  EXPECT_EQ(r.Get(usage, "kind"), "Usage");
  EXPECT_EQ(r.Get(usage, "metadata.name"), "payments-kubeadm-machinedeployment-general");
  EXPECT_EQ(r.Get(usage, "metadata.namespace"), "team-payments");
  EXPECT_EQ(r.Get(usage, "spec.of"),
            Json({{"apiVersion", "controlplane.cluster.x-k8s.io/v1beta2"},
                  {"kind", "KubeadmControlPlane"},
                  {"resourceRef", {{"name", "payments-kubeadm-control-plane"}}}}));
  EXPECT_EQ(r.Get(usage, "spec.by"),
            Json({{"apiVersion", "cluster.x-k8s.io/v1beta2"},
                  {"kind", "MachineDeployment"},
                  {"resourceRef", {{"name", "payments-kubeadm-general"}}}}));
  EXPECT_EQ(r.Get(usage, "spec.replayDeletion"), true);
}

// --- Scope ----------------------------------------------------------------------------

TEST(XClusterKubeadm, NamespacedXrComposesIntoItsNamespace) {
  const Rendered r = RunWithPath(
      Call{.xr = Xr(Params(), "team-web"), .observed = {{"controlplane", ReadyControlPlane()}}});
  ASSERT_EQ(r.names(), PoolNames({"general"}));
  for (const auto& [name, o] : r.resources()) {
    EXPECT_EQ(At(o, "metadata.namespace"), "team-web") << name;
    EXPECT_EQ(At(o, "metadata.labels[cluster.x-k8s.io/cluster-name]"), kXrName) << name;
    EXPECT_EQ(At(o, "metadata.labels[platform.terraforming.io/resource]"), name) << name;
  }
  // The Cluster API Cluster's name, which CAPA and the cloud provider know
  // the cluster by (only EKS names carry the namespace).
  EXPECT_EQ(r.Status("clusterName"), "payments-kubeadm");
  // Namespaced XRs have no connection details to publish.
  EXPECT_FALSE(r.proto().has_requirements());
}

// --- Readiness --------------------------------------------------------------------

struct ReadyCase {
  std::string name;
  std::string resource;
  Json observed;
  pb::Ready want;
};

void PrintTo(const ReadyCase& c, std::ostream* os) { *os << c.name; }

class XClusterKubeadmReadyTest : public ::testing::TestWithParam<ReadyCase> {};

TEST_P(XClusterKubeadmReadyTest, FollowsTheRulesOfTheDocs) {
  const ReadyCase& c = GetParam();
  Json observed = {{"controlplane", ReadyControlPlane()}};
  if (c.observed.is_null()) {
    observed.erase(c.resource);
  } else {
    observed[c.resource] = c.observed;
  }
  const Rendered r = RunWithPath(Call{.xr = Xr(Params()), .observed = observed});
  EXPECT_EQ(r.Ready(c.resource), c.want);
}

INSTANTIATE_TEST_SUITE_P(
    XClusterKubeadm, XClusterKubeadmReadyTest,
    ::testing::Values(
        ReadyCase{"ClusterAvailable", "cluster", Obj(Conditions("Available", "True")),
                  pb::READY_TRUE},
        ReadyCase{"ClusterNotAvailable", "cluster", Obj(Conditions("Available", "False")),
                  pb::READY_FALSE},
        ReadyCase{"ClusterNotObserved", "cluster", nullptr, pb::READY_FALSE},
        ReadyCase{"AwsClusterReadyFlag", "awscluster", Obj({{"ready", true}}), pb::READY_TRUE},
        ReadyCase{"AwsClusterReadyCondition", "awscluster", Obj(Conditions("Ready", "True")),
                  pb::READY_TRUE},
        ReadyCase{"AwsClusterNotReady", "awscluster", Obj({{"ready", false}}), pb::READY_FALSE},
        ReadyCase{"ControlPlaneAvailable", "controlplane", ReadyControlPlane(), pb::READY_TRUE},
        ReadyCase{"ControlPlaneOnlyInitialized", "controlplane",
                  Obj({{"initialization", {{"controlPlaneInitialized", true}}}}), pb::READY_FALSE},
        ReadyCase{"ControlPlaneNotObserved", "controlplane", nullptr, pb::READY_FALSE},
        ReadyCase{"MachineDeploymentRunning", "machinedeployment-general",
                  Obj({{"phase", "Running"}}), pb::READY_TRUE},
        ReadyCase{"MachineDeploymentAvailable", "machinedeployment-general",
                  Obj(Conditions("Available", "True")), pb::READY_TRUE},
        ReadyCase{"MachineDeploymentScalingUp", "machinedeployment-general",
                  Obj({{"phase", "ScalingUp"}}), pb::READY_FALSE},
        ReadyCase{"MachineDeploymentNotObserved", "machinedeployment-general", nullptr,
                  pb::READY_FALSE},
        // Templates have no status: observed means ready.
        ReadyCase{"ControlPlaneTemplateObserved", "awsmachinetemplate-controlplane", Obj(),
                  pb::READY_TRUE},
        ReadyCase{"ControlPlaneTemplateNotObserved", "awsmachinetemplate-controlplane", nullptr,
                  pb::READY_FALSE},
        ReadyCase{"MachineTemplateObserved", "awsmachinetemplate-general", Obj(), pb::READY_TRUE},
        ReadyCase{"MachineTemplateNotObserved", "awsmachinetemplate-general", nullptr,
                  pb::READY_FALSE},
        ReadyCase{"ConfigTemplateObserved", "kubeadmconfigtemplate-general", Obj(), pb::READY_TRUE},
        ReadyCase{"ConfigTemplateNotObserved", "kubeadmconfigtemplate-general", nullptr,
                  pb::READY_FALSE},
        ReadyCase{"UsageReady", "usage-controlplane-by-machinedeployment-general",
                  Obj(Conditions("Ready", "True")), pb::READY_TRUE},
        ReadyCase{"UsageNotReady", "usage-controlplane-by-machinedeployment-general", Obj(),
                  pb::READY_FALSE}),
    CaseName<ReadyCase>);

TEST(XClusterKubeadm, ReadyOnceEverythingIsObservedReady) {
  Json all = Json::object();
  for (const std::string& n : PoolNames({"general"})) all[n] = Obj(Conditions("Ready", "True"));
  all["controlplane"] = ReadyControlPlane();
  const Rendered r = RunWithPath(Call{.xr = Xr(Params()), .observed = all});
  for (const std::string& n : PoolNames({"general"})) EXPECT_EQ(r.Ready(n), pb::READY_TRUE) << n;
  // Crossplane decides from the resources; the function does not hold it back.
  EXPECT_EQ(r.CompositeReady(), pb::READY_UNSPECIFIED);
  EXPECT_TRUE(r.Normal().empty());
}

// --- Status -----------------------------------------------------------------------

TEST(XClusterKubeadm, StatusPublishesWhatConsumersNeed) {
  Json cluster = Obj(Conditions("Available", "True"));
  cluster["spec"] = {
      {"controlPlaneEndpoint",
       {{"host", "internal-payments-apiserver.elb.eu-west-1.amazonaws.com"}, {"port", 6443}}}};
  const Rendered r = RunWithPath(
      Call{.xr = Xr(Params()),
           .observed = {{"cluster", cluster},
                        {"controlplane", ReadyControlPlane()},
                        {"machinedeployment-general",
                         Obj({{"phase", "Running"}, {"replicas", 2}, {"readyReplicas", 1}})}}});
  EXPECT_EQ(r.Status("clusterName"), kXrName);
  EXPECT_EQ(r.Status("namespace"), "team-payments");
  EXPECT_EQ(r.Status("kubeconfigSecretName"), "payments-kubeadm-kubeconfig");
  EXPECT_EQ(r.Status("userKubeconfigSecretName"), nullptr);
  EXPECT_EQ(r.Status("controlPlaneReady"), true);
  EXPECT_EQ(r.Status("version"), "v1.34.4");
  EXPECT_EQ(r.Status("endpoint"),
            "https://internal-payments-apiserver.elb.eu-west-1.amazonaws.com:6443");
  EXPECT_EQ(r.Status("oidcIssuer"), nullptr);
  EXPECT_EQ(r.Status("nodePools.general"),
            Json({{"phase", "Running"}, {"ready", true}, {"replicas", 2}, {"readyReplicas", 1}}));
}

TEST(XClusterKubeadm, EndpointFromTheAwsClusterBeforeTheClusterHasIt) {
  Json aws = Obj({{"ready", true}});
  aws["spec"] = {{"controlPlaneEndpoint", {{"host", "api.example.com"}, {"port", 443}}}};
  const Rendered r =
      RunWithPath(Call{.xr = Xr(Params()), .observed = {{"cluster", Obj()}, {"awscluster", aws}}});
  EXPECT_EQ(r.Status("endpoint"), "https://api.example.com");
  EXPECT_EQ(r.Status("version"), nullptr);
  EXPECT_EQ(r.Status("controlPlaneReady"), false);
}

TEST(XClusterKubeadm, KubeconfigIsAskedForOnceTheControlPlaneIsReady) {
  const Rendered before = RunWithPath(Call{.xr = Xr(Params())});
  EXPECT_FALSE(before.proto().has_requirements());
  const Rendered r = RunReady(Params());
  ASSERT_EQ(r.proto().requirements().resources().count("kubeconfig"), 1u)
      << r.proto().DebugString();
  const pb::ResourceSelector& s = r.proto().requirements().resources().at("kubeconfig");
  EXPECT_EQ(s.kind(), "Secret");
  EXPECT_EQ(s.match_name(), "payments-kubeadm-kubeconfig");
  EXPECT_EQ(s.namespace_(), "team-payments");
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
  return {
      {"PublicEndpointWithoutPublicSubnets", Xr(With(Params(), {{"endpointAccess", "Public"}})),
       "spec.parameters.network.publicSubnetIds: required for endpoint access Public of a "
       "Kubeadm cluster"},
      {"PublicAndPrivateEndpointWithoutPublicSubnets",
       Xr(With(Params(), {{"endpointAccess", "PublicAndPrivate"}})),
       "spec.parameters.network.publicSubnetIds: required for endpoint access PublicAndPrivate"},
      {"BadPublicSubnet", Xr(With(Params(), {{"network", {{"publicSubnetIds", {"sub-1"}}}}})),
       "spec.parameters.network.publicSubnetIds[0]: \"sub-1\" is not a subnet id"},
      {"Addons", Xr(With(Params(), {{"addons", {{{"name", "vpc-cni"}}}}})),
       "spec.parameters.addons: EKS add-ons need an EKS cluster"},
      {"TwoReplicas", Xr(With(Params(), {{"controlPlane", {{"replicas", 2}}}})),
       "spec.parameters.controlPlane.replicas: must be 1, 3 or 5"},
      {"ProdOneReplica", Xr(With(Params("prod"), {{"controlPlane", {{"replicas", 1}}}})),
       "spec.parameters.controlPlane.replicas: prod control planes need at least 3 replicas",
       "PolicyCompliant"},
      {"ControlPlaneFamilyForDev",
       Xr(With(Params(), {{"controlPlane", {{"instanceType", "x2iedn.xlarge"}}}})),
       "spec.parameters.controlPlane.instanceType: dev clusters may use instance families",
       "PolicyCompliant"},
      {"ControlPlaneDiskTooSmall", Xr(With(Params(), {{"controlPlane", {{"diskSize", 10}}}})),
       "spec.parameters.controlPlane.diskSize: must be between 20 and 16384 (GiB)"},
      {"KubeadmThroughAws", Xr(With(Params(), {{"provisioner", "AWS"}})),
       "spec.parameters.flavor: provisioner AWS makes EKS clusters"},
      {"ReservedLabel", Xr(With(Params(), Pools({{"labels", {{"kubernetes.io/role", "batch"}}}}))),
       "spec.parameters.nodePools[0].labels[kubernetes.io/role]: the kubelet refuses labels in "
       "the kubernetes.io and k8s.io namespaces"},
      {"ReservedSubdomainLabel",
       Xr(With(Params(), Pools({{"labels", {{"team.k8s.io/name", "x"}}}}))),
       "spec.parameters.nodePools[0].labels[team.k8s.io/name]: the kubelet refuses"},
      {"BadLabelKey", Xr(With(Params(), Pools({{"labels", {{"a=b,c", "x"}}}}))),
       "spec.parameters.nodePools[0].labels[a=b,c]: is not a Kubernetes label key"},
      {"BadLabelValue", Xr(With(Params(), Pools({{"labels", {{"workload", "a,b"}}}}))),
       "spec.parameters.nodePools[0].labels[workload]: \"a,b\" is not a label value"},
      {"BadTaintKey",
       Xr(With(Params(),
               Pools({{"taints", {{{"key", "-bad"}, {"value", "x"}, {"effect", "NoSchedule"}}}}}))),
       "spec.parameters.nodePools[0].taints[0].key: is not a Kubernetes taint key"},
      {"PodCidrOverlapsTheVpc",
       Xr(With(Params(), {{"clusterNetwork", {{"podCidr", "10.10.128.0/17"}}},
                          {"network", {{"vpcCidr", "10.10.0.0/16"}}}})),
       "spec.parameters.clusterNetwork.podCidr: 10.10.128.0/17 overlaps the VPC's block "
       "10.10.0.0/16 "
       "(spec.parameters.network.vpcCidr): addresses of the VPC would be shadowed inside the "
       "cluster"},
      {"DefaultPodCidrOverlapsTheVpc",
       Xr(With(Params(), {{"network", {{"vpcCidr", "192.168.0.0/16"}}}})),
       "spec.parameters.clusterNetwork.podCidr: the default 192.168.0.0/16 overlaps the VPC's "
       "block 192.168.0.0/16"},
      {"PodCidrOverlapsTheManagementNetwork",
       Xr(With(Params(), {{"clusterNetwork", {{"podCidr", "10.100.128.0/17"}}}})),
       "spec.parameters.clusterNetwork.podCidr: 10.100.128.0/17 overlaps the management network "
       "10.100.0.0/16 (policy classes.dev.network.managementPath.cidrs): the cluster would never "
       "answer it; choose another block"},
      {"DefaultServiceCidrOverlapsTheManagementNetwork", Xr(Params()),
       "spec.parameters.clusterNetwork.serviceCidr: the default 172.20.0.0/16 overlaps the "
       "management network 172.16.0.0/12",
       "",
       PolicyInput(
           {{"classes",
             {{"dev",
               {{"network",
                 {{"managementPath",
                   {{"transitGatewayId", kTransitGateway}, {"cidrs", {"172.16.0.0/12"}}}}}}}}}}})},
      {"PodsAndServicesOverlap",
       Xr(With(Params(), {{"clusterNetwork", {{"serviceCidr", "192.168.128.0/20"}}}})),
       "spec.parameters.clusterNetwork.serviceCidr: pods (192.168.0.0/16) and services "
       "(192.168.128.0/20) need blocks apart from each other"},
      {"PodCidrNotACidr", Xr(With(Params(), {{"clusterNetwork", {{"podCidr", "10.1.2.3/16"}}}})),
       "spec.parameters.clusterNetwork.podCidr: \"10.1.2.3/16\" is not an IPv4 CIDR block"},
      {"VpcCidrWithAnEnvironment",
       Xr(With(Params(), {{"network",
                           {{"vpcId", nullptr},
                            {"privateSubnetIds", nullptr},
                            {"environment", "payments-net"},
                            {"vpcCidr", "10.10.0.0/16"}}}})),
       "spec.parameters.network.vpcCidr: only with vpcId: the environment publishes its own "
       "block"},
      {"BadTaintValue",
       Xr(With(Params(),
               Pools({{"taints", {{{"key", "k"}, {"value", "a b"}, {"effect", "NoExecute"}}}}}))),
       "spec.parameters.nodePools[0].taints[0].value: is not a Kubernetes taint value"},
  };
}

class XClusterKubeadmErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(XClusterKubeadmErrorTest, FailsNamingTheField) {
  const ErrorCase& c = GetParam();
  const pb::RunFunctionResponse rsp = RunProtoWithPath(
      Call{.xr = c.xr, .observed = {{"controlplane", ReadyControlPlane()}}, .input = c.input});
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

INSTANTIATE_TEST_SUITE_P(XClusterKubeadm, XClusterKubeadmErrorTest,
                         ::testing::ValuesIn(ErrorCases()), CaseName<ErrorCase>);

}  // namespace
}  // namespace platform::fn::renderers
