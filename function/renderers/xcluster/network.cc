#include "function/renderers/xcluster/network.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "function/policy/policy.h"
#include "function/sdk/status_macros.h"
#include "function/sdk/strings.h"

namespace platform::fn::renderers::xcluster {
namespace {

constexpr std::string_view kField = "spec.parameters.network.environment";

pb::ResourceSelector Selector(const Params& p) {
  pb::ResourceSelector s;
  s.set_kind("XEnvironment");
  if (p.scope.namespaced) {
    s.set_api_version("platform.m.terraforming.io/v1alpha1");
    s.set_match_name(p.network.environment);
    s.set_namespace_(p.scope.namespace_);
  } else if (!p.subject.origin_namespace.empty()) {
    s.set_api_version("platform.terraforming.io/v1alpha1");
    auto& labels = *s.mutable_match_labels()->mutable_labels();
    labels["crossplane.io/claim-name"] = p.network.environment;
    labels["crossplane.io/claim-namespace"] = p.subject.origin_namespace;
  } else {
    s.set_api_version("platform.terraforming.io/v1alpha1");
    s.set_match_name(p.network.environment);
  }
  return s;
}

std::string Described(const Params& p) {
  if (p.scope.namespaced) {
    return sdk::Cat("XEnvironment \"", p.network.environment, "\" in namespace \"",
                    p.scope.namespace_, "\"");
  }
  if (!p.subject.origin_namespace.empty()) {
    return sdk::Cat("Environment claim \"", p.network.environment, "\" in namespace \"",
                    p.subject.origin_namespace, "\"");
  }
  return sdk::Cat("XEnvironment \"", p.network.environment, "\"");
}

// True when any resource of the cluster has been observed: from then on the
// desired state must never shrink.
bool AnythingExists(const sdk::Request& req) { return !req.ObservedResourceNames().empty(); }

}  // namespace

absl::StatusOr<NetworkState> ResolveNetwork(Params& p, const sdk::Request& req, sdk::Response& rsp,
                                            std::string& why) {
  if (p.network.environment.empty()) return NetworkState::kReady;
  rsp.RequireResources(std::string(kEnvironmentRequirement), Selector(p));
  const std::optional<std::vector<sdk::Json>> found =
      req.RequiredResources(kEnvironmentRequirement);
  if (!found) {
    // Crossplane fetches it and calls again at once, within the same
    // reconcile (it does so whenever the requirements change); only the
    // answer to that call is applied.
    why = sdk::Cat("waiting for Crossplane to provide ", Described(p));
    return NetworkState::kWaiting;
  }
  if (found->empty()) {
    return sdk::FieldError(kField, sdk::Cat(Described(p), " does not exist"));
  }
  if (found->size() > 1) {
    return sdk::FieldError(
        kField, sdk::Cat(Described(p), " matches ", found->size(), " XEnvironments; expected one"));
  }
  const sdk::Fields env(found->front(), sdk::Cat("required resource ", kEnvironmentRequirement));

  // The cluster belongs to the environment: same class, same region.
  PLATFORM_ASSIGN_OR_RETURN(std::string env_class, env.String("spec.parameters.environment", ""));
  if (env_class != p.subject.environment_class) {
    return policy::FieldViolation(
        kField, sdk::Cat("a ", p.subject.environment_class, " cluster may not use ", Described(p),
                         ", a ", env_class.empty() ? "(unknown)" : env_class, " environment"));
  }
  PLATFORM_ASSIGN_OR_RETURN(std::string env_region, env.String("spec.parameters.region", ""));
  if (env_region != p.subject.region) {
    return sdk::FieldError(
        kField, sdk::Cat(Described(p), " is in region ", env_region, ", not ", p.subject.region));
  }

  PLATFORM_ASSIGN_OR_RETURN(std::string vpc, env.String("status.vpcId", ""));
  PLATFORM_ASSIGN_OR_RETURN(std::vector<std::string> private_ids,
                            env.StringList("status.privateSubnetIds"));
  PLATFORM_ASSIGN_OR_RETURN(std::vector<std::string> public_ids,
                            env.StringList("status.publicSubnetIds"));
  PLATFORM_ASSIGN_OR_RETURN(std::string baseline,
                            env.String("status.securityGroupIds.baseline", ""));
  const bool needs_public =
      p.provisioner == Provisioner::kCapiKubeadm && p.endpoint_access != "Private";
  if (vpc.empty() || private_ids.size() < 2 || (needs_public && public_ids.empty())) {
    const std::string missing = vpc.empty()              ? "vpcId"
                                : private_ids.size() < 2 ? "privateSubnetIds"
                                                         : "publicSubnetIds";
    if (AnythingExists(req)) {
      return sdk::FieldError(kField, sdk::Cat(Described(p), " publishes no ", missing,
                                              " in its status; the cluster is kept as it is"));
    }
    why = sdk::Cat("waiting for ", Described(p), " to publish ", missing, " in its status");
    return NetworkState::kWaiting;
  }
  PLATFORM_ASSIGN_OR_RETURN(p.network.environment_object, env.String("metadata.name"));
  p.network.vpc_id = std::move(vpc);
  p.network.private_subnet_ids = std::move(private_ids);
  p.network.public_subnet_ids = std::move(public_ids);
  // Nodes join the environment's baseline group, which admits only its own
  // members: what else runs in the environment (databases) can admit them.
  if (!baseline.empty() &&
      std::find(p.network.security_group_ids.begin(), p.network.security_group_ids.end(),
                baseline) == p.network.security_group_ids.end()) {
    p.network.security_group_ids.insert(p.network.security_group_ids.begin(), baseline);
  }
  return NetworkState::kReady;
}

}  // namespace platform::fn::renderers::xcluster
