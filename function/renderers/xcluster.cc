#include "function/renderers/xcluster.h"

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "function/policy/policy.h"
#include "function/renderers/network/zones.h"
#include "function/renderers/scope.h"
#include "function/renderers/subject.h"
#include "function/sdk/status_macros.h"
#include "function/sdk/strings.h"

namespace platform::fn::renderers {
namespace {

using sdk::FieldError;
using sdk::JoinPath;
using sdk::Json;

// Cluster API core at its storage version (v1beta2: references are
// {apiGroup, kind, name}); CAPA's own kinds at theirs (v1beta2 too).
constexpr std::string_view kCapiVersion = "cluster.x-k8s.io/v1beta2";
constexpr std::string_view kControlPlaneGroup = "controlplane.cluster.x-k8s.io";
constexpr std::string_view kControlPlaneVersion = "controlplane.cluster.x-k8s.io/v1beta2";
constexpr std::string_view kInfraGroup = "infrastructure.cluster.x-k8s.io";
constexpr std::string_view kInfraVersion = "infrastructure.cluster.x-k8s.io/v1beta2";

constexpr std::string_view kResourceLabel = "platform.terraforming.io/resource";
constexpr std::string_view kClusterNameLabel = "cluster.x-k8s.io/cluster-name";

// Composition resource names.
constexpr std::string_view kClusterResource = "cluster";
constexpr std::string_view kControlPlaneResource = "controlplane";
constexpr std::string_view kInfraClusterResource = "awsmanagedcluster";
std::string MachinePoolName(std::string_view pool) { return sdk::Cat("machinepool-", pool); }
std::string AwsMachinePoolName(std::string_view pool) { return sdk::Cat("awsmachinepool-", pool); }

// The Kubernetes versions the XRD offers, newest first.
constexpr std::string_view kVersions[] = {"1.34", "1.33", "1.32", "1.31"};
constexpr std::string_view kDefaultVersion = "1.34";

// What an environment class may have in a cluster. Kept here, beside the
// renderer, until function/policy grows cluster limits (see docs/xcluster.md).
struct ClusterLimits {
  std::string_view environment_class;
  std::vector<std::string_view> versions;
  // Largest maxSize of one node pool.
  int max_nodes_per_pool;
  std::vector<std::string_view> endpoint_access;
  // Instance families allowed; empty allows any.
  std::vector<std::string_view> instance_families;
};

const std::vector<std::string_view> kSmallFamilies = {
    "t3", "t3a", "t4g", "m5", "m6a", "m6g", "m6i", "m7g", "m7i", "c6g", "c6i", "c7g", "c7i", "r6i"};

const ClusterLimits& LimitsOf(std::string_view cls) {
  static const ClusterLimits kLimits[] = {
      {"dev",
       {"1.34", "1.33", "1.32", "1.31"},
       5,
       {"Private", "PublicAndPrivate", "Public"},
       kSmallFamilies},
      {"test",
       {"1.34", "1.33", "1.32", "1.31"},
       10,
       {"Private", "PublicAndPrivate", "Public"},
       kSmallFamilies},
      {"sandbox",
       {"1.34", "1.33", "1.32", "1.31"},
       5,
       {"Private", "PublicAndPrivate", "Public"},
       kSmallFamilies},
      {"prod", {"1.34", "1.33", "1.32"}, 100, {"Private", "PublicAndPrivate"}, {}},
  };
  for (const ClusterLimits& l : kLimits) {
    if (l.environment_class == cls) return l;
  }
  return kLimits[0];
}

bool Contains(const std::vector<std::string_view>& list, std::string_view v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

std::string JoinList(const std::vector<std::string_view>& list) {
  return fmt::format("{}", fmt::join(list, ", "));
}

// Add-ons EKS installs by itself when none is asked for (CAPA's
// bootstrapSelfManagedAddons, on by default): listed without a version they
// stay EKS's.
constexpr std::string_view kSelfManagedAddons[] = {"vpc-cni", "coredns", "kube-proxy"};

struct NodePool {
  std::string name;
  std::string instance_type;
  std::int64_t min = 1;
  std::int64_t max = 3;
  std::int64_t desired = 1;
  std::string capacity_type;  // ON_DEMAND | SPOT
  Json labels = Json::object();
  Json taints = Json::array();  // CAPA's form
  std::int64_t disk_size = 50;
};

struct Addon {
  std::string name;
  std::string version;
};

struct AccessEntry {
  std::string principal_arn;
  std::string policy;  // ClusterAdmin | Admin | Edit | View
  std::vector<std::string> namespaces;
};

struct Params {
  policy::Subject subject;
  // Where the Cluster API objects live.
  std::string namespace_;
  // metadata.name of the Cluster API objects, and the EKS cluster's name.
  std::string name;
  std::string eks_name;
  std::string version;  // 1.34
  std::string endpoint_access;
  std::string vpc_id;
  std::vector<std::string> subnet_ids;
  std::vector<std::string> security_group_ids;
  std::vector<NodePool> pools;
  std::vector<Addon> addons;
  std::vector<AccessEntry> access_entries;
  Json user_tags = Json::object();
};

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

// The family of an instance type: "m6i" of "m6i.large".
std::string_view Family(std::string_view instance_type) {
  return instance_type.substr(0, instance_type.find('.'));
}

// Graviton families have a `g` right after the generation: m7g, t4g, c7gn.
bool IsArm(std::string_view family) {
  std::size_t i = 0;
  while (i < family.size() && absl::ascii_isalpha(static_cast<unsigned char>(family[i]))) ++i;
  const std::size_t digits = i;
  while (i < family.size() && absl::ascii_isdigit(static_cast<unsigned char>(family[i]))) ++i;
  return i > digits && i < family.size() && family[i] == 'g';
}

absl::Status ReadPool(const sdk::Fields& f, const policy::Subject& subject,
                      const ClusterLimits& limits, NodePool& p) {
  PLATFORM_ASSIGN_OR_RETURN(p.name, f.String("name"));
  if (!IsDnsLabel(p.name) || p.name.size() > 20) {
    return FieldError(JoinPath(f.path(), "name"),
                      "must be 1 to 20 lower-case letters, digits or '-', starting and ending "
                      "with a letter or digit");
  }
  PLATFORM_ASSIGN_OR_RETURN(p.instance_type, f.String("instanceType"));
  const std::size_t dot = p.instance_type.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == p.instance_type.size()) {
    return FieldError(JoinPath(f.path(), "instanceType"),
                      sdk::Cat("\"", p.instance_type, "\" is not an EC2 instance type"));
  }
  if (!limits.instance_families.empty() &&
      !Contains(limits.instance_families, Family(p.instance_type))) {
    return policy::FieldViolation(
        JoinPath(f.path(), "instanceType"),
        sdk::Cat(subject.environment_class, " clusters may use instance families ",
                 JoinList(limits.instance_families), ", not ", Family(p.instance_type)));
  }
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
    const std::string_view capa = effect == "NoSchedule"  ? "no-schedule"
                                  : effect == "NoExecute" ? "no-execute"
                                                          : "prefer-no-schedule";
    p.taints.push_back({{"key", key}, {"value", value}, {"effect", capa}});
  }
  return absl::OkStatus();
}

absl::Status ReadAccessEntries(const sdk::Fields& params, Params& p) {
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
  return absl::OkStatus();
}

absl::StatusOr<Params> ReadParams(const sdk::Fields& xr, const policy::Policies& policies,
                                  const Scope& scope) {
  Params p;
  PLATFORM_ASSIGN_OR_RETURN(p.subject.xr_name, xr.String("metadata.name"));
  PLATFORM_ASSIGN_OR_RETURN(p.subject.xr_kind, xr.String("kind"));
  PLATFORM_ASSIGN_OR_RETURN(std::string claim_ns,
                            xr.String("metadata.labels[crossplane.io/claim-namespace]", ""));
  p.subject.origin_namespace = scope.namespaced ? scope.namespace_ : claim_ns;

  PLATFORM_ASSIGN_OR_RETURN(sdk::Fields params, xr.Object("spec.parameters"));
  PLATFORM_ASSIGN_OR_RETURN(std::string provisioner, params.Enum("provisioner", {"CAPI"}, "CAPI"));
  PLATFORM_ASSIGN_OR_RETURN(std::string flavor, params.Enum("flavor", {"EKS"}, "EKS"));
  (void)provisioner;
  (void)flavor;
  PLATFORM_RETURN_IF_ERROR(ReadSubjectParams(params, p.subject, p.user_tags));

  // Authorization first: a denied request learns nothing else.
  PLATFORM_RETURN_IF_ERROR(policies.Authorize(p.subject));
  const policy::ClassLimits& class_limits = policies.Limits(p.subject.environment_class);
  const ClusterLimits& limits = LimitsOf(p.subject.environment_class);
  if (network::ZoneLetters(p.subject.region).empty()) {
    return FieldError(JoinPath(params.path(), "region"),
                      sdk::Cat("unknown AWS region \"", p.subject.region,
                               "\"; known regions: ", JoinList(network::KnownRegions())));
  }
  if (!class_limits.AllowsRegion(p.subject.region)) {
    return policy::FieldViolation(
        JoinPath(params.path(), "region"),
        sdk::Cat(p.subject.environment_class, " environments may only use ",
                 fmt::format("{}", fmt::join(class_limits.allowed_regions, ", "))));
  }

  // Where the Cluster API objects go: a namespaced XR's own namespace, else
  // the claim's, else spec.parameters.namespace.
  PLATFORM_ASSIGN_OR_RETURN(std::string ns_param, params.String("namespace", ""));
  if (scope.namespaced) {
    if (!ns_param.empty() && ns_param != scope.namespace_) {
      return FieldError(JoinPath(params.path(), "namespace"),
                        sdk::Cat("a namespaced XCluster composes into its own namespace \"",
                                 scope.namespace_, "\"; leave this unset"));
    }
    p.namespace_ = scope.namespace_;
  } else {
    p.namespace_ = ns_param.empty() ? claim_ns : ns_param;
    if (p.namespace_.empty()) {
      return FieldError(JoinPath(params.path(), "namespace"),
                        "required for an XR without the crossplane.io/claim-namespace label: "
                        "Cluster API objects are namespaced");
    }
    if (!IsDnsLabel(p.namespace_)) {
      return FieldError(JoinPath(params.path(), "namespace"),
                        sdk::Cat("\"", p.namespace_, "\" is not a namespace name"));
    }
  }
  p.name = p.subject.xr_name;
  if (!IsDnsLabel(p.name) || p.name.size() > 40) {
    return FieldError("metadata.name",
                      "must be 1 to 40 lower-case letters, digits or '-' (it names the Cluster "
                      "API objects and their labels)");
  }
  p.eks_name = scope.namespaced ? sdk::Cat(scope.namespace_, "-", p.name) : p.name;

  PLATFORM_ASSIGN_OR_RETURN(p.version, params.String("kubernetesVersion", kDefaultVersion));
  if (std::find(std::begin(kVersions), std::end(kVersions), p.version) == std::end(kVersions)) {
    return FieldError(JoinPath(params.path(), "kubernetesVersion"),
                      sdk::Cat("must be one of ", fmt::format("{}", fmt::join(kVersions, ", ")),
                               ", not \"", p.version, "\""));
  }
  if (!Contains(limits.versions, p.version)) {
    return policy::FieldViolation(
        JoinPath(params.path(), "kubernetesVersion"),
        sdk::Cat(p.subject.environment_class, " clusters may use Kubernetes ",
                 JoinList(limits.versions), ", not ", p.version));
  }
  PLATFORM_ASSIGN_OR_RETURN(
      p.endpoint_access,
      params.Enum("endpointAccess", {"Private", "PublicAndPrivate", "Public"}, "Private"));
  if (!Contains(limits.endpoint_access, p.endpoint_access)) {
    return policy::FieldViolation(
        JoinPath(params.path(), "endpointAccess"),
        sdk::Cat(p.subject.environment_class, " clusters may use endpoint access ",
                 JoinList(limits.endpoint_access), ", not ", p.endpoint_access));
  }

  PLATFORM_ASSIGN_OR_RETURN(sdk::Fields net, params.Object("network"));
  PLATFORM_ASSIGN_OR_RETURN(p.vpc_id, net.String("vpcId"));
  if (!p.vpc_id.starts_with("vpc-")) {
    return FieldError(JoinPath(net.path(), "vpcId"),
                      sdk::Cat("\"", p.vpc_id, "\" is not a VPC id (vpc-...)"));
  }
  PLATFORM_ASSIGN_OR_RETURN(p.subnet_ids, net.StringList("privateSubnetIds"));
  if (p.subnet_ids.size() < 2) {
    return FieldError(JoinPath(net.path(), "privateSubnetIds"),
                      "EKS needs at least two subnets, in different availability zones");
  }
  std::set<std::string> seen;
  for (std::size_t i = 0; i < p.subnet_ids.size(); ++i) {
    const std::string path = sdk::Cat(JoinPath(net.path(), "privateSubnetIds"), "[", i, "]");
    if (!p.subnet_ids[i].starts_with("subnet-")) {
      return FieldError(path, sdk::Cat("\"", p.subnet_ids[i], "\" is not a subnet id"));
    }
    if (!seen.insert(p.subnet_ids[i]).second) {
      return FieldError(path, sdk::Cat(p.subnet_ids[i], " is listed twice"));
    }
  }
  PLATFORM_ASSIGN_OR_RETURN(std::vector<std::string> sgs, net.StringList("securityGroupIds"));
  for (std::size_t i = 0; i < sgs.size(); ++i) {
    if (!sgs[i].starts_with("sg-")) {
      return FieldError(sdk::Cat(JoinPath(net.path(), "securityGroupIds"), "[", i, "]"),
                        sdk::Cat("\"", sgs[i], "\" is not a security group id"));
    }
  }
  // The class's mandated groups come after the user's, each once.
  for (const std::string& sg : policies.MandatedSecurityGroups(p.subject.environment_class)) {
    sgs.push_back(sg);
  }
  for (const std::string& sg : sgs) {
    if (std::find(p.security_group_ids.begin(), p.security_group_ids.end(), sg) ==
        p.security_group_ids.end()) {
      p.security_group_ids.push_back(sg);
    }
  }

  PLATFORM_ASSIGN_OR_RETURN(std::vector<sdk::Fields> pools, params.ObjectList("nodePools"));
  if (pools.empty()) {
    return FieldError(JoinPath(params.path(), "nodePools"), "at least one node pool is required");
  }
  std::set<std::string> pool_names;
  for (const sdk::Fields& f : pools) {
    NodePool pool;
    PLATFORM_RETURN_IF_ERROR(ReadPool(f, p.subject, limits, pool));
    if (!pool_names.insert(pool.name).second) {
      return FieldError(JoinPath(f.path(), "name"),
                        sdk::Cat("node pool \"", pool.name, "\" is listed twice"));
    }
    p.pools.push_back(std::move(pool));
  }

  PLATFORM_ASSIGN_OR_RETURN(std::vector<sdk::Fields> addons, params.ObjectList("addons"));
  std::set<std::string> addon_names;
  for (const sdk::Fields& f : addons) {
    Addon a;
    PLATFORM_ASSIGN_OR_RETURN(
        a.name, f.Enum("name", {"vpc-cni", "coredns", "kube-proxy", "aws-ebs-csi-driver",
                                "eks-pod-identity-agent"}));
    if (!addon_names.insert(a.name).second) {
      return FieldError(JoinPath(f.path(), "name"),
                        sdk::Cat("add-on \"", a.name, "\" is listed twice"));
    }
    PLATFORM_ASSIGN_OR_RETURN(a.version, f.String("version", ""));
    const bool self_managed =
        std::find(std::begin(kSelfManagedAddons), std::end(kSelfManagedAddons), a.name) !=
        std::end(kSelfManagedAddons);
    if (a.version.empty() && !self_managed) {
      return FieldError(JoinPath(f.path(), "version"),
                        sdk::Cat("required for ", a.name,
                                 ": EKS does not install it by itself and CAPA needs a version"));
    }
    p.addons.push_back(std::move(a));
  }
  PLATFORM_RETURN_IF_ERROR(ReadAccessEntries(params, p));
  return p;
}

// --- Readiness ------------------------------------------------------------------

// True when `object` has a condition of `type` with status True, in
// status.conditions or in the v1beta1 conditions Cluster API v1beta2 keeps
// under status.deprecated.v1beta1.conditions.
bool ConditionTrue(const Json& object, std::string_view type) {
  const sdk::Fields f(object);
  for (std::string_view path : {"status.conditions", "status.deprecated.v1beta1.conditions"}) {
    absl::StatusOr<const Json*> list = f.Find(path);
    if (!list.ok() || *list == nullptr || !(*list)->is_array()) continue;
    for (const Json& c : **list) {
      if (c.is_object() && c.value("type", "") == type && c.value("status", "") == "True") {
        return true;
      }
    }
  }
  return false;
}

std::string StatusString(const Json& object, std::string_view path) {
  return sdk::Fields(object).String(path, "").value_or("");
}

bool StatusReadyFlag(const Json& object) {
  return sdk::Fields(object).Bool("status.ready", false).value_or(false);
}

enum class Kind { kCluster, kControlPlane, kInfraCluster, kMachinePool, kAwsMachinePool, kUsage };

// The readiness rules of docs/xcluster.md. Crossplane cannot tell when a
// Cluster API object is ready (v1beta2 objects have no Ready condition), so
// the function decides for every object it composes.
bool IsReady(Kind kind, const Json& o) {
  switch (kind) {
    case Kind::kCluster:
      return ConditionTrue(o, "Available") || ConditionTrue(o, "Ready") ||
             StatusString(o, "status.phase") == "Provisioned";
    case Kind::kControlPlane:
    case Kind::kInfraCluster:
    case Kind::kAwsMachinePool:
      return StatusReadyFlag(o) || ConditionTrue(o, "Ready");
    case Kind::kMachinePool:
      return StatusString(o, "status.phase") == "Running" || ConditionTrue(o, "Available") ||
             ConditionTrue(o, "Ready");
    case Kind::kUsage:
      return ConditionTrue(o, "Ready");
  }
  return false;
}

// --- Composing --------------------------------------------------------------------

class Composer {
 public:
  Composer(const Params& p, const sdk::Request& req, sdk::Response& rsp)
      : p_(p), req_(req), rsp_(rsp) {}

