// Early-return helpers for absl::Status and absl::StatusOr.
#ifndef PLATFORM_FUNCTION_SDK_STATUS_MACROS_H_
#define PLATFORM_FUNCTION_SDK_STATUS_MACROS_H_

#include <utility>

#define PLATFORM_STATUS_CONCAT_INNER(a, b) a##b
#define PLATFORM_STATUS_CONCAT(a, b) PLATFORM_STATUS_CONCAT_INNER(a, b)

// Returns the error of a StatusOr expression, or declares `lhs` with its
// value: PLATFORM_ASSIGN_OR_RETURN(auto region, params.String("region"));
#define PLATFORM_ASSIGN_OR_RETURN(lhs, ...) \
  PLATFORM_ASSIGN_OR_RETURN_IMPL(PLATFORM_STATUS_CONCAT(status_or_, __LINE__), lhs, (__VA_ARGS__))

#define PLATFORM_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return std::move(tmp).status();       \
  lhs = *std::move(tmp)

// Returns a non-OK Status.
#define PLATFORM_RETURN_IF_ERROR(expr)                 \
  do {                                                 \
    if (absl::Status s_ = (expr); !s_.ok()) return s_; \
  } while (false)

#endif  // PLATFORM_FUNCTION_SDK_STATUS_MACROS_H_
