#include "function/renderers/xenvironment.h"

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "function/policy/policy.h"
#include "function/renderers/events.h"
#include "function/renderers/nested.h"
#include "function/renderers/network/cidr.h"
#include "function/renderers/network/layout.h"
#include "function/renderers/network/zones.h"
#include "function/renderers/scope.h"
#include "function/renderers/subject.h"
#include "function/sdk/status_macros.h"
#include "function/sdk/strings.h"

namespace platform::fn::renderers {
namespace {

using network::Cidr;
using network::Tier;
using network::Zone;
using sdk::FieldError;
using sdk::JoinPath;
using sdk::Json;

// Per-class VPC blocks, kept apart so environments of different classes can
// be peered without renumbering.
struct ClassNetwork {
  std::string_view environment_class;
  std::string_view vpc_cidr;
};
constexpr ClassNetwork kClassNetworks[] = {
    {"dev", "10.10.0.0/16"},
    {"test", "10.20.0.0/16"},
    {"sandbox", "10.30.0.0/16"},
    {"prod", "10.0.0.0/16"},
};

std::string_view DefaultVpcCidr(std::string_view cls) {
  for (const ClassNetwork& c : kClassNetworks) {
    if (c.environment_class == cls) return c.vpc_cidr;
  }
  return kClassNetworks[0].vpc_cidr;
}

constexpr std::string_view kResourceLabel = "platform.terraforming.io/resource";
constexpr std::string_view kTierLabel = "platform.terraforming.io/tier";
constexpr std::string_view kZoneLabel = "platform.terraforming.io/zone";

// What the XR asks for, validated.
struct Params {
  policy::Subject subject;
  std::vector<Zone> zones;
  Cidr vpc = *Cidr::Parse("10.0.0.0/16");
  // Subnet blocks by tier, parallel to `zones`.
  std::vector<Cidr> subnets[3];
  std::string nat;  // None | Single | PerZone
  Json user_tags = Json::object();
  // Clusters and databases composed inside the environment.
  std::vector<NestedXr> clusters;
  std::vector<NestedXr> databases;
};

// The zones the XR asks for: `zones` (letters or full names) or `zoneCount`
// (the region's first N zones), never both.
absl::StatusOr<std::vector<Zone>> ReadZones(const sdk::Fields& params, const std::string& region,
                                            const policy::ClassLimits& limits) {
  const std::vector<std::string_view>& letters = network::ZoneLetters(region);
  if (letters.empty()) {
    return FieldError(JoinPath(params.path(), "region"),
                      sdk::Cat("unknown AWS region \"", region, "\"; known regions: ",
                               fmt::format("{}", fmt::join(network::KnownRegions(), ", "))));
  }
  PLATFORM_ASSIGN_OR_RETURN(std::vector<std::string> named, params.StringList("zones"));
  const bool has_count = params.Has("zoneCount");
  if (!named.empty() && has_count) {
    return FieldError(JoinPath(params.path(), "zoneCount"), "set zones or zoneCount, not both");
  }
  std::vector<Zone> zones;
  if (named.empty()) {
    const std::int64_t fallback =
        std::min<std::int64_t>({3, limits.max_zones, static_cast<std::int64_t>(letters.size())});
    PLATFORM_ASSIGN_OR_RETURN(std::int64_t count, params.Int("zoneCount", fallback));
    if (count < 1 || count > static_cast<std::int64_t>(letters.size())) {
      return FieldError(
          JoinPath(params.path(), "zoneCount"),
          sdk::Cat("must be between 1 and ", letters.size(), " (the zones of ", region, ")"));
    }
    for (std::int64_t i = 0; i < count; ++i) {
      zones.push_back(Zone{std::string(letters[static_cast<std::size_t>(i)]), static_cast<int>(i)});
    }
  } else {
    std::set<std::string> seen;
    for (std::size_t i = 0; i < named.size(); ++i) {
      std::string letter = named[i];
      // Accept "eu-west-1a" as well as "a".
      if (letter.size() == region.size() + 1 && letter.compare(0, region.size(), region) == 0) {
        letter = letter.substr(region.size());
      }
      const std::string path = sdk::Cat(JoinPath(params.path(), "zones"), "[", i, "]");
      auto it = std::find(letters.begin(), letters.end(), letter);
      if (it == letters.end()) {
        return FieldError(path, sdk::Cat("zone \"", named[i], "\" does not exist in ", region,
                                         "; it has ", fmt::format("{}", fmt::join(letters, ", "))));
      }
      if (!seen.insert(letter).second) {
        return FieldError(path, sdk::Cat("zone \"", letter, "\" is listed twice"));
      }
      zones.push_back(Zone{letter, static_cast<int>(it - letters.begin())});
    }
  }
  if (static_cast<int>(zones.size()) > limits.max_zones) {
    return policy::FieldViolation(
        JoinPath(params.path(), named.empty() ? "zoneCount" : "zones"),
        sdk::Cat(limits.environment_class, " environments may use at most ", limits.max_zones,
                 " zones, not ", zones.size()));
  }
  return zones;
}

// The smallest subnet AWS allows.
constexpr int kMaxSubnetPrefix = 28;

// Explicit subnet blocks of one tier, or the planned ones.
absl::Status ReadSubnets(const sdk::Fields& params, Params& p) {
  // The field each subnet came from; empty for a planned one.
  std::vector<std::string> origin[3];
  for (Tier tier : network::kTiers) {
    const std::string rel = sdk::Cat("subnets.", network::TierName(tier));
    PLATFORM_ASSIGN_OR_RETURN(std::vector<std::string> given, params.StringList(rel));
    std::vector<Cidr>& out = p.subnets[static_cast<int>(tier)];
    if (given.empty()) {
      // A zone's planned block is 1/16 (private) or 1/32 (public, database)
      // of the VPC's; a small VPC leaves blocks AWS does not allow.
      const int extra_bits = tier == Tier::kPrivate ? 4 : 5;
      if (p.vpc.prefix() + extra_bits > kMaxSubnetPrefix) {
        return FieldError(
            JoinPath(params.path(), "vpcCidr"),
            sdk::Cat(p.vpc.ToString(), " is too small to plan ", network::TierName(tier),
                     " subnets of at least /", kMaxSubnetPrefix, " in ", network::kZoneSlots,
                     " zone slots; use a /", kMaxSubnetPrefix - extra_bits,
                     " or larger block, or list ", JoinPath(params.path(), rel)));
      }
      for (const Zone& z : p.zones) {
        PLATFORM_ASSIGN_OR_RETURN(Cidr c, network::SubnetFor(p.vpc, tier, z.slot));
        out.push_back(c);
        origin[static_cast<int>(tier)].emplace_back();
      }
      continue;
    }
    if (given.size() != p.zones.size()) {
      return FieldError(
          JoinPath(params.path(), rel),
          sdk::Cat("must list one block per zone (", p.zones.size(), "), not ", given.size()));
    }
    for (std::size_t i = 0; i < given.size(); ++i) {
      const std::string path = sdk::Cat(JoinPath(params.path(), rel), "[", i, "]");
      absl::StatusOr<Cidr> c = Cidr::Parse(given[i]);
      if (!c.ok()) return FieldError(path, std::string(c.status().message()));
      if (!p.vpc.Contains(*c)) {
        return FieldError(
            path, sdk::Cat(c->ToString(), " is not inside the VPC block ", p.vpc.ToString()));
      }
      if (c->prefix() > kMaxSubnetPrefix) {
        return FieldError(path, sdk::Cat(c->ToString(), " is smaller than /", kMaxSubnetPrefix,
                                         ", the smallest subnet AWS allows"));
      }
      out.push_back(*c);
      origin[static_cast<int>(tier)].push_back(path);
    }
  }
  // No two subnets may overlap, explicit or planned. Planned ones never
  // overlap each other, so one of a pair is explicit: the error names its
  // field (the later one when both are).
  for (Tier a : network::kTiers) {
    for (std::size_t i = 0; i < p.zones.size(); ++i) {
      for (Tier b : network::kTiers) {
        for (std::size_t j = 0; j < p.zones.size(); ++j) {
          if (std::make_pair(static_cast<int>(a), i) >= std::make_pair(static_cast<int>(b), j)) {
            continue;
          }
          const Cidr& x = p.subnets[static_cast<int>(a)][i];
          const Cidr& y = p.subnets[static_cast<int>(b)][j];
          if (!x.Overlaps(y)) continue;
          const std::string& x_origin = origin[static_cast<int>(a)][i];
          const std::string& y_origin = origin[static_cast<int>(b)][j];
          const bool y_named = !y_origin.empty();
          // `at` is the subnet whose field the error names, `other` the one
          // it overlaps.
          const Tier at_tier = y_named ? b : a;
          const Tier other_tier = y_named ? a : b;
          const Cidr& at = y_named ? y : x;
          const Cidr& other = y_named ? x : y;
          const Zone& at_zone = p.zones[y_named ? j : i];
          const Zone& other_zone = p.zones[y_named ? i : j];
          const std::string& at_origin = y_named ? y_origin : x_origin;
          const std::string& other_origin = y_named ? x_origin : y_origin;
          return FieldError(
              at_origin.empty() ? JoinPath(params.path(), "subnets") : at_origin,
              sdk::Cat(
                  network::TierName(at_tier), " subnet ", at.ToString(), " (zone ", at_zone.letter,
                  ") overlaps ", network::TierName(other_tier), " subnet ", other.ToString(),
                  " (zone ", other_zone.letter, ", ",
                  other_origin.empty() ? std::string("planned from the VPC block") : other_origin,
                  ")"));
        }
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Params> ReadParams(const sdk::Fields& xr, const policy::Policies& policies) {
  Params p;
  PLATFORM_RETURN_IF_ERROR(ReadSubjectIdentity(xr, p.subject));

  PLATFORM_ASSIGN_OR_RETURN(sdk::Fields params, xr.Object("spec.parameters"));
  PLATFORM_RETURN_IF_ERROR(ReadSubjectParams(params, p.subject, p.user_tags));

  // Authorization first: a denied request learns nothing else.
  PLATFORM_RETURN_IF_ERROR(policies.Authorize(p.subject));
  const policy::ClassLimits& limits = policies.Limits(p.subject.environment_class);
  if (!limits.allowed_regions.empty() &&
      std::find(limits.allowed_regions.begin(), limits.allowed_regions.end(), p.subject.region) ==
          limits.allowed_regions.end()) {
    return policy::FieldViolation(
        JoinPath(params.path(), "region"),
        sdk::Cat(p.subject.environment_class, " environments may only use ",
                 fmt::format("{}", fmt::join(limits.allowed_regions, ", "))));
  }

  PLATFORM_ASSIGN_OR_RETURN(p.zones, ReadZones(params, p.subject.region, limits));

  PLATFORM_ASSIGN_OR_RETURN(std::string cidr,
                            params.String("vpcCidr", DefaultVpcCidr(p.subject.environment_class)));
  absl::StatusOr<Cidr> vpc = Cidr::Parse(cidr);
  if (!vpc.ok()) {
    return FieldError(JoinPath(params.path(), "vpcCidr"), std::string(vpc.status().message()));
  }
  if (vpc->prefix() < limits.min_vpc_prefix || vpc->prefix() > limits.max_vpc_prefix) {
    return policy::FieldViolation(
        JoinPath(params.path(), "vpcCidr"),
        sdk::Cat(p.subject.environment_class, " VPCs must be /", limits.min_vpc_prefix, " to /",
                 limits.max_vpc_prefix, ", not /", vpc->prefix()));
  }
  p.vpc = *vpc;
  PLATFORM_RETURN_IF_ERROR(ReadSubnets(params, p));

  PLATFORM_ASSIGN_OR_RETURN(p.nat, params.Enum("natStrategy", {"None", "Single", "PerZone"},
                                               limits.default_nat_strategy));
  if (std::find(limits.allowed_nat_strategies.begin(), limits.allowed_nat_strategies.end(),
                p.nat) == limits.allowed_nat_strategies.end()) {
    return policy::FieldViolation(
        JoinPath(params.path(), "natStrategy"),
        sdk::Cat(p.subject.environment_class, " environments may use NAT strategies ",
                 fmt::format("{}", fmt::join(limits.allowed_nat_strategies, ", ")), ", not ",
                 p.nat));
  }
  Parent parent;
  parent.scope = ScopeOf(xr);
  parent.subject = p.subject;
  parent.user_tags = p.user_tags;
  PLATFORM_ASSIGN_OR_RETURN(parent.claim_name,
                            xr.String("metadata.labels[crossplane.io/claim-name]", ""));
  PLATFORM_ASSIGN_OR_RETURN(p.clusters, ReadNestedXrs(params, kNestedClusters, parent));
  PLATFORM_ASSIGN_OR_RETURN(p.databases, ReadNestedXrs(params, kNestedDatabases, parent));
  return p;
}

// Builds the managed resources of one environment, all wired to each other
// through selectors on the platform's resource label, never through ids the
// user must copy.
class Composer {
 public:
  Composer(const Params& p, const Scope& scope, const sdk::Request& req, sdk::Response& rsp)
      : p_(p), scope_(scope), req_(req), rsp_(rsp) {}

  static Json Select(std::string_view resource) {
    return {{"matchControllerRef", true},
            {"matchLabels", {{std::string(kResourceLabel), std::string(resource)}}}};
  }

  // Adds one AWS managed resource. `cluster_version` is the storage version
  // of the cluster-scoped kind; namespaced kinds are all v1beta1.
  void Aws(const std::string& name, std::string_view service, std::string_view kind,
           Json for_provider, Json labels = Json::object(),
           std::string_view cluster_version = "v1beta1") {
    labels[std::string(kResourceLabel)] = name;
    for_provider["region"] = p_.subject.region;
    Json metadata = scope_.Metadata();
    metadata["labels"] = std::move(labels);
    Add(name, {{"apiVersion", scope_.namespaced ? scope_.AwsApiVersion(service)
                                                : scope_.AwsApiVersion(service, cluster_version)},
               {"kind", kind},
               {"metadata", std::move(metadata)},
               {"spec", {{"forProvider", std::move(for_provider)}}}});
  }

  // Deletion order: `of` is kept until `by` is gone.
  void Usage(std::string_view of_name, std::string_view of_service, std::string_view of_kind,
             std::string_view by_name, std::string_view by_service, std::string_view by_kind,
             std::string_view by_cluster_version = "v1beta1") {
    const std::string name = sdk::Cat("usage-", of_name, "-by-", by_name);
    Json metadata = scope_.Metadata();
    metadata["labels"] = {{std::string(kResourceLabel), name}};
    Add(name, {{"apiVersion", "protection.crossplane.io/v1beta1"},
               {"kind", scope_.namespaced ? "Usage" : "ClusterUsage"},
               {"metadata", std::move(metadata)},
               {"spec",
                {{"replayDeletion", true},
                 {"of",
                  {{"apiVersion", scope_.AwsApiVersion(of_service)},
                   {"kind", of_kind},
                   {"resourceSelector", Select(of_name)}}},
                 {"by",
                  {{"apiVersion", scope_.namespaced
                                      ? scope_.AwsApiVersion(by_service)
                                      : scope_.AwsApiVersion(by_service, by_cluster_version)},
                   {"kind", by_kind},
                   {"resourceSelector", Select(by_name)}}}}}});
  }

  // A platform XR composed inside the environment, and a usage that keeps
  // the VPC until it is gone (its nodes or instances hold network
  // interfaces in the environment's subnets).
  void Nested(const NestedXr& n) {
    Add(n.resource, n.object);
    const std::string name = sdk::Cat("usage-vpc-by-", n.resource);
    Json metadata = scope_.Metadata();
    metadata["labels"] = {{std::string(kResourceLabel), name}};
    Add(name, {{"apiVersion", "protection.crossplane.io/v1beta1"},
               {"kind", scope_.namespaced ? "Usage" : "ClusterUsage"},
               {"metadata", std::move(metadata)},
               {"spec",
                {{"replayDeletion", true},
                 {"of",
                  {{"apiVersion", scope_.AwsApiVersion("ec2")},
                   {"kind", "VPC"},
                   {"resourceSelector", Select("vpc")}}},
                 {"by",
                  {{"apiVersion", n.api_version},
                   {"kind", n.object.value("kind", "")},
                   {"resourceRef", {{"name", n.object_name}}}}}}}});
  }

  std::vector<std::string> NewNames() const { return new_; }

 private:
  void Add(const std::string& name, Json object) {
    const bool ready = req_.ObservedReady(name);
    if (req_.ObservedResource(name) == nullptr) new_.push_back(name);
    rsp_.SetDesired(name, std::move(object), ready ? pb::READY_TRUE : pb::READY_UNSPECIFIED);
  }

  const Params& p_;
  const Scope& scope_;
  const sdk::Request& req_;
  sdk::Response& rsp_;
  std::vector<std::string> new_;
};

std::string SubnetName(Tier tier, const Zone& z) {
  return sdk::Cat("subnet-", network::TierName(tier), "-", z.letter);
}

void Compose(const Params& p, const Scope& scope, const sdk::Request& req, sdk::Response& rsp,
             Composer& c) {
  (void)req;
  (void)rsp;
  const std::string& region = p.subject.region;
  c.Aws("vpc", "ec2", "VPC",
        {{"cidrBlock", p.vpc.ToString()},
         {"enableDnsSupport", true},
         {"enableDnsHostnames", true},
         {"tags", {{"Name", p.subject.xr_name}}}});
  c.Aws("igw", "ec2", "InternetGateway",
        {{"vpcIdSelector", Composer::Select("vpc")},
         {"tags", {{"Name", sdk::Cat(p.subject.xr_name, "-igw")}}}});

  // Subnets: one per tier per zone. Nothing gets a public IP by default, not
  // even in public subnets, which hold NAT gateways and load balancers.
  for (Tier tier : network::kTiers) {
    for (std::size_t i = 0; i < p.zones.size(); ++i) {
      const Zone& z = p.zones[i];
      const std::string name = SubnetName(tier, z);
      c.Aws(name, "ec2", "Subnet",
            {{"vpcIdSelector", Composer::Select("vpc")},
             {"cidrBlock", p.subnets[static_cast<int>(tier)][i].ToString()},
             {"availabilityZone", sdk::Cat(region, z.letter)},
             {"mapPublicIpOnLaunch", false},
             {"tags",
              {{"Name", sdk::Cat(p.subject.xr_name, "-", network::TierName(tier), "-", z.letter)},
               {"platform.terraforming.io/tier", network::TierName(tier)}}}},
            {{std::string(kTierLabel), network::TierName(tier)},
             {std::string(kZoneLabel), z.letter}});
      c.Usage("vpc", "ec2", "VPC", name, "ec2", "Subnet");
    }
  }

  // Public routing: one table, default route to the internet gateway.
  c.Aws("rt-public", "ec2", "RouteTable",
        {{"vpcIdSelector", Composer::Select("vpc")},
         {"tags", {{"Name", sdk::Cat(p.subject.xr_name, "-public")}}}},
        {{std::string(kTierLabel), "public"}});
  c.Aws("route-public-internet", "ec2", "Route",
        {{"routeTableIdSelector", Composer::Select("rt-public")},
         {"destinationCidrBlock", "0.0.0.0/0"},
         {"gatewayIdSelector", Composer::Select("igw")}},
        Json::object(), "v1beta2");
  c.Usage("igw", "ec2", "InternetGateway", "route-public-internet", "ec2", "Route", "v1beta2");
  for (const Zone& z : p.zones) {
    c.Aws(sdk::Cat("rta-public-", z.letter), "ec2", "RouteTableAssociation",
          {{"subnetIdSelector", Composer::Select(SubnetName(Tier::kPublic, z))},
           {"routeTableIdSelector", Composer::Select("rt-public")}});
  }

  // NAT gateways with their elastic IPs, in public subnets: one in the first
  // zone (Single) or one per zone (PerZone).
  std::vector<const Zone*> nat_zones;
  if (p.nat == "Single") nat_zones.push_back(&p.zones.front());
  if (p.nat == "PerZone") {
    for (const Zone& z : p.zones) nat_zones.push_back(&z);
  }
  for (const Zone* z : nat_zones) {
    const std::string eip = sdk::Cat("eip-nat-", z->letter);
    const std::string nat = sdk::Cat("nat-", z->letter);
    c.Aws(
        eip, "ec2", "EIP",
        {{"domain", "vpc"}, {"tags", {{"Name", sdk::Cat(p.subject.xr_name, "-nat-", z->letter)}}}},
        {{std::string(kZoneLabel), z->letter}});
    c.Aws(nat, "ec2", "NATGateway",
          {{"connectivityType", "public"},
           {"allocationIdSelector", Composer::Select(eip)},
           {"subnetIdSelector", Composer::Select(SubnetName(Tier::kPublic, *z))},
           {"tags", {{"Name", sdk::Cat(p.subject.xr_name, "-", z->letter)}}}},
          {{std::string(kZoneLabel), z->letter}});
    c.Usage(SubnetName(Tier::kPublic, *z), "ec2", "Subnet", nat, "ec2", "NATGateway");
    c.Usage(eip, "ec2", "EIP", nat, "ec2", "NATGateway");
  }

  // Private routing: its default route goes to a NAT gateway, never to the
  // internet gateway. PerZone keeps each zone's traffic in its zone.
  const bool per_zone = p.nat == "PerZone";
  for (const Zone& z : p.zones) {
    const std::string table = per_zone ? sdk::Cat("rt-private-", z.letter) : "rt-private";
    if (per_zone || &z == &p.zones.front()) {
      c.Aws(table, "ec2", "RouteTable",
            {{"vpcIdSelector", Composer::Select("vpc")},
             {"tags",
              {{"Name", per_zone ? sdk::Cat(p.subject.xr_name, "-private-", z.letter)
                                 : sdk::Cat(p.subject.xr_name, "-private")}}}},
            {{std::string(kTierLabel), "private"}});
      if (!nat_zones.empty()) {
        const std::string nat = sdk::Cat("nat-", per_zone ? z.letter : nat_zones.front()->letter);
        c.Aws(per_zone ? sdk::Cat("route-private-nat-", z.letter) : "route-private-nat", "ec2",
              "Route",
              {{"routeTableIdSelector", Composer::Select(table)},
               {"destinationCidrBlock", "0.0.0.0/0"},
               {"natGatewayIdSelector", Composer::Select(nat)}},
              Json::object(), "v1beta2");
      }
    }
    c.Aws(sdk::Cat("rta-private-", z.letter), "ec2", "RouteTableAssociation",
          {{"subnetIdSelector", Composer::Select(SubnetName(Tier::kPrivate, z))},
           {"routeTableIdSelector", Composer::Select(table)}});
  }

  // Database subnets: a table with no route out of the VPC at all.
  c.Aws("rt-database", "ec2", "RouteTable",
        {{"vpcIdSelector", Composer::Select("vpc")},
         {"tags", {{"Name", sdk::Cat(p.subject.xr_name, "-database")}}}},
        {{std::string(kTierLabel), "database"}});
  for (const Zone& z : p.zones) {
    c.Aws(sdk::Cat("rta-database-", z.letter), "ec2", "RouteTableAssociation",
          {{"subnetIdSelector", Composer::Select(SubnetName(Tier::kDatabase, z))},
           {"routeTableIdSelector", Composer::Select("rt-database")}});
  }

  // The baseline security group: members may talk to each other and out;
  // nothing may come in from anywhere else, least of all 0.0.0.0/0.
  c.Aws("sg-baseline", "ec2", "SecurityGroup",
        {{"vpcIdSelector", Composer::Select("vpc")},
         {"name", sdk::Cat(p.subject.xr_name, "-baseline")},
         {"description", "Baseline for workloads of this environment: no ingress from outside"},
         {"tags", {{"Name", sdk::Cat(p.subject.xr_name, "-baseline")}}}});
  c.Aws("sgr-baseline-self", "ec2", "SecurityGroupIngressRule",
        {{"securityGroupIdSelector", Composer::Select("sg-baseline")},
         {"referencedSecurityGroupIdSelector", Composer::Select("sg-baseline")},
         {"ipProtocol", "-1"},
         {"description", "Members of the baseline group"}});
  c.Aws("sgr-baseline-egress", "ec2", "SecurityGroupEgressRule",
        {{"securityGroupIdSelector", Composer::Select("sg-baseline")},
         {"cidrIpv4", "0.0.0.0/0"},
         {"ipProtocol", "-1"},
         {"description", "Outbound through the NAT gateways"}});
  c.Usage("vpc", "ec2", "VPC", "sg-baseline", "ec2", "SecurityGroup");

  // S3 through a gateway endpoint, so bucket traffic stays off the NAT.
  c.Aws("vpce-s3", "ec2", "VPCEndpoint",
        {{"vpcIdSelector", Composer::Select("vpc")},
         {"serviceName", sdk::Cat("com.amazonaws.", region, ".s3")},
         {"vpcEndpointType", "Gateway"},
         {"tags", {{"Name", sdk::Cat(p.subject.xr_name, "-s3")}}}},
        Json::object(), "v1beta2");
  (void)scope;

  for (const NestedXr& n : p.clusters) c.Nested(n);
  for (const NestedXr& n : p.databases) c.Nested(n);
}

// The id of an observed resource (status.atProvider.id), or "".
std::string ObservedId(const sdk::Request& req, std::string_view name) {
  const sdk::Observed* o = req.ObservedResource(name);
  if (o == nullptr) return "";
  const sdk::Fields f(o->object, sdk::Cat("observed.resources[", name, "]"));
  return f.String("status.atProvider.id", "").value_or("");
}

// Status as ids appear: what the nested XRs and app teams need.
absl::Status WriteStatus(const Params& p, const sdk::Request& req, sdk::Response& rsp) {
  // Only ids of resources still desired: after a change of NAT strategy the
  // observed state still holds the old NAT gateways and route tables until
  // Crossplane deletes them.
  auto set_if = [&](std::string_view path, std::string_view resource) -> absl::Status {
    if (rsp.Desired(resource) == nullptr) return absl::OkStatus();
    const std::string id = ObservedId(req, resource);
    if (id.empty()) return absl::OkStatus();
    return rsp.SetCompositeStatus(path, id);
  };
  PLATFORM_RETURN_IF_ERROR(set_if("vpcId", "vpc"));
  PLATFORM_RETURN_IF_ERROR(rsp.SetCompositeStatus("vpcCidr", p.vpc.ToString()));
  Json zones = Json::array();
  for (const Zone& z : p.zones) zones.push_back(sdk::Cat(p.subject.region, z.letter));
  PLATFORM_RETURN_IF_ERROR(rsp.SetCompositeStatus("availabilityZones", std::move(zones)));
  PLATFORM_RETURN_IF_ERROR(rsp.SetCompositeStatus("natStrategy", p.nat));
  PLATFORM_RETURN_IF_ERROR(set_if("internetGatewayId", "igw"));
  PLATFORM_RETURN_IF_ERROR(set_if("s3EndpointId", "vpce-s3"));
  PLATFORM_RETURN_IF_ERROR(set_if("securityGroupIds.baseline", "sg-baseline"));
  for (Tier tier : network::kTiers) {
    Json list = Json::array();
    for (std::size_t i = 0; i < p.zones.size(); ++i) {
      const Zone& z = p.zones[i];
      const std::string tier_name(network::TierName(tier));
      PLATFORM_RETURN_IF_ERROR(
          rsp.SetCompositeStatus(sdk::Cat("subnets.", tier_name, ".", z.letter, ".cidr"),
                                 p.subnets[static_cast<int>(tier)][i].ToString()));
      const std::string id = ObservedId(req, SubnetName(tier, z));
      if (id.empty()) continue;
      list.push_back(id);
      PLATFORM_RETURN_IF_ERROR(
          rsp.SetCompositeStatus(sdk::Cat("subnets.", tier_name, ".", z.letter, ".id"), id));
    }
    // The list only once it is whole: a cluster or database given the first
    // subnet that appears would be built in fewer zones than asked for.
    if (list.size() == p.zones.size()) {
      PLATFORM_RETURN_IF_ERROR(
          rsp.SetCompositeStatus(sdk::Cat(network::TierName(tier), "SubnetIds"), std::move(list)));
    }
  }
  for (const Zone& z : p.zones) {
    PLATFORM_RETURN_IF_ERROR(
        set_if(sdk::Cat("natGatewayIds.", z.letter), sdk::Cat("nat-", z.letter)));
    PLATFORM_RETURN_IF_ERROR(
        set_if(sdk::Cat("routeTableIds.private-", z.letter), sdk::Cat("rt-private-", z.letter)));
  }
  PLATFORM_RETURN_IF_ERROR(set_if("routeTableIds.public", "rt-public"));
  PLATFORM_RETURN_IF_ERROR(set_if("routeTableIds.private", "rt-private"));
  PLATFORM_RETURN_IF_ERROR(set_if("routeTableIds.database", "rt-database"));
  return absl::OkStatus();
}

}  // namespace

absl::Status XEnvironment::Render(const sdk::Request& req, sdk::Response& rsp) const {
  PLATFORM_ASSIGN_OR_RETURN(std::optional<policy::Policies> loaded,
                            policy::Policies::FromRequest(req, rsp));
  if (!loaded) return absl::OkStatus();  // Crossplane calls again with the EnvironmentConfig
  const policy::Policies& policies = *loaded;

  const sdk::Fields xr = req.Composite();
  PLATFORM_ASSIGN_OR_RETURN(Params p, ReadParams(xr, policies));
  const Scope scope = ScopeOf(xr);

  Composer composer(p, scope, req, rsp);
  Compose(p, scope, req, rsp, composer);

  // On every taggable kind (the security group rules too, which have no tags
  // of their own): user tags first, then the renderer's own (Name, tier) and
  // the platform's mandated tags on top.
  for (auto& [name, d] : rsp.mutable_desired()) {
    auto spec = d.object.find("spec");
    if (spec == d.object.end() || !spec->is_object()) continue;
    auto fp = spec->find("forProvider");
    if (fp == spec->end() || !fp->is_object()) continue;
    if (!policy::Policies::IsTaggableKind(d.object.value("kind", ""))) continue;
    Json merged = p.user_tags;
    if (auto own = fp->find("tags"); own != fp->end() && own->is_object()) merged.update(*own);
    if (!merged.empty()) (*fp)["tags"] = std::move(merged);
  }
  policies.ApplyMandatedTags(p.subject, rsp);

  PLATFORM_RETURN_IF_ERROR(WriteStatus(p, req, rsp));
  PLATFORM_RETURN_IF_ERROR(WriteNestedStatus(kNestedClusters, p.clusters, req, rsp));
  PLATFORM_RETURN_IF_ERROR(WriteNestedStatus(kNestedDatabases, p.databases, req, rsp));

  // Passing conditions too: Crossplane keeps a custom condition until it is
  // set again, so a denial that was fixed must be cleared explicitly.
  PLATFORM_RETURN_IF_ERROR(SetPolicyConditions(policies, rsp));
  // A changed NAT strategy or zone list leaves resources behind: say so.
  AnnounceDeleted(req, rsp);

  // Announce new resources once, when they are first asked for.
  const std::vector<std::string> fresh = composer.NewNames();
  if (!fresh.empty()) {
    rsp.Normal("ComposeResources",
               sdk::Cat("creating ", fresh.size(), " resources for the ",
                        p.subject.environment_class, " environment in ", p.subject.region, " (",
                        p.zones.size(), " zones, NAT ", p.nat, ")"));
  }
  return absl::OkStatus();
}

}  // namespace platform::fn::renderers
