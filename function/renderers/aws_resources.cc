#include "function/renderers/aws_resources.h"

#include <utility>

#include "function/policy/policy.h"
#include "function/sdk/strings.h"

namespace platform::fn::renderers {

using sdk::Json;

std::string UsageResource(std::string_view of, std::string_view by) {
  return sdk::Cat("usage-", of, "-by-", by);
}

std::string AwsResources::ApiVersion(const AwsKind& k) const {
  return scope_.namespaced ? scope_.AwsApiVersion(k.service)
                           : scope_.AwsApiVersion(k.service, k.cluster_version);
}

Json AwsResources::Select(std::string_view resource) {
  return {{"matchControllerRef", true},
          {"matchLabels", {{std::string(xcluster::kResourceLabel), std::string(resource)}}}};
}

void AwsResources::Add(std::string_view resource, const AwsKind& k, Json for_provider, Json spec,
                       Json annotations) {
  // IAM is global: its kinds have no region.
  if (k.service != "iam") for_provider["region"] = region_;
  if (policy::Policies::IsTaggableKind(k.kind)) for_provider["tags"] = tags_;
  spec["forProvider"] = std::move(for_provider);
  Json metadata = scope_.Metadata();
  metadata["labels"] = {{std::string(xcluster::kResourceLabel), std::string(resource)}};
  if (!annotations.empty()) metadata["annotations"] = std::move(annotations);
  c_.Add(std::string(resource),
         {{"apiVersion", ApiVersion(k)},
          {"kind", k.kind},
          {"metadata", std::move(metadata)},
          {"spec", std::move(spec)}},
         xcluster::ReadyCondition);
}

void AwsResources::Use(std::string_view of, const AwsKind& of_kind, std::string_view by,
                       const AwsKind& by_kind) {
  const std::string name = UsageResource(of, by);
  Json metadata = scope_.Metadata();
  metadata["labels"] = {{std::string(xcluster::kResourceLabel), name}};
  c_.Add(name,
         {{"apiVersion", "protection.crossplane.io/v1beta1"},
          {"kind", scope_.namespaced ? "Usage" : "ClusterUsage"},
          {"metadata", std::move(metadata)},
          {"spec",
           {{"replayDeletion", true},
            {"of",
             {{"apiVersion", ApiVersion(of_kind)},
              {"kind", of_kind.kind},
              {"resourceSelector", Select(of)}}},
            {"by",
             {{"apiVersion", ApiVersion(by_kind)},
              {"kind", by_kind.kind},
              {"resourceSelector", Select(by)}}}}}},
         xcluster::ReadyCondition);
}

}  // namespace platform::fn::renderers
