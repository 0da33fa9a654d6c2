#include "provider/workspace/reserve.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

namespace workspace {
namespace {

std::string MiB(uint64_t bytes) {
  return absl::StrFormat("%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
}

}  // namespace

absl::StatusOr<uint64_t> FreeBytes(const std::string& path) {
  struct statvfs st {};
  if (::statvfs(path.c_str(), &st) != 0) {
    return absl::InternalError("cannot read the free space of the working volume: " +
                               std::string(std::strerror(errno)));
  }
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

uint64_t VolumeReserve::For(uint64_t state_bytes) {
  return std::max<uint64_t>(uint64_t{16} << 20, 2 * state_bytes + (uint64_t{8} << 20));
}

absl::StatusOr<std::unique_ptr<VolumeReserve>> VolumeReserve::Take(const std::string& path,
                                                                   uint64_t bytes) {
  const std::string dir = std::filesystem::path(path).parent_path().string();
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::ResourceExhaustedError(
        "cannot reserve room for OpenTofu's state on the working "
        "volume: " +
        std::string(std::strerror(errno)));
  }
  const int err = ::posix_fallocate(fd, 0, static_cast<off_t>(bytes));
  ::close(fd);
  if (err != 0) {
    ::unlink(path.c_str());
    const absl::StatusOr<uint64_t> free = FreeBytes(dir);
    return absl::ResourceExhaustedError(
        "the working volume has " + (free.ok() ? MiB(*free) : std::string("too little")) +
        " free, and an apply needs " + MiB(bytes) +
        " kept for OpenTofu's state (twice the state, at least 16 MiB); nothing is applied "
        "until there is room (" +
        std::strerror(err) + ")");
  }
  return std::unique_ptr<VolumeReserve>(new VolumeReserve(path, bytes));
}

VolumeReserve::VolumeReserve(std::string path, uint64_t bytes)
    : path_(std::move(path)), bytes_(bytes) {
  watcher_ = std::thread([this] { Watch(); });
}

VolumeReserve::~VolumeReserve() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  watcher_.join();
  ::unlink(path_.c_str());
}

void VolumeReserve::Watch() {
  const std::string dir = std::filesystem::path(path_).parent_path().string();
  // Low: less than a quarter of the reserve (at least 4 MiB) left beside it.
  const uint64_t low = std::max<uint64_t>(bytes_ / 4, uint64_t{4} << 20);
  std::unique_lock<std::mutex> lock(mu_);
  while (!released_) {
    if (cv_.wait_for(lock, std::chrono::milliseconds(50), [this] { return stop_; })) return;
    const absl::StatusOr<uint64_t> free = FreeBytes(dir);
    if (free.ok() && *free < low) {
      ::unlink(path_.c_str());
      released_ = true;
    }
  }
}

}  // namespace workspace
