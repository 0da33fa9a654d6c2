// bootstrap/terraform as far as it can be checked without AWS: OpenTofu's
// formatting, no backend of its own (provider-workloads refuses one), every
// variable and output described, the example variables complete, and every
// output bootstrap.sh reads declared. `tofu validate` needs the AWS
// provider's schema, which the registry would serve and this machine cannot
// reach (docs/operations.md, "Bootstrap").
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>

#include "tests/support/subprocess.h"

namespace platform::testing {
namespace {

namespace fs = std::filesystem;
const fs::path kModule = fs::path(PLATFORM_SOURCE_DIR) / "bootstrap" / "terraform";
const fs::path kScript = fs::path(PLATFORM_SOURCE_DIR) / "bootstrap" / "bootstrap.sh";

// The module's blocks of `type` ("variable", "output"): name -> body, read
// by their top-level braces.
std::map<std::string, std::string> Blocks(const std::string& type) {
  std::map<std::string, std::string> out;
  const std::regex head("(^|\\n)" + type + " \"([A-Za-z0-9_]+)\" \\{");
  for (const auto& f : fs::directory_iterator(kModule)) {
    if (f.path().extension() != ".tf") continue;
    const std::string text = ReadFile(f.path().string());
    for (auto it = std::sregex_iterator(text.begin(), text.end(), head);
         it != std::sregex_iterator(); ++it) {
      size_t i = static_cast<size_t>(it->position(0) + it->length(0));
      int depth = 1;
      const size_t start = i;
      for (; i < text.size() && depth > 0; ++i)
        depth += text[i] == '{' ? 1 : text[i] == '}' ? -1 : 0;
      out[(*it)[2]] = text.substr(start, i - start);
    }
  }
  return out;
}

TEST(BootstrapModule, IsFormattedAsOpenTofuFormatsIt) {
  ASSERT_FALSE(std::string(TOFU_BIN).empty()) << "configure with -DTOFU_BIN (make test does)";
  const RunResult r = RunCommand({TOFU_BIN, "fmt", "-check", "-diff", "-recursive", kModule});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

TEST(BootstrapModule, ConfiguresNoBackendOfItsOwn) {
  for (const auto& f : fs::directory_iterator(kModule)) {
    if (f.path().extension() != ".tf") continue;
    EXPECT_EQ(ReadFile(f.path().string()).find("backend \""), std::string::npos) << f.path();
  }
}

TEST(BootstrapModule, DescribesEveryVariableAndOutput) {
  const auto variables = Blocks("variable");
  const auto outputs = Blocks("output");
  ASSERT_GE(variables.size(), 5u);
  ASSERT_GE(outputs.size(), 4u);
  for (const auto& [name, body] : variables) {
    EXPECT_NE(body.find("description"), std::string::npos) << "variable " << name;
  }
  for (const auto& [name, body] : outputs) {
    EXPECT_NE(body.find("description"), std::string::npos) << "output " << name;
  }
}

TEST(BootstrapModule, TheExampleSetsEveryRequiredVariableAndNoOther) {
  const auto variables = Blocks("variable");
  const nlohmann::json example =
      nlohmann::json::parse(ReadFile((kModule / "example.tfvars.json").string()), nullptr, false);
  ASSERT_TRUE(example.is_object());
  for (const auto& [name, value] : example.items()) {
    EXPECT_TRUE(variables.count(name))
        << "example.tfvars.json sets " << name << ", which the module does not declare";
  }
  for (const auto& [name, body] : variables) {
    if (body.find("default") == std::string::npos) {
      EXPECT_TRUE(example.contains(name))
          << "required variable " << name << " is not in the example";
    }
  }
}

TEST(BootstrapModule, DeclaresEveryOutputTheScriptReads) {
  const auto outputs = Blocks("output");
  const std::string script = ReadFile(kScript.string());
  const std::regex read("\\$\\(output ([A-Za-z0-9_]+)\\)");
  std::set<std::string> names;
  for (auto it = std::sregex_iterator(script.begin(), script.end(), read);
       it != std::sregex_iterator(); ++it) {
    names.insert((*it)[1]);
  }
  ASSERT_FALSE(names.empty()) << "bootstrap.sh reads no output: the pattern is stale";
  for (const std::string& name : names) {
    EXPECT_TRUE(outputs.count(name)) << "bootstrap.sh reads output " << name;
  }
}

TEST(BootstrapModule, BindsTheServiceAccountsTheDeployNames) {
  // iam.tf binds roles to these service accounts; deploy/ and bootstrap.sh
  // must name them so, or Pod Identity gives the pods nothing.
  const std::string iam = ReadFile((kModule / "iam.tf").string());
  EXPECT_NE(iam.find("service_account = \"provider-workloads\""), std::string::npos);
  EXPECT_NE(iam.find("service_account = \"provider-aws\""), std::string::npos);
  const std::string runtime =
      ReadFile((fs::path(PLATFORM_SOURCE_DIR) / "deploy/kustomize/base/provider-runtimeconfig.yaml")
                   .string());
  EXPECT_NE(runtime.find("serviceAccountTemplate:\n    metadata:\n      name: provider-workloads"),
            std::string::npos);
  const std::string script = ReadFile(kScript.string());
  EXPECT_NE(script.find("name: provider-aws"), std::string::npos);
}

}  // namespace
}  // namespace platform::testing
