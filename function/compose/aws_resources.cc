#include "function/compose/aws_resources.h"

#include <utility>

#include "function/compose/object.h"
#include "function/compose/usage.h"
#include "function/policy/policy.h"

namespace platform::fn::compose {

using sdk::Json;

std::string AwsResources::ApiVersion(const AwsKind& k) const {
  return scope_.namespaced ? scope_.AwsApiVersion(k.service)
                           : scope_.AwsApiVersion(k.service, k.cluster_version);
}

std::string TrustPolicy(std::string_view service) {
  return Json({{"Version", "2012-10-17"},
               {"Statement",
                {{{"Effect", "Allow"},
                  {"Principal", {{"Service", service}}},
                  {"Action", "sts:AssumeRole"}}}}})
      .dump();
}

Json AwsResources::Select(std::string_view resource) { return SelectComposed(resource); }

void AwsResources::Add(std::string_view resource, const AwsKind& k, Json for_provider, Json spec,
                       Json annotations, Json labels) {
  // IAM is global: its kinds have no region.
  if (k.service != "iam") for_provider["region"] = region_;
  if (policy::Policies::IsTaggableKind(k.kind)) {
    Json tags = tags_;
    if (auto own = for_provider.find("tags"); own != for_provider.end() && own->is_object()) {
      tags.update(*own);
    }
    for_provider["tags"] = std::move(tags);
  }
  spec["forProvider"] = std::move(for_provider);
  Json metadata = scope_.Metadata();
  labels[std::string(kResourceLabel)] = resource;
  metadata["labels"] = std::move(labels);
  if (!annotations.empty()) metadata["annotations"] = std::move(annotations);
  c_.Add(std::string(resource),
         {{"apiVersion", ApiVersion(k)},
          {"kind", k.kind},
          {"metadata", std::move(metadata)},
          {"spec", std::move(spec)}},
         ReadyCondition);
}

void AwsResources::Use(std::string_view of, const AwsKind& of_kind, std::string_view by,
                       const AwsKind& by_kind) {
  const std::string name = UsageResource(of, by);
  Json metadata = scope_.Metadata();
  metadata["labels"] = {{std::string(kResourceLabel), name}};
  c_.Add(name,
         Usage(scope_.namespaced, std::move(metadata),
               UsageEndBySelector(ApiVersion(of_kind), of_kind.kind, of),
               UsageEndBySelector(ApiVersion(by_kind), by_kind.kind, by)),
         ReadyCondition);
}

}  // namespace platform::fn::compose
