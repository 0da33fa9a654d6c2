#include "admission/step_input.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace platform::admission {
namespace {

namespace fs = std::filesystem;

std::string Read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The webhook judges with the input the Compositions give the function: a
// Composition that changes its input without the webhook fails here.
TEST(StepInput, TheDefaultIsTheCompositionsOwn) {
  int compositions = 0;
  for (const auto& e : fs::directory_iterator(fs::path(PLATFORM_SOURCE_DIR) / "compositions")) {
    if (e.path().extension() != ".yaml") continue;
    SCOPED_TRACE(e.path().string());
    absl::StatusOr<Json> composition = YamlToJson(Read(e.path()));
    ASSERT_TRUE(composition.ok()) << composition.status();
    int steps = 0;
    for (const Json& step : (*composition)["spec"]["pipeline"]) {
      if (step["functionRef"]["name"] != "terraforming-function-platform") continue;
      EXPECT_EQ(step["input"], DefaultStepInput());
      ++steps;
    }
    EXPECT_EQ(steps, 1);
    ++compositions;
  }
  EXPECT_GE(compositions, 6);
}

TEST(StepInput, ReadsAFileOrNamesIt) {
  EXPECT_EQ(*StepInput(""), DefaultStepInput());
  const fs::path dir = fs::temp_directory_path() / ("step-input-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "input.yaml")
      << "apiVersion: platform.fn.terraforming.io/v1beta1\n"
         "kind: Input\n"
         "policy:\n  environmentConfigRef: {name: p, optional: false}\n";
  absl::StatusOr<Json> input = StepInput((dir / "input.yaml").string());
  ASSERT_TRUE(input.ok()) << input.status();
  EXPECT_EQ((*input)["policy"]["environmentConfigRef"], Json({{"name", "p"}, {"optional", false}}));
  std::ofstream(dir / "other.yaml") << "kind: Composition\n";
  EXPECT_EQ(std::string(StepInput((dir / "other.yaml").string()).status().message()),
            (dir / "other.yaml").string() + ": must hold the function's Input (kind: Input)");
  EXPECT_EQ(std::string(StepInput((dir / "missing.yaml").string()).status().message()),
            (dir / "missing.yaml").string() + ": cannot read");
  fs::remove_all(dir);
}

TEST(YamlToJson, TypesPlainScalarsAndKeepsQuotedOnesStrings) {
  absl::StatusOr<Json> j = YamlToJson("a: true\nb: 'true'\nc: 12\nd: \"12\"\ne: 60s\nf: [x, 2]\n");
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ(*j, Json::parse(R"({"a": true, "b": "true", "c": 12, "d": "12", "e": "60s",
                                "f": ["x", 2]})"));
  EXPECT_FALSE(YamlToJson("a: [").ok());
}

}  // namespace
}  // namespace platform::admission
