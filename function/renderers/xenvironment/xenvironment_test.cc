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

// --- Expected names ---------------------------------------------------------------

const std::vector<std::string> kTiers = {"public", "private", "database"};

// The zones that get a NAT gateway.
std::vector<std::string> NatZones(const std::vector<std::string>& zones, const std::string& nat) {
  if (nat == "Single") return {zones.front()};
  if (nat == "PerZone") return zones;
  return {};
}

// Every composition resource name of an environment in `zones` with `nat`,
// as docs/xenvironment.md lists them.
Names ExpectedNames(const std::vector<std::string>& zones, const std::string& nat) {
  Names n = {"vpc",
             "igw",
             "vpce-s3",
             "rt-public",
             "route-public-internet",
             "usage-igw-by-route-public-internet",
             "rt-database",
             "sg-baseline",
             "sgr-baseline-self",
             "sgr-baseline-egress",
             "usage-vpc-by-sg-baseline"};
  for (const std::string& z : zones) {
    for (const std::string& tier : kTiers) {
      n.insert(sdk::Cat("subnet-", tier, "-", z));
      n.insert(sdk::Cat("usage-vpc-by-subnet-", tier, "-", z));
      n.insert(sdk::Cat("rta-", tier, "-", z));
    }
    if (nat == "PerZone") {
      n.insert("rt-private-" + z);
      n.insert("route-private-nat-" + z);
    }
  }
  if (nat != "PerZone") n.insert("rt-private");
  if (nat == "Single") n.insert("route-private-nat");
  for (const std::string& z : NatZones(zones, nat)) {
    n.insert("eip-nat-" + z);
    n.insert("nat-" + z);
    n.insert(sdk::Cat("usage-subnet-public-", z, "-by-nat-", z));
    n.insert(sdk::Cat("usage-eip-nat-", z, "-by-nat-", z));
  }
  return n;
}

