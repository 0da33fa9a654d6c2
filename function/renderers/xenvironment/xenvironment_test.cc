// The XEnvironment renderer through the Runner and the builtin registry, as
// Crossplane calls it, so that errors are seen as the protocol carries them:
// one FATAL result, and a False condition for a policy violation.
//
// A rendered environment is some 35 to 75 resources, so responses are not
// compared whole. Helpers pick out what a case is about (the set of desired
// names, one resource as JSON, a field by path, the XR's status) and a few
// generic checks walk every resource: every selector points at a resource
// that is desired and of the right kind, no private route reaches the
// internet gateway, every taggable resource carries the mandated tags.
#include "function/renderers/xenvironment/xenvironment.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "function/compose/scope.h"
#include "function/network/zones.h"
#include "function/policy/policy.h"
#include "function/registry.h"
#include "function/renderers/builtin.h"
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
using ::platform::fn::testing::kResourceLabel;
using ::platform::fn::testing::Names;
using ::platform::fn::testing::PolicyInput;
using ::platform::fn::testing::Render;
using ::platform::fn::testing::Rendered;
using ::platform::fn::testing::RequestOf;
using ::platform::fn::testing::RunOk;
using ::platform::fn::testing::RunProto;
using ::platform::fn::testing::Target;
using ::platform::fn::testing::With;
using ::platform::fn::testing::XrOf;

using ::platform::fn::testing::CaseName;
using ::platform::fn::testing::EqualsProto;
using ::platform::fn::testing::FromJson;
using ::testing::ElementsAre;
using ::testing::IsSubsetOf;
using ::testing::StartsWith;

using compose::Scope;
using compose::ScopeOf;
using sdk::Json;

constexpr char kXrName[] = "payments-dev";
constexpr char kPolicyKey[] = "platform-policy";

// --- Requests ---------------------------------------------------------------------

Json Params(const std::string& environment = "dev", const std::string& region = "eu-west-1") {
  return {{"environment", environment}, {"region", region}, {"team", "payments"}};
}

// A claim-based (cluster-scoped) XR without a claim, or a namespaced one
// when `ns` is set.
Json Xr(const Json& parameters, const std::string& ns = "") {
  return XrOf("XEnvironment", kXrName, parameters, ns, /*claim_ns=*/"");
}

// The XR a claim named payments in `claim_ns` produces.
Json ClaimXr(const Json& parameters, const std::string& claim_ns) {
  return XrOf("XEnvironment", kXrName, parameters, "", claim_ns, "payments");
}

// The internet gateway as Crossplane observes it once it is attached: what
// the NAT gateways wait for.
Json AttachedGateway() {
  return {{"igw",
           {{"apiVersion", "ec2.aws.upbound.io/v1beta1"},
            {"kind", "InternetGateway"},
            {"metadata", {{"name", "payments-dev-igw"}}},
            {"status",
             {{"atProvider", {{"id", "igw-0abc"}}},
              {"conditions", {{{"type", "Ready"}, {"status", "True"}}}}}}}}};
}

// Renders `xr` as Crossplane does once the internet gateway is attached.
Rendered RunAttached(const Json& xr, const Json& input = nullptr) {
  return RunOk(Call{.xr = xr, .observed = AttachedGateway(), .input = input});
}

// --- Expected names ---------------------------------------------------------------

const std::vector<std::string> kTiers = {"public", "private", "database"};

// The zones that get a NAT gateway.
std::vector<std::string> NatZones(const std::vector<std::string>& zones, const std::string& nat) {
  if (nat == "Single") return {zones.front()};
  if (nat == "PerZone") return zones;
  return {};
}

struct Expect {
  bool flow_logs = false;  // the class's policy turns them on (prod by default)
  bool attached = true;    // the internet gateway is observed ready
};

// Every composition resource name of an environment in `zones` with `nat`,
// as docs/xenvironment.md lists them.
Names ExpectedNames(const std::vector<std::string>& zones, const std::string& nat, Expect e = {}) {
  Names n = {"vpc",
             "igw",
             "vpce-s3",
             "vpce-s3-rt-database",
             "rt-public",
             "route-public-internet",
             "usage-igw-by-route-public-internet",
             "rt-database",
             "sg-baseline",
             "sgr-baseline-self",
             "sgr-baseline-egress",
             "usage-vpc-by-sg-baseline",
             "sg-default"};
  if (e.flow_logs) {
    n.insert({"flowlog", "flowlog-group", "flowlog-role", "flowlog-role-policy",
              "usage-flowlog-group-by-flowlog", "usage-flowlog-role-by-flowlog"});
  }
  for (const std::string& z : zones) {
    for (const std::string& tier : kTiers) {
      n.insert(sdk::Cat("subnet-", tier, "-", z));
      n.insert(sdk::Cat("usage-vpc-by-subnet-", tier, "-", z));
      n.insert(sdk::Cat("rta-", tier, "-", z));
    }
    if (nat == "PerZone") {
      n.insert("rt-private-" + z);
      n.insert("vpce-s3-rt-private-" + z);
      if (e.attached) n.insert("route-private-nat-" + z);
    }
  }
  if (nat != "PerZone") n.insert({"rt-private", "vpce-s3-rt-private"});
  if (nat == "Single" && e.attached) n.insert("route-private-nat");
  if (!e.attached) return n;
  for (const std::string& z : NatZones(zones, nat)) {
    n.insert("eip-nat-" + z);
    n.insert("nat-" + z);
    n.insert(sdk::Cat("usage-subnet-public-", z, "-by-nat-", z));
    n.insert(sdk::Cat("usage-eip-nat-", z, "-by-nat-", z));
    n.insert(sdk::Cat("usage-igw-by-nat-", z));
    n.insert(sdk::Cat("usage-igw-by-eip-nat-", z));
  }
  return n;
}

// The kind a composition resource name stands for.
std::string KindByName(const std::string& name, bool namespaced) {
  static const std::vector<std::pair<std::string, std::string>> kPrefixes = {
      {"vpce-s3-rt-", "VPCEndpointRouteTableAssociation"},
      {"vpce-dynamodb-rt-", "VPCEndpointRouteTableAssociation"},
      {"vpce-", "VPCEndpoint"},
      {"sg-default", "DefaultSecurityGroup"},
      {"flowlog-group", "Group"},
      {"flowlog-role-policy", "RolePolicy"},
      {"flowlog-role", "Role"},
      {"flowlog", "FlowLog"},
      {"vpc", "VPC"},
      {"igw", "InternetGateway"},
      {"subnet-", "Subnet"},
      {"eip-", "EIP"},
      {"nat-", "NATGateway"},
      {"rta-", "RouteTableAssociation"},
      {"rt-", "RouteTable"},
      {"route-", "Route"},
      {"sgr-baseline-self", "SecurityGroupIngressRule"},
      {"sgr-baseline-egress", "SecurityGroupEgressRule"},
      {"sg-", "SecurityGroup"},
  };
  if (name.starts_with("usage-")) return namespaced ? "Usage" : "ClusterUsage";
  for (const auto& [prefix, kind] : kPrefixes) {
    if (name.starts_with(prefix)) return kind;
  }
  return "?";
}

// --- Generic checks ---------------------------------------------------------------

// Every field named *Selector below `j`, with its path and the object that
// holds it.
struct SelectorAt {
  std::string path;
  std::string field;
  const Json* selector;
  const Json* holder;
};

void FindSelectors(const Json& j, const std::string& path, std::vector<SelectorAt>& out) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      const std::string child = path.empty() ? it.key() : sdk::Cat(path, ".", it.key());
      if (it.key().ends_with("Selector")) {
        out.push_back({child, it.key(), &it.value(), &j});
      } else {
        FindSelectors(it.value(), child, out);
      }
    }
  } else if (j.is_array()) {
    for (std::size_t i = 0; i < j.size(); ++i) {
      FindSelectors(j[i], sdk::Cat(path, "[", i, "]"), out);
    }
  }
}

// The kind each selector field of the AWS kinds refers to.
const std::map<std::string, std::string>& SelectorKinds() {
  static const auto* kinds = new std::map<std::string, std::string>{
      {"vpcIdSelector", "VPC"},
      {"subnetIdSelector", "Subnet"},
      {"routeTableIdSelector", "RouteTable"},
      {"gatewayIdSelector", "InternetGateway"},
      {"natGatewayIdSelector", "NATGateway"},
      {"allocationIdSelector", "EIP"},
      {"securityGroupIdSelector", "SecurityGroup"},
      {"referencedSecurityGroupIdSelector", "SecurityGroup"},
      {"vpcEndpointIdSelector", "VPCEndpoint"},
      {"logDestinationSelector", "Group"},
      {"iamRoleArnSelector", "Role"},
      {"roleSelector", "Role"},
  };
  return *kinds;
}

// Every reference is a selector {matchControllerRef: true, matchLabels:
// {platform.terraforming.io/resource: <name>}} of a desired resource of the
// right kind; a Usage's `of` and `by` name the target's apiVersion and kind.
// Returns how many selectors it checked.
int CheckWiring(const Rendered& r) {
  int checked = 0;
  const Names names = r.names();
  for (const auto& [name, object] : r.resources()) {
    SCOPED_TRACE(name);
    EXPECT_EQ(At(object, sdk::Cat("metadata.labels[", kResourceLabel, "]")), name);
    std::vector<SelectorAt> selectors;
    FindSelectors(object, "", selectors);
    for (const SelectorAt& s : selectors) {
      SCOPED_TRACE(s.path);
      ++checked;
      EXPECT_EQ(At(*s.selector, "matchControllerRef"), true);
      const Json labels = At(*s.selector, "matchLabels");
      EXPECT_TRUE(labels.is_object() && labels.size() == 1) << s.selector->dump();
      const std::string target = Target(*s.selector);
      if (!names.contains(target)) {
        ADD_FAILURE() << "points at \"" << target << "\", which is not desired";
        continue;
      }
      EXPECT_NE(target, name) << "points at itself";
      const Json& t = r.resources().at(target);
      if (s.field == "resourceSelector") {
        EXPECT_EQ(At(*s.holder, "kind"), t["kind"]);
        EXPECT_EQ(At(*s.holder, "apiVersion"), t["apiVersion"]);
      } else if (auto kind = SelectorKinds().find(s.field); kind != SelectorKinds().end()) {
        EXPECT_EQ(t["kind"], kind->second);
      } else {
        ADD_FAILURE() << "a selector field the test does not know";
      }
    }
  }
  return checked;
}

// Routing and exposure rules that hold for every environment.
void CheckRoutingAndExposure(const Rendered& r) {
  int public_routes = 0;
  for (const std::string& route : r.OfKind("Route")) {
    SCOPED_TRACE(route);
    const std::string table = r.TargetOf(route, "spec.forProvider.routeTableIdSelector");
    EXPECT_EQ(r.Get(route, "spec.forProvider.destinationCidrBlock"), "0.0.0.0/0");
    EXPECT_NE(table, "rt-database") << "the database route table has no route";
    if (table == "rt-public") {
      ++public_routes;
      EXPECT_EQ(r.TargetOf(route, "spec.forProvider.gatewayIdSelector"), "igw");
      EXPECT_TRUE(r.Get(route, "spec.forProvider.natGatewayIdSelector").is_null());
    } else {
      EXPECT_THAT(table, StartsWith("rt-private"));
      EXPECT_THAT(r.TargetOf(route, "spec.forProvider.natGatewayIdSelector"), StartsWith("nat-"));
      EXPECT_TRUE(r.Get(route, "spec.forProvider.gatewayIdSelector").is_null())
          << "a private route goes to the internet gateway";
    }
  }
  EXPECT_EQ(public_routes, 1);

  // Only the public route (and the Usages that keep the gateway until it,
  // the NAT gateways and their addresses are gone) refers to the internet
  // gateway.
  for (const auto& [name, object] : r.resources()) {
    std::vector<SelectorAt> selectors;
    FindSelectors(object, "", selectors);
    for (const SelectorAt& s : selectors) {
      if (Target(*s.selector) != "igw") continue;
      EXPECT_TRUE(name == "route-public-internet" || name.starts_with("usage-igw-by-"))
          << name << " " << s.path;
    }
  }

  // Every subnet of every tier: no public IPs on launch, said explicitly.
  const Names subnets = r.OfKind("Subnet");
  EXPECT_FALSE(subnets.empty());
  for (const std::string& s : subnets) {
    EXPECT_EQ(r.Get(s, "spec.forProvider.mapPublicIpOnLaunch"), false) << s;
  }

  // No ingress from anywhere.
  for (const std::string& rule : r.OfKind("SecurityGroupIngressRule")) {
    EXPECT_NE(r.Get(rule, "spec.forProvider.cidrIpv4"), "0.0.0.0/0") << rule;
    EXPECT_NE(r.Get(rule, "spec.forProvider.cidrIpv6"), "::/0") << rule;
    EXPECT_EQ(r.TargetOf(rule, "spec.forProvider.referencedSecurityGroupIdSelector"), "sg-baseline")
        << rule;
  }
  for (const std::string& rule : r.OfKind("SecurityGroupRule")) {
    if (r.Get(rule, "spec.forProvider.type") != "ingress") continue;
    const Json blocks = r.Get(rule, "spec.forProvider.cidrBlocks");
    EXPECT_FALSE(blocks.is_array() &&
                 std::find(blocks.begin(), blocks.end(), "0.0.0.0/0") != blocks.end())
        << rule;
  }
  for (const std::string& sg : r.OfKind("SecurityGroup")) {
    EXPECT_TRUE(r.Get(sg, "spec.forProvider.ingress").is_null()) << sg;
  }
}

// --- NAT strategies and resource sets -----------------------------------------------

struct NatCase {
  std::string name;
  Json params;
  std::vector<std::string> zones;
  std::string nat;
};

void PrintTo(const NatCase& c, std::ostream* os) { *os << c.name; }

class XEnvironmentNatTest : public ::testing::TestWithParam<NatCase> {};

// A rendered XR reports that it passed the policies, so an earlier denial or
// violation does not linger on the claim.
void ExpectPoliciesPassed(const pb::RunFunctionResponse& rsp) {
  ASSERT_EQ(rsp.conditions_size(), 2) << rsp.DebugString();
  for (const pb::Condition& c : rsp.conditions()) {
    EXPECT_TRUE(c.type() == "Authorized" || c.type() == "PolicyCompliant") << c.type();
    EXPECT_EQ(c.status(), pb::STATUS_CONDITION_TRUE) << c.type();
    EXPECT_EQ(c.target(), pb::TARGET_COMPOSITE_AND_CLAIM) << c.type();
  }
}

TEST_P(XEnvironmentNatTest, ComposesTheNetwork) {
  const NatCase& c = GetParam();
  const Rendered r = RunAttached(Xr(c.params));
  const std::string region = c.params["region"].get<std::string>();

  EXPECT_EQ(r.names(),
            ExpectedNames(c.zones, c.nat, {.flow_logs = c.params["environment"] == "prod"}));
  EXPECT_EQ(r.Status("natStrategy"), c.nat);
  Json azs = Json::array();
  for (const std::string& z : c.zones) azs.push_back(region + z);
  EXPECT_EQ(r.Status("availabilityZones"), azs);
  EXPECT_FALSE(r.proto().has_requirements());

  // Each NAT gateway: its own elastic IP, in its zone's public subnet.
  for (const std::string& z : NatZones(c.zones, c.nat)) {
    SCOPED_TRACE(z);
    EXPECT_EQ(r.TargetOf("nat-" + z, "spec.forProvider.allocationIdSelector"), "eip-nat-" + z);
    EXPECT_EQ(r.TargetOf("nat-" + z, "spec.forProvider.subnetIdSelector"), "subnet-public-" + z);
    EXPECT_EQ(r.Get("nat-" + z, "spec.forProvider.connectivityType"), "public");
    EXPECT_EQ(r.Get("eip-nat-" + z, "spec.forProvider.domain"), "vpc");
  }
  EXPECT_EQ(r.OfKind("NATGateway").size(), NatZones(c.zones, c.nat).size());

  // Private subnets: one shared table (None, Single) or one per zone
  // (PerZone), whose default route goes to the zone's NAT gateway, the
  // single one, or nowhere.
  for (const std::string& z : c.zones) {
    SCOPED_TRACE(z);
    const std::string table = c.nat == "PerZone" ? "rt-private-" + z : "rt-private";
    EXPECT_EQ(r.TargetOf("rta-private-" + z, "spec.forProvider.subnetIdSelector"),
              "subnet-private-" + z);
    EXPECT_EQ(r.TargetOf("rta-private-" + z, "spec.forProvider.routeTableIdSelector"), table);
    EXPECT_EQ(r.TargetOf("rta-public-" + z, "spec.forProvider.subnetIdSelector"),
              "subnet-public-" + z);
    EXPECT_EQ(r.TargetOf("rta-public-" + z, "spec.forProvider.routeTableIdSelector"), "rt-public");
    EXPECT_EQ(r.TargetOf("rta-database-" + z, "spec.forProvider.subnetIdSelector"),
              "subnet-database-" + z);
    EXPECT_EQ(r.TargetOf("rta-database-" + z, "spec.forProvider.routeTableIdSelector"),
              "rt-database");
    std::vector<std::string> routes;
    for (const std::string& route : r.OfKind("Route")) {
      if (r.TargetOf(route, "spec.forProvider.routeTableIdSelector") == table) {
        routes.push_back(route);
      }
    }
    if (c.nat == "None") {
      EXPECT_THAT(routes, ::testing::IsEmpty());
    } else {
      ASSERT_EQ(routes.size(), 1u);
      EXPECT_EQ(routes[0], c.nat == "PerZone" ? "route-private-nat-" + z : "route-private-nat");
      EXPECT_EQ(r.TargetOf(routes[0], "spec.forProvider.natGatewayIdSelector"),
                "nat-" + (c.nat == "PerZone" ? z : c.zones.front()));
    }
  }
  EXPECT_GT(CheckWiring(r), 0);
  CheckRoutingAndExposure(r);
}

INSTANTIATE_TEST_SUITE_P(
    XEnvironment, XEnvironmentNatTest,
    ::testing::Values(
        NatCase{"DevDefaultsToSingleInTwoZones", Params("dev"), {"a", "b"}, "Single"},
        NatCase{"TestDefaultsToSingleInThreeZones", Params("test"), {"a", "b", "c"}, "Single"},
        NatCase{"SandboxDefaultsToSingle", Params("sandbox", "us-east-1"), {"a", "b"}, "Single"},
        NatCase{"ProdDefaultsToPerZone", Params("prod"), {"a", "b", "c"}, "PerZone"},
        NatCase{"DevNone", With(Params("dev"), {{"natStrategy", "None"}}), {"a", "b"}, "None"},
        NatCase{"TestNoneInTwoZones",
                With(Params("test", "eu-central-1"), {{"zoneCount", 2}, {"natStrategy", "None"}}),
                {"a", "b"},
                "None"},
        NatCase{"TestPerZone",
                With(Params("test"), {{"natStrategy", "PerZone"}}),
                {"a", "b", "c"},
                "PerZone"},
        NatCase{"ProdSingle",
                With(Params("prod"), {{"natStrategy", "Single"}}),
                {"a", "b", "c"},
                "Single"},
        NatCase{"SingleInTheFirstListedZone",
                With(Params("test"), {{"zones", {"c", "a"}}}),
                {"c", "a"},
                "Single"},
        NatCase{"PerZoneInFourZones",
                With(Params("prod", "us-west-2"),
                     {{"zones", {"a", "b", "c", "d"}}, {"vpcCidr", "10.64.0.0/18"}}),
                {"a", "b", "c", "d"},
                "PerZone"},
        NatCase{"PerZoneInOneZone", With(Params("prod"), {{"zoneCount", 1}}), {"a"}, "PerZone"},
        NatCase{"SingleInOneZone", With(Params("dev"), {{"zoneCount", 1}}), {"a"}, "Single"},
        NatCase{"NoneInOneZone",
                With(Params("sandbox"), {{"zones", {"eu-west-1b"}}, {"natStrategy", "None"}}),
                {"b"},
                "None"}),
    CaseName<NatCase>);

