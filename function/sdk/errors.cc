#include "function/sdk/errors.h"

#include "absl/strings/cord.h"
#include "function/sdk/strings.h"

namespace platform::fn::sdk {
namespace {

constexpr char kConditionPayloadUrl[] = "type.platform.terraforming.io/condition";

}  // namespace

absl::Status ErrorWithCondition(absl::StatusCode code, std::string_view condition_type,
                                std::string_view reason, std::string_view message) {
  if (code == absl::StatusCode::kOk) code = absl::StatusCode::kFailedPrecondition;
  absl::Status status(code, std::string(message));
  status.SetPayload(kConditionPayloadUrl, absl::Cord(Cat(condition_type, "/", reason)));
  return status;
}

std::optional<ErrorCondition> ConditionOf(const absl::Status& status) {
  if (status.ok()) return std::nullopt;
  auto payload = status.GetPayload(kConditionPayloadUrl);
  if (!payload) return std::nullopt;
  const std::string text(*payload);
  const std::size_t slash = text.find('/');
  if (slash == std::string::npos) return std::nullopt;
  return ErrorCondition{text.substr(0, slash), text.substr(slash + 1)};
}

}  // namespace platform::fn::sdk
