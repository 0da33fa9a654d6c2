// AdmissionReview v1 (admission.k8s.io/v1), the API server's question to a
// webhook and the webhook's answer, as JSON. Decoding checks every field it
// reads and names the one that is wrong; nothing here trusts the body.
#ifndef PLATFORM_ADMISSION_REVIEW_H_
#define PLATFORM_ADMISSION_REVIEW_H_

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace platform::admission {

using Json = nlohmann::json;

// The largest body accepted. Kubernetes objects stay under 1.5 MiB in etcd;
// a review carries the object and, on UPDATE, the old one.
inline constexpr std::size_t kMaxReviewBytes = 8u << 20;

// The parts of an AdmissionRequest the webhook uses.
struct Review {
  std::string uid;
  std::string group;  // of the object's kind: "" for the core group
  std::string version;
  std::string kind;
  std::string operation;  // CREATE, UPDATE, DELETE, CONNECT
  std::string ns;         // "" for cluster-scoped objects
  std::string name;       // may be "" on CREATE with generateName
  bool dry_run = false;
  std::string username;
  Json object;      // null for DELETE
  Json old_object;  // null unless UPDATE or DELETE
};

// Decodes an AdmissionReview body. InvalidArgument naming the field when it
// is not JSON, not an admission.k8s.io/v1 AdmissionReview, or a field has
// the wrong type; request.uid is required.
absl::StatusOr<Review> ParseReview(std::string_view body);

// The webhook's answer.
struct Decision {
  bool allowed = true;
  // When refused: the HTTP-like code (403 for a policy denial, 400 for an
  // object that cannot be read), its reason and the message kubectl prints.
  int code = 0;
  std::string reason;
  std::string message;
  // RFC 6902 operations on the object; sent only when not empty.
  Json patch = Json::array();
  // Shown by kubectl as "Warning: ...".
  std::vector<std::string> warnings;

  static Decision Allow() { return Decision(); }
  static Decision Deny(int code, std::string reason, std::string message);
};

// The AdmissionReview response body for `uid`.
std::string EncodeResponse(const std::string& uid, const Decision& decision);

}  // namespace platform::admission

#endif  // PLATFORM_ADMISSION_REVIEW_H_
