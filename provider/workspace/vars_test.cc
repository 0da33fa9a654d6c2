#include "provider/workspace/vars.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "provider/testing/temp_dir.h"
#include "provider/workspace/hcl.h"

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

TEST(HclBlocks, BlocksLabelsLinesAndAttributesNotStringsCommentsOrObjects) {
  const std::vector<HclBlock> blocks = ParseHclBlocks(R"(# variable "commented" { sensitive = true }
variable "a" { sensitive = true }
resource "terraform_data" "x" {
  input = { sensitive = true, note = "variable \"b\" {" }
  triggers_replace = [<<-EOT
    terraform { backend "s3" {} }
  EOT
  ]
  lifecycle {
    create_before_destroy = true
  }
}
)");
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(blocks[0].type, "variable");
  EXPECT_EQ(blocks[0].labels, std::vector<std::string>{"a"});
  EXPECT_EQ(blocks[0].line, 2);
  EXPECT_EQ(blocks[0].attributes.at("sensitive"), "true");
  EXPECT_EQ(blocks[1].labels, (std::vector<std::string>{"terraform_data", "x"}));
  EXPECT_EQ(blocks[1].attributes.count("sensitive"), 0u) << "an object value is not a block";
  ASSERT_EQ(blocks[1].blocks.size(), 1u);
  EXPECT_EQ(blocks[1].blocks[0].type, "lifecycle");
  EXPECT_EQ(blocks[1].blocks[0].line, 9);
  EXPECT_EQ(blocks[1].blocks[0].attributes.at("create_before_destroy"), "true");
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
