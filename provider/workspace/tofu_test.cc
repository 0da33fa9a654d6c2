#include "provider/workspace/tofu.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <string>

#include "common/status_macros.h"
#include "provider/common/redact.h"
#include "provider/testing/status.h"
#include "provider/testing/temp_dir.h"
#include "provider/workspace/vars.h"

namespace workspace {
namespace {

using nlohmann::json;
using provider::testing::ErrorOf;
using provider::testing::FileContent;
using provider::testing::TempDir;
using provider::testing::WriteFile;

const char kModule[] = R"(variable "name" {
  type = string
}
variable "secret" {
  type      = string
  default   = "none"
  sensitive = true
}
resource "terraform_data" "this" {
  input = var.name
}
output "name" {
  value = terraform_data.this.output
}
output "secret" {
  value     = var.secret
  sensitive = true
}
)";

class TofuTest : public ::testing::Test {
 protected:
  Tofu::Options Opts(std::vector<std::string> var_files = {}) {
    Tofu::Options o;
    o.binary = TOFU_BIN;
    o.dir = dir.path();
    o.env = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + dir.path()};
    o.timeout = std::chrono::seconds(60);
    o.grace = std::chrono::seconds(2);
    o.var_files = std::move(var_files);
    return o;
  }
  std::string State() { return FileContent(dir / kStateFile); }
  TempDir dir;
};

TEST_F(TofuTest, PlanApplyOutputsAndDestroy) {
  ASSERT_TRUE(PrepareInline(dir.path(), kModule, false).ok());
  auto files =
      WriteVarFiles(dir.path(), {}, json::object(), {{"name", "first"}, {"secret", "hunter22"}})
          .value();
  Tofu tofu(Opts(files));
  const absl::Status init = tofu.Init();
  ASSERT_TRUE(init.ok()) << ErrorOf(init);

  absl::StatusOr<PlanResult> plan = tofu.Plan("tfplan");
  ASSERT_TRUE(plan.ok()) << ErrorOf(plan);
  EXPECT_TRUE(plan->changes);
  EXPECT_EQ(plan->add, 1);
  EXPECT_EQ(plan->change, 0);
  EXPECT_EQ(plan->destroy, 0);

  const absl::Status apply = tofu.Apply("tfplan");
  ASSERT_TRUE(apply.ok()) << ErrorOf(apply);
  const auto outputs = ParseOutputs(State());
  ASSERT_EQ(outputs.size(), 2u);
  EXPECT_EQ(outputs.at("name").value, "first");
  EXPECT_FALSE(outputs.at("name").sensitive);
  EXPECT_EQ(outputs.at("secret").value, "hunter22");
  EXPECT_TRUE(outputs.at("secret").sensitive);
  EXPECT_EQ(ResourceCount(State()), 1);

  plan = tofu.Plan("tfplan");
  ASSERT_TRUE(plan.ok()) << ErrorOf(plan);
  EXPECT_FALSE(plan->changes);
  EXPECT_EQ(plan->add + plan->change + plan->destroy, 0);

  files = WriteVarFiles(dir.path(), {}, json::object(), {{"name", "second"}}).value();
  Tofu changed(Opts(files));
  plan = changed.Plan("tfplan");
  ASSERT_TRUE(plan.ok()) << ErrorOf(plan);
  EXPECT_TRUE(plan->changes);
  EXPECT_EQ(plan->change, 1);

  const absl::Status destroy = changed.Destroy();
  ASSERT_TRUE(destroy.ok()) << ErrorOf(destroy);
  EXPECT_EQ(ResourceCount(State()), 0);
  EXPECT_TRUE(ParseOutputs(State()).empty());
}

