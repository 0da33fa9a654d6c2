#include "provider/workspace/vars.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "provider/testing/temp_dir.h"

namespace workspace {
namespace {

using provider::testing::TempDir;
using provider::testing::WriteFile;

TEST(SensitiveVariables, FromHclAndJsonModules) {
  TempDir dir;
  WriteFile(dir / "main.tf", R"(variable "region" { type = string }
variable "password" {
  type      = string
  sensitive = true
  validation {
    condition     = length(var.password) > 3
    error_message = "too short"
  }
}
variable "note" {
  description = "not sensitive = true, only a description"
  sensitive   = false
}
)");
  WriteFile(dir / "extra.tf.json", R"({"variable": {"api_key": {"sensitive": true},
                                                    "plain": {"type": "string"}}})");
  WriteFile(dir / "ignored.txt", R"(variable "other" { sensitive = true })");
  EXPECT_EQ(SensitiveVariables(dir.path()), (std::set<std::string>{"api_key", "password"}));
}

TEST(SensitiveValues, OnlyThoseVariablesFromEverySource) {
  const std::vector<VarFile> files = {
      {"password = \"from-hcl-file\"\nregion = \"eu-west-1\"\n", VarFormat::kHCL, false},
      {R"({"api_key": {"id": "k-1", "secret": "from-json-file"}, "region": "us-east-1"})",
       VarFormat::kJSON, false},
  };
  const nlohmann::json varmap = {{"password", "from-varmap"}, {"region", "ap-south-1"}};
  const std::vector<std::pair<std::string, std::string>> vars = {{"api_key", "from-vars"},
                                                                 {"main", "main"}};
  const auto values = SensitiveValues({"password", "api_key"}, files, varmap, vars);
  EXPECT_EQ(values, (std::vector<std::string>{"from-hcl-file", "k-1", "from-json-file",
                                              "from-varmap", "from-vars"}));
  EXPECT_TRUE(SensitiveValues({}, files, varmap, vars).empty());
}

}  // namespace
}  // namespace workspace
