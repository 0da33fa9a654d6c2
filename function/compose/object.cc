#include "function/compose/object.h"

#include <utility>

#include "function/sdk/fields.h"

namespace platform::fn::compose {

using sdk::Json;

Json SelectComposed(std::string_view resource) {
  // Built member by member: nlohmann's nested initializer lists copy every
  // element, and a render selects a few hundred times.
  Json labels(Json::value_t::object);
  labels.emplace(kResourceLabel, resource);
  Json out(Json::value_t::object);
  out.emplace("matchControllerRef", true);
  out.emplace("matchLabels", std::move(labels));
  return out;
}

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

bool TrueAt(const Json& object, std::string_view path) {
  absl::StatusOr<const Json*> v = sdk::Fields(object).Find(path);
  return v.ok() && *v != nullptr && (*v)->is_boolean() && (*v)->get<bool>();
}

}  // namespace platform::fn::compose
