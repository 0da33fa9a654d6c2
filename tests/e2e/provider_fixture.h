// The fixture the provider's end-to-end tests share: a state namespace and
// ProviderConfigs of their own, the provider binary started as a process
// against the control plane of the ctest `controlplane` fixture, kubectl
// helpers, and a clean-up that leaves nothing behind (finalizers included).
#ifndef PLATFORM_TESTS_E2E_PROVIDER_FIXTURE_H_
#define PLATFORM_TESTS_E2E_PROVIDER_FIXTURE_H_

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/kubectl.h"
#include "tests/support/subprocess.h"

namespace platform::testing {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using namespace std::chrono_literals;

inline const std::string kKubectl = KUBECTL_BIN;
inline const std::string kKubeconfig = CONTROLPLANE_KUBECONFIG;
inline const std::string kProvider = PROVIDER_BIN;
inline const std::string kTofu = TOFU_BIN;

inline RunResult Kubectl(std::vector<std::string> args) {
  return RunKubectl(kKubectl, kKubeconfig, std::move(args));
}

inline bool FileHas(const std::string& path, const std::string& content) {
  return fs::exists(path) && ReadFile(path) == content;
}

// Waits until `check` holds, up to `timeout`.
inline bool Eventually(const std::function<bool()>& check, std::chrono::seconds timeout = 90s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (check()) return true;
    std::this_thread::sleep_for(250ms);
  }
  return check();
}

inline std::string Indent(const std::string& text, int spaces) {
  std::string out, pad(static_cast<size_t>(spaces), ' ');
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out += pad + text.substr(start, end - start) + "\n";
    start = end + 1;
  }
  return out;
}

class ProviderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(kKubectl.empty()) << "configure with -DKUBECTL_BIN (make test does)";
    ASSERT_FALSE(kTofu.empty()) << "configure with -DTOFU_BIN (make test does)";
    ASSERT_TRUE(fs::exists(kKubeconfig))
        << "no control plane: these tests run inside ctest's controlplane fixture";
    const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    // Unique per test and per run: objects a failed run left behind never
    // meet this run's.
    suffix_ = std::to_string((std::hash<std::string>{}(name) + static_cast<size_t>(::getpid())) %
                             1000000);
    state_ns_ = "wl-state-" + suffix_;
    Apply("namespace", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + state_ns_ + "\n");
    // The key that encrypts state at rest, and the ProviderConfigs.
    Apply("config",
          "apiVersion: v1\nkind: Secret\nmetadata:\n  name: state-key\n  namespace: " + state_ns_ +
              "\nstringData:\n  key: correct-horse-battery-staple\n---\n"
              "apiVersion: terraform.workloads.terraforming.io/v1alpha1\nkind: ProviderConfig\n"
              "metadata:\n  name: pc-" +
              suffix_ + "\nspec:\n  state:\n    namespace: " + state_ns_ +
              "\n    history: 3\n    encryptionKeySecretRef: {namespace: " + state_ns_ +
              ", name: state-key, key: key}\n---\n"
              "apiVersion: terraform.workloads.m.terraforming.io/v1alpha1\n"
              "kind: ClusterProviderConfig\nmetadata:\n  name: cpc-" +
              suffix_ + "\nspec:\n  state:\n    namespace: " + state_ns_ + "\n");
  }

  void TearDown() override {
    if (provider_ && provider_->running()) provider_->Stop();
    // PROVIDER_TEST_LOGS=1 shows the log of passing tests too.
    if ((HasFailure() || std::getenv("PROVIDER_TEST_LOGS") != nullptr) && !log_.empty()) {
      std::cerr << "---- provider log (last 150 lines) ----\n";
      RunResult tail = RunCommand({"tail", "-150", log_});
      std::cerr << tail.out;
    }
    // Leave nothing behind, finalizers included.
    for (const auto& [kind, key] : created_) {
      std::vector<std::string> target = {kind};
      const size_t slash = key.find('/');
      if (slash != std::string::npos) {
        target.insert(target.end(), {key.substr(slash + 1), "-n", key.substr(0, slash)});
      } else {
        target.push_back(key);
      }
      std::vector<std::string> del = {"delete", "--ignore-not-found", "--wait=false"};
      del.insert(del.end(), target.begin(), target.end());
      Kubectl(del);
      std::vector<std::string> patch = {"patch"};
      patch.insert(patch.end(), target.begin(), target.end());
      patch.insert(patch.end(), {"--type=merge", "-p", R"({"metadata":{"finalizers":null}})"});
      Kubectl(patch);
    }
  }

  void StartProvider(const std::vector<std::string>& extra = {}) {
    log_ = dir_.path() + "/provider-" + std::to_string(++starts_) + ".log";
    std::vector<std::string> argv = {kProvider,
                                     "--kubeconfig=" + kKubeconfig,
                                     "--poll=2s",
                                     "--poll-jitter=0s",
                                     "--max-reconcile-rate=4",
                                     "--work-dir=" + dir_.path() + "/work",
                                     "--cache-dir=" + dir_.path() + "/cache",
                                     "--state-namespace=" + state_ns_,
                                     "--state-lock-duration=5s",
                                     "--tofu=" + kTofu,
                                     "--metrics-address=127.0.0.1:" + std::to_string(FreePort()),
                                     "--debug"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    provider_ = std::make_unique<Background>(argv, log_);
  }

  void Apply(const std::string& name, const std::string& manifest) {
    const std::string file = dir_.Write(name + "-" + std::to_string(++files_) + ".yaml", manifest);
    RunResult r = Kubectl({"apply", "-f", file});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  Json Get(const std::string& kind, const std::string& name, const std::string& ns = "") {
    std::vector<std::string> args = {"get", kind, name, "-o", "json"};
    if (!ns.empty()) args.insert(args.end(), {"-n", ns});
    RunResult r = Kubectl(args);
    if (r.exit_code != 0) return Json();
    return Json::parse(r.out, nullptr, false);
  }

  static std::string Condition(const Json& o, const std::string& type,
                               const char* field = "status") {
    if (!o.is_object() || !o.contains("status")) return "";
    for (const auto& c : o["status"].value("conditions", Json::array())) {
      if (c.value("type", "") == type) return c.value(field, "");
    }
    return "";
  }

  bool ReadyAndSynced(const Json& o) {
    return Condition(o, "Ready") == "True" && Condition(o, "Synced") == "True";
  }

  std::vector<Json> Events(const std::string& involved_name, const std::string& ns) {
    RunResult r = Kubectl({"get", "events", "-n", ns, "--field-selector",
                           "involvedObject.name=" + involved_name, "-o", "json"});
    std::vector<Json> out;
    if (r.exit_code != 0) return out;
    const Json list = Json::parse(r.out, nullptr, false);
    if (!list.is_object()) return out;
    for (const auto& e : list.value("items", Json::array())) out.push_back(e);
    return out;
  }

  bool HasEvent(const std::string& name, const std::string& ns, const std::string& reason) {
    for (const auto& e : Events(name, ns)) {
      if (e.value("reason", "") == reason) return true;
    }
    return false;
  }

  TempDir dir_;
  std::unique_ptr<Background> provider_;
  std::string log_;
  std::string suffix_, state_ns_;
  int starts_ = 0, files_ = 0;
  std::vector<std::pair<std::string, std::string>> created_;
};

}  // namespace platform::testing

#endif  // PLATFORM_TESTS_E2E_PROVIDER_FIXTURE_H_
