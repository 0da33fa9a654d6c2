// libFuzzer target over what platform-admission does with a request body:
// decode the AdmissionReview, judge it (mutate and validate, the function's
// runner included) and encode the answer.
//
// Each input is a body as the API server (or anyone who reaches the port)
// could send it. For any input:
//   - ParseReview returns a review or an error naming a field; nothing throws;
//   - a parsed review has a uid and an operation;
//   - Mutate and Validate return without throwing, whatever the object holds;
//     a mutation is a list of JSON patch operations that apply to the
//     object; a refusal has a code and a message;
//   - the encoded response parses back as an AdmissionReview with that uid.
// A violation prints what broke and traps, so libFuzzer saves the input.
//
// Seeds: fuzz/admission-corpus/*.json.
#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "admission/evaluator.h"
#include "admission/review.h"
#include "admission/step_input.h"
#include "function/renderers/builtin.h"
#include "fuzz/fuzz_check.h"

namespace {

namespace adm = ::platform::admission;
using adm::Json;

const adm::Evaluator& TheEvaluator() {
  static const platform::fn::Registry* const registry =
      new platform::fn::Registry(platform::fn::BuiltinRegistry());
  static const adm::Evaluator* const evaluator =
      new adm::Evaluator(*registry, adm::DefaultStepInput());
  return *evaluator;
}

void CheckResponse(const adm::Review& review, const adm::Decision& d) {
  const Json out = Json::parse(adm::EncodeResponse(review.uid, d), nullptr, false);
  FUZZ_CHECK(out.is_object(), "the response is JSON");
  FUZZ_CHECK(out.value("kind", "") == "AdmissionReview", "the response is an AdmissionReview");
  FUZZ_CHECK(out["response"].value("uid", "") == review.uid, "the response echoes the uid");
  FUZZ_CHECK(out["response"].value("allowed", !d.allowed) == d.allowed, "allowed as decided");
  if (!d.allowed) FUZZ_CHECK(d.code >= 400 && !d.message.empty(), "a refusal says why");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);  // the function logs every refusal
  TheEvaluator();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<adm::Review> review = adm::ParseReview(body);
  if (!review.ok()) {
    FUZZ_CHECK(review.status().code() == absl::StatusCode::kInvalidArgument,
               "a bad body is InvalidArgument");
    FUZZ_CHECK(review.status().message().find(": ") != std::string_view::npos,
               "the error names a field");
    return 0;
  }
  FUZZ_CHECK(!review->uid.empty() && !review->operation.empty(), "uid and operation are set");

  // The namespace as the webhook's watch would give it: the review's own
  // object stands in, so labels of any shape reach Mutate.
  const adm::ClusterView view{nullptr, review->object.is_object() ? &review->object : nullptr};
  const adm::Decision mutated = TheEvaluator().Mutate(*review, view);
  FUZZ_CHECK(mutated.allowed, "Mutate never refuses");
  if (!mutated.patch.empty()) {
    Json patched;
    try {
      patched = review->object.patch(mutated.patch);
    } catch (const Json::exception& e) {
      FUZZ_CHECK(false, std::string("the patch applies: ") + e.what());
    }
    FUZZ_CHECK(patched.is_object(), "the patched object is an object");
  }
  CheckResponse(*review, mutated);
  CheckResponse(*review, TheEvaluator().Validate(*review, adm::ClusterView{}));
  return 0;
}
