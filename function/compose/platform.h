// The platform contract every kind of XR keeps, written once.
//
// A PlatformRenderer runs the steps that do not depend on the kind, around
// the one step that does:
//
//   1. load the platform's policies (the EnvironmentConfig); until Crossplane
//      has provided them, return with only the requirement asked for;
//   2. read what every platform XR carries (identity, scope, class, region,
//      team, cost center, tags), authorize the team, and check the region
//      is known and allowed for the class;
//   3. Compose: the kind reads its own parameters and composes its
//      resources, status and connection details (below);
//   4. put the platform's mandated tags on every AWS resource it desired
//      (resources of earlier pipeline steps pass through untouched) and
//      refuse the XR if one then carries more tags than AWS allows; name
//      the account the policy maps the XR's class or team to on every AWS
//      managed resource (providerConfigRef) and CAPA object (identityRef);
//      set the policy conditions, announce the resources that go and, once,
//      the ones that are new.
//
// A kind that takes its network from an XEnvironment asks RenderContext::Network; while
// it waits, it returns Composed::WaitingForNetwork() having composed
// nothing, and step 4 is skipped. An error at any step is the call's FATAL
// result (runner.h); nothing is half applied, because Crossplane applies no
// desired state from a call with a FATAL result.
#ifndef PLATFORM_FUNCTION_COMPOSE_PLATFORM_H_
#define PLATFORM_FUNCTION_COMPOSE_PLATFORM_H_

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "function/compose/composer.h"
#include "function/compose/environment.h"
#include "function/compose/scope.h"
#include "function/policy/policy.h"
#include "function/registry.h"
#include "function/sdk/fields.h"

namespace platform::fn::compose {

// How messages name a kind.
struct KindNames {
  std::string_view noun;    // "cluster": "a dev cluster may not use ..."
  std::string_view plural;  // "clusters": "dev clusters may only use ..."
};

// The XR being rendered, as step 2 read and checked it.
struct Xr {
  sdk::Fields fields;  // the observed XR
  sdk::Fields params;  // its spec.parameters
  Scope scope;
  policy::Subject subject;  // name, kind, origin namespace, class, region, team, cost center
  sdk::Json user_tags = sdk::Json::object();  // the XR's own tags
  // The XEnvironment that composed this XR, or "" (subject.h).
  std::string composing_environment;
  const policy::Policies* policies = nullptr;
  const policy::ClassLimits* limits = nullptr;  // of subject.environment_class
};

// What a kind's Compose hands back.
struct Composed {
  // Completes "creating N resources for ...", e.g. "the dev environment in
  // eu-west-1 (2 zones, NAT Single)"; said only when something is new.
  std::string announcement;
  // The kind waits for its network and composed nothing.
  bool waiting_for_network = false;

  static Composed WaitingForNetwork() {
    Composed c;
    c.waiting_for_network = true;
    return c;
  }
};

// One render of one XR: where a kind composes to, and the contract's helpers.
// Lives for one call; not thread-safe.
class RenderContext {
 public:
  RenderContext(const sdk::Request& req, sdk::Response& rsp, const Xr& xr, KindNames names)
      : req_(req), rsp_(rsp), xr_(xr), names_(names), composer_(req, rsp) {}

  const sdk::Request& req() const { return req_; }
  sdk::Response& rsp() { return rsp_; }
  Composer& composer() { return composer_; }

  // The XR's tags under the platform's mandated ones: what every resource
  // the kind composes carries (AWS tags, Cluster API's additionalTags).
  sdk::Json Tags() const;

  // The network of the XEnvironment `environment` (the value of
  // spec.parameters.network.environment), once it publishes `needs`: sets
  // NetworkReady True and returns it. Until then (ResolveNetwork in
  // environment.h) marks the XR not ready, sets NetworkReady False saying
  // why, and returns nullopt: the kind composes nothing and returns
  // Composed::WaitingForNetwork().
  absl::StatusOr<std::optional<EnvironmentNetwork>> Network(
      std::string_view environment, std::initializer_list<NetworkNeed> needs);

 private:
  const sdk::Request& req_;
  sdk::Response& rsp_;
  const Xr& xr_;
  KindNames names_;
  Composer composer_;
};

class PlatformRenderer : public Renderer {
 public:
  explicit PlatformRenderer(KindNames names) : names_(names) {}

  // Steps 1 to 4 above. Safe to call from several threads at once.
  absl::Status Render(const sdk::Request& req, sdk::Response& rsp) const final;

 protected:
  // Step 3: reads the kind's parameters from xr.params (errors name the
  // field and the rule) and composes through `call`. Must not keep
  // references to `xr` or `call` past the return; must be safe to call from
  // several threads at once (renderers hold no per-call state).
  virtual absl::StatusOr<Composed> Compose(const Xr& xr, RenderContext& call) const = 0;

 private:
  KindNames names_;
};

// Step 2 on its own, for tests and tools: the XR's common fields, checked.
absl::StatusOr<Xr> ReadXr(const sdk::Fields& fields, const policy::Policies& policies,
                          KindNames names);

}  // namespace platform::fn::compose

#endif  // PLATFORM_FUNCTION_COMPOSE_PLATFORM_H_