TEST(XEnvironmentNames, ProdHasTheResourcesOfTheDocs) {
  // Before the internet gateway is attached: no NAT gateways, addresses or
  // routes to them yet.
  const Rendered first = RunOk(Xr(Params("prod")));
  EXPECT_EQ(first.names().size(), 52u);
  EXPECT_TRUE(first.OfKind("NATGateway").empty());
  EXPECT_TRUE(first.OfKind("EIP").empty());
  const Rendered r = RunAttached(Xr(Params("prod")));
  EXPECT_EQ(r.names().size(), 73u);
  EXPECT_EQ(r.OfKind("ClusterUsage").size(), 25u);
  EXPECT_EQ(r.OfKind("Subnet").size(), 9u);
  EXPECT_EQ(r.OfKind("NATGateway").size(), 3u);
  EXPECT_EQ(r.OfKind("VPCEndpointRouteTableAssociation").size(), 4u);
  EXPECT_EQ(r.OfKind("FlowLog").size(), 1u);
}

TEST(XEnvironmentNames, UnrelatedChangesKeepEveryName) {
  for (const Json& base :
       {Params("dev"), Params("prod"), With(Params("test"), {{"natStrategy", "PerZone"}}),
        With(Params("test"), {{"natStrategy", "None"}})}) {
    SCOPED_TRACE(base.dump());
    const Names names = RunOk(Xr(base)).names();
    for (const Json& patch : {Json{{"tags", {{"owner", "alice"}}}}, Json{{"costCenter", "cc-9"}},
                              Json{{"costCenter", "cc-9"}, {"tags", {{"a", "b"}, {"c", "d"}}}},
                              Json{{"team", "checkout"}}}) {
      SCOPED_TRACE(patch.dump());
      EXPECT_EQ(RunOk(Xr(With(base, patch))).names(), names);
    }
    // The same names for the namespaced variant of the XR.
    EXPECT_EQ(RunOk(Xr(base, "team-payments")).names(), names);
  }
}

TEST(XEnvironmentNames, AddingAZoneOnlyAddsResources) {
  for (const char* nat : {"None", "Single", "PerZone"}) {
    SCOPED_TRACE(nat);
    const Json base = With(Params("test"), {{"natStrategy", nat}});
    const Rendered two = RunAttached(Xr(With(base, {{"zones", {"a", "b"}}})));
    const Rendered three = RunAttached(Xr(With(base, {{"zones", {"a", "b", "c"}}})));
    EXPECT_THAT(two.names(), IsSubsetOf(three.names()));
    EXPECT_EQ(three.names(), ExpectedNames({"a", "b", "c"}, nat));
    // What was there is unchanged: no subnet is renumbered, no route moves.
    for (const auto& [name, object] : two.resources()) {
      EXPECT_EQ(object, three.Resource(name)) << name;
    }
    // zoneCount 2 -> 3 is the same change.
    const Rendered counted = RunAttached(Xr(With(base, {{"zoneCount", 2}})));
    EXPECT_EQ(counted.names(), two.names());
  }
}

// --- Subnet blocks ------------------------------------------------------------------

struct CidrCase {
  std::string name;
  Json params;
  // Resource name (vpc or subnet-<tier>-<zone>) -> its block.
  std::map<std::string, std::string> want;
  Json input = nullptr;
};

void PrintTo(const CidrCase& c, std::ostream* os) { *os << c.name; }

class XEnvironmentCidrTest : public ::testing::TestWithParam<CidrCase> {};

TEST_P(XEnvironmentCidrTest, PlansOrHonoursBlocks) {
  const CidrCase& c = GetParam();
  const Rendered r = RunOk(Call{.xr = Xr(c.params), .input = c.input});
  const std::string region = c.params["region"].get<std::string>();
  for (const auto& [name, cidr] : c.want) {
    SCOPED_TRACE(name);
    EXPECT_EQ(r.Get(name, "spec.forProvider.cidrBlock"), cidr);
    if (name == "vpc") {
      EXPECT_EQ(r.Status("vpcCidr"), cidr);
      continue;
    }
    // subnet-<tier>-<zone>
    const std::string tier = name.substr(7, name.rfind('-') - 7);
    const std::string zone = name.substr(name.rfind('-') + 1);
    EXPECT_EQ(r.Status(sdk::Cat("subnets.", tier, ".", zone, ".cidr")), cidr);
    EXPECT_EQ(r.Get(name, "spec.forProvider.availabilityZone"), region + zone);
    EXPECT_EQ(r.Get(name, "metadata.labels[platform.terraforming.io/tier]"), tier);
    EXPECT_EQ(r.Get(name, "metadata.labels[platform.terraforming.io/zone]"), zone);
    EXPECT_EQ(r.Get(name, "spec.forProvider.tags[platform.terraforming.io/tier]"), tier);
    EXPECT_EQ(r.TargetOf(name, "spec.forProvider.vpcIdSelector"), "vpc");
  }
}

INSTANTIATE_TEST_SUITE_P(
    XEnvironment, XEnvironmentCidrTest,
    ::testing::Values(
        CidrCase{"ProdSlash16",
                 Params("prod"),
                 {{"vpc", "10.0.0.0/16"},
                  {"subnet-private-a", "10.0.0.0/20"},
                  {"subnet-public-a", "10.0.128.0/21"},
                  {"subnet-database-a", "10.0.192.0/21"},
                  {"subnet-private-b", "10.0.16.0/20"},
                  {"subnet-public-b", "10.0.136.0/21"},
                  {"subnet-database-b", "10.0.200.0/21"},
                  {"subnet-private-c", "10.0.32.0/20"},
                  {"subnet-public-c", "10.0.144.0/21"},
                  {"subnet-database-c", "10.0.208.0/21"}}},
        CidrCase{"DevDefaultBlock",
                 Params("dev"),
                 {{"vpc", "10.10.0.0/16"},
                  {"subnet-private-a", "10.10.0.0/20"},
                  {"subnet-public-b", "10.10.136.0/21"},
                  {"subnet-database-b", "10.10.200.0/21"}}},
        CidrCase{"TestDefaultBlock",
                 Params("test"),
                 {{"vpc", "10.20.0.0/16"}, {"subnet-private-c", "10.20.32.0/20"}}},
        CidrCase{"SandboxDefaultBlock",
                 Params("sandbox"),
                 {{"vpc", "10.30.0.0/16"}, {"subnet-public-a", "10.30.128.0/21"}}},
        CidrCase{"Slash18InFourZones",
                 With(Params("prod", "us-west-2"),
                      {{"vpcCidr", "10.64.0.0/18"}, {"zones", {"a", "b", "c", "d"}}}),
                 {{"vpc", "10.64.0.0/18"},
                  {"subnet-private-a", "10.64.0.0/22"},
                  {"subnet-private-d", "10.64.12.0/22"},
                  {"subnet-public-d", "10.64.38.0/23"},
                  {"subnet-database-d", "10.64.54.0/23"}}},
        CidrCase{"Slash20",
                 With(Params("dev"), {{"vpcCidr", "172.16.0.0/20"}}),
                 {{"vpc", "172.16.0.0/20"},
                  {"subnet-private-a", "172.16.0.0/24"},
                  {"subnet-private-b", "172.16.1.0/24"},
                  {"subnet-public-a", "172.16.8.0/25"},
                  {"subnet-public-b", "172.16.8.128/25"},
                  {"subnet-database-a", "172.16.12.0/25"}}},
        // A policy that allows smaller VPCs: /23 is the smallest whose
        // planned public and database subnets are still /28.
        CidrCase{"Slash23AllowedByPolicy",
                 With(Params("dev"), {{"vpcCidr", "10.1.0.0/23"}}),
                 {{"vpc", "10.1.0.0/23"},
                  {"subnet-private-a", "10.1.0.0/27"},
                  {"subnet-public-a", "10.1.1.0/28"},
                  {"subnet-public-b", "10.1.1.16/28"},
                  {"subnet-database-b", "10.1.1.144/28"}},
                 PolicyInput({{"classes", {{"dev", {{"maxVpcPrefix", 28}}}}}})},
        // A zone keeps the slot of its position in the region's table,
        // however few zones there are.
        CidrCase{"LoneZoneCKeepsItsSlot",
                 With(Params("dev"), {{"zones", {"c"}}}),
                 {{"subnet-private-c", "10.10.32.0/20"},
                  {"subnet-public-c", "10.10.144.0/21"},
                  {"subnet-database-c", "10.10.208.0/21"}}},
        CidrCase{"ApNortheast1ZoneCIsSlot1",
                 With(Params("prod", "ap-northeast-1"), {{"zones", {"c"}}}),
                 {{"subnet-private-c", "10.0.16.0/20"},
                  {"subnet-public-c", "10.0.136.0/21"},
                  {"subnet-database-c", "10.0.200.0/21"}}},
        CidrCase{"ApNortheast1ThreeZones",
                 Params("prod", "ap-northeast-1"),
                 {{"subnet-private-a", "10.0.0.0/20"},
                  {"subnet-private-c", "10.0.16.0/20"},
                  {"subnet-private-d", "10.0.32.0/20"},
                  {"subnet-public-d", "10.0.144.0/21"}}},
        // The letters a policy names keep their slots, not their
        // position in the policy's list.
        CidrCase{"UsWest1PolicyKeepsTheSlotsOfItsLetters",
                 Params("dev", "us-west-1"),
                 {{"subnet-private-b", "10.10.16.0/20"},
                  {"subnet-private-c", "10.10.32.0/20"},
                  {"subnet-public-c", "10.10.144.0/21"}},
                 PolicyInput({{"regionZones", {{"us-west-1", {"c", "b"}}}}})},
        CidrCase{"CaCentral1ZoneDIsSlot2",
                 With(Params("test", "ca-central-1"), {{"zones", {"ca-central-1d"}}}),
                 {{"subnet-private-d", "10.20.32.0/20"}}},
        CidrCase{"ExplicitSubnetsHonoured",
                 With(Params("prod"), {{"zones", {"a", "b"}},
                                       {"subnets",
                                        {{"private", {"10.0.0.0/24", "10.0.1.0/24"}},
                                         {"public", {"10.0.128.0/26", "10.0.128.64/26"}}}}}),
                 {{"subnet-private-a", "10.0.0.0/24"},
                  {"subnet-private-b", "10.0.1.0/24"},
                  {"subnet-public-a", "10.0.128.0/26"},
                  {"subnet-public-b", "10.0.128.64/26"},
                  // Tiers left out keep their planned blocks.
                  {"subnet-database-a", "10.0.192.0/21"},
                  {"subnet-database-b", "10.0.200.0/21"}}},
        CidrCase{"ExplicitSubnetsFollowZoneOrder",
                 With(Params("test"),
                      {{"zones", {"c", "a"}},
                       {"subnets", {{"database", {"10.20.250.0/28", "10.20.251.0/28"}}}}}),
                 {{"subnet-database-c", "10.20.250.0/28"},
                  {"subnet-database-a", "10.20.251.0/28"},
                  {"subnet-private-c", "10.20.32.0/20"}}},
        CidrCase{"ExplicitSubnetMayBeTheSmallest",
                 With(Params("dev"),
                      {{"subnets", {{"public", {"10.10.128.0/28", "10.10.255.240/28"}}}}}),
                 {{"subnet-public-a", "10.10.128.0/28"}, {"subnet-public-b", "10.10.255.240/28"}}}),
    CaseName<CidrCase>);

// --- Zones --------------------------------------------------------------------------

// A policy that says the platform's account sees b and c of us-west-1.
const Json kUsWest1BC = PolicyInput({{"regionZones", {{"us-west-1", {"b", "c"}}}}});

struct ZoneCase {
  std::string name;
  Json params;
  std::vector<std::string> want;  // availability zones
  Json input = nullptr;
};

void PrintTo(const ZoneCase& c, std::ostream* os) { *os << c.name; }

class XEnvironmentZoneTest : public ::testing::TestWithParam<ZoneCase> {};

TEST_P(XEnvironmentZoneTest, PicksZones) {
  const ZoneCase& c = GetParam();
  const Rendered r = RunOk(Call{.xr = Xr(c.params), .input = c.input});
  EXPECT_EQ(r.Status("availabilityZones"), Json(c.want));
  const std::string region = c.params["region"].get<std::string>();
  Names subnets;
  for (const std::string& az : c.want) {
    for (const std::string& tier : kTiers) {
      const std::string name = sdk::Cat("subnet-", tier, "-", az.substr(region.size()));
      subnets.insert(name);
      EXPECT_EQ(r.Get(name, "spec.forProvider.availabilityZone"), az);
    }
  }
  EXPECT_EQ(r.OfKind("Subnet"), subnets);
}

INSTANTIATE_TEST_SUITE_P(
    XEnvironment, XEnvironmentZoneTest,
    ::testing::Values(
        // The default is 3 zones, or the class's maximum when lower.
        ZoneCase{"DevDefaultsToTwo", Params("dev"), {"eu-west-1a", "eu-west-1b"}},
        ZoneCase{
            "SandboxDefaultsToTwo", Params("sandbox", "us-east-1"), {"us-east-1a", "us-east-1b"}},
        ZoneCase{"TestDefaultsToThree", Params("test"), {"eu-west-1a", "eu-west-1b", "eu-west-1c"}},
        ZoneCase{"ProdDefaultsToThreeOfSix",
                 Params("prod", "us-east-1"),
                 {"us-east-1a", "us-east-1b", "us-east-1c"}},
        ZoneCase{"DefaultFollowsAPolicyLimit",
                 Params("prod"),
                 {"eu-west-1a"},
                 PolicyInput({{"classes", {{"prod", {{"maxZones", 1}}}}}})},
        ZoneCase{"ZoneCountOne", With(Params("dev"), {{"zoneCount", 1}}), {"eu-west-1a"}},
        ZoneCase{
            "ZoneCountSixInUsEast1",
            With(Params("prod", "us-east-1"), {{"zoneCount", 6}}),
            {"us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f"}},
        ZoneCase{"ZoneCountAsWholeDouble",
                 With(Params("test"), {{"zoneCount", 2.0}}),
                 {"eu-west-1a", "eu-west-1b"}},
        ZoneCase{
            "Letters", With(Params("test"), {{"zones", {"b", "c"}}}), {"eu-west-1b", "eu-west-1c"}},
        ZoneCase{"FullNames",
                 With(Params("test"), {{"zones", {"eu-west-1b", "eu-west-1c"}}}),
                 {"eu-west-1b", "eu-west-1c"}},
        ZoneCase{"LettersAndFullNamesMixed",
                 With(Params("prod"), {{"zones", {"eu-west-1c", "a"}}}),
                 {"eu-west-1c", "eu-west-1a"}},
        ZoneCase{"EmptyZonesListMeansDefault",
                 With(Params("dev"), {{"zones", Json::array()}, {"zoneCount", 1}}),
                 {"eu-west-1a"}},
        ZoneCase{"ApNortheast1SkipsB",
                 Params("prod", "ap-northeast-1"),
                 {"ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"}},
        ZoneCase{"ApNortheast1ByLetters",
                 With(Params("prod", "ap-northeast-1"), {{"zones", {"d", "ap-northeast-1c"}}}),
                 {"ap-northeast-1d", "ap-northeast-1c"}},
        ZoneCase{"CaCentral1SkipsC",
                 Params("test", "ca-central-1"),
                 {"ca-central-1a", "ca-central-1b", "ca-central-1d"}},
        ZoneCase{"MxCentral1",
                 Params("test", "mx-central-1"),
                 {"mx-central-1a", "mx-central-1b", "mx-central-1c"}},
        ZoneCase{"ApSoutheast7",
                 With(Params("prod", "ap-southeast-7"), {{"zones", {"c", "ap-southeast-7b"}}}),
                 {"ap-southeast-7c", "ap-southeast-7b"}},
        // us-west-1: each account sees two of a, b, c. Listed zones are
        // taken as they are; the policy's regionZones say which two for
        // zoneCount and the default, in its order.
        ZoneCase{"UsWest1ListedZones",
                 With(Params("test", "us-west-1"), {{"zones", {"b", "c"}}}),
                 {"us-west-1b", "us-west-1c"}},
        ZoneCase{"UsWest1ZoneCountFromThePolicy",
                 With(Params("test", "us-west-1"), {{"zoneCount", 2}}),
                 {"us-west-1b", "us-west-1c"},
                 kUsWest1BC},
        ZoneCase{"UsWest1DefaultFromThePolicyInItsOrder",
                 Params("prod", "us-west-1"),
                 {"us-west-1c", "us-west-1a"},
                 PolicyInput({{"regionZones", {{"us-west-1", {"c", "a"}}}}})},
        ZoneCase{"UsWest1ListedZoneTheAccountSees",
                 With(Params("test", "us-west-1"), {{"zones", {"us-west-1c"}}}),
                 {"us-west-1c"},
                 kUsWest1BC},
        ZoneCase{"UsEast1PolicyWithoutE",
                 With(Params("prod", "us-east-1"), {{"zoneCount", 5}}),
                 {"us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1f"},
                 PolicyInput({{"regionZones", {{"us-east-1", {"a", "b", "c", "d", "f"}}}}})},
        ZoneCase{"PolicyOfAnotherRegionChangesNothing",
                 Params("test"),
                 {"eu-west-1a", "eu-west-1b", "eu-west-1c"},
                 kUsWest1BC}),
    CaseName<ZoneCase>);

// --- Zones by AZ ID -------------------------------------------------------------------

struct ZoneIdCase {
  std::string name;
  Json params;
  std::vector<std::string> ids;
  // Per zone: its key (resource names, label, status) and its private block.
  std::vector<std::string> keys;
  std::vector<std::string> private_blocks;
  std::string nat;
  std::string ns = "";  // namespaced when set
};

void PrintTo(const ZoneIdCase& c, std::ostream* os) { *os << c.name; }

class XEnvironmentZoneIdTest : public ::testing::TestWithParam<ZoneIdCase> {};

