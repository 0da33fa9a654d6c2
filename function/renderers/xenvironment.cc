#include "function/renderers/xenvironment.h"

#include <string>
#include <vector>

#include "function/renderers/scope.h"
#include "function/sdk/status_macros.h"
#include "function/sdk/strings.h"

namespace platform::fn::renderers {
namespace {

using sdk::Json;

// Per-class defaults. Kept as data so the policy values are read in one place.
struct ClassDefaults {
  std::string_view name;
  std::string_view vpc_cidr;
};

constexpr ClassDefaults kClasses[] = {
    {"dev", "10.10.0.0/16"},
    {"test", "10.20.0.0/16"},
    {"sandbox", "10.30.0.0/16"},
    {"prod", "10.0.0.0/16"},
};

const ClassDefaults& DefaultsFor(std::string_view cls) {
  for (const ClassDefaults& c : kClasses) {
    if (c.name == cls) return c;
  }
  return kClasses[0];  // unreachable: the class was validated as an enum
}

}  // namespace

absl::Status XEnvironment::Render(const sdk::Request& req, sdk::Response& rsp) const {
  const sdk::Fields xr = req.Composite();
  PLATFORM_ASSIGN_OR_RETURN(auto name, xr.String("metadata.name"));
  PLATFORM_ASSIGN_OR_RETURN(auto params, xr.Object("spec.parameters"));
  PLATFORM_ASSIGN_OR_RETURN(auto cls,
                            params.Enum("environment", {"dev", "test", "sandbox", "prod"}));
  PLATFORM_ASSIGN_OR_RETURN(auto region, params.String("region"));
  PLATFORM_ASSIGN_OR_RETURN(auto team, params.String("team"));
  PLATFORM_ASSIGN_OR_RETURN(auto cost_center, params.String("costCenter", ""));
  PLATFORM_ASSIGN_OR_RETURN(auto cidr, params.String("vpcCidr", DefaultsFor(cls).vpc_cidr));
  PLATFORM_ASSIGN_OR_RETURN(auto extra_tags, params.StringMap("tags"));

  const Scope scope = ScopeOf(xr);

  Json tags = Json::object();
  for (auto& [k, v] : extra_tags) tags[k] = v;
  // The platform's own tags win over user tags of the same key.
  tags["Name"] = name;
  tags["platform.terraforming.io/environment"] = cls;
  tags["platform.terraforming.io/team"] = team;
  if (!cost_center.empty()) tags["platform.terraforming.io/cost-center"] = cost_center;

  Json vpc = {
      {"apiVersion", scope.AwsApiVersion("ec2")},
      {"kind", "VPC"},
      {"metadata", scope.Metadata()},
      {"spec",
       {{"forProvider",
         {{"region", region},
          {"cidrBlock", cidr},
          {"enableDnsSupport", true},
          {"enableDnsHostnames", true},
          {"tags", tags}}}}},
  };

  const bool vpc_ready = req.ObservedReady("vpc");
  rsp.SetDesired("vpc", std::move(vpc), vpc_ready ? pb::READY_TRUE : pb::READY_UNSPECIFIED);

  if (const sdk::Observed* observed = req.ObservedResource("vpc")) {
    // Errors name the observed resource, not a field of the XR.
    const sdk::Fields o(observed->object, "observed.resources[vpc]");
    PLATFORM_ASSIGN_OR_RETURN(auto vpc_id, o.String("status.atProvider.id", ""));
    if (!vpc_id.empty()) {
      PLATFORM_RETURN_IF_ERROR(rsp.SetCompositeStatus("vpcId", vpc_id));
    }
  } else {
    // Announce new resources once, when they are first asked for, rather than
    // on every call.
    rsp.Normal("ComposeResources", sdk::Cat("creating VPC ", cidr, " in ", region));
  }
  return absl::OkStatus();
}

}  // namespace platform::fn::renderers
