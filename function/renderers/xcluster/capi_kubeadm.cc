// Cluster API, flavor Kubeadm: a self-managed control plane on EC2 (a
// KubeadmControlPlane with its AWSMachineTemplate) behind CAPA's API load
// balancer, an AWSCluster on the existing VPC, and per node pool a
// MachineDeployment with its AWSMachineTemplate and KubeadmConfigTemplate.
// Every Kubernetes component runs the cloud provider "external" (CAPA's
// conventions). See docs/xcluster-kubeadm.md.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "function/compose/object.h"
#include "function/compose/usage.h"
#include "function/renderers/xcluster/compose.h"
#include "function/sdk/fields.h"
#include "function/sdk/status_macros.h"
#include "function/sdk/strings.h"

namespace platform::fn::renderers::xcluster {
namespace {

using sdk::Json;

constexpr std::string_view kClusterResource = "cluster";
constexpr std::string_view kInfraClusterResource = "awscluster";
constexpr std::string_view kControlPlaneResource = "controlplane";
constexpr std::string_view kControlPlaneTemplateResource = "awsmachinetemplate-controlplane";
std::string MachineDeploymentResource(std::string_view pool) {
  return sdk::Cat("machinedeployment-", pool);
}
std::string MachineTemplateResource(std::string_view pool) {
  return sdk::Cat("awsmachinetemplate-", pool);
}
std::string ConfigTemplateResource(std::string_view pool) {
  return sdk::Cat("kubeadmconfigtemplate-", pool);
}

std::string ControlPlaneName(const Params& p) { return sdk::Cat(p.name, "-control-plane"); }
std::string PoolObjectName(const Params& p, const NodePool& pool) {
  return sdk::Cat(p.name, "-", pool.name);
}

// kubeadm installs an exact release, so MAJOR.MINOR becomes the patch
// release of this table (released upstream on 2026-02-10; 1.31.14 is the
// last release of 1.31, which is out of support). The control plane and
// every MachineDeployment run the same one. Raising a patch here rolls every
// machine of every Kubeadm cluster of that minor: do it deliberately.
struct PatchRelease {
  std::string_view minor;
  std::string_view version;
};
constexpr PatchRelease kPatchReleases[] = {
    {"1.34", "v1.34.4"},
    {"1.33", "v1.33.8"},
    {"1.32", "v1.32.12"},
    {"1.31", "v1.31.14"},
};

absl::StatusOr<std::string> PatchVersion(std::string_view minor) {
  for (const PatchRelease& r : kPatchReleases) {
    if (r.minor == minor) return std::string(r.version);
  }
  return sdk::FieldError("spec.parameters.kubernetesVersion",
                         sdk::Cat("flavor Kubeadm knows no patch release of Kubernetes ", minor));
}

// The API server's port behind CAPA's load balancer.
constexpr int kApiServerPort = 6443;

// The node name the AWS cloud provider expects: the instance's private DNS
// name, read by cloud-init from the instance metadata (CAPA's templates).
constexpr std::string_view kNodeName = "{{ ds.meta_data.local_hostname }}";

constexpr std::string_view kControlPlaneProfile =
    "control-plane.cluster-api-provider-aws.sigs.k8s.io";
constexpr std::string_view kNodesProfile = "nodes.cluster-api-provider-aws.sigs.k8s.io";

constexpr std::string_view kAutoscalerMin =
    "cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size";
constexpr std::string_view kAutoscalerMax =
    "cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size";

// v1beta2 kubeadm arguments are a list of {name, value}.
Json Arg(std::string_view name, std::string_view value) {
  return {{"name", name}, {"value", value}};
}

Json ExternalCloudProvider() { return Json::array({Arg("cloud-provider", "external")}); }

// --- Node labels and taints ---------------------------------------------------------
//
// Labels reach a node two ways. The kubelet registers with --node-labels, but
// refuses (and does not start) on a label in the kubernetes.io or k8s.io
// namespaces outside its own small set; the NodeRestriction admission plugin
// keeps it from setting roles. Cluster API copies the labels of a Machine in
// node-role.kubernetes.io/, node-restriction.kubernetes.io and
// node.cluster.x-k8s.io onto its Node, so those go on the MachineDeployment's
// machine template instead. Anything else in the reserved namespaces is an
// error naming the label: a node that never joins is worse.

constexpr std::string_view kKubeletLabels[] = {
    "kubernetes.io/hostname",
    "kubernetes.io/os",
    "kubernetes.io/arch",
    "kubernetes.io/instance-type",
    "beta.kubernetes.io/os",
    "beta.kubernetes.io/arch",
    "beta.kubernetes.io/instance-type",
    "node.kubernetes.io/instance-type",
    "topology.kubernetes.io/zone",
    "topology.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/zone",
    "failure-domain.beta.kubernetes.io/region",
};

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// A label name or non-empty value: at most 63 of [A-Za-z0-9._-], starting and
// ending with a letter or digit.
bool IsLabelName(std::string_view s) {
  if (s.empty() || s.size() > 63 || !IsAlnum(s.front()) || !IsAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return IsAlnum(c) || c == '-' || c == '_' || c == '.'; });
}

bool IsDnsSubdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  for (std::size_t start = 0;;) {
    const std::size_t dot = s.find('.', start);
    if (!IsDnsLabel(s.substr(start, dot == std::string_view::npos ? dot : dot - start))) {
      return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// [prefix/]name, the prefix a DNS subdomain.
bool IsQualifiedName(std::string_view key) {
  const std::size_t slash = key.find('/');
  if (slash == std::string_view::npos) return IsLabelName(key);
  return IsDnsSubdomain(key.substr(0, slash)) && IsLabelName(key.substr(slash + 1));
}

std::string_view Prefix(std::string_view key) {
  const std::size_t slash = key.find('/');
  return slash == std::string_view::npos ? std::string_view() : key.substr(0, slash);
}

// `prefix` is `domain` or one of its subdomains.
bool InDomain(std::string_view prefix, std::string_view domain) {
  return prefix == domain || (prefix.size() > domain.size() && prefix.ends_with(domain) &&
                              prefix[prefix.size() - domain.size() - 1] == '.');
}

bool SyncedByClusterApi(std::string_view key) {
  const std::string_view prefix = Prefix(key);
  return prefix == "node-role.kubernetes.io" ||
         InDomain(prefix, "node-restriction.kubernetes.io") ||
         InDomain(prefix, "node.cluster.x-k8s.io");
}

bool KubeletMaySet(std::string_view key) {
  const std::string_view prefix = Prefix(key);
  if (!InDomain(prefix, "kubernetes.io") && !InDomain(prefix, "k8s.io")) return true;
  return std::find(std::begin(kKubeletLabels), std::end(kKubeletLabels), key) !=
             std::end(kKubeletLabels) ||
         InDomain(prefix, "kubelet.kubernetes.io") || InDomain(prefix, "node.kubernetes.io");
}

struct PoolLabels {
  Json kubelet = Json::object();  // --node-labels
  Json machine = Json::object();  // the machine template's labels
};

absl::StatusOr<PoolLabels> SplitLabels(const NodePool& pool, std::size_t index) {
  const std::string base = sdk::Cat("spec.parameters.nodePools[", index, "]");
  PoolLabels out;
  for (const auto& [key, value_json] : pool.labels.items()) {
    const std::string value = value_json.get<std::string>();
    const std::string path = sdk::Cat(base, ".labels[", key, "]");
    if (!IsQualifiedName(key)) {
      return sdk::FieldError(path, "is not a Kubernetes label key ([prefix/]name)");
    }
    if (!value.empty() && !IsLabelName(value)) {
      return sdk::FieldError(path, sdk::Cat("\"", value,
                                            "\" is not a label value: at most 63 letters, digits, "
                                            "'-', '_' or '.', starting and ending with a letter or "
                                            "digit"));
    }
    if (SyncedByClusterApi(key)) {
      out.machine[key] = value;
    } else if (KubeletMaySet(key)) {
      out.kubelet[key] = value;
    } else {
      return sdk::FieldError(
          path,
          "the kubelet refuses labels in the kubernetes.io and k8s.io namespaces except "
          "under node.kubernetes.io/ and kubelet.kubernetes.io/; use "
          "node-role.kubernetes.io/ for roles, or a prefix of your own");
    }
  }
  for (std::size_t i = 0; i < pool.taints.size(); ++i) {
    const Json& t = pool.taints[i];
    const std::string path = sdk::Cat(base, ".taints[", i, "]");
    if (!IsQualifiedName(t.at("key").get<std::string>())) {
      return sdk::FieldError(sdk::Cat(path, ".key"), "is not a Kubernetes taint key");
    }
    const std::string value = t.at("value").get<std::string>();
    if (!value.empty() && !IsLabelName(value)) {
      return sdk::FieldError(sdk::Cat(path, ".value"), "is not a Kubernetes taint value");
    }
  }
  return out;
}

// --- Objects --------------------------------------------------------------------------

Json NodeRegistration(const Json& kubelet_labels) {
  Json args = ExternalCloudProvider();
  if (!kubelet_labels.empty()) {
    std::string joined;
    for (const auto& [k, v] : kubelet_labels.items()) {
      sdk::Append(joined, joined.empty() ? "" : ",", k, "=", v.get<std::string>());
    }
    args.push_back(Arg("node-labels", joined));
  }
  return {{"name", kNodeName}, {"kubeletExtraArgs", std::move(args)}};
}

Json ClusterSpec(const Params& p) {
  return {
      {"clusterNetwork",
       {{"pods", {{"cidrBlocks", {p.cluster_network.pod_cidr}}}},
        {"services", {{"cidrBlocks", {p.cluster_network.service_cidr}}}}}},
      {"controlPlaneRef",
       {{"apiGroup", kControlPlaneGroup},
        {"kind", "KubeadmControlPlane"},
        {"name", ControlPlaneName(p)}}},
      {"infrastructureRef", {{"apiGroup", kInfraGroup}, {"kind", "AWSCluster"}, {"name", p.name}}}};
}

Json AwsClusterSpec(const Params& p, const Json& tags) {
  // Subnets given by id make the network unmanaged: CAPA creates no VPC,
  // subnet, gateway or route table, and deletes none.
  Json subnets = Json::array();
  for (const std::string& id : p.network.private_subnet_ids) subnets.push_back({{"id", id}});
  for (const std::string& id : p.network.public_subnet_ids) subnets.push_back({{"id", id}});
  // CAPA's template: an NLB checking the API server over HTTPS. Without
  // explicit subnets CAPA puts it in one subnet per zone, private ones for
  // `internal`, public ones for `internet-facing`.
  Json load_balancer = {
      {"loadBalancerType", "nlb"},
      {"healthCheckProtocol", "HTTPS"},
      {"scheme", p.endpoint_access == "Private" ? "internal" : "internet-facing"}};
  if (p.endpoint_access == "Private" && p.management_path.configured()) {
    // Rules given here replace CAPA's default one (anyone on 6443): the
    // management network through the transit gateway, and the VPC itself
    // when its block is known, may reach the internal load balancer.
    Json rules = Json::array({ApiIngressRule("the management cluster (transit gateway)",
                                             kApiServerPort, p.management_path.cidrs)});
    if (!p.network.vpc_cidr.empty()) {
      rules.push_back(ApiIngressRule("the cluster's VPC", kApiServerPort, {p.network.vpc_cidr}));
    }
    load_balancer["ingressRules"] = std::move(rules);
  }
  return {
      {"region", p.subject.region},
      {"network", {{"vpc", {{"id", p.network.vpc_id}}}, {"subnets", std::move(subnets)}}},
      {"controlPlaneLoadBalancer", std::move(load_balancer)},
      // An empty name is no SSH key (omitted would be CAPA's "default" key).
      {"sshKeyName", ""},
      {"additionalTags", tags},
  };
}

Json ControlPlaneSpec(const Params& p, const std::string& version) {
  const Json registration = NodeRegistration(Json::object());
  return {
      {"replicas", p.control_plane.replicas},
      {"version", version},
      {"machineTemplate",
       {{"spec",
         {{"infrastructureRef",
           {{"apiGroup", kInfraGroup},
            {"kind", "AWSMachineTemplate"},
            {"name", ControlPlaneName(p)}}}}}}},
      // The API server needs no cloud provider any more (its flag is gone
      // since 1.33); the controller manager leaves cloud loops to the AWS
      // cloud controller manager.
      {"kubeadmConfigSpec",
       {{"clusterConfiguration", {{"controllerManager", {{"extraArgs", ExternalCloudProvider()}}}}},
        {"initConfiguration", {{"nodeRegistration", registration}}},
        {"joinConfiguration", {{"nodeRegistration", registration}}}}},
  };
}

Json RootVolume(std::int64_t size) { return {{"size", size}, {"type", "gp3"}}; }

Json ControlPlaneMachineSpec(const Params& p, const Json& tags) {
  return {{"template",
           {{"spec",
             {{"instanceType", p.control_plane.instance_type},
              {"iamInstanceProfile", kControlPlaneProfile},
              {"rootVolume", RootVolume(p.control_plane.disk_size)},
              {"publicIP", false},
              {"sshKeyName", ""},
              {"additionalTags", tags}}}}}};
}

Json PoolMachineSpec(const Params& p, const NodePool& pool, const Json& tags) {
  Json spec = {{"instanceType", pool.instance_type},
               {"iamInstanceProfile", kNodesProfile},
               {"rootVolume", RootVolume(pool.disk_size)},
               {"publicIP", false},
               {"sshKeyName", ""},
               {"additionalTags", tags}};
  if (!p.network.security_group_ids.empty()) {
    Json groups = Json::array();
    for (const std::string& sg : p.network.security_group_ids) groups.push_back({{"id", sg}});
    spec["additionalSecurityGroups"] = std::move(groups);
  }
  // No maxPrice: at most the on-demand price.
  if (pool.capacity_type == "SPOT") spec["spotMarketOptions"] = Json::object();
  return {{"template", {{"spec", std::move(spec)}}}};
}

Json PoolConfigSpec(const NodePool& pool, const PoolLabels& labels) {
  Json registration = NodeRegistration(labels.kubelet);
  if (!pool.taints.empty()) {
    Json taints = Json::array();
    for (const Json& t : pool.taints) {
      Json taint = {{"key", t.at("key")}, {"effect", t.at("effect")}};
      if (!t.at("value").get<std::string>().empty()) taint["value"] = t.at("value");
      taints.push_back(std::move(taint));
    }
    registration["taints"] = std::move(taints);
  }
  return {{"template", {{"spec", {{"joinConfiguration", {{"nodeRegistration", registration}}}}}}}};
}

Json MachineDeploymentSpec(const Params& p, const NodePool& pool, const PoolLabels& labels,
                           const std::string& version) {
  const std::string name = PoolObjectName(p, pool);
  // What Cluster API's defaulting webhook would set, given up front.
  const Json selector = {{std::string(kClusterNameLabel), p.name},
                         {"cluster.x-k8s.io/deployment-name", name}};
  Json template_labels = labels.machine;
  template_labels.update(selector);
  return {
      {"clusterName", p.name},
      {"replicas", pool.desired},
      {"selector", {{"matchLabels", selector}}},
      {"template",
       {{"metadata", {{"labels", std::move(template_labels)}}},
        {"spec",
         {{"clusterName", p.name},
          {"version", version},
          {"bootstrap",
           {{"configRef",
             {{"apiGroup", kBootstrapGroup}, {"kind", "KubeadmConfigTemplate"}, {"name", name}}}}},
          {"infrastructureRef",
           {{"apiGroup", kInfraGroup}, {"kind", "AWSMachineTemplate"}, {"name", name}}}}}}}};
}

// Templates have no status: nothing reconciles them, controllers only read
// them when they create machines. Once observed they exist, which is all a
// template can be, so they are ready then; not observed they are not (the
// Composer never asks), so the XR is not ready before they exist.
bool ReadyOnceObserved(const Json&) { return true; }

std::string Endpoint(const Json* observed) {
  if (observed == nullptr) return "";
  const std::string host = compose::StringAt(*observed, "spec.controlPlaneEndpoint.host");
  if (host.empty()) return "";
  const std::optional<std::int64_t> port =
      compose::IntAt(*observed, "spec.controlPlaneEndpoint.port");
  const std::string base = host.starts_with("https://") ? host : sdk::Cat("https://", host);
  return !port || *port == 443 ? base : sdk::Cat(base, ":", *port);
}

}  // namespace

absl::StatusOr<Outcome> ComposeCapiKubeadm(const Params& p, const Json& tags,
                                           compose::Composer& c) {
  // Everything that can fail comes before anything is composed.
  PLATFORM_ASSIGN_OR_RETURN(const std::string version, PatchVersion(p.version));
  std::vector<PoolLabels> pool_labels;
  for (std::size_t i = 0; i < p.pools.size(); ++i) {
    PLATFORM_ASSIGN_OR_RETURN(PoolLabels labels, SplitLabels(p.pools[i], i));
    pool_labels.push_back(std::move(labels));
  }

  c.Add(std::string(kClusterResource),
        CapiObject(p, kClusterResource, kCapiVersion, "Cluster", p.name, ClusterSpec(p)),
        ReadyCapiCluster);
  c.Add(std::string(kInfraClusterResource),
        CapiObject(p, kInfraClusterResource, kInfraVersion, "AWSCluster", p.name,
                   AwsClusterSpec(p, tags)),
        ReadyFlagOrCondition);
  c.Add(std::string(kControlPlaneTemplateResource),
        CapiObject(p, kControlPlaneTemplateResource, kInfraVersion, "AWSMachineTemplate",
                   ControlPlaneName(p), ControlPlaneMachineSpec(p, tags)),
        ReadyOnceObserved);
  c.Add(std::string(kControlPlaneResource),
        CapiObject(p, kControlPlaneResource, kControlPlaneVersion, "KubeadmControlPlane",
                   ControlPlaneName(p), ControlPlaneSpec(p, version)),
        ReadyKubeadmControlPlane);

  Outcome out;
  out.description = sdk::Cat("the Kubeadm cluster ", p.cluster_name, " (Cluster API)");
  out.kubeconfig_secret = sdk::Cat(p.name, "-kubeconfig");
  out.kubeconfig_key = "value";
  out.control_plane_ready = c.IsReady(kControlPlaneResource, ReadyKubeadmControlPlane);
  out.control_plane_usage_ref = {{"apiVersion", kControlPlaneVersion},
                                 {"kind", "KubeadmControlPlane"},
                                 {"resourceRef", {{"name", ControlPlaneName(p)}}}};
  if (const Json* cp = c.Observed(kControlPlaneResource); cp != nullptr) {
    out.version = compose::StringAt(*cp, "status.version");
  }
  // Cluster API copies the AWSCluster's endpoint (CAPA's load balancer) to
  // the Cluster; either has it first.
  out.endpoint = Endpoint(c.Observed(kClusterResource));
  if (out.endpoint.empty()) out.endpoint = Endpoint(c.Observed(kInfraClusterResource));

  const ObjectRef control_plane{kControlPlaneVersion, "KubeadmControlPlane", ControlPlaneName(p)};
  for (std::size_t i = 0; i < p.pools.size(); ++i) {
    const NodePool& pool = p.pools[i];
    const std::string md = MachineDeploymentResource(pool.name);
    const std::string amt = MachineTemplateResource(pool.name);
    const std::string kct = ConfigTemplateResource(pool.name);
    const std::string usage = compose::UsageResource(kControlPlaneResource, md);
    // Once any object of a pool exists the pool stays desired, whatever the
    // control plane's readiness does: dropping it would delete the machines.
    if (!out.control_plane_ready && !c.Exists(md) && !c.Exists(amt) && !c.Exists(kct) &&
        !c.Exists(usage)) {
      out.waiting.push_back(pool.name);
      continue;
    }
    const std::string object_name = PoolObjectName(p, pool);
    c.Add(amt,
          CapiObject(p, amt, kInfraVersion, "AWSMachineTemplate", object_name,
                     PoolMachineSpec(p, pool, tags)),
          ReadyOnceObserved);
    c.Add(kct,
          CapiObject(p, kct, kBootstrapVersion, "KubeadmConfigTemplate", object_name,
                     PoolConfigSpec(pool, pool_labels[i])),
          ReadyOnceObserved);
    Json deployment = CapiObject(p, md, kCapiVersion, "MachineDeployment", object_name,
                                 MachineDeploymentSpec(p, pool, pool_labels[i], version));
    // The Cluster API autoscaler's bounds (its annotations take strings).
    deployment["metadata"]["annotations"] = {
        {std::string(kAutoscalerMin), std::to_string(pool.min)},
        {std::string(kAutoscalerMax), std::to_string(pool.max)}};
    c.Add(md, std::move(deployment), ReadyMachines);
    // Workers go before the control plane, whose API server and etcd they
    // need while they are drained and deleted.
    c.Add(usage,
          NamespacedUsage(p, usage, md, control_plane,
                          ObjectRef{kCapiVersion, "MachineDeployment", object_name}),
          compose::ReadyCondition);

    out.pools[pool.name] = MachinesState(c.Observed(md));
  }
  return out;
}

}  // namespace platform::fn::renderers::xcluster
