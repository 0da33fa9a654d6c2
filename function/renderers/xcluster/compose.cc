#include "function/renderers/xcluster/compose.h"

#include <utility>

#include "function/compose/object.h"
#include "function/compose/usage.h"
#include "function/sdk/fields.h"
#include "function/sdk/strings.h"

namespace platform::fn::renderers::xcluster {

using sdk::Json;

using compose::ConditionTrue;
using compose::IntAt;
using compose::StringAt;
using compose::TrueAt;

bool ReadyFlagOrCondition(const Json& o) {
  return TrueAt(o, "status.ready") || compose::ConditionTrue(o, "Ready");
}

bool ReadyCapiCluster(const Json& o) {
  return compose::ConditionTrue(o, "Available") || compose::ConditionTrue(o, "Ready") ||
         compose::StringAt(o, "status.phase") == "Provisioned";
}

bool ReadyMachines(const Json& o) {
  return compose::StringAt(o, "status.phase") == "Running" ||
         compose::ConditionTrue(o, "Available") || compose::ConditionTrue(o, "Ready");
}

bool ReadyKubeadmControlPlane(const Json& o) {
  return compose::ConditionTrue(o, "Available") || compose::ConditionTrue(o, "Ready") ||
         TrueAt(o, "status.ready");
}

PoolState MachinesState(const Json* observed) {
  PoolState state;
  state.phase = observed == nullptr ? "" : compose::StringAt(*observed, "status.phase");
  if (state.phase.empty()) state.phase = "Pending";
  state.ready = observed != nullptr && ReadyMachines(*observed);
  if (observed != nullptr) {
    state.replicas = compose::IntAt(*observed, "status.replicas");
    state.ready_replicas = compose::IntAt(*observed, "status.readyReplicas");
  }
  return state;
}

namespace {
Json CapiMetadata(const Params& p, std::string_view resource, std::string_view object_name) {
  return {{"name", object_name},
          {"namespace", p.namespace_},
          {"labels",
           {{std::string(compose::kResourceLabel), resource},
            {std::string(kClusterNameLabel), p.name}}}};
}
}  // namespace

Json CapiObject(const Params& p, std::string_view resource, std::string_view api_version,
                std::string_view kind, std::string_view object_name, Json spec) {
  return {{"apiVersion", api_version},
          {"kind", kind},
          {"metadata", CapiMetadata(p, resource, object_name)},
          {"spec", std::move(spec)}};
}

Json NamespacedUsage(const Params& p, std::string_view usage_resource, std::string_view by_resource,
                     const ObjectRef& of, const ObjectRef& by) {
  return compose::Usage(true, CapiMetadata(p, usage_resource, sdk::Cat(p.name, "-", by_resource)),
                        compose::UsageEndByName(of.api_version, of.kind, of.name),
                        compose::UsageEndByName(by.api_version, by.kind, by.name));
}

Json ApiIngressRule(std::string_view description, int port, const std::vector<std::string>& cidrs) {
  return {{"description", description},
          {"protocol", "tcp"},
          {"fromPort", port},
          {"toPort", port},
          {"cidrBlocks", cidrs}};
}

}  // namespace platform::fn::renderers::xcluster
