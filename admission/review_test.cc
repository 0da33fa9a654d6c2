#include "admission/review.h"

#include <gtest/gtest.h>

#include <string>

#include "absl/strings/escaping.h"

namespace platform::admission {
namespace {

// What kube-apiserver sends for `kubectl apply` of a claim.
Json ValidReview() {
  return Json::parse(R"({
    "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
    "request": {
      "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
      "kind": {"group": "platform.terraforming.io", "version": "v1alpha1", "kind": "Environment"},
      "resource": {"group": "platform.terraforming.io", "version": "v1alpha1",
                   "resource": "environments"},
      "name": "payments-dev", "namespace": "team-payments", "operation": "CREATE",
      "userInfo": {"username": "alice", "groups": ["system:authenticated"]},
      "object": {"apiVersion": "platform.terraforming.io/v1alpha1", "kind": "Environment",
                 "metadata": {"name": "payments-dev", "namespace": "team-payments"},
                 "spec": {"parameters": {"environment": "dev"}}},
      "oldObject": null, "dryRun": true,
      "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"}
    }})");
}

std::string ParseError(const Json& review) {
  absl::StatusOr<Review> r = ParseReview(review.dump());
  return r.ok() ? "parsed" : std::string(r.status().message());
}

TEST(ParseReview, ReadsWhatTheApiServerSends) {
  absl::StatusOr<Review> r = ParseReview(ValidReview().dump());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->uid, "705ab4f5-6393-11e8-b7cc-42010a800002");
  EXPECT_EQ(r->group, "platform.terraforming.io");
  EXPECT_EQ(r->version, "v1alpha1");
  EXPECT_EQ(r->kind, "Environment");
  EXPECT_EQ(r->operation, "CREATE");
  EXPECT_EQ(r->ns, "team-payments");
  EXPECT_EQ(r->name, "payments-dev");
  EXPECT_TRUE(r->dry_run);
  EXPECT_EQ(r->username, "alice");
  EXPECT_EQ(r->object["spec"]["parameters"]["environment"], "dev");
  EXPECT_TRUE(r->old_object.is_null());
}

TEST(ParseReview, ClusterScopedObjectsHaveNoNamespace) {
  Json review = ValidReview();
  review["request"].erase("namespace");
  absl::StatusOr<Review> r = ParseReview(review.dump());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->ns, "");
}

TEST(ParseReview, NamesTheFieldThatIsWrong) {
  EXPECT_EQ(ParseError(Json("{")), "body: must be a JSON object");
  EXPECT_EQ(std::string(ParseReview("{").status().message()), "body: not JSON");
  EXPECT_EQ(std::string(ParseReview("").status().message()), "body: not JSON");

  Json r = ValidReview();
  r["apiVersion"] = "admission.k8s.io/v1beta1";
  EXPECT_EQ(ParseError(r),
            "apiVersion: must be admission.k8s.io/v1, not \"admission.k8s.io/v1beta1\" (register "
            "the webhook with admissionReviewVersions: [v1])");
  r = ValidReview();
  r["kind"] = "AdmissionRequest";
  EXPECT_EQ(ParseError(r), "kind: must be AdmissionReview, not \"AdmissionRequest\"");
  r = ValidReview();
  r.erase("request");
  EXPECT_EQ(ParseError(r), "request: required, an object");
  r = ValidReview();
  r["request"].erase("uid");
  EXPECT_EQ(ParseError(r), "request.uid: required");
  r = ValidReview();
  r["request"]["uid"] = 7;
  EXPECT_EQ(ParseError(r), "request.uid: must be a string");
  r = ValidReview();
  r["request"]["kind"] = "Environment";
  EXPECT_EQ(ParseError(r), "request.kind: required, an object");
  r = ValidReview();
  r["request"]["kind"].erase("kind");
  EXPECT_EQ(ParseError(r), "request.kind.kind: required");
  r = ValidReview();
  r["request"]["operation"] = nullptr;
  EXPECT_EQ(ParseError(r), "request.operation: required");
  r = ValidReview();
  r["request"]["dryRun"] = "yes";
  EXPECT_EQ(ParseError(r), "request.dryRun: must be a boolean");
  r = ValidReview();
  r["request"]["userInfo"] = "alice";
  EXPECT_EQ(ParseError(r), "request.userInfo: must be an object");
  r = ValidReview();
  r["request"]["object"] = Json::array();
  EXPECT_EQ(ParseError(r), "request.object: must be an object");
  r = ValidReview();
  r["request"].erase("object");
  EXPECT_EQ(ParseError(r), "request.object: required for CREATE");
}

TEST(ParseReview, DeleteNeedsNoObject) {
  Json r = ValidReview();
  r["request"]["operation"] = "DELETE";
  r["request"]["object"] = nullptr;
  r["request"]["oldObject"] = r["request"]["object"];
  EXPECT_EQ(ParseError(r), "parsed");
}

TEST(ParseReview, RefusesBodiesLargerThanTheLimit) {
  const std::string body(kMaxReviewBytes + 1, ' ');
  EXPECT_EQ(std::string(ParseReview(body).status().message()),
            "body: larger than " + std::to_string(kMaxReviewBytes) + " bytes");
}

TEST(EncodeResponse, AnAllowedReviewCarriesNoStatus) {
  const Json out = Json::parse(EncodeResponse("u-1", Decision::Allow()));
  EXPECT_EQ(out["apiVersion"], "admission.k8s.io/v1");
  EXPECT_EQ(out["kind"], "AdmissionReview");
  EXPECT_EQ(out["response"], Json({{"uid", "u-1"}, {"allowed", true}}));
}

TEST(EncodeResponse, ARefusalCarriesCodeReasonAndMessage) {
  Decision d = Decision::Deny(403, "Forbidden", "team \"web\" may not create prod XEnvironments");
  d.warnings = {"a warning"};
  const Json out = Json::parse(EncodeResponse("u-2", d));
  EXPECT_EQ(out["response"]["allowed"], false);
  EXPECT_EQ(out["response"]["status"]["code"], 403);
  EXPECT_EQ(out["response"]["status"]["reason"], "Forbidden");
  EXPECT_EQ(out["response"]["status"]["message"], "team \"web\" may not create prod XEnvironments");
  EXPECT_EQ(out["response"]["warnings"], Json({"a warning"}));
  EXPECT_FALSE(out["response"].contains("patch"));
}

TEST(EncodeResponse, APatchIsBase64JsonPatch) {
  Decision d;
  d.patch.push_back({{"op", "add"}, {"path", "/spec/parameters/team"}, {"value", "payments"}});
  const Json out = Json::parse(EncodeResponse("u-3", d));
  EXPECT_EQ(out["response"]["patchType"], "JSONPatch");
  std::string decoded;
  ASSERT_TRUE(absl::Base64Unescape(out["response"]["patch"].get<std::string>(), &decoded));
  EXPECT_EQ(Json::parse(decoded), d.patch);
}

TEST(EncodeResponse, InvalidUtf8InAMessageIsReplacedNotThrown) {
  const Decision d = Decision::Deny(422, "Invalid", std::string("bad \xff byte"));
  const Json out = Json::parse(EncodeResponse("u-4", d));
  EXPECT_EQ(out["response"]["status"]["message"], "bad \xef\xbf\xbd byte");
}

}  // namespace
}  // namespace platform::admission
