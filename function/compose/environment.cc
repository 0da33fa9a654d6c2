#include "function/compose/environment.h"

#include <utility>
#include <vector>

#include "function/compose/usage.h"
#include "function/sdk/fields.h"
#include "function/sdk/status_macros.h"
#include "function/sdk/strings.h"

namespace platform::fn::compose {
namespace {

pb::ResourceSelector Selector(const EnvironmentLookup& l) {
  pb::ResourceSelector s;
  s.set_kind("XEnvironment");
  if (l.scope.namespaced) {
    s.set_api_version("platform.m.terraforming.io/v1alpha1");
    s.set_match_name(l.name);
    s.set_namespace_(l.scope.namespace_);
  } else if (!l.subject.origin_namespace.empty()) {
    s.set_api_version("platform.terraforming.io/v1alpha1");
    auto& labels = *s.mutable_match_labels()->mutable_labels();
    labels["crossplane.io/claim-name"] = l.name;
    labels["crossplane.io/claim-namespace"] = l.subject.origin_namespace;
  } else {
    s.set_api_version("platform.terraforming.io/v1alpha1");
    s.set_match_name(l.name);
  }
  return s;
}

}  // namespace

std::string Describe(const EnvironmentLookup& l) {
  if (l.scope.namespaced) {
    return sdk::Cat("XEnvironment \"", l.name, "\" in namespace \"", l.scope.namespace_, "\"");
  }
  if (!l.subject.origin_namespace.empty()) {
    return sdk::Cat("Environment claim \"", l.name, "\" in namespace \"",
                    l.subject.origin_namespace, "\"");
  }
  return sdk::Cat("XEnvironment \"", l.name, "\"");
}

absl::StatusOr<std::optional<sdk::Json>> LookUpEnvironment(const EnvironmentLookup& l,
                                                           const sdk::Request& req,
                                                           sdk::Response& rsp) {
  rsp.RequireResources(std::string(kEnvironmentRequirement), Selector(l));
  std::optional<std::vector<sdk::Json>> found = req.RequiredResources(kEnvironmentRequirement);
  if (!found) return std::nullopt;
  if (found->empty()) {
    return sdk::FieldError(kEnvironmentField, sdk::Cat(Describe(l), " does not exist"));
  }
  if (found->size() > 1) {
    return sdk::FieldError(kEnvironmentField, sdk::Cat(Describe(l), " matches ", found->size(),
                                                       " XEnvironments; expected one"));
  }
  const sdk::Fields env(found->front(), sdk::Cat("required resource ", kEnvironmentRequirement));
  // The XR belongs to the environment: same class, same region.
  PLATFORM_ASSIGN_OR_RETURN(std::string env_class, env.String("spec.parameters.environment", ""));
  if (env_class != l.subject.environment_class) {
    return policy::FieldViolation(
        kEnvironmentField,
        sdk::Cat("a ", l.subject.environment_class, " ", l.what, " may not use ", Describe(l),
                 ", a ", env_class.empty() ? "(unknown)" : env_class, " environment"));
  }
  PLATFORM_ASSIGN_OR_RETURN(std::string env_region, env.String("spec.parameters.region", ""));
  if (env_region != l.subject.region) {
    return sdk::FieldError(kEnvironmentField, sdk::Cat(Describe(l), " is in region ", env_region,
                                                       ", not ", l.subject.region));
  }
  return std::move(found->front());
}

absl::Status AwaitPublished(const EnvironmentLookup& l, std::string_view missing,
                            const sdk::Request& req, std::string& why) {
  if (!req.ObservedResourceNames().empty()) {
    return sdk::FieldError(kEnvironmentField,
                           sdk::Cat(Describe(l), " publishes no ", missing, " in its status; the ",
                                    l.what, " is kept as it is"));
  }
  why = sdk::Cat("waiting for ", Describe(l), " to publish ", missing, " in its status");
  return absl::OkStatus();
}

absl::StatusOr<std::optional<EnvironmentNetwork>> ResolveNetwork(
    const EnvironmentLookup& l, std::initializer_list<NetworkNeed> needs, const sdk::Request& req,
    sdk::Response& rsp, std::string& why) {
  PLATFORM_ASSIGN_OR_RETURN(std::optional<sdk::Json> found, LookUpEnvironment(l, req, rsp));
  if (!found) {
    // Crossplane fetches it and calls again at once, within the same
    // reconcile (it does so whenever the requirements change); only the
    // answer to that call is applied.
    why = sdk::Cat("waiting for Crossplane to provide ", Describe(l));
    return std::nullopt;
  }
  const sdk::Fields env(*found, sdk::Cat("required resource ", kEnvironmentRequirement));
  EnvironmentNetwork n;
  PLATFORM_ASSIGN_OR_RETURN(n.vpc_id, env.String("status.vpcId", ""));
  PLATFORM_ASSIGN_OR_RETURN(n.vpc_cidr, env.String("status.vpcCidr", ""));
  PLATFORM_ASSIGN_OR_RETURN(n.private_subnet_ids, env.StringList("status.privateSubnetIds"));
  PLATFORM_ASSIGN_OR_RETURN(n.public_subnet_ids, env.StringList("status.publicSubnetIds"));
  PLATFORM_ASSIGN_OR_RETURN(n.database_subnet_ids, env.StringList("status.databaseSubnetIds"));
  PLATFORM_ASSIGN_OR_RETURN(n.availability_zones, env.StringList("status.availabilityZones"));
  PLATFORM_ASSIGN_OR_RETURN(n.baseline_security_group,
                            env.String("status.securityGroupIds.baseline", ""));
  const auto published = [&n](std::string_view field) -> std::size_t {
    if (field == "vpcId") return n.vpc_id.empty() ? 0 : 1;
    if (field == "vpcCidr") return n.vpc_cidr.empty() ? 0 : 1;
    if (field == "privateSubnetIds") return n.private_subnet_ids.size();
    if (field == "publicSubnetIds") return n.public_subnet_ids.size();
    if (field == "databaseSubnetIds") return n.database_subnet_ids.size();
    if (field == "availabilityZones") return n.availability_zones.size();
    if (field == "securityGroupIds.baseline") return n.baseline_security_group.empty() ? 0 : 1;
    return 0;
  };
  for (const NetworkNeed& need : needs) {
    if (published(need.field) >= need.at_least) continue;
    PLATFORM_RETURN_IF_ERROR(AwaitPublished(l, need.field, req, why));
    return std::nullopt;
  }
  PLATFORM_ASSIGN_OR_RETURN(n.object_name, env.String("metadata.name"));
  return n;
}

sdk::Json EnvironmentUsage(const Scope& scope, std::string_view environment, sdk::Json metadata,
                           sdk::Json by) {
  if (scope.namespaced) metadata["namespace"] = scope.namespace_;
  return Usage(scope.namespaced, std::move(metadata),
               UsageEndByName(scope.namespaced ? "platform.m.terraforming.io/v1alpha1"
                                               : "platform.terraforming.io/v1alpha1",
                              "XEnvironment", environment),
               std::move(by));
}

}  // namespace platform::fn::compose