  // Adds one namespaced object, named `object_name`, in the Cluster API
  // namespace, with its readiness decided by `kind`'s rule.
  void Add(const std::string& name, Kind kind, std::string_view api_version,
           std::string_view object_kind, const std::string& object_name, Json spec) {
    Json labels = {{std::string(kResourceLabel), name}, {std::string(kClusterNameLabel), p_.name}};
    Json object = {
        {"apiVersion", api_version},
        {"kind", object_kind},
        {"metadata",
         {{"name", object_name}, {"namespace", p_.namespace_}, {"labels", std::move(labels)}}},
        {"spec", std::move(spec)}};
    const sdk::Observed* observed = req_.ObservedResource(name);
    if (observed == nullptr) new_.push_back(name);
    const bool ready = observed != nullptr && IsReady(kind, observed->object);
    rsp_.SetDesired(name, std::move(object), ready ? pb::READY_TRUE : pb::READY_FALSE);
  }

  // Deletion order: the object `of` is kept until `by` is gone.
  void Usage(std::string_view of_api_version, std::string_view of_kind, const std::string& of_name,
             const std::string& by_resource, std::string_view by_api_version,
             std::string_view by_kind, const std::string& by_name) {
    const std::string name = sdk::Cat("usage-", kControlPlaneResource, "-by-", by_resource);
    Add(name, Kind::kUsage, "protection.crossplane.io/v1beta1", "Usage",
        sdk::Cat(p_.name, "-", by_resource),
        {{"replayDeletion", true},
         {"of",
          {{"apiVersion", of_api_version},
           {"kind", of_kind},
           {"resourceRef", {{"name", of_name}}}}},
         {"by",
          {{"apiVersion", by_api_version},
           {"kind", by_kind},
           {"resourceRef", {{"name", by_name}}}}}});
  }

