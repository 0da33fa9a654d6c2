// What the Crossplane tests' doubles (simulated-cloud,
// external-package-runtime) share: logging, the options of their watches and
// status patches, and stopping on SIGTERM.
#ifndef PLATFORM_TESTS_CROSSPLANE_DOUBLES_H_
#define PLATFORM_TESTS_CROSSPLANE_DOUBLES_H_

#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <mutex>
#include <string>

#include "provider/kube/client.h"
#include "provider/kube/informer.h"

namespace platform::testing::doubles {

// Set by SIGTERM or SIGINT once StopOnSignals() ran.
inline std::atomic<bool> stopping{false};

inline void StopOnSignals() {
  std::signal(SIGTERM, [](int) { stopping = true; });
  std::signal(SIGINT, [](int) { stopping = true; });
}

// One line to stdout (the fixture keeps it in logs/<double>.log).
inline void Log(const std::string& line) {
  static std::mutex mu;
  const std::lock_guard<std::mutex> lock(mu);
  std::cout << line << std::endl;
}

inline kube::PatchOptions StatusSubresource() {
  kube::PatchOptions o;
  o.subresource = "status";
  return o;
}

// Watches that restart quickly: a test waits for what a double writes.
inline kube::InformerOptions QuickInformer() {
  kube::InformerOptions o;
  o.watch_timeout = std::chrono::seconds(30);
  o.min_backoff = std::chrono::milliseconds(200);
  o.max_backoff = std::chrono::milliseconds(2000);
  o.rewatch_pause = std::chrono::milliseconds(200);
  return o;
}

}  // namespace platform::testing::doubles

#endif  // PLATFORM_TESTS_CROSSPLANE_DOUBLES_H_
