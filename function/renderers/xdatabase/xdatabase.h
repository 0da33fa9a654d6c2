// XDatabase: a private, encrypted RDS database (an instance, or an Aurora
// cluster) from one claim or namespaced XR, with its credentials delivered
// to the app team. See docs/xdatabase.md.
#ifndef PLATFORM_FUNCTION_RENDERERS_XDATABASE_XDATABASE_H_
#define PLATFORM_FUNCTION_RENDERERS_XDATABASE_XDATABASE_H_

#include "function/compose/platform.h"

namespace platform::fn::renderers {

class XDatabase : public compose::PlatformRenderer {
 public:
  XDatabase();

 protected:
  absl::StatusOr<compose::Composed> Compose(const compose::Xr& xr,
                                            compose::RenderContext& call) const override;
};

}  // namespace platform::fn::renderers

#endif  // PLATFORM_FUNCTION_RENDERERS_XDATABASE_XDATABASE_H_