TEST_P(XEnvironmentZoneIdTest, ComposesSubnetsByAzId) {
  const ZoneIdCase& c = GetParam();
  const Rendered r = RunAttached(Xr(c.params, c.ns));
  const std::string xr_name = kXrName;
  EXPECT_EQ(r.names(),
            ExpectedNames(c.keys, c.nat, {.flow_logs = c.params["environment"] == "prod"}));
  EXPECT_EQ(r.Status("availabilityZoneIds"), Json(c.ids));
  // The names of the zones in this account are known once the subnets are.
  EXPECT_FALSE(r.status().contains("availabilityZones"));
  Names subnets;
  for (std::size_t i = 0; i < c.ids.size(); ++i) {
    for (const std::string& tier : kTiers) {
      const std::string name = sdk::Cat("subnet-", tier, "-", c.keys[i]);
      SCOPED_TRACE(name);
      subnets.insert(name);
      EXPECT_EQ(r.Get(name, "spec.forProvider.availabilityZoneId"), c.ids[i]);
      EXPECT_TRUE(r.Get(name, "spec.forProvider.availabilityZone").is_null());
      EXPECT_EQ(r.Get(name, "metadata.labels[platform.terraforming.io/zone]"), c.keys[i]);
      EXPECT_EQ(r.Get(name, "spec.forProvider.tags.Name"),
                sdk::Cat(xr_name, "-", tier, "-", c.keys[i]));
      EXPECT_EQ(r.Status(sdk::Cat("subnets.", tier, ".", c.keys[i], ".cidr")),
                r.Get(name, "spec.forProvider.cidrBlock"));
    }
    EXPECT_EQ(r.Get("subnet-private-" + c.keys[i], "spec.forProvider.cidrBlock"),
              c.private_blocks[i]);
  }
  EXPECT_EQ(r.OfKind("Subnet"), subnets);
  for (const std::string& key : NatZones(c.keys, c.nat)) {
    EXPECT_EQ(r.Get("nat-" + key, "metadata.labels[platform.terraforming.io/zone]"), key);
    EXPECT_EQ(r.TargetOf("nat-" + key, "spec.forProvider.subnetIdSelector"),
              "subnet-public-" + key);
  }
  EXPECT_GT(CheckWiring(r), 0);
  CheckRoutingAndExposure(r);
}

INSTANTIATE_TEST_SUITE_P(
    XEnvironment, XEnvironmentZoneIdTest,
    ::testing::Values(
        // Each zone takes the slot of its number: az4 the fourth.
        ZoneIdCase{"UsEast1",
                   With(Params("prod", "us-east-1"), {{"zoneIds", {"use1-az1", "use1-az4"}}}),
                   {"use1-az1", "use1-az4"},
                   {"az1", "az4"},
                   {"10.0.0.0/20", "10.0.48.0/20"},
                   "PerZone"},
        ZoneIdCase{"UsWest1BothZones",
                   With(Params("dev", "us-west-1"), {{"zoneIds", {"usw1-az1", "usw1-az3"}}}),
                   {"usw1-az1", "usw1-az3"},
                   {"az1", "az3"},
                   {"10.10.0.0/20", "10.10.32.0/20"},
                   "Single"},
        ZoneIdCase{"ApNortheast1Az4Alone",
                   With(Params("test", "ap-northeast-1"), {{"zoneIds", {"apne1-az4"}}}),
                   {"apne1-az4"},
                   {"az4"},
                   {"10.20.48.0/20"},
                   "Single"},
        // The NAT gateway in the first listed zone.
        ZoneIdCase{"InTheOrderListed",
                   With(Params("test"), {{"zoneIds", {"euw1-az3", "euw1-az1"}}}),
                   {"euw1-az3", "euw1-az1"},
                   {"az3", "az1"},
                   {"10.20.32.0/20", "10.20.0.0/20"},
                   "Single"},
        ZoneIdCase{"SixZones",
                   With(Params("prod", "us-east-1"),
                        {{"zoneIds",
                          {"use1-az6", "use1-az5", "use1-az4", "use1-az3", "use1-az2", "use1-az1"}},
                         {"natStrategy", "Single"}}),
                   {"use1-az6", "use1-az5", "use1-az4", "use1-az3", "use1-az2", "use1-az1"},
                   {"az6", "az5", "az4", "az3", "az2", "az1"},
                   {"10.0.80.0/20", "10.0.64.0/20", "10.0.48.0/20", "10.0.32.0/20", "10.0.16.0/20",
                    "10.0.0.0/20"},
                   "Single"},
        ZoneIdCase{"Namespaced",
                   With(Params("sandbox", "mx-central-1"), {{"zoneIds", {"mxc1-az2"}}}),
                   {"mxc1-az2"},
                   {"az2"},
                   {"10.30.16.0/20"},
                   "Single",
                   "team-payments"}),
    CaseName<ZoneIdCase>);

TEST(XEnvironmentZoneIds, ThePolicysRegionZonesDoNotApply) {
  const Rendered r =
      RunOk(Call{.xr = Xr(With(Params("test", "us-west-1"), {{"zoneIds", {"usw1-az3"}}})),
                 .input = kUsWest1BC});
  EXPECT_EQ(r.Get("subnet-private-az3", "spec.forProvider.availabilityZoneId"), "usw1-az3");
}

TEST(XEnvironmentZoneIds, AnEmptyListMeansLetters) {
  const Rendered r = RunOk(Xr(With(Params("dev"), {{"zoneIds", Json::array()}})));
  EXPECT_EQ(r.names(), ExpectedNames({"a", "b"}, "Single", {.attached = false}));
  EXPECT_FALSE(r.status().contains("availabilityZoneIds"));
  EXPECT_EQ(r.Get("subnet-public-a", "spec.forProvider.availabilityZone"), "eu-west-1a");
  EXPECT_TRUE(r.Get("subnet-public-a", "spec.forProvider.availabilityZoneId").is_null());
}

TEST(XEnvironmentZoneIds, AddingAZoneOnlyAddsResources) {
  const Json base = With(Params("prod", "us-east-1"), {{"natStrategy", "PerZone"}});
  const Rendered two = RunAttached(Xr(With(base, {{"zoneIds", {"use1-az2", "use1-az5"}}})));
  const Rendered three =
      RunAttached(Xr(With(base, {{"zoneIds", {"use1-az2", "use1-az5", "use1-az1"}}})));
  EXPECT_THAT(two.names(), IsSubsetOf(three.names()));
  EXPECT_EQ(three.names(), ExpectedNames({"az2", "az5", "az1"}, "PerZone", {.flow_logs = true}));
  for (const auto& [name, object] : two.resources()) {
    EXPECT_EQ(object, three.Resource(name)) << name;
  }
}

// --- Errors -------------------------------------------------------------------------

struct ErrorCase {
  std::string name;
  Json xr;
  // The whole FATAL message.
  std::string message;
  // The condition a policy violation carries; none when empty.
  std::string condition_type;
  std::string condition_reason;
  Json input = nullptr;
};

void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }

Json ManyTags(int n) {
  Json tags = Json::object();
  for (int i = 0; i < n; ++i) tags[sdk::Cat("tag-", i)] = "v";
  return tags;
}

ErrorCase Invalid(std::string name, Json params, std::string message) {
  return {std::move(name), Xr(params), std::move(message), "", ""};
}
ErrorCase Violation(std::string name, Json params, std::string message, Json input = nullptr) {
  return {std::move(name),   Xr(params),        std::move(message),
          "PolicyCompliant", "PolicyViolation", std::move(input)};
}
ErrorCase Denied(std::string name, Json xr, std::string message, Json input) {
  return {std::move(name), std::move(xr), std::move(message),
          "Authorized",    "Denied",      std::move(input)};
}

class XEnvironmentErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(XEnvironmentErrorTest, FailsNamingTheField) {
  const ErrorCase& c = GetParam();
  const pb::RunFunctionResponse rsp = RunProto(Call{.xr = c.xr, .input = c.input});
  ASSERT_EQ(rsp.results_size(), 1) << rsp.DebugString();
  const pb::Result& result = rsp.results(0);
  EXPECT_EQ(result.severity(), pb::SEVERITY_FATAL);
  EXPECT_EQ(result.reason(), "ComposeResources");
  EXPECT_EQ(result.target(), pb::TARGET_COMPOSITE);
  EXPECT_EQ(result.message(), c.message);
  EXPECT_EQ(rsp.meta().tag(), "tag-1");
  // Nothing is composed, asked for or reported but the error.
  EXPECT_EQ(rsp.desired().resources_size(), 0);
  EXPECT_FALSE(rsp.desired().has_composite());
  EXPECT_FALSE(rsp.has_requirements());
  if (c.condition_type.empty()) {
    EXPECT_EQ(rsp.conditions_size(), 0) << rsp.DebugString();
    return;
  }
  ASSERT_EQ(rsp.conditions_size(), 1) << rsp.DebugString();
  const pb::Condition& condition = rsp.conditions(0);
  EXPECT_EQ(condition.type(), c.condition_type);
  EXPECT_EQ(condition.status(), pb::STATUS_CONDITION_FALSE);
  EXPECT_EQ(condition.reason(), c.condition_reason);
  EXPECT_EQ(condition.message(), c.message);
  EXPECT_EQ(condition.target(), pb::TARGET_COMPOSITE_AND_CLAIM);
}

std::string KnownRegions() { return fmt::format("{}", fmt::join(network::KnownRegions(), ", ")); }

const Json kAuthorization = PolicyInput(
    {{"authorization",
      {{{"name", "payments-nonprod"}, {"teams", {"payments"}}, {"classes", {"dev", "test"}}},
       {{"name", "platform-team"}, {"teams", {"platform"}}}}}});

