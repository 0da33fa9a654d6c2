#include "bench/request.h"

#include <google/protobuf/util/json_util.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "function/sdk/strings.h"
#include "function/sdk/struct_json.h"

namespace platform::fn::bench {
namespace {

using sdk::Cat;
using sdk::Json;

constexpr std::string_view kXrName = "payments-dev";
constexpr std::string_view kXrUid = "5d3c6a47-9f1e-4b8e-a2f4-7c0b1e9d2a61";
constexpr std::string_view kRegion = "eu-west-1";
constexpr std::string_view kAccount = "123456789012";
constexpr std::string_view kVpcCidr = "10.10.0.0/16";
constexpr std::string_view kContextKey = "apiextensions.crossplane.io/environment";

// A stable 64-bit hash (FNV-1a), so that ids do not change between runs or
// standard libraries.
std::uint64_t Hash(std::string_view s) {
  std::uint64_t h = 1469598103934665603ULL;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

// An AWS-style id: "vpc-0a1b2c3d4e5f67890".
std::string AwsId(std::string_view prefix, std::string_view name) {
  return fmt::format("{}-0{:016x}", prefix, Hash(Cat(prefix, "/", name)));
}

// The suffix Crossplane appends to generateName: five lowercase characters.
std::string NameSuffix(std::string_view name) {
  constexpr std::string_view kChars = "bcdfghjklmnpqrstvwxz2456789";
  std::uint64_t h = Hash(name);
  std::string out;
  for (int i = 0; i < 5; ++i) {
    out.push_back(kChars[h % kChars.size()]);
    h /= kChars.size();
  }
  return out;
}

Json Tags(std::string_view name) {
  return {{"Name", Cat(kXrName, "-", name)},
          {"platform.terraforming.io/environment", "dev"},
          {"platform.terraforming.io/team", "payments"},
          {"platform.terraforming.io/cost-center", "cc-1234"},
          {"owner", "payments-oncall"},
          {"crossplane-kind", "xenvironment.platform.terraforming.io"},
          {"crossplane-name", kXrName},
          {"crossplane-providerconfig", "default"}};
}

// One composed resource, as the earlier step wants it and as AWS reports it.
struct Composed {
  std::string name;  // composition resource name, e.g. "subnet-private-a"
  std::string kind;  // e.g. "Subnet"
  std::string id;    // external name, e.g. "subnet-0..."
  Json for_provider = Json::object();
  Json at_provider = Json::object();  // merged over for_provider
  bool has_arn = true;
};

std::string ArnOf(const Composed& c) {
  std::string_view type = c.kind == "VPC"               ? "vpc"
                          : c.kind == "InternetGateway" ? "internet-gateway"
                          : c.kind == "Subnet"          ? "subnet"
                          : c.kind == "RouteTable"      ? "route-table"
                          : c.kind == "SecurityGroup"   ? "security-group"
                          : c.kind == "VPCEndpoint"     ? "vpc-endpoint"
                          : c.kind == "NATGateway"      ? "natgateway"
                          : c.kind == "EIP"             ? "elastic-ip"
                                                        : "security-group-rule";
  return Cat("arn:aws:ec2:", kRegion, ":", kAccount, ":", type, "/", c.id);
}

// The names of resources this one refers to are resolved by the time it is
// observed; earlier steps ask for them by selector.
Json Observed(const Composed& c) {
  Json at = c.for_provider;
  for (auto it = c.at_provider.begin(); it != c.at_provider.end(); ++it) at[it.key()] = it.value();
  at["id"] = c.id;
  if (c.has_arn) at["arn"] = ArnOf(c);
  if (at.contains("tags")) {
    at["tagsAll"] = at["tags"];
    at["tagsAll"]["managed-by"] = "crossplane";
  }
  const std::string metadata_name = Cat(kXrName, "-", NameSuffix(c.name));
  Json for_provider = c.for_provider;
  for (const char* ref : {"vpcId", "subnetId", "routeTableId", "allocationId", "securityGroupId",
                          "gatewayId", "natGatewayId"}) {
    if (for_provider.contains(ref)) {
      for_provider[Cat(ref, "Ref")] = {
          {"name", Cat(kXrName, "-", NameSuffix(for_provider[ref].get<std::string>()))}};
      for_provider[Cat(ref, "Selector")] = {{"matchControllerRef", true}};
    }
  }
  return {
      {"apiVersion", "ec2.aws.upbound.io/v1beta1"},
      {"kind", c.kind},
      {"metadata",
       {{"name", metadata_name},
        {"generateName", Cat(kXrName, "-")},
        {"uid", fmt::format("{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}", Hash(c.name) >> 32,
                            Hash(c.name) & 0xffff, Hash(c.id) & 0xfff, Hash(c.kind) & 0xfff,
                            Hash(metadata_name) & 0xffffffffffffULL)},
        {"resourceVersion", std::to_string(100000 + Hash(c.name) % 900000)},
        {"generation", 1},
        {"creationTimestamp", "2025-11-03T09:14:27Z"},
        {"finalizers", {"finalizer.managedresource.crossplane.io"}},
        {"annotations",
         {{"crossplane.io/composition-resource-name", c.name},
          {"crossplane.io/external-name", c.id},
          {"crossplane.io/external-create-pending", "2025-11-03T09:14:28Z"},
          {"crossplane.io/external-create-succeeded", "2025-11-03T09:14:31Z"}}},
        {"labels",
         {{"crossplane.io/composite", kXrName},
          {"crossplane.io/claim-name", kXrName},
          {"crossplane.io/claim-namespace", "team-payments"}}},
        {"ownerReferences",
         {{{"apiVersion", "platform.terraforming.io/v1alpha1"},
           {"kind", "XEnvironment"},
           {"name", kXrName},
           {"uid", kXrUid},
           {"controller", true},
           {"blockOwnerDeletion", true}}}}}},
      {"spec",
       {{"forProvider", for_provider},
        {"initProvider", Json::object()},
        {"managementPolicies", {"*"}},
        {"deletionPolicy", "Delete"},
        {"providerConfigRef", {{"name", "default"}}}}},
      {"status",
       {{"atProvider", at},
        {"conditions",
         {{{"type", "Ready"},
           {"status", "True"},
           {"reason", "Available"},
           {"lastTransitionTime", "2025-11-03T09:15:02Z"}},
          {{"type", "Synced"},
           {"status", "True"},
           {"reason", "ReconcileSuccess"},
           {"lastTransitionTime", "2025-11-03T09:14:31Z"}},
          {{"type", "LastAsyncOperation"},
           {"status", "True"},
           {"reason", "Success"},
           {"lastTransitionTime", "2025-11-03T09:15:02Z"}}}}}},
  };
}

Json Desired(const Composed& c) {
  Json for_provider = c.for_provider;
  for (const char* ref : {"vpcId", "subnetId", "routeTableId", "allocationId", "securityGroupId",
                          "gatewayId", "natGatewayId"}) {
    if (for_provider.contains(ref)) {
      for_provider.erase(ref);
      for_provider[Cat(ref, "Selector")] = {{"matchControllerRef", true}};
    }
  }
  return {{"apiVersion", "ec2.aws.upbound.io/v1beta1"},
          {"kind", c.kind},
          {"metadata", {{"labels", {{"platform.terraforming.io/component", "network"}}}}},
          {"spec", {{"forProvider", for_provider}, {"providerConfigRef", {{"name", "default"}}}}}};
}

// The composed resources, VPC first: shared network pieces, then one set per
// availability zone, then further sets (suffixed -2, -3, ...) as needed.
std::vector<Composed> Resources(int count) {
  std::vector<Composed> out;
  const std::size_t want = static_cast<std::size_t>(count);
  auto add = [&](std::string name, std::string kind, std::string_view id_prefix, Json fp,
                 Json at = Json::object()) {
    if (out.size() >= want) return;
    fp["region"] = kRegion;
    Composed c{std::move(name), std::move(kind), "", std::move(fp), std::move(at)};
    c.id = AwsId(id_prefix, c.name);
    c.has_arn = c.kind != "RouteTableAssociation" && c.kind != "Route";
    out.push_back(std::move(c));
  };

  const std::string vpc_id = AwsId("vpc", "vpc");
  const std::string igw_id = AwsId("igw", "igw");
  const std::string rtb_public = AwsId("rtb", "rtb-public");
  const std::string sg_lb = AwsId("sg", "sg-lb");
  const std::string sg_app = AwsId("sg", "sg-app");
  const std::string sg_db = AwsId("sg", "sg-db");

  add("vpc", "VPC", "vpc",
      {{"cidrBlock", kVpcCidr},
       {"enableDnsSupport", true},
       {"enableDnsHostnames", true},
       {"tags", Tags("vpc")}},
      {{"defaultNetworkAclId", AwsId("acl", "vpc")},
       {"defaultRouteTableId", AwsId("rtb", "vpc-default")},
       {"defaultSecurityGroupId", AwsId("sg", "vpc-default")},
       {"dhcpOptionsId", AwsId("dopt", "vpc")},
       {"instanceTenancy", "default"},
       {"mainRouteTableId", AwsId("rtb", "vpc-default")},
       {"ipv6CidrBlock", ""},
       {"ownerId", kAccount}});
  add("igw", "InternetGateway", "igw", {{"vpcId", vpc_id}, {"tags", Tags("igw")}},
      {{"ownerId", kAccount}});
  add("rtb-public", "RouteTable", "rtb", {{"vpcId", vpc_id}, {"tags", Tags("rtb-public")}},
      {{"ownerId", kAccount}, {"propagatingVgws", Json::array()}});
  add("route-public-default", "Route", "r",
      {{"routeTableId", rtb_public}, {"destinationCidrBlock", "0.0.0.0/0"}, {"gatewayId", igw_id}},
      {{"origin", "CreateRoute"}, {"state", "active"}});
  for (auto [name, desc] : {std::pair{"sg-lb", "Load balancers"}, std::pair{"sg-app", "Workloads"},
                            std::pair{"sg-db", "Databases"}}) {
    add(name, "SecurityGroup", "sg",
        {{"name", Cat(kXrName, "-", name)},
         {"description", desc},
         {"vpcId", vpc_id},
         {"tags", Tags(name)}},
        {{"ownerId", kAccount}, {"revokeRulesOnDelete", false}});
  }
  add("sgr-lb-https-in", "SecurityGroupIngressRule", "sgr",
      {{"securityGroupId", sg_lb},
       {"ipProtocol", "tcp"},
       {"fromPort", 443},
       {"toPort", 443},
       {"cidrIpv4", "0.0.0.0/0"},
       {"description", "HTTPS from anywhere"},
       {"tags", Tags("sgr-lb-https-in")}},
      {{"securityGroupRuleId", AwsId("sgr", "sgr-lb-https-in")}});
  add("sgr-app-from-lb", "SecurityGroupIngressRule", "sgr",
      {{"securityGroupId", sg_app},
       {"ipProtocol", "tcp"},
       {"fromPort", 8080},
       {"toPort", 8080},
       {"referencedSecurityGroupId", sg_lb},
       {"description", "Workload port from the load balancers"},
       {"tags", Tags("sgr-app-from-lb")}},
      {{"securityGroupRuleId", AwsId("sgr", "sgr-app-from-lb")}});
  add("sgr-db-from-app", "SecurityGroupIngressRule", "sgr",
      {{"securityGroupId", sg_db},
       {"ipProtocol", "tcp"},
       {"fromPort", 5432},
       {"toPort", 5432},
       {"referencedSecurityGroupId", sg_app},
       {"description", "PostgreSQL from workloads"},
       {"tags", Tags("sgr-db-from-app")}},
      {{"securityGroupRuleId", AwsId("sgr", "sgr-db-from-app")}});
  add("sgr-app-egress", "SecurityGroupEgressRule", "sgr",
      {{"securityGroupId", sg_app},
       {"ipProtocol", "-1"},
       {"cidrIpv4", "0.0.0.0/0"},
       {"description", "All egress"},
       {"tags", Tags("sgr-app-egress")}},
      {{"securityGroupRuleId", AwsId("sgr", "sgr-app-egress")}});
  add("vpce-s3", "VPCEndpoint", "vpce",
      {{"vpcId", vpc_id},
       {"serviceName", Cat("com.amazonaws.", kRegion, ".s3")},
       {"vpcEndpointType", "Gateway"},
       {"routeTableIds", {rtb_public}},
       {"tags", Tags("vpce-s3")}},
      {{"ownerId", kAccount},
       {"prefixListId", "pl-6da54004"},
       {"state", "available"},
       {"requesterManaged", false},
       {"cidrBlocks", {"52.218.0.0/17", "3.5.64.0/21"}}});

  // Per availability zone: public, private and database subnets, a private
  // route table through the zone's NAT gateway, and the associations.
  constexpr std::string_view kZones[] = {"a", "b", "c"};
  for (int set = 0; out.size() < want; ++set) {
    for (std::size_t z = 0; z < std::size(kZones); ++z) {
      const std::string zone = set == 0 ? std::string(kZones[z]) : Cat(kZones[z], "-", set + 1);
      const std::string az = Cat(kRegion, kZones[z]);
      const int octet = 10 * set + static_cast<int>(z);
      auto subnet = [&](std::string_view tier, int base, bool is_public) {
        const std::string name = Cat("subnet-", tier, "-", zone);
        add(name, "Subnet", "subnet",
            {{"vpcId", vpc_id},
             {"availabilityZone", az},
             {"cidrBlock", fmt::format("10.10.{}.0/24", base + octet)},
             {"mapPublicIpOnLaunch", is_public},
             {"tags", Tags(name)}},
            {{"ownerId", kAccount},
             {"availabilityZoneId", Cat("euw1-az", z + 1)},
             {"privateDnsHostnameTypeOnLaunch", "ip-name"},
             {"assignIpv6AddressOnCreation", false}});
      };
      subnet("public", 0, true);
      subnet("private", 100, false);
      subnet("db", 200, false);
      const std::string eip = Cat("eip-nat-", zone);
      add(eip, "EIP", "eipalloc", {{"domain", "vpc"}, {"tags", Tags(eip)}},
          {{"allocationId", AwsId("eipalloc", eip)},
           {"publicIp", fmt::format("52.49.{}.{}", Hash(eip) % 256, Hash(zone) % 256)},
           {"publicDns", fmt::format("ec2-52-49-{}-{}.{}.compute.amazonaws.com", Hash(eip) % 256,
                                     Hash(zone) % 256, kRegion)},
           {"networkBorderGroup", kRegion}});
      const std::string nat = Cat("nat-", zone);
      add(nat, "NATGateway", "nat",
          {{"allocationId", AwsId("eipalloc", eip)},
           {"subnetId", AwsId("subnet", Cat("subnet-public-", zone))},
           {"connectivityType", "public"},
           {"tags", Tags(nat)}},
          {{"networkInterfaceId", AwsId("eni", nat)},
           {"privateIp", fmt::format("10.10.{}.{}", octet, 4 + Hash(nat) % 250)},
           {"publicIp", fmt::format("52.49.{}.{}", Hash(eip) % 256, Hash(zone) % 256)}});
      const std::string rtb = Cat("rtb-private-", zone);
      add(rtb, "RouteTable", "rtb", {{"vpcId", vpc_id}, {"tags", Tags(rtb)}},
          {{"ownerId", kAccount}, {"propagatingVgws", Json::array()}});
      add(Cat("route-private-", zone), "Route", "r",
          {{"routeTableId", AwsId("rtb", rtb)},
           {"destinationCidrBlock", "0.0.0.0/0"},
           {"natGatewayId", AwsId("nat", nat)}},
          {{"origin", "CreateRoute"}, {"state", "active"}});
      for (auto [tier, table] : {std::pair<std::string_view, std::string>{"public", rtb_public},
                                 {"private", AwsId("rtb", rtb)},
                                 {"db", AwsId("rtb", rtb)}}) {
        add(Cat("rta-", tier, "-", zone), "RouteTableAssociation", "rtbassoc",
            {{"routeTableId", table},
             {"subnetId", AwsId("subnet", Cat("subnet-", tier, "-", zone))}});
      }
    }
  }
  return out;
}

void SetStruct(const Json& j, std::string_view what, google::protobuf::Struct* out) {
  absl::Status s = sdk::ToStruct(j, what, out);
  if (!s.ok()) {
    // The request is built from constants; this cannot happen.
    fmt::print(stderr, "runfunction_bench: {}\n", std::string(s.message()));
    std::abort();
  }
}

}  // namespace

BenchRequest MakeRequest(int resources) {
  BenchRequest out;
  pb::RunFunctionRequest& req = out.request;
  const std::vector<Composed> composed = Resources(resources < 1 ? 1 : resources);

  // Crossplane's tag is a hash of the request.
  out.expected.tag = fmt::format("{:016x}{:016x}{:016x}{:016x}", Hash("tag1"), Hash("tag2"),
                                 Hash("tag3"), Hash("tag4"));
  req.mutable_meta()->set_tag(out.expected.tag);
  for (pb::Capability c :
       {pb::CAPABILITY_CAPABILITIES, pb::CAPABILITY_REQUIRED_RESOURCES, pb::CAPABILITY_CREDENTIALS,
        pb::CAPABILITY_CONDITIONS, pb::CAPABILITY_REQUIRED_SCHEMAS}) {
    req.mutable_meta()->add_capabilities(c);
  }

  Json resource_refs = Json::array();
  Json subnet_ids = Json::array();
  for (const Composed& c : composed) {
    resource_refs.push_back({{"apiVersion", "ec2.aws.upbound.io/v1beta1"},
                             {"kind", c.kind},
                             {"name", Cat(kXrName, "-", NameSuffix(c.name))}});
    if (c.kind == "Subnet") subnet_ids.push_back(c.id);
  }
  out.expected.vpc_id = composed.front().id;

  // The observed XR, as examples/xenvironment/xr.yaml once it is running.
  const Json xr = {
      {"apiVersion", "platform.terraforming.io/v1alpha1"},
      {"kind", "XEnvironment"},
      {"metadata",
       {{"name", kXrName},
        {"uid", kXrUid},
        {"resourceVersion", "482913"},
        {"generation", 3},
        {"creationTimestamp", "2025-11-03T09:14:25Z"},
        {"finalizers", {"composite.apiextensions.crossplane.io"}},
        {"labels",
         {{"crossplane.io/claim-name", kXrName},
          {"crossplane.io/claim-namespace", "team-payments"},
          {"crossplane.io/composite", kXrName}}}}},
      {"spec",
       {{"parameters",
         {{"environment", "dev"},
          {"region", kRegion},
          {"team", "payments"},
          {"costCenter", "cc-1234"},
          {"tags", {{"owner", "payments-oncall"}}}}},
        {"claimRef",
         {{"apiVersion", "platform.terraforming.io/v1alpha1"},
          {"kind", "Environment"},
          {"name", kXrName},
          {"namespace", "team-payments"}}},
        {"compositionRef", {{"name", "xenvironments.platform.terraforming.io"}}},
        {"compositionRevisionRef", {{"name", "xenvironments.platform.terraforming.io-7f3c2d1"}}},
        {"compositionUpdatePolicy", "Automatic"},
        {"resourceRefs", resource_refs}}},
      {"status",
       {{"vpcId", out.expected.vpc_id},
        {"conditions",
         {{{"type", "Synced"},
           {"status", "True"},
           {"reason", "ReconcileSuccess"},
           {"lastTransitionTime", "2025-11-03T09:14:26Z"}},
          {{"type", "Ready"},
           {"status", "True"},
           {"reason", "Available"},
           {"lastTransitionTime", "2025-11-03T09:16:40Z"}}}}}},
  };
  SetStruct(xr, "observed.composite",
            req.mutable_observed()->mutable_composite()->mutable_resource());

  // What an earlier step in the pipeline returned for the XR.
  const Json desired_xr = {{"apiVersion", "platform.terraforming.io/v1alpha1"},
                           {"kind", "XEnvironment"},
                           {"metadata", {{"name", kXrName}}},
                           {"status", {{"subnetIds", subnet_ids}}}};
  SetStruct(desired_xr, "desired.composite",
            req.mutable_desired()->mutable_composite()->mutable_resource());

  auto& observed = *req.mutable_observed()->mutable_resources();
  auto& desired = *req.mutable_desired()->mutable_resources();
  for (const Composed& c : composed) {
    SetStruct(Observed(c), c.name, observed[c.name].mutable_resource());
    pb::Resource& d = desired[c.name];
    SetStruct(Desired(c), c.name, d.mutable_resource());
    d.set_ready(pb::READY_TRUE);
    out.expected.desired_names.push_back(c.name);
  }

  // The pipeline context: the EnvironmentConfig Crossplane selected, and a
  // key an earlier step added.
  out.expected.context_key = std::string(kContextKey);
  const Json context = {
      {kContextKey,
       {{"apiVersion", "internal.crossplane.io/v1alpha1"},
        {"kind", "Environment"},
        {"awsAccountId", kAccount},
        {"region", kRegion},
        {"dns", {{"zone", "payments.dev.terraforming.io"}, {"zoneId", "Z0123456789ABCDEFGHIJ"}}},
        {"network", {{"transitGatewayId", AwsId("tgw", "shared")}, {"peerCidr", "10.0.0.0/8"}}}}},
      {"platform.terraforming.io/network",
       {{"subnetIds", subnet_ids}, {"composedBy", "function-network"}}},
  };
  SetStruct(context, "context", req.mutable_context());
  return out;
}

std::optional<std::string> CheckResponse(const pb::RunFunctionResponse& rsp,
                                         const Expected& expected) {
  for (const pb::Result& r : rsp.results()) {
    if (r.severity() == pb::SEVERITY_FATAL) return Cat("FATAL result: ", r.message());
  }
  if (rsp.meta().tag() != expected.tag) {
    return Cat("meta.tag is \"", rsp.meta().tag(), "\", want \"", expected.tag, "\"");
  }
  if (expected.min_desired >= 0) {
    if (rsp.desired().resources_size() < expected.min_desired) {
      return Cat(rsp.desired().resources_size(), " desired composed resources, want at least ",
                 expected.min_desired);
    }
    return std::nullopt;
  }
  // Every resource the earlier step asked for must still be there; the
  // function may add its own.
  const auto& resources = rsp.desired().resources();
  for (const std::string& name : expected.desired_names) {
    auto it = resources.find(name);
    if (it == resources.end()) return Cat("desired.resources[", name, "] missing");
    if (it->second.resource().fields().empty()) return Cat("desired.resources[", name, "] empty");
  }
  const auto& vpc = resources.at("vpc").resource().fields();
  if (auto kind = vpc.find("kind"); kind == vpc.end() || kind->second.string_value() != "VPC") {
    return std::string("desired.resources[vpc] is not a VPC");
  }
  const auto& xr = rsp.desired().composite().resource().fields();
  const auto status = xr.find("status");
  if (status == xr.end()) return std::string("desired.composite.status missing");
  const auto& status_fields = status->second.struct_value().fields();
  const auto vpc_id = status_fields.find("vpcId");
  if (vpc_id == status_fields.end() || vpc_id->second.string_value() != expected.vpc_id) {
    return Cat("desired.composite.status.vpcId is not ", expected.vpc_id);
  }
  if (status_fields.count("subnetIds") == 0) {
    return std::string("desired.composite.status.subnetIds (from the earlier step) missing");
  }
  if (!rsp.has_context() || rsp.context().fields().count(expected.context_key) == 0) {
    return Cat("context[", expected.context_key, "] missing");
  }
  return std::nullopt;
}

absl::StatusOr<BenchRequest> ReadRequest(const std::string& path, int min_desired) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(Cat(path, ": cannot read"));
  std::stringstream text;
  text << in.rdbuf();
  BenchRequest out;
  const google::protobuf::util::Status parsed =
      google::protobuf::util::JsonStringToMessage(text.str(), &out.request);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        Cat(path, ": not a RunFunctionRequest: ", std::string(parsed.message())));
  }
  if (out.request.meta().tag().empty()) out.request.mutable_meta()->set_tag("bench");
  out.expected.tag = out.request.meta().tag();
  out.expected.min_desired = min_desired;
  return out;
}

}  // namespace platform::fn::bench
