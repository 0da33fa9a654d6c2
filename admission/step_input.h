// The function step's input the webhook judges with: the Compositions' own,
// or a file (a ConfigMap) when a platform gives its Compositions another.
#ifndef PLATFORM_ADMISSION_STEP_INPUT_H_
#define PLATFORM_ADMISSION_STEP_INPUT_H_

#include <string>

#include "absl/status/statusor.h"
#include "admission/review.h"

namespace platform::admission {

// The input every Composition in compositions/ gives the function (a test
// keeps the two equal): the policy from EnvironmentConfig platform-policy,
// optional.
Json DefaultStepInput();

// The Input in `path` (YAML or JSON: a platform.fn.terraforming.io Input
// object); DefaultStepInput() when `path` is empty. Errors name the file.
absl::StatusOr<Json> StepInput(const std::string& path);

// A YAML document as JSON: plain scalars true/false become booleans,
// integers numbers, the rest (and every quoted scalar) strings.
absl::StatusOr<Json> YamlToJson(const std::string& text);

}  // namespace platform::admission

#endif  // PLATFORM_ADMISSION_STEP_INPUT_H_