std::vector<ErrorCase> ErrorCases() {
  const Json dev = Params("dev");
  const Json test = Params("test");
  const Json prod = Params("prod");
  return {
      // Subnet blocks.
      Invalid("SubnetsWrongCount", With(prod, {{"subnets", {{"private", {"10.0.0.0/20"}}}}}),
              "spec.parameters.subnets.private: must list one block per zone (3), not 1"),
      Invalid("SubnetsTooMany",
              With(dev, {{"subnets",
                          {{"public", {"10.10.128.0/24", "10.10.129.0/24", "10.10.130.0/24"}}}}}),
              "spec.parameters.subnets.public: must list one block per zone (2), not 3"),
      Invalid(
          "SubnetOutsideVpc",
          With(prod, {{"subnets", {{"private", {"10.0.0.0/20", "10.1.0.0/20", "10.0.32.0/20"}}}}}),
          "spec.parameters.subnets.private[1]: 10.1.0.0/20 is not inside the VPC block "
          "10.0.0.0/16"),
      Invalid("SubnetWiderThanVpc",
              With(dev, {{"subnets", {{"private", {"10.0.0.0/8", "10.10.16.0/20"}}}}}),
              "spec.parameters.subnets.private[0]: 10.0.0.0/8 is not inside the VPC block "
              "10.10.0.0/16"),
      Invalid("SubnetOverlapsAPlannedOne",
              With(prod,
                   {{"subnets", {{"private", {"10.0.0.0/20", "10.0.16.0/20", "10.0.128.0/20"}}}}}),
              "spec.parameters.subnets.private[2]: private subnet 10.0.128.0/20 (zone c) overlaps "
              "public subnet 10.0.128.0/21 (zone a, planned from the VPC block)"),
      Invalid("SubnetOverlapsAnExplicitOne",
              With(prod, {{"subnets",
                           {{"private", {"10.0.0.0/20", "10.0.16.0/20", "10.0.32.0/20"}},
                            {"database", {"10.0.192.0/21", "10.0.200.0/21", "10.0.16.0/24"}}}}}),
              "spec.parameters.subnets.database[2]: database subnet 10.0.16.0/24 (zone c) "
              "overlaps private subnet 10.0.16.0/20 (zone b, spec.parameters.subnets.private[1])"),
      Invalid("SubnetOverlapsInItsTier",
              With(dev, {{"subnets", {{"private", {"10.10.0.0/20", "10.10.8.0/21"}}}}}),
              "spec.parameters.subnets.private[1]: private subnet 10.10.8.0/21 (zone b) overlaps "
              "private subnet 10.10.0.0/20 (zone a, spec.parameters.subnets.private[0])"),
      Invalid("SubnetSmallerThanSlash28",
              With(dev, {{"subnets", {{"public", {"10.10.128.0/29", "10.10.136.0/21"}}}}}),
              "spec.parameters.subnets.public[0]: 10.10.128.0/29 is smaller than /28, the "
              "smallest subnet AWS allows"),
      Invalid("SubnetNotACidr",
              With(dev, {{"subnets", {{"database", {"10.10.300.0/24", "10.10.201.0/24"}}}}}),
              "spec.parameters.subnets.database[0]: \"10.10.300.0/24\" is not an IPv4 CIDR "
              "block: each number must be 0 to 255"),
      Invalid("SubnetHostBitsSet",
              With(dev, {{"subnets", {{"database", {"10.10.200.0/24", "10.10.201.1/24"}}}}}),
              "spec.parameters.subnets.database[1]: \"10.10.201.1/24\" is not an IPv4 CIDR "
              "block: host bits are set; the block is 10.10.201.0/24"),
      Invalid("SubnetsWrongType", With(dev, {{"subnets", "10.10.0.0/20"}}),
              "spec.parameters.subnets: must be an object, not a string"),
      Invalid("SubnetTierWrongType", With(dev, {{"subnets", {{"private", "10.10.0.0/20"}}}}),
              "spec.parameters.subnets.private: must be a list, not a string"),
      Invalid("SubnetItemWrongType", With(dev, {{"subnets", {{"private", {1, 2}}}}}),
              "spec.parameters.subnets.private[0]: must be a string, not an integer"),
      // A VPC the policy allows but too small for the planned layout.
      {"PlannedSubnetsBelowSlash28", Xr(With(dev, {{"vpcCidr", "10.10.0.0/24"}})),
       "spec.parameters.vpcCidr: 10.10.0.0/24 is too small to plan public subnets of at least "
       "/28 in 8 zone slots; use a /23 or larger block, or list spec.parameters.subnets.public",
       "", "", PolicyInput({{"classes", {{"dev", {{"maxVpcPrefix", 28}}}}}})},
      {"PlannedPrivateSubnetsBelowSlash28",
       Xr(With(dev, {{"vpcCidr", "10.10.0.0/25"},
                     {"subnets",
                      {{"public", {"10.10.0.64/28", "10.10.0.80/28"}},
                       {"database", {"10.10.0.96/28", "10.10.0.112/28"}}}}})),
       "spec.parameters.vpcCidr: 10.10.0.0/25 is too small to plan private subnets of at least "
       "/28 in 8 zone slots; use a /24 or larger block, or list spec.parameters.subnets.private",
       "", "", PolicyInput({{"classes", {{"dev", {{"maxVpcPrefix", 28}}}}}})},
      {"VpcOfSlash28", Xr(With(dev, {{"vpcCidr", "10.10.0.0/28"}})),
       "spec.parameters.vpcCidr: 10.10.0.0/28 is too small to plan public subnets of at least "
       "/28 in 8 zone slots; use a /23 or larger block, or list spec.parameters.subnets.public",
       "", "", PolicyInput({{"classes", {{"dev", {{"maxVpcPrefix", 28}}}}}})},

      // Zones.
      Invalid("UnknownZoneLetter", With(dev, {{"zones", {"a", "e"}}}),
              "spec.parameters.zones[1]: zone \"e\" does not exist in eu-west-1; it has a, b, c"),
      Invalid("UnknownZoneName", With(dev, {{"zones", {"eu-west-1d"}}}),
              "spec.parameters.zones[0]: zone \"eu-west-1d\" does not exist in eu-west-1; it has "
              "a, b, c"),
      Invalid("ZoneOfAnotherRegion", With(dev, {{"zones", {"us-east-1a"}}}),
              "spec.parameters.zones[0]: zone \"us-east-1a\" does not exist in eu-west-1; it has "
              "a, b, c"),
      Invalid("ApNortheast1HasNoB", With(Params("prod", "ap-northeast-1"), {{"zones", {"a", "b"}}}),
              "spec.parameters.zones[1]: zone \"b\" does not exist in ap-northeast-1; it has a, c, "
              "d"),
      Invalid("DuplicateZone", With(dev, {{"zones", {"a", "a"}}}),
              "spec.parameters.zones[1]: zone \"a\" is listed twice"),
      Invalid("DuplicateZoneByLetterAndName", With(dev, {{"zones", {"b", "eu-west-1b"}}}),
              "spec.parameters.zones[1]: zone \"b\" is listed twice"),
      Invalid("ZonesAndZoneCount", With(dev, {{"zones", {"a"}}, {"zoneCount", 1}}),
              "spec.parameters.zoneCount: set zones or zoneCount, not both"),
      Invalid("ZoneCountBeyondTheRegion", With(test, {{"zoneCount", 4}}),
              "spec.parameters.zoneCount: must be between 1 and 3 (the zones of eu-west-1)"),
      Invalid("ZoneCountZero", With(dev, {{"zoneCount", 0}}),
              "spec.parameters.zoneCount: must be between 1 and 3 (the zones of eu-west-1)"),
      Invalid("ZoneCountNegative", With(prod, {{"zoneCount", -1}}),
              "spec.parameters.zoneCount: must be between 1 and 3 (the zones of eu-west-1)"),
      Invalid("ZoneCountWrongType", With(dev, {{"zoneCount", "2"}}),
              "spec.parameters.zoneCount: must be an integer, not a string"),
      Invalid("ZoneCountFraction", With(dev, {{"zoneCount", 1.5}}),
              "spec.parameters.zoneCount: must be a whole number"),
      Invalid("ZonesWrongType", With(dev, {{"zones", "a"}}),
              "spec.parameters.zones: must be a list, not a string"),
      Invalid("ZoneWrongType", With(dev, {{"zones", {1}}}),
              "spec.parameters.zones[0]: must be a string, not an integer"),
      Invalid("ZonesAndZoneIds", With(dev, {{"zones", {"a"}}, {"zoneIds", {"euw1-az1"}}}),
              "spec.parameters.zoneIds: set zones or zoneIds, not both"),
      Invalid("ZoneIdsAndZoneCount", With(dev, {{"zoneIds", {"euw1-az1"}}, {"zoneCount", 1}}),
              "spec.parameters.zoneCount: set zoneIds or zoneCount, not both"),
      Invalid("ZoneIdOfAnotherRegion", With(dev, {{"zoneIds", {"euw1-az1", "use1-az1"}}}),
              "spec.parameters.zoneIds[1]: zone ID \"use1-az1\" does not exist in eu-west-1; it "
              "has euw1-az1, euw1-az2, euw1-az3"),
      Invalid("ZoneIdNoAccountCanUse",
              With(Params("dev", "us-west-1"), {{"zoneIds", {"usw1-az2"}}}),
              "spec.parameters.zoneIds[0]: zone ID \"usw1-az2\" does not exist in us-west-1; it "
              "has usw1-az1, usw1-az3"),
      Invalid("ZoneIdBeyondTheRegion", With(prod, {{"zoneIds", {"euw1-az4"}}}),
              "spec.parameters.zoneIds[0]: zone ID \"euw1-az4\" does not exist in eu-west-1; it "
              "has euw1-az1, euw1-az2, euw1-az3"),
      Invalid("ZoneIdAsALetter", With(dev, {{"zoneIds", {"a"}}}),
              "spec.parameters.zoneIds[0]: zone ID \"a\" does not exist in eu-west-1; it has "
              "euw1-az1, euw1-az2, euw1-az3"),
      Invalid("ZoneIdTwice", With(test, {{"zoneIds", {"euw1-az2", "euw1-az3", "euw1-az2"}}}),
              "spec.parameters.zoneIds[2]: zone ID \"euw1-az2\" is listed twice"),
      Invalid("ZoneIdsWrongType", With(dev, {{"zoneIds", "euw1-az1"}}),
              "spec.parameters.zoneIds: must be a list, not a string"),
      Invalid("ZoneIdWrongType", With(dev, {{"zoneIds", {1}}}),
              "spec.parameters.zoneIds[0]: must be a string, not an integer"),
      Invalid("ZoneIdSubnetOverlapNamesTheZones",
              With(Params("prod", "us-east-1"),
                   {{"zoneIds", {"use1-az1", "use1-az2"}},
                    {"subnets", {{"private", {"10.0.0.0/20", "10.0.128.0/20"}}}}}),
              "spec.parameters.subnets.private[1]: private subnet 10.0.128.0/20 (zone use1-az2) "
              "overlaps public subnet 10.0.128.0/21 (zone use1-az1, planned from the VPC block)"),
      // us-west-1: which two of a, b, c an account sees differs by account.
      Invalid("UsWest1ZoneCount", With(Params("dev", "us-west-1"), {{"zoneCount", 2}}),
              "spec.parameters.zoneCount: each account sees a different 2 of the zones a, b, c of "
              "us-west-1, so zoneCount cannot pick them; list spec.parameters.zones (the letters "
              "this account sees) or spec.parameters.zoneIds (usw1-az1, usw1-az3), or ask the "
              "platform team to set regionZones for us-west-1 in the policy"),
      Invalid("UsWest1DefaultZoneCount", Params("prod", "us-west-1"),
              "spec.parameters.zones: required in us-west-1, where each account sees a different "
              "2 of the zones a, b, c: list the letters this account sees, or set "
              "spec.parameters.zoneIds (usw1-az1, usw1-az3), or ask the platform team to set "
              "regionZones for us-west-1 in the policy"),
      Invalid("UsWest1ThreeZones", With(Params("prod", "us-west-1"), {{"zones", {"a", "b", "c"}}}),
              "spec.parameters.zones: an account sees 2 zones of us-west-1, not 3"),
      Invalid("UsWest1NoZoneD", With(Params("prod", "us-west-1"), {{"zones", {"d"}}}),
              "spec.parameters.zones[0]: zone \"d\" does not exist in us-west-1; it has a, b, c"),
      // The policy says which zones the account sees.
      {"ZoneTheAccountDoesNotSee", Xr(With(Params("test", "us-west-1"), {{"zones", {"b", "a"}}})),
       "spec.parameters.zones[1]: zone \"a\" is not one this platform's account sees in "
       "us-west-1; it sees b, c (the policy's regionZones)",
       "", "", kUsWest1BC},
      {"ZoneByNameTheAccountDoesNotSee",
       Xr(With(Params("test", "us-west-1"), {{"zones", {"us-west-1a"}}})),
       "spec.parameters.zones[0]: zone \"us-west-1a\" is not one this platform's account sees "
       "in us-west-1; it sees b, c (the policy's regionZones)",
       "", "", kUsWest1BC},
      {"ZoneCountBeyondWhatTheAccountSees",
       Xr(With(Params("test", "us-west-1"), {{"zoneCount", 3}})),
       "spec.parameters.zoneCount: must be between 1 and 2 (the zones this platform's account "
       "sees in us-west-1: b, c)",
       "", "", kUsWest1BC},
      {"UsEast1ZoneTheAccountDoesNotSee",
       Xr(With(Params("prod", "us-east-1"), {{"zones", {"a", "e"}}})),
       "spec.parameters.zones[1]: zone \"e\" is not one this platform's account sees in "
       "us-east-1; it sees a, b, c, d, f (the policy's regionZones)",
       "", "", PolicyInput({{"regionZones", {{"us-east-1", {"a", "b", "c", "d", "f"}}}}})},
      Invalid("UnknownRegion", With(dev, {{"region", "mars-north-1"}}),
              "spec.parameters.region: unknown AWS region \"mars-north-1\"; known regions: " +
                  KnownRegions()),

      // Policies: limits of the class.
      Violation("DevZoneCountAboveTheLimit", With(dev, {{"zoneCount", 3}}),
                "spec.parameters.zoneCount: dev environments may use at most 2 zones, not 3"),
      Violation("SandboxZonesAboveTheLimit", With(Params("sandbox"), {{"zones", {"a", "b", "c"}}}),
                "spec.parameters.zones: sandbox environments may use at most 2 zones, not 3"),
      Violation("DevZoneIdsAboveTheLimit",
                With(dev, {{"zoneIds", {"euw1-az1", "euw1-az2", "euw1-az3"}}}),
                "spec.parameters.zoneIds: dev environments may use at most 2 zones, not 3"),
      Violation("ZoneCountAboveALimitFromTheInput", With(prod, {{"zoneCount", 3}}),
                "spec.parameters.zoneCount: prod environments may use at most 2 zones, not 3",
                PolicyInput({{"classes", {{"prod", {{"maxZones", 2}}}}}})),
      Violation("ProdWithoutNat", With(prod, {{"natStrategy", "None"}}),
                "spec.parameters.natStrategy: prod environments may use NAT strategies Single, "
                "PerZone, not None"),
      Violation("DevPerZone", With(dev, {{"natStrategy", "PerZone"}}),
                "spec.parameters.natStrategy: dev environments may use NAT strategies None, "
                "Single, not PerZone"),
      Violation("NatNarrowedByTheInput", With(test, {{"natStrategy", "None"}}),
                "spec.parameters.natStrategy: test environments may use NAT strategies Single, "
                "not None",
                PolicyInput({{"classes", {{"test", {{"allowedNatStrategies", {"Single"}}}}}}})),
      Violation("VpcSlash24", With(dev, {{"vpcCidr", "10.10.0.0/24"}}),
                "spec.parameters.vpcCidr: dev VPCs must be /16 to /20, not /24"),
      Violation("VpcSlash12", With(prod, {{"vpcCidr", "10.0.0.0/12"}}),
                "spec.parameters.vpcCidr: prod VPCs must be /16 to /20, not /12"),
      Violation("DefaultVpcBelowAPolicyMinimum", prod,
                "spec.parameters.vpcCidr: prod VPCs must be /18 to /20, not /16",
                PolicyInput({{"classes", {{"prod", {{"minVpcPrefix", 18}}}}}})),
      Violation("RegionNotAllowed", prod,
                "spec.parameters.region: prod environments may only use eu-central-1, "
                "eu-north-1",
                PolicyInput({{"classes",
                              {{"prod", {{"allowedRegions", {"eu-central-1", "eu-north-1"}}}}}}})),

      // Policies: authorization.
      Denied("TeamMayNotCreateProd", Xr(prod),
             "team \"payments\" may not create prod XEnvironments in eu-west-1: rule "
             "\"payments-nonprod\" allows classes dev, test in any region",
             kAuthorization),
      Denied("NoRuleForTheTeam", Xr(With(dev, {{"team", "web"}})),
             "team \"web\" may not create dev XEnvironments in eu-west-1: no rule matches team "
             "\"web\" / no namespace",
             kAuthorization),
      Denied("NamespaceRuleWrongRegion", ClaimXr(dev, "team-payments"),
             "team \"payments\" (namespace \"team-payments\") may not create dev XEnvironments in "
             "eu-west-1: rule \"payments-eu-central\" allows any class in regions eu-central-1",
             PolicyInput({{"authorization",
                           {{{"name", "payments-eu-central"},
                             {"namespaces", {"team-*"}},
                             {"regions", {"eu-central-1"}}}}}})),
      // A denied request learns nothing about its other mistakes.
      Denied("DenialComesBeforeValidation",
             Xr(With(prod, {{"zones", {"e"}}, {"natStrategy", "None"}})),
             "team \"payments\" may not create prod XEnvironments in eu-west-1: rule "
             "\"payments-nonprod\" allows classes dev, test in any region",
             kAuthorization),
      {"PolicyInputError", Xr(dev),
       "input.policy.tag: unknown field; the fields here are environmentConfigRef, tags, "
       "classes, authorization, regionZones, accounts, clusterAccess",
       "", "", PolicyInput({{"tag", {{"a", "b"}}}})},

      // Malformed XRs.
      {"MissingParameters", With(Xr(dev), {{"spec", {{"parameters", nullptr}}}}),
       "spec.parameters: required", "", ""},
      {"MissingSpec", With(Xr(dev), {{"spec", nullptr}}), "spec.parameters: required", "", ""},
      {"MissingName", With(Xr(dev), {{"metadata", {{"name", nullptr}}}}), "metadata.name: required",
       "", ""},
      Invalid("ParametersWrongType", "dev", "spec.parameters: must be an object, not a string"),
      Invalid("MissingEnvironment", With(dev, {{"environment", nullptr}}),
              "spec.parameters.environment: required"),
      Invalid("UnknownEnvironment", With(dev, {{"environment", "staging"}}),
              "spec.parameters.environment: must be one of dev, test, sandbox, prod, not "
              "\"staging\""),
      Invalid("EnvironmentWrongType", With(dev, {{"environment", 1}}),
              "spec.parameters.environment: must be a string, not an integer"),
      Invalid("MissingRegion", With(dev, {{"region", nullptr}}),
              "spec.parameters.region: required"),
      Invalid("RegionWrongType", With(dev, {{"region", 42}}),
              "spec.parameters.region: must be a string, not an integer"),
      Invalid("MissingTeam", With(dev, {{"team", nullptr}}), "spec.parameters.team: required"),
      Invalid("EmptyTeam", With(dev, {{"team", ""}}), "spec.parameters.team: required"),
      Invalid("TeamWrongType", With(dev, {{"team", {{"name", "payments"}}}}),
              "spec.parameters.team: must be a string, not an object"),
      Invalid("CostCenterWrongType", With(dev, {{"costCenter", 1234}}),
              "spec.parameters.costCenter: must be a string, not an integer"),
      Invalid("TagsWrongType", With(dev, {{"tags", {"a"}}}),
              "spec.parameters.tags: must be an object, not a list"),
      Invalid("TagValueWrongType", With(dev, {{"tags", {{"Count", 3}}}}),
              "spec.parameters.tags[Count]: must be a string, not an integer"),
      Invalid("TagReservedByAws", With(dev, {{"tags", {{"aws:cloudformation:stack-name", "x"}}}}),
              "spec.parameters.tags[aws:cloudformation:stack-name]: keys starting with aws: are "
              "reserved by AWS"),
      // Tags AWS would refuse on every resource, refused before any is composed.
      Invalid("TagKeyCharacter", With(dev, {{"tags", {{"cost#center", "x"}}}}),
              "spec.parameters.tags[cost#center]: a tag key may only hold letters, digits, spaces "
              "and _ . : / = + - @, not \"#\" (character 5)"),
      Invalid("TagValueCharacter", With(dev, {{"tags", {{"owner", "alice; bob"}}}}),
              "spec.parameters.tags[owner]: a tag value may only hold letters, digits, spaces "
              "and _ . : / = + - @, not \";\" (character 6)"),
      Invalid("TagValueTooLong", With(dev, {{"tags", {{"note", std::string(257, 'x')}}}}),
              "spec.parameters.tags[note]: a tag value must be at most 256 characters long, not "
              "257"),
      Invalid("TeamIsNoTagValue", With(dev, {{"team", "payments!"}}),
              "spec.parameters.team: is tagged on every resource: a tag value may only hold "
              "letters, digits, spaces and _ . : / = + - @, not \"!\" (character 9)"),
      Invalid("CostCenterIsNoTagValue", With(dev, {{"costCenter", "cc#1"}}),
              "spec.parameters.costCenter: is tagged on every resource: a tag value may only "
              "hold letters, digits, spaces and _ . : / = + - @, not \"#\" (character 3)"),
      Invalid("TooManyTags", With(dev, {{"tags", ManyTags(2000)}}),
              "spec.parameters.tags: 2000 tags here and 4 mandated by the platform make 2004 on "
              "every resource; AWS allows 50 per resource, so at most 46 can be set here"),
      Invalid("TooManyTagsOnOneResource", With(dev, {{"tags", ManyTags(45)}}),
              "spec.parameters.tags: 45 tags here, 4 mandated by the platform and 3 of its own "
              "make 52 on Subnet subnet-private-a; AWS allows 50 per resource, so at most 43 "
              "can be set here"),
      Invalid("VpcCidrWrongType", With(dev, {{"vpcCidr", true}}),
              "spec.parameters.vpcCidr: must be a string, not a boolean"),
      Invalid("VpcCidrNotACidr", With(dev, {{"vpcCidr", "10.0.0.0"}}),
              "spec.parameters.vpcCidr: \"10.0.0.0\" is not an IPv4 CIDR block: expected "
              "a.b.c.d/n"),
      Invalid("VpcCidrHostBitsSet", With(dev, {{"vpcCidr", "10.0.1.0/16"}}),
              "spec.parameters.vpcCidr: \"10.0.1.0/16\" is not an IPv4 CIDR block: host bits are "
              "set; the block is 10.0.0.0/16"),
      Invalid("UnknownNatStrategy", With(dev, {{"natStrategy", "Double"}}),
              "spec.parameters.natStrategy: must be one of None, Single, PerZone, not \"Double\""),
      Invalid("NatStrategyWrongType", With(dev, {{"natStrategy", 1}}),
              "spec.parameters.natStrategy: must be a string, not an integer"),
      // EKS and RDS subnet groups span two zones.
      Invalid("ClusterInOneZone",
              With(dev, {{"zoneCount", 1},
                         {"clusters", {{{"name", "apps"}, {"parameters", Json::object()}}}}}),
              "spec.parameters.clusters: clusters need subnets in at least two zones (EKS "
              "clusters and RDS subnet groups span two); this environment has 1 "
              "(spec.parameters.zoneCount)"),
      Invalid("DatabaseInOneZone",
              With(test, {{"zones", {"b"}},
                          {"databases", {{{"name", "orders"}, {"parameters", Json::object()}}}}}),
              "spec.parameters.databases: databases need subnets in at least two zones (EKS "
              "clusters and RDS subnet groups span two); this environment has 1 "
              "(spec.parameters.zones)"),
  };
}

INSTANTIATE_TEST_SUITE_P(XEnvironment, XEnvironmentErrorTest, ::testing::ValuesIn(ErrorCases()),
                         CaseName<ErrorCase>);

TEST(XEnvironmentErrors, EarlierStepsStatePassesThroughAFatal) {
  const Json desired = {
      {"composite", {{"resource", {{"status", {{"dnsZone", "payments.example.com"}}}}}}},
      {"resources",
       {{"zone",
         {{"resource",
           {{"apiVersion", "route53.aws.upbound.io/v1beta1"},
            {"kind", "Zone"},
            {"spec", {{"forProvider", {{"name", "payments.example.com"}}}}}}},
          {"ready", "READY_TRUE"}}}}}};
  const Json context = {{"apiextensions.crossplane.io/environment", {{"accountId", "1"}}}};
  const pb::RunFunctionRequest req = RequestOf(Call{
      .xr = Xr(With(Params("dev"), {{"zoneCount", 3}})), .desired = desired, .context = context});
  const pb::RunFunctionResponse rsp = RunProto(Call{
      .xr = Xr(With(Params("dev"), {{"zoneCount", 3}})), .desired = desired, .context = context});
  ASSERT_EQ(rsp.results_size(), 1);
  EXPECT_EQ(rsp.results(0).severity(), pb::SEVERITY_FATAL);
  EXPECT_TRUE(EqualsProto(req.desired(), rsp.desired()));
  EXPECT_TRUE(EqualsProto(req.context(), rsp.context()));
}

TEST(XEnvironmentErrors, EarlierStepsStateIsKeptBesideARender) {
  const Json desired = {
      {"composite", {{"resource", {{"status", {{"dnsZone", "payments.example.com"}}}}}}},
      {"resources",
       {{"zone",
         {{"resource", {{"apiVersion", "route53.aws.upbound.io/v1beta1"}, {"kind", "Zone"}}}}}}}};
  const Rendered r = RunOk(Call{.xr = Xr(Params("dev")), .desired = desired});
  EXPECT_TRUE(r.Has("zone"));
  EXPECT_TRUE(r.Has("vpc"));
  EXPECT_EQ(r.Status("dnsZone"), "payments.example.com");
  EXPECT_EQ(r.Status("vpcCidr"), "10.10.0.0/16");
}

// --- Scope and versions -------------------------------------------------------------

struct ScopeCase {
  std::string name;
  Json xr;
  std::string ns;  // empty: cluster-scoped
};

void PrintTo(const ScopeCase& c, std::ostream* os) { *os << c.name; }

class XEnvironmentScopeTest : public ::testing::TestWithParam<ScopeCase> {};

TEST_P(XEnvironmentScopeTest, UsesTheKindsOfTheScope) {
  const ScopeCase& c = GetParam();
  const Rendered r = RunAttached(c.xr);
  const bool namespaced = !c.ns.empty();
  const std::string region = At(c.xr, "spec.parameters.region").get<std::string>();
  int usages = 0;
  for (const auto& [name, object] : r.resources()) {
    SCOPED_TRACE(name);
    const std::string kind = object.value("kind", "");
    EXPECT_EQ(kind, KindByName(name, namespaced));
    if (namespaced) {
      EXPECT_EQ(At(object, "metadata.namespace"), c.ns);
    } else {
      EXPECT_TRUE(At(object, "metadata.namespace").is_null());
    }
    if (name.starts_with("usage-")) {
      ++usages;
      EXPECT_EQ(object["apiVersion"], "protection.crossplane.io/v1beta1");
      EXPECT_EQ(At(object, "spec.replayDeletion"), true);
      EXPECT_FALSE(Target(At(object, "spec.of.resourceSelector")).empty());
      EXPECT_FALSE(Target(At(object, "spec.by.resourceSelector")).empty());
      continue;
    }
    const bool v1beta2 = kind == "Route" || kind == "VPCEndpoint";
    const std::string service = kind == "Group"                          ? "cloudwatchlogs"
                                : kind == "Role" || kind == "RolePolicy" ? "iam"
                                                                         : "ec2";
    EXPECT_EQ(object["apiVersion"],
              sdk::Cat(service, namespaced ? ".aws.m.upbound.io/" : ".aws.upbound.io/",
                       !namespaced && v1beta2 ? "v1beta2" : "v1beta1"));
    // IAM is global.
    if (service == "iam") {
      EXPECT_TRUE(At(object, "spec.forProvider.region").is_null());
    } else {
      EXPECT_EQ(At(object, "spec.forProvider.region"), region);
    }
  }
  EXPECT_GT(usages, 0);
  EXPECT_TRUE(r.OfKind(namespaced ? "ClusterUsage" : "Usage").empty());
  // Usage `of` and `by` point at desired resources of their kind and version.
  EXPECT_GT(CheckWiring(r), 0);
  CheckRoutingAndExposure(r);
}

INSTANTIATE_TEST_SUITE_P(
    XEnvironment, XEnvironmentScopeTest,
    ::testing::Values(
        ScopeCase{"ClaimBasedProd", ClaimXr(Params("prod"), "team-payments"), ""},
        ScopeCase{"BareClusterScopedDev", Xr(Params("dev")), ""},
        ScopeCase{"ClaimBasedSingleNat",
                  ClaimXr(With(Params("test", "us-east-1"),
                               {{"natStrategy", "Single"}, {"zoneCount", 3}}),
                          "team-payments"),
                  ""},
        ScopeCase{"NamespacedSandbox", Xr(Params("sandbox", "us-east-1"), "team-a"), "team-a"},
        ScopeCase{"NamespacedProd", Xr(Params("prod"), "team-payments"), "team-payments"},
        ScopeCase{"NamespacedNoNat", Xr(With(Params("test"), {{"natStrategy", "None"}}), "team-b"),
                  "team-b"}),
    CaseName<ScopeCase>);

