#include "function/renderers/xenvironment/xenvironment.h"

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "function/compose/aws_resources.h"
#include "function/compose/object.h"
#include "function/compose/usage.h"
#include "function/network/cidr.h"
#include "function/network/layout.h"
#include "function/network/zones.h"
#include "function/policy/policy.h"
#include "function/renderers/xcluster/params.h"
#include "function/renderers/xenvironment/nested.h"
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
  // The names the nested clusters' Kubernetes clusters go by in AWS, for the
  // subnet tags CAPA and the cloud provider look for.
  std::vector<std::string> kubernetes_clusters;
  // Gateway endpoints and flow logs, from the class's policy.
  policy::NetworkPolicy network;
};

// The zones `zoneCount` takes from: the letters the policy says the
// platform's account sees in the region, else every letter of the region.
// Refused where accounts see different letters and the policy says none.
absl::StatusOr<std::vector<std::string_view>> CountableLetters(
    const sdk::Fields& params, const network::RegionZones& region,
    const std::vector<std::string>* account_zones, bool has_count) {
  if (account_zones != nullptr) {
    return std::vector<std::string_view>(account_zones->begin(), account_zones->end());
  }
  if (!region.letters_vary) return region.letters;
  const std::string seen = sdk::Cat("each account sees a different ", region.zones_per_account,
                                    " of the zones ", sdk::JoinList(region.letters));
  const std::string instead = sdk::Cat(
      JoinPath(params.path(), "zoneIds"), " (", sdk::JoinList(region.zone_ids),
      "), or ask the platform team to set regionZones for ", region.region, " in the policy");
  if (has_count) {
    return FieldError(
        JoinPath(params.path(), "zoneCount"),
        sdk::Cat(seen, " of ", region.region, ", so zoneCount cannot pick them; list ",
                 JoinPath(params.path(), "zones"), " (the letters this account sees) or ",
                 instead));
  }
  return FieldError(JoinPath(params.path(), "zones"),
                    sdk::Cat("required in ", region.region, ", where ", seen,
                             ": list the letters this account sees, or set ", instead));
}

