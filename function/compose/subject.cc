#include "function/compose/subject.h"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "function/policy/tags.h"
#include "function/sdk/status_macros.h"
#include "function/sdk/strings.h"

namespace platform::fn::compose {

absl::Status ReadSubjectIdentity(const sdk::Fields& xr, policy::Subject& subject) {
  PLATFORM_ASSIGN_OR_RETURN(subject.xr_name, xr.String("metadata.name"));
  PLATFORM_ASSIGN_OR_RETURN(subject.xr_kind, xr.String("kind"));
  PLATFORM_ASSIGN_OR_RETURN(std::string ns, xr.String("metadata.namespace", ""));
  PLATFORM_ASSIGN_OR_RETURN(std::string claim_ns,
                            xr.String("metadata.labels[crossplane.io/claim-namespace]", ""));
  subject.origin_namespace = ns.empty() ? claim_ns : ns;
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadComposingEnvironment(const sdk::Fields& xr) {
  PLATFORM_ASSIGN_OR_RETURN(std::vector<sdk::Fields> owners,
                            xr.ObjectList("metadata.ownerReferences"));
  for (const sdk::Fields& owner : owners) {
    PLATFORM_ASSIGN_OR_RETURN(bool controller, owner.Bool("controller", false));
    PLATFORM_ASSIGN_OR_RETURN(std::string kind, owner.String("kind", ""));
    PLATFORM_ASSIGN_OR_RETURN(std::string api_version, owner.String("apiVersion", ""));
    const std::string_view group = std::string_view(api_version).substr(0, api_version.find('/'));
    if (controller && kind == "XEnvironment" &&
        (group == "platform.terraforming.io" || group == "platform.m.terraforming.io")) {
      return owner.String("name");
    }
  }
  return std::string();
}

absl::Status ReadSubjectParams(const sdk::Fields& params, policy::Subject& subject,
                               sdk::Json& user_tags) {
  PLATFORM_ASSIGN_OR_RETURN(subject.environment_class,
                            params.Enum("environment", {"dev", "test", "sandbox", "prod"}));
  PLATFORM_ASSIGN_OR_RETURN(subject.region, params.String("region"));
  PLATFORM_ASSIGN_OR_RETURN(subject.team, params.String("team"));
  if (subject.team.empty())
    return sdk::FieldError(sdk::JoinPath(params.path(), "team"), "required");
  PLATFORM_ASSIGN_OR_RETURN(subject.cost_center, params.String("costCenter", ""));
  // Both are the values of the platform's own tags on every resource.
  for (const auto& [field, value] :
       {std::pair{"team", &subject.team}, std::pair{"costCenter", &subject.cost_center}}) {
    if (std::string why = policy::CheckTagValue(*value); !why.empty()) {
      return sdk::FieldError(sdk::JoinPath(params.path(), field),
                             sdk::Cat("is tagged on every resource: ", why));
    }
  }
  PLATFORM_ASSIGN_OR_RETURN(auto tags, params.StringMap("tags"));
  for (auto& [k, v] : tags) {
    // The platform's own keys are the platform's: a user value would stand
    // wherever the platform sets none (cost-center without costCenter, tier
    // on a VPC), so it is dropped.
    if (k.starts_with(policy::kPlatformTagPrefix)) continue;
    if (std::string why = policy::CheckTag(k, v); !why.empty()) {
      return sdk::FieldError(sdk::Cat(sdk::JoinPath(params.path(), "tags"), "[", k, "]"), why);
    }
    user_tags[k] = v;
  }
  return absl::OkStatus();
}

}  // namespace platform::fn::compose
