// Managed resources of the AWS provider for one XR, as the XCluster (AWS
// provisioner) and XDatabase renderers compose them: cluster-scoped kinds at
// their storage version for claim-based XRs, namespaced kinds (v1beta1) in
// the XR's namespace for namespaced XRs; each labelled with its composition
// resource name and wired to the others through selectors on that label;
// the region on regional kinds, the tags on taggable ones; ready on Ready=True.
#ifndef PLATFORM_FUNCTION_RENDERERS_AWS_RESOURCES_H_
#define PLATFORM_FUNCTION_RENDERERS_AWS_RESOURCES_H_

#include <string>
#include <string_view>

#include "function/renderers/scope.h"
#include "function/renderers/xcluster/compose.h"
#include "function/sdk/struct_json.h"

namespace platform::fn::renderers {

// One kind of the AWS provider.
struct AwsKind {
  std::string_view service;          // ec2, eks, iam, rds, kms
  std::string_view kind;             // Cluster, NodeGroup, ...
  std::string_view cluster_version;  // the cluster-scoped kind's storage version
};

// The composition resource name of the Usage keeping `of` until `by` is gone.
std::string UsageResource(std::string_view of, std::string_view by);

class AwsResources {
 public:
  AwsResources(const Scope& scope, std::string region, const sdk::Json& tags, xcluster::Composer& c)
      : scope_(scope), region_(std::move(region)), tags_(tags), c_(c) {}

  std::string ApiVersion(const AwsKind& k) const;

  // A selector of the resource composed as `resource` by this XR.
  static sdk::Json Select(std::string_view resource);

  // Adds one managed resource; `spec` may carry more than forProvider
  // (initProvider, writeConnectionSecretToRef, managementPolicies).
  void Add(std::string_view resource, const AwsKind& k, sdk::Json for_provider,
           sdk::Json spec = sdk::Json::object(), sdk::Json annotations = sdk::Json::object());

  // Deletion order: `of` is kept until `by` is gone. A ClusterUsage for
  // cluster-scoped resources, a Usage in the XR's namespace for namespaced
  // ones; named UsageResource(of, by).
  void Use(std::string_view of, const AwsKind& of_kind, std::string_view by,
           const AwsKind& by_kind);

 protected:
  const Scope& scope_;
  std::string region_;
  const sdk::Json& tags_;
  xcluster::Composer& c_;
};

}  // namespace platform::fn::renderers

#endif  // PLATFORM_FUNCTION_RENDERERS_AWS_RESOURCES_H_