// The zones the XR asks for: `zones` (letters or full names), `zoneIds` (AZ
// IDs) or `zoneCount` (the first N letters the account sees), one of them.
// A letter takes the slot of its position in the region's table, an AZ ID
// that of its number. The region is a known one (the platform contract
// checks it).
absl::StatusOr<std::vector<Zone>> ReadZones(const sdk::Fields& params, const std::string& region,
                                            const policy::Policies& policies,
                                            const policy::ClassLimits& limits) {
  const network::RegionZones* table = network::FindRegion(region);
  if (table == nullptr) {
    return FieldError(JoinPath(params.path(), "region"),
                      sdk::Cat("unknown AWS region \"", region, "\""));
  }
  const std::vector<std::string>* account_zones = policies.AccountZones(region);
  PLATFORM_ASSIGN_OR_RETURN(std::vector<std::string> named, params.StringList("zones"));
  PLATFORM_ASSIGN_OR_RETURN(std::vector<std::string> ids, params.StringList("zoneIds"));
  const bool has_count = params.Has("zoneCount");
  const std::string zones_path = JoinPath(params.path(), "zones");
  const std::string ids_path = JoinPath(params.path(), "zoneIds");
  const std::string count_path = JoinPath(params.path(), "zoneCount");
  if (!named.empty() && !ids.empty()) return FieldError(ids_path, "set zones or zoneIds, not both");
  if (!named.empty() && has_count) {
    return FieldError(count_path, "set zones or zoneCount, not both");
  }
  if (!ids.empty() && has_count) {
    return FieldError(count_path, "set zoneIds or zoneCount, not both");
  }
  std::vector<Zone> zones;
  std::string used = count_path;
  if (!ids.empty()) {
    used = ids_path;
    std::set<std::string> seen;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const std::string path = sdk::Cat(ids_path, "[", i, "]");
      if (!table->HasZoneId(ids[i])) {
        return FieldError(path, sdk::Cat("zone ID \"", ids[i], "\" does not exist in ", region,
                                         "; it has ", sdk::JoinList(table->zone_ids)));
      }
      if (!seen.insert(ids[i]).second) {
        return FieldError(path, sdk::Cat("zone ID \"", ids[i], "\" is listed twice"));
      }
      // The table's AZ IDs all have one (network_test.cc).
      const int slot = network::ZoneIdSlot(ids[i]);
      if (slot < 0 || slot >= network::kZoneSlots) {
        return FieldError(path, sdk::Cat("zone ID \"", ids[i], "\" has no slot in the address",
                                         " plan (az1 to az", network::kZoneSlots, ")"));
      }
      zones.push_back(Zone::Id(ids[i], slot));
    }
  } else if (!named.empty()) {
    used = zones_path;
    std::set<std::string> seen;
    for (std::size_t i = 0; i < named.size(); ++i) {
      std::string letter = named[i];
      // Accept "eu-west-1a" as well as "a".
      if (letter.size() == region.size() + 1 && letter.compare(0, region.size(), region) == 0) {
        letter = letter.substr(region.size());
      }
      const std::string path = sdk::Cat(zones_path, "[", i, "]");
      const int slot = table->LetterSlot(letter);
      if (slot < 0) {
        return FieldError(path, sdk::Cat("zone \"", named[i], "\" does not exist in ", region,
                                         "; it has ", sdk::JoinList(table->letters)));
      }
      if (account_zones != nullptr &&
          std::find(account_zones->begin(), account_zones->end(), letter) == account_zones->end()) {
        return FieldError(
            path,
            sdk::Cat("zone \"", named[i], "\" is not one this platform's account sees in ", region,
                     "; it sees ", sdk::JoinList(*account_zones), " (the policy's regionZones)"));
      }
      if (!seen.insert(letter).second) {
        return FieldError(path, sdk::Cat("zone \"", letter, "\" is listed twice"));
      }
      zones.push_back(Zone::Letter(letter, slot));
    }
    if (static_cast<int>(zones.size()) > table->zones_per_account) {
      return FieldError(zones_path, sdk::Cat("an account sees ", table->zones_per_account,
                                             " zones of ", region, ", not ", zones.size()));
    }
  } else {
    PLATFORM_ASSIGN_OR_RETURN(std::vector<std::string_view> letters,
                              CountableLetters(params, *table, account_zones, has_count));
    const std::int64_t fallback =
        std::min<std::int64_t>({3, limits.max_zones, static_cast<std::int64_t>(letters.size())});
    PLATFORM_ASSIGN_OR_RETURN(std::int64_t count, params.Int("zoneCount", fallback));
    if (count < 1 || count > static_cast<std::int64_t>(letters.size())) {
      return FieldError(count_path,
                        sdk::Cat("must be between 1 and ", letters.size(),
                                 account_zones == nullptr
                                     ? sdk::Cat(" (the zones of ", region, ")")
                                     : sdk::Cat(" (the zones this platform's account sees in ",
                                                region, ": ", sdk::JoinList(letters), ")")));
    }
    for (std::int64_t i = 0; i < count; ++i) {
      const std::string_view letter = letters[static_cast<std::size_t>(i)];
      zones.push_back(Zone::Letter(std::string(letter), table->LetterSlot(letter)));
    }
  }
  if (static_cast<int>(zones.size()) > limits.max_zones) {
    return policy::FieldViolation(
        used, sdk::Cat(limits.environment_class, " environments may use at most ", limits.max_zones,
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
                  network::TierName(at_tier), " subnet ", at.ToString(), " (zone ", at_zone.name,
                  ") overlaps ", network::TierName(other_tier), " subnet ", other.ToString(),
                  " (zone ", other_zone.name, ", ",
                  other_origin.empty() ? std::string("planned from the VPC block") : other_origin,
                  ")"));
        }
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Params> ReadParams(const compose::Xr& xr) {
  Params p;
  p.subject = xr.subject;
  p.user_tags = xr.user_tags;
  const sdk::Fields& params = xr.params;
  const policy::ClassLimits& limits = *xr.limits;

  PLATFORM_ASSIGN_OR_RETURN(p.zones, ReadZones(params, p.subject.region, *xr.policies, limits));

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
  parent.scope = xr.scope;
  parent.subject = p.subject;
  parent.user_tags = p.user_tags;
  PLATFORM_ASSIGN_OR_RETURN(parent.claim_name,
                            xr.fields.String("metadata.labels[crossplane.io/claim-name]", ""));
  PLATFORM_ASSIGN_OR_RETURN(p.clusters, ReadNestedXrs(params, kNestedClusters, parent));
  PLATFORM_ASSIGN_OR_RETURN(p.databases, ReadNestedXrs(params, kNestedDatabases, parent));
  // EKS and RDS subnet groups span at least two zones: a cluster or database
  // in a one-zone network would wait forever.
  if (p.zones.size() < 2 && (!p.clusters.empty() || !p.databases.empty())) {
    const std::string_view nested = p.clusters.empty() ? "databases" : "clusters";
    std::string zones_field = "zoneCount";
    for (std::string_view f : {"zones", "zoneIds"}) {
      if (params.Has(f)) zones_field = std::string(f);
    }
    return FieldError(JoinPath(params.path(), nested),
                      sdk::Cat(nested,
                               " need subnets in at least two zones (EKS clusters and RDS "
                               "subnet groups span two); this environment has ",
                               p.zones.size(), " (", JoinPath(params.path(), zones_field), ")"));
  }
  for (const NestedXr& n : p.clusters) {
    const sdk::Fields entry(n.object, "nested");
    const std::string provisioner =
        entry.String("spec.parameters.provisioner", "CAPI").value_or("CAPI");
    const std::string flavor = entry.String("spec.parameters.flavor", "EKS").value_or("EKS");
    const xcluster::Provisioner kind = provisioner == "AWS"  ? xcluster::Provisioner::kAws
                                       : flavor == "Kubeadm" ? xcluster::Provisioner::kCapiKubeadm
                                                             : xcluster::Provisioner::kCapiEks;
    p.kubernetes_clusters.push_back(xcluster::KubernetesClusterName(xr.scope, n.object_name, kind));
  }
  p.network = limits.network;
  // The private subnets route the management blocks to the transit
  // gateway; a block inside the VPC would never leave it.
  for (const std::string& block : p.network.management_path.cidrs) {
    const absl::StatusOr<Cidr> m = Cidr::Parse(block);
    if (m.ok() && m->Overlaps(p.vpc)) {
      return FieldError(
          JoinPath(params.path(), "vpcCidr"),
          sdk::Cat(p.vpc.ToString(), " overlaps the management network ", block, " that the ",
                   p.subject.environment_class,
                   " policy routes to the transit gateway (network.managementPath); choose a "
                   "VPC block outside it"));
    }
  }
  return p;
}

