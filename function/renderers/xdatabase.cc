#include "function/renderers/xdatabase.h"

namespace platform::fn::renderers {

absl::Status XDatabase::Render(const sdk::Request&, sdk::Response&) const {
  return absl::UnimplementedError("XDatabase is not implemented yet");
}

}  // namespace platform::fn::renderers
