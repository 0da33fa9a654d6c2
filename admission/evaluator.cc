#include "admission/evaluator.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "function/policy/policy.h"
#include "function/runner.h"
#include "function/sdk/proto.h"
#include "function/sdk/struct_json.h"

namespace platform::admission {
namespace {

// Crossplane's claim labels on the XR of a claim.
constexpr const char* kClaimName = "crossplane.io/claim-name";
constexpr const char* kClaimNamespace = "crossplane.io/claim-namespace";

bool Judged(const std::string& operation) { return operation == "CREATE" || operation == "UPDATE"; }

// The claim of XR kind X<Kind> is <Kind>: the registry knows XR kinds.
std::string XrKindOf(const fn::Registry& registry, const std::string& kind) {
  if (registry.Find(kind) != nullptr) return kind;
  if (registry.Find("X" + kind) != nullptr) return "X" + kind;
  return "";
}

const Json* Path(const Json& j, std::initializer_list<const char*> keys) {
  const Json* at = &j;
  for (const char* k : keys) {
    if (!at->is_object()) return nullptr;
    const auto it = at->find(k);
    if (it == at->end()) return nullptr;
    at = &*it;
  }
  return at;
}

// The string at `keys`; "" when absent or not a string. Objects under review
// may hold anything: nothing here throws on a wrong type.
std::string StringAt(const Json& j, std::initializer_list<const char*> keys) {
  const Json* v = Path(j, keys);
  return v != nullptr && v->is_string() ? v->get<std::string>() : "";
}

}  // namespace

Evaluator::Evaluator(const fn::Registry& registry, Json step_input, EvaluatorOptions options)
    : registry_(registry), input_(std::move(step_input)), options_(std::move(options)) {
  if (const std::optional<fn::pb::ResourceSelector> selector =
          fn::policy::Policies::EnvironmentConfigSelector(input_)) {
    policy_name_ = selector->match_name();
  }
}

bool Evaluator::IsPlatformKind(const Review& review) const {
  return !XrKindOf(registry_, review.kind).empty();
}

Json Evaluator::CompositeOf(const Review& review) {
  const Json& object = review.object;
  std::string kind = StringAt(object, {"kind"});
  if (kind.empty()) kind = review.kind;
  if (kind.starts_with("X")) return object;
  // A claim: Crossplane makes a cluster-scoped XR of kind X<Kind> with the
  // claim's spec, and names the claim in its labels.
  Json xr = Json::object();
  xr["apiVersion"] = StringAt(object, {"apiVersion"});
  xr["kind"] = "X" + kind;
  Json metadata = Json::object();
  std::string name = StringAt(object, {"metadata", "name"});
  if (name.empty()) name = review.name;
  if (name.empty()) name = StringAt(object, {"metadata", "generateName"});
  metadata["name"] = name;
  Json labels = Json::object();
  if (const Json* l = Path(object, {"metadata", "labels"}); l != nullptr && l->is_object()) {
    labels = *l;
  }
  labels[kClaimName] = name;
  labels[kClaimNamespace] = review.ns;
  metadata["labels"] = std::move(labels);
  xr["metadata"] = std::move(metadata);
  if (const Json* spec = Path(object, {"spec"}); spec != nullptr) xr["spec"] = *spec;
  return xr;
}

Decision Evaluator::Mutate(const Review& review, const ClusterView& view) const {
  if (!Judged(review.operation) || !IsPlatformKind(review) || review.ns.empty() ||
      view.namespace_object == nullptr) {
    return Decision::Allow();
  }
  // Each parameter the object leaves unset (absent, null or "") whose
  // namespace label is set.
  Json defaults = Json::object();
  Decision d;
  for (const auto& [parameter, label_key] :
       {std::pair<const char*, const std::string*>{"environment", &options_.class_label},
        {"team", &options_.team_label}}) {
    if (label_key->empty()) continue;
    const Json* current = Path(review.object, {"spec", "parameters", parameter});
    if (current != nullptr && !current->is_null() &&
        !(current->is_string() && current->get<std::string>().empty())) {
      continue;
    }
    const std::string value =
        StringAt(*view.namespace_object, {"metadata", "labels", label_key->c_str()});
    if (value.empty()) continue;
    defaults[parameter] = value;
    d.warnings.push_back(absl::StrCat("spec.parameters.", parameter, ": set to \"", value,
                                      "\" from label ", *label_key, " of namespace ", review.ns));
  }
  if (defaults.empty()) return Decision::Allow();
  const Json* spec = Path(review.object, {"spec"});
  const Json* params = Path(review.object, {"spec", "parameters"});
  if (spec == nullptr || !spec->is_object()) {
    d.patch.push_back({{"op", "add"}, {"path", "/spec"}, {"value", {{"parameters", defaults}}}});
  } else if (params == nullptr || !params->is_object()) {
    d.patch.push_back({{"op", "add"}, {"path", "/spec/parameters"}, {"value", defaults}});
  } else {
    for (auto it = defaults.begin(); it != defaults.end(); ++it) {
      d.patch.push_back(
          {{"op", "add"}, {"path", "/spec/parameters/" + it.key()}, {"value", it.value()}});
    }
  }
  return d;
}

Decision Evaluator::Validate(const Review& review, const ClusterView& view) const {
  if (!Judged(review.operation) || !IsPlatformKind(review)) return Decision::Allow();

  fn::pb::RunFunctionRequest req;
  req.mutable_meta()->set_tag("admission");
  req.mutable_meta()->add_capabilities(fn::pb::CAPABILITY_CAPABILITIES);
  req.mutable_meta()->add_capabilities(fn::pb::CAPABILITY_REQUIRED_RESOURCES);
  if (absl::Status s =
          fn::sdk::ToStruct(CompositeOf(review), "object",
                            req.mutable_observed()->mutable_composite()->mutable_resource());
      !s.ok()) {
    return Decision::Deny(400, "BadRequest", std::string(s.message()));
  }
  if (absl::Status s = fn::sdk::ToStruct(input_, "input", req.mutable_input()); !s.ok()) {
    return Decision::Deny(500, "InternalError", std::string(s.message()));
  }
  if (!policy_name_.empty()) {
    fn::pb::Resources& configs =
        (*req.mutable_required_resources())[std::string(fn::policy::Policies::RequirementKey())];
    if (view.policy != nullptr) {
      if (absl::Status s =
              fn::sdk::ToStruct(*view.policy, "policy", configs.add_items()->mutable_resource());
          !s.ok()) {
        return Decision::Deny(500, "InternalError", std::string(s.message()));
      }
    }
  }

  const fn::pb::RunFunctionResponse rsp = fn::Runner(registry_).Run(req);
  Decision d;
  for (const fn::pb::Result& r : rsp.results()) {
    if (r.severity() == fn::pb::SEVERITY_FATAL) {
      // The function's condition says whether it is a denial (Authorized)
      // or a violation of the rules (PolicyCompliant).
      bool denied = false;
      for (const fn::pb::Condition& c : rsp.conditions()) {
        denied |= c.reason() == fn::policy::kReasonDenied;
      }
      return denied ? Decision::Deny(403, "Forbidden", r.message())
                    : Decision::Deny(422, "Invalid", r.message());
    }
    if (r.severity() == fn::pb::SEVERITY_WARNING) d.warnings.push_back(r.message());
  }
  return d;
}

}  // namespace platform::admission
