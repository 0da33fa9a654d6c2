#include "function/renderers/xcluster/params.h"

#include <algorithm>
#include <set>
#include <string>
#include <tuple>
#include <utility>

#include "absl/strings/ascii.h"
#include "function/compose/aws_names.h"
#include "function/compose/ids.h"
#include "function/network/cidr.h"
#include "function/sdk/status_macros.h"
#include "function/sdk/strings.h"

namespace platform::fn::renderers::xcluster {
namespace {

using sdk::FieldError;
using sdk::JoinList;
using sdk::JoinPath;

constexpr std::string_view kSelfManagedAddons[] = {"vpc-cni", "coredns", "kube-proxy"};

// The class's rule on an instance type, or OK.
absl::Status CheckInstanceType(const sdk::Fields& f, std::string_view field,
                               const std::string& instance_type, const policy::Subject& subject,
                               const policy::ClusterLimits& limits) {
  const std::size_t dot = instance_type.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == instance_type.size()) {
    return FieldError(JoinPath(f.path(), field),
                      sdk::Cat("\"", instance_type, "\" is not an EC2 instance type"));
  }
  if (!limits.AllowsInstanceFamily(Family(instance_type))) {
    return policy::FieldViolation(
        JoinPath(f.path(), field),
        sdk::Cat(subject.environment_class, " clusters may use instance families ",
                 JoinList(limits.instance_families), ", not ", Family(instance_type)));
  }
  return absl::OkStatus();
}

absl::Status ReadPool(const sdk::Fields& f, const policy::Subject& subject,
                      const policy::ClusterLimits& limits, NodePool& p) {
  PLATFORM_ASSIGN_OR_RETURN(p.name, f.String("name"));
  if (!IsDnsLabel(p.name) || p.name.size() > 20) {
    return FieldError(JoinPath(f.path(), "name"),
                      "must be 1 to 20 lower-case letters, digits or '-', starting and ending "
                      "with a letter or digit");
  }
  PLATFORM_ASSIGN_OR_RETURN(p.instance_type, f.String("instanceType"));
  PLATFORM_RETURN_IF_ERROR(CheckInstanceType(f, "instanceType", p.instance_type, subject, limits));
  PLATFORM_ASSIGN_OR_RETURN(p.min, f.Int("minSize", 1));
  PLATFORM_ASSIGN_OR_RETURN(p.max, f.Int("maxSize", std::max<std::int64_t>(p.min, 3)));
  PLATFORM_ASSIGN_OR_RETURN(p.desired, f.Int("desiredSize", p.min));
  if (p.min < 0) return FieldError(JoinPath(f.path(), "minSize"), "must be at least 0");
  if (p.max < 1 || p.max < p.min) {
    return FieldError(JoinPath(f.path(), "maxSize"),
                      sdk::Cat("must be at least 1 and at least minSize (", p.min, ")"));
  }
  if (p.desired < p.min || p.desired > p.max) {
    return FieldError(JoinPath(f.path(), "desiredSize"),
                      sdk::Cat("must be between minSize (", p.min, ") and maxSize (", p.max, ")"));
  }
  if (p.max > limits.max_nodes_per_pool) {
    return policy::FieldViolation(
        JoinPath(f.path(), "maxSize"),
        sdk::Cat(subject.environment_class, " clusters may have at most ",
                 limits.max_nodes_per_pool, " nodes per pool, not ", p.max));
  }
  PLATFORM_ASSIGN_OR_RETURN(p.capacity_type,
                            f.Enum("capacityType", {"ON_DEMAND", "SPOT"}, "ON_DEMAND"));
  PLATFORM_ASSIGN_OR_RETURN(p.disk_size, f.Int("diskSize", 50));
  if (p.disk_size < 20 || p.disk_size > 16384) {
    return FieldError(JoinPath(f.path(), "diskSize"), "must be between 20 and 16384 (GiB)");
  }
  PLATFORM_ASSIGN_OR_RETURN(auto labels, f.StringMap("labels"));
  for (auto& [k, v] : labels) p.labels[k] = v;
  PLATFORM_ASSIGN_OR_RETURN(std::vector<sdk::Fields> taints, f.ObjectList("taints"));
  for (const sdk::Fields& t : taints) {
    PLATFORM_ASSIGN_OR_RETURN(std::string key, t.String("key"));
    if (key.empty()) return FieldError(JoinPath(t.path(), "key"), "required");
    PLATFORM_ASSIGN_OR_RETURN(std::string value, t.String("value", ""));
    PLATFORM_ASSIGN_OR_RETURN(std::string effect,
                              t.Enum("effect", {"NoSchedule", "NoExecute", "PreferNoSchedule"}));
    p.taints.push_back({{"key", key}, {"value", value}, {"effect", effect}});
  }
  return absl::OkStatus();
}

absl::Status ReadAccessEntries(const sdk::Fields& params, const policy::Policies& policies,
                               Params& p) {
  PLATFORM_ASSIGN_OR_RETURN(std::vector<sdk::Fields> entries, params.ObjectList("accessEntries"));
  std::set<std::string> seen;
  for (const sdk::Fields& e : entries) {
    AccessEntry a;
    PLATFORM_ASSIGN_OR_RETURN(a.principal_arn, e.String("principalArn"));
    if (!a.principal_arn.starts_with("arn:aws") ||
        a.principal_arn.find(":iam::") == std::string::npos) {
      return FieldError(JoinPath(e.path(), "principalArn"),
                        sdk::Cat("\"", a.principal_arn, "\" is not an IAM role or user ARN"));
    }
    if (!seen.insert(a.principal_arn).second) {
      return FieldError(JoinPath(e.path(), "principalArn"),
                        sdk::Cat(a.principal_arn, " is listed twice"));
    }
    PLATFORM_ASSIGN_OR_RETURN(a.policy,
                              e.Enum("policy", {"ClusterAdmin", "Admin", "Edit", "View"}, "View"));
    PLATFORM_ASSIGN_OR_RETURN(a.namespaces, e.StringList("namespaces"));
    if (a.policy == "ClusterAdmin" && !a.namespaces.empty()) {
      return FieldError(JoinPath(e.path(), "namespaces"),
                        "ClusterAdmin applies to the whole cluster; use Admin for namespaces");
    }
    p.access_entries.push_back(std::move(a));
  }
  // The platform's own entries (policy clusterAccess, typically the team's
  // role) go on every EKS cluster of the team; for a principal the XR lists
  // too, the policy's access wins: EKS takes one entry per principal.
  if (p.provisioner == Provisioner::kCapiKubeadm) return absl::OkStatus();
  for (const policy::ClusterAccessRule* r : policies.ClusterAccessFor(p.subject)) {
    AccessEntry a{.principal_arn = r->principal_arn,
                  .policy = r->access_policy,
                  .namespaces = r->namespaces,
                  .rule = r->name};
    auto same =
        std::find_if(p.access_entries.begin(), p.access_entries.end(),
                     [&](const AccessEntry& e) { return e.principal_arn == a.principal_arn; });
    if (same != p.access_entries.end()) {
      *same = std::move(a);
    } else {
      p.access_entries.push_back(std::move(a));
    }
  }
  return absl::OkStatus();
}

absl::Status ReadNetwork(const sdk::Fields& params, const policy::Policies& policies, Params& p) {
  PLATFORM_ASSIGN_OR_RETURN(sdk::Fields net, params.Object("network"));
  Network& n = p.network;
  PLATFORM_ASSIGN_OR_RETURN(n.environment, net.String("environment", ""));
  PLATFORM_ASSIGN_OR_RETURN(n.vpc_id, net.String("vpcId", ""));
  PLATFORM_ASSIGN_OR_RETURN(n.private_subnet_ids,
                            compose::ReadAwsIds(net, "privateSubnetIds", "subnet-", "subnet"));
  PLATFORM_ASSIGN_OR_RETURN(n.public_subnet_ids,
                            compose::ReadAwsIds(net, "publicSubnetIds", "subnet-", "subnet"));
  PLATFORM_ASSIGN_OR_RETURN(n.security_group_ids,
                            compose::ReadAwsIds(net, "securityGroupIds", "sg-", "security group"));
  PLATFORM_ASSIGN_OR_RETURN(n.vpc_cidr, net.String("vpcCidr", ""));
  if (!n.vpc_cidr.empty()) {
    if (!n.environment.empty()) {
      return FieldError(JoinPath(net.path(), "vpcCidr"),
                        "only with vpcId: the environment publishes its own block");
    }
    absl::StatusOr<network::Cidr> c = network::Cidr::Parse(n.vpc_cidr);
    if (!c.ok()) {
      return FieldError(JoinPath(net.path(), "vpcCidr"), std::string(c.status().message()));
    }
  }
  if (!n.environment.empty()) {
    if (!IsDnsLabel(n.environment)) {
      return FieldError(JoinPath(net.path(), "environment"),
                        sdk::Cat("\"", n.environment, "\" is not an XEnvironment name"));
    }
    if (!n.vpc_id.empty() || !n.private_subnet_ids.empty() || !n.public_subnet_ids.empty()) {
      return FieldError(JoinPath(net.path(), "environment"),
                        "give either an environment or vpcId and subnet ids, not both");
    }
  } else {
    if (!n.vpc_id.starts_with("vpc-")) {
      return FieldError(JoinPath(net.path(), "vpcId"),
                        n.vpc_id.empty()
                            ? std::string("required unless network.environment names an "
                                          "XEnvironment")
                            : sdk::Cat("\"", n.vpc_id, "\" is not a VPC id (vpc-...)"));
    }
    if (n.private_subnet_ids.size() < 2) {
      return FieldError(JoinPath(net.path(), "privateSubnetIds"),
                        "a cluster needs at least two subnets, in different availability zones");
    }
    if (p.provisioner == Provisioner::kCapiKubeadm && p.endpoint_access != "Private" &&
        n.public_subnet_ids.empty()) {
      return FieldError(JoinPath(net.path(), "publicSubnetIds"),
                        sdk::Cat("required for endpoint access ", p.endpoint_access,
                                 " of a Kubeadm cluster: its API load balancer goes there"));
    }
  }
  // The class's mandated groups come after the user's, each once.
  for (const std::string& sg : policies.MandatedSecurityGroups(p.subject.environment_class)) {
    if (std::find(n.security_group_ids.begin(), n.security_group_ids.end(), sg) ==
        n.security_group_ids.end()) {
      n.security_group_ids.push_back(sg);
    }
  }
  return absl::OkStatus();
}

absl::Status ReadAddons(const sdk::Fields& params, Params& p) {
  PLATFORM_ASSIGN_OR_RETURN(std::vector<sdk::Fields> addons, params.ObjectList("addons"));
  if (!addons.empty() && p.provisioner == Provisioner::kCapiKubeadm) {
    return FieldError(JoinPath(params.path(), "addons"),
                      "EKS add-ons need an EKS cluster (flavor EKS or provisioner AWS)");
  }
  std::set<std::string> names;
  for (const sdk::Fields& f : addons) {
    Addon a;
    PLATFORM_ASSIGN_OR_RETURN(
        a.name, f.Enum("name", {"vpc-cni", "coredns", "kube-proxy", "aws-ebs-csi-driver",
                                "eks-pod-identity-agent"}));
    if (!names.insert(a.name).second) {
      return FieldError(JoinPath(f.path(), "name"),
                        sdk::Cat("add-on \"", a.name, "\" is listed twice"));
    }
    PLATFORM_ASSIGN_OR_RETURN(a.version, f.String("version", ""));
    if (a.version.empty() && !IsSelfManagedAddon(a.name)) {
      return FieldError(JoinPath(f.path(), "version"),
                        sdk::Cat("required for ", a.name, ": EKS does not install it by itself"));
    }
    p.addons.push_back(std::move(a));
  }
  // Add-ons that call AWS get their permissions from EKS Pod Identity, whose
  // agent must run on the nodes to hand them out.
  if (p.provisioner == Provisioner::kCapiKubeadm || names.contains("eks-pod-identity-agent")) {
    return absl::OkStatus();
  }
  const std::string path = JoinPath(params.path(), "addons");
  if (names.contains("aws-ebs-csi-driver")) {
    return FieldError(path,
                      "aws-ebs-csi-driver gets its AWS permissions through EKS Pod Identity; "
                      "list eks-pod-identity-agent (with a version) too");
  }
  if (p.limits->vpc_cni_pod_identity) {
    return policy::FieldViolation(
        path, sdk::Cat(p.subject.environment_class,
                       " clusters give the VPC CNI its AWS permissions through EKS Pod Identity "
                       "(policy classes.",
                       p.subject.environment_class,
                       ".cluster.vpcCniPodIdentity); list eks-pod-identity-agent (with a "
                       "version) in the add-ons"));
  }
  return absl::OkStatus();
}

absl::Status ReadControlPlane(const sdk::Fields& params, Params& p) {
  const bool given = params.Has("controlPlane");
  if (p.provisioner != Provisioner::kCapiKubeadm) {
    if (given) {
      return FieldError(JoinPath(params.path(), "controlPlane"),
                        "only for flavor Kubeadm: EKS runs the control plane");
    }
    return absl::OkStatus();
  }
  static const sdk::Json kNone = sdk::Json::object();
  sdk::Fields cp(kNone, JoinPath(params.path(), "controlPlane"));
  if (given) {
    PLATFORM_ASSIGN_OR_RETURN(cp, params.Object("controlPlane"));
  }
  KubeadmControlPlane& c = p.control_plane;
  // An etcd quorum survives a lost machine from three members on; prod has
  // three by default.
  PLATFORM_ASSIGN_OR_RETURN(c.replicas,
                            cp.Int("replicas", p.subject.environment_class == "prod" ? 3 : 1));
  if (c.replicas != 1 && c.replicas != 3 && c.replicas != 5) {
    return FieldError(JoinPath(cp.path(), "replicas"),
                      "must be 1, 3 or 5 (an odd number keeps an etcd quorum)");
  }
  if (p.subject.environment_class == "prod" && c.replicas < 3) {
    return policy::FieldViolation(JoinPath(cp.path(), "replicas"),
                                  "prod control planes need at least 3 replicas");
  }
  PLATFORM_ASSIGN_OR_RETURN(c.instance_type, cp.String("instanceType", "m6i.large"));
  PLATFORM_RETURN_IF_ERROR(
      CheckInstanceType(cp, "instanceType", c.instance_type, p.subject, *p.limits));
  PLATFORM_ASSIGN_OR_RETURN(c.disk_size, cp.Int("diskSize", 50));
  if (c.disk_size < 20 || c.disk_size > 16384) {
    return FieldError(JoinPath(cp.path(), "diskSize"), "must be between 20 and 16384 (GiB)");
  }
  return absl::OkStatus();
}

// A Cluster API cluster is reconciled from the management cluster, which
// must reach its API server: a Private endpoint only through the class's
// management path. The AWS provisioner needs none: the AWS provider
// manages its cluster through the AWS API, never through the API server.
absl::Status CheckManagementPath(const sdk::Fields& params, const Params& p) {
  if (p.provisioner == Provisioner::kAws || p.endpoint_access != "Private" ||
      p.management_path.configured()) {
    return absl::OkStatus();
  }
  return FieldError(
      JoinPath(params.path(), "endpointAccess"),
      sdk::Cat("a Private endpoint of a Cluster API cluster is out of reach of Cluster API "
               "and CAPA in the management cluster unless the ",
               p.subject.environment_class,
               " policy gives a management path: the platform team sets policy.classes.",
               p.subject.environment_class,
               ".network.managementPath (transitGatewayId, cidrs); until then use endpoint "
               "access PublicAndPrivate, or provisioner AWS"));
}

// The blocks a Kubeadm cluster gives its pods and services: apart from each
// other and from the management network (the VPC's block is checked once
// the network is resolved, CheckClusterNetworkInVpc).
absl::Status ReadClusterNetwork(const sdk::Fields& params, Params& p) {
  const std::string base = JoinPath(params.path(), "clusterNetwork");
  if (!params.Has("clusterNetwork")) {
    if (p.provisioner != Provisioner::kCapiKubeadm) return absl::OkStatus();
  } else {
    if (p.provisioner != Provisioner::kCapiKubeadm) {
      return FieldError(base,
                        "only for flavor Kubeadm: EKS gives pods VPC addresses (vpc-cni) and "
                        "chooses the service block itself");
    }
    PLATFORM_ASSIGN_OR_RETURN(sdk::Fields f, params.Object("clusterNetwork"));
    ClusterNetwork& c = p.cluster_network;
    c.pod_cidr_given = f.Has("podCidr");
    c.service_cidr_given = f.Has("serviceCidr");
    PLATFORM_ASSIGN_OR_RETURN(c.pod_cidr, f.String("podCidr", c.pod_cidr));
    PLATFORM_ASSIGN_OR_RETURN(c.service_cidr, f.String("serviceCidr", c.service_cidr));
  }
  const ClusterNetwork& c = p.cluster_network;
  struct Block {
    std::string_view field;
    const std::string& cidr;
    bool given;
  };
  const Block blocks[] = {{"podCidr", c.pod_cidr, c.pod_cidr_given},
                          {"serviceCidr", c.service_cidr, c.service_cidr_given}};
  std::vector<network::Cidr> parsed;
  for (const Block& b : blocks) {
    const std::string path = JoinPath(base, b.field);
    absl::StatusOr<network::Cidr> block = network::Cidr::Parse(b.cidr);
    if (!block.ok()) return FieldError(path, std::string(block.status().message()));
    for (const std::string& m : p.management_path.cidrs) {
      absl::StatusOr<network::Cidr> mgmt = network::Cidr::Parse(m);
      if (mgmt.ok() && mgmt->Overlaps(*block)) {
        return FieldError(
            path,
            sdk::Cat(b.given ? "" : "the default ", b.cidr, " overlaps the management network ", m,
                     " (policy classes.", p.subject.environment_class,
                     ".network.managementPath.cidrs): the cluster would never answer it; "
                     "choose another block"));
      }
    }
    parsed.push_back(*block);
  }
  if (parsed[0].Overlaps(parsed[1])) {
    return FieldError(JoinPath(base, c.service_cidr_given ? "serviceCidr" : "podCidr"),
                      sdk::Cat("pods (", c.pod_cidr, ") and services (", c.service_cidr,
                               ") need blocks apart from each other"));
  }
  return absl::OkStatus();
}

absl::Status ReadPublicAccessCidrs(const sdk::Fields& params, Params& p) {
  PLATFORM_ASSIGN_OR_RETURN(p.public_access_cidrs, params.StringList("endpointPublicAccessCidrs"));
  const std::string path = JoinPath(params.path(), "endpointPublicAccessCidrs");
  if (p.public_access_cidrs.empty()) return absl::OkStatus();
  if (p.endpoint_access == "Private") {
    return FieldError(path, "only with endpoint access Public or PublicAndPrivate");
  }
  if (p.provisioner == Provisioner::kCapiKubeadm) {
    // The internet-facing load balancer serves the nodes too, through their
    // NAT gateways, which a list of CIDRs would have to name.
    return FieldError(path, "not supported for flavor Kubeadm; use endpoint access Private");
  }
  for (std::size_t i = 0; i < p.public_access_cidrs.size(); ++i) {
    absl::StatusOr<network::Cidr> c = network::Cidr::Parse(p.public_access_cidrs[i]);
    if (!c.ok()) {
      return FieldError(sdk::Cat(path, "[", i, "]"), std::string(c.status().message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace

bool IsSelfManagedAddon(std::string_view name) {
  return std::find(std::begin(kSelfManagedAddons), std::end(kSelfManagedAddons), name) !=
         std::end(kSelfManagedAddons);
}

bool IsDnsLabel(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s) {
    if (!(absl::ascii_islower(static_cast<unsigned char>(c)) ||
          absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '-')) {
      return false;
    }
  }
  return s.front() != '-' && s.back() != '-';
}

std::string_view Family(std::string_view instance_type) {
  return instance_type.substr(0, instance_type.find('.'));
}

bool IsArm(std::string_view family) {
  if (family == "a1") return true;  // the first Graviton
  std::size_t i = 0;
  while (i < family.size() && absl::ascii_isalpha(static_cast<unsigned char>(family[i]))) ++i;
  const std::size_t digits = i;
  while (i < family.size() && absl::ascii_isdigit(static_cast<unsigned char>(family[i]))) ++i;
  return i > digits && i < family.size() && family[i] == 'g';
}

std::string_view AmiType(std::string_view family) {
  const bool arm = IsArm(family);
  std::size_t letters = 0;
  while (letters < family.size() &&
         absl::ascii_isalpha(static_cast<unsigned char>(family[letters]))) {
    ++letters;
  }
  const std::string_view series = family.substr(0, letters);
  if (series == "inf" || series == "trn") return "AL2023_x86_64_NEURON";
  const bool nvidia = series == "p" || series == "gr" || (series == "g" && family != "g4ad");
  if (nvidia) return arm ? "AL2023_ARM_64_NVIDIA" : "AL2023_x86_64_NVIDIA";
  return arm ? "AL2023_ARM_64_STANDARD" : "AL2023_x86_64_STANDARD";
}

absl::StatusOr<Params> ReadParams(const compose::Xr& xr) {
  Params p;
  p.scope = xr.scope;
  p.subject = xr.subject;
  p.user_tags = xr.user_tags;
  p.parent = xr.composing_environment;
  const compose::Scope& scope = xr.scope;
  const policy::Policies& policies = *xr.policies;
  const sdk::Fields& params = xr.params;
  PLATFORM_ASSIGN_OR_RETURN(std::string provisioner,
                            params.Enum("provisioner", {"CAPI", "AWS"}, "CAPI"));
  PLATFORM_ASSIGN_OR_RETURN(std::string flavor, params.Enum("flavor", {"EKS", "Kubeadm"}, "EKS"));
  if (provisioner == "AWS") {
    if (flavor != "EKS") {
      return FieldError(JoinPath(params.path(), "flavor"),
                        "provisioner AWS makes EKS clusters; Kubeadm needs provisioner CAPI");
    }
    p.provisioner = Provisioner::kAws;
  } else {
    p.provisioner = flavor == "EKS" ? Provisioner::kCapiEks : Provisioner::kCapiKubeadm;
  }
  p.limits = &xr.limits->cluster;

  // Where the Cluster API objects and the kubeconfig Secret go.
  PLATFORM_ASSIGN_OR_RETURN(std::string ns_param, params.String("namespace", ""));
  if (scope.namespaced) {
    if (!ns_param.empty() && ns_param != scope.namespace_) {
      return FieldError(JoinPath(params.path(), "namespace"),
                        sdk::Cat("a namespaced XCluster composes into its own namespace \"",
                                 scope.namespace_, "\"; leave this unset"));
    }
    p.namespace_ = scope.namespace_;
  } else {
    p.namespace_ = ns_param.empty() ? p.subject.origin_namespace : ns_param;
    if (p.namespace_.empty()) {
      return FieldError(JoinPath(params.path(), "namespace"),
                        "required for an XR without the crossplane.io/claim-namespace label: "
                        "the kubeconfig Secret (and Cluster API objects) are namespaced");
    }
    if (!IsDnsLabel(p.namespace_)) {
      return FieldError(JoinPath(params.path(), "namespace"),
                        sdk::Cat("\"", p.namespace_, "\" is not a namespace name"));
    }
  }
  p.name = p.subject.xr_name;
  if (!IsDnsLabel(p.name) || p.name.size() > 40) {
    return FieldError("metadata.name",
                      "must be 1 to 40 lower-case letters, digits or '-' (it names the "
                      "cluster's objects and their labels)");
  }
  p.cluster_name = KubernetesClusterName(scope, p.name, p.provisioner);

  const auto& offered = policy::kKubernetesVersions;
  PLATFORM_ASSIGN_OR_RETURN(p.version, params.String("kubernetesVersion", offered[0]));
  if (std::find(std::begin(offered), std::end(offered), p.version) == std::end(offered)) {
    return FieldError(JoinPath(params.path(), "kubernetesVersion"),
                      sdk::Cat("must be one of ", fmt::format("{}", fmt::join(offered, ", ")),
                               ", not \"", p.version, "\""));
  }
  if (!p.limits->AllowsVersion(p.version)) {
    return policy::FieldViolation(
        JoinPath(params.path(), "kubernetesVersion"),
        sdk::Cat(p.subject.environment_class, " clusters may use Kubernetes ",
                 JoinList(p.limits->kubernetes_versions), ", not ", p.version));
  }
  PLATFORM_ASSIGN_OR_RETURN(
      p.endpoint_access,
      params.Enum("endpointAccess", {"Private", "PublicAndPrivate", "Public"}, "Private"));
  if (!p.limits->AllowsEndpointAccess(p.endpoint_access)) {
    return policy::FieldViolation(
        JoinPath(params.path(), "endpointAccess"),
        sdk::Cat(p.subject.environment_class, " clusters may use endpoint access ",
                 JoinList(p.limits->endpoint_access), ", not ", p.endpoint_access));
  }

  p.management_path = xr.limits->network.management_path;
  PLATFORM_RETURN_IF_ERROR(CheckManagementPath(params, p));

  PLATFORM_RETURN_IF_ERROR(ReadPublicAccessCidrs(params, p));
  PLATFORM_RETURN_IF_ERROR(ReadNetwork(params, policies, p));
  PLATFORM_RETURN_IF_ERROR(ReadControlPlane(params, p));
  PLATFORM_RETURN_IF_ERROR(ReadClusterNetwork(params, p));

  PLATFORM_ASSIGN_OR_RETURN(std::vector<sdk::Fields> pools, params.ObjectList("nodePools"));
  if (pools.empty()) {
    return FieldError(JoinPath(params.path(), "nodePools"), "at least one node pool is required");
  }
  std::set<std::string> pool_names;
  for (const sdk::Fields& f : pools) {
    NodePool pool;
    PLATFORM_RETURN_IF_ERROR(ReadPool(f, p.subject, *p.limits, pool));
    if (!pool_names.insert(pool.name).second) {
      return FieldError(JoinPath(f.path(), "name"),
                        sdk::Cat("node pool \"", pool.name, "\" is listed twice"));
    }
    p.pools.push_back(std::move(pool));
  }
  PLATFORM_RETURN_IF_ERROR(ReadAddons(params, p));
  PLATFORM_RETURN_IF_ERROR(ReadAccessEntries(params, policies, p));
  return p;
}

absl::Status CheckClusterNetworkInVpc(const Params& p) {
  if (p.provisioner != Provisioner::kCapiKubeadm || p.network.vpc_cidr.empty()) {
    return absl::OkStatus();
  }
  absl::StatusOr<network::Cidr> vpc = network::Cidr::Parse(p.network.vpc_cidr);
  if (!vpc.ok()) return absl::OkStatus();  // an environment's own error, not this XR's
  const std::string vpc_origin =
      p.network.environment.empty()
          ? std::string("spec.parameters.network.vpcCidr")
          : sdk::Cat("the environment ", p.network.environment, "'s status.vpcCidr");
  const ClusterNetwork& c = p.cluster_network;
  for (const auto& [field, cidr, given] :
       {std::tuple{"podCidr", c.pod_cidr, c.pod_cidr_given},
        std::tuple{"serviceCidr", c.service_cidr, c.service_cidr_given}}) {
    absl::StatusOr<network::Cidr> block = network::Cidr::Parse(cidr);
    if (!block.ok() || !block->Overlaps(*vpc)) continue;
    return FieldError(sdk::Cat("spec.parameters.clusterNetwork.", field),
                      sdk::Cat(given ? "" : "the default ", cidr, " overlaps the VPC's block ",
                               p.network.vpc_cidr, " (", vpc_origin,
                               "): addresses of the VPC would be shadowed inside the cluster; "
                               "choose a block outside it"));
  }
  return absl::OkStatus();
}

std::string KubernetesClusterName(const compose::Scope& scope, std::string_view xr_name,
                                  Provisioner provisioner) {
  if (provisioner == Provisioner::kCapiKubeadm) return std::string(xr_name);
  // EKS takes at most 100 characters; a namespace and a name make up to 104.
  return compose::EksClusterName(scope.namespaced ? sdk::Cat(scope.namespace_, "-", xr_name)
                                                  : std::string(xr_name));
}

}  // namespace platform::fn::renderers::xcluster
