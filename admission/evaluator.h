// The platform's judgement of one admission review, made by the function's
// own code: the object (a claim becomes the XR Crossplane would make of it)
// goes through the same Runner and renderers as a RunFunction call, with the
// Composition's step input and the policy EnvironmentConfig the webhook
// watches. A FATAL result refuses the request with the function's message,
// word for word; its warnings become the response's warnings. No rule is
// written twice.
//
// What needs the cluster's state beyond the object and the policy (a
// cluster's network from its XEnvironment, observed composed resources) is
// not judged here: the function asks for it, gets nothing, composes nothing,
// and the request passes; the function judges it once Crossplane composes.
#ifndef PLATFORM_ADMISSION_EVALUATOR_H_
#define PLATFORM_ADMISSION_EVALUATOR_H_

#include <string>

#include "admission/review.h"
#include "function/registry.h"

namespace platform::admission {

// What the webhook knows of the cluster when it judges a review.
struct ClusterView {
  // The policy EnvironmentConfig the step input names; nullptr when it does
  // not exist.
  const Json* policy = nullptr;
  // The review's namespace; nullptr for cluster-scoped objects or when the
  // namespace is not known.
  const Json* namespace_object = nullptr;
};

// What may be defaulted at admission, from labels of the object's namespace:
// a platform team labels a team's namespaces once, and the team's claims
// need not repeat it. A label key "" defaults nothing.
struct EvaluatorOptions {
  // Its value becomes spec.parameters.team of a claim or namespaced XR that
  // names no team.
  std::string team_label = "platform.terraforming.io/team";
  // Its value becomes spec.parameters.environment (the environment class)
  // of one that names none.
  std::string class_label = "platform.terraforming.io/environment";
};

class Evaluator {
 public:
  // `registry` (the function's, BuiltinRegistry()) must outlive this.
  // `step_input` is the function step's input of the Compositions.
  Evaluator(const fn::Registry& registry, Json step_input, EvaluatorOptions options = {});

  // The EnvironmentConfig the step input's policy names; "" when none.
  const std::string& policy_name() const { return policy_name_; }

  // True when the review's object is one of the platform's claims or XRs
  // (a kind the registry renders, or the claim of one).
  bool IsPlatformKind(const Review& review) const;

  // The mutating webhook: a JSON patch setting what may be defaulted at
  // admission (EvaluatorOptions: the team and the environment class from
  // the namespace's labels), with a warning for each; allowed and empty
  // otherwise. Never refuses.
  Decision Mutate(const Review& review, const ClusterView& view) const;

  // The validating webhook: refused with the function's message when the
  // function would refuse the object; allowed, with the function's warnings,
  // otherwise. CREATE and UPDATE of platform kinds only; anything else is
  // allowed untouched.
  Decision Validate(const Review& review, const ClusterView& view) const;

  // The XR the function sees for the review's object: an XR as it is, a
  // claim as the XR Crossplane makes of it (kind X<Kind>, the claim's spec
  // and labels, the claim's name and namespace in its claim labels).
  static Json CompositeOf(const Review& review);

 private:
  const fn::Registry& registry_;
  Json input_;
  EvaluatorOptions options_;
  std::string policy_name_;
};

}  // namespace platform::admission

#endif  // PLATFORM_ADMISSION_EVALUATOR_H_