// The AWS provider's kinds an environment composes: cluster-scoped kinds at
// their storage version, every namespaced kind at v1beta1.
using Kind = compose::AwsKind;
constexpr Kind kVpc{"ec2", "VPC", "v1beta1"};
constexpr Kind kInternetGateway{"ec2", "InternetGateway", "v1beta1"};
constexpr Kind kSubnet{"ec2", "Subnet", "v1beta1"};
constexpr Kind kRouteTable{"ec2", "RouteTable", "v1beta1"};
constexpr Kind kRoute{"ec2", "Route", "v1beta2"};
constexpr Kind kRouteTableAssociation{"ec2", "RouteTableAssociation", "v1beta1"};
constexpr Kind kEip{"ec2", "EIP", "v1beta1"};
constexpr Kind kNatGateway{"ec2", "NATGateway", "v1beta1"};
constexpr Kind kSecurityGroup{"ec2", "SecurityGroup", "v1beta1"};
constexpr Kind kIngressRule{"ec2", "SecurityGroupIngressRule", "v1beta1"};
constexpr Kind kEgressRule{"ec2", "SecurityGroupEgressRule", "v1beta1"};
constexpr Kind kVpcEndpoint{"ec2", "VPCEndpoint", "v1beta2"};
constexpr Kind kVpcEndpointRouteTableAssociation{"ec2", "VPCEndpointRouteTableAssociation",
                                                 "v1beta1"};
constexpr Kind kDefaultSecurityGroup{"ec2", "DefaultSecurityGroup", "v1beta1"};
constexpr Kind kFlowLog{"ec2", "FlowLog", "v1beta1"};
constexpr Kind kLogGroup{"cloudwatchlogs", "Group", "v1beta1"};
constexpr Kind kRole{"iam", "Role", "v1beta1"};
constexpr Kind kTransitGatewayVpcAttachment{"ec2", "TransitGatewayVPCAttachment", "v1beta1"};

constexpr std::string_view kManagementAttachment = "tgw-attachment-management";
constexpr Kind kRolePolicy{"iam", "RolePolicy", "v1beta1"};

// The subnet tags the AWS load balancer controller and the cloud provider
// select subnets by, and the tag of each cluster that uses a subnet.
constexpr std::string_view kPublicElbTag = "kubernetes.io/role/elb";
constexpr std::string_view kInternalElbTag = "kubernetes.io/role/internal-elb";
constexpr std::string_view kClusterTagPrefix = "kubernetes.io/cluster/";

// Builds the managed resources of one environment, all wired to each other
// through selectors on the platform's resource label, never through ids the
// user must copy. Tags: the XR's, under each resource's own (Name, tier);
// the platform contract puts the mandated ones on top.
class Resources : public compose::AwsResources {
 public:
  Resources(const Params& p, const compose::Scope& scope, compose::Composer& c)
      : compose::AwsResources(scope, p.subject.region, p.user_tags, c) {}

  // A platform XR composed inside the environment, and a usage that keeps
  // the VPC until it is gone (its nodes or instances hold network
  // interfaces in the environment's subnets).
  void Nested(const NestedXr& n) {
    c_.Add(n.resource, n.object, compose::ReadyCondition);
    const std::string name = compose::UsageResource("vpc", n.resource);
    Json metadata = scope_.Metadata();
    metadata["labels"] = {{std::string(compose::kResourceLabel), name}};
    c_.Add(name,
           compose::Usage(
               scope_.namespaced, std::move(metadata),
               compose::UsageEndBySelector(ApiVersion(kVpc), kVpc.kind, "vpc"),
               compose::UsageEndByName(n.api_version, n.object.value("kind", ""), n.object_name)),
           compose::ReadyCondition);
  }
};

