// Errors that carry a condition: a renderer returns one when the XR (and its
// claim) should also show why rendering stopped, e.g. Authorized=False. The
// runner turns it into the FATAL result plus a False condition.
#ifndef PLATFORM_FUNCTION_SDK_ERRORS_H_
#define PLATFORM_FUNCTION_SDK_ERRORS_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace platform::fn::sdk {

// An error with `message` that also sets condition `condition_type` (PascalCase,
// not one of Crossplane's own) to False with `reason`. An OK `code` is taken
// as FailedPrecondition.
absl::Status ErrorWithCondition(absl::StatusCode code, std::string_view condition_type,
                                std::string_view reason, std::string_view message);

// The condition an error made by ErrorWithCondition carries.
struct ErrorCondition {
  std::string type;
  std::string reason;
};
std::optional<ErrorCondition> ConditionOf(const absl::Status& status);

}  // namespace platform::fn::sdk

#endif  // PLATFORM_FUNCTION_SDK_ERRORS_H_
