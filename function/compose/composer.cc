#include "function/compose/composer.h"

#include <utility>

#include "function/compose/object.h"

namespace platform::fn::compose {

using sdk::Json;

bool ReadyCondition(const Json& o) { return ConditionTrue(o, "Ready"); }

bool ReadyWhenObserved(const Json&) { return true; }

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

}  // namespace platform::fn::compose
