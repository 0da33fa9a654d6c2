// Platform XRs an XEnvironment composes inside its own network: clusters
// (XCluster) under spec.parameters.clusters, databases (XDatabase) under
// spec.parameters.databases. Each entry is
// {name, parameters}; the nested XR gets the entry's parameters plus what
// the environment decides: its class, region, team, cost center, tags, and
// `network.environment` naming the environment itself, so the nested XR
// finds the network exactly as one a team applies by hand would.
#ifndef PLATFORM_FUNCTION_RENDERERS_XENVIRONMENT_NESTED_H_
#define PLATFORM_FUNCTION_RENDERERS_XENVIRONMENT_NESTED_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "function/compose/scope.h"
#include "function/policy/policy.h"
#include "function/sdk/fields.h"
#include "function/sdk/request.h"
#include "function/sdk/response.h"

namespace platform::fn::renderers {

// What a kind of nested XR is.
struct NestedKind {
  std::string_view field;     // spec.parameters.<field>, e.g. "clusters"
  std::string_view kind;      // e.g. "XCluster"
  std::string_view resource;  // composition resource prefix, e.g. "xcluster"
  // The longest metadata.name the nested kind accepts.
  std::size_t max_name;
  // Status fields of the nested XR copied to the environment's
  // status.<field>.<name>.
  std::vector<std::string_view> status_fields;
  // Whether the nested kind takes spec.parameters.namespace (where a
  // claim-based XR puts its namespaced objects), set to the claim's namespace.
  bool takes_namespace;
};

inline const NestedKind kNestedClusters = {
    "clusters",
    "XCluster",
    "xcluster",
    40,
    {"clusterName", "namespace", "endpoint", "version", "kubeconfigSecretName"},
    true};

inline const NestedKind kNestedDatabases = {
    "databases",
    "XDatabase",
    "xdatabase",
    63,
    {"endpoint", "address", "engineVersion", "identifier", "connectionSecretName"},
    false};

// The environment, as its nested XRs need to know it.
struct Parent {
  compose::Scope scope;
  policy::Subject subject;
  std::string claim_name;  // label crossplane.io/claim-name, or empty
  sdk::Json user_tags = sdk::Json::object();
};

struct NestedXr {
  std::string name;      // the entry's name
  std::string resource;  // composition resource name: <resource>-<name>
  std::string api_version;
  std::string object_name;  // metadata.name: <environment>-<name>
  sdk::Json object;
};

// Reads spec.parameters.<kind.field> of `params` (the environment's
// spec.parameters) into nested XRs. Errors name the field, e.g.
// "spec.parameters.clusters[0].parameters.region: set by the XEnvironment".
absl::StatusOr<std::vector<NestedXr>> ReadNestedXrs(const sdk::Fields& params,
                                                    const NestedKind& kind, const Parent& parent);

// Writes status.<kind.field>.<name>: {ready, name, and the kind's status
// fields the nested XR reports}.
absl::Status WriteNestedStatus(const NestedKind& kind, const std::vector<NestedXr>& nested,
                               const sdk::Request& req, sdk::Response& rsp);

}  // namespace platform::fn::renderers

#endif  // PLATFORM_FUNCTION_RENDERERS_XENVIRONMENT_NESTED_H_
