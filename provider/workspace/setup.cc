#include "provider/workspace/setup.h"

#include <memory>
#include <utility>

#include "provider/workspace/kinds.h"

namespace workspace {

std::vector<runtime::ManagedKind> RegisterWorkspaces(const runtime::KindContext& context,
                                                     WorkspaceOptions options) {
  return runtime::RegisterBothScopes(
      context,
      std::make_shared<WorkspaceConnector>(context.client, context.events, context.clock,
                                           std::move(options)),
      kWorkspaces, kModernWorkspaces, [](runtime::ManagedOptions& o) {
        // A workspace is its state, keyed by the resource's uid: a create
        // whose outcome was lost can be observed again safely.
        o.deterministic_external_name = true;
        // Existence is the state Secret, read back consistently right after
        // it is written: no grace period is needed to see a create.
        o.creation_grace = std::chrono::milliseconds(0);
      });
}

}  // namespace workspace