  const std::vector<std::string>& NewNames() const { return new_; }

 private:
  const Params& p_;
  const sdk::Request& req_;
  sdk::Response& rsp_;
  std::vector<std::string> new_;
};

std::string ControlPlaneObjectName(const Params& p) { return sdk::Cat(p.name, "-control-plane"); }
std::string PoolObjectName(const Params& p, const NodePool& pool) {
  return sdk::Cat(p.name, "-", pool.name);
}

Json ControlPlaneSpec(const Params& p, const Json& tags) {
  Json subnets = Json::array();
  for (const std::string& id : p.subnet_ids) subnets.push_back({{"id", id}});
  Json spec = {
      {"eksClusterName", p.eks_name},
      {"region", p.subject.region},
      // CAPA uses MAJOR.MINOR of the version.
      {"version", sdk::Cat("v", p.version)},
      {"network", {{"vpc", {{"id", p.vpc_id}}}, {"subnets", std::move(subnets)}}},
      {"endpointAccess",
       {{"public", p.endpoint_access != "Private"}, {"private", p.endpoint_access != "Public"}}},
      // Access entries need the API authentication mode; the config map
      // stays for nodes CAPA maps through it.
      {"accessConfig",
       {{"authenticationMode", "api_and_config_map"},
        {"bootstrapClusterCreatorAdminPermissions", true}}},
      {"additionalTags", tags},
  };
  Json addons = Json::array();
  for (const Addon& a : p.addons) {
    if (a.version.empty()) continue;  // EKS's own, see kSelfManagedAddons
    addons.push_back({{"name", a.name}, {"version", a.version}});
  }
  if (!addons.empty()) spec["addons"] = std::move(addons);
  Json entries = Json::array();
  for (const AccessEntry& e : p.access_entries) {
    Json scope = {{"type", e.namespaces.empty() ? "cluster" : "namespace"}};
    if (!e.namespaces.empty()) scope["namespaces"] = e.namespaces;
    entries.push_back({{"principalARN", e.principal_arn},
                       {"type", "standard"},
                       {"accessPolicies",
                        {{{"policyARN", sdk::Cat("arn:aws:eks::aws:cluster-access-policy/AmazonEKS",
                                                 e.policy, "Policy")},
                          {"accessScope", std::move(scope)}}}}});
  }
  if (!entries.empty()) spec["accessEntries"] = std::move(entries);
  return spec;
}

Json AwsMachinePoolSpec(const Params& p, const NodePool& pool, const Json& tags) {
  Json spec = {
      {"scaling", {{"minSize", pool.min}, {"maxSize", pool.max}}},
      {"capacityType", pool.capacity_type == "SPOT" ? "spot" : "onDemand"},
      // AL2 images are not published for Kubernetes 1.33 and later.
      {"amiType",
       IsArm(Family(pool.instance_type)) ? "AL2023_ARM_64_STANDARD" : "AL2023_x86_64_STANDARD"},
      {"subnetIDs", p.subnet_ids},
      {"additionalTags", tags},
  };
  if (p.security_group_ids.empty()) {
    spec["instanceType"] = pool.instance_type;
    spec["diskSize"] = pool.disk_size;
  } else {
    // Extra security groups need a launch template, which then holds the
    // instance type and disk (EKS refuses them beside one).
    Json groups = Json::array();
    for (const std::string& sg : p.security_group_ids) groups.push_back({{"id", sg}});
    spec["awsLaunchTemplate"] = {{"instanceType", pool.instance_type},
                                 {"rootVolume", {{"size", pool.disk_size}}},
                                 {"additionalSecurityGroups", std::move(groups)}};
  }
  if (!pool.labels.empty()) spec["labels"] = pool.labels;
  if (!pool.taints.empty()) spec["taints"] = pool.taints;
  return spec;
}

Json MachinePoolSpec(const Params& p, const NodePool& pool) {
  return {{"clusterName", p.name},
          {"replicas", pool.desired},
          {"template",
           {{"spec",
             {{"clusterName", p.name},
              // EKS bootstraps managed nodes itself.
              {"bootstrap", {{"dataSecretName", ""}}},
              {"infrastructureRef",
               {{"apiGroup", kInfraGroup},
                {"kind", "AWSManagedMachinePool"},
                {"name", PoolObjectName(p, pool)}}}}}}}};
}

struct Staging {
  bool control_plane_ready = false;
  // Pools held back until the control plane is ready.
  std::vector<std::string> waiting;
};

Staging Compose(const Params& p, const Json& tags, const sdk::Request& req, Composer& c) {
  c.Add(std::string(kClusterResource), Kind::kCluster, kCapiVersion, "Cluster", p.name,
        {{"controlPlaneRef",
          {{"apiGroup", kControlPlaneGroup},
           {"kind", "AWSManagedControlPlane"},
           {"name", ControlPlaneObjectName(p)}}},
         {"infrastructureRef",
          {{"apiGroup", kInfraGroup}, {"kind", "AWSManagedCluster"}, {"name", p.name}}}});
  c.Add(std::string(kInfraClusterResource), Kind::kInfraCluster, kInfraVersion, "AWSManagedCluster",
        p.name, Json::object());
  c.Add(std::string(kControlPlaneResource), Kind::kControlPlane, kControlPlaneVersion,
        "AWSManagedControlPlane", ControlPlaneObjectName(p), ControlPlaneSpec(p, tags));

  Staging s;
  const sdk::Observed* cp = req.ObservedResource(kControlPlaneResource);
  s.control_plane_ready = cp != nullptr && IsReady(Kind::kControlPlane, cp->object);
  for (const NodePool& pool : p.pools) {
    const std::string mp = MachinePoolName(pool.name);
    const std::string amp = AwsMachinePoolName(pool.name);
    // Once a pool's objects exist they stay desired, whatever the control
    // plane's readiness does: dropping them would delete the node group.
    const bool exists = req.ObservedResource(mp) != nullptr || req.ObservedResource(amp) != nullptr;
    if (!s.control_plane_ready && !exists) {
      s.waiting.push_back(pool.name);
      continue;
    }
    const std::string object_name = PoolObjectName(p, pool);
    c.Add(amp, Kind::kAwsMachinePool, kInfraVersion, "AWSManagedMachinePool", object_name,
          AwsMachinePoolSpec(p, pool, tags));
    c.Add(mp, Kind::kMachinePool, kCapiVersion, "MachinePool", object_name,
          MachinePoolSpec(p, pool));
    // Node groups go before the control plane: EKS refuses to delete a
    // cluster that still has node groups.
    c.Usage(kControlPlaneVersion, "AWSManagedControlPlane", ControlPlaneObjectName(p), mp,
            kCapiVersion, "MachinePool", object_name);
    c.Usage(kControlPlaneVersion, "AWSManagedControlPlane", ControlPlaneObjectName(p), amp,
            kInfraVersion, "AWSManagedMachinePool", object_name);
  }
  return s;
}

absl::Status WriteStatus(const Params& p, const Staging& s, const sdk::Request& req,
                         sdk::Response& rsp) {
  PLATFORM_RETURN_IF_ERROR(rsp.SetCompositeStatus("clusterName", p.eks_name));
  PLATFORM_RETURN_IF_ERROR(rsp.SetCompositeStatus("namespace", p.namespace_));
  PLATFORM_RETURN_IF_ERROR(
      rsp.SetCompositeStatus("kubeconfigSecretName", sdk::Cat(p.name, "-kubeconfig")));
  PLATFORM_RETURN_IF_ERROR(
      rsp.SetCompositeStatus("userKubeconfigSecretName", sdk::Cat(p.name, "-user-kubeconfig")));
  PLATFORM_RETURN_IF_ERROR(rsp.SetCompositeStatus("controlPlaneReady", s.control_plane_ready));
  if (const sdk::Observed* cp = req.ObservedResource(kControlPlaneResource); cp != nullptr) {
    const std::string version = StatusString(cp->object, "status.version");
    if (!version.empty()) PLATFORM_RETURN_IF_ERROR(rsp.SetCompositeStatus("version", version));
    const std::string host = StatusString(cp->object, "spec.controlPlaneEndpoint.host");
    if (!host.empty()) {
      const std::int64_t port =
          sdk::Fields(cp->object).Int("spec.controlPlaneEndpoint.port", 443).value_or(443);
      const std::string base = host.starts_with("https://") ? host : sdk::Cat("https://", host);
      PLATFORM_RETURN_IF_ERROR(
          rsp.SetCompositeStatus("endpoint", port == 443 ? base : sdk::Cat(base, ":", port)));
    }
  }
  for (const NodePool& pool : p.pools) {
    const std::string base = sdk::Cat("nodePools.", pool.name, ".");
    if (std::find(s.waiting.begin(), s.waiting.end(), pool.name) != s.waiting.end()) {
      PLATFORM_RETURN_IF_ERROR(
          rsp.SetCompositeStatus(sdk::Cat(base, "phase"), "WaitingForControlPlane"));
      PLATFORM_RETURN_IF_ERROR(rsp.SetCompositeStatus(sdk::Cat(base, "ready"), false));
      continue;
    }
    const sdk::Observed* mp = req.ObservedResource(MachinePoolName(pool.name));
    std::string phase = mp == nullptr ? "" : StatusString(mp->object, "status.phase");
    if (phase.empty()) phase = "Pending";
    PLATFORM_RETURN_IF_ERROR(rsp.SetCompositeStatus(sdk::Cat(base, "phase"), phase));
    PLATFORM_RETURN_IF_ERROR(rsp.SetCompositeStatus(
        sdk::Cat(base, "ready"), mp != nullptr && IsReady(Kind::kMachinePool, mp->object)));
    if (mp != nullptr) {
      const sdk::Fields f(mp->object);
      for (std::string_view field : {"replicas", "readyReplicas"}) {
        absl::StatusOr<const Json*> v = f.Find(sdk::Cat("status.", field));
        if (v.ok() && *v != nullptr && (*v)->is_number_integer()) {
          PLATFORM_RETURN_IF_ERROR(rsp.SetCompositeStatus(sdk::Cat(base, field), **v));
        }
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<policy::Policies> LoadPolicies(const sdk::Request& req, sdk::Response& rsp,
                                              bool& waiting) {
  const sdk::Json& input = req.Input();
  const sdk::Json* environment_config = nullptr;
  std::optional<std::vector<Json>> configs;
  waiting = false;
  if (std::optional<pb::ResourceSelector> selector =
          policy::Policies::EnvironmentConfigSelector(input)) {
    configs = req.RequiredResources(policy::Policies::RequirementKey());
    rsp.RequireResources(std::string(policy::Policies::RequirementKey()), *selector);
    if (!configs) {
      // Crossplane calls again with the EnvironmentConfig.
      waiting = true;
      return policy::Policies();
    }
    if (configs->empty()) {
      return FieldError(
          "input.policy.environmentConfigRef.name",
          sdk::Cat("EnvironmentConfig \"", selector->match_name(), "\" does not exist"));
    }
    environment_config = &configs->front();
  }
  return policy::Policies::Load(input, environment_config);
}

}  // namespace

namespace {

// Claim-based XRs publish the kubeconfig as their connection details, which
// Crossplane writes to the claim's connection Secret. Cluster API writes it
// to the Secret <name>-kubeconfig (key "value") once the control plane is up;
// the function asks for that Secret as a required resource from then on.
// Namespaced XRs have no connection details: their users read that Secret,
// named in status.kubeconfigSecretName, in their own namespace.
constexpr std::string_view kKubeconfigRequirement = "kubeconfig";

absl::Status PublishKubeconfig(const Params& p, const Scope& scope, const Staging& s,
                               const sdk::Request& req, sdk::Response& rsp) {
  if (scope.namespaced || !s.control_plane_ready) return absl::OkStatus();
  pb::ResourceSelector selector;
  selector.set_api_version("v1");
  selector.set_kind("Secret");
  selector.set_match_name(sdk::Cat(p.name, "-kubeconfig"));
  selector.set_namespace_(p.namespace_);
  rsp.RequireResources(std::string(kKubeconfigRequirement), std::move(selector));
  const std::optional<std::vector<Json>> found = req.RequiredResources(kKubeconfigRequirement);
  if (!found || found->empty()) return absl::OkStatus();
  const sdk::Fields secret(found->front(), sdk::Cat("required resource ", kKubeconfigRequirement));
  PLATFORM_ASSIGN_OR_RETURN(std::string encoded, secret.String("data.value", ""));
  if (encoded.empty()) return absl::OkStatus();
  std::string kubeconfig;
  if (!absl::Base64Unescape(encoded, &kubeconfig)) {
    return sdk::FieldError(sdk::JoinPath(secret.path(), "data.value"), "must be base64");
  }
  rsp.SetConnectionDetail("kubeconfig", std::move(kubeconfig));
  return absl::OkStatus();
}

}  // namespace

absl::Status XCluster::Render(const sdk::Request& req, sdk::Response& rsp) const {
  bool waiting = false;
  PLATFORM_ASSIGN_OR_RETURN(policy::Policies policies, LoadPolicies(req, rsp, waiting));
  if (waiting) return absl::OkStatus();

  const sdk::Fields xr = req.Composite();
  const Scope scope = ScopeOf(xr);
  PLATFORM_ASSIGN_OR_RETURN(Params p, ReadParams(xr, policies, scope));

  // CAPA tags every AWS resource it makes with additionalTags: user tags,
  // then the platform's mandated tags on top.
  Json tags = p.user_tags;
  tags.update(policies.MandatedTags(p.subject));

  Composer composer(p, req, rsp);
  const Staging staging = Compose(p, tags, req, composer);
  PLATFORM_RETURN_IF_ERROR(WriteStatus(p, staging, req, rsp));
  PLATFORM_RETURN_IF_ERROR(PublishKubeconfig(p, scope, staging, req, rsp));
  // Crossplane would call the XR ready once everything desired so far is;
  // pools still held back mean it is not.
  if (!staging.waiting.empty()) rsp.SetCompositeReady(pb::READY_FALSE);

  PLATFORM_RETURN_IF_ERROR(rsp.SetCondition("Authorized", pb::STATUS_CONDITION_TRUE, "Allowed", "",
                                            pb::TARGET_COMPOSITE_AND_CLAIM));
  PLATFORM_RETURN_IF_ERROR(rsp.SetCondition("PolicyCompliant", pb::STATUS_CONDITION_TRUE,
                                            "Compliant", "", pb::TARGET_COMPOSITE_AND_CLAIM));

  const std::vector<std::string>& fresh = composer.NewNames();
  if (!fresh.empty()) {
    rsp.Normal("ComposeResources",
               sdk::Cat("creating ", fresh.size(), " resources for the EKS cluster ", p.eks_name,
                        " (Kubernetes ", p.version, ", ", p.subject.environment_class, ", ",
                        p.subject.region, ")",
                        staging.waiting.empty()
                            ? std::string()
                            : sdk::Cat("; node pools ",
                                       fmt::format("{}", fmt::join(staging.waiting, ", ")),
                                       " wait for the control plane")));
  }
  return absl::OkStatus();
}

}  // namespace platform::fn::renderers