TEST(XEnvironmentScope, ClaimBasedRoutesAndEndpointAreV1beta2) {
  const Rendered r = RunAttached(ClaimXr(Params("prod"), "team-payments"));
  EXPECT_EQ(r.Get("route-public-internet", "apiVersion"), "ec2.aws.upbound.io/v1beta2");
  EXPECT_EQ(r.Get("route-private-nat-b", "apiVersion"), "ec2.aws.upbound.io/v1beta2");
  EXPECT_EQ(r.Get("vpce-s3", "apiVersion"), "ec2.aws.upbound.io/v1beta2");
  EXPECT_EQ(r.Get("vpc", "apiVersion"), "ec2.aws.upbound.io/v1beta1");
  EXPECT_EQ(r.Get("usage-igw-by-route-public-internet", "kind"), "ClusterUsage");
  EXPECT_EQ(r.Get("usage-igw-by-route-public-internet", "spec.by.apiVersion"),
            "ec2.aws.upbound.io/v1beta2");
  EXPECT_EQ(r.Get("usage-igw-by-route-public-internet", "spec.of.kind"), "InternetGateway");
  EXPECT_EQ(r.Get("vpce-s3", "spec.forProvider.serviceName"), "com.amazonaws.eu-west-1.s3");
  EXPECT_EQ(r.Get("vpce-s3", "spec.forProvider.vpcEndpointType"), "Gateway");
}

TEST(XEnvironmentScope, NamespacedUsagesKeepDeletionOrder) {
  const Rendered r = RunAttached(Xr(Params("prod"), "team-payments"));
  const std::string usage = "usage-subnet-public-b-by-nat-b";
  EXPECT_EQ(r.Get(usage, "kind"), "Usage");
  EXPECT_EQ(r.Get(usage, "metadata.namespace"), "team-payments");
  EXPECT_EQ(r.Get(usage, "spec.of.apiVersion"), "ec2.aws.m.upbound.io/v1beta1");
  EXPECT_EQ(r.Get(usage, "spec.of.kind"), "Subnet");
  EXPECT_EQ(Target(r.Get(usage, "spec.of.resourceSelector")), "subnet-public-b");
  EXPECT_EQ(r.Get(usage, "spec.by.kind"), "NATGateway");
  EXPECT_EQ(Target(r.Get(usage, "spec.by.resourceSelector")), "nat-b");
  EXPECT_EQ(r.Get("route-public-internet", "apiVersion"), "ec2.aws.m.upbound.io/v1beta1");
}

TEST(XEnvironmentScope, ScopeOfReadsTheNamespace) {
  const Json cluster = {{"metadata", {{"name", "a"}}}};
  const Json namespaced = {{"metadata", {{"name", "a"}, {"namespace", "team-a"}}}};
  const Json empty_ns = {{"metadata", {{"name", "a"}, {"namespace", ""}}}};

  const Scope c = ScopeOf(sdk::Fields(cluster));
  EXPECT_FALSE(c.namespaced);
  EXPECT_EQ(c.AwsApiVersion("ec2"), "ec2.aws.upbound.io/v1beta1");
  EXPECT_EQ(c.AwsApiVersion("ec2", "v1beta2"), "ec2.aws.upbound.io/v1beta2");
  EXPECT_EQ(c.Metadata().dump(), "{}");

  const Scope n = ScopeOf(sdk::Fields(namespaced));
  EXPECT_TRUE(n.namespaced);
  EXPECT_EQ(n.AwsApiVersion("ec2"), "ec2.aws.m.upbound.io/v1beta1");
  EXPECT_EQ(n.Metadata().dump(), R"({"namespace":"team-a"})");

  EXPECT_FALSE(ScopeOf(sdk::Fields(empty_ns)).namespaced);
}

TEST(XEnvironmentScope, BuiltinRegistryRendersXEnvironment) {
  const Registry registry = BuiltinRegistry();
  EXPECT_NE(registry.Find("XEnvironment"), nullptr);
  EXPECT_EQ(registry.Find("Environment"), nullptr);
  EXPECT_THAT(registry.Kinds(), ::testing::Contains("XEnvironment"));
}

// --- Tags ---------------------------------------------------------------------------

bool IsAws(const Json& object) {
  const std::string api = object.value("apiVersion", "");
  const std::string group = api.substr(0, api.find('/'));
  return group.ends_with(".aws.upbound.io") || group.ends_with(".aws.m.upbound.io");
}

TEST(XEnvironmentTags, MandatedTagsWinOverUserTagsOnEveryTaggableResource) {
  const Json params = With(Params("dev"), {{"costCenter", "cc-1234"},
                                           {"tags",
                                            {{"owner", "alice"},
                                             {"Name", "mine"},
                                             {"department", "from-the-user"},
                                             {"platform.terraforming.io/team", "someone-else"},
                                             {"platform.terraforming.io/environment", "prod"},
                                             {"platform.terraforming.io/composite", "other"}}}});
  const Rendered r = RunAttached(Xr(params), PolicyInput({{"tags", {{"department", "finance"}}}}));
  const Json mandated = {{"platform.terraforming.io/environment", "dev"},
                         {"platform.terraforming.io/team", "payments"},
                         {"platform.terraforming.io/cost-center", "cc-1234"},
                         {"platform.terraforming.io/managed-by", "function-platform"},
                         {"platform.terraforming.io/composite", kXrName},
                         {"department", "finance"}};
  Names tagged;
  for (const auto& [name, object] : r.resources()) {
    SCOPED_TRACE(name);
    const Json tags = At(object, "spec.forProvider.tags");
    if (!IsAws(object)) {
      EXPECT_TRUE(At(object, "spec.forProvider").is_null());
      continue;
    }
    if (!policy::Policies::IsTaggableKind(object.value("kind", ""))) {
      EXPECT_TRUE(tags.is_null()) << tags.dump();
      continue;
    }
    tagged.insert(name);
    ASSERT_TRUE(tags.is_object());
    for (auto it = mandated.begin(); it != mandated.end(); ++it) {
      EXPECT_EQ(tags.value(it.key(), Json()), it.value()) << it.key();
    }
    EXPECT_EQ(tags.value("owner", ""), "alice");
  }
  // Every taggable kind is tagged, the security group rules included.
  EXPECT_THAT(r.OfKind("SecurityGroupIngressRule"), IsSubsetOf(tagged));
  EXPECT_THAT(r.OfKind("Subnet"), IsSubsetOf(tagged));
  EXPECT_TRUE(tagged.contains("vpc"));
  EXPECT_TRUE(tagged.contains("nat-a"));
  EXPECT_TRUE(tagged.contains("vpce-s3"));
  EXPECT_FALSE(tagged.contains("route-public-internet"));
  EXPECT_FALSE(tagged.contains("rta-public-a"));
  // The renderer's own Name and tier tags win over the user's.
  EXPECT_EQ(r.Get("vpc", "spec.forProvider.tags.Name"), kXrName);
  EXPECT_EQ(r.Get("subnet-private-a", "spec.forProvider.tags.Name"), "payments-dev-private-a");
  EXPECT_EQ(r.Get("subnet-private-a", "spec.forProvider.tags[platform.terraforming.io/tier]"),
            "private");
  EXPECT_EQ(r.Get("sg-baseline", "spec.forProvider.tags.Name"), "payments-dev-baseline");
}

// EC2 refuses group names starting with sg- (its ids' prefix).
TEST(XEnvironmentNames, TheBaselineGroupNeverStartsWithSg) {
  Json xr = Xr(Params());
  xr["metadata"]["name"] = "sg-payments";
  const Rendered r = RunOk(xr);
  EXPECT_EQ(r.Get("sg-baseline", "spec.forProvider.name"), "platform_sg-payments-baseline");
  EXPECT_EQ(r.Get("sg-baseline", "spec.forProvider.tags.Name"), "sg-payments-baseline");
  EXPECT_EQ(RunOk(Xr(Params())).Get("sg-baseline", "spec.forProvider.name"),
            "payments-dev-baseline");
}

TEST(XEnvironmentTags, UserTagsNeverSetPlatformKeys) {
  // No costCenter: the platform sets no cost-center tag, and the user's is
  // not let through in its place; nor is a tier tag on the VPC.
  const Json params = With(Params("prod"), {{"tags",
                                             {{"platform.terraforming.io/cost-center", "cc-9"},
                                              {"platform.terraforming.io/tier", "public"},
                                              {"compliance", "pci"}}}});
  const Rendered r = RunOk(Xr(params));
  for (const auto& [name, object] : r.resources()) {
    SCOPED_TRACE(name);
    const Json tags = At(object, "spec.forProvider.tags");
    if (!tags.is_object()) continue;
    EXPECT_FALSE(tags.contains("platform.terraforming.io/cost-center"));
    EXPECT_EQ(tags.value("compliance", ""), "pci");
    if (object["kind"] != "Subnet") {
      EXPECT_FALSE(tags.contains("platform.terraforming.io/tier"));
    }
  }
  EXPECT_EQ(r.Get("subnet-private-b", "spec.forProvider.tags[platform.terraforming.io/tier]"),
            "private");
}

TEST(XEnvironmentTags, NoCostCenterNoCostCenterTag) {
  const Rendered r = RunOk(Xr(With(Params("dev"), {{"costCenter", ""}})));
  const Json tags = r.Get("vpc", "spec.forProvider.tags");
  EXPECT_FALSE(tags.contains("platform.terraforming.io/cost-center"));
  EXPECT_EQ(tags.value("platform.terraforming.io/team", ""), "payments");
  EXPECT_EQ(tags.value("platform.terraforming.io/managed-by", ""), "function-platform");
}

// --- Observed state -----------------------------------------------------------------

// The observed form of a desired resource: the provider's status on top.
Json Observe(const Json& desired, const std::string& id, const std::string& ready) {
  Json o = desired;
  o["metadata"]["name"] = sdk::Cat(kXrName, "-x7k2p");
  o["status"] = {{"conditions",
                  {{{"type", "Synced"}, {"status", "True"}, {"reason", "ReconcileSuccess"}},
                   {{"type", "Ready"}, {"status", ready}, {"reason", "Available"}}}}};
  if (!id.empty()) o["status"]["atProvider"] = {{"id", id}};
  return o;
}

// Every desired resource of `r` observed ready, with id "id-<name>".
Json ObserveAll(
    const Rendered& r,
    const std::function<bool(const std::string&)>& pick = [](const std::string&) { return true; }) {
  Json observed = Json::object();
  for (const auto& [name, object] : r.resources()) {
    if (pick(name)) observed[name] = Observe(object, "id-" + name, "True");
  }
  return observed;
}

std::string Creating(std::size_t n, const std::string& cls, const std::string& region, int zones,
                     const std::string& nat) {
  return sdk::Cat("creating ", n, " resources for the ", cls, " environment in ", region, " (",
                  zones, " zones, NAT ", nat, ")");
}

TEST(XEnvironmentObserved, FirstRenderAnnouncesEveryResource) {
  const Rendered dev = RunOk(Xr(Params("dev")));
  EXPECT_THAT(dev.Results(pb::SEVERITY_NORMAL),
              ElementsAre(Creating(dev.names().size(), "dev", "eu-west-1", 2, "Single")));
  EXPECT_EQ(dev.names().size(), 33u);
  // NAT gateways wait for the internet gateway.
  EXPECT_TRUE(dev.OfKind("NATGateway").empty());
  EXPECT_EQ(dev.proto().results_size(), 1);
  EXPECT_EQ(dev.proto().results(0).reason(), "ComposeResources");

  const Rendered prod = RunOk(Xr(Params("prod")));
  EXPECT_THAT(prod.Results(pb::SEVERITY_NORMAL),
              ElementsAre(Creating(52, "prod", "eu-west-1", 3, "PerZone")));

  // Nothing is ready (said explicitly, as for every kind: compose/composer.h)
  // and no id is known yet.
  for (const auto& [name, unused] : dev.resources()) {
    EXPECT_EQ(dev.Ready(name), pb::READY_FALSE) << name;
  }
  for (const char* key :
       {"vpcId", "internetGatewayId", "s3EndpointId", "privateSubnetIds", "publicSubnetIds",
        "databaseSubnetIds", "natGatewayIds", "routeTableIds", "securityGroupIds"}) {
    EXPECT_FALSE(dev.status().contains(key)) << key;
  }
  EXPECT_EQ(dev.Status("vpcCidr"), "10.10.0.0/16");
  EXPECT_EQ(dev.Status("natStrategy"), "Single");
  EXPECT_EQ(dev.Status("subnets.private.b.cidr"), "10.10.16.0/20");
  EXPECT_TRUE(dev.Status("subnets.private.b.id").is_null());
}

TEST(XEnvironmentObserved, SteadyStateIsReadyQuietAndPublishesIds) {
  const Json xr = Xr(With(Params("dev"), {{"costCenter", "cc-1234"}}));
  const Rendered first = RunAttached(xr);
  const Rendered r = RunOk(Call{.xr = xr, .observed = ObserveAll(first)});

  EXPECT_EQ(r.names(), first.names());
  for (const auto& [name, object] : r.resources()) {
    EXPECT_EQ(r.Ready(name), pb::READY_TRUE) << name;
    EXPECT_FALSE(object.contains("status")) << name;
  }
  EXPECT_EQ(r.proto().results_size(), 0) << r.proto().DebugString();

  const Json want = {
      {"vpcId", "id-vpc"},
      {"vpcCidr", "10.10.0.0/16"},
      {"availabilityZones", {"eu-west-1a", "eu-west-1b"}},
      {"natStrategy", "Single"},
      {"internetGatewayId", "id-igw"},
      {"s3EndpointId", "id-vpce-s3"},
      {"gatewayEndpoints",
       {{"s3", {{"id", "id-vpce-s3"}, {"routeTableIds", {"id-rt-private", "id-rt-database"}}}}}},
      {"securityGroupIds", {{"baseline", "id-sg-baseline"}}},
      {"publicSubnetIds", {"id-subnet-public-a", "id-subnet-public-b"}},
      {"privateSubnetIds", {"id-subnet-private-a", "id-subnet-private-b"}},
      {"databaseSubnetIds", {"id-subnet-database-a", "id-subnet-database-b"}},
      {"subnets",
       {{"public",
         {{"a", {{"cidr", "10.10.128.0/21"}, {"id", "id-subnet-public-a"}}},
          {"b", {{"cidr", "10.10.136.0/21"}, {"id", "id-subnet-public-b"}}}}},
        {"private",
         {{"a", {{"cidr", "10.10.0.0/20"}, {"id", "id-subnet-private-a"}}},
          {"b", {{"cidr", "10.10.16.0/20"}, {"id", "id-subnet-private-b"}}}}},
        {"database",
         {{"a", {{"cidr", "10.10.192.0/21"}, {"id", "id-subnet-database-a"}}},
          {"b", {{"cidr", "10.10.200.0/21"}, {"id", "id-subnet-database-b"}}}}}}},
      {"natGatewayIds", {{"a", "id-nat-a"}}},
      {"routeTableIds",
       {{"public", "id-rt-public"}, {"private", "id-rt-private"}, {"database", "id-rt-database"}}},
  };
  EXPECT_EQ(r.status(), want) << r.status().dump(2);
}

TEST(XEnvironmentObserved, PerZoneIdsByZone) {
  const Json xr = ClaimXr(Params("prod"), "team-payments");
  const Rendered r = RunOk(Call{.xr = xr, .observed = ObserveAll(RunAttached(xr))});
  EXPECT_EQ(r.Status("natGatewayIds"),
            Json({{"a", "id-nat-a"}, {"b", "id-nat-b"}, {"c", "id-nat-c"}}));
  EXPECT_EQ(r.Status("routeTableIds"), Json({{"public", "id-rt-public"},
                                             {"private-a", "id-rt-private-a"},
                                             {"private-b", "id-rt-private-b"},
                                             {"private-c", "id-rt-private-c"},
                                             {"database", "id-rt-database"}}));
  EXPECT_EQ(r.Status("privateSubnetIds"),
            Json::array({"id-subnet-private-a", "id-subnet-private-b", "id-subnet-private-c"}));
  EXPECT_EQ(r.proto().results_size(), 0);
}

TEST(XEnvironmentObserved, ZoneIdsPublishTheZonesNamesOnceEveryZoneHasASubnet) {
  const Json xr = Xr(With(Params("prod", "us-east-1"), {{"zoneIds", {"use1-az4", "use1-az1"}}}));
  const Rendered first = RunAttached(xr);
  // What this account calls the two zones.
  const std::map<std::string, std::string> names = {{"az4", "us-east-1c"}, {"az1", "us-east-1f"}};
  const auto render = [&](const std::function<bool(const std::string&)>& pick) {
    Json observed = ObserveAll(first, pick);
    for (auto it = observed.begin(); it != observed.end(); ++it) {
      if (!it.key().starts_with("subnet-")) continue;
      const std::string key = it.key().substr(it.key().rfind('-') + 1);
      it.value()["status"]["atProvider"]["availabilityZone"] = names.at(key);
      it.value()["status"]["atProvider"]["availabilityZoneId"] = "use1-" + key;
    }
    return RunOk(Call{.xr = xr, .observed = observed});
  };
  const Json ids = {"use1-az4", "use1-az1"};

  // The subnets of one zone only: the list waits.
  const Rendered one_zone = render([](const std::string& n) { return n.ends_with("-az4"); });
  EXPECT_FALSE(one_zone.status().contains("availabilityZones"));
  EXPECT_EQ(one_zone.Status("availabilityZoneIds"), ids);
  EXPECT_EQ(one_zone.Status("subnets.private.az4.id"), "id-subnet-private-az4");

  // One subnet of each zone, of any tier, is enough.
  const Rendered one_each = render(
      [](const std::string& n) { return n == "subnet-database-az4" || n == "subnet-public-az1"; });
  EXPECT_EQ(one_each.Status("availabilityZones"), Json({"us-east-1c", "us-east-1f"}));
  EXPECT_FALSE(one_each.status().contains("privateSubnetIds"));

  // Everything observed: ids by zone key, the desired state unchanged.
  const Rendered r = render([](const std::string&) { return true; });
  EXPECT_EQ(r.Status("availabilityZones"), Json({"us-east-1c", "us-east-1f"}));
  EXPECT_EQ(r.Status("availabilityZoneIds"), ids);
  EXPECT_EQ(r.Status("privateSubnetIds"),
            Json::array({"id-subnet-private-az4", "id-subnet-private-az1"}));
  EXPECT_EQ(r.Status("subnets.database.az1"),
            Json({{"cidr", "10.0.192.0/21"}, {"id", "id-subnet-database-az1"}}));
  EXPECT_EQ(r.Status("natGatewayIds"), Json({{"az4", "id-nat-az4"}, {"az1", "id-nat-az1"}}));
  EXPECT_EQ(r.Status("routeTableIds"), Json({{"public", "id-rt-public"},
                                             {"private-az4", "id-rt-private-az4"},
                                             {"private-az1", "id-rt-private-az1"},
                                             {"database", "id-rt-database"}}));
  EXPECT_EQ(r.proto().results_size(), 0) << r.proto().DebugString();
  for (const auto& [name, object] : r.resources()) {
    EXPECT_EQ(object, first.Resource(name)) << name;
  }
}

