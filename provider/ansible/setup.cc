#include "provider/ansible/setup.h"

#include <memory>
#include <utility>

#include "provider/ansible/kinds.h"

namespace ansible {

std::vector<runtime::ManagedKind> RegisterAnsibleRuns(const runtime::KindContext& context,
                                                      AnsibleOptions options) {
  return runtime::RegisterBothScopes(
      context,
      std::make_shared<AnsibleConnector>(context.client, context.events, context.clock,
                                         std::move(options)),
      kAnsibleRuns, kModernAnsibleRuns, [](runtime::ManagedOptions& o) {
        // A run is not named: an interrupted first run is simply run again.
        o.deterministic_external_name = true;
        // Existence is the applied spec in status, written with the run's
        // outcome: no grace period is needed to see a create.
        o.creation_grace = std::chrono::milliseconds(0);
      });
}

}  // namespace ansible