std::string SubnetName(Tier tier, const Zone& z) {
  return sdk::Cat("subnet-", network::TierName(tier), "-", z.Key());
}

// The private route tables: one, or one per zone for PerZone NAT.
std::vector<std::string> PrivateRouteTables(const Params& p) {
  std::vector<std::string> tables;
  if (p.nat == "PerZone") {
    for (const Zone& z : p.zones) tables.push_back(sdk::Cat("rt-private-", z.Key()));
  } else {
    tables.emplace_back("rt-private");
  }
  return tables;
}

// The private and database route tables: where gateway endpoints are
// associated.
std::vector<std::string> InnerRouteTables(const Params& p) {
  std::vector<std::string> tables = PrivateRouteTables(p);
  tables.emplace_back("rt-database");
  return tables;
}

std::string EndpointResource(std::string_view service) { return sdk::Cat("vpce-", service); }
std::string EndpointAssociationResource(std::string_view service, std::string_view table) {
  return sdk::Cat("vpce-", service, "-", table);
}

// Gateway endpoints (S3 always by default, DynamoDB where the class asks),
// each associated with every private and database route table, so that
// traffic to the service never crosses a NAT gateway and reaches it even
// without one.
void ComposeGatewayEndpoints(const Params& p, Resources& c) {
  const std::vector<std::string> tables = InnerRouteTables(p);
  for (const std::string& service : p.network.gateway_endpoints) {
    const std::string endpoint = EndpointResource(service);
    c.Add(endpoint, kVpcEndpoint,
          {{"vpcIdSelector", Resources::Select("vpc")},
           {"serviceName", sdk::Cat("com.amazonaws.", p.subject.region, ".", service)},
           {"vpcEndpointType", "Gateway"},
           {"tags", {{"Name", sdk::Cat(p.subject.xr_name, "-", service)}}}});
    for (const std::string& table : tables) {
      c.Add(EndpointAssociationResource(service, table), kVpcEndpointRouteTableAssociation,
            {{"vpcEndpointIdSelector", Resources::Select(endpoint)},
             {"routeTableIdSelector", Resources::Select(table)}});
    }
  }
}

// route-private-a-management-10-100-0-0-16: one per private table and block.
std::string ManagementRouteResource(std::string_view table, std::string_view cidr) {
  std::string block(cidr);
  std::replace(block.begin(), block.end(), '.', '-');
  std::replace(block.begin(), block.end(), '/', '-');
  return sdk::Cat("route-", table.substr(3), "-management-", block);
}

// A string of an observed resource's status.atProvider, or "".
std::string Observed(const sdk::Request& req, std::string_view name, std::string_view field) {
  const sdk::Observed* o = req.ObservedResource(name);
  if (o == nullptr) return "";
  const sdk::Fields f(o->object, sdk::Cat("observed.resources[", name, "]"));
  return f.String(sdk::Cat("status.atProvider.", field), "").value_or("");
}

// The id of an observed resource (status.atProvider.id), or "".
std::string ObservedId(const sdk::Request& req, std::string_view name) {
  return Observed(req, name, "id");
}

// The management path of the class's policy: the VPC attached to the
// platform's transit gateway in its private subnets (one per zone, as an
// attachment takes), and each management block routed there from every
// private route table, so that Cluster API and CAPA in the management
// cluster reach the private API endpoints of the clusters in it.
void ComposeManagementPath(const Params& p, const sdk::Request& req, Resources& c) {
  const policy::ManagementPath& path = p.network.management_path;
  if (!path.configured()) return;
  // The attachment names its subnets by id, once every private subnet has
  // one: attached to some zones only, the others' clusters would be out of
  // reach. Once observed it stays, with the subnets it was given until
  // every zone's id is known again (a new zone joins then).
  Json subnets = Json::array();
  for (const Zone& z : p.zones) {
    const std::string id = ObservedId(req, SubnetName(Tier::kPrivate, z));
    if (id.empty()) {
      subnets = nullptr;
      break;
    }
    subnets.push_back(id);
  }
  if (subnets.is_null()) {
    const sdk::Observed* attachment = req.ObservedResource(kManagementAttachment);
    if (attachment == nullptr) return;
    subnets = sdk::Fields(attachment->object)
                  .StringList("spec.forProvider.subnetIds")
                  .value_or(std::vector<std::string>());
  }
  c.Add(kManagementAttachment, kTransitGatewayVpcAttachment,
        {{"vpcIdSelector", Resources::Select("vpc")},
         {"subnetIds", std::move(subnets)},
         {"transitGatewayId", path.transit_gateway_id},
         {"tags", {{"Name", sdk::Cat(p.subject.xr_name, "-management")}}}});
  // Its network interfaces sit in the private subnets, which AWS does not
  // delete before it.
  for (const Zone& z : p.zones) {
    c.Use(SubnetName(Tier::kPrivate, z), kSubnet, kManagementAttachment,
          kTransitGatewayVpcAttachment);
  }
  // AWS refuses a route to a transit gateway the VPC is not attached to
  // yet: the routes wait for the attachment to be ready, and stay once
  // observed.
  const bool attached = req.ObservedReady(kManagementAttachment);
  for (const std::string& table : PrivateRouteTables(p)) {
    for (const std::string& block : path.cidrs) {
      const std::string route = ManagementRouteResource(table, block);
      if (!attached && req.ObservedResource(route) == nullptr) continue;
      c.Add(route, kRoute,
            {{"routeTableIdSelector", Resources::Select(table)},
             {"destinationCidrBlock", block},
             {"transitGatewayId", path.transit_gateway_id}});
    }
  }
}

