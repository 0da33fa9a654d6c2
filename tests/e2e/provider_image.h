// provider-workloads' runtime image run with podman against the control plane
// of the ctest `controlplane` fixture: the image the build wrote, loaded into
// podman's store, and the mounts that let the provider inside (user 2000)
// reach the API server on the host network.
#ifndef PLATFORM_TESTS_E2E_PROVIDER_IMAGE_H_
#define PLATFORM_TESTS_E2E_PROVIDER_IMAGE_H_

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tests/e2e/provider_fixture.h"

namespace platform::testing {

inline const std::string kSource = PLATFORM_SOURCE_DIR;
inline const std::string kBuild = PLATFORM_BUILD_DIR;
inline const std::string kImage = "xpkg.crossplane.io/terraforming/provider-workloads:v0.1.0";
inline const std::string kImageTar = kBuild + "/provider-image/provider-workloads.tar";

inline std::string Podman() { return kSource + "/scripts/podman.sh"; }

inline RunResult Cmd(const std::vector<std::string>& argv) {
  return RunCommand(argv, std::chrono::seconds(300));
}

// Loads the image the build wrote (podman's store may hold an older one).
inline void LoadImage() {
  ASSERT_TRUE(fs::exists(kImageTar))
      << kImageTar << " is missing: run `make provider-image` (make test does)";
  RunResult loaded = Cmd({Podman(), "load", "--quiet", "--input", kImageTar});
  ASSERT_EQ(loaded.exit_code, 0) << loaded.err;
}

// `podman run` arguments that give the container the control plane's
// kubeconfig at /etc/provider/kubeconfig and the certificates it names at
// their paths: copies in `dir`, readable by user 2000 (the control plane
// writes its keys for root only).
inline std::vector<std::string> KubeconfigMounts(const std::string& dir) {
  const fs::path pki = fs::path(kKubeconfig).parent_path() / "pki";
  const fs::path copy = fs::path(dir) / "pki";
  fs::create_directories(copy);
  for (const char* f : {"ca.crt", "admin.crt", "admin.key"}) {
    fs::copy_file(pki / f, copy / f, fs::copy_options::overwrite_existing);
    fs::permissions(copy / f,
                    fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  }
  const std::string kubeconfig = dir + "/kubeconfig";
  fs::copy_file(kKubeconfig, kubeconfig, fs::copy_options::overwrite_existing);
  for (const fs::path& p : {copy, fs::path(dir)}) {
    fs::permissions(p, fs::perms::others_read | fs::perms::others_exec, fs::perm_options::add);
  }
  fs::permissions(kubeconfig, fs::perms::others_read, fs::perm_options::add);
  return {"-v", kubeconfig + ":/etc/provider/kubeconfig:ro", "-v",
          copy.string() + ":" + pki.string() + ":ro"};
}

}  // namespace platform::testing

#endif  // PLATFORM_TESTS_E2E_PROVIDER_IMAGE_H_
