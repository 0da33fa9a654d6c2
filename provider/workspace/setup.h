// The Workspace kind's part of main: its connector and a reconciler for
// each of its two API groups.
#ifndef PROVIDER_WORKSPACE_SETUP_H_
#define PROVIDER_WORKSPACE_SETUP_H_

#include <vector>

#include "provider/runtime/kind.h"
#include "provider/workspace/external.h"

namespace workspace {

// Workspace (cluster-scoped, terraform.workloads.terraforming.io) and
// Workspace (namespaced, terraform.workloads.m.terraforming.io).
std::vector<runtime::ManagedKind> RegisterWorkspaces(const runtime::KindContext& context,
                                                     WorkspaceOptions options);

}  // namespace workspace

#endif  // PROVIDER_WORKSPACE_SETUP_H_