// The name of the flow logs' log group: unique per XR (a namespaced XR's
// name is unique only in its namespace).
std::string FlowLogGroupName(const Params& p, const compose::Scope& scope) {
  return scope.namespaced
             ? sdk::Cat("/platform/vpc-flow-logs/", scope.namespace_, "/", p.subject.xr_name)
             : sdk::Cat("/platform/vpc-flow-logs/", p.subject.xr_name);
}

// VPC flow logs as the class's policy says: to a log group the environment
// owns (with the role VPC flow logs deliver as), or to a bucket the platform
// team names (a central log archive, whose policy lets the log delivery
// service write).
void ComposeFlowLogs(const Params& p, Resources& c) {
  const policy::FlowLogPolicy& logs = p.network.flow_logs;
  if (!logs.enabled) return;
  Json flow = {{"vpcIdSelector", Resources::Select("vpc")},
               {"trafficType", logs.traffic_type},
               {"maxAggregationInterval", logs.max_aggregation_interval},
               {"tags", {{"Name", sdk::Cat(p.subject.xr_name, "-flow-logs")}}}};
  if (logs.destination == "S3") {
    flow["logDestinationType"] = "s3";
    flow["logDestination"] = logs.s3_bucket_arn;
    c.Add("flowlog", kFlowLog, std::move(flow));
    return;
  }
  const std::string group = FlowLogGroupName(p, c.scope());
  c.Add("flowlog-group", kLogGroup,
        {{"retentionInDays", logs.retention_days},
         {"tags", {{"Name", sdk::Cat(p.subject.xr_name, "-flow-logs")}}}},
        Json::object(), {{std::string(compose::kExternalName), group}});
  c.Add("flowlog-role", kRole,
        {{"assumeRolePolicy", compose::TrustPolicy("vpc-flow-logs.amazonaws.com")},
         {"description", sdk::Cat("VPC flow logs of ", p.subject.xr_name, " to CloudWatch Logs")},
         {"tags", {{"Name", sdk::Cat(p.subject.xr_name, "-flow-logs")}}}});
  // Only the group's streams: the role can write nowhere else.
  const Json delivery = {
      {"Version", "2012-10-17"},
      {"Statement",
       {{{"Effect", "Allow"},
         {"Action",
          {"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogGroups",
           "logs:DescribeLogStreams"}},
         {"Resource",
          {sdk::Cat("arn:aws:logs:", p.subject.region, ":*:log-group:", group),
           sdk::Cat("arn:aws:logs:", p.subject.region, ":*:log-group:", group, ":*")}}}}}};
  c.Add("flowlog-role-policy", kRolePolicy,
        {{"roleSelector", Resources::Select("flowlog-role")}, {"policy", delivery.dump()}});
  flow["logDestinationType"] = "cloud-watch-logs";
  flow["logDestinationSelector"] = Resources::Select("flowlog-group");
  flow["iamRoleArnSelector"] = Resources::Select("flowlog-role");
  c.Add("flowlog", kFlowLog, std::move(flow));
  // The audit trail stays whole until the flow log is gone.
  c.Use("flowlog-group", kLogGroup, "flowlog", kFlowLog);
  c.Use("flowlog-role", kRole, "flowlog", kFlowLog);
}