TEST_F(TofuTest, InitsOnOnePluginCacheTakeTurns) {
  WriteFile(dir / "main.tf", kModule);
  const std::string cache = dir / "cache";
  std::filesystem::create_directories(cache);
  Tofu::Options o = Opts();
  o.env.push_back("TF_PLUGIN_CACHE_DIR=" + cache);
  // Another init (another worker, another process) holds the cache.
  const int other = ::open((cache + "/.init.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(other, 0);
  ASSERT_EQ(::flock(other, LOCK_EX), 0);
  Tofu tofu(o);
  std::future<absl::Status> init = std::async(std::launch::async, [&] { return tofu.Init(); });
  EXPECT_EQ(init.wait_for(std::chrono::milliseconds(1500)), std::future_status::timeout)
      << "init ran while another held the plugin cache";
  ::close(other);  // releases it
  ASSERT_EQ(init.wait_for(std::chrono::seconds(60)), std::future_status::ready);
  EXPECT_TRUE(init.get().ok());
}

TEST_F(TofuTest, AnInitWaitingForThePluginCacheStopsAtItsTimeout) {
  WriteFile(dir / "main.tf", kModule);
  const std::string cache = dir / "cache";
  std::filesystem::create_directories(cache);
  Tofu::Options o = Opts();
  o.env.push_back("TF_PLUGIN_CACHE_DIR=" + cache);
  o.timeout = std::chrono::milliseconds(300);
  const int other = ::open((cache + "/.init.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(other, 0);
  ASSERT_EQ(::flock(other, LOCK_EX), 0);
  const absl::Status init = Tofu(o).Init();
  ::close(other);
  EXPECT_EQ(init.code(), absl::StatusCode::kDeadlineExceeded) << init;
}

TEST_F(TofuTest, VarFilesPrecedence) {
  ASSERT_TRUE(PrepareInline(dir.path(), R"(
variable "a" { type = string }
variable "b" { type = string }
variable "c" { type = string }
variable "d" { type = string }
variable "n" {
  type    = number
  default = 0
}
variable "l" {
  type    = list(string)
  default = []
}
output "all" { value = [var.a, var.b, var.c, var.d] }
output "n" { value = var.n }
output "l" { value = var.l }
)",
                            false)
                  .ok());
  const auto files =
      WriteVarFiles(dir.path(),
                    {{"a = \"f0\"\nb = \"f0\"\nc = \"f0\"\nd = \"f0\"\n", VarFormat::kHCL},
                     {R"({"b": "f1", "c": "f1", "d": "f1"})", VarFormat::kJSON}},
                    json{{"c", "map"}, {"d", "map"}, {"n", 3}, {"l", {"x", "y"}}},
                    {{"d", "ignored"}, {"d", "vars"}})
          .value();
  EXPECT_EQ(files, (std::vector<std::string>{"varfile-0.tfvars", "varfile-1.tfvars.json",
                                             "varmap.tfvars.json", "vars.tfvars.json"}));
  for (const auto& f : files) {
    struct stat st {};
    ASSERT_EQ(::stat((dir / f).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u) << f;
  }
  EXPECT_EQ(json::parse(FileContent(dir / "vars.tfvars.json")), (json{{"d", "vars"}}));
  EXPECT_EQ(json::parse(FileContent(dir / "varmap.tfvars.json"))["n"], 3);

  Tofu tofu(Opts(files));
  ASSERT_TRUE(tofu.Init().ok());
  const absl::StatusOr<PlanResult> plan = tofu.Plan("tfplan");
  ASSERT_TRUE(plan.ok()) << ErrorOf(plan);
  const absl::Status apply = tofu.Apply("tfplan");
  ASSERT_TRUE(apply.ok()) << ErrorOf(apply);
  const auto outputs = ParseOutputs(State());
  EXPECT_EQ(outputs.at("all").value, (json{"f0", "f1", "map", "vars"}));
  EXPECT_EQ(outputs.at("n").value, 3);
  EXPECT_EQ(outputs.at("l").value, (json{"x", "y"}));

  EXPECT_TRUE(WriteVarFiles(dir.path(), {}, json(), {}).value().empty());
  EXPECT_EQ(WriteVarFiles(dir.path(), {}, json::array(), {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(TofuTest, InvalidModuleNamesFileAndLine) {
  ASSERT_TRUE(
      PrepareInline(dir.path(), "locals {\n  a = 1\n}\nresource \"terraform_data\" {\n}\n", false)
          .ok());
  Tofu tofu(Opts());
  const absl::Status init = tofu.Init();
  EXPECT_FALSE(init.ok());
  EXPECT_NE(ErrorOf(init).find("main.tf:4"), std::string::npos) << ErrorOf(init);
  EXPECT_LE(ErrorOf(init).size(), kMaxErrorLength);
}

TEST_F(TofuTest, PlanErrorIsShortAndNamesFileAndLine) {
  ASSERT_TRUE(PrepareInline(dir.path(),
                            "locals {\n  a = 1\n}\noutput \"x\" {\n  value = var.missing\n}\n",
                            false)
                  .ok());
  Tofu tofu(Opts());
  ASSERT_TRUE(tofu.Init().ok());
  const absl::StatusOr<PlanResult> plan = tofu.Plan("tfplan");
  EXPECT_FALSE(plan.ok());
  EXPECT_NE(ErrorOf(plan).find("Reference to undeclared input variable"), std::string::npos)
      << ErrorOf(plan);
  EXPECT_NE(ErrorOf(plan).find("(main.tf:5)"), std::string::npos) << ErrorOf(plan);
  EXPECT_EQ(ErrorOf(plan).find('\n'), std::string::npos);
  EXPECT_LE(ErrorOf(plan).size(), kMaxErrorLength);
}

TEST_F(TofuTest, SecretValuesAreRedactedFromErrors) {
  ASSERT_TRUE(PrepareInline(dir.path(), R"(variable "token" { type = string }
locals {
  n = tonumber(var.token)
}
output "n" { value = local.n }
)",
                            false)
                  .ok());
  const auto files =
      WriteVarFiles(dir.path(), {}, json(), {{"token", "s3cr3t-t0ken-value"}}).value();
  auto opts = Opts(files);
  opts.secrets = {"s3cr3t-t0ken-value", "abc"};
  Tofu tofu(opts);
  ASSERT_TRUE(tofu.Init().ok());
  const absl::StatusOr<PlanResult> plan = tofu.Plan("tfplan");
  EXPECT_FALSE(plan.ok());
  EXPECT_EQ(ErrorOf(plan).find("s3cr3t"), std::string::npos) << ErrorOf(plan);
  EXPECT_NE(ErrorOf(plan).find("***"), std::string::npos) << ErrorOf(plan);
  EXPECT_NE(ErrorOf(plan).find("main.tf:3"), std::string::npos) << ErrorOf(plan);
}

// A resource whose creation takes half a minute.
constexpr char kSlowModule[] = R"(resource "terraform_data" "slow" {
  provisioner "local-exec" {
    command = "sleep 30"
  }
}
)";

TEST_F(TofuTest, TimeoutStopsALongApply) {
  ASSERT_TRUE(PrepareInline(dir.path(), kSlowModule, false).ok());
  auto opts = Opts();
  opts.timeout = std::chrono::seconds(2);
  Tofu tofu(opts);
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(tofu.Init().ok());
  const absl::StatusOr<PlanResult> plan = tofu.Plan("tfplan");
  ASSERT_TRUE(plan.ok()) << ErrorOf(plan);
  const absl::Status apply = tofu.Apply("tfplan");
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(apply.ok());
  EXPECT_TRUE(absl::IsDeadlineExceeded(apply));
  EXPECT_EQ(ErrorOf(apply), "timed out after 2s");
  EXPECT_LT(took, opts.timeout + opts.grace + std::chrono::seconds(1));
  // Interrupted gracefully: OpenTofu recorded the half-made resource.
  EXPECT_EQ(ResourceCount(State()), 1);
  // Once the budget is spent, further commands fail at once.
  EXPECT_TRUE(absl::IsDeadlineExceeded(tofu.Destroy()));
}

TEST_F(TofuTest, FingerprintsAPlanWhoseJsonIsLargerThanFourMiB) {
  ASSERT_TRUE(PrepareInline(dir.path(), kModule, false).ok());
  // The value appears several times in the plan's JSON (the change's after,
  // the planned values, the output change): well over 4 MiB.
  std::string big(size_t{5} << 20, 'a');
  auto fingerprint = [&](const std::string& name) -> absl::StatusOr<std::string> {
    auto files = WriteVarFiles(dir.path(), {}, json::object(), {{"name", name}}).value();
    Tofu tofu(Opts(files));
    RETURN_IF_ERROR(tofu.Init());
    RETURN_IF_ERROR(tofu.Plan("tfplan").status());
    return tofu.Fingerprint("tfplan");
  };
  const absl::StatusOr<std::string> first = fingerprint(big);
  ASSERT_TRUE(first.ok()) << ErrorOf(first);
  EXPECT_EQ(first->size(), 16u);
  EXPECT_EQ(first->find_first_not_of("0123456789abcdef"), std::string::npos) << *first;
  // The plan's JSON is not left behind: it holds the plan's values.
  EXPECT_FALSE(std::filesystem::exists(dir / kShowJson));
  // Parsed whole: a change at the very start of the value changes it.
  big[0] = 'b';
  const absl::StatusOr<std::string> second = fingerprint(big);
  ASSERT_TRUE(second.ok()) << ErrorOf(second);
  EXPECT_NE(*first, *second);
}

TEST_F(TofuTest, ACommandStopsAtTheDeadlineBeforeItsTimeout) {
  ASSERT_TRUE(PrepareInline(dir.path(), kSlowModule, false).ok());
  auto opts = Opts();
  opts.timeout = std::chrono::seconds(60);
  Tofu planner(opts);
  ASSERT_TRUE(planner.Init().ok());
  ASSERT_TRUE(planner.Plan("tfplan").ok());
  // The reconcile's deadline comes long before the timeout.
  opts.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  Tofu tofu(opts);
  const auto start = std::chrono::steady_clock::now();
  const absl::Status apply = tofu.Apply("tfplan");
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(absl::IsDeadlineExceeded(apply)) << apply;
  EXPECT_EQ(ErrorOf(apply), "stopped at the reconcile's deadline");
  EXPECT_LT(took, std::chrono::seconds(2) + opts.grace + std::chrono::seconds(1));
  // Interrupted gracefully: OpenTofu recorded the half-made resource.
  EXPECT_EQ(ResourceCount(State()), 1);
  EXPECT_TRUE(absl::IsDeadlineExceeded(tofu.Destroy()));
}

TEST(OwnBackendTest, ABackendOrCloudBlockIsRefusedNamingFileAndLine) {
  struct Case {
    std::string file, text, what;
  };
  const std::vector<Case> refused = {
      {"main.tf",
       "# state\nterraform {\n  required_version = \">= 1.6\"\n  backend \"s3\" {\n"
       "    bucket = \"b\"\n  }\n}\n",
       "backend \"s3\" in the terraform block, main.tf:4"},
      {"versions.tf", "terraform {\n  cloud {\n    organization = \"o\"\n  }\n}\n",
       "cloud in the terraform block, versions.tf:2"},
      {"main.tofu", "terraform { backend \"local\" {} }\n",
       "backend \"local\" in the terraform block, main.tofu:1"},
      {"main.tf.json", R"({"terraform": {"backend": {"gcs": {"bucket": "b"}}}})",
       "backend \"gcs\" in the terraform block, main.tf.json)"},
      {"main.tf.json", R"({"terraform": [{"required_version": "1"}, {"cloud": {}}]})",
       "cloud in the terraform block, main.tf.json)"},
  };
  for (const auto& c : refused) {
    TempDir dir;
    WriteFile(dir / c.file, c.text);
    const absl::Status s = RefuseOwnBackend(dir.path());
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << c.file << ": " << s;
    EXPECT_NE(s.message().find(c.what), std::string::npos) << s;
    EXPECT_NE(s.message().find("may not declare a backend or a cloud block"), std::string::npos)
        << s;
  }
}

TEST(OwnBackendTest, ModulesWithoutOneAreFine) {
  const std::vector<std::pair<std::string, std::string>> fine = {
      {"main.tf", kModule},
      // Only read another state: no backend of its own.
      {"main.tf",
       "data \"terraform_remote_state\" \"net\" {\n  backend = \"s3\"\n"
       "  config = { bucket = \"b\" }\n}\n"},
      {"main.tf",
       "# terraform { backend \"s3\" {} }\n/* terraform {\n cloud {} } */\n"
       "terraform {\n  required_providers {\n    backend = { source = \"x/y\" }\n"
       "  }\n}\n"},
      {"main.tf",
       "locals {\n  doc = <<EOT\nterraform {\n  backend \"s3\" {}\n}\nEOT\n"
       "  s = \"terraform { backend \\\"s3\\\" {} }\"\n}\n"},
      {"child/main.tf", "terraform {\n  backend \"s3\" {}\n}\n"},  // not the root module
      {"main.tf.json", R"({"terraform": {"required_version": ">= 1.6"}})"},
      {"notes.txt", "terraform {\n  backend \"s3\" {}\n}\n"},
  };
  for (const auto& [file, text] : fine) {
    TempDir dir;
    WriteFile(dir / file, text);
    const absl::Status s = RefuseOwnBackend(dir.path());
    EXPECT_TRUE(s.ok()) << file << ":\n" << text << "\n" << s;
  }
}

TEST(TofuErrorsTest, FromDiagnosticsOrStderr) {
  const std::string lines =
      R"({"type":"version","terraform":"1.12.6"})"
      "\n"
      R"({"type":"diagnostic","@level":"warning","diagnostic":{"severity":"warning","summary":"W"}})"
      "\n"
      R"({"type":"diagnostic","@level":"error","diagnostic":{"severity":"error","summary":"First","detail":"line one\nline two","range":{"filename":"main.tf","start":{"line":3}}}})"
      "\n"
      R"({"type":"diagnostic","@level":"error","diagnostic":{"severity":"error","summary":"Second"}})"
      "\n"
      R"({"type":"diagnostic","@level":"error","diagnostic":{"severity":"error","summary":"Third"}})"
      "\n";
  EXPECT_EQ(ErrorFromJsonLines(lines, "", {}), "First: line one line two (main.tf:3); Second");
  EXPECT_EQ(
      ErrorFromJsonLines("not json\n", "noise\nfailed with password hunter2\n\n", {"hunter2"}),
      "failed with password ***");
  const std::string long_detail =
      R"({"type":"diagnostic","diagnostic":{"severity":"error","summary":"S","detail":")" +
      std::string(1000, 'x') + "\"}}";
  EXPECT_EQ(ErrorFromJsonLines(long_detail, "", {}).size(), kMaxErrorLength);
  EXPECT_EQ(provider::Redact("a abc abcd abcdef", {"abc", "abcd", "abcdef"}), "a *** *** ***");
}

TEST(TofuStateTest, UntrackedResourcesAreCreatedOnesTheStateLacks) {
  const std::string lines =
      R"({"type":"apply_start","hook":{"resource":{"addr":"terraform_data.a"},"action":"create"}})"
      "\n"
      R"({"type":"apply_complete","hook":{"resource":{"addr":"terraform_data.a"},"action":"create","id_key":"id","id_value":"ff93"}})"
      "\n"
      R"({"type":"apply_complete","hook":{"resource":{"addr":"terraform_data.b"},"action":"update","id_key":"id","id_value":"77"}})"
      "\n"
      "not json\n"
      R"({"type":"apply_complete","hook":{"resource":{"addr":"module.m.null_resource.c[0]"},"action":"create"}})"
      "\n"
      R"({"type":"apply_complete","hook":{"resource":{"addr":"x.y[\"k\"]"},"action":"create"}})";
  const std::vector<std::string> all = {"terraform_data.a (id=ff93)", "module.m.null_resource.c[0]",
                                        "x.y[\"k\"]"};
  EXPECT_EQ(UntrackedResources(lines, ""), all);
  EXPECT_EQ(UntrackedResources(lines, "{\"resou"), all);
  const std::string state = R"({"resources": [
    {"mode": "managed", "type": "terraform_data", "name": "a", "instances": [{}]},
    {"mode": "managed", "module": "module.m", "type": "null_resource", "name": "c",
     "instances": [{"index_key": 0}]},
    {"mode": "data", "type": "x", "name": "y", "instances": [{"index_key": "k"}]}]})";
  EXPECT_EQ(UntrackedResources(lines, state), (std::vector<std::string>{"x.y[\"k\"]"}));
  EXPECT_TRUE(UntrackedResources("", state).empty());
}

