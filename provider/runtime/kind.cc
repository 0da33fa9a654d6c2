#include "provider/runtime/kind.h"

#include <utility>

namespace runtime {

std::vector<ManagedKind> RegisterBothScopes(const KindContext& context,
                                            std::shared_ptr<Connector> connector,
                                            const kube::Resource& legacy,
                                            const kube::Resource& modern,
                                            const std::function<void(ManagedOptions&)>& tune) {
  std::vector<ManagedKind> kinds;
  for (const auto& [resource, is_legacy] : {std::pair{legacy, true}, {modern, false}}) {
    ManagedOptions o = context.Options(resource, is_legacy);
    if (tune) tune(o);
    ManagedKind kind;
    kind.connector = connector;
    kind.reconciler = std::make_unique<ManagedReconciler>(
        context.client, context.events, context.clock, *connector, context.Configs(is_legacy), o);
    kinds.push_back(std::move(kind));
  }
  return kinds;
}

}  // namespace runtime
