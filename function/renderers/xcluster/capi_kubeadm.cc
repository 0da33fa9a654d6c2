#include "function/renderers/xcluster/compose.h"

namespace platform::fn::renderers::xcluster {

absl::StatusOr<Outcome> ComposeCapiKubeadm(const Params&, const sdk::Json&, Composer&) {
  return absl::UnimplementedError("flavor Kubeadm is not implemented yet");
}

}  // namespace platform::fn::renderers::xcluster
