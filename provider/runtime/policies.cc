#include "provider/runtime/policies.h"

#include <vector>

namespace runtime {
namespace {

using Set = std::set<std::string>;

// The sets crossplane-runtime supports; anything else is refused.
const std::vector<Set>& Supported() {
  static const std::vector<Set> sets = {
      {"*"},
      {"Observe", "Create", "Update", "LateInitialize", "Delete"},
      {"Observe"},
      {},
      {"Observe", "Create", "Update", "Delete"},
      {"Observe", "Create", "Update", "LateInitialize"},
      {"Observe", "Create", "Update"},
      {"Observe", "Create", "Delete", "LateInitialize"},
      {"Observe", "Create", "LateInitialize"},
      {"Observe", "Create", "Delete"},
      {"Observe", "Create"},
      {"Observe", "Delete"},
      {"Observe", "Update"},
      {"Observe", "LateInitialize"},
      {"Observe", "Update", "LateInitialize"},
  };
  return sets;
}

}  // namespace

Policies::Policies(const kube::Json& mr, bool legacy, bool enabled)
    : legacy_(legacy), enabled_(enabled) {
  kube::Json spec = mr.value("spec", kube::Json::object());
  if (!spec.is_object()) spec = kube::Json::object();
  if (spec.contains("managementPolicies") && spec["managementPolicies"].is_array()) {
    for (const auto& p : spec["managementPolicies"]) {
      if (p.is_string()) actions_.insert(p.get<std::string>());
    }
  } else {
    actions_ = {"*"};
  }
  orphan_ = legacy && spec.value("deletionPolicy", "Delete") == "Orphan";
}

bool Policies::IsDefault() const {
  return actions_ == Set{"*"} ||
         actions_ == Set{"Observe", "Create", "Update", "LateInitialize", "Delete"};
}

bool Policies::Has(const std::string& action) const {
  if (!enabled_) return true;
  return actions_.count("*") != 0 || actions_.count(action) != 0;
}

std::string Policies::Describe() const {
  std::string out = "[";
  for (const auto& a : actions_) out += (out.size() > 1 ? ", " : "") + a;
  return out + "]";
}

std::string Policies::Validate() const {
  if (!enabled_) {
    if (IsDefault() || actions_.empty()) return "";
    return "`spec.managementPolicies` is set to a non-default value but the feature is not "
           "enabled: " +
           Describe();
  }
  for (const auto& s : Supported()) {
    if (s == actions_) return "";
  }
  return "`spec.managementPolicies` is set to a value(" + Describe() +
         ") which is not supported. Check docs for supported policies";
}

bool Policies::Paused() const { return enabled_ && actions_.empty(); }

bool Policies::ShouldObserveOnly() const { return enabled_ && actions_ == Set{"Observe"}; }

bool Policies::ShouldDelete() const {
  if (!enabled_) return !orphan_;
  if (!legacy_) return Has("Delete");
  // A non-default policy set wins over spec.deletionPolicy.
  if (!IsDefault()) return Has("Delete");
  return !orphan_;
}

}  // namespace runtime