TEST(TofuStateTest, OutputsAndResourceCount) {
  const std::string state = R"({
    "version": 4, "serial": 3, "lineage": "l",
    "outputs": {"a": {"value": {"k": [1, 2]}, "type": ["object"]},
                "s": {"value": "x", "sensitive": true}},
    "resources": [
      {"mode": "managed", "type": "terraform_data", "name": "a", "instances": [{}, {}]},
      {"mode": "data", "type": "x", "name": "b", "instances": [{}]}
    ]})";
  const auto outputs = ParseOutputs(state);
  EXPECT_EQ(outputs.at("a").value, (json{{"k", {1, 2}}}));
  EXPECT_FALSE(outputs.at("a").sensitive);
  EXPECT_TRUE(outputs.at("s").sensitive);
  EXPECT_EQ(ResourceCount(state), 2);
  EXPECT_TRUE(ParseOutputs("garbage").empty());
  EXPECT_EQ(ResourceCount("[]"), 0);
}

TEST(InlineSourceTest, WritesMainTf) {
  TempDir dir;
  EXPECT_EQ(PrepareInline(dir.path(), "# hcl\n", false).value().commit, "");
  EXPECT_EQ(FileContent(dir / "main.tf"), "# hcl\n");
  ASSERT_TRUE(PrepareInline(dir.path(), "{}", true).ok());
  EXPECT_EQ(FileContent(dir / "main.tf.json"), "{}");
}

}  // namespace
}  // namespace workspace
