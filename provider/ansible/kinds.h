// The API types of the AnsibleRun kind (provider/API.md). Its
// ProviderConfigs are the Workspace's.
#ifndef PROVIDER_ANSIBLE_KINDS_H_
#define PROVIDER_ANSIBLE_KINDS_H_

#include "provider/kube/client.h"

namespace ansible {

inline constexpr char kGroup[] = "ansible.workloads.terraforming.io";
inline constexpr char kModernGroup[] = "ansible.workloads.m.terraforming.io";
inline constexpr char kVersion[] = "v1alpha1";

inline const kube::Resource kAnsibleRuns{kGroup, kVersion, "ansibleruns", "AnsibleRun", false};
inline const kube::Resource kModernAnsibleRuns{kModernGroup, kVersion, "ansibleruns", "AnsibleRun",
                                               true};

}  // namespace ansible

#endif  // PROVIDER_ANSIBLE_KINDS_H_
