#include "function/renderers/xcluster/pod_identity.h"

#include <algorithm>
#include <utility>

#include "function/compose/object.h"
#include "function/sdk/strings.h"

namespace platform::fn::renderers::xcluster {
namespace {

using sdk::Json;

constexpr compose::AwsKind kRole{"iam", "Role", "v1beta1"};
constexpr compose::AwsKind kRolePolicyAttachment{"iam", "RolePolicyAttachment", "v1beta1"};

// As AWS documents them: the EBS CSI controller's service account and the
// policy for volumes; the CNI's aws-node and the policy it otherwise takes
// from the nodes' role.
constexpr PodIdentityWorkload kEbsCsi{
    "aws-ebs-csi-driver", "ebs-csi", "ebs-csi-controller-sa",
    "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"};
constexpr PodIdentityWorkload kVpcCni{"vpc-cni", "vpc-cni", "aws-node",
                                      "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"};

// Pod Identity assumes the role and tags the session with the cluster,
// namespace and service account.
std::string PodIdentityTrustPolicy() {
  return Json({{"Version", "2012-10-17"},
               {"Statement",
                {{{"Effect", "Allow"},
                  {"Principal", {{"Service", "pods.eks.amazonaws.com"}}},
                  {"Action", {"sts:AssumeRole", "sts:TagSession"}}}}}})
      .dump();
}

}  // namespace

std::vector<const PodIdentityWorkload*> PodIdentityWorkloads(const Params& p) {
  std::vector<const PodIdentityWorkload*> out;
  if (p.provisioner == Provisioner::kCapiKubeadm) return out;
  const bool ebs = std::any_of(p.addons.begin(), p.addons.end(),
                               [](const Addon& a) { return a.name == kEbsCsi.addon; });
  if (ebs) out.push_back(&kEbsCsi);
  if (p.limits != nullptr && p.limits->vpc_cni_pod_identity) out.push_back(&kVpcCni);
  return out;
}

std::string PodIdentityRoleResource(const PodIdentityWorkload& w) {
  return sdk::Cat("role-", w.short_name);
}

std::string PodIdentityAssociationResource(const PodIdentityWorkload& w) {
  return sdk::Cat("podidentity-", w.short_name);
}

std::vector<std::string> ComposePodIdentity(const Params& p, bool cluster_ready,
                                            const Json& cluster, compose::AwsResources& r) {
  std::vector<std::string> ready;
  compose::Composer& c = r.composer();
  for (const PodIdentityWorkload* w : PodIdentityWorkloads(p)) {
    const std::string role = PodIdentityRoleResource(*w);
    r.Add(role, kRole,
          {{"assumeRolePolicy", PodIdentityTrustPolicy()},
           {"description", sdk::Cat("EKS Pod Identity: ", w->addon, " of ", p.cluster_name)},
           {"forceDetachPolicies", true}});
    r.Add(sdk::Cat("rpa-", w->short_name), kRolePolicyAttachment,
          {{"roleSelector", compose::AwsResources::Select(role)}, {"policyArn", w->policy_arn}});
    const std::string association = PodIdentityAssociationResource(*w);
    if (!cluster_ready && !c.Exists(association)) continue;
    Json fp = cluster;
    fp["namespace"] = "kube-system";
    fp["serviceAccount"] = w->service_account;
    fp["roleArnSelector"] = compose::AwsResources::Select(role);
    r.Add(association, kPodIdentityAssociation, std::move(fp));
    if (c.IsReady(association, compose::ReadyCondition)) ready.emplace_back(w->addon);
  }
  return ready;
}

}  // namespace platform::fn::renderers::xcluster
