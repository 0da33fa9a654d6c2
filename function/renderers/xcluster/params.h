// The parameters of an XCluster, read and validated once, for every
// provisioner. See docs/xcluster.md for the API.
#ifndef PLATFORM_FUNCTION_RENDERERS_XCLUSTER_PARAMS_H_
#define PLATFORM_FUNCTION_RENDERERS_XCLUSTER_PARAMS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "function/compose/platform.h"
#include "function/compose/scope.h"
#include "function/policy/policy.h"
#include "function/sdk/fields.h"

namespace platform::fn::renderers::xcluster {

// Who provisions the cluster, and how.
enum class Provisioner {
  kCapiEks,      // Cluster API: AWSManagedControlPlane + managed node groups
  kCapiKubeadm,  // Cluster API: KubeadmControlPlane on EC2 + MachineDeployments
  kAws,          // the AWS provider's eks and iam kinds
};

// The name the Kubernetes cluster of the XCluster named `xr_name` goes by in
// AWS: the EKS cluster's (prefixed by the namespace for a namespaced XR), or
// for Kubeadm the Cluster API Cluster's. CAPA and the AWS cloud provider tag
// subnets kubernetes.io/cluster/<this name>.
std::string KubernetesClusterName(const compose::Scope& scope, std::string_view xr_name,
                                  Provisioner provisioner);

struct NodePool {
  std::string name;
  std::string instance_type;
  std::int64_t min = 1;
  std::int64_t max = 3;
  std::int64_t desired = 1;
  std::string capacity_type;  // ON_DEMAND | SPOT
  // Kubernetes label key -> value.
  sdk::Json labels = sdk::Json::object();
  // As the XRD has them: [{key, value, effect: NoSchedule|NoExecute|PreferNoSchedule}].
  sdk::Json taints = sdk::Json::array();
  std::int64_t disk_size = 50;  // GiB
};

struct Addon {
  std::string name;
  std::string version;  // empty: EKS's own (vpc-cni, coredns, kube-proxy only)
};

// vpc-cni, coredns and kube-proxy: EKS installs them itself; listed without
// a version they stay EKS's.
bool IsSelfManagedAddon(std::string_view name);

struct AccessEntry {
  std::string principal_arn;
  std::string policy;  // ClusterAdmin | Admin | Edit | View
  std::vector<std::string> namespaces;
  // The policy's cluster access rule that gave it, or empty for the XR's own.
  std::string rule;
};

struct Network {
  // The XEnvironment named by spec.parameters.network.environment, or empty
  // when the ids are given. Its ids are filled in by ResolveNetwork() in
  // network.h before composing.
  std::string environment;
  // metadata.name of that XEnvironment, once resolved.
  std::string environment_object;
  std::string vpc_id;
  std::vector<std::string> private_subnet_ids;
  // Only for load balancers of a public API endpoint (Kubeadm flavor).
  std::vector<std::string> public_subnet_ids;
  // Extra groups for every node: the user's, then the class's mandated ones.
  std::vector<std::string> security_group_ids;
  // The VPC's block: the environment's status.vpcCidr, or
  // spec.parameters.network.vpcCidr with ids (may stay empty then).
  std::string vpc_cidr;
};

// The blocks of a Kubeadm cluster's pods and services
// (spec.parameters.clusterNetwork), which must not overlap the VPC nor the
// management network: a packet to either would stay in the cluster.
struct ClusterNetwork {
  std::string pod_cidr = "192.168.0.0/16";
  std::string service_cidr = "172.20.0.0/16";
  // Which fields set them, for errors: the given field, or the same path
  // marked as the default.
  bool pod_cidr_given = false;
  bool service_cidr_given = false;
};

// The self-managed control plane of the Kubeadm flavor.
struct KubeadmControlPlane {
  std::int64_t replicas = 1;  // 1, 3 or 5
  std::string instance_type;
  std::int64_t disk_size = 50;
};

struct Params {
  policy::Subject subject;
  compose::Scope scope;
  Provisioner provisioner = Provisioner::kCapiEks;
  // Namespace of the Cluster API objects and of the kubeconfig Secret: a
  // namespaced XR's own; for a claim-based XR the claim's, else
  // spec.parameters.namespace.
  std::string namespace_;
  // metadata.name of the Cluster API objects: the XR's name.
  std::string name;
  // The cluster's name in AWS: the XR's name, prefixed by the namespace for
  // namespaced XRs so two namespaces can use one name; shortened with a hash
  // beyond EKS's 100 characters (compose::EksClusterName).
  std::string cluster_name;
  std::string version;          // MAJOR.MINOR, e.g. 1.34
  std::string endpoint_access;  // Private | PublicAndPrivate | Public
  // Who may reach a public endpoint; empty: anyone (EKS's default).
  std::vector<std::string> public_access_cidrs;
  Network network;
  // The class's way from the management cluster to a private endpoint
  // (policy classes.<class>.network.managementPath); unset when it has none.
  policy::ManagementPath management_path;
  KubeadmControlPlane control_plane;
  ClusterNetwork cluster_network;
  std::vector<NodePool> pools;
  std::vector<Addon> addons;
  std::vector<AccessEntry> access_entries;
  sdk::Json user_tags = sdk::Json::object();
  // The XEnvironment that composed this cluster (its controller owner), or
  // empty for a cluster applied on its own.
  std::string parent;
  // The class's cluster limits, for renderers that check more.
  const policy::ClusterLimits* limits = nullptr;
};

// Reads and validates the XR's own parameters against the class's limits;
// `xr` was read and authorized by the platform contract (platform.h).
absl::StatusOr<Params> ReadParams(const compose::Xr& xr);

// The checks that need the VPC's block, once the network is resolved: a
// Kubeadm cluster's pod and service blocks must lie outside it. OK when the
// block is unknown (ids without network.vpcCidr).
absl::Status CheckClusterNetworkInVpc(const Params& p);

// The family of an instance type: "m6i" of "m6i.large".
std::string_view Family(std::string_view instance_type);
// Graviton families have a `g` right after the generation: m7g, t4g, c7gn.
bool IsArm(std::string_view family);
// The EKS AMI type (AL2023) for nodes of an instance family: ARM for
// Graviton and a1, NVIDIA for the p and g GPU families (not AMD's g4ad),
// Neuron for Inferentia and Trainium, standard otherwise.
std::string_view AmiType(std::string_view family);
bool IsDnsLabel(std::string_view s);

}  // namespace platform::fn::renderers::xcluster

#endif  // PLATFORM_FUNCTION_RENDERERS_XCLUSTER_PARAMS_H_
