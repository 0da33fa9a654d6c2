// How a kind joins the provider: main builds a KindContext once and calls
// each kind's Register function (workspace/setup.h, ansible/setup.h), which
// returns a ManagedKind per API group the kind is served in; main then runs
// one controller per ManagedKind. Adding a kind is adding a row to main's
// table, nothing else.
#ifndef PROVIDER_RUNTIME_KIND_H_
#define PROVIDER_RUNTIME_KIND_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "provider/kube/client.h"
#include "provider/kube/clock.h"
#include "provider/runtime/events.h"
#include "provider/runtime/managed.h"
#include "provider/runtime/providerconfig.h"

namespace runtime {

// What main shares with every kind. The references outlive the kinds.
struct KindContext {
  kube::Client& client;
  EventSink& events;
  const kube::Clock& clock;
  // The ProviderConfigs cluster-scoped (legacy) and namespaced (modern)
  // managed resources use.
  const ProviderConfigs& legacy_configs;
  const ProviderConfigs& modern_configs;
  std::chrono::milliseconds poll{std::chrono::minutes(1)};
  std::chrono::milliseconds poll_jitter{0};
  // Where changes are recorded (--enable-changelogs); none when null.
  ChangeLog* change_log = nullptr;

  // ManagedOptions for `resource` with main's poll settings; `legacy` for
  // the cluster-scoped kind with spec.deletionPolicy.
  ManagedOptions Options(const kube::Resource& resource, bool legacy) const {
    ManagedOptions o;
    o.resource = resource;
    o.legacy = legacy;
    o.poll = poll;
    o.poll_jitter = poll_jitter;
    o.change_log = change_log;
    return o;
  }
  const ProviderConfigs& Configs(bool legacy) const {
    return legacy ? legacy_configs : modern_configs;
  }
};

// One managed resource type, ready for a controller. The connector may be
// shared by the kind's types; it is destroyed after the reconciler.
struct ManagedKind {
  std::shared_ptr<Connector> connector;
  std::unique_ptr<ManagedReconciler> reconciler;

  const kube::Resource& resource() const { return reconciler->options().resource; }
  // "group/version, Kind=Kind", as Crossplane's metrics name a type.
  std::string Gvk() const { return resource().ApiVersion() + ", Kind=" + resource().kind; }
};

// The ManagedKinds of a kind served both cluster-scoped (`legacy`, with
// spec.deletionPolicy) and namespaced (`modern`), sharing `connector`;
// `tune` adjusts the options of each.
std::vector<ManagedKind> RegisterBothScopes(const KindContext& context,
                                            std::shared_ptr<Connector> connector,
                                            const kube::Resource& legacy,
                                            const kube::Resource& modern,
                                            const std::function<void(ManagedOptions&)>& tune);

}  // namespace runtime

#endif  // PROVIDER_RUNTIME_KIND_H_
