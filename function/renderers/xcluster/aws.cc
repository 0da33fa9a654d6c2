// Provisioner AWS: the EKS cluster as managed resources of the AWS provider
// (eks and iam kinds), wired to each other through selectors, staged behind
// the control plane and deleted in order through Usages. See
// docs/xcluster-aws.md.
#include <charconv>
#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "function/compose/aws_resources.h"
#include "function/compose/ids.h"
#include "function/compose/object.h"
#include "function/compose/usage.h"
#include "function/policy/policy.h"
#include "function/renderers/xcluster/compose.h"
#include "function/renderers/xcluster/pod_identity.h"
#include "function/sdk/fields.h"
#include "function/sdk/strings.h"

namespace platform::fn::renderers::xcluster {
namespace {

using sdk::Json;

// One kind of the AWS provider. Cluster-scoped kinds are composed at their
// storage version; every namespaced kind is v1beta1.
using Kind = compose::AwsKind;

constexpr Kind kRole{"iam", "Role", "v1beta1"};
constexpr Kind kRolePolicyAttachment{"iam", "RolePolicyAttachment", "v1beta1"};
constexpr Kind kOidcProvider{"iam", "OpenIDConnectProvider", "v1beta1"};
constexpr Kind kCluster{"eks", "Cluster", "v1beta2"};
constexpr Kind kNodeGroup{"eks", "NodeGroup", "v1beta2"};
constexpr Kind kAddon{"eks", "Addon", "v1beta1"};
constexpr Kind kAccessEntry{"eks", "AccessEntry", "v1beta1"};
constexpr Kind kAccessPolicyAssociation{"eks", "AccessPolicyAssociation", "v1beta1"};
constexpr Kind kClusterAuth{"eks", "ClusterAuth", "v1beta1"};
constexpr Kind kLaunchTemplate{"ec2", "LaunchTemplate", "v1beta1"};

constexpr std::string_view kControlPlane = "controlplane";
constexpr std::string_view kRoleControlPlane = "role-controlplane";
constexpr std::string_view kRoleNodes = "role-nodes";
constexpr std::string_view kOidc = "oidc";
constexpr std::string_view kClusterAuthResource = "clusterauth";
// The key of the kubeconfig in ClusterAuth's connection details (and so in
// the Secret it writes).
constexpr std::string_view kKubeconfigKey = "kubeconfig";

// AWS managed policies of the two roles (partition aws).
struct Attachment {
  std::string_view resource;
  std::string_view role;
  std::string_view policy;
};
constexpr Attachment kAttachments[] = {
    {"rpa-controlplane-cluster", kRoleControlPlane, "AmazonEKSClusterPolicy"},
    {"rpa-nodes-worker", kRoleNodes, "AmazonEKSWorkerNodePolicy"},
    {"rpa-nodes-cni", kRoleNodes, "AmazonEKS_CNI_Policy"},
    {"rpa-nodes-ecr", kRoleNodes, "AmazonEC2ContainerRegistryReadOnly"},
};
// The nodes' CNI permissions, which the VPC CNI's own role replaces where
// the class gives it one through Pod Identity.
constexpr std::string_view kNodesCni = "rpa-nodes-cni";

std::string NodeGroupResource(std::string_view pool) { return sdk::Cat("nodegroup-", pool); }
// Short: the usage of a template by its node group is named after both, and
// a label value takes 63 characters (pool names take 20).
std::string LaunchTemplateResource(std::string_view pool) { return sdk::Cat("lt-", pool); }
std::string AddonResource(std::string_view addon) { return sdk::Cat("addon-", addon); }
// Access entries are named by their principal, not their position, so
// removing or reordering one never touches the others (a principal cannot
// change in place). The key is the ARN's ShortHash: short enough for the
// label values of the usages that name two of them.
std::string AccessEntryResource(std::string_view arn) {
  return sdk::Cat("accessentry-", compose::ShortHash(arn));
}
std::string AccessPolicyResource(std::string_view arn) {
  return sdk::Cat("accesspolicy-", compose::ShortHash(arn));
}

// EKS spells taint effects in upper snake case.
Json EksTaints(const Json& taints) {
  Json out = Json::array();
  for (const Json& t : taints) {
    const std::string effect = t.at("effect").get<std::string>();
    out.push_back({{"key", t.at("key")},
                   {"value", t.at("value")},
                   {"effect", effect == "NoSchedule"  ? "NO_SCHEDULE"
                              : effect == "NoExecute" ? "NO_EXECUTE"
                                                      : "PREFER_NO_SCHEDULE"}});
  }
  return out;
}

// MAJOR.MINOR as a comparable pair, or nullopt.
std::optional<std::pair<int, int>> MinorVersion(std::string_view v) {
  const std::size_t dot = v.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::string_view minor = v.substr(dot + 1);
  minor = minor.substr(0, minor.find('.'));
  int major_n = 0;
  int minor_n = 0;
  const std::string_view major = v.substr(0, dot);
  if (std::from_chars(major.data(), major.data() + major.size(), major_n).ec != std::errc() ||
      std::from_chars(minor.data(), minor.data() + minor.size(), minor_n).ec != std::errc()) {
    return std::nullopt;
  }
  return std::pair{major_n, minor_n};
}

using Resources = compose::AwsResources;

// The attachments the roles carry: all of them, but the nodes' CNI policy
// only where the CNI has no role of its own, or where the cluster has it
// already (its running aws-node pods may still use it; take it away by
// hand once they run with Pod Identity, see docs/xcluster.md).
bool HasAttachment(const Params& p, const compose::Composer& c, const Attachment& a) {
  return a.resource != kNodesCni || !p.limits->vpc_cni_pod_identity || c.Exists(kNodesCni);
}

void ComposeIam(const Params& p, Resources& r) {
  r.Add(kRoleControlPlane, kRole,
        {{"assumeRolePolicy", compose::TrustPolicy("eks.amazonaws.com")},
         {"description", "EKS control plane"},
         {"forceDetachPolicies", true}});
  r.Add(kRoleNodes, kRole,
        {{"assumeRolePolicy", compose::TrustPolicy("ec2.amazonaws.com")},
         {"description", "EKS managed node groups"},
         {"forceDetachPolicies", true}});
  for (const Attachment& a : kAttachments) {
    if (!HasAttachment(p, r.composer(), a)) continue;
    r.Add(a.resource, kRolePolicyAttachment,
          {{"roleSelector", Resources::Select(a.role)},
           {"policyArn", sdk::Cat("arn:aws:iam::aws:policy/", a.policy)}});
  }
}

Json ClusterForProvider(const Params& p) {
  Json vpc = {{"subnetIds", p.network.private_subnet_ids},
              {"endpointPrivateAccess", p.endpoint_access != "Public"},
              {"endpointPublicAccess", p.endpoint_access != "Private"}};
  if (!p.network.security_group_ids.empty()) {
    vpc["securityGroupIds"] = p.network.security_group_ids;
  }
  if (!p.public_access_cidrs.empty()) vpc["publicAccessCidrs"] = p.public_access_cidrs;
  return {{"version", p.version},
          {"roleArnSelector", Resources::Select(kRoleControlPlane)},
          {"vpcConfig", std::move(vpc)},
          // Access entries need the API authentication mode; the config map
          // stays so nothing mapped through aws-auth loses access.
          {"accessConfig",
           {{"authenticationMode", "API_AND_CONFIG_MAP"},
            {"bootstrapClusterCreatorAdminPermissions", true}}},
          // vpc-cni, coredns and kube-proxy as EKS installs them; listed with
          // a version they become Addons below.
          {"bootstrapSelfManagedAddons", true},
          {"upgradePolicy",
           {{"supportType", p.limits->upgrade_policy == "Extended" ? "EXTENDED" : "STANDARD"}}},
          {"enabledClusterLogTypes", p.limits->control_plane_logs}};
}

// Node groups run the version asked for, but never one ahead of the
// observed control plane: during an upgrade they follow once it is done
// (EKS refuses node groups newer than their cluster).
std::string NodeVersion(const Params& p, std::string_view observed) {
  const auto want = MinorVersion(p.version);
  const auto have = MinorVersion(observed);
  if (want && have && *have < *want) return sdk::Cat(have->first, ".", have->second);
  return p.version;
}

// The launch template of a pool's nodes: what EKS would put in its own,
// plus the security groups (the cluster's, which EKS adds only when there
// is no launch template, then the environment's baseline and the XR's and
// class's), IMDSv2 only, an encrypted root volume and the tags on the
// instances and their volumes.
Json LaunchTemplateForProvider(const Params& p, const NodePool& pool,
                               const std::string& cluster_security_group, const Json& tags) {
  Json groups = Json::array({cluster_security_group});
  for (const std::string& sg : p.network.security_group_ids) groups.push_back(sg);
  // The cluster-scoped kind's storage version (v1beta1) wraps each nested
  // block in a list of one; the namespaced kind has plain objects.
  const auto block = [&](Json o) { return p.scope.namespaced ? o : Json::array({std::move(o)}); };
  return {
      {"description", sdk::Cat("EKS node group ", pool.name, " of ", p.cluster_name)},
      {"instanceType", pool.instance_type},
      // /dev/xvda is the root device of the EKS AL2023 images.
      {"blockDeviceMappings",
       {{{"deviceName", "/dev/xvda"},
         {"ebs", block({{"volumeSize", pool.disk_size},
                        {"volumeType", "gp3"},
                        {"encrypted", "true"},
                        {"deleteOnTermination", "true"}})}}}},
      {"vpcSecurityGroupIds", std::move(groups)},
      // Two hops, as EKS's own template: pods without Pod Identity still
      // reach the metadata service, with a session token only.
      {"metadataOptions", block({{"httpEndpoint", "enabled"},
                                 {"httpTokens", "required"},
                                 {"httpPutResponseHopLimit", 2}})},
      {"tagSpecifications",
       {{{"resourceType", "instance"}, {"tags", tags}},
        {{"resourceType", "volume"}, {"tags", tags}}}},
      // The node group names the version; a new one rolls its nodes.
      {"updateDefaultVersion", true},
  };
}

// A node group made before node groups had launch templates keeps its
// shape: EKS cannot add a launch template to an existing node group, so the
// provider would fail every update. Replace the pool (a new name) to move it.
bool HasLegacyShape(const compose::Composer& c, std::string_view ng) {
  const Json* observed = c.Observed(ng);
  return observed != nullptr &&
         compose::StringAt(*observed, "spec.forProvider.launchTemplate.id").empty() &&
         !compose::StringAt(*observed, "spec.forProvider.instanceTypes[0]").empty();
}

Json NodeGroupForProvider(const Params& p, const NodePool& pool, std::string_view version,
                          const Json& launch_template) {
  Json fp = {
      {"clusterNameSelector", Resources::Select(kControlPlane)},
      {"nodeRoleArnSelector", Resources::Select(kRoleNodes)},
      // Nodes only ever in the private subnets.
      {"subnetIds", p.network.private_subnet_ids},
      {"scalingConfig", {{"minSize", pool.min}, {"maxSize", pool.max}}},
      {"capacityType", pool.capacity_type},
      // AL2 images are not published for Kubernetes 1.33 and later.
      {"amiType", AmiType(Family(pool.instance_type))},
      {"version", version},
  };
  if (launch_template.is_null()) {
    fp["instanceTypes"] = {pool.instance_type};
    fp["diskSize"] = pool.disk_size;
  } else {
    fp["launchTemplate"] = launch_template;
  }
  if (!pool.labels.empty()) fp["labels"] = pool.labels;
  if (!pool.taints.empty()) fp["taint"] = EksTaints(pool.taints);
  return fp;
}

// The kubeconfig ClusterAuth publishes: its connection details when
// Crossplane passes them; nullopt (read the Secret it writes) when it is
// observed without them; empty while it does not exist.
std::optional<std::string> Kubeconfig(const compose::Composer& c) {
  const sdk::Observed* auth = c.request().ObservedResource(kClusterAuthResource);
  if (auth == nullptr) return std::string();
  if (auth->connection_details != nullptr) {
    auto it = auth->connection_details->find(std::string(kKubeconfigKey));
    if (it != auth->connection_details->end() && !it->second.empty()) return it->second;
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<Outcome> ComposeAws(const Params& p, const Json& tags, compose::Composer& c) {
  Resources r(p.scope, p.subject.region, tags, c);
  ComposeIam(p, r);
  r.Add(kControlPlane, kCluster, ClusterForProvider(p), Json::object(),
        {{std::string(compose::kExternalName), p.cluster_name}});
  // The roles and their policies outlive the cluster: EKS needs them to
  // delete what it created (network interfaces, security groups, nodes).
  r.Use(kRoleControlPlane, kRole, kControlPlane, kCluster);
  for (const Attachment& a : kAttachments) {
    if (!HasAttachment(p, c, a)) continue;
    r.Use(a.resource, kRolePolicyAttachment, kControlPlane, kCluster);
  }

  Outcome out;
  out.description = sdk::Cat("the EKS cluster ", p.cluster_name, " (AWS provider)");
  out.kubeconfig_secret = sdk::Cat(p.name, "-kubeconfig");
  out.kubeconfig_key = std::string(kKubeconfigKey);
  out.control_plane_ready = c.IsReady(kControlPlane, compose::ReadyCondition);
  out.control_plane_usage_ref = {{"apiVersion", r.ApiVersion(kCluster)},
                                 {"kind", kCluster.kind},
                                 {"resourceSelector", Resources::Select(kControlPlane)}};
  out.control_plane_cluster_scoped = !p.scope.namespaced;
  if (const Json* cp = c.Observed(kControlPlane); cp != nullptr) {
    out.version = compose::StringAt(*cp, "status.atProvider.version");
    out.endpoint = compose::StringAt(*cp, "status.atProvider.endpoint");
    out.oidc_issuer = compose::StringAt(*cp, "status.atProvider.identity[0].oidc[0].issuer");
  }

  // Everything below waits for the control plane. Once any resource of a
  // group is observed the group stays desired whatever the control plane's
  // readiness does: dropping it would delete it.
  auto staged = [&](std::initializer_list<std::string_view> group) {
    if (out.control_plane_ready) return true;
    for (std::string_view name : group) {
      if (c.Exists(name)) return true;
    }
    return false;
  };

  // Pod Identity for the add-ons that call AWS; each add-on, and with the
  // CNI's own role every node group, waits for its association.
  const std::vector<std::string> identities = ComposePodIdentity(
      p, out.control_plane_ready, {{"clusterNameSelector", Resources::Select(kControlPlane)}}, r);
  const auto identity_ready = [&](std::string_view addon) {
    for (const PodIdentityWorkload* w : PodIdentityWorkloads(p)) {
      if (w->addon == addon) {
        return std::find(identities.begin(), identities.end(), addon) != identities.end();
      }
    }
    return true;
  };
  for (const PodIdentityWorkload* w : PodIdentityWorkloads(p)) {
    r.Use(kControlPlane, kCluster, PodIdentityAssociationResource(*w), kPodIdentityAssociation);
  }

  const std::string node_version = NodeVersion(p, out.version);
  const std::string cluster_sg =
      c.Observed(kControlPlane) == nullptr
          ? std::string()
          : compose::StringAt(*c.Observed(kControlPlane),
                              "status.atProvider.vpcConfig.clusterSecurityGroupId");
  for (const NodePool& pool : p.pools) {
    const std::string ng = NodeGroupResource(pool.name);
    const std::string lt = LaunchTemplateResource(pool.name);
    const std::string usage_cp = compose::UsageResource(kControlPlane, ng);
    const std::string usage_role = compose::UsageResource(kRoleNodes, ng);
    // Once any of a pool's node group or its usages exists it stays
    // desired. A new one waits for the control plane and, with the CNI's
    // own role, for its association, so every aws-node pod starts with the
    // CNI's credentials.
    const bool exists = c.Exists(ng) || c.Exists(usage_cp) || c.Exists(usage_role);
    const bool may_create = out.control_plane_ready && identity_ready("vpc-cni");
    const bool legacy = HasLegacyShape(c, ng);
    // The launch template comes first and is kept once made. It needs the
    // cluster's group, known once the control plane is observed; a template
    // made keeps the group it was made with.
    const Json* made = c.Observed(lt);
    bool template_composed = false;
    if (!legacy && (exists || may_create || made != nullptr)) {
      std::string group = cluster_sg;
      if (group.empty() && made != nullptr) {
        group = compose::StringAt(*made, "spec.forProvider.vpcSecurityGroupIds[0]");
      }
      if (!group.empty() || made != nullptr) {
        r.Add(lt, kLaunchTemplate, LaunchTemplateForProvider(p, pool, group, tags));
        template_composed = true;
      }
    }
    if (!exists && !may_create) {
      out.waiting.push_back(pool.name);
      continue;
    }
    // The node group's launch template: null for one made without (see
    // HasLegacyShape).
    Json launch_template;
    if (!legacy) {
      const std::string id =
          made == nullptr ? std::string() : compose::StringAt(*made, "status.atProvider.id");
      const std::optional<std::int64_t> latest =
          made == nullptr ? std::nullopt : compose::IntAt(*made, "status.atProvider.latestVersion");
      if (!id.empty() && latest) {
        launch_template = {{"id", id}, {"version", std::to_string(*latest)}};
      } else if (const Json* had = c.Observed(ng); had != nullptr) {
        // A node group is never dropped: it keeps the template it has.
        absl::StatusOr<const Json*> ref = sdk::Fields(*had).Find("spec.forProvider.launchTemplate");
        if (ref.ok() && *ref != nullptr) launch_template = **ref;
      } else {
        out.waiting.push_back(pool.name);
        continue;
      }
    }
    // desiredSize only on create: afterwards the cluster autoscaler (or a
    // person) owns it, and the function never scales the group back.
    r.Add(ng, kNodeGroup, NodeGroupForProvider(p, pool, node_version, launch_template),
          {{"initProvider", {{"scalingConfig", {{"desiredSize", pool.desired}}}}}},
          {{std::string(compose::kExternalName), pool.name}});
    // The node group goes before its template: EKS refuses to delete a
    // template in use.
    if (template_composed) r.Use(lt, kLaunchTemplate, ng, kNodeGroup);
    // EKS refuses to delete a cluster that has node groups.
    r.Use(kControlPlane, kCluster, ng, kNodeGroup);
    r.Use(kRoleNodes, kRole, ng, kNodeGroup);

    PoolState& state = out.pools[pool.name];
    const Json* observed = c.Observed(ng);
    state.phase =
        observed == nullptr ? "" : compose::StringAt(*observed, "status.atProvider.status");
    if (state.phase.empty()) state.phase = "Pending";
    state.ready = observed != nullptr && compose::ReadyCondition(*observed);
    if (observed != nullptr) {
      state.replicas = compose::IntAt(*observed, "status.atProvider.scalingConfig.desiredSize");
    }
  }

  for (const Addon& a : p.addons) {
    if (a.version.empty()) continue;  // EKS's own, see IsSelfManagedAddon
    const std::string addon = AddonResource(a.name);
    const std::string usage = compose::UsageResource(kControlPlane, addon);
    if (!staged({addon, usage})) continue;
    if (!c.Exists(addon) && !identity_ready(a.name)) continue;
    r.Add(addon, kAddon,
          {{"clusterNameSelector", Resources::Select(kControlPlane)},
           {"addonName", a.name},
           {"addonVersion", a.version},
           // Take over what EKS installed itself (vpc-cni, coredns, kube-proxy).
           {"resolveConflictsOnCreate", "OVERWRITE"},
           {"resolveConflictsOnUpdate", "OVERWRITE"}});
    r.Use(kControlPlane, kCluster, addon, kAddon);
  }

  std::set<std::string> entries;
  for (const AccessEntry& e : p.access_entries) {
    const std::string entry = AccessEntryResource(e.principal_arn);
    const std::string policy = AccessPolicyResource(e.principal_arn);
    if (!entries.insert(entry).second) {
      return absl::InternalError(
          sdk::Cat("two access entries hash to ", entry, "; rename one principal"));
    }
    const std::string usage_cp = compose::UsageResource(kControlPlane, entry);
    const std::string usage_entry = compose::UsageResource(entry, policy);
    if (!staged({entry, policy, usage_cp, usage_entry})) continue;
    r.Add(entry, kAccessEntry,
          {{"clusterNameSelector", Resources::Select(kControlPlane)},
           {"principalArn", e.principal_arn},
           {"type", "STANDARD"}});
    Json scope = {{"type", e.namespaces.empty() ? "cluster" : "namespace"}};
    if (!e.namespaces.empty()) scope["namespaces"] = e.namespaces;
    // The principal through the entry, so the association waits for it.
    r.Add(policy, kAccessPolicyAssociation,
          {{"clusterNameSelector", Resources::Select(kControlPlane)},
           {"principalArnSelector", Resources::Select(entry)},
           {"policyArn",
            sdk::Cat("arn:aws:eks::aws:cluster-access-policy/AmazonEKS", e.policy, "Policy")},
           {"accessScope", std::move(scope)}});
    r.Use(kControlPlane, kCluster, entry, kAccessEntry);
    r.Use(entry, kAccessEntry, policy, kAccessPolicyAssociation);
  }

  // IRSA: the cluster's OIDC issuer as an IAM identity provider, once EKS
  // has published it. Kept with the URL it was created with should the
  // issuer ever go missing from the observed cluster.
  if (const Json* oidc = c.Observed(kOidc); !out.oidc_issuer.empty() || oidc != nullptr) {
    const std::string url = out.oidc_issuer.empty()
                                ? compose::StringAt(*oidc, "spec.forProvider.url")
                                : out.oidc_issuer;
    r.Add(kOidc, kOidcProvider, {{"url", url}, {"clientIdList", {"sts.amazonaws.com"}}});
  }

  if (staged({kClusterAuthResource})) {
    Json secret = {{"name", out.kubeconfig_secret}};
    if (!p.scope.namespaced) secret["namespace"] = p.namespace_;
    r.Add(kClusterAuthResource, kClusterAuth,
          {{"clusterNameSelector", Resources::Select(kControlPlane)}},
          {{"writeConnectionSecretToRef", std::move(secret)}});
  }
  out.kubeconfig = Kubeconfig(c);
  return out;
}

}  // namespace platform::fn::renderers::xcluster
