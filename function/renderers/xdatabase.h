// XDatabase: a private, encrypted RDS database (an instance, or an Aurora
// cluster) from one claim, with its credentials delivered to the app team.
// See docs/xdatabase.md.
#ifndef PLATFORM_FUNCTION_RENDERERS_XDATABASE_H_
#define PLATFORM_FUNCTION_RENDERERS_XDATABASE_H_

#include "function/registry.h"

namespace platform::fn::renderers {

class XDatabase : public Renderer {
 public:
  absl::Status Render(const sdk::Request& req, sdk::Response& rsp) const override;
};

}  // namespace platform::fn::renderers

#endif  // PLATFORM_FUNCTION_RENDERERS_XDATABASE_H_
