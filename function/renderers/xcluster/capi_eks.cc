// Cluster API, flavor EKS: CAPA's AWSManagedControlPlane (the EKS control
// plane, its add-ons and access entries) with an AWSManagedCluster, and per
// node pool a MachinePool with an AWSManagedMachinePool (an EKS managed node
// group). See docs/xcluster.md.
#include <algorithm>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "function/compose/aws_resources.h"
#include "function/compose/object.h"
#include "function/compose/usage.h"
#include "function/renderers/xcluster/compose.h"
#include "function/renderers/xcluster/pod_identity.h"
#include "function/sdk/fields.h"
#include "function/sdk/strings.h"

namespace platform::fn::renderers::xcluster {
namespace {

using sdk::Json;

constexpr std::string_view kClusterResource = "cluster";
constexpr std::string_view kControlPlaneResource = "controlplane";
constexpr std::string_view kInfraClusterResource = "awsmanagedcluster";
std::string MachinePoolResource(std::string_view pool) { return sdk::Cat("machinepool-", pool); }
std::string AwsMachinePoolResource(std::string_view pool) {
  return sdk::Cat("awsmachinepool-", pool);
}

std::string ControlPlaneName(const Params& p) { return sdk::Cat(p.name, "-control-plane"); }
std::string PoolObjectName(const Params& p, const NodePool& pool) {
  return sdk::Cat(p.name, "-", pool.name);
}

// CAPA's logging switches, named as EKS's log types.
Json Logging(const std::vector<std::string>& types) {
  Json out = Json::object();
  for (const auto& [type, field] :
       {std::pair{"api", "apiServer"}, std::pair{"audit", "audit"},
        std::pair{"authenticator", "authenticator"},
        std::pair{"controllerManager", "controllerManager"}, std::pair{"scheduler", "scheduler"}}) {
    out[field] = std::find(types.begin(), types.end(), type) != types.end();
  }
  return out;
}

// `installable(addon)` says whether an add-on may be listed yet: one that
// gets AWS permissions through Pod Identity waits for its association.
template <typename Installable>
Json ControlPlaneSpec(const Params& p, const Json& tags, Installable installable) {
  Json subnets = Json::array();
  for (const std::string& id : p.network.private_subnet_ids) subnets.push_back({{"id", id}});
  Json spec = {
      {"eksClusterName", p.cluster_name},
      {"region", p.subject.region},
      // CAPA uses MAJOR.MINOR of the version.
      {"version", sdk::Cat("v", p.version)},
      {"network", {{"vpc", {{"id", p.network.vpc_id}}}, {"subnets", std::move(subnets)}}},
      {"endpointAccess",
       {{"public", p.endpoint_access != "Private"}, {"private", p.endpoint_access != "Public"}}},
      // Access entries need the API authentication mode; the config map
      // stays for nodes CAPA maps through it.
      {"accessConfig",
       {{"authenticationMode", "api_and_config_map"},
        {"bootstrapClusterCreatorAdminPermissions", true}}},
      {"additionalTags", tags},
      // An IAM identity provider for the cluster's service accounts (IRSA),
      // for the teams' workloads; the platform's add-ons use Pod Identity.
      {"associateOIDCProvider", true},
      {"upgradePolicy", p.limits->upgrade_policy == "Extended" ? "extended" : "standard"},
      {"logging", Logging(p.limits->control_plane_logs)},
  };
  if (!p.public_access_cidrs.empty()) {
    spec["endpointAccess"]["publicCIDRs"] = p.public_access_cidrs;
  }
  if (p.endpoint_access == "Private" && p.management_path.configured()) {
    // The private endpoint's network interfaces carry the cluster security
    // group, which admits only the cluster itself: Cluster API and CAPA
    // reach them from the management network through the transit gateway.
    spec["network"]["additionalControlPlaneIngressRules"] = Json::array(
        {ApiIngressRule("the management cluster (transit gateway)", 443, p.management_path.cidrs)});
  }
  Json addons = Json::array();
  for (const Addon& a : p.addons) {
    if (a.version.empty()) continue;  // EKS's own, see IsSelfManagedAddon
    if (!installable(a.name)) continue;
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

// CAPA spells taint effects in kebab case.
Json CapaTaints(const Json& taints) {
  Json out = Json::array();
  for (const Json& t : taints) {
    const std::string effect = t.at("effect").get<std::string>();
    out.push_back({{"key", t.at("key")},
                   {"value", t.at("value")},
                   {"effect", effect == "NoSchedule"  ? "no-schedule"
                              : effect == "NoExecute" ? "no-execute"
                                                      : "prefer-no-schedule"}});
  }
  return out;
}

Json AwsMachinePoolSpec(const Params& p, const NodePool& pool, const Json& tags) {
  Json spec = {
      {"scaling", {{"minSize", pool.min}, {"maxSize", pool.max}}},
      {"capacityType", pool.capacity_type == "SPOT" ? "spot" : "onDemand"},
      // AL2 images are not published for Kubernetes 1.33 and later.
      {"amiType", AmiType(Family(pool.instance_type))},
      {"subnetIDs", p.network.private_subnet_ids},
      {"additionalTags", tags},
  };
  if (p.network.security_group_ids.empty()) {
    spec["instanceType"] = pool.instance_type;
    spec["diskSize"] = pool.disk_size;
  } else {
    // Extra security groups need a launch template, which then holds the
    // instance type and disk (EKS refuses them beside one).
    Json groups = Json::array();
    for (const std::string& sg : p.network.security_group_ids) groups.push_back({{"id", sg}});
    spec["awsLaunchTemplate"] = {{"instanceType", pool.instance_type},
                                 {"rootVolume", {{"size", pool.disk_size}}},
                                 {"additionalSecurityGroups", std::move(groups)}};
  }
  if (!pool.labels.empty()) spec["labels"] = pool.labels;
  if (!pool.taints.empty()) spec["taints"] = CapaTaints(pool.taints);
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

// The add-ons the observed control plane lists already.
bool Listed(const compose::Composer& c, std::string_view addon) {
  const Json* cp = c.Observed(kControlPlaneResource);
  if (cp == nullptr) return false;
  absl::StatusOr<const Json*> addons = sdk::Fields(*cp).Find("spec.addons");
  if (!addons.ok() || *addons == nullptr || !(*addons)->is_array()) return false;
  return std::any_of((*addons)->begin(), (*addons)->end(),
                     [&](const Json& a) { return a.is_object() && a.value("name", "") == addon; });
}

}  // namespace

absl::StatusOr<Outcome> ComposeCapiEks(const Params& p, const Json& tags, compose::Composer& c) {
  const bool control_plane_ready = c.IsReady(kControlPlaneResource, ReadyFlagOrCondition);
  // The add-ons' roles and associations are AWS managed resources; the
  // association names the cluster by its EKS name, which CAPA gives it.
  compose::AwsResources aws(p.scope, p.subject.region, tags, c);
  const std::vector<std::string> identities =
      ComposePodIdentity(p, control_plane_ready, {{"clusterName", p.cluster_name}}, aws);
  const auto identity_ready = [&](std::string_view addon) {
    for (const PodIdentityWorkload* w : PodIdentityWorkloads(p)) {
      if (w->addon == addon) {
        return std::find(identities.begin(), identities.end(), addon) != identities.end();
      }
    }
    return true;
  };
  const auto installable = [&](std::string_view addon) {
    return identity_ready(addon) || Listed(c, addon);
  };
  c.Add(
      std::string(kClusterResource),
      CapiObject(p, kClusterResource, kCapiVersion, "Cluster", p.name,
                 {{"controlPlaneRef",
                   {{"apiGroup", kControlPlaneGroup},
                    {"kind", "AWSManagedControlPlane"},
                    {"name", ControlPlaneName(p)}}},
                  {"infrastructureRef",
                   {{"apiGroup", kInfraGroup}, {"kind", "AWSManagedCluster"}, {"name", p.name}}}}),
      ReadyCapiCluster);
  c.Add(std::string(kInfraClusterResource),
        CapiObject(p, kInfraClusterResource, kInfraVersion, "AWSManagedCluster", p.name,
                   Json::object()),
        ReadyFlagOrCondition);
  c.Add(std::string(kControlPlaneResource),
        CapiObject(p, kControlPlaneResource, kControlPlaneVersion, "AWSManagedControlPlane",
                   ControlPlaneName(p), ControlPlaneSpec(p, tags, installable)),
        ReadyFlagOrCondition);

  Outcome out;
  out.description = sdk::Cat("the EKS cluster ", p.cluster_name, " (Cluster API)");
  out.kubeconfig_secret = sdk::Cat(p.name, "-kubeconfig");
  out.kubeconfig_key = "value";
  out.user_kubeconfig_secret = sdk::Cat(p.name, "-user-kubeconfig");
  out.control_plane_ready = control_plane_ready;
  out.control_plane_usage_ref = {{"apiVersion", kControlPlaneVersion},
                                 {"kind", "AWSManagedControlPlane"},
                                 {"resourceRef", {{"name", ControlPlaneName(p)}}}};
  if (const Json* cp = c.Observed(kControlPlaneResource); cp != nullptr) {
    out.version = compose::StringAt(*cp, "status.version");
    const std::string host = compose::StringAt(*cp, "spec.controlPlaneEndpoint.host");
    if (!host.empty()) {
      const std::int64_t port = compose::IntAt(*cp, "spec.controlPlaneEndpoint.port").value_or(443);
      const std::string base = host.starts_with("https://") ? host : sdk::Cat("https://", host);
      out.endpoint = port == 443 ? base : sdk::Cat(base, ":", port);
    }
  }

  for (const NodePool& pool : p.pools) {
    const std::string mp = MachinePoolResource(pool.name);
    const std::string amp = AwsMachinePoolResource(pool.name);
    // Once a pool's objects exist they stay desired, whatever the control
    // plane's readiness does: dropping them would delete the node group.
    // With the CNI's own role, nodes come after its association, so every
    // aws-node pod starts with the CNI's credentials.
    if ((!out.control_plane_ready || !identity_ready("vpc-cni")) && !c.Exists(mp) &&
        !c.Exists(amp)) {
      out.waiting.push_back(pool.name);
      continue;
    }
    const std::string object_name = PoolObjectName(p, pool);
    c.Add(amp,
          CapiObject(p, amp, kInfraVersion, "AWSManagedMachinePool", object_name,
                     AwsMachinePoolSpec(p, pool, tags)),
          ReadyFlagOrCondition);
    c.Add(mp, CapiObject(p, mp, kCapiVersion, "MachinePool", object_name, MachinePoolSpec(p, pool)),
          ReadyMachines);
    // Node groups go before the control plane: EKS refuses to delete a
    // cluster that still has node groups.
    const ObjectRef control_plane{kControlPlaneVersion, "AWSManagedControlPlane",
                                  ControlPlaneName(p)};
    for (const auto& [by, kind, version] :
         {std::tuple{mp, "MachinePool", kCapiVersion},
          std::tuple{amp, "AWSManagedMachinePool", kInfraVersion}}) {
      const std::string usage = compose::UsageResource(kControlPlaneResource, by);
      c.Add(usage,
            NamespacedUsage(p, usage, by, control_plane, ObjectRef{version, kind, object_name}),
            compose::ReadyCondition);
    }

    out.pools[pool.name] = MachinesState(c.Observed(mp));
  }
  return out;
}

}  // namespace platform::fn::renderers::xcluster
