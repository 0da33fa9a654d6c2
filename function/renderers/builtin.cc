// The renderers this function ships, by XR kind.
#include "function/renderers/builtin.h"

#include <memory>

#include "function/registry.h"
#include "function/renderers/xcluster/xcluster.h"
#include "function/renderers/xdatabase/xdatabase.h"
#include "function/renderers/xenvironment/xenvironment.h"

namespace platform::fn {

Registry BuiltinRegistry() {
  Registry r;
  r.Add("XEnvironment", std::make_unique<renderers::XEnvironment>());
  r.Add("XCluster", std::make_unique<renderers::XCluster>());
  r.Add("XDatabase", std::make_unique<renderers::XDatabase>());
  return r;
}

}  // namespace platform::fn
