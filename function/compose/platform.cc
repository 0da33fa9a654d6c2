#include "function/compose/platform.h"

#include <utility>
#include <vector>

#include "function/compose/events.h"
#include "function/compose/subject.h"
#include "function/network/zones.h"
#include "function/sdk/errors.h"
#include "function/sdk/status_macros.h"
#include "function/sdk/strings.h"

namespace platform::fn::compose {

absl::StatusOr<Xr> ReadXr(const sdk::Fields& fields, const policy::Policies& policies,
                          KindNames names) {
  // params is set below, once spec.parameters is known to be an object.
  Xr xr{.fields = fields,
        .params = fields,
        .scope = ScopeOf(fields),
        .subject = {},
        .user_tags = sdk::Json::object(),
        .composing_environment = {},
        .policies = &policies,
        .limits = nullptr};
  PLATFORM_RETURN_IF_ERROR(ReadSubjectIdentity(fields, xr.subject));
  PLATFORM_ASSIGN_OR_RETURN(xr.composing_environment, ReadComposingEnvironment(fields));
  PLATFORM_ASSIGN_OR_RETURN(xr.params, fields.Object("spec.parameters"));
  PLATFORM_RETURN_IF_ERROR(ReadSubjectParams(xr.params, xr.subject, xr.user_tags));

  // Authorization first: a denied request learns nothing else.
  PLATFORM_RETURN_IF_ERROR(policies.Authorize(xr.subject));
  xr.limits = &policies.Limits(xr.subject.environment_class);
  const std::string region_path = sdk::JoinPath(xr.params.path(), "region");
  if (network::ZoneLetters(xr.subject.region).empty()) {
    return sdk::FieldError(region_path,
                           sdk::Cat("unknown AWS region \"", xr.subject.region,
                                    "\"; known regions: ", sdk::JoinList(network::KnownRegions())));
  }
  if (!xr.limits->AllowsRegion(xr.subject.region)) {
    return policy::FieldViolation(
        region_path, sdk::Cat(xr.subject.environment_class, " ", names.plural, " may only use ",
                              sdk::JoinList(xr.limits->allowed_regions)));
  }
  // Tags every resource would carry, beyond what AWS allows on one: refused
  // before anything is composed.
  PLATFORM_RETURN_IF_ERROR(policies.CheckTagCount(xr.subject, xr.user_tags, nullptr,
                                                  sdk::JoinPath(xr.params.path(), "tags")));
  return xr;
}

sdk::Json RenderContext::Tags() const {
  sdk::Json tags = xr_.user_tags;
  tags.update(xr_.policies->MandatedTags(xr_.subject));
  return tags;
}

absl::StatusOr<std::optional<EnvironmentNetwork>> RenderContext::Network(
    std::string_view environment, std::initializer_list<NetworkNeed> needs) {
  EnvironmentLookup lookup;
  lookup.name = std::string(environment);
  lookup.scope = xr_.scope;
  lookup.subject = xr_.subject;
  lookup.what = std::string(names_.noun);
  std::string why;
  PLATFORM_ASSIGN_OR_RETURN(std::optional<EnvironmentNetwork> network,
                            ResolveNetwork(lookup, needs, req_, rsp_, why));
  if (!network) {
    // Nothing of the XR exists yet (ResolveNetwork makes sure).
    rsp_.SetCompositeReady(pb::READY_FALSE);
    PLATFORM_RETURN_IF_ERROR(SetNetworkCondition(req_, rsp_, false, why));
    return std::nullopt;
  }
  PLATFORM_RETURN_IF_ERROR(SetNetworkCondition(req_, rsp_, true));
  return network;
}

absl::Status PlatformRenderer::Render(const sdk::Request& req, sdk::Response& rsp) const {
  PLATFORM_ASSIGN_OR_RETURN(std::shared_ptr<const policy::Policies> loaded,
                            policy::Policies::FromRequest(req, rsp));
  if (!loaded) return absl::OkStatus();  // Crossplane calls again with the EnvironmentConfig
  const policy::Policies& policies = *loaded;
  PLATFORM_ASSIGN_OR_RETURN(const Xr xr, ReadXr(req.Composite(), policies, names_));

  RenderContext call(req, rsp, xr, names_);
  PLATFORM_ASSIGN_OR_RETURN(const Composed composed, Compose(xr, call));
  if (composed.waiting_for_network) return absl::OkStatus();

  policies.ApplyMandatedTags(xr.subject, rsp);
  PLATFORM_RETURN_IF_ERROR(policies.CheckTagCount(xr.subject, xr.user_tags, &rsp,
                                                  sdk::JoinPath(xr.params.path(), "tags")));
  policies.ApplyAccount(xr.subject, rsp);
  // Passing conditions too: Crossplane keeps a custom condition until it is
  // set again, so a denial that was fixed must be cleared explicitly.
  PLATFORM_RETURN_IF_ERROR(SetPolicyConditions(policies, rsp));
  // Resources observed but no longer desired are deleted by Crossplane after
  // this call: say so.
  AnnounceDeleted(req, rsp);
  // New resources are announced once, when they are first asked for.
  const std::vector<std::string>& fresh = call.composer().NewNames();
  if (!fresh.empty()) {
    rsp.Normal("ComposeResources",
               sdk::Cat("creating ", fresh.size(), " resources for ", composed.announcement));
  }
  return absl::OkStatus();
}

}  // namespace platform::fn::compose
