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
#ifndef PLATFORM_FUNCTION_COMPOSE_ENVIRONMENT_H_
#define PLATFORM_FUNCTION_COMPOSE_ENVIRONMENT_H_

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "function/compose/scope.h"
#include "function/policy/policy.h"
#include "function/sdk/request.h"
#include "function/sdk/response.h"

namespace platform::fn::compose {

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

// What an XEnvironment publishes about its network in its status.
struct EnvironmentNetwork {
  std::string object_name;                       // the XEnvironment's metadata.name
  std::string vpc_id;                            // status.vpcId
  std::string vpc_cidr;                          // status.vpcCidr
  std::vector<std::string> private_subnet_ids;   // status.privateSubnetIds
  std::vector<std::string> public_subnet_ids;    // status.publicSubnetIds
  std::vector<std::string> database_subnet_ids;  // status.databaseSubnetIds
  std::vector<std::string> availability_zones;   // status.availabilityZones
  std::string baseline_security_group;           // status.securityGroupIds.baseline
};

// A status field an XR cannot be built without: a list with at least
// `at_least` entries, or a string that is not empty.
struct NetworkNeed {
  std::string_view field;  // e.g. "vpcId", "privateSubnetIds"
  std::size_t at_least = 1;
};

// The network of the environment `l` names, once Crossplane has provided it
// and it publishes every one of `needs`; until then nullopt with `why` saying
// what is awaited, as LookUpEnvironment and AwaitPublished decide (waiting
// ends in an error once anything of the XR exists). The first unmet need, in
// the order given, is the one named.
absl::StatusOr<std::optional<EnvironmentNetwork>> ResolveNetwork(
    const EnvironmentLookup& l, std::initializer_list<NetworkNeed> needs, const sdk::Request& req,
    sdk::Response& rsp, std::string& why);

// The Usage (namespaced XR, in its namespace) or ClusterUsage (claim-based
// XR) that keeps the XEnvironment named `environment` until `by` (a Usage's
// `by`: apiVersion, kind and resourceRef or resourceSelector) is gone.
// `metadata` is the Usage's own (name or labels); its namespace is set here.
sdk::Json EnvironmentUsage(const Scope& scope, std::string_view environment, sdk::Json metadata,
                           sdk::Json by);

}  // namespace platform::fn::compose

#endif  // PLATFORM_FUNCTION_COMPOSE_ENVIRONMENT_H_