// The kind a composition resource name stands for.
std::string KindByName(const std::string& name, bool namespaced) {
  static const std::vector<std::pair<std::string, std::string>> kPrefixes = {
      {"vpce-", "VPCEndpoint"},
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

  // Only the public route (and the Usage that protects the gateway for it)
  // refers to the internet gateway.
  for (const auto& [name, object] : r.resources()) {
    std::vector<SelectorAt> selectors;
    FindSelectors(object, "", selectors);
    for (const SelectorAt& s : selectors) {
      if (Target(*s.selector) != "igw") continue;
      EXPECT_TRUE(name == "route-public-internet" || name == "usage-igw-by-route-public-internet")
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
  const Rendered r = RunOk(Xr(c.params));
  const std::string region = c.params["region"].get<std::string>();

  EXPECT_EQ(r.names(), ExpectedNames(c.zones, c.nat));
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

TEST(XEnvironmentNames, ProdHasTheFiftySixResourcesOfTheDocs) {
  const Rendered r = RunOk(Xr(Params("prod")));
  EXPECT_EQ(r.names().size(), 56u);
  EXPECT_EQ(r.OfKind("ClusterUsage").size(), 17u);
  EXPECT_EQ(r.OfKind("Subnet").size(), 9u);
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
    const Rendered two = RunOk(Xr(With(base, {{"zones", {"a", "b"}}})));
    const Rendered three = RunOk(Xr(With(base, {{"zones", {"a", "b", "c"}}})));
    EXPECT_THAT(two.names(), IsSubsetOf(three.names()));
    EXPECT_EQ(three.names(), ExpectedNames({"a", "b", "c"}, nat));
    // What was there is unchanged: no subnet is renumbered, no route moves.
    for (const auto& [name, object] : two.resources()) {
      EXPECT_EQ(object, three.Resource(name)) << name;
    }
    // zoneCount 2 -> 3 is the same change.
    const Rendered counted = RunOk(Xr(With(base, {{"zoneCount", 2}})));
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
                 {"ca-central-1a", "ca-central-1b", "ca-central-1d"}}),
    CaseName<ZoneCase>);

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
      Invalid("UnknownRegion", With(dev, {{"region", "mars-north-1"}}),
              "spec.parameters.region: unknown AWS region \"mars-north-1\"; known regions: " +
                  KnownRegions()),

      // Policies: limits of the class.
      Violation("DevZoneCountAboveTheLimit", With(dev, {{"zoneCount", 3}}),
                "spec.parameters.zoneCount: dev environments may use at most 2 zones, not 3"),
      Violation("SandboxZonesAboveTheLimit", With(Params("sandbox"), {{"zones", {"a", "b", "c"}}}),
                "spec.parameters.zones: sandbox environments may use at most 2 zones, not 3"),
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
       "classes, authorization, accounts",
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
              "spec.parameters.tags: 45 tags here, 4 mandated by the platform and 2 of its own "
              "make 51 on Subnet subnet-database-a; AWS allows 50 per resource, so at most 44 "
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
  const Rendered r = RunOk(c.xr);
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
    EXPECT_EQ(object["apiVersion"],
              namespaced ? "ec2.aws.m.upbound.io/v1beta1"
                         : (v1beta2 ? "ec2.aws.upbound.io/v1beta2" : "ec2.aws.upbound.io/v1beta1"));
    EXPECT_EQ(At(object, "spec.forProvider.region"), region);
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
  const Rendered r = RunOk(ClaimXr(Params("prod"), "team-payments"));
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
  const Rendered r = RunOk(Xr(Params("prod"), "team-payments"));
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
  const Rendered r =
      RunOk(Call{.xr = Xr(params), .input = PolicyInput({{"tags", {{"department", "finance"}}}})});
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
  EXPECT_EQ(dev.names().size(), 35u);
  EXPECT_EQ(dev.proto().results_size(), 1);
  EXPECT_EQ(dev.proto().results(0).reason(), "ComposeResources");

  const Rendered prod = RunOk(Xr(Params("prod")));
  EXPECT_THAT(prod.Results(pb::SEVERITY_NORMAL),
              ElementsAre(Creating(56, "prod", "eu-west-1", 3, "PerZone")));

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
  const Rendered first = RunOk(xr);
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
  const Rendered r = RunOk(Call{.xr = xr, .observed = ObserveAll(RunOk(xr))});
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

TEST(XEnvironmentObserved, PartlyObserved) {
  const Json xr = Xr(Params("dev"));
  const Rendered first = RunOk(xr);
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
  const Rendered before = RunOk(two);
  const Rendered after = RunOk(Call{.xr = three, .observed = ObserveAll(before)});
  const std::size_t added = after.names().size() - before.names().size();
  EXPECT_EQ(added, 15u);  // 3 subnets, 3 usages, 3 associations, EIP, NAT, 2 usages, table, route
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
  const Rendered r = RunOk(Call{.xr = single, .observed = ObserveAll(RunOk(per_zone))});
  EXPECT_EQ(r.names(), ExpectedNames({"a", "b", "c"}, "Single"));
  EXPECT_EQ(r.Status("natGatewayIds"), Json({{"a", "id-nat-a"}}));
  EXPECT_EQ(r.Status("routeTableIds"),
            Json({{"public", "id-rt-public"}, {"database", "id-rt-database"}}));
  EXPECT_EQ(r.Status("natStrategy"), "Single");
  // The per-zone NAT gateways, tables and routes go (and are named); the
  // shared table and its route are new.
  EXPECT_THAT(r.Results(pb::SEVERITY_NORMAL),
              ElementsAre("deleting 14 resources no longer asked for: eip-nat-b, eip-nat-c, "
                          "nat-b, nat-c, route-private-nat-a, route-private-nat-b, "
                          "route-private-nat-c, rt-private-a, rt-private-b, rt-private-c, "
                          "usage-eip-nat-b-by-nat-b, usage-eip-nat-c-by-nat-c, "
                          "usage-subnet-public-b-by-nat-b, usage-subnet-public-c-by-nat-c",
                          Creating(2, "test", "eu-west-1", 3, "Single")));
}

TEST(XEnvironmentObserved, ObservedStateNeverLeaksIntoDesired) {
  const Json xr = Xr(Params("dev"), "team-payments");
  const Rendered first = RunOk(xr);
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
  EXPECT_EQ(r.names(), ExpectedNames({"a"}, "Single"));
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
  EXPECT_EQ(r.names(), ExpectedNames({"a", "b", "c"}, "PerZone"));
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
  env["status"] = {{"vpcId", "vpc-0env"},
                   {"vpcCidr", "10.10.0.0/16"},
                   {"availabilityZones", {"eu-west-1a", "eu-west-1b"}},
                   {"privateSubnetIds", {"subnet-0p1", "subnet-0p2"}},
                   {"publicSubnetIds", {"subnet-0u1", "subnet-0u2"}},
                   {"databaseSubnetIds", {"subnet-0db1", "subnet-0db2"}},
                   {"securityGroupIds", {{"baseline", "sg-0baseline"}}}};
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
  const Rendered env = RunOk(Call{.xr = env_xr, .input = AccountInput()});
  EXPECT_EQ(env.Get("vpc", "spec.providerConfigRef"), Json({{"name", "payments"}}));
  const Json required = {{"network-environment", {ComposingEnvironment(env_xr)}}};

  // A Cluster API cluster: its control plane takes the account's identity.
  const Rendered capi = RunOk(Call{.xr = AsComposed(env.Resource("xcluster-apps")),
                                   .input = AccountInput(),
                                   .required = required});
  EXPECT_EQ(capi.Get("controlplane", "spec.identityRef"),
            Json({{"kind", "AWSClusterRoleIdentity"}, {"name", "payments"}}));

  // An EKS cluster of managed resources, and a database: the account's
  // ProviderConfig on each of their managed resources.
  for (const std::string nested : {"xcluster-eks", "xdatabase-orders"}) {
    SCOPED_TRACE(nested);
    const Rendered r = RunOk(Call{
        .xr = AsComposed(env.Resource(nested)), .input = AccountInput(), .required = required});
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

}  // namespace
}  // namespace platform::fn::renderers
