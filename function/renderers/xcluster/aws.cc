#include "function/renderers/xcluster/compose.h"

namespace platform::fn::renderers::xcluster {

absl::StatusOr<Outcome> ComposeAws(const Params&, const sdk::Json&, Composer&) {
  return absl::UnimplementedError("provisioner AWS is not implemented yet");
}

}  // namespace platform::fn::renderers::xcluster
