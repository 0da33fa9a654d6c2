// Time as the client (Leases, Events) and the reconcilers see it, so tests
// can move it.
#ifndef PROVIDER_KUBE_CLOCK_H_
#define PROVIDER_KUBE_CLOCK_H_

#include <chrono>
#include <string>

#include "absl/status/statusor.h"

namespace kube {

using Time = std::chrono::system_clock::time_point;
// Local monotonic time: what durations measured on this host (a lease's
// expiry, a renew deadline) are judged by; never compared with another
// host's timestamps.
using MonoTime = std::chrono::steady_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Time Now() const = 0;
  virtual MonoTime Monotonic() const { return std::chrono::steady_clock::now(); }
};

class SystemClock : public Clock {
 public:
  Time Now() const override { return std::chrono::system_clock::now(); }
};

// RFC 3339 in UTC with second precision ("2026-11-27T16:28:11Z"), as
// Kubernetes writes metav1.Time.
std::string Rfc3339(Time t);
// RFC 3339 with microseconds, as Kubernetes writes metav1.MicroTime (Leases).
std::string Rfc3339Micro(Time t);
// Parses either form (and a numeric offset); InvalidArgument when malformed.
absl::StatusOr<Time> ParseRfc3339(const std::string& text);

}  // namespace kube

#endif  // PROVIDER_KUBE_CLOCK_H_
