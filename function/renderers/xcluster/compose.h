// What every XCluster provisioner shares: Cluster API's groups and objects,
// their readiness rules, and the outcome a provisioner hands back for the
// XR's status and connection details.
#ifndef PLATFORM_FUNCTION_RENDERERS_XCLUSTER_COMPOSE_H_
#define PLATFORM_FUNCTION_RENDERERS_XCLUSTER_COMPOSE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "function/compose/composer.h"
#include "function/renderers/xcluster/params.h"
#include "function/sdk/request.h"
#include "function/sdk/response.h"

namespace platform::fn::renderers::xcluster {

// Cluster API's label naming the cluster.
inline constexpr std::string_view kClusterNameLabel = "cluster.x-k8s.io/cluster-name";

// Cluster API core at its storage version (v1beta2: references are
// {apiGroup, kind, name}); CAPA's kinds and the kubeadm providers' at theirs.
inline constexpr std::string_view kCapiGroup = "cluster.x-k8s.io";
inline constexpr std::string_view kCapiVersion = "cluster.x-k8s.io/v1beta2";
inline constexpr std::string_view kControlPlaneGroup = "controlplane.cluster.x-k8s.io";
inline constexpr std::string_view kControlPlaneVersion = "controlplane.cluster.x-k8s.io/v1beta2";
inline constexpr std::string_view kBootstrapGroup = "bootstrap.cluster.x-k8s.io";
inline constexpr std::string_view kBootstrapVersion = "bootstrap.cluster.x-k8s.io/v1beta2";
inline constexpr std::string_view kInfraGroup = "infrastructure.cluster.x-k8s.io";
inline constexpr std::string_view kInfraVersion = "infrastructure.cluster.x-k8s.io/v1beta2";

// --- Readiness rules: true when an observed object is ready ------------------------

// CAPA objects: status.ready true, or Ready=True.
bool ReadyFlagOrCondition(const sdk::Json& o);
// Cluster: Available=True, or Ready=True, or phase Provisioned.
bool ReadyCapiCluster(const sdk::Json& o);
// MachinePool, MachineDeployment: phase Running, or Available=True, or Ready=True.
bool ReadyMachines(const sdk::Json& o);
// KubeadmControlPlane: Available=True, or Ready=True (also the v1beta1
// conditions), or status.ready.
bool ReadyKubeadmControlPlane(const sdk::Json& o);

// A Cluster API (or CAPA, kubeadm) object: namespaced, in p.namespace_,
// labelled with its resource name and the cluster's name.
sdk::Json CapiObject(const Params& p, std::string_view resource, std::string_view api_version,
                     std::string_view kind, std::string_view object_name, sdk::Json spec);

// A namespaced Usage (protection.crossplane.io/v1beta1) named
// <xr>-<by_resource>, in p.namespace_: the object `of` is kept until `by` is
// gone. Both are named objects in that namespace.
struct ObjectRef {
  std::string_view api_version;
  std::string_view kind;
  std::string name;
};
sdk::Json NamespacedUsage(const Params& p, std::string_view usage_resource,
                          std::string_view by_resource, const ObjectRef& of, const ObjectRef& by);

// A CAPA ingress rule (AWSCluster's load balancer ingressRules,
// AWSManagedControlPlane's additionalControlPlaneIngressRules): TCP on
// `port` from `cidrs`.
sdk::Json ApiIngressRule(std::string_view description, int port,
                         const std::vector<std::string>& cidrs);

// --- Outcome ----------------------------------------------------------------------

struct PoolState {
  std::string phase;
  bool ready = false;
  std::optional<std::int64_t> replicas;
  std::optional<std::int64_t> ready_replicas;
};

// A pool's state from its observed MachinePool or MachineDeployment (nullptr
// when not observed yet: phase Pending, not ready).
PoolState MachinesState(const sdk::Json* observed);

// What a provisioner composed, for the XR's status and connection details.
struct Outcome {
  bool control_plane_ready = false;
  // Pools held back until the control plane is ready (not composed yet).
  std::vector<std::string> waiting;
  // Observed facts, empty until known.
  std::string version;      // the control plane's Kubernetes version
  std::string endpoint;     // https://... of the API server
  std::string oidc_issuer;  // https://oidc.eks...
  // Per composed pool.
  std::map<std::string, PoolState> pools;
  // The Secret holding the kubeconfig, in p.namespace_, and its key.
  std::string kubeconfig_secret;
  std::string kubeconfig_key;
  // A second Secret for users (CAPA writes one for EKS), or empty.
  std::string user_kubeconfig_secret;
  // The kubeconfig when the provisioner already has it (from an observed
  // composed resource's connection details); else the renderer reads the
  // Secret as a required resource once the control plane is ready.
  std::optional<std::string> kubeconfig;
  // The object whose deletion ends the cluster's (its control plane), as the
  // `by` of a Usage: {apiVersion, kind, resourceRef: {name}} or
  // {apiVersion, kind, resourceSelector}; null when there is none. The
  // network's XEnvironment is kept until it is gone.
  sdk::Json control_plane_usage_ref = nullptr;
  // Whether that object is cluster-scoped (a claim-based XR's managed
  // resource) or in p.namespace_.
  bool control_plane_cluster_scoped = false;
  // A short description of what is composed, for the event, e.g.
  // "EKS cluster payments (Cluster API)".
  std::string description;
};

// Each provisioner composes every resource of the cluster into `c` and
// describes the outcome. `tags` are the tags every AWS resource carries
// (user tags under the mandated ones).
absl::StatusOr<Outcome> ComposeCapiEks(const Params& p, const sdk::Json& tags,
                                       compose::Composer& c);
absl::StatusOr<Outcome> ComposeCapiKubeadm(const Params& p, const sdk::Json& tags,
                                           compose::Composer& c);
absl::StatusOr<Outcome> ComposeAws(const Params& p, const sdk::Json& tags, compose::Composer& c);

}  // namespace platform::fn::renderers::xcluster

#endif  // PLATFORM_FUNCTION_RENDERERS_XCLUSTER_COMPOSE_H_
