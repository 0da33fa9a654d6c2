#include "function/compose/scope.h"

#include "function/sdk/strings.h"

namespace platform::fn::compose {

std::string Scope::AwsApiVersion(std::string_view service, std::string_view version) const {
  return sdk::Cat(service, namespaced ? ".aws.m.upbound.io/" : ".aws.upbound.io/", version);
}

sdk::Json Scope::Metadata() const {
  sdk::Json m = sdk::Json::object();
  if (namespaced) m["namespace"] = namespace_;
  return m;
}

Scope ScopeOf(const sdk::Fields& xr) {
  Scope s;
  s.namespace_ = xr.String("metadata.namespace", "").value_or("");
  s.namespaced = !s.namespace_.empty();
  return s;
}

}  // namespace platform::fn::compose
