// The AnsibleRun kind's part of main: its connector and a reconciler for
// each of its two API groups.
#ifndef PROVIDER_ANSIBLE_SETUP_H_
#define PROVIDER_ANSIBLE_SETUP_H_

#include <vector>

#include "provider/ansible/external.h"
#include "provider/runtime/kind.h"

namespace ansible {

// AnsibleRun (cluster-scoped, ansible.workloads.terraforming.io) and
// AnsibleRun (namespaced, ansible.workloads.m.terraforming.io).
std::vector<runtime::ManagedKind> RegisterAnsibleRuns(const runtime::KindContext& context,
                                                      AnsibleOptions options);

}  // namespace ansible

#endif  // PROVIDER_ANSIBLE_SETUP_H_