void ComposeEnvironment(const Params& p, const sdk::Request& req, Resources& c) {
  const std::string& region = p.subject.region;
  c.Add("vpc", kVpc,
        {{"cidrBlock", p.vpc.ToString()},
         {"enableDnsSupport", true},
         {"enableDnsHostnames", true},
         {"tags", {{"Name", p.subject.xr_name}}}});
  c.Add("igw", kInternetGateway,
        {{"vpcIdSelector", Resources::Select("vpc")},
         {"tags", {{"Name", sdk::Cat(p.subject.xr_name, "-igw")}}}});

  // Subnets: one per tier per zone, in the zone by its letter or by its AZ
  // ID. Nothing gets a public IP by default, not even in public subnets,
  // which hold NAT gateways and load balancers.
  for (Tier tier : network::kTiers) {
    for (std::size_t i = 0; i < p.zones.size(); ++i) {
      const Zone& z = p.zones[i];
      const std::string name = SubnetName(tier, z);
      Json tags = {
          {"Name", sdk::Cat(p.subject.xr_name, "-", network::TierName(tier), "-", z.Key())},
          {"platform.terraforming.io/tier", network::TierName(tier)}};
      // Load balancers: internet-facing ones in public subnets, internal ones
      // in private subnets; every nested cluster may use both.
      if (tier != Tier::kDatabase) {
        tags[std::string(tier == Tier::kPublic ? kPublicElbTag : kInternalElbTag)] = "1";
        for (const std::string& cluster : p.kubernetes_clusters) {
          tags[sdk::Cat(kClusterTagPrefix, cluster)] = "shared";
        }
      }
      Json fp = {{"vpcIdSelector", Resources::Select("vpc")},
                 {"cidrBlock", p.subnets[static_cast<int>(tier)][i].ToString()},
                 {"mapPublicIpOnLaunch", false},
                 {"tags", std::move(tags)}};
      if (z.by == Zone::By::kId) {
        fp["availabilityZoneId"] = z.name;
      } else {
        fp["availabilityZone"] = sdk::Cat(region, z.name);
      }
      c.Add(
          name, kSubnet, std::move(fp), Json::object(), Json::object(),
          {{std::string(kTierLabel), network::TierName(tier)}, {std::string(kZoneLabel), z.Key()}});
      c.Use("vpc", kVpc, name, kSubnet);
    }
  }

  // Public routing: one table, default route to the internet gateway.
  c.Add("rt-public", kRouteTable,
        {{"vpcIdSelector", Resources::Select("vpc")},
         {"tags", {{"Name", sdk::Cat(p.subject.xr_name, "-public")}}}},
        Json::object(), Json::object(), {{std::string(kTierLabel), "public"}});
  c.Add("route-public-internet", kRoute,
        {{"routeTableIdSelector", Resources::Select("rt-public")},
         {"destinationCidrBlock", "0.0.0.0/0"},
         {"gatewayIdSelector", Resources::Select("igw")}});
  c.Use("igw", kInternetGateway, "route-public-internet", kRoute);
  for (const Zone& z : p.zones) {
    c.Add(sdk::Cat("rta-public-", z.Key()), kRouteTableAssociation,
          {{"subnetIdSelector", Resources::Select(SubnetName(Tier::kPublic, z))},
           {"routeTableIdSelector", Resources::Select("rt-public")}});
  }

  // NAT gateways with their elastic IPs, in public subnets: one in the first
  // zone (Single) or one per zone (PerZone). A NAT gateway made before the internet gateway is
  // attached fails, so each is composed once the internet gateway is observed ready (attached: it
  // is created attached to the VPC), and kept from then on whatever the internet gateway's state: a
  // desired resource never disappears.
  std::vector<const Zone*> nat_zones;
  if (p.nat == "Single") nat_zones.push_back(&p.zones.front());
  if (p.nat == "PerZone") {
    for (const Zone& z : p.zones) nat_zones.push_back(&z);
  }
  const bool gateway_ready = req.ObservedReady("igw");
  std::erase_if(nat_zones, [&](const Zone* z) {
    return !gateway_ready && req.ObservedResource(sdk::Cat("nat-", z->Key())) == nullptr &&
           req.ObservedResource(sdk::Cat("eip-nat-", z->Key())) == nullptr;
  });
  for (const Zone* z : nat_zones) {
    const std::string eip = sdk::Cat("eip-nat-", z->Key());
    const std::string nat = sdk::Cat("nat-", z->Key());
    c.Add(eip, kEip,
          {{"domain", "vpc"}, {"tags", {{"Name", sdk::Cat(p.subject.xr_name, "-nat-", z->Key())}}}},
          Json::object(), Json::object(), {{std::string(kZoneLabel), z->Key()}});
    c.Add(nat, kNatGateway,
          {{"connectivityType", "public"},
           {"allocationIdSelector", Resources::Select(eip)},
           {"subnetIdSelector", Resources::Select(SubnetName(Tier::kPublic, *z))},
           {"tags", {{"Name", sdk::Cat(p.subject.xr_name, "-", z->Key())}}}},
          Json::object(), Json::object(), {{std::string(kZoneLabel), z->Key()}});
    c.Use(SubnetName(Tier::kPublic, *z), kSubnet, nat, kNatGateway);
    c.Use(eip, kEip, nat, kNatGateway);
    // The internet gateway outlives every NAT gateway and its address: AWS
    // refuses to detach it while public addresses are mapped in the VPC.
    c.Use("igw", kInternetGateway, nat, kNatGateway);
    c.Use("igw", kInternetGateway, eip, kEip);
  }

  // Private routing: its default route goes to a NAT gateway, never to the
  // internet gateway. PerZone keeps each zone's traffic in its zone.
  const bool per_zone = p.nat == "PerZone";
  for (const Zone& z : p.zones) {
    const std::string table = per_zone ? sdk::Cat("rt-private-", z.Key()) : "rt-private";
    if (per_zone || &z == &p.zones.front()) {
      c.Add(table, kRouteTable,
            {{"vpcIdSelector", Resources::Select("vpc")},
             {"tags",
              {{"Name", per_zone ? sdk::Cat(p.subject.xr_name, "-private-", z.Key())
                                 : sdk::Cat(p.subject.xr_name, "-private")}}}},
            Json::object(), Json::object(), {{std::string(kTierLabel), "private"}});
      const std::string nat_zone = per_zone ? z.Key() : p.zones.front().Key();
      const bool has_nat = std::any_of(nat_zones.begin(), nat_zones.end(),
                                       [&](const Zone* n) { return n->Key() == nat_zone; });
      if (has_nat) {
        const std::string nat = sdk::Cat("nat-", nat_zone);
        c.Add(per_zone ? sdk::Cat("route-private-nat-", z.Key()) : "route-private-nat", kRoute,
              {{"routeTableIdSelector", Resources::Select(table)},
               {"destinationCidrBlock", "0.0.0.0/0"},
               {"natGatewayIdSelector", Resources::Select(nat)}});
      }
    }
    c.Add(sdk::Cat("rta-private-", z.Key()), kRouteTableAssociation,
          {{"subnetIdSelector", Resources::Select(SubnetName(Tier::kPrivate, z))},
           {"routeTableIdSelector", Resources::Select(table)}});
  }

  // Database subnets: a table with no route out of the VPC at all.
  c.Add("rt-database", kRouteTable,
        {{"vpcIdSelector", Resources::Select("vpc")},
         {"tags", {{"Name", sdk::Cat(p.subject.xr_name, "-database")}}}},
        Json::object(), Json::object(), {{std::string(kTierLabel), "database"}});
  for (const Zone& z : p.zones) {
    c.Add(sdk::Cat("rta-database-", z.Key()), kRouteTableAssociation,
          {{"subnetIdSelector", Resources::Select(SubnetName(Tier::kDatabase, z))},
           {"routeTableIdSelector", Resources::Select("rt-database")}});
  }

  // The baseline security group: members may talk to each other and out;
  // nothing may come in from anywhere else, least of all 0.0.0.0/0.
  c.Add("sg-baseline", kSecurityGroup,
        {{"vpcIdSelector", Resources::Select("vpc")},
         {"name", compose::SecurityGroupName(sdk::Cat(p.subject.xr_name, "-baseline"))},
         {"description", "Baseline for workloads of this environment: no ingress from outside"},
         {"tags", {{"Name", sdk::Cat(p.subject.xr_name, "-baseline")}}}});
  c.Add("sgr-baseline-self", kIngressRule,
        {{"securityGroupIdSelector", Resources::Select("sg-baseline")},
         {"referencedSecurityGroupIdSelector", Resources::Select("sg-baseline")},
         {"ipProtocol", "-1"},
         {"description", "Members of the baseline group"}});
  c.Add("sgr-baseline-egress", kEgressRule,
        {{"securityGroupIdSelector", Resources::Select("sg-baseline")},
         {"cidrIpv4", "0.0.0.0/0"},
         {"ipProtocol", "-1"},
         {"description", "Outbound through the NAT gateways"}});
  c.Use("vpc", kVpc, "sg-baseline", kSecurityGroup);

  // The VPC's default security group, which AWS creates allowing all
  // traffic between its members and all egress, held with no rules at all:
  // anything launched without a group is cut off, as CIS AWS 5.4 asks.
  c.Add("sg-default", kDefaultSecurityGroup,
        {{"vpcIdSelector", Resources::Select("vpc")},
         {"tags", {{"Name", sdk::Cat(p.subject.xr_name, "-default-no-rules")}}}});

  ComposeGatewayEndpoints(p, c);
  ComposeFlowLogs(p, c);
  ComposeManagementPath(p, req, c);

  for (const NestedXr& n : p.clusters) c.Nested(n);
  for (const NestedXr& n : p.databases) c.Nested(n);
}