TEST(XEnvironmentObserved, LetterZonesPublishTheirNamesAtOnce) {
  const Rendered r = RunOk(Xr(With(Params("test"), {{"zones", {"c", "a"}}})));
  EXPECT_EQ(r.Status("availabilityZones"), Json({"eu-west-1c", "eu-west-1a"}));
  EXPECT_FALSE(r.status().contains("availabilityZoneIds"));
}

TEST(XEnvironmentObserved, PartlyObserved) {
  const Json xr = Xr(Params("dev"));
  const Rendered first = RunAttached(xr);
  // The internet gateway is not observed, yet the NAT gateway that exists
  // stays desired (with its address and route).
  Json observed = {
      {"vpc", Observe(first.Resource("vpc"), "vpc-0abc", "True")},
      // An id, but not ready yet.
      {"subnet-private-a", Observe(first.Resource("subnet-private-a"), "subnet-a", "False")},
      // Ready, but no id reported (yet).
      {"subnet-private-b", Observe(first.Resource("subnet-private-b"), "", "True")},
      {"nat-a", Observe(first.Resource("nat-a"), "nat-0a", "Unknown")},
  };
  const Rendered r = RunOk(Call{.xr = xr, .observed = observed});
  EXPECT_EQ(r.Ready("vpc"), pb::READY_TRUE);
  EXPECT_EQ(r.Ready("subnet-private-a"), pb::READY_FALSE);
  EXPECT_EQ(r.Ready("subnet-private-b"), pb::READY_TRUE);
  EXPECT_EQ(r.Ready("nat-a"), pb::READY_FALSE);
  int ready = 0;
  for (const auto& [name, unused] : r.resources()) ready += r.Ready(name) == pb::READY_TRUE;
  EXPECT_EQ(ready, 2);

  EXPECT_EQ(r.Status("vpcId"), "vpc-0abc");
  EXPECT_EQ(r.Status("subnets.private.a.id"), "subnet-a");
  EXPECT_TRUE(r.Status("subnets.private.b.id").is_null());
  EXPECT_EQ(r.Status("natGatewayIds"), Json({{"a", "nat-0a"}}));
  // A list of subnet ids appears only once every subnet of the tier has one.
  EXPECT_FALSE(r.status().contains("privateSubnetIds"));
  EXPECT_FALSE(r.status().contains("publicSubnetIds"));
  EXPECT_FALSE(r.status().contains("internetGatewayId"));

  // Still creating the rest.
  EXPECT_THAT(r.Results(pb::SEVERITY_NORMAL),
              ElementsAre(Creating(first.names().size() - 4, "dev", "eu-west-1", 2, "Single")));
}

TEST(XEnvironmentObserved, AddingAZoneAnnouncesOnlyTheNewResources) {
  const Json two = Xr(With(Params("prod"), {{"zones", {"a", "b"}}}));
  const Json three = Xr(With(Params("prod"), {{"zones", {"a", "b", "c"}}}));
  const Rendered before = RunAttached(two);
  const Rendered after = RunOk(Call{.xr = three, .observed = ObserveAll(before)});
  const std::size_t added = after.names().size() - before.names().size();
  // 3 subnets, 3 usages, 3 associations, EIP, NAT, 4 usages, table, route,
  // and the table's S3 endpoint association.
  EXPECT_EQ(added, 18u);
  EXPECT_THAT(after.Results(pb::SEVERITY_NORMAL),
              ElementsAre(Creating(added, "prod", "eu-west-1", 3, "PerZone")));
  EXPECT_EQ(after.Ready("nat-a"), pb::READY_TRUE);
  EXPECT_EQ(after.Ready("nat-c"), pb::READY_FALSE);
  // The private subnets of c have no id yet, so the list waits for it.
  EXPECT_FALSE(after.status().contains("privateSubnetIds"));
  EXPECT_EQ(after.Status("subnets.private.b.id"), "id-subnet-private-b");
}

TEST(XEnvironmentObserved, IdsOfResourcesNoLongerDesiredAreNotPublished) {
  // PerZone, all observed; then the XR switches to Single. Until Crossplane
  // deletes them the old NAT gateways and tables are still observed.
  const Json per_zone = Xr(With(Params("test"), {{"natStrategy", "PerZone"}}));
  const Json single = Xr(With(Params("test"), {{"natStrategy", "Single"}}));
  const Rendered r = RunOk(Call{.xr = single, .observed = ObserveAll(RunAttached(per_zone))});
  EXPECT_EQ(r.names(), ExpectedNames({"a", "b", "c"}, "Single"));
  EXPECT_EQ(r.Status("natGatewayIds"), Json({{"a", "id-nat-a"}}));
  EXPECT_EQ(r.Status("routeTableIds"),
            Json({{"public", "id-rt-public"}, {"database", "id-rt-database"}}));
  EXPECT_EQ(r.Status("natStrategy"), "Single");
  // The per-zone NAT gateways, tables and routes go (and are named); the
  // shared table and its route are new.
  EXPECT_THAT(r.Results(pb::SEVERITY_NORMAL),
              ElementsAre("deleting 21 resources no longer asked for: eip-nat-b, eip-nat-c, "
                          "nat-b, nat-c, route-private-nat-a, route-private-nat-b, "
                          "route-private-nat-c, rt-private-a, rt-private-b, rt-private-c, "
                          "usage-eip-nat-b-by-nat-b, usage-eip-nat-c-by-nat-c, "
                          "usage-igw-by-eip-nat-b, usage-igw-by-eip-nat-c, usage-igw-by-nat-b, "
                          "usage-igw-by-nat-c, usage-subnet-public-b-by-nat-b, "
                          "usage-subnet-public-c-by-nat-c, vpce-s3-rt-private-a, "
                          "vpce-s3-rt-private-b, vpce-s3-rt-private-c",
                          Creating(3, "test", "eu-west-1", 3, "Single")));
}

TEST(XEnvironmentObserved, ObservedStateNeverLeaksIntoDesired) {
  const Json xr = Xr(Params("dev"), "team-payments");
  const Rendered first = RunAttached(xr);
  const Rendered r = RunOk(Call{.xr = xr, .observed = ObserveAll(first)});
  for (const auto& [name, object] : r.resources()) {
    EXPECT_EQ(object, first.Resource(name)) << name;
  }
  // The XR gets status only.
  const Json composite = sdk::FromStruct(r.proto().desired().composite().resource());
  EXPECT_EQ(composite.size(), 1u) << composite.dump();
  EXPECT_TRUE(composite.contains("status"));
}

// --- EnvironmentConfig requirement --------------------------------------------------

const Json kRefInput = PolicyInput({{"environmentConfigRef", {{"name", "platform-policy"}}}});

Json EnvironmentConfig(const Json& policy) {
  return {{"apiVersion", "apiextensions.crossplane.io/v1beta1"},
          {"kind", "EnvironmentConfig"},
          {"metadata", {{"name", "platform-policy"}}},
          {"data", {{"policy", policy}}}};
}

pb::Requirements WantRequirements() {
  return FromJson<pb::Requirements>(R"({"resources": {"platform-policy": {
      "apiVersion": "apiextensions.crossplane.io/v1beta1",
      "kind": "EnvironmentConfig",
      "matchName": "platform-policy"}}})");
}

TEST(XEnvironmentRequirements, FirstCallAsksForTheEnvironmentConfigOnly) {
  const Rendered r = Render(Call{.xr = Xr(Params("dev")), .input = kRefInput});
  ASSERT_TRUE(r.proto().has_requirements());
  EXPECT_TRUE(EqualsProto(WantRequirements(), r.proto().requirements()));
  EXPECT_EQ(r.proto().desired().resources_size(), 0);
  EXPECT_FALSE(r.proto().desired().has_composite());
  EXPECT_EQ(r.proto().results_size(), 0) << r.proto().DebugString();
  EXPECT_EQ(r.proto().conditions_size(), 0);
}

TEST(XEnvironmentRequirements, FirstCallAsksEvenForAnInvalidXr) {
  // The XR is read once the policies are known.
  const Rendered r =
      Render(Call{.xr = Xr(With(Params("dev"), {{"zoneCount", 9}})), .input = kRefInput});
  EXPECT_TRUE(EqualsProto(WantRequirements(), r.proto().requirements()));
  EXPECT_EQ(r.Fatal(), "");
}

TEST(XEnvironmentRequirements, MissingEnvironmentConfigIsFatal) {
  const Rendered r = Render(
      Call{.xr = Xr(Params("dev")), .input = kRefInput, .required = {{kPolicyKey, Json::array()}}});
  EXPECT_EQ(r.Fatal(),
            "input.policy.environmentConfigRef.name: EnvironmentConfig \"platform-policy\" does "
            "not exist");
  EXPECT_EQ(r.proto().desired().resources_size(), 0);
}

TEST(XEnvironmentRequirements, RendersWithTheEnvironmentConfigAndKeepsAsking) {
  const Json config = EnvironmentConfig(
      {{"tags", {{"department", "finance"}}}, {"classes", {{"dev", {{"maxZones", 1}}}}}});
  const Rendered r = RunOk(Call{.xr = Xr(Params("dev")),
                                .input = kRefInput,
                                .required = {{kPolicyKey, Json::array({config})}}});
  EXPECT_TRUE(EqualsProto(WantRequirements(), r.proto().requirements()));
  // The config's limits and tags apply.
  EXPECT_EQ(r.Status("availabilityZones"), Json::array({"eu-west-1a"}));
  EXPECT_EQ(r.Get("vpc", "spec.forProvider.tags.department"), "finance");
  EXPECT_EQ(r.names(), ExpectedNames({"a"}, "Single", {.attached = false}));
}

TEST(XEnvironmentRequirements, EnvironmentConfigRegionZonesReplaceTheInputs) {
  const Json input = PolicyInput({{"environmentConfigRef", {{"name", "platform-policy"}}},
                                  {"regionZones", {{"us-west-1", {"a", "b"}}}}});
  const Json config = EnvironmentConfig({{"regionZones", {{"us-west-1", {"c", "b"}}}}});
  const Rendered r = RunOk(Call{.xr = Xr(Params("dev", "us-west-1")),
                                .input = input,
                                .required = {{kPolicyKey, Json::array({config})}}});
  EXPECT_EQ(r.Status("availabilityZones"), Json::array({"us-west-1c", "us-west-1b"}));
  EXPECT_EQ(r.names(), ExpectedNames({"c", "b"}, "Single", {.attached = false}));
  EXPECT_EQ(r.Get("subnet-private-c", "spec.forProvider.cidrBlock"), "10.10.32.0/20");
}

TEST(XEnvironmentRequirements, TheDeprecatedExtraResourcesAnswerIsRead) {
  Call c{.xr = Xr(Params("dev")), .input = kRefInput};
  pb::RunFunctionRequest req = RequestOf(c);
  const Json config = EnvironmentConfig({{"tags", {{"department", "finance"}}}});
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  pb::Resource* item = (*req.mutable_extra_resources())[kPolicyKey].add_items();
#pragma GCC diagnostic pop
  ASSERT_TRUE(sdk::ToStruct(config, "config", item->mutable_resource()).ok());
  const Registry registry = BuiltinRegistry();
  const Rendered r(Runner(registry).Run(req));
  EXPECT_EQ(r.Fatal(), "");
  EXPECT_EQ(r.Get("vpc", "spec.forProvider.tags.department"), "finance");
}

TEST(XEnvironmentRequirements, EnvironmentConfigAuthorizationDenies) {
  const Json config = EnvironmentConfig(
      {{"authorization", {{{"name", "web-only"}, {"teams", {"web"}}, {"classes", {"dev"}}}}}});
  const pb::RunFunctionResponse rsp =
      RunProto(Call{.xr = Xr(Params("dev")),
                    .input = kRefInput,
                    .required = {{kPolicyKey, Json::array({config})}}});
  ASSERT_EQ(rsp.results_size(), 1);
  EXPECT_EQ(rsp.results(0).message(),
            "team \"payments\" may not create dev XEnvironments in eu-west-1: no rule matches "
            "team \"payments\" / no namespace");
  ASSERT_EQ(rsp.conditions_size(), 1);
  EXPECT_EQ(rsp.conditions(0).type(), "Authorized");
  EXPECT_EQ(rsp.conditions(0).status(), pb::STATUS_CONDITION_FALSE);
  EXPECT_EQ(rsp.conditions(0).reason(), "Denied");
}

TEST(XEnvironmentRequirements, EnvironmentConfigAllowsTheTeam) {
  const Json config = EnvironmentConfig(
      {{"authorization",
        {{{"name", "payments-all"}, {"teams", {"payments"}}, {"regions", {"eu-west-1"}}}}}});
  const Rendered r = RunOk(Call{.xr = Xr(Params("prod")),
                                .input = kRefInput,
                                .required = {{kPolicyKey, Json::array({config})}}});
  EXPECT_EQ(r.names(),
            ExpectedNames({"a", "b", "c"}, "PerZone", {.flow_logs = true, .attached = false}));
  ExpectPoliciesPassed(r.proto());
}

TEST(XEnvironmentRequirements, InvalidEnvironmentConfigNamesItsField) {
  const Json config = EnvironmentConfig({{"classes", {{"dev", {{"maxZones", 7}}}}}});
  const Rendered r = Render(Call{.xr = Xr(Params("dev")),
                                 .input = kRefInput,
                                 .required = {{kPolicyKey, Json::array({config})}}});
  EXPECT_EQ(r.Fatal(),
            "environmentconfig/platform-policy.data.policy.classes.dev.maxZones: must be between "
            "1 and 6");
}

TEST(XEnvironmentRequirements, NoRequirementWithoutAReference) {
  EXPECT_FALSE(RunOk(Call{.xr = Xr(Params("dev")),
                          .input = PolicyInput({{"tags", {{"department", "finance"}}}})})
                   .proto()
                   .has_requirements());
}

// --- Authorization that allows ------------------------------------------------------

TEST(XEnvironmentAuthorization, AllowedTeamsRender) {
  // payments may create dev; platform may create anything; a namespace rule
  // admits a claim from team-* whatever its team.
  const Json input = PolicyInput(
      {{"authorization",
        {{{"name", "payments-nonprod"}, {"teams", {"payments"}}, {"classes", {"dev", "test"}}},
         {{"name", "platform-team"}, {"teams", {"platform"}}},
         {{"name", "team-namespaces"}, {"namespaces", {"team-*"}}, {"classes", {"sandbox"}}}}}});
  for (const Json& xr : {Xr(Params("dev")), Xr(With(Params("prod"), {{"team", "platform"}})),
                         ClaimXr(With(Params("sandbox"), {{"team", "anyone"}}), "team-x"),
                         Xr(With(Params("sandbox"), {{"team", "anyone"}}), "team-y")}) {
    SCOPED_TRACE(xr.dump());
    const Rendered r = RunOk(Call{.xr = xr, .input = input});
    EXPECT_TRUE(r.Has("vpc"));
    ExpectPoliciesPassed(r.proto());
  }
}

// --- An optional EnvironmentConfig ---------------------------------------------------

TEST(XEnvironmentPolicy, AMissingOptionalEnvironmentConfigWarnsAndTheDefaultsApply) {
  const Json input =
      PolicyInput({{"environmentConfigRef", {{"name", "platform-policy"}, {"optional", true}}}});
  const pb::RunFunctionResponse rsp =
      RunProto(Call{.xr = Xr(Params()), .input = input, .required = {{kPolicyKey, Json::array()}}});
  bool warned = false;
  for (const pb::Result& r : rsp.results()) {
    ASSERT_NE(r.severity(), pb::SEVERITY_FATAL) << r.message();
    if (r.severity() == pb::SEVERITY_WARNING) {
      warned = true;
      EXPECT_EQ(r.message(),
                "EnvironmentConfig \"platform-policy\" (input.policy.environmentConfigRef, "
                "optional) does not exist; the input's policy and the built-in defaults apply");
    }
  }
  EXPECT_TRUE(warned);
  EXPECT_GT(rsp.desired().resources_size(), 10);
  // Still asked for, so it takes effect once it exists.
  EXPECT_EQ(rsp.requirements().resources().count(kPolicyKey), 1u);
  // The condition says it for as long as it lasts...
  const pb::Condition* compliant = nullptr;
  for (const pb::Condition& c : rsp.conditions()) {
    if (c.type() == "PolicyCompliant") compliant = &c;
  }
  ASSERT_NE(compliant, nullptr);
  EXPECT_EQ(compliant->status(), pb::STATUS_CONDITION_TRUE);
  EXPECT_EQ(compliant->reason(), "PolicyNotFound");
  EXPECT_EQ(compliant->message(),
            "EnvironmentConfig \"platform-policy\" (input.policy.environmentConfigRef, optional) "
            "does not exist; the input's policy and the built-in defaults apply");
  // ... and the warning only once: not again while the XR carries it.
  Json observed = Xr(Params());
  observed["status"]["conditions"] = {{{"type", "PolicyCompliant"},
                                       {"status", "True"},
                                       {"reason", "PolicyNotFound"},
                                       {"message", compliant->message()}}};
  const pb::RunFunctionResponse again =
      RunProto(Call{.xr = observed, .input = input, .required = {{kPolicyKey, Json::array()}}});
  for (const pb::Result& r : again.results()) {
    EXPECT_NE(r.severity(), pb::SEVERITY_WARNING) << r.message();
  }
  EXPECT_GT(again.desired().resources_size(), 10);

  // Not optional: an error naming the field.
  const pb::RunFunctionResponse strict =
      RunProto(Call{.xr = Xr(Params()),
                    .input = PolicyInput({{"environmentConfigRef", {{"name", "platform-policy"}}}}),
                    .required = {{kPolicyKey, Json::array()}}});
  ASSERT_EQ(strict.results_size(), 1);
  EXPECT_EQ(strict.results(0).message(),
            "input.policy.environmentConfigRef.name: EnvironmentConfig \"platform-policy\" does "
            "not exist");
}

// A render in CI that asks for the policy (the context a CI run passes with
// --context-values) fails without it; with it, or on the control plane
// (no such context), the optional reference behaves as before.
TEST(XEnvironmentPolicy, ARenderThatRequiresThePolicyFailsWithoutIt) {
  const Json input =
      PolicyInput({{"environmentConfigRef", {{"name", "platform-policy"}, {"optional", true}}}});
  const Json context = {{"platform.terraforming.io/render", {{"requirePolicy", true}}}};
  const pb::RunFunctionResponse missing = RunProto(Call{.xr = Xr(Params()),
                                                        .input = input,
                                                        .required = {{kPolicyKey, Json::array()}},
                                                        .context = context});
  ASSERT_EQ(missing.results_size(), 1);
  EXPECT_EQ(missing.results(0).severity(), pb::SEVERITY_FATAL);
  EXPECT_EQ(missing.results(0).message(),
            "input.policy.environmentConfigRef.name: EnvironmentConfig \"platform-policy\" was "
            "not given, and this render requires the platform's policy (context "
            "platform.terraforming.io/render.requirePolicy); pass the stage's policy with "
            "--required-resources");
  EXPECT_EQ(missing.desired().resources_size(), 0);
  const Json policy = {{"apiVersion", "apiextensions.crossplane.io/v1beta1"},
                       {"kind", "EnvironmentConfig"},
                       {"metadata", {{"name", "platform-policy"}}},
                       {"data", {{"policy", Json::object()}}}};
  const pb::RunFunctionResponse given = RunProto(Call{.xr = Xr(Params()),
                                                      .input = input,
                                                      .required = {{kPolicyKey, {policy}}},
                                                      .context = context});
  for (const pb::Result& r : given.results()) {
    EXPECT_NE(r.severity(), pb::SEVERITY_FATAL) << r.message();
  }
  EXPECT_GT(given.desired().resources_size(), 10);
  // false, or another shape, changes nothing.
  for (const Json& other : {Json{{"requirePolicy", false}}, Json("yes")}) {
    const pb::RunFunctionResponse lenient =
        RunProto(Call{.xr = Xr(Params()),
                      .input = input,
                      .required = {{kPolicyKey, Json::array()}},
                      .context = {{"platform.terraforming.io/render", other}}});
    EXPECT_GT(lenient.desired().resources_size(), 10) << other;
  }
}

