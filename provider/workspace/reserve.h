// Room on the working volume kept for OpenTofu's state while it applies.
//
// OpenTofu writes its state into the working folder as it goes and at the
// end; on a full volume those writes fail, and what the apply created is in
// no state (the next plan would create it again). An apply starts only with
// a reserve taken (a file whose blocks are allocated), and a watcher removes
// that file as soon as the volume runs low, handing its room to OpenTofu.
#ifndef PROVIDER_WORKSPACE_RESERVE_H_
#define PROVIDER_WORKSPACE_RESERVE_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace workspace {

class VolumeReserve {
 public:
  // Allocates `bytes` in file `path`, then watches the volume that holds it.
  // ResourceExhausted, naming the free and needed space, when the volume has
  // not that much room: nothing should be applied then.
  static absl::StatusOr<std::unique_ptr<VolumeReserve>> Take(const std::string& path,
                                                             uint64_t bytes);
  // Stops watching and removes the file (if still there).
  ~VolumeReserve();
  VolumeReserve(const VolumeReserve&) = delete;
  VolumeReserve& operator=(const VolumeReserve&) = delete;

  // True once the watcher gave the room away.
  bool released() const { return released_; }

  // The room an apply reserves: twice the current state (OpenTofu writes a
  // new one beside it) plus 8 MiB for its logs, at least 16 MiB.
  static uint64_t For(uint64_t state_bytes);

 private:
  VolumeReserve(std::string path, uint64_t bytes);
  void Watch();

  const std::string path_;
  const uint64_t bytes_;
  std::atomic<bool> released_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread watcher_;
};

// The bytes free to an unprivileged writer on the volume holding `path`.
absl::StatusOr<uint64_t> FreeBytes(const std::string& path);

}  // namespace workspace

#endif  // PROVIDER_WORKSPACE_RESERVE_H_
