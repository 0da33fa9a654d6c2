// Renderers and the registry that picks one by the kind of the observed XR.
//
// A renderer turns one kind of XR into desired composed resources, XR status,
// readiness and conditions. Adding a kind is adding a renderer and one line in
// BuiltinRegistry(); nothing else dispatches on kinds.
#ifndef PLATFORM_FUNCTION_REGISTRY_H_
#define PLATFORM_FUNCTION_REGISTRY_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "function/sdk/request.h"
#include "function/sdk/response.h"

namespace platform::fn {

class Renderer {
 public:
  virtual ~Renderer() = default;

  // Renders `req` into `rsp`. An error becomes the call's only FATAL result,
  // so its message must name the field and the rule, e.g.
  // "spec.parameters.region: required". Renderers must be safe to call from
  // several threads at once.
  virtual absl::Status Render(const sdk::Request& req, sdk::Response& rsp) const = 0;
};

class Registry {
 public:
  // Registers `renderer` for XRs of `kind`, in any API group: the claim-based
  // and the namespaced variant of a kind share one renderer.
  void Add(std::string kind, std::unique_ptr<Renderer> renderer);

  // The renderer for `kind`; nullptr when none is registered.
  const Renderer* Find(std::string_view kind) const;

  // The registered kinds, sorted.
  std::vector<std::string> Kinds() const;

 private:
  std::map<std::string, std::unique_ptr<Renderer>, std::less<>> renderers_;
};

}  // namespace platform::fn

#endif  // PLATFORM_FUNCTION_REGISTRY_H_