// --- Nested clusters ------------------------------------------------------------------

Json WithCluster(const Json& base,
                 const Json& cluster_params = {
                     {"nodePools", {{{"name", "general"}, {"instanceType", "t3.large"}}}}}) {
  return With(base, {{"costCenter", "cc-1"},
                     {"tags", {{"owner", "oncall"}}},
                     {"clusters", {{{"name", "apps"}, {"parameters", cluster_params}}}}});
}

TEST(XEnvironmentNested, ComposesTheClusterInItsOwnNetwork) {
  const Rendered r = RunOk(ClaimXr(WithCluster(Params()), "team-payments"));
  ASSERT_TRUE(r.Has("xcluster-apps"));
  EXPECT_EQ(r.Get("xcluster-apps", "apiVersion"), "platform.terraforming.io/v1alpha1");
  EXPECT_EQ(r.Get("xcluster-apps", "kind"), "XCluster");
  EXPECT_EQ(r.Get("xcluster-apps", "metadata.name"), "payments-dev-apps");
  // The claim's labels, so the nested XR is the claim's too.
  EXPECT_EQ(r.Get("xcluster-apps", "metadata.labels[crossplane.io/claim-namespace]"),
            "team-payments");
  EXPECT_EQ(r.Get("xcluster-apps", "spec.parameters"),
            Json({{"environment", "dev"},
                  {"region", "eu-west-1"},
                  {"team", "payments"},
                  {"costCenter", "cc-1"},
                  {"tags", {{"owner", "oncall"}}},
                  // Found by the claim's name, in the claim's namespace.
                  {"network", {{"environment", "payments"}}},
                  {"namespace", "team-payments"},
                  {"nodePools", {{{"name", "general"}, {"instanceType", "t3.large"}}}}}));
  // The VPC stays until the cluster is gone.
  const std::string u = "usage-vpc-by-xcluster-apps";
  EXPECT_EQ(r.Get(u, "kind"), "ClusterUsage");
  EXPECT_EQ(Target(r.Get(u, "spec.of.resourceSelector")), "vpc");
  EXPECT_EQ(r.Get(u, "spec.by"), Json({{"apiVersion", "platform.terraforming.io/v1alpha1"},
                                       {"kind", "XCluster"},
                                       {"resourceRef", {{"name", "payments-dev-apps"}}}}));
  EXPECT_EQ(r.Status("clusters.apps.name"), "payments-dev-apps");
  EXPECT_EQ(r.Status("clusters.apps.ready"), false);
}

TEST(XEnvironmentNested, ComposesADatabaseInItsOwnNetwork) {
  const Rendered r = RunOk(ClaimXr(
      With(Params(),
           {{"databases", {{{"name", "orders"}, {"parameters", {{"engine", "postgres"}}}}}}}),
      "team-payments"));
  EXPECT_EQ(r.Get("xdatabase-orders", "kind"), "XDatabase");
  EXPECT_EQ(r.Get("xdatabase-orders", "metadata.name"), "payments-dev-orders");
  EXPECT_EQ(r.Get("xdatabase-orders", "spec.parameters"),
            Json({{"engine", "postgres"},
                  {"environment", "dev"},
                  {"region", "eu-west-1"},
                  {"team", "payments"},
                  {"network", {{"environment", "payments"}}}}));
  EXPECT_EQ(r.Get("usage-vpc-by-xdatabase-orders", "spec.by.kind"), "XDatabase");
  EXPECT_EQ(r.Status("databases.orders.name"), "payments-dev-orders");
}

TEST(XEnvironmentNested, NamespacedEnvironmentNestsANamespacedCluster) {
  const Rendered r = RunOk(Xr(WithCluster(Params()), "team-payments"));
  EXPECT_EQ(r.Get("xcluster-apps", "apiVersion"), "platform.m.terraforming.io/v1alpha1");
  EXPECT_EQ(r.Get("xcluster-apps", "metadata.namespace"), "team-payments");
  EXPECT_EQ(r.Get("xcluster-apps", "spec.parameters.network.environment"), kXrName);
  EXPECT_EQ(r.Get("xcluster-apps", "spec.parameters.namespace"), nullptr);
  EXPECT_EQ(r.Get("usage-vpc-by-xcluster-apps", "kind"), "Usage");
  EXPECT_EQ(r.Get("usage-vpc-by-xcluster-apps", "spec.of.apiVersion"),
            "ec2.aws.m.upbound.io/v1beta1");
}

TEST(XEnvironmentNested, StatusFromTheObservedCluster) {
  const Rendered r =
      RunOk(Call{.xr = ClaimXr(WithCluster(Params()), "team-payments"),
                 .observed = {{"xcluster-apps",
                               {{"status",
                                 {{"clusterName", "payments-dev-apps"},
                                  {"endpoint", "https://example.eks.amazonaws.com"},
                                  {"conditions", {{{"type", "Ready"}, {"status", "True"}}}}}}}}}});
  EXPECT_EQ(r.Status("clusters.apps.ready"), true);
  EXPECT_EQ(r.Status("clusters.apps.endpoint"), "https://example.eks.amazonaws.com");
  EXPECT_EQ(r.Status("clusters.apps.clusterName"), "payments-dev-apps");
}

TEST(XEnvironmentNested, TheNestedNameMustFitTheNestedKind) {
  Json xr = ClaimXr(
      With(Params(), {{"clusters", {{{"name", "apps-cluster"}, {"parameters", Json::object()}}}}}),
      "team-payments");
  xr["metadata"]["name"] = "payments-development-eu-west-x7k2p";
  const pb::RunFunctionResponse rsp = RunProto(Call{.xr = xr});
  ASSERT_EQ(rsp.results_size(), 1) << rsp.DebugString();
  EXPECT_EQ(rsp.results(0).message(),
            "spec.parameters.clusters[0].name: names the XCluster "
            "\"payments-development-eu-west-x7k2p-apps-cluster\", longer than 40 characters; use "
            "a shorter name");
}

// --- Accounts -------------------------------------------------------------------------

// The team's account, with the identity its clusters use.
Json AccountInput() {
  return PolicyInput(
      {{"accounts",
        {{{"name", "payments"},
          {"teams", {"payments"}},
          {"providerConfig", "payments"},
          {"clusterIdentity", {{"kind", "AWSClusterRoleIdentity"}, {"name", "payments"}}}}}}});
}

// Every composed AWS managed resource names the account, in either scope;
// the usages and the nested XRs name none.
TEST(XEnvironmentAccount, EveryManagedResourceNamesTheAccount) {
  for (const std::string ns : {"", "team-payments"}) {
    SCOPED_TRACE(ns);
    const Rendered r = RunOk(Call{.xr = Xr(WithCluster(Params()), ns), .input = AccountInput()});
    const Json want = ns.empty() ? Json({{"name", "payments"}})
                                 : Json({{"kind", "ClusterProviderConfig"}, {"name", "payments"}});
    std::size_t named = 0;
    for (const auto& [name, object] : r.resources()) {
      if (IsAws(object)) {
        EXPECT_EQ(At(object, "spec.providerConfigRef"), want) << name;
        ++named;
      } else {
        EXPECT_EQ(At(object, "spec.providerConfigRef"), nullptr) << name;
        EXPECT_EQ(At(object, "spec.identityRef"), nullptr) << name;
      }
    }
    EXPECT_GE(named, 20u);  // a dev network of two zones has 25
    // Route tables and associations too, which carry no tags.
    EXPECT_EQ(r.Get("rta-private-a", "spec.providerConfigRef"), want);
  }
  // Without a policy, the default is named.
  EXPECT_EQ(RunOk(Xr(Params())).Get("vpc", "spec.providerConfigRef"), Json({{"name", "default"}}));
}

// The environment as Crossplane returns it to the XRs it composed, once its
// network is up.
Json ComposingEnvironment(const Json& xr) {
  Json env = xr;
  env["status"] = ::platform::fn::testing::PublishedNetwork("10.10.0.0/16");
  return env;
}

// A nested XR as Crossplane creates it: what the environment desired, owned
// by the environment.
Json AsComposed(const Json& desired) {
  Json xr = desired;
  xr["metadata"]["ownerReferences"] = {{{"apiVersion", "platform.terraforming.io/v1alpha1"},
                                        {"kind", "XEnvironment"},
                                        {"name", kXrName},
                                        {"uid", "0f1e2d3c"},
                                        {"controller", true}}};
  return xr;
}

// The clusters and databases of an environment have its class and team, so
// the same policy puts them in its account: nothing to pass down.
TEST(XEnvironmentAccount, NestedXrsLandInTheSameAccount) {
  const Json env_xr = ClaimXr(
      With(WithCluster(Params()),
           {{"clusters",
             {{{"name", "apps"},
               {"parameters",
                {{"nodePools", {{{"name", "general"}, {"instanceType", "t3.large"}}}}}}},
              {{"name", "eks"},
               {"parameters",
                {{"provisioner", "AWS"},
                 {"nodePools", {{{"name", "general"}, {"instanceType", "t3.large"}}}}}}}}},
            {"databases", {{{"name", "orders"}, {"parameters", {{"engine", "postgres"}}}}}}}),
      "team-payments");
  // The Cluster API cluster's Private endpoint needs the class's management path.
  Json input = AccountInput();
  input["policy"]["classes"]["dev"]["network"]["managementPath"] = {
      {"transitGatewayId", "tgw-0123456789abcdef0"}, {"cidrs", {"10.100.0.0/16"}}};
  const Rendered env = RunOk(Call{.xr = env_xr, .input = input});
  EXPECT_EQ(env.Get("vpc", "spec.providerConfigRef"), Json({{"name", "payments"}}));
  const Json required = {{"network-environment", {ComposingEnvironment(env_xr)}}};

  // A Cluster API cluster: its control plane takes the account's identity.
  const Rendered capi = RunOk(
      Call{.xr = AsComposed(env.Resource("xcluster-apps")), .input = input, .required = required});
  EXPECT_EQ(capi.Get("controlplane", "spec.identityRef"),
            Json({{"kind", "AWSClusterRoleIdentity"}, {"name", "payments"}}));

  // An EKS cluster of managed resources, and a database: the account's
  // ProviderConfig on each of their managed resources.
  for (const std::string nested : {"xcluster-eks", "xdatabase-orders"}) {
    SCOPED_TRACE(nested);
    const Rendered r =
        RunOk(Call{.xr = AsComposed(env.Resource(nested)), .input = input, .required = required});
    std::size_t named = 0;
    for (const auto& [name, object] : r.resources()) {
      if (!IsAws(object)) continue;
      EXPECT_EQ(At(object, "spec.providerConfigRef"), Json({{"name", "payments"}})) << name;
      ++named;
    }
    EXPECT_GT(named, 3u);
  }
}

struct NestedErrorCase {
  std::string name;
  Json clusters;
  std::string want;
};

void PrintTo(const NestedErrorCase& c, std::ostream* os) { *os << c.name; }

class XEnvironmentNestedErrorTest : public ::testing::TestWithParam<NestedErrorCase> {};

TEST_P(XEnvironmentNestedErrorTest, NamesTheField) {
  const NestedErrorCase& c = GetParam();
  const pb::RunFunctionResponse rsp =
      RunProto(Call{.xr = ClaimXr(With(Params(), {{"clusters", c.clusters}}), "team-payments")});
  ASSERT_EQ(rsp.results_size(), 1) << rsp.DebugString();
  EXPECT_EQ(rsp.results(0).severity(), pb::SEVERITY_FATAL);
  EXPECT_EQ(rsp.results(0).message(), c.want);
}

INSTANTIATE_TEST_SUITE_P(
    XEnvironment, XEnvironmentNestedErrorTest,
    ::testing::Values(
        NestedErrorCase{"Region",
                        {{{"name", "apps"}, {"parameters", {{"region", "us-east-1"}}}}},
                        "spec.parameters.clusters[0].parameters.region: set by the XEnvironment; "
                        "leave it out"},
        NestedErrorCase{"NetworkIds",
                        {{{"name", "apps"}, {"parameters", {{"network", {{"vpcId", "vpc-1"}}}}}}},
                        "spec.parameters.clusters[0].parameters.network.vpcId: set by the "
                        "XEnvironment (its own network); leave it out"},
        NestedErrorCase{"Namespace",
                        {{{"name", "apps"}, {"parameters", {{"namespace", "other"}}}}},
                        "spec.parameters.clusters[0].parameters.namespace: set by the "
                        "XEnvironment to its claim's namespace \"team-payments\"; leave it out"},
        NestedErrorCase{"Twice",
                        {{{"name", "apps"}, {"parameters", Json::object()}},
                         {{"name", "apps"}, {"parameters", Json::object()}}},
                        "spec.parameters.clusters[1].name: \"apps\" is listed twice"},
        NestedErrorCase{"NoParameters",
                        {{{"name", "apps"}}},
                        "spec.parameters.clusters[0].parameters: required"},
        NestedErrorCase{"TagKey",
                        {{{"name", "apps"}, {"parameters", {{"tags", {{"a b&c", "x"}}}}}}},
                        "spec.parameters.clusters[0].parameters.tags[a b&c]: a tag key may only "
                        "hold letters, digits, spaces and _ . : / = + - @, not \"&\" (character "
                        "4)"},
        NestedErrorCase{"TagValue",
                        {{{"name", "apps"}, {"parameters", {{"tags", {{"owner", 3}}}}}}},
                        "spec.parameters.clusters[0].parameters.tags[owner]: must be a string"}),
    CaseName<NestedErrorCase>);

// --- Gateway endpoints ------------------------------------------------------------

TEST(XEnvironmentEndpoints, S3IsAssociatedWithEveryPrivateAndDatabaseTable) {
  for (const char* nat : {"None", "Single", "PerZone"}) {
    SCOPED_TRACE(nat);
    const Rendered r = RunAttached(Xr(With(Params("test"), {{"natStrategy", nat}})));
    std::set<std::string> tables;
    for (const std::string& a : r.OfKind("VPCEndpointRouteTableAssociation")) {
      EXPECT_EQ(r.TargetOf(a, "spec.forProvider.vpcEndpointIdSelector"), "vpce-s3");
      tables.insert(r.TargetOf(a, "spec.forProvider.routeTableIdSelector"));
      EXPECT_EQ(r.Get(a, "apiVersion"), "ec2.aws.upbound.io/v1beta1");
      EXPECT_TRUE(r.Get(a, "spec.forProvider.tags").is_null());
    }
    // Every table but the public one (whose subnets hold only NAT gateways
    // and load balancers).
    std::set<std::string> want = {"rt-database"};
    for (const std::string& t : r.OfKind("RouteTable")) {
      if (t != "rt-public") want.insert(t);
    }
    EXPECT_EQ(tables, want);
    EXPECT_EQ(tables.size(), std::string(nat) == "PerZone" ? 4u : 2u);
  }
}

TEST(XEnvironmentEndpoints, DynamoDbWhereTheClassAsks) {
  const Json input = PolicyInput(
      {{"classes", {{"dev", {{"network", {{"gatewayEndpoints", {"s3", "dynamodb"}}}}}}}}});
  const Rendered r = RunAttached(Xr(Params("dev")), input);
  EXPECT_EQ(r.Get("vpce-dynamodb", "spec.forProvider.serviceName"),
            "com.amazonaws.eu-west-1.dynamodb");
  EXPECT_EQ(r.Get("vpce-dynamodb", "spec.forProvider.vpcEndpointType"), "Gateway");
  EXPECT_EQ(r.TargetOf("vpce-dynamodb-rt-private", "spec.forProvider.routeTableIdSelector"),
            "rt-private");
  EXPECT_EQ(r.TargetOf("vpce-dynamodb-rt-database", "spec.forProvider.vpcEndpointIdSelector"),
            "vpce-dynamodb");
  EXPECT_EQ(r.OfKind("VPCEndpointRouteTableAssociation").size(), 4u);
  EXPECT_GT(CheckWiring(r), 0);

  // A class may go without.
  const Rendered none = RunAttached(
      Xr(Params("dev")),
      PolicyInput({{"classes", {{"dev", {{"network", {{"gatewayEndpoints", Json::array()}}}}}}}}));
  EXPECT_TRUE(none.OfKind("VPCEndpoint").empty());
  EXPECT_TRUE(none.OfKind("VPCEndpointRouteTableAssociation").empty());
}

TEST(XEnvironmentEndpoints, StatusListsTheTablesAssociatedSoFar) {
  const Json xr = Xr(Params("dev"));
  const Rendered first = RunAttached(xr);
  // The private table's association is ready, the database one's not yet.
  Json observed =
      ObserveAll(first, [](const std::string& name) { return name != "vpce-s3-rt-database"; });
  observed["vpce-s3-rt-database"] = Observe(first.Resource("vpce-s3-rt-database"), "a-1", "False");
  const Rendered r = RunOk(Call{.xr = xr, .observed = observed});
  EXPECT_EQ(r.Status("gatewayEndpoints"),
            Json({{"s3", {{"id", "id-vpce-s3"}, {"routeTableIds", {"id-rt-private"}}}}}));
  EXPECT_EQ(r.Ready("vpce-s3-rt-database"), pb::READY_FALSE);
}

// --- Subnet tags for load balancers and clusters --------------------------------------

// The tags CAPA puts on a subnet of a network it does not manage, when its
// feature gate TagUnmanagedNetworkResources is on (its default): the
// load-balancer role and the cluster's shared tag, besides the cluster's
// additionalTags (see docs/xenvironment.md: we run CAPA with the gate off,
// and compose these tags ourselves so the two never disagree).
std::map<std::string, std::string> CapaSubnetTags(const std::string& cluster, bool is_public) {
  return {{is_public ? "kubernetes.io/role/elb" : "kubernetes.io/role/internal-elb", "1"},
          {"kubernetes.io/cluster/" + cluster, "shared"}};
}

