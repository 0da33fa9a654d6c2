#include "function/renderers/xcluster/xcluster.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "function/compose/environment.h"
#include "function/compose/object.h"
#include "function/renderers/xcluster/compose.h"
#include "function/renderers/xcluster/network.h"
#include "function/renderers/xcluster/params.h"
#include "function/sdk/status_macros.h"
#include "function/sdk/strings.h"

namespace platform::fn::renderers {
namespace {

using compose::Composer;
using sdk::FieldError;
using sdk::Json;
using xcluster::NodePool;
using xcluster::Outcome;
using xcluster::Params;
using xcluster::PoolState;
using xcluster::Provisioner;

absl::Status WriteStatus(const Params& p, const Outcome& o, sdk::Response& rsp) {
  PLATFORM_RETURN_IF_ERROR(rsp.SetCompositeStatus("clusterName", p.cluster_name));
  PLATFORM_RETURN_IF_ERROR(rsp.SetCompositeStatus("namespace", p.namespace_));
  PLATFORM_RETURN_IF_ERROR(rsp.SetCompositeStatus("kubeconfigSecretName", o.kubeconfig_secret));
  if (!o.user_kubeconfig_secret.empty()) {
    PLATFORM_RETURN_IF_ERROR(
        rsp.SetCompositeStatus("userKubeconfigSecretName", o.user_kubeconfig_secret));
  }
  PLATFORM_RETURN_IF_ERROR(rsp.SetCompositeStatus("controlPlaneReady", o.control_plane_ready));
  if (!o.version.empty()) PLATFORM_RETURN_IF_ERROR(rsp.SetCompositeStatus("version", o.version));
  if (!o.endpoint.empty()) {
    PLATFORM_RETURN_IF_ERROR(rsp.SetCompositeStatus("endpoint", o.endpoint));
  }
  if (!o.oidc_issuer.empty()) {
    PLATFORM_RETURN_IF_ERROR(rsp.SetCompositeStatus("oidcIssuer", o.oidc_issuer));
  }
  if (!p.network.environment.empty()) {
    PLATFORM_RETURN_IF_ERROR(rsp.SetCompositeStatus("vpcId", p.network.vpc_id));
  }
  for (const NodePool& pool : p.pools) {
    const std::string base = sdk::Cat("nodePools.", pool.name, ".");
    if (std::find(o.waiting.begin(), o.waiting.end(), pool.name) != o.waiting.end()) {
      PLATFORM_RETURN_IF_ERROR(
          rsp.SetCompositeStatus(sdk::Cat(base, "phase"), "WaitingForControlPlane"));
      PLATFORM_RETURN_IF_ERROR(rsp.SetCompositeStatus(sdk::Cat(base, "ready"), false));
      continue;
    }
    auto it = o.pools.find(pool.name);
    if (it == o.pools.end()) continue;
    const PoolState& s = it->second;
    PLATFORM_RETURN_IF_ERROR(rsp.SetCompositeStatus(sdk::Cat(base, "phase"), s.phase));
    PLATFORM_RETURN_IF_ERROR(rsp.SetCompositeStatus(sdk::Cat(base, "ready"), s.ready));
    if (s.replicas) {
      PLATFORM_RETURN_IF_ERROR(rsp.SetCompositeStatus(sdk::Cat(base, "replicas"), *s.replicas));
    }
    if (s.ready_replicas) {
      PLATFORM_RETURN_IF_ERROR(
          rsp.SetCompositeStatus(sdk::Cat(base, "readyReplicas"), *s.ready_replicas));
    }
  }
  return absl::OkStatus();
}

// Claim-based XRs publish the kubeconfig as their connection details, which
// Crossplane writes to the claim's connection Secret. A provisioner either
// has it already (from a composed resource's observed connection details)
// or names the Secret it is written to; the function then asks for that
// Secret as a required resource once the control plane is ready. Namespaced
// XRs have no connection details in Crossplane v2: their users read the
// Secret named in status.kubeconfigSecretName in their own namespace.
constexpr std::string_view kKubeconfigRequirement = "kubeconfig";

absl::Status PublishKubeconfig(const Params& p, const Outcome& o, const sdk::Request& req,
                               sdk::Response& rsp) {
  if (p.scope.namespaced || !o.control_plane_ready) return absl::OkStatus();
  if (o.kubeconfig) {
    if (!o.kubeconfig->empty()) rsp.SetConnectionDetail("kubeconfig", *o.kubeconfig);
    return absl::OkStatus();
  }
  pb::ResourceSelector selector;
  selector.set_api_version("v1");
  selector.set_kind("Secret");
  selector.set_match_name(o.kubeconfig_secret);
  selector.set_namespace_(p.namespace_);
  rsp.RequireResources(std::string(kKubeconfigRequirement), std::move(selector));
  const std::optional<std::vector<Json>> found = req.RequiredResources(kKubeconfigRequirement);
  if (!found || found->empty()) return absl::OkStatus();
  const sdk::Fields secret(found->front(), sdk::Cat("required resource ", kKubeconfigRequirement));
  PLATFORM_ASSIGN_OR_RETURN(std::string encoded,
                            secret.String(sdk::Cat("data.", o.kubeconfig_key), ""));
  if (encoded.empty()) return absl::OkStatus();
  std::string kubeconfig;
  if (!absl::Base64Unescape(encoded, &kubeconfig)) {
    return FieldError(sdk::JoinPath(secret.path(), sdk::Cat("data.", o.kubeconfig_key)),
                      "must be base64");
  }
  rsp.SetConnectionDetail("kubeconfig", std::move(kubeconfig));
  return absl::OkStatus();
}

// The cluster goes before its network: when the network is an XEnvironment,
// a Usage keeps that XEnvironment until the cluster's control plane is gone.
// A namespaced XR's Usage and both objects share its namespace; a claim-based
// XR's XEnvironment is cluster-scoped, so the Usage is a ClusterUsage, which
// can only name a cluster-scoped `by` (a managed resource of the AWS
// provisioner). Cluster API objects are namespaced: there the deletion order
// rests on AWS itself, which refuses to delete subnets and a VPC that still
// hold the cluster's network interfaces (Crossplane retries until they are gone).
constexpr std::string_view kEnvironmentUsage = "usage-environment-by-controlplane";

void AddEnvironmentUsage(const Params& p, const Outcome& o, compose::Composer& c) {
  if (p.network.environment_object.empty() || o.control_plane_usage_ref.is_null()) return;
  if (p.scope.namespaced == o.control_plane_cluster_scoped) return;
  if (p.parent == p.network.environment_object) return;
  c.Add(std::string(kEnvironmentUsage),
        compose::EnvironmentUsage(
            p.scope, p.network.environment_object,
            {{"name", sdk::Cat(p.name, "-environment")},
             {"labels", {{std::string(compose::kResourceLabel), kEnvironmentUsage}}}},
            o.control_plane_usage_ref),
        compose::ReadyCondition);
}

absl::StatusOr<Outcome> ComposeCluster(const Params& p, const Json& tags, Composer& c) {
  switch (p.provisioner) {
    case Provisioner::kCapiEks:
      return xcluster::ComposeCapiEks(p, tags, c);
    case Provisioner::kCapiKubeadm:
      return xcluster::ComposeCapiKubeadm(p, tags, c);
    case Provisioner::kAws:
      return xcluster::ComposeAws(p, tags, c);
  }
  return absl::InternalError("unknown provisioner");
}

}  // namespace

XCluster::XCluster() : PlatformRenderer({.noun = "cluster", .plural = "clusters"}) {}

absl::StatusOr<compose::Composed> XCluster::Compose(const compose::Xr& xr,
                                                    compose::RenderContext& call) const {
  PLATFORM_ASSIGN_OR_RETURN(Params p, xcluster::ReadParams(xr));
  if (!p.network.environment.empty()) {
    PLATFORM_ASSIGN_OR_RETURN(
        std::optional<compose::EnvironmentNetwork> network,
        call.Network(p.network.environment, {{.field = "vpcId"},
                                             {.field = "privateSubnetIds", .at_least = 2},
                                             xcluster::NeedPublicSubnets(p)}));
    if (!network) return compose::Composed::WaitingForNetwork();
    xcluster::UseNetwork(std::move(*network), p);
  }
  PLATFORM_RETURN_IF_ERROR(xcluster::CheckClusterNetworkInVpc(p));

  const Json tags = call.Tags();
  Composer& composer = call.composer();
  PLATFORM_ASSIGN_OR_RETURN(Outcome outcome, ComposeCluster(p, tags, composer));
  AddEnvironmentUsage(p, outcome, composer);
  sdk::Response& rsp = call.rsp();
  PLATFORM_RETURN_IF_ERROR(WriteStatus(p, outcome, rsp));
  PLATFORM_RETURN_IF_ERROR(PublishKubeconfig(p, outcome, call.req(), rsp));
  // Crossplane would call the XR ready once everything desired so far is;
  // pools still held back mean it is not.
  if (!outcome.waiting.empty()) rsp.SetCompositeReady(pb::READY_FALSE);

  compose::Composed composed;
  composed.announcement =
      sdk::Cat(outcome.description, ": Kubernetes ", p.version, ", ", p.subject.environment_class,
               ", ", p.subject.region,
               outcome.waiting.empty() ? std::string()
                                       : sdk::Cat("; node pools ", sdk::JoinList(outcome.waiting),
                                                  " wait for the control plane"));
  return composed;
}

}  // namespace platform::fn::renderers
