// A clock tests move by hand.
#ifndef PROVIDER_TESTING_FAKE_CLOCK_H_
#define PROVIDER_TESTING_FAKE_CLOCK_H_

#include "provider/kube/clock.h"

namespace kube::testing {

class FakeClock : public Clock {
 public:
  Time Now() const override { return now; }
  // Moves with `now` (tests move both at once).
  MonoTime Monotonic() const override { return MonoTime(now.time_since_epoch()); }
  Time now = Time(std::chrono::seconds(1'800'000'000));  // 2027-01-15T08:00:00Z
};

}  // namespace kube::testing

#endif  // PROVIDER_TESTING_FAKE_CLOCK_H_