TEST(XEnvironmentSubnetTags, LoadBalancerRolesByTier) {
  const Rendered r = RunOk(Xr(Params("test")));
  for (const std::string z : {"a", "b", "c"}) {
    SCOPED_TRACE(z);
    EXPECT_EQ(r.Get("subnet-public-" + z, "spec.forProvider.tags[kubernetes.io/role/elb]"), "1");
    EXPECT_TRUE(
        r.Get("subnet-public-" + z, "spec.forProvider.tags[kubernetes.io/role/internal-elb]")
            .is_null());
    EXPECT_EQ(
        r.Get("subnet-private-" + z, "spec.forProvider.tags[kubernetes.io/role/internal-elb]"),
        "1");
    EXPECT_TRUE(
        r.Get("subnet-private-" + z, "spec.forProvider.tags[kubernetes.io/role/elb]").is_null());
    // Nothing may put a load balancer in a database subnet.
    const Json tags = r.Get("subnet-database-" + z, "spec.forProvider.tags");
    for (auto it = tags.begin(); it != tags.end(); ++it) {
      EXPECT_FALSE(it.key().starts_with("kubernetes.io/")) << it.key();
    }
  }
}

TEST(XEnvironmentSubnetTags, EqualWhatCapaWouldAddForEachNestedCluster) {
  struct Case {
    std::string name;
    Json xr;
    std::vector<std::string> clusters;  // the names CAPA knows them by
  };
  const Json two =
      With(Params("prod"), {{"clusters",
                             {{{"name", "apps"}, {"parameters", Json::object()}},
                              {{"name", "batch"}, {"parameters", {{"flavor", "Kubeadm"}}}},
                              {{"name", "edge"}, {"parameters", {{"provisioner", "AWS"}}}}}}});
  for (const Case& c :
       {Case{"ClaimBased",
             ClaimXr(two, "team-payments"),
             {"payments-dev-apps", "payments-dev-batch", "payments-dev-edge"}},
        // EKS names of namespaced XRs carry the namespace; a Kubeadm
        // cluster is known by its Cluster API Cluster's name.
        Case{"Namespaced",
             Xr(two, "team-a"),
             {"team-a-payments-dev-apps", "payments-dev-batch", "team-a-payments-dev-edge"}}}) {
    SCOPED_TRACE(c.name);
    const Rendered r = RunAttached(c.xr);
    for (const std::string& cluster : c.clusters) {
      for (const std::string z : {"a", "b", "c"}) {
        for (bool is_public : {true, false}) {
          const std::string subnet = sdk::Cat("subnet-", is_public ? "public-" : "private-", z);
          SCOPED_TRACE(subnet + " " + cluster);
          const Json tags = r.Get(subnet, "spec.forProvider.tags");
          for (const auto& [key, value] : CapaSubnetTags(cluster, is_public)) {
            EXPECT_EQ(tags.value(key, Json()), value) << key;
          }
        }
      }
    }
    // Each nested XCluster is named as the tags assume.
    EXPECT_EQ(r.Get("xcluster-apps", "metadata.name"), "payments-dev-apps");
  }
}

TEST(XEnvironmentSubnetTags, NoClusterTagWithoutNestedClusters) {
  const Rendered r = RunOk(Xr(Params("prod")));
  for (const std::string& subnet : r.OfKind("Subnet")) {
    const Json tags = r.Get(subnet, "spec.forProvider.tags");
    for (auto it = tags.begin(); it != tags.end(); ++it) {
      EXPECT_FALSE(it.key().starts_with("kubernetes.io/cluster/")) << subnet << " " << it.key();
    }
  }
}

// --- Default security group, NAT after the internet gateway --------------------------

TEST(XEnvironmentHygiene, DefaultSecurityGroupHasNoRules) {
  for (const std::string& ns : {std::string(), std::string("team-a")}) {
    const Rendered r = RunOk(Xr(Params("dev"), ns));
    EXPECT_EQ(r.Get("sg-default", "kind"), "DefaultSecurityGroup");
    EXPECT_EQ(r.TargetOf("sg-default", "spec.forProvider.vpcIdSelector"), "vpc");
    // No ingress or egress blocks: the provider removes every rule.
    const Json fp = r.Get("sg-default", "spec.forProvider");
    EXPECT_FALSE(fp.contains("ingress")) << fp.dump();
    EXPECT_FALSE(fp.contains("egress")) << fp.dump();
    EXPECT_EQ(r.Get("sg-default", "spec.forProvider.tags.Name"), "payments-dev-default-no-rules");
  }
}

TEST(XEnvironmentHygiene, NatGatewaysWaitForTheAttachedInternetGateway) {
  const Json xr = Xr(Params("prod"));
  const Rendered first = RunOk(xr);
  EXPECT_TRUE(first.OfKind("NATGateway").empty());
  EXPECT_TRUE(first.OfKind("EIP").empty());
  for (const std::string& route : first.OfKind("Route")) {
    EXPECT_TRUE(first.Get(route, "spec.forProvider.natGatewayIdSelector").is_null()) << route;
  }
  // Observed but not ready yet (not attached): still waiting.
  const Rendered pending = RunOk(
      Call{.xr = xr, .observed = {{"igw", Observe(first.Resource("igw"), "igw-1", "False")}}});
  EXPECT_TRUE(pending.OfKind("NATGateway").empty());
  // Ready: every NAT gateway, its address and the route to it.
  const Rendered ready =
      RunOk(Call{.xr = xr, .observed = {{"igw", Observe(first.Resource("igw"), "igw-1", "True")}}});
  EXPECT_EQ(ready.OfKind("NATGateway").size(), 3u);
  EXPECT_EQ(ready.OfKind("EIP").size(), 3u);
  EXPECT_EQ(ready.TargetOf("route-private-nat-c", "spec.forProvider.natGatewayIdSelector"),
            "nat-c");
  // The internet gateway outlives every NAT gateway and address.
  for (const std::string z : {"a", "b", "c"}) {
    for (const auto& [by, kind] :
         {std::pair<std::string, std::string>{"nat-" + z, "NATGateway"}, {"eip-nat-" + z, "EIP"}}) {
      const std::string usage = "usage-igw-by-" + by;
      EXPECT_EQ(Target(ready.Get(usage, "spec.of.resourceSelector")), "igw");
      EXPECT_EQ(ready.Get(usage, "spec.of.kind"), "InternetGateway");
      EXPECT_EQ(Target(ready.Get(usage, "spec.by.resourceSelector")), by);
      EXPECT_EQ(ready.Get(usage, "spec.by.kind"), kind);
    }
  }
  // Once they exist they stay, whatever the internet gateway's state.
  Json observed = ObserveAll(ready);
  observed["igw"] = Observe(first.Resource("igw"), "igw-1", "False");
  const Rendered later = RunOk(Call{.xr = xr, .observed = observed});
  EXPECT_EQ(later.names(), ready.names());
}

// --- The management path ----------------------------------------------------------------

constexpr char kTransitGateway[] = "tgw-0123456789abcdef0";
constexpr char kAttachment[] = "tgw-attachment-management";

// A policy whose `cls` routes `cidrs` to the platform's transit gateway.
Json ManagementPathInput(const std::string& cls, const std::vector<std::string>& cidrs) {
  return PolicyInput(
      {{"classes",
        {{cls,
          {{"network",
            {{"managementPath", {{"transitGatewayId", kTransitGateway}, {"cidrs", cidrs}}}}}}}}}});
}

TEST(XEnvironmentManagementPath, AttachesThePrivateSubnetsThenRoutesTheBlocksThere) {
  const Json xr = Xr(Params("dev"));
  const Json input = ManagementPathInput("dev", {"10.100.0.0/16", "10.101.4.0/24"});
  const std::vector<std::string> routes = {"route-private-management-10-100-0-0-16",
                                           "route-private-management-10-101-4-0-24"};
  // Not before every private subnet has an id: an attachment takes them by id.
  const Rendered first = RunAttached(xr, input);
  EXPECT_TRUE(first.OfKind("TransitGatewayVPCAttachment").empty());
  Json observed =
      ObserveAll(first, [](const std::string& name) { return name != "subnet-private-b"; });
  EXPECT_TRUE(RunOk(Call{.xr = xr, .observed = observed, .input = input})
                  .OfKind("TransitGatewayVPCAttachment")
                  .empty());

  // Every private subnet observed: the attachment, but no route before it is ready.
  observed = ObserveAll(first);
  const Rendered attaching = RunOk(Call{.xr = xr, .observed = observed, .input = input});
  EXPECT_EQ(attaching.OfKind("TransitGatewayVPCAttachment"), Names({kAttachment}));
  EXPECT_EQ(attaching.Get(kAttachment, "apiVersion"), "ec2.aws.upbound.io/v1beta1");
  EXPECT_EQ(attaching.Get(kAttachment, "spec.forProvider.subnetIds"),
            Json({"id-subnet-private-a", "id-subnet-private-b"}));
  EXPECT_EQ(attaching.Get(kAttachment, "spec.forProvider.transitGatewayId"), kTransitGateway);
  EXPECT_EQ(attaching.TargetOf(kAttachment, "spec.forProvider.vpcIdSelector"), "vpc");
  EXPECT_EQ(attaching.Get(kAttachment, "spec.forProvider.region"), "eu-west-1");
  EXPECT_EQ(attaching.Get(kAttachment, "spec.forProvider.tags[Name]"), "payments-dev-management");
  EXPECT_EQ(attaching.Get(kAttachment, "spec.forProvider.tags[platform.terraforming.io/team]"),
            "payments");
  for (const std::string z : {"a", "b"}) {
    const std::string usage = "usage-subnet-private-" + z + "-by-" + kAttachment;
    EXPECT_EQ(Target(attaching.Get(usage, "spec.of.resourceSelector")), "subnet-private-" + z);
    EXPECT_EQ(Target(attaching.Get(usage, "spec.by.resourceSelector")), kAttachment);
  }
  for (const std::string& route : routes) EXPECT_FALSE(attaching.names().contains(route));
  observed[kAttachment] = Observe(attaching.Resource(kAttachment), "tgw-attach-0abc", "False");
  const Rendered pending = RunOk(Call{.xr = xr, .observed = observed, .input = input});
  for (const std::string& route : routes) EXPECT_FALSE(pending.names().contains(route));
  EXPECT_EQ(pending.Status("transitGatewayAttachmentId"), "tgw-attach-0abc");

  // Ready: each block routed from the private table to the transit gateway.
  observed[kAttachment] = Observe(attaching.Resource(kAttachment), "tgw-attach-0abc", "True");
  const Rendered routed = RunOk(Call{.xr = xr, .observed = observed, .input = input});
  for (const auto& [route, block] :
       {std::pair{routes[0], "10.100.0.0/16"}, std::pair{routes[1], "10.101.4.0/24"}}) {
    SCOPED_TRACE(route);
    EXPECT_EQ(routed.Get(route, "kind"), "Route");
    EXPECT_EQ(routed.TargetOf(route, "spec.forProvider.routeTableIdSelector"), "rt-private");
    EXPECT_EQ(routed.Get(route, "spec.forProvider.destinationCidrBlock"), block);
    EXPECT_EQ(routed.Get(route, "spec.forProvider.transitGatewayId"), kTransitGateway);
    EXPECT_TRUE(routed.Get(route, "spec.forProvider.tags").is_null());
  }
  EXPECT_GT(CheckWiring(routed), 0);

  // Once they exist they stay, whatever the attachment's state; and the
  // attachment keeps the subnets it was given while their ids are unknown.
  Json later = ObserveAll(routed);
  later[kAttachment] = Observe(routed.Resource(kAttachment), "tgw-attach-0abc", "False");
  later.erase("subnet-private-a");
  const Rendered kept = RunOk(Call{.xr = xr, .observed = later, .input = input});
  EXPECT_EQ(kept.names(), routed.names());
  EXPECT_EQ(kept.Get(kAttachment, "spec.forProvider.subnetIds"),
            Json({"id-subnet-private-a", "id-subnet-private-b"}));
}

TEST(XEnvironmentManagementPath, PerZoneNatRoutesFromEveryPrivateTable) {
  const Json xr = Xr(With(Params("test"), {{"natStrategy", "PerZone"}}));
  const Json input = ManagementPathInput("test", {"10.100.0.0/16"});
  Json observed = ObserveAll(RunAttached(xr, input));
  const Rendered attaching = RunOk(Call{.xr = xr, .observed = observed, .input = input});
  EXPECT_EQ(attaching.Get(kAttachment, "spec.forProvider.subnetIds"),
            Json({"id-subnet-private-a", "id-subnet-private-b", "id-subnet-private-c"}));
  observed[kAttachment] = Observe(attaching.Resource(kAttachment), "tgw-attach-0abc", "True");
  const Rendered r = RunOk(Call{.xr = xr, .observed = observed, .input = input});
  Names routes;
  for (const std::string& route : r.OfKind("Route")) {
    if (!r.Get(route, "spec.forProvider.transitGatewayId").is_null()) routes.insert(route);
  }
  EXPECT_EQ(routes, Names({"route-private-a-management-10-100-0-0-16",
                           "route-private-b-management-10-100-0-0-16",
                           "route-private-c-management-10-100-0-0-16"}));
  EXPECT_EQ(r.TargetOf("route-private-c-management-10-100-0-0-16",
                       "spec.forProvider.routeTableIdSelector"),
            "rt-private-c");
}

TEST(XEnvironmentManagementPath, NoneWithoutAPathInThePolicy) {
  const Json xr = Xr(Params("prod"));
  const Rendered r = RunOk(Call{.xr = xr, .observed = ObserveAll(RunAttached(xr))});
  EXPECT_TRUE(r.OfKind("TransitGatewayVPCAttachment").empty());
  EXPECT_TRUE(r.Status("transitGatewayAttachmentId").is_null());
  // The class's path is its own: another class's does not apply.
  const Rendered other = RunOk(Call{.xr = xr,
                                    .observed = ObserveAll(RunAttached(xr)),
                                    .input = ManagementPathInput("dev", {"10.100.0.0/16"})});
  EXPECT_TRUE(other.OfKind("TransitGatewayVPCAttachment").empty());
}

TEST(XEnvironmentManagementPath, AVpcOverlappingTheManagementNetworkIsRefused) {
  const pb::RunFunctionResponse rsp =
      RunProto(Call{.xr = Xr(With(Params("dev"), {{"vpcCidr", "10.100.0.0/18"}})),
                    .input = ManagementPathInput("dev", {"10.96.0.0/12"})});
  ASSERT_EQ(rsp.results_size(), 1) << rsp.DebugString();
  EXPECT_EQ(rsp.results(0).severity(), pb::SEVERITY_FATAL);
  EXPECT_EQ(rsp.results(0).message(),
            "spec.parameters.vpcCidr: 10.100.0.0/18 overlaps the management network 10.96.0.0/12 "
            "that the dev policy routes to the transit gateway (network.managementPath); choose "
            "a VPC block outside it");
  EXPECT_EQ(rsp.desired().resources_size(), 0);
}

// --- Flow logs ------------------------------------------------------------------------

TEST(XEnvironmentFlowLogs, ProdSendsThemToItsOwnLogGroup) {
  const Rendered r = RunAttached(ClaimXr(Params("prod"), "team-payments"));
  EXPECT_EQ(r.TargetOf("flowlog", "spec.forProvider.vpcIdSelector"), "vpc");
  EXPECT_EQ(r.Get("flowlog", "spec.forProvider.trafficType"), "ALL");
  EXPECT_EQ(r.Get("flowlog", "spec.forProvider.logDestinationType"), "cloud-watch-logs");
  EXPECT_EQ(r.Get("flowlog", "spec.forProvider.maxAggregationInterval"), 600);
  EXPECT_EQ(r.TargetOf("flowlog", "spec.forProvider.logDestinationSelector"), "flowlog-group");
  EXPECT_EQ(r.TargetOf("flowlog", "spec.forProvider.iamRoleArnSelector"), "flowlog-role");
  EXPECT_EQ(r.Get("flowlog-group", "apiVersion"), "cloudwatchlogs.aws.upbound.io/v1beta1");
  EXPECT_EQ(r.Get("flowlog-group", "spec.forProvider.retentionInDays"), 365);
  EXPECT_EQ(r.Get("flowlog-group", "metadata.annotations[crossplane.io/external-name]"),
            "/platform/vpc-flow-logs/payments-dev");
  // The role only VPC flow logs may assume, writing only to that group.
  const Json trust =
      Json::parse(r.Get("flowlog-role", "spec.forProvider.assumeRolePolicy").get<std::string>());
  EXPECT_EQ(At(trust, "Statement[0].Principal.Service"), "vpc-flow-logs.amazonaws.com");
  EXPECT_TRUE(r.Get("flowlog-role", "spec.forProvider.region").is_null());
  EXPECT_EQ(r.TargetOf("flowlog-role-policy", "spec.forProvider.roleSelector"), "flowlog-role");
  const Json policy =
      Json::parse(r.Get("flowlog-role-policy", "spec.forProvider.policy").get<std::string>());
  EXPECT_EQ(At(policy, "Statement[0].Resource"),
            Json({"arn:aws:logs:eu-west-1:*:log-group:/platform/vpc-flow-logs/payments-dev",
                  "arn:aws:logs:eu-west-1:*:log-group:/platform/vpc-flow-logs/payments-dev:*"}));
  EXPECT_EQ(r.Status("flowLogs.destination"), "CloudWatchLogs");
  EXPECT_GT(CheckWiring(r), 0);

  // A namespaced XR's group carries its namespace (names are unique only
  // there).
  const Rendered n = RunAttached(Xr(Params("prod"), "team-a"));
  EXPECT_EQ(n.Get("flowlog-group", "metadata.annotations[crossplane.io/external-name]"),
            "/platform/vpc-flow-logs/team-a/payments-dev");
  EXPECT_EQ(n.Get("flowlog-group", "apiVersion"), "cloudwatchlogs.aws.m.upbound.io/v1beta1");
}

TEST(XEnvironmentFlowLogs, OffByDefaultBelowProdAndOnWherePolicySays) {
  EXPECT_FALSE(RunOk(Xr(Params("dev"))).Has("flowlog"));
  const Rendered r =
      RunOk(Call{.xr = Xr(Params("dev")),
                 .input = PolicyInput({{"classes",
                                        {{"dev",
                                          {{"network",
                                            {{"flowLogs",
                                              {{"enabled", true},
                                               {"retentionDays", 14},
                                               {"trafficType", "REJECT"},
                                               {"maxAggregationInterval", 60}}}}}}}}}})});
  EXPECT_EQ(r.Get("flowlog-group", "spec.forProvider.retentionInDays"), 14);
  EXPECT_EQ(r.Get("flowlog", "spec.forProvider.trafficType"), "REJECT");
  EXPECT_EQ(r.Get("flowlog", "spec.forProvider.maxAggregationInterval"), 60);
}

TEST(XEnvironmentFlowLogs, ToACentralBucket) {
  const Rendered r = RunOk(Call{
      .xr = Xr(Params("prod")),
      .input = PolicyInput({{"classes",
                             {{"prod",
                               {{"network",
                                 {{"flowLogs",
                                   {{"destination", "S3"},
                                    {"s3BucketArn", "arn:aws:s3:::org-log-archive/vpc"}}}}}}}}}})});
  EXPECT_EQ(r.Get("flowlog", "spec.forProvider.logDestinationType"), "s3");
  EXPECT_EQ(r.Get("flowlog", "spec.forProvider.logDestination"),
            "arn:aws:s3:::org-log-archive/vpc");
  // No group or role: the bucket's own policy lets the delivery service in.
  EXPECT_FALSE(r.Has("flowlog-group"));
  EXPECT_FALSE(r.Has("flowlog-role"));
  EXPECT_TRUE(r.Get("flowlog", "spec.forProvider.iamRoleArnSelector").is_null());
}

}  // namespace
}  // namespace platform::fn::renderers
