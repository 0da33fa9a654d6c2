#include "tests/support/kubectl.h"

namespace platform::testing {

RunResult RunKubectl(const std::string& kubectl, const std::string& kubeconfig,
                     std::vector<std::string> args) {
  args.insert(args.begin(), {kubectl, "--kubeconfig", kubeconfig});
  return RunCommand(args);
}

RunResult EnsureNamespace(const std::string& kubectl, const std::string& kubeconfig,
                          const TempDir& dir, const std::string& ns) {
  const std::string file = dir.Write(
      "ns-" + ns + ".yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + ns + "\n");
  return RunKubectl(kubectl, kubeconfig, {"apply", "--server-side", "-f", file});
}

}  // namespace platform::testing
