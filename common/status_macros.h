// Early returns for absl::Status and absl::StatusOr, for the provider:
//   ASSIGN_OR_RETURN(const Json secret, client.Get(kSecrets, key));
//   RETURN_IF_ERROR(client.Delete(kSecrets, key));
// (The function keeps its own PLATFORM_-prefixed macros; a file includes one
// set or the other.)
#ifndef PLATFORM_COMMON_STATUS_MACROS_H_
#define PLATFORM_COMMON_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define STATUS_MACROS_CONCAT_INNER(a, b) a##b
#define STATUS_MACROS_CONCAT(a, b) STATUS_MACROS_CONCAT_INNER(a, b)

// Returns a non-OK Status (of a Status or a StatusOr expression).
#define RETURN_IF_ERROR(expr)                                                 \
  do {                                                                        \
    if (const absl::Status status_macros_s = ::status_macros::StatusOf(expr); \
        !status_macros_s.ok()) {                                              \
      return status_macros_s;                                                 \
    }                                                                         \
  } while (false)

// Returns the error of a StatusOr expression, or declares (or assigns) `lhs`
// with its value.
#define ASSIGN_OR_RETURN(lhs, ...) \
  ASSIGN_OR_RETURN_IMPL(STATUS_MACROS_CONCAT(status_or_, __LINE__), lhs, (__VA_ARGS__))

#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr)    \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return std::move(tmp).status(); \
  lhs = *std::move(tmp)

namespace status_macros {

inline absl::Status StatusOf(absl::Status s) { return s; }
template <typename T>
absl::Status StatusOf(const absl::StatusOr<T>& s) {
  return s.status();
}

}  // namespace status_macros

#endif  // PLATFORM_COMMON_STATUS_MACROS_H_
