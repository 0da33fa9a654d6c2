#include "provider/kube/client.h"

#include <string>

#include "absl/strings/cord.h"

namespace kube {

ObjectKey KeyOf(const Json& object) {
  const Json& meta = object.value("metadata", Json::object());
  return {meta.value("namespace", ""), meta.value("name", "")};
}

std::string ResourceVersionOf(const Json& object) {
  const auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) return "";
  const auto version = meta->find("resourceVersion");
  return version != meta->end() && version->is_string() ? version->get<std::string>() : "";
}

void DropManagedFields(Json& object) {
  const auto meta = object.find("metadata");
  if (meta != object.end() && meta->is_object()) meta->erase("managedFields");
}

Json ControllerReference(const Json& owner) {
  const Json& meta = owner.value("metadata", Json::object());
  return {{"apiVersion", owner.value("apiVersion", "")},
          {"kind", owner.value("kind", "")},
          {"name", meta.value("name", "")},
          {"uid", meta.value("uid", "")},
          {"controller", true},
          {"blockOwnerDeletion", true}};
}

namespace {

// The payload a Status from the API carries: "<HTTP code> <reason>".
constexpr char kApiErrorPayload[] = "provider.workloads/kube.ApiError";

absl::StatusCode CodeFor(int http, const std::string& reason) {
  switch (http) {
    case 0:
      return absl::StatusCode::kUnavailable;
    case 400:
    case 422:
      return absl::StatusCode::kInvalidArgument;
    case 401:
      return absl::StatusCode::kUnauthenticated;
    case 403:
      return absl::StatusCode::kPermissionDenied;
    case 404:
      return absl::StatusCode::kNotFound;
    case 409:
      return reason == "AlreadyExists" ? absl::StatusCode::kAlreadyExists
                                       : absl::StatusCode::kAborted;
    case 410:
      return absl::StatusCode::kFailedPrecondition;
    case 429:
      return absl::StatusCode::kResourceExhausted;
    case 500:
      return absl::StatusCode::kInternal;
    case 504:
      return absl::StatusCode::kDeadlineExceeded;
    default:
      return http > 500 ? absl::StatusCode::kUnavailable : absl::StatusCode::kUnknown;
  }
}

// Whether `s` carries an API error for which `test` holds.
bool Is(const absl::Status& s, bool (*test)(const ApiError&)) {
  const std::optional<ApiError> e = ApiErrorOf(s);
  return e && test(*e);
}

}  // namespace

absl::Status ApiError::ToStatus() const {
  absl::Status s(CodeFor(code_, reason_), message_);
  s.SetPayload(kApiErrorPayload, absl::Cord(std::to_string(code_) + " " + reason_));
  return s;
}

std::optional<ApiError> ApiErrorOf(const absl::Status& status) {
  if (status.ok()) return std::nullopt;
  const auto payload = status.GetPayload(kApiErrorPayload);
  if (!payload) return std::nullopt;
  const std::string text(*payload);
  const size_t space = text.find(' ');
  if (space == std::string::npos) return std::nullopt;
  int code = 0;
  for (size_t i = 0; i < space; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    code = code * 10 + (text[i] - '0');
  }
  return ApiError(code, text.substr(space + 1), std::string(status.message()));
}

bool IsNotFound(const absl::Status& s) { return Is(s, kube::IsNotFound); }
bool IsConflict(const absl::Status& s) { return Is(s, kube::IsConflict); }
bool IsAlreadyExists(const absl::Status& s) { return Is(s, kube::IsAlreadyExists); }
bool IsGone(const absl::Status& s) { return Is(s, kube::IsGone); }

}  // namespace kube
