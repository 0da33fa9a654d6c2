// kubectl against the tests' control plane (tests/controlplane/controlplane.sh),
// for the end-to-end tests that check manifests and objects on it.
#ifndef PLATFORM_TESTS_SUPPORT_KUBECTL_H_
#define PLATFORM_TESTS_SUPPORT_KUBECTL_H_

#include <string>
#include <vector>

#include "tests/support/subprocess.h"

namespace platform::testing {

// Runs `kubectl --kubeconfig <kubeconfig> <args...>`.
RunResult RunKubectl(const std::string& kubectl, const std::string& kubeconfig,
                     std::vector<std::string> args);

// Creates namespace `ns` if it is missing (server-side apply of a manifest
// written into `dir`); namespaced objects can only be dry-run into a
// namespace that exists.
RunResult EnsureNamespace(const std::string& kubectl, const std::string& kubeconfig,
                          const TempDir& dir, const std::string& ns);

}  // namespace platform::testing

#endif  // PLATFORM_TESTS_SUPPORT_KUBECTL_H_
