#include "admission/review.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace platform::admission {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view rule) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", rule));
}

// `obj[key]` as a string into `out`: absent or null leaves it empty.
absl::Status OptionalString(const Json& obj, const char* key, absl::string_view field,
                            std::string& out) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_string()) return Invalid(field, "must be a string");
  out = it->get<std::string>();
  return absl::OkStatus();
}

// `obj[key]` as an object (or null) into `out`.
absl::Status OptionalObject(const Json& obj, const char* key, absl::string_view field, Json& out) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_object()) return Invalid(field, "must be an object");
  out = *it;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Review> ParseReview(std::string_view body) {
  if (body.size() > kMaxReviewBytes) {
    return Invalid("body", absl::StrCat("larger than ", kMaxReviewBytes, " bytes"));
  }
  Json doc = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Invalid("body", "not JSON");
  if (!doc.is_object()) return Invalid("body", "must be a JSON object");
  std::string api_version, kind;
  if (absl::Status s = OptionalString(doc, "apiVersion", "apiVersion", api_version); !s.ok()) {
    return s;
  }
  if (absl::Status s = OptionalString(doc, "kind", "kind", kind); !s.ok()) return s;
  if (api_version != "admission.k8s.io/v1") {
    return Invalid("apiVersion", absl::StrCat("must be admission.k8s.io/v1, not \"", api_version,
                                              "\" (register the webhook with "
                                              "admissionReviewVersions: [v1])"));
  }
  if (kind != "AdmissionReview") {
    return Invalid("kind", absl::StrCat("must be AdmissionReview, not \"", kind, "\""));
  }
  const auto req_it = doc.find("request");
  if (req_it == doc.end() || !req_it->is_object()) {
    return Invalid("request", "required, an object");
  }
  Json& req = *req_it;
  Review r;
  if (absl::Status s = OptionalString(req, "uid", "request.uid", r.uid); !s.ok()) return s;
  if (r.uid.empty()) return Invalid("request.uid", "required");
  const auto kind_it = req.find("kind");
  if (kind_it == req.end() || !kind_it->is_object()) {
    return Invalid("request.kind", "required, an object");
  }
  for (auto [key, out] : {std::pair<const char*, std::string*>{"group", &r.group},
                          {"version", &r.version},
                          {"kind", &r.kind}}) {
    if (absl::Status s = OptionalString(*kind_it, key, absl::StrCat("request.kind.", key), *out);
        !s.ok()) {
      return s;
    }
  }
  if (r.kind.empty()) return Invalid("request.kind.kind", "required");
  if (absl::Status s = OptionalString(req, "operation", "request.operation", r.operation);
      !s.ok()) {
    return s;
  }
  if (r.operation.empty()) return Invalid("request.operation", "required");
  if (absl::Status s = OptionalString(req, "namespace", "request.namespace", r.ns); !s.ok()) {
    return s;
  }
  if (absl::Status s = OptionalString(req, "name", "request.name", r.name); !s.ok()) return s;
  if (const auto it = req.find("dryRun"); it != req.end() && !it->is_null()) {
    if (!it->is_boolean()) return Invalid("request.dryRun", "must be a boolean");
    r.dry_run = it->get<bool>();
  }
  if (const auto it = req.find("userInfo"); it != req.end() && !it->is_null()) {
    if (!it->is_object()) return Invalid("request.userInfo", "must be an object");
    if (absl::Status s = OptionalString(*it, "username", "request.userInfo.username", r.username);
        !s.ok()) {
      return s;
    }
  }
  if (absl::Status s = OptionalObject(req, "object", "request.object", r.object); !s.ok()) {
    return s;
  }
  if (absl::Status s = OptionalObject(req, "oldObject", "request.oldObject", r.old_object);
      !s.ok()) {
    return s;
  }
  if ((r.operation == "CREATE" || r.operation == "UPDATE") && !r.object.is_object()) {
    return Invalid("request.object", absl::StrCat("required for ", r.operation));
  }
  return r;
}

Decision Decision::Deny(int code, std::string reason, std::string message) {
  Decision d;
  d.allowed = false;
  d.code = code;
  d.reason = std::move(reason);
  d.message = std::move(message);
  return d;
}

std::string EncodeResponse(const std::string& uid, const Decision& decision) {
  Json response = {{"uid", uid}, {"allowed", decision.allowed}};
  if (!decision.allowed) {
    response["status"] = {
        {"code", decision.code}, {"reason", decision.reason}, {"message", decision.message}};
  }
  if (!decision.patch.empty()) {
    response["patchType"] = "JSONPatch";
    response["patch"] = absl::Base64Escape(decision.patch.dump());
  }
  if (!decision.warnings.empty()) response["warnings"] = decision.warnings;
  const Json review = {{"apiVersion", "admission.k8s.io/v1"},
                       {"kind", "AdmissionReview"},
                       {"response", std::move(response)}};
  // Invalid UTF-8 in a message (from the object) is replaced, never thrown.
  return review.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace platform::admission