// The zones' names ("us-east-1a") in zone order: the letters' in the
// region, or for zones named by AZ ID what the observed subnets report, and
// then only once a subnet of every zone has reported it (nested clusters and
// databases read the list, and must not see part of it).
std::optional<Json> ZoneNames(const Params& p, const sdk::Request& req) {
  Json names = Json::array();
  for (const Zone& z : p.zones) {
    if (z.by == Zone::By::kLetter) {
      names.push_back(sdk::Cat(p.subject.region, z.name));
      continue;
    }
    std::string name;
    for (Tier tier : network::kTiers) {
      name = Observed(req, SubnetName(tier, z), "availabilityZone");
      if (!name.empty()) break;
    }
    if (name.empty()) return std::nullopt;
    names.push_back(std::move(name));
  }
  return names;
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
  if (std::optional<Json> names = ZoneNames(p, req)) {
    PLATFORM_RETURN_IF_ERROR(rsp.SetCompositeStatus("availabilityZones", *std::move(names)));
  }
  if (!p.zones.empty() && p.zones.front().by == Zone::By::kId) {
    Json ids = Json::array();
    for (const Zone& z : p.zones) ids.push_back(z.name);
    PLATFORM_RETURN_IF_ERROR(rsp.SetCompositeStatus("availabilityZoneIds", std::move(ids)));
  }
  PLATFORM_RETURN_IF_ERROR(rsp.SetCompositeStatus("natStrategy", p.nat));
  PLATFORM_RETURN_IF_ERROR(set_if("internetGatewayId", "igw"));
  PLATFORM_RETURN_IF_ERROR(set_if("transitGatewayAttachmentId", kManagementAttachment));
  PLATFORM_RETURN_IF_ERROR(set_if("s3EndpointId", "vpce-s3"));
  // Each gateway endpoint, and the route tables it is associated with so
  // far (an association counts once it is ready).
  for (const std::string& service : p.network.gateway_endpoints) {
    const std::string base = sdk::Cat("gatewayEndpoints.", service);
    PLATFORM_RETURN_IF_ERROR(set_if(sdk::Cat(base, ".id"), EndpointResource(service)));
    Json associated = Json::array();
    for (const std::string& table : InnerRouteTables(p)) {
      if (!req.ObservedReady(EndpointAssociationResource(service, table))) continue;
      const std::string id = ObservedId(req, table);
      if (!id.empty()) associated.push_back(id);
    }
    PLATFORM_RETURN_IF_ERROR(
        rsp.SetCompositeStatus(sdk::Cat(base, ".routeTableIds"), std::move(associated)));
  }
  if (p.network.flow_logs.enabled) {
    PLATFORM_RETURN_IF_ERROR(set_if("flowLogs.id", "flowlog"));
    PLATFORM_RETURN_IF_ERROR(
        rsp.SetCompositeStatus("flowLogs.destination", p.network.flow_logs.destination));
  }
  PLATFORM_RETURN_IF_ERROR(set_if("securityGroupIds.baseline", "sg-baseline"));
  for (Tier tier : network::kTiers) {
    Json list = Json::array();
    for (std::size_t i = 0; i < p.zones.size(); ++i) {
      const Zone& z = p.zones[i];
      const std::string tier_name(network::TierName(tier));
      PLATFORM_RETURN_IF_ERROR(
          rsp.SetCompositeStatus(sdk::Cat("subnets.", tier_name, ".", z.Key(), ".cidr"),
                                 p.subnets[static_cast<int>(tier)][i].ToString()));
      const std::string id = ObservedId(req, SubnetName(tier, z));
      if (id.empty()) continue;
      list.push_back(id);
      PLATFORM_RETURN_IF_ERROR(
          rsp.SetCompositeStatus(sdk::Cat("subnets.", tier_name, ".", z.Key(), ".id"), id));
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
        set_if(sdk::Cat("natGatewayIds.", z.Key()), sdk::Cat("nat-", z.Key())));
    PLATFORM_RETURN_IF_ERROR(
        set_if(sdk::Cat("routeTableIds.private-", z.Key()), sdk::Cat("rt-private-", z.Key())));
  }
  PLATFORM_RETURN_IF_ERROR(set_if("routeTableIds.public", "rt-public"));
  PLATFORM_RETURN_IF_ERROR(set_if("routeTableIds.private", "rt-private"));
  PLATFORM_RETURN_IF_ERROR(set_if("routeTableIds.database", "rt-database"));
  return absl::OkStatus();
}

}  // namespace

XEnvironment::XEnvironment()
    : PlatformRenderer({.noun = "environment", .plural = "environments"}) {}

absl::StatusOr<compose::Composed> XEnvironment::Compose(const compose::Xr& xr,
                                                        compose::RenderContext& call) const {
  PLATFORM_ASSIGN_OR_RETURN(Params p, ReadParams(xr));
  Resources resources(p, xr.scope, call.composer());
  ComposeEnvironment(p, call.req(), resources);

  const sdk::Request& req = call.req();
  sdk::Response& rsp = call.rsp();
  PLATFORM_RETURN_IF_ERROR(WriteStatus(p, req, rsp));
  PLATFORM_RETURN_IF_ERROR(WriteNestedStatus(kNestedClusters, p.clusters, req, rsp));
  PLATFORM_RETURN_IF_ERROR(WriteNestedStatus(kNestedDatabases, p.databases, req, rsp));

  compose::Composed composed;
  composed.announcement =
      sdk::Cat("the ", p.subject.environment_class, " environment in ", p.subject.region, " (",
               p.zones.size(), " zones, NAT ", p.nat, ")");
  return composed;
}

}  // namespace platform::fn::renderers
