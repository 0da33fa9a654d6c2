// Managed resources of the AWS provider for one XR: cluster-scoped kinds at
// their storage version for claim-based XRs, namespaced kinds (v1beta1) in
// the XR's namespace for namespaced XRs; each labelled with its composition
// resource name and wired to the others through selectors on that label;
// the region on regional kinds, the tags on taggable ones; ready on
// Ready=True.
#ifndef PLATFORM_FUNCTION_COMPOSE_AWS_RESOURCES_H_
#define PLATFORM_FUNCTION_COMPOSE_AWS_RESOURCES_H_

#include <string>
#include <string_view>

#include "function/compose/aws_names.h"  // for the names a kind derives for AWS
#include "function/compose/composer.h"
#include "function/compose/scope.h"
#include "function/sdk/struct_json.h"

namespace platform::fn::compose {

// The annotation naming a managed resource's AWS resource, for kinds whose
// AWS name is their external name (IAM roles, log groups, EKS clusters, ...).
inline constexpr std::string_view kExternalName = "crossplane.io/external-name";

// An IAM trust policy (assumeRolePolicy) that lets `service` (e.g.
// "eks.amazonaws.com") assume the role, as JSON text.
std::string TrustPolicy(std::string_view service);

// One kind of the AWS provider.
struct AwsKind {
  std::string_view service;          // ec2, eks, iam, rds, kms
  std::string_view kind;             // Cluster, NodeGroup, ...
  std::string_view cluster_version;  // the cluster-scoped kind's storage version
};

class AwsResources {
 public:
  // `tags` go on every taggable kind; `c` receives the resources. All three
  // must outlive this object.
  AwsResources(const Scope& scope, std::string region, const sdk::Json& tags, Composer& c)
      : scope_(scope), region_(std::move(region)), tags_(tags), c_(c) {}

  std::string ApiVersion(const AwsKind& k) const;

  // A selector of the resource composed as `resource` by this XR.
  static sdk::Json Select(std::string_view resource);

  // Adds one managed resource. `spec` may carry more than forProvider
  // (initProvider, writeConnectionSecretToRef, managementPolicies); tags
  // already in `for_provider` (a Name) are kept over the XR's tags of the
  // same key; `labels` join the resource label.
  void Add(std::string_view resource, const AwsKind& k, sdk::Json for_provider,
           sdk::Json spec = sdk::Json::object(), sdk::Json annotations = sdk::Json::object(),
           sdk::Json labels = sdk::Json::object());

  // Deletion order: `of` is kept until `by` is gone. A ClusterUsage for
  // cluster-scoped resources, a Usage in the XR's namespace for namespaced
  // ones; named UsageResource(of, by).
  void Use(std::string_view of, const AwsKind& of_kind, std::string_view by,
           const AwsKind& by_kind);

  const Scope& scope() const { return scope_; }
  Composer& composer() { return c_; }

 protected:
  const Scope& scope_;
  std::string region_;
  const sdk::Json& tags_;
  Composer& c_;
};

}  // namespace platform::fn::compose

#endif  // PLATFORM_FUNCTION_COMPOSE_AWS_RESOURCES_H_
