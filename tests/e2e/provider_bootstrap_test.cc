// The bootstrap hand-over end to end: a module applied once by hand with a
// local state (as `bootstrap/bootstrap.sh apply` applies bootstrap/terraform),
// then `bootstrap/bootstrap.sh handover` against the control plane, with
// provider-workloads running: the Workspace reading the same module from Git
// adopts that state, its first plan changes nothing, and the local state is
// retired. The module has local resources only (OpenTofu's built-in
// terraform_data), so it runs here; the AWS module itself cannot.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/e2e/provider_fixture.h"

namespace platform::testing {
namespace {

constexpr char kWs[] = "workspaces.terraform.workloads.terraforming.io";
const std::string kScript = std::string(PLATFORM_SOURCE_DIR) + "/bootstrap/bootstrap.sh";

class ProviderBootstrapTest : public ProviderTest {
 protected:
  RunResult Must(const std::vector<std::string>& argv) {
    RunResult r = RunCommand(argv, std::chrono::seconds(180));
    EXPECT_EQ(r.exit_code, 0) << argv[0] << " " << (argv.size() > 1 ? argv[1] : "") << ": " << r.err
                              << r.out;
    return r;
  }

  RunResult Handover(const std::string& module_dir, const std::string& vars,
                     const std::string& repo, const std::string& ref, const std::string& name) {
    return RunCommand({"env", "TOFU=" + kTofu, "KUBECTL=" + kKubectl, "KUBECONFIG=" + kKubeconfig,
                       "BOOTSTRAP_DIR=" + module_dir, "BOOTSTRAP_VARS=" + vars,
                       "GIT_URL=file://" + repo, "GIT_REF=" + ref, "GIT_PATH=stack",
                       "STATE_NAMESPACE=" + state_ns_, "PROVIDER_CONFIG=pc-" + suffix_,
                       "WORKSPACE=" + name, "BOOTSTRAP_TIMEOUT=150", kScript, "handover"},
                      std::chrono::seconds(240));
  }
};

TEST_F(ProviderBootstrapTest, TheFirstApplysStateIsHandedOverAndPlansNoChanges) {
  // The module, committed to a Git repository the Workspace reads.
  const std::string repo = dir_.path() + "/repo";
  const std::string module_dir = repo + "/stack";
  fs::create_directories(module_dir);
  dir_.Write("repo/stack/main.tf",
             "variable \"cluster\" {\n  type = string\n}\n"
             "variable \"sizes\" {\n  type = map(number)\n}\n"
             "resource \"terraform_data\" \"cluster\" {\n"
             "  input = \"${var.cluster}-${var.sizes[\"nodes\"]}\"\n}\n"
             "output \"cluster_name\" {\n  value = terraform_data.cluster.output\n}\n"
             "output \"id\" {\n  value = terraform_data.cluster.id\n}\n");
  dir_.Write("repo/.gitignore", "*.tfstate*\n.terraform/\n.terraform.lock.hcl\n");
  const std::string vars = dir_.Write("vars.json", R"({"cluster": "mgmt", "sizes": {"nodes": 3}})");
  const std::vector<std::string> git = {
      "git", "-C", repo, "-c", "user.name=test", "-c", "user.email=test@example.com"};
  auto with = [](std::vector<std::string> base, std::vector<std::string> more) {
    base.insert(base.end(), more.begin(), more.end());
    return base;
  };
  Must(with(git, {"init", "-q", "-b", "main"}));
  Must(with(git, {"add", "."}));
  Must(with(git, {"commit", "-q", "-m", "management cluster"}));
  const std::string ref = [&] {
    std::string out = Must(with(git, {"rev-parse", "HEAD"})).out;
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
  }();

  // The one manual apply, with a local state (bootstrap.sh apply).
  Must({kTofu, "-chdir=" + module_dir, "init", "-input=false", "-no-color"});
  Must({kTofu, "-chdir=" + module_dir, "apply", "-input=false", "-no-color", "-auto-approve",
        "-var-file=" + vars});
  const Json local = Json::parse(ReadFile(module_dir + "/terraform.tfstate"), nullptr, false);
  ASSERT_TRUE(local.is_object());
  const std::string id = local["outputs"]["id"].value("value", "");
  const std::string lineage = local.value("lineage", "");
  ASSERT_FALSE(id.empty());

  // The hand-over, with the provider running.
  StartProvider();
  const std::string name = "mgmt-" + suffix_;
  created_.emplace_back(kWs, name);
  const RunResult handed = Handover(module_dir, vars, repo, ref, name);
  ASSERT_EQ(handed.exit_code, 0) << handed.err << handed.out;
  EXPECT_NE(handed.err.find("handed over"), std::string::npos) << handed.err;

  const Json ws = Get(kWs, name);
  EXPECT_TRUE(ReadyAndSynced(ws)) << ws.dump(2);
  EXPECT_TRUE(HasEvent(name, "default", "AdoptedState"));
  const Json at = ws["status"]["atProvider"];
  EXPECT_EQ(at["outputs"].value("id", ""), id)
      << "the resource the first apply made, not a new one";
  EXPECT_EQ(at["outputs"].value("cluster_name", ""), "mgmt-3") << at.dump(2);
  EXPECT_EQ(at["state"].value("lineage", ""), lineage);
  EXPECT_EQ(at["plan"].value("add", -1), 0) << at.dump(2);
  EXPECT_EQ(at["plan"].value("change", -1), 0) << at.dump(2);
  EXPECT_EQ(at["plan"].value("destroy", -1), 0) << at.dump(2);
  EXPECT_EQ(ws["spec"].value("deletionPolicy", ""), "Orphan");
  EXPECT_TRUE(ws["spec"]["forProvider"].value("requireApproval", false));

  // The imported Secret went once adopted; the local state is retired.
  const RunResult secrets = Kubectl({"get", "secrets", "-n", state_ns_, "-o", "name"});
  EXPECT_EQ(secrets.out.find("tfstate-bootstrap-"), std::string::npos) << secrets.out;
  EXPECT_FALSE(fs::exists(module_dir + "/terraform.tfstate"));
  bool kept = false;
  for (const auto& f : fs::directory_iterator(module_dir)) {
    kept |= f.path().filename().string().starts_with("terraform.tfstate.handed-over-");
  }
  EXPECT_TRUE(kept);

  // Running it again finds the state in the cluster: nothing is imported,
  // the Workspace stays as it is. By branch this time, twice: the second
  // applies the same spec, and its plan finds what the last one did (its
  // plannedAt does not move). What counts is the plan of the reconcile that
  // handled the run's own request.
  for (int run = 0; run < 2; ++run) {
    const RunResult again = Handover(module_dir, vars, repo, "main", name);
    EXPECT_EQ(again.exit_code, 0) << again.err;
    EXPECT_NE(again.err.find("holds its state already"), std::string::npos) << again.err;
  }
  EXPECT_EQ(Get(kWs, name)["status"]["atProvider"]["outputs"].value("id", ""), id);
  provider_->Stop();
}

TEST_F(ProviderBootstrapTest, AModuleThatDiffersFromTheAppliedOneIsNotApplied) {
  const std::string repo = dir_.path() + "/repo";
  const std::string module_dir = repo + "/stack";
  fs::create_directories(module_dir);
  dir_.Write("repo/stack/main.tf",
             "resource \"terraform_data\" \"a\" {\n  input = \"one\"\n}\n"
             "output \"id\" {\n  value = terraform_data.a.id\n}\n");
  const std::string vars = dir_.Write("vars.json", "{}");
  Must({kTofu, "-chdir=" + module_dir, "init", "-input=false", "-no-color"});
  Must({kTofu, "-chdir=" + module_dir, "apply", "-input=false", "-no-color", "-auto-approve"});
  const std::string id =
      Json::parse(ReadFile(module_dir + "/terraform.tfstate"))["outputs"]["id"].value("value", "");
  // What is committed is not what was applied: the input changed since.
  dir_.Write("repo/stack/main.tf",
             "resource \"terraform_data\" \"a\" {\n  input = \"two\"\n}\n"
             "output \"id\" {\n  value = terraform_data.a.id\n}\n");
  dir_.Write("repo/.gitignore", "*.tfstate*\n.terraform/\n.terraform.lock.hcl\n");
  const std::vector<std::string> git = {
      "git", "-C", repo, "-c", "user.name=test", "-c", "user.email=test@example.com"};
  for (const std::vector<std::string>& step : {std::vector<std::string>{"init", "-q", "-b", "main"},
                                               {"add", "."},
                                               {"commit", "-q", "-m", "changed"}}) {
    std::vector<std::string> argv = git;
    argv.insert(argv.end(), step.begin(), step.end());
    Must(argv);
  }
  std::string ref = Must({"git", "-C", repo, "rev-parse", "HEAD"}).out;
  ref.erase(ref.find_last_not_of("\n ") + 1);

  StartProvider();
  const std::string name = "mgmt-diff-" + suffix_;
  created_.emplace_back(kWs, name);
  const RunResult handed = Handover(module_dir, vars, repo, ref, name);
  EXPECT_NE(handed.exit_code, 0);
  EXPECT_NE(handed.err.find("differ from what was applied"), std::string::npos) << handed.err;
  // Adopted, planned, and held for approval: the resource is untouched, and
  // the local state, which the cluster holds now, is retired.
  Json ws = Get(kWs, name);
  Json at = ws["status"]["atProvider"];
  EXPECT_GT(at["plan"].value("change", 0) + at["plan"].value("add", 0), 0) << at.dump(2);
  EXPECT_TRUE(at["plan"].value("awaitingApproval", false)) << at.dump(2);
  EXPECT_EQ(at["outputs"].value("id", ""), id);
  EXPECT_FALSE(fs::exists(module_dir + "/terraform.tfstate"));

  // The module is put back as it was applied, in a new commit: the next
  // hand-over plans it and finds nothing to change.
  dir_.Write("repo/stack/main.tf",
             "resource \"terraform_data\" \"a\" {\n  input = \"one\"\n}\n"
             "output \"id\" {\n  value = terraform_data.a.id\n}\n");
  for (const std::vector<std::string>& step :
       {std::vector<std::string>{"add", "."}, {"commit", "-q", "-m", "as applied"}}) {
    std::vector<std::string> argv = git;
    argv.insert(argv.end(), step.begin(), step.end());
    Must(argv);
  }
  std::string fixed = Must({"git", "-C", repo, "rev-parse", "HEAD"}).out;
  fixed.erase(fixed.find_last_not_of("\n ") + 1);
  const RunResult again = Handover(module_dir, vars, repo, fixed, name);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.err.find("holds its state already"), std::string::npos) << again.err;
  ws = Get(kWs, name);
  at = ws["status"]["atProvider"];
  EXPECT_TRUE(ReadyAndSynced(ws)) << ws.dump(2);
  EXPECT_EQ(at["source"].value("commit", ""), fixed);
  EXPECT_EQ(at["plan"].value("change", -1), 0) << at.dump(2);
  EXPECT_EQ(at["outputs"].value("id", ""), id);
  provider_->Stop();
}

}  // namespace
}  // namespace platform::testing
