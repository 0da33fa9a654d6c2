// Resource types of the core API the provider reads and writes.
#ifndef PROVIDER_KUBE_RESOURCES_H_
#define PROVIDER_KUBE_RESOURCES_H_

#include "provider/kube/client.h"

namespace kube {

inline const Resource kSecrets{"", "v1", "secrets", "Secret", true};
inline const Resource kConfigMaps{"", "v1", "configmaps", "ConfigMap", true};
inline const Resource kEvents{"", "v1", "events", "Event", true};
inline const Resource kNamespaces{"", "v1", "namespaces", "Namespace", false};
inline const Resource kLeases{"coordination.k8s.io", "v1", "leases", "Lease", true};

}  // namespace kube

#endif  // PROVIDER_KUBE_RESOURCES_H_
