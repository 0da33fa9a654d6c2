// EKS Pod Identity for the add-ons that call AWS: per add-on an IAM role
// that EKS Pod Identity may assume, the AWS managed policy the add-on needs,
// and the association of the role with the add-on's service account. Shared
// by both EKS provisioners (the association is a managed resource of the
// AWS provider either way). See docs/xcluster.md, "AWS permissions of
// add-ons".
#ifndef PLATFORM_FUNCTION_RENDERERS_XCLUSTER_POD_IDENTITY_H_
#define PLATFORM_FUNCTION_RENDERERS_XCLUSTER_POD_IDENTITY_H_

#include <string>
#include <string_view>
#include <vector>

#include "function/compose/aws_resources.h"
#include "function/renderers/xcluster/params.h"
#include "function/sdk/struct_json.h"

namespace platform::fn::renderers::xcluster {

// A workload in kube-system that gets AWS permissions through Pod Identity.
struct PodIdentityWorkload {
  std::string_view addon;            // the EKS add-on, e.g. aws-ebs-csi-driver
  std::string_view short_name;       // in resource names: role-<short_name>, ...
  std::string_view service_account;  // its service account in kube-system
  std::string_view policy_arn;       // the AWS managed policy it needs
};

inline constexpr compose::AwsKind kPodIdentityAssociation{"eks", "PodIdentityAssociation",
                                                          "v1beta1"};

// The workloads of the cluster `p` describes: the EBS CSI driver when it is
// an add-on, the VPC CNI when the class asks (policy vpcCniPodIdentity).
std::vector<const PodIdentityWorkload*> PodIdentityWorkloads(const Params& p);

// Resource names.
std::string PodIdentityRoleResource(const PodIdentityWorkload& w);
std::string PodIdentityAssociationResource(const PodIdentityWorkload& w);

// Composes the role and policy attachment of every workload, and, once
// `cluster_ready` (or once it exists), its association with the cluster:
// `cluster` is what names the cluster in the association's forProvider
// ({"clusterName": ...} or {"clusterNameSelector": ...}). Returns the
// add-ons whose association is ready: they install only then, so their
// pods start with the credentials.
std::vector<std::string> ComposePodIdentity(const Params& p, bool cluster_ready,
                                            const sdk::Json& cluster, compose::AwsResources& r);

}  // namespace platform::fn::renderers::xcluster

#endif  // PLATFORM_FUNCTION_RENDERERS_XCLUSTER_POD_IDENTITY_H_
