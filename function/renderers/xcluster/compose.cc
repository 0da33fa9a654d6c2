#include "function/renderers/xcluster/compose.h"

#include <utility>

#include "function/sdk/fields.h"
#include "function/sdk/strings.h"

namespace platform::fn::renderers::xcluster {

using sdk::Json;

bool ConditionTrue(const Json& object, std::string_view type) {
  const sdk::Fields f(object);
  for (std::string_view path : {"status.conditions", "status.deprecated.v1beta1.conditions"}) {
    absl::StatusOr<const Json*> list = f.Find(path);
    if (!list.ok() || *list == nullptr || !(*list)->is_array()) continue;
    for (const Json& c : **list) {
      if (c.is_object() && c.value("type", "") == type && c.value("status", "") == "True") {
        return true;
      }
    }
  }
  return false;
}

std::string StringAt(const Json& object, std::string_view path) {
  absl::StatusOr<const Json*> v = sdk::Fields(object).Find(path);
  if (!v.ok() || *v == nullptr || !(*v)->is_string()) return "";
  return (*v)->get<std::string>();
}

std::optional<std::int64_t> IntAt(const Json& object, std::string_view path) {
  absl::StatusOr<const Json*> v = sdk::Fields(object).Find(path);
  if (!v.ok() || *v == nullptr || !(*v)->is_number_integer()) return std::nullopt;
  return (*v)->get<std::int64_t>();
}

namespace {
bool TrueAt(const Json& object, std::string_view path) {
  absl::StatusOr<const Json*> v = sdk::Fields(object).Find(path);
  return v.ok() && *v != nullptr && (*v)->is_boolean() && (*v)->get<bool>();
}
}  // namespace

bool ReadyCondition(const Json& o) { return ConditionTrue(o, "Ready"); }

bool ReadyFlagOrCondition(const Json& o) {
  return TrueAt(o, "status.ready") || ConditionTrue(o, "Ready");
}

bool ReadyCapiCluster(const Json& o) {
  return ConditionTrue(o, "Available") || ConditionTrue(o, "Ready") ||
         StringAt(o, "status.phase") == "Provisioned";
}

bool ReadyMachines(const Json& o) {
  return StringAt(o, "status.phase") == "Running" || ConditionTrue(o, "Available") ||
         ConditionTrue(o, "Ready");
}

bool ReadyKubeadmControlPlane(const Json& o) {
  return ConditionTrue(o, "Available") || ConditionTrue(o, "Ready") || TrueAt(o, "status.ready");
}

PoolState MachinesState(const Json* observed) {
  PoolState state;
  state.phase = observed == nullptr ? "" : StringAt(*observed, "status.phase");
  if (state.phase.empty()) state.phase = "Pending";
  state.ready = observed != nullptr && ReadyMachines(*observed);
  if (observed != nullptr) {
    state.replicas = IntAt(*observed, "status.replicas");
    state.ready_replicas = IntAt(*observed, "status.readyReplicas");
  }
  return state;
}

void Composer::Add(const std::string& name, Json object, ReadyRule ready) {
  const Json* observed = Observed(name);
  if (observed == nullptr) new_.push_back(name);
  const bool is_ready = observed != nullptr && ready(*observed);
  rsp_.SetDesired(name, std::move(object), is_ready ? pb::READY_TRUE : pb::READY_FALSE);
}

const Json* Composer::Observed(std::string_view name) const {
  const sdk::Observed* o = req_.ObservedResource(name);
  return o == nullptr ? nullptr : &o->object;
}

bool Composer::IsReady(std::string_view name, ReadyRule ready) const {
  const Json* o = Observed(name);
  return o != nullptr && ready(*o);
}

Json CapiObject(const Params& p, std::string_view resource, std::string_view api_version,
                std::string_view kind, std::string_view object_name, Json spec) {
  return {{"apiVersion", api_version},
          {"kind", kind},
          {"metadata",
           {{"name", object_name},
            {"namespace", p.namespace_},
            {"labels",
             {{std::string(kResourceLabel), resource}, {std::string(kClusterNameLabel), p.name}}}}},
          {"spec", std::move(spec)}};
}

Json NamespacedUsage(const Params& p, std::string_view usage_resource, std::string_view by_resource,
                     const ObjectRef& of, const ObjectRef& by) {
  return CapiObject(
      p, usage_resource, "protection.crossplane.io/v1beta1", "Usage",
      sdk::Cat(p.name, "-", by_resource),
      {{"replayDeletion", true},
       {"of",
        {{"apiVersion", of.api_version}, {"kind", of.kind}, {"resourceRef", {{"name", of.name}}}}},
       {"by",
        {{"apiVersion", by.api_version},
         {"kind", by.kind},
         {"resourceRef", {{"name", by.name}}}}}});
}

}  // namespace platform::fn::renderers::xcluster
