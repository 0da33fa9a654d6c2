// Reading errors in tests: the message of a failed Status or StatusOr.
#ifndef PROVIDER_TESTING_STATUS_H_
#define PROVIDER_TESTING_STATUS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace provider::testing {

// The message of `s` ("" when it is OK).
inline std::string ErrorOf(const absl::Status& s) { return std::string(s.message()); }
template <typename T>
std::string ErrorOf(const absl::StatusOr<T>& s) {
  return std::string(s.status().message());
}

}  // namespace provider::testing

#endif  // PROVIDER_TESTING_STATUS_H_
