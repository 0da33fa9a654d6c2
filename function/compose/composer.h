// The composer every kind adds its desired resources through.
//
// Readiness rule, the same for every kind: a desired resource is READY_TRUE
// when it is observed and its ReadyRule holds for the observed object, and
// READY_FALSE otherwise, never READY_UNSPECIFIED. Leaving it unspecified
// would hand the decision to Crossplane's own check, which differs between
// Crossplane versions and between `crossplane render` and a live control
// plane; an explicit answer is the same everywhere, and is what the XR's
// readiness is computed from.
#ifndef PLATFORM_FUNCTION_COMPOSE_COMPOSER_H_
#define PLATFORM_FUNCTION_COMPOSE_COMPOSER_H_

#include <string>
#include <string_view>
#include <vector>

#include "function/sdk/request.h"
#include "function/sdk/response.h"

namespace platform::fn::compose {

// True when an observed object is ready.
using ReadyRule = bool (*)(const sdk::Json& observed);

// Managed resources, Usages and XRs: condition Ready=True.
bool ReadyCondition(const sdk::Json& o);
// Objects with no readiness of their own (a Secret): ready once observed.
bool ReadyWhenObserved(const sdk::Json& o);

// Adds desired composed resources to one response and remembers which are
// new this call (desired but not observed). One per call; not thread-safe.
class Composer {
 public:
  Composer(const sdk::Request& req, sdk::Response& rsp) : req_(req), rsp_(rsp) {}

  // Desires `object` as composition resource `name`, replacing what an
  // earlier step desired under that name, ready by `ready` (see above).
  void Add(const std::string& name, sdk::Json object, ReadyRule ready);

  // The observed object of a composition resource, or nullptr.
  const sdk::Json* Observed(std::string_view name) const;
  bool Exists(std::string_view name) const { return Observed(name) != nullptr; }
  bool IsReady(std::string_view name, ReadyRule ready) const;

  // The resources added this call that were not observed, in order.
  const std::vector<std::string>& NewNames() const { return new_; }
  const sdk::Request& request() const { return req_; }

 private:
  const sdk::Request& req_;
  sdk::Response& rsp_;
  std::vector<std::string> new_;
};

}  // namespace platform::fn::compose

#endif  // PLATFORM_FUNCTION_COMPOSE_COMPOSER_H_
