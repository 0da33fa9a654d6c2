#include "admission/step_input.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace platform::admission {
namespace {

Json Convert(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      Json out = Json::object();
      for (const auto& kv : node) out[kv.first.as<std::string>()] = Convert(kv.second);
      return out;
    }
    case YAML::NodeType::Sequence: {
      Json out = Json::array();
      for (const auto& item : node) out.push_back(Convert(item));
      return out;
    }
    case YAML::NodeType::Scalar: {
      const std::string& text = node.Scalar();
      if (node.Tag() != "!") {  // plain, not quoted
        if (text == "true") return true;
        if (text == "false") return false;
        if (int64_t i = 0; absl::SimpleAtoi(text, &i)) return i;
        if (text == "null" || text == "~") return nullptr;
      }
      return text;
    }
    default:
      return nullptr;
  }
}

}  // namespace

Json DefaultStepInput() {
  return {
      {"apiVersion", "platform.fn.terraforming.io/v1beta1"},
      {"kind", "Input"},
      {"responseTTL", "60s"},
      {"policy", {{"environmentConfigRef", {{"name", "platform-policy"}, {"optional", true}}}}}};
}

absl::StatusOr<Json> YamlToJson(const std::string& text) {
  try {
    return Convert(YAML::Load(text));
  } catch (const YAML::Exception& e) {  // yaml-cpp reports by throwing
    return absl::InvalidArgumentError(absl::StrCat("not YAML: ", e.what()));
  }
}

absl::StatusOr<Json> StepInput(const std::string& path) {
  if (path.empty()) return DefaultStepInput();
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot read"));
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<Json> input = YamlToJson(text.str());
  if (!input.ok())
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", input.status().message()));
  if (!input->is_object() || input->value("kind", "") != "Input") {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": must hold the function's Input (kind: Input)"));
  }
  return input;
}

}  // namespace platform::admission
