// Finding the XEnvironment whose network an XR (an XCluster, an XDatabase)
// names in spec.parameters.network.environment: the function asks Crossplane
// for it as a required resource and checks it belongs with the XR.
//
// Which XEnvironment `<name>` means:
// - for a namespaced XR: the namespaced XEnvironment <name> in its own
//   namespace (platform.m.terraforming.io);
// - for a claim-based XR from a claim: the XEnvironment of the `Environment`
//   claim <name> in the claim's own namespace (labels crossplane.io/claim-name
//   and crossplane.io/claim-namespace), so a team can only build on networks
//   claimed in its namespace;
// - for a claim-based XR without a claim: the XEnvironment <name>.
#ifndef PLATFORM_FUNCTION_RENDERERS_ENVIRONMENT_H_
#define PLATFORM_FUNCTION_RENDERERS_ENVIRONMENT_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "function/policy/policy.h"
#include "function/renderers/scope.h"
#include "function/sdk/request.h"
#include "function/sdk/response.h"

namespace platform::fn::renderers {

// The requirement key the environment is asked for under.
inline constexpr std::string_view kEnvironmentRequirement = "network-environment";
// The XR field that names it, for errors.
inline constexpr std::string_view kEnvironmentField = "spec.parameters.network.environment";

struct EnvironmentLookup {
  std::string name;  // the value of network.environment
  Scope scope;
  policy::Subject subject;  // the XR asking: class, region, origin namespace
  std::string what;         // "cluster", "database": named in errors
};

// How errors and events name the environment, e.g. `Environment claim
// "payments-dev" in namespace "team-payments"`.
std::string Describe(const EnvironmentLookup& l);

// Asks Crossplane for the environment (always, so the requirements stay the
// same from call to call) and returns it once provided; nullopt until then,
// when Crossplane calls again at once. Errors name kEnvironmentField: the
// environment does not exist, or several match, or it is in another region;
// a policy violation when it is of another class (a dev cluster never lands
// in a prod network).
absl::StatusOr<std::optional<sdk::Json>> LookUpEnvironment(const EnvironmentLookup& l,
                                                           const sdk::Request& req,
                                                           sdk::Response& rsp);

// When the environment publishes no `missing` (e.g. "vpcId") yet: OK, with
// `why` saying what is awaited, while nothing of the XR has been observed (it
// composes nothing and waits); once something has, an error naming
// kEnvironmentField, so Crossplane keeps every composed resource as it is
// (a desired state never shrinks because a network went away).
absl::Status AwaitPublished(const EnvironmentLookup& l, std::string_view missing,
                            const sdk::Request& req, std::string& why);

// The Usage (namespaced XR, in its namespace) or ClusterUsage (claim-based
// XR) that keeps the XEnvironment named `environment` until `by` (a Usage's
// `by`: apiVersion, kind and resourceRef or resourceSelector) is gone.
// `metadata` is the Usage's own (name or labels); its namespace is set here.
sdk::Json EnvironmentUsage(const Scope& scope, std::string_view environment, sdk::Json metadata,
                           sdk::Json by);

}  // namespace platform::fn::renderers

#endif  // PLATFORM_FUNCTION_RENDERERS_ENVIRONMENT_H_
