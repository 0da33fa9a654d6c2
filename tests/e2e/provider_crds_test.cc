// provider-workloads' API as users meet it: the CRDs in provider/package/crds
// (loaded by the ctest `controlplane` fixture into a real kube-apiserver), the
// examples in provider/examples, and the package metadata. Defaults, CEL
// rules and strict field validation are checked by the API server itself, and
// the examples once more by `crossplane resource validate`.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/support/kubectl.h"
#include "tests/support/render.h"
#include "tests/support/subprocess.h"

namespace platform::testing {
namespace {

namespace fs = std::filesystem;

const std::string kSource = PLATFORM_SOURCE_DIR;
const std::string kCrds = kSource + "/provider/package/crds";
const std::string kExamples = kSource + "/provider/examples";

constexpr const char* kLegacyGroup = "terraform.workloads.terraforming.io";
constexpr const char* kModernGroup = "terraform.workloads.m.terraforming.io";
constexpr const char* kLegacyAnsibleGroup = "ansible.workloads.terraforming.io";
constexpr const char* kModernAnsibleGroup = "ansible.workloads.m.terraforming.io";
// Namespaced objects made by these tests go here.
constexpr const char* kTestNamespace = "provider-crds-test";

// The upstream CRDs: $PLATFORM_SHARED_CRDS, else the folder CMake was given
// (the Makefile passes `scripts/tools.sh upstream-crds`), else the snapshot
// beside the clone.
std::string SharedCrds() {
  const std::string env = Tool("PLATFORM_SHARED_CRDS");
  if (!env.empty()) return env;
  const std::string configured = PLATFORM_SHARED_CRDS_DIR;
  return configured.empty() ? kSource + "/../shared/crds" : configured;
}

// The first lines of a manifest of ours: apiVersion, kind and metadata.
std::string Head(const std::string& group, const std::string& kind, const std::string& name,
                 const std::string& ns = "") {
  std::string head =
      "apiVersion: " + group + "/v1alpha1\nkind: " + kind + "\nmetadata:\n  name: " + name + "\n";
  if (!ns.empty()) head += "  namespace: " + ns + "\n";
  return head;
}

std::vector<std::string> YamlFiles(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().extension() == ".yaml") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

class ProviderCrdsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(std::string(KUBECTL_BIN).empty())
        << "configure with -DKUBECTL_BIN (the Makefile does): run through `make test`";
    ASSERT_TRUE(fs::exists(CONTROLPLANE_KUBECONFIG))
        << "no control plane: these tests run inside ctest's controlplane fixture";
  }

  static RunResult Kubectl(std::vector<std::string> args) {
    return RunKubectl(KUBECTL_BIN, CONTROLPLANE_KUBECONFIG, std::move(args));
  }

  void EnsureNamespace(const std::string& ns) {
    RunResult r = testing::EnsureNamespace(KUBECTL_BIN, CONTROLPLANE_KUBECONFIG, dir_, ns);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // `kubectl create --dry-run=server` of `manifest`, as the API server sees it.
  RunResult DryRunCreate(const std::string& manifest, bool strict = false) {
    std::vector<std::string> args = {"create", "--dry-run=server", "-o", "yaml"};
    if (strict) args.push_back("--validate=strict");
    args.insert(args.end(),
                {"-f", dir_.Write("object-" + std::to_string(n_++) + ".yaml", manifest)});
    return Kubectl(args);
  }

  TempDir dir_;
  int n_ = 0;
};

// The kinds of provider/API.md, their scopes and the CRD file each one is in.
struct Kind {
  std::string group;
  std::string kind;
  std::string plural;
  std::string scope;
};

const Kind kKinds[] = {
    {kLegacyGroup, "Workspace", "workspaces", "Cluster"},
    {kLegacyGroup, "ProviderConfig", "providerconfigs", "Cluster"},
    {kLegacyGroup, "ProviderConfigUsage", "providerconfigusages", "Cluster"},
    {kModernGroup, "Workspace", "workspaces", "Namespaced"},
    {kModernGroup, "ProviderConfig", "providerconfigs", "Namespaced"},
    {kModernGroup, "ClusterProviderConfig", "clusterproviderconfigs", "Cluster"},
    {kModernGroup, "ProviderConfigUsage", "providerconfigusages", "Namespaced"},
    {kLegacyAnsibleGroup, "AnsibleRun", "ansibleruns", "Cluster"},
    {kModernAnsibleGroup, "AnsibleRun", "ansibleruns", "Namespaced"},
};

TEST_F(ProviderCrdsTest, EveryKindHasItsCrdFileAndScope) {
  std::set<std::string> expected;
  for (const Kind& k : kKinds) {
    const std::string file = kCrds + "/" + k.group + "_" + k.plural + ".yaml";
    expected.insert(file);
    ASSERT_TRUE(fs::exists(file)) << file;
    const YAML::Node crd = YAML::LoadFile(file);
    EXPECT_EQ(Str(crd, {"apiVersion"}), "apiextensions.k8s.io/v1") << file;
    EXPECT_EQ(Str(crd, {"metadata", "name"}), k.plural + "." + k.group) << file;
    EXPECT_EQ(Str(crd, {"spec", "names", "kind"}), k.kind) << file;
    EXPECT_EQ(Str(crd, {"spec", "scope"}), k.scope) << file;
    const YAML::Node versions = At(crd, {"spec", "versions"});
    ASSERT_EQ(versions.size(), 1u) << file;
    EXPECT_EQ(Str(versions[0], {"name"}), "v1alpha1") << file;
    EXPECT_TRUE(versions[0]["served"].as<bool>()) << file;
    EXPECT_TRUE(versions[0]["storage"].as<bool>()) << file;
  }
  const std::vector<std::string> files = YamlFiles(kCrds);
  EXPECT_EQ(std::set<std::string>(files.begin(), files.end()), expected);
}

TEST_F(ProviderCrdsTest, EveryCrdIsEstablished) {
  for (const Kind& k : kKinds) {
    const std::string name = k.plural + "." + k.group;
    RunResult r = Kubectl({"get", "crd", name, "-o",
                           "jsonpath={.status.conditions[?(@.type==\"Established\")].status}"});
    ASSERT_EQ(r.exit_code, 0) << name << ": " << r.err;
    EXPECT_EQ(r.out, "True") << name;
    // Served under the kind's own name and scope, as kubectl discovers it.
    RunResult res = Kubectl({"api-resources", "--api-group", k.group, "-o", "name"});
    ASSERT_EQ(res.exit_code, 0) << res.err;
    EXPECT_NE(res.out.find(name + "\n"), std::string::npos) << res.out;
  }
  RunResult managed = Kubectl({"api-resources", "--categories", "managed", "-o", "name"});
  ASSERT_EQ(managed.exit_code, 0) << managed.err;
  EXPECT_NE(managed.out.find(std::string("workspaces.") + kLegacyGroup), std::string::npos);
  EXPECT_NE(managed.out.find(std::string("workspaces.") + kModernGroup), std::string::npos);
  for (const char* category : {"managed", "crossplane", "workloads"}) {
    RunResult r = Kubectl({"api-resources", "--categories", category, "-o", "name"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find(std::string("ansibleruns.") + kLegacyAnsibleGroup + "\n"),
              std::string::npos)
        << category << ": " << r.out;
    EXPECT_NE(r.out.find(std::string("ansibleruns.") + kModernAnsibleGroup + "\n"),
              std::string::npos)
        << category << ": " << r.out;
  }
}

TEST_F(ProviderCrdsTest, EveryExampleIsAcceptedByServerSideDryRun) {
  const std::vector<std::string> files = YamlFiles(kExamples);
  ASSERT_GE(files.size(), 11u) << "too few examples in " << kExamples;
  std::set<std::string> namespaces;
  std::map<std::string, int> kinds;
  for (const std::string& f : files) {
    for (const std::string& doc : SplitDocuments(ReadFile(f))) {
      const YAML::Node node = YAML::Load(doc);
      if (!node.IsMap()) continue;
      ++kinds[Str(node, {"apiVersion"}) + " " + Str(node, {"kind"})];
      if (const std::string ns = Str(node, {"metadata", "namespace"}); !ns.empty()) {
        namespaces.insert(ns);
      }
    }
  }
  // Every kind users write is exemplified.
  for (const char* k : {"terraform.workloads.terraforming.io/v1alpha1 ProviderConfig",
                        "terraform.workloads.terraforming.io/v1alpha1 Workspace",
                        "terraform.workloads.m.terraforming.io/v1alpha1 ProviderConfig",
                        "terraform.workloads.m.terraforming.io/v1alpha1 ClusterProviderConfig",
                        "terraform.workloads.m.terraforming.io/v1alpha1 Workspace",
                        "ansible.workloads.terraforming.io/v1alpha1 AnsibleRun",
                        "ansible.workloads.m.terraforming.io/v1alpha1 AnsibleRun", "v1 Secret"}) {
    EXPECT_GT(kinds[k], 0) << "no example of " << k;
  }
  for (const std::string& ns : namespaces) EnsureNamespace(ns);

  for (const std::string& f : files) {
    RunResult r = Kubectl(
        {"apply", "--server-side", "--dry-run=server", "--field-manager=platform-tests", "-f", f});
    EXPECT_EQ(r.exit_code, 0) << f << " rejected:\n" << r.err;
    EXPECT_NE(r.out.find("(server dry run)"), std::string::npos) << f << ":\n" << r.out;
    // No field the schema does not know (a typo would otherwise be pruned).
    RunResult strict = Kubectl({"create", "--dry-run=server", "--validate=strict", "-f", f});
    EXPECT_EQ(strict.exit_code, 0) << f << " has unknown fields:\n" << strict.err;
  }
}

// Created for real and read back, so what is checked is what etcd holds.
TEST_F(ProviderCrdsTest, DefaultsAreApplied) {
  EnsureNamespace(kTestNamespace);
  const std::string legacy = Head(kLegacyGroup, "Workspace", "provider-crds-defaults") + R"(spec:
  forProvider:
    source: Inline
    module: 'resource "terraform_data" "x" {}'
    varFiles:
      - source: ConfigMapKey
        configMapKeyRef: {name: vars, key: a.tfvars, namespace: default}
)";
  const std::string modern =
      Head(kModernGroup, "Workspace", "provider-crds-defaults", kTestNamespace) + R"(spec:
  forProvider:
    source: Inline
    module: 'resource "terraform_data" "x" {}'
)";
  const std::string legacy_file = dir_.Write("legacy.yaml", legacy);
  const std::string modern_file = dir_.Write("modern.yaml", modern);
  // Left over from an interrupted run.
  Kubectl({"delete", "--ignore-not-found", "-f", legacy_file, "-f", modern_file});
  RunResult created = Kubectl({"create", "-f", legacy_file, "-f", modern_file});
  ASSERT_EQ(created.exit_code, 0) << created.err;

  RunResult got = Kubectl({"get", "-f", legacy_file, "-o", "yaml"});
  ASSERT_EQ(got.exit_code, 0) << got.err;
  YAML::Node ws = YAML::Load(got.out);
  const YAML::Node policies = At(ws, {"spec", "managementPolicies"});
  ASSERT_TRUE(policies.IsSequence()) << got.out;
  ASSERT_EQ(policies.size(), 1u) << got.out;
  EXPECT_EQ(policies[0].as<std::string>(), "*");
  EXPECT_EQ(Str(ws, {"spec", "deletionPolicy"}), "Delete");
  EXPECT_EQ(Str(ws, {"spec", "providerConfigRef", "name"}), "default");
  EXPECT_FALSE(At(ws, {"spec", "providerConfigRef", "kind"}).IsDefined()) << got.out;
  EXPECT_EQ(Str(ws, {"spec", "forProvider", "inlineFormat"}), "HCL");
  EXPECT_EQ(Str(At(ws, {"spec", "forProvider", "varFiles"})[0], {"format"}), "HCL") << got.out;

  got = Kubectl({"get", "-f", modern_file, "-o", "yaml"});
  ASSERT_EQ(got.exit_code, 0) << got.err;
  ws = YAML::Load(got.out);
  ASSERT_EQ(At(ws, {"spec", "managementPolicies"}).size(), 1u) << got.out;
  EXPECT_EQ(At(ws, {"spec", "managementPolicies"})[0].as<std::string>(), "*");
  EXPECT_FALSE(At(ws, {"spec", "deletionPolicy"}).IsDefined()) << got.out;
  EXPECT_EQ(Str(ws, {"spec", "providerConfigRef", "kind"}), "ClusterProviderConfig");
  EXPECT_EQ(Str(ws, {"spec", "providerConfigRef", "name"}), "default");
  EXPECT_EQ(Str(ws, {"spec", "forProvider", "inlineFormat"}), "HCL");

  RunResult deleted = Kubectl({"delete", "--wait=false", "-f", legacy_file, "-f", modern_file});
  EXPECT_EQ(deleted.exit_code, 0) << deleted.err;
}

TEST_F(ProviderCrdsTest, ProviderConfigDefaultsAndHistoryBounds) {
  EnsureNamespace(kTestNamespace);
  const std::string kinds[] = {
      Head(kLegacyGroup, "ProviderConfig", "provider-crds-pc"),
      Head(kModernGroup, "ClusterProviderConfig", "provider-crds-pc"),
      Head(kModernGroup, "ProviderConfig", "provider-crds-pc", kTestNamespace),
  };
  for (const std::string& head : kinds) {
    SCOPED_TRACE(head);
    RunResult r = DryRunCreate(head + "spec: {}\n");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const YAML::Node pc = YAML::Load(r.out);
    EXPECT_EQ(Str(pc, {"spec", "state", "history"}), "5") << r.out;
    EXPECT_EQ(Str(pc, {"spec", "pluginCache"}), "true") << r.out;

    EXPECT_EQ(DryRunCreate(head + "spec: {state: {history: 0}}\n").exit_code, 0);
    EXPECT_EQ(DryRunCreate(head + "spec: {state: {history: 20}}\n").exit_code, 0);
    RunResult over = DryRunCreate(head + "spec: {state: {history: 21}}\n");
    EXPECT_NE(over.exit_code, 0) << over.out;
    EXPECT_NE(over.err.find("spec.state.history"), std::string::npos) << over.err;
    RunResult under = DryRunCreate(head + "spec: {state: {history: -1}}\n");
    EXPECT_NE(under.exit_code, 0) << under.out;
  }
  // A namespaced ProviderConfig only reads its own namespace: its refs and
  // state have no namespace field.
  RunResult foreign = DryRunCreate(
      kinds[2] + "spec: {state: {encryptionKeySecretRef: {namespace: other, name: k, key: k}}}\n",
      true);
  EXPECT_NE(foreign.exit_code, 0) << foreign.out;
  EXPECT_NE(foreign.err.find("unknown field"), std::string::npos) << foreign.err;
}

// spec.ssh on every ProviderConfig kind: known hosts inline or from a Secret
// (a namespaced ProviderConfig's without a namespace); an empty ssh is
// refused with the rule's message.
TEST_F(ProviderCrdsTest, ProviderConfigSshKnownHosts) {
  EnsureNamespace(kTestNamespace);
  const std::string kinds[] = {
      Head(kLegacyGroup, "ProviderConfig", "provider-crds-ssh"),
      Head(kModernGroup, "ClusterProviderConfig", "provider-crds-ssh"),
      Head(kModernGroup, "ProviderConfig", "provider-crds-ssh", kTestNamespace),
  };
  for (size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(kinds[i]);
    const std::string ref = i == 2 ? "{name: hosts, key: known_hosts}"
                                   : "{namespace: ops, name: hosts, key: known_hosts}";
    RunResult ok = DryRunCreate(kinds[i] +
                                    "spec:\n  ssh:\n    knownHosts: '[10.0.1.10]:22 ssh-ed25519 "
                                    "AAAAC3NzaC1lZDI1NTE5AAAAIExample'\n    knownHostsSecretRef: " +
                                    ref + "\n",
                                true);
    EXPECT_EQ(ok.exit_code, 0) << ok.err;
    EXPECT_NE(ok.out.find("knownHostsSecretRef"), std::string::npos) << ok.out;
    RunResult empty = DryRunCreate(kinds[i] + "spec: {ssh: {}}\n");
    EXPECT_NE(empty.exit_code, 0) << empty.out;
    EXPECT_NE(empty.err.find("spec.ssh needs knownHosts or knownHostsSecretRef"), std::string::npos)
        << empty.err;
  }
}

// One bad forProvider per CEL rule of provider/API.md, refused with the
// rule's message, on both Workspace kinds; and good ones accepted, so the
// refusals are the rules' doing.
TEST_F(ProviderCrdsTest, CelRulesRefuseBadWorkspaces) {
  EnsureNamespace(kTestNamespace);
  struct Case {
    std::string name;
    std::string for_provider;  // lines under `forProvider:`, indented 4
    std::string message;       // empty: accepted
  };
  const Case cases[] = {
      {"Inline", "    source: Inline\n    module: 'resource \"terraform_data\" \"x\" {}'\n", ""},
      {"InlineJson", "    source: Inline\n    inlineFormat: JSON\n    module: '{}'\n", ""},
      {"InlineWithoutModule", "    source: Inline\n",
       "spec.forProvider.module is required when source is Inline"},
      {"InlineWithEmptyModule", "    source: Inline\n    module: ''\n",
       "spec.forProvider.module is required when source is Inline"},
      {"Git",
       "    source: Git\n    git: {url: 'https://example.com/m.git', ref: v1.2.0, path: "
       "modules/net}\n",
       ""},
      {"GitSsh", "    source: Git\n    git: {url: 'git@example.com:org/m.git', ref: 0a1b2c3}\n",
       ""},
      {"GitWithoutRef", "    source: Git\n    git: {url: 'https://example.com/m.git'}\n",
       "spec.forProvider.git.ref is required when source is Git"},
      {"GitWithoutUrl", "    source: Git\n    git: {ref: v1.2.0}\n",
       "spec.forProvider.git.url is required when source is Git"},
      {"GitWithoutGit", "    source: Git\n",
       "spec.forProvider.git.url is required when source is Git"},
      {"GitPathWithDotDot",
       "    source: Git\n    git: {url: 'https://example.com/m.git', ref: v1, path: "
       "modules/../../etc}\n",
       "spec.forProvider.git.path must not contain '..'"},
      {"GitHttpUrl", "    source: Git\n    git: {url: 'http://example.com/m.git', ref: v1}\n",
       "spec.forProvider.git.url must be an https, ssh or file URL"},
      {"VarFileSecret",
       "    source: Inline\n    module: x\n    varFiles:\n    - source: SecretKey\n"
       "      secretKeyRef: {name: s, key: k}\n",
       ""},
      {"VarFileConfigMap",
       "    source: Inline\n    module: x\n    varFiles:\n    - source: ConfigMapKey\n"
       "      configMapKeyRef: {name: c, key: k}\n      format: JSON\n",
       ""},
      {"VarFileWithMismatchedRef",
       "    source: Inline\n    module: x\n    varFiles:\n    - source: SecretKey\n"
       "      configMapKeyRef: {name: c, key: k}\n",
       "spec.forProvider.varFiles[].secretKeyRef must be set, and configMapKeyRef not, when "
       "source is SecretKey"},
      {"VarFileWithBothRefs",
       "    source: Inline\n    module: x\n    varFiles:\n    - source: ConfigMapKey\n"
       "      configMapKeyRef: {name: c, key: k}\n      secretKeyRef: {name: s, key: k}\n",
       "spec.forProvider.varFiles[].configMapKeyRef must be set, and secretKeyRef not, when "
       "source is ConfigMapKey"},
      {"EnvValue", "    source: Inline\n    module: x\n    env: [{name: A, value: b}]\n", ""},
      {"EnvSecret",
       "    source: Inline\n    module: x\n    env: [{name: A, secretKeyRef: {name: s, key: k}}]\n",
       ""},
      {"EnvWithTwoSources",
       "    source: Inline\n    module: x\n"
       "    env: [{name: A, value: b, secretKeyRef: {name: s, key: k}}]\n",
       "spec.forProvider.env[] must set exactly one of value, secretKeyRef and configMapKeyRef"},
      {"EnvWithNoSource", "    source: Inline\n    module: x\n    env: [{name: A}]\n",
       "spec.forProvider.env[] must set exactly one of value, secretKeyRef and configMapKeyRef"},
      {"Timeouts", "    source: Inline\n    module: x\n    timeout: 1h30m\n", ""},
      {"TimeoutSeconds", "    source: Inline\n    module: x\n    timeout: 90s\n", ""},
      {"BadTimeout", "    source: Inline\n    module: x\n    timeout: 10 minutes\n",
       "spec.forProvider.timeout must be a positive duration such as 90s, 10m or 1h30m"},
      {"ZeroTimeout", "    source: Inline\n    module: x\n    timeout: 0s\n",
       "spec.forProvider.timeout must be a positive duration such as 90s, 10m or 1h30m"},
  };
  const std::string heads[] = {
      Head(kLegacyGroup, "Workspace", "provider-crds-cel"),
      Head(kModernGroup, "Workspace", "provider-crds-cel", kTestNamespace),
  };
  for (const std::string& head : heads) {
    for (const Case& c : cases) {
      SCOPED_TRACE(head.substr(0, head.find('\n')) + " " + c.name);
      RunResult r = DryRunCreate(head + "spec:\n  forProvider:\n" + c.for_provider, true);
      if (c.message.empty()) {
        EXPECT_EQ(r.exit_code, 0) << r.err;
      } else {
        EXPECT_NE(r.exit_code, 0) << r.out;
        EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
      }
    }
  }
}

// deletionPolicy belongs to the cluster-scoped kind only; namespaced
// Workspaces leave Delete out of managementPolicies instead. With strict
// field validation the API server refuses the unknown field.
TEST_F(ProviderCrdsTest, OnlyTheClusterScopedWorkspaceHasDeletionPolicy) {
  EnsureNamespace(kTestNamespace);
  const std::string spec =
      "spec:\n  deletionPolicy: Orphan\n  forProvider:\n    source: Inline\n    module: x\n";
  RunResult legacy =
      DryRunCreate(Head(kLegacyGroup, "Workspace", "provider-crds-orphan") + spec, true);
  EXPECT_EQ(legacy.exit_code, 0) << legacy.err;
  EXPECT_EQ(Str(YAML::Load(legacy.out), {"spec", "deletionPolicy"}), "Orphan") << legacy.out;

  RunResult modern = DryRunCreate(
      Head(kModernGroup, "Workspace", "provider-crds-orphan", kTestNamespace) + spec, true);
  EXPECT_NE(modern.exit_code, 0) << modern.out;
  EXPECT_NE(modern.err.find("unknown field \"spec.deletionPolicy\""), std::string::npos)
      << modern.err;

  // Refs of the namespaced kind carry no namespace either.
  RunResult ref =
      DryRunCreate(Head(kModernGroup, "Workspace", "provider-crds-orphan", kTestNamespace) +
                       "spec:\n  forProvider:\n    source: Inline\n    module: x\n"
                       "    env: [{name: A, secretKeyRef: {name: s, key: k, namespace: other}}]\n",
                   true);
  EXPECT_NE(ref.exit_code, 0) << ref.out;
  EXPECT_NE(ref.err.find("unknown field"), std::string::npos) << ref.err;
}

TEST_F(ProviderCrdsTest, ProviderConfigUsagesAreAccepted) {
  EnsureNamespace(kTestNamespace);
  RunResult legacy =
      DryRunCreate(Head(kLegacyGroup, "ProviderConfigUsage", "provider-crds-pcu") + R"(
providerConfigRef: {name: default}
resourceRef:
  apiVersion: terraform.workloads.terraforming.io/v1alpha1
  kind: Workspace
  name: hello
  uid: 2c4b1f5e-0000-4000-8000-000000000001
)");
  EXPECT_EQ(legacy.exit_code, 0) << legacy.err;
  const std::string modern_head =
      Head(kModernGroup, "ProviderConfigUsage", "provider-crds-pcu", kTestNamespace);
  RunResult modern = DryRunCreate(modern_head + R"(
providerConfigRef: {kind: ClusterProviderConfig, name: default}
resourceRef:
  apiVersion: terraform.workloads.m.terraforming.io/v1alpha1
  kind: Workspace
  name: hello
)");
  EXPECT_EQ(modern.exit_code, 0) << modern.err;
  // The typed reference needs its kind.
  RunResult untyped = DryRunCreate(modern_head + R"(
providerConfigRef: {name: default}
resourceRef: {apiVersion: v1, kind: Workspace, name: hello}
)");
  EXPECT_NE(untyped.exit_code, 0) << untyped.out;
  EXPECT_NE(untyped.err.find("providerConfigRef.kind"), std::string::npos) << untyped.err;
}

// What the AnsibleRun examples must show (provider/examples/README.md): an
// inline playbook against localhost on the cluster-scoped kind; vars, a
// varFile from a Secret that is itself an example, a deletePlaybook and
// OnSpecChange on the namespaced kind; and a Git source at a commit SHA.
TEST_F(ProviderCrdsTest, AnsibleRunExamplesShowTheContract) {
  std::map<std::string, YAML::Node> runs;  // by file name
  std::set<std::string> secrets;           // namespace/name
  for (const std::string& f : YamlFiles(kExamples)) {
    for (const std::string& doc : SplitDocuments(ReadFile(f))) {
      const YAML::Node node = YAML::Load(doc);
      if (!node.IsMap()) continue;
      if (Str(node, {"kind"}) == "AnsibleRun") runs[fs::path(f).filename().string()] = node;
      if (Str(node, {"apiVersion"}) == "v1" && Str(node, {"kind"}) == "Secret") {
        secrets.insert(Str(node, {"metadata", "namespace"}) + "/" +
                       Str(node, {"metadata", "name"}));
      }
    }
  }
  ASSERT_EQ(runs.count("ansiblerun-inline.yaml"), 1u);
  ASSERT_EQ(runs.count("ansiblerun-namespaced.yaml"), 1u);
  ASSERT_EQ(runs.count("ansiblerun-git.yaml"), 1u);

  const YAML::Node inline_run = runs["ansiblerun-inline.yaml"];
  EXPECT_EQ(Str(inline_run, {"apiVersion"}), std::string(kLegacyAnsibleGroup) + "/v1alpha1");
  EXPECT_EQ(Str(inline_run, {"spec", "forProvider", "source"}), "Inline");
  // No inventory: the default, localhost with the local connection.
  EXPECT_FALSE(At(inline_run, {"spec", "forProvider", "inventory"}).IsDefined());
  const std::string playbook = Str(inline_run, {"spec", "forProvider", "playbook"});
  EXPECT_NE(playbook.find("hosts: localhost"), std::string::npos) << playbook;
  EXPECT_NE(playbook.find("/tmp/"), std::string::npos) << playbook;
  // The playbook itself is YAML: a list of plays.
  EXPECT_TRUE(YAML::Load(playbook).IsSequence()) << playbook;

  const YAML::Node ns_run = runs["ansiblerun-namespaced.yaml"];
  EXPECT_EQ(Str(ns_run, {"apiVersion"}), std::string(kModernAnsibleGroup) + "/v1alpha1");
  const std::string ns = Str(ns_run, {"metadata", "namespace"});
  EXPECT_FALSE(ns.empty());
  EXPECT_TRUE(At(ns_run, {"spec", "forProvider", "vars"}).IsMap());
  EXPECT_EQ(Str(ns_run, {"spec", "forProvider", "driftPolicy"}), "OnSpecChange");
  EXPECT_TRUE(YAML::Load(Str(ns_run, {"spec", "forProvider", "deletePlaybook"})).IsSequence());
  const YAML::Node var_files = At(ns_run, {"spec", "forProvider", "varFiles"});
  ASSERT_TRUE(var_files.IsSequence() && var_files.size() > 0u);
  bool from_secret = false;
  for (const YAML::Node& vf : var_files) {
    if (Str(vf, {"source"}) != "SecretKey") continue;
    from_secret = true;
    EXPECT_EQ(secrets.count(ns + "/" + Str(vf, {"secretKeyRef", "name"})), 1u)
        << "the varFile's Secret is no example";
  }
  EXPECT_TRUE(from_secret);

  const YAML::Node git_run = runs["ansiblerun-git.yaml"];
  EXPECT_EQ(Str(git_run, {"spec", "forProvider", "source"}), "Git");
  const std::string ref = Str(git_run, {"spec", "forProvider", "git", "ref"});
  EXPECT_EQ(ref.size(), 40u) << ref;
  EXPECT_EQ(ref.find_first_not_of("0123456789abcdef"), std::string::npos) << ref;
  EXPECT_FALSE(Str(git_run, {"spec", "forProvider", "git", "path"}).empty());
}

// Created for real and read back, so what is checked is what etcd holds.
TEST_F(ProviderCrdsTest, AnsibleRunDefaultsAreApplied) {
  EnsureNamespace(kTestNamespace);
  const std::string for_provider = R"(spec:
  forProvider:
    source: Inline
    playbook: '[{hosts: localhost, tasks: []}]'
    vars:
      nested: {list: [1, two, {three: 3}], flag: true}
)";
  const std::string legacy_file =
      dir_.Write("ansible-legacy.yaml",
                 Head(kLegacyAnsibleGroup, "AnsibleRun", "provider-crds-defaults") + for_provider);
  const std::string modern_file =
      dir_.Write("ansible-modern.yaml",
                 Head(kModernAnsibleGroup, "AnsibleRun", "provider-crds-defaults", kTestNamespace) +
                     for_provider);
  // Left over from an interrupted run.
  Kubectl({"delete", "--ignore-not-found", "-f", legacy_file, "-f", modern_file});
  RunResult created = Kubectl({"create", "-f", legacy_file, "-f", modern_file});
  ASSERT_EQ(created.exit_code, 0) << created.err;

  for (const std::string& file : {legacy_file, modern_file}) {
    const bool legacy = file == legacy_file;
    SCOPED_TRACE(legacy ? "cluster-scoped" : "namespaced");
    RunResult got = Kubectl({"get", "-f", file, "-o", "yaml"});
    ASSERT_EQ(got.exit_code, 0) << got.err;
    const YAML::Node run = YAML::Load(got.out);
    const YAML::Node policies = At(run, {"spec", "managementPolicies"});
    ASSERT_TRUE(policies.IsSequence()) << got.out;
    ASSERT_EQ(policies.size(), 1u) << got.out;
    EXPECT_EQ(policies[0].as<std::string>(), "*");
    EXPECT_EQ(Str(run, {"spec", "providerConfigRef", "name"}), "default");
    if (legacy) {
      EXPECT_EQ(Str(run, {"spec", "deletionPolicy"}), "Delete");
      EXPECT_FALSE(At(run, {"spec", "providerConfigRef", "kind"}).IsDefined()) << got.out;
    } else {
      EXPECT_FALSE(At(run, {"spec", "deletionPolicy"}).IsDefined()) << got.out;
      EXPECT_EQ(Str(run, {"spec", "providerConfigRef", "kind"}), "ClusterProviderConfig");
    }
    EXPECT_EQ(Str(run, {"spec", "forProvider", "stateVariable"}), "state");
    EXPECT_EQ(Str(run, {"spec", "forProvider", "driftPolicy"}), "CheckOnObserve");
    // The default inventory is the provider's, not the schema's.
    EXPECT_FALSE(At(run, {"spec", "forProvider", "inventory"}).IsDefined()) << got.out;
    // vars keep whatever they hold: nothing pruned.
    const YAML::Node list = At(run, {"spec", "forProvider", "vars", "nested", "list"});
    ASSERT_TRUE(list.IsSequence()) << got.out;
    ASSERT_EQ(list.size(), 3u) << got.out;
    EXPECT_EQ(Str(list[2], {"three"}), "3") << got.out;
    EXPECT_EQ(Str(run, {"spec", "forProvider", "vars", "nested", "flag"}), "true");

    // The printer columns: DRIFT-POLICY (and SOURCE) only with -o wide.
    RunResult table = Kubectl({"get", "-f", file});
    ASSERT_EQ(table.exit_code, 0) << table.err;
    const std::string header = table.out.substr(0, table.out.find('\n'));
    for (const char* column : {"READY", "SYNCED", "EXTERNAL-NAME", "AGE"}) {
      EXPECT_NE(header.find(column), std::string::npos) << header;
    }
    EXPECT_EQ(header.find("DRIFT-POLICY"), std::string::npos) << header;
    RunResult wide = Kubectl({"get", "-f", file, "-o", "wide"});
    ASSERT_EQ(wide.exit_code, 0) << wide.err;
    EXPECT_NE(wide.out.find("DRIFT-POLICY"), std::string::npos) << wide.out;
    EXPECT_NE(wide.out.find("CheckOnObserve"), std::string::npos) << wide.out;
  }

  RunResult deleted = Kubectl({"delete", "--wait=false", "-f", legacy_file, "-f", modern_file});
  EXPECT_EQ(deleted.exit_code, 0) << deleted.err;
}

// One bad forProvider per CEL rule (and enum) of the AnsibleRun section of
// provider/API.md, refused with a message naming the field, on both kinds;
// and good ones accepted, so the refusals are the rules' doing.
TEST_F(ProviderCrdsTest, CelRulesRefuseBadAnsibleRuns) {
  EnsureNamespace(kTestNamespace);
  struct Case {
    std::string name;
    std::string for_provider;  // lines under `forProvider:`, indented 4
    std::string message;       // empty: accepted
  };
  const std::string play = "    source: Inline\n    playbook: '[{hosts: localhost}]'\n";
  const Case cases[] = {
      {"Inline", play, ""},
      {"InlineWithEverything",
       play + "    requirements: 'collections: [community.general]'\n"
              "    inventory: 'web1 ansible_host=10.0.0.1'\n"
              "    vars: {a: 1, b: [x, y], c: {d: e}}\n"
              "    stateVariable: desired_state\n"
              "    deletePlaybook: '[{hosts: all}]'\n"
              "    driftPolicy: EveryPoll\n"
              "    timeout: 15m\n",
       ""},
      {"InlineWithoutPlaybook", "    source: Inline\n",
       "spec.forProvider.playbook is required when source is Inline"},
      {"InlineWithEmptyPlaybook", "    source: Inline\n    playbook: ''\n",
       "spec.forProvider.playbook is required when source is Inline"},
      {"Git",
       "    source: Git\n    git: {url: 'https://example.com/p.git', ref: "
       "3f6c1b2a9d8e7f60514c3b2a1908f7e6d5c4b3a2, path: playbooks/site.yml}\n",
       ""},
      {"GitSshWithDeletePlaybook",
       "    source: Git\n    git: {url: 'git@example.com:org/p.git', ref: v1, path: site.yml}\n"
       "    deletePlaybook: '[{hosts: all}]'\n",
       ""},
      {"GitWithoutUrl", "    source: Git\n    git: {ref: v1, path: site.yml}\n",
       "spec.forProvider.git.url is required when source is Git"},
      {"GitWithoutRef",
       "    source: Git\n    git: {url: 'https://example.com/p.git', path: site.yml}\n",
       "spec.forProvider.git.ref is required when source is Git"},
      {"GitWithoutPath", "    source: Git\n    git: {url: 'https://example.com/p.git', ref: v1}\n",
       "spec.forProvider.git.path is required when source is Git"},
      {"GitWithoutGit", "    source: Git\n",
       "spec.forProvider.git.url is required when source is Git"},
      {"GitPathWithDotDot",
       "    source: Git\n    git: {url: 'https://example.com/p.git', ref: v1, path: "
       "playbooks/../../etc/site.yml}\n",
       "spec.forProvider.git.path must not contain '..'"},
      {"GitHttpUrl",
       "    source: Git\n    git: {url: 'http://example.com/p.git', ref: v1, path: site.yml}\n",
       "spec.forProvider.git.url must be an https, ssh or file URL"},
      {"VarFileSecret",
       play +
           "    varFiles:\n    - source: SecretKey\n      secretKeyRef: {name: s, key: vars.yml}\n",
       ""},
      {"VarFileConfigMap",
       play +
           "    varFiles:\n    - source: ConfigMapKey\n      configMapKeyRef: {name: c, key: k}\n",
       ""},
      {"VarFileWithMismatchedRef",
       play + "    varFiles:\n    - source: SecretKey\n      configMapKeyRef: {name: c, key: k}\n",
       "spec.forProvider.varFiles[].secretKeyRef must be set, and configMapKeyRef not, when "
       "source is SecretKey"},
      {"VarFileWithBothRefs",
       play + "    varFiles:\n    - source: ConfigMapKey\n"
              "      configMapKeyRef: {name: c, key: k}\n      secretKeyRef: {name: s, key: k}\n",
       "spec.forProvider.varFiles[].configMapKeyRef must be set, and secretKeyRef not, when "
       "source is ConfigMapKey"},
      {"VarFileWithUnknownSource",
       play + "    varFiles:\n    - source: File\n      secretKeyRef: {name: s, key: k}\n",
       "spec.forProvider.varFiles[0].source: Unsupported value: \"File\""},
      {"VarFileWithFormat",  // Workspace varFiles have one; AnsibleRun's are YAML or JSON
       play + "    varFiles:\n    - source: SecretKey\n      secretKeyRef: {name: s, key: k}\n"
              "      format: HCL\n",
       "unknown field \"spec.forProvider.varFiles[0].format\""},
      {"StateVariableUnderscore", play + "    stateVariable: _state2\n", ""},
      {"StateVariableWithDash", play + "    stateVariable: desired-state\n",
       "spec.forProvider.stateVariable must be a valid identifier"},
      {"StateVariableWithDigitFirst", play + "    stateVariable: 1state\n",
       "spec.forProvider.stateVariable must be a valid identifier"},
      {"StateVariableEmpty", play + "    stateVariable: ''\n",
       "spec.forProvider.stateVariable must be a valid identifier"},
      {"StateVariableTemplate", play + "    stateVariable: '{{ x }}'\n",
       "spec.forProvider.stateVariable must be a valid identifier"},
      {"DriftPolicyOnSpecChange", play + "    driftPolicy: OnSpecChange\n", ""},
      {"DriftPolicyUnknown", play + "    driftPolicy: Sometimes\n",
       "spec.forProvider.driftPolicy: Unsupported value: \"Sometimes\""},
      {"SourceUnknown", "    source: Http\n    playbook: x\n",
       "spec.forProvider.source: Unsupported value: \"Http\""},
      {"NoSource", "    playbook: x\n", "spec.forProvider.source: Required value"},
      {"VarsNotAnObject", play + "    vars: [a, b]\n", "spec.forProvider.vars"},
      {"TimeoutSeconds", play + "    timeout: 90s\n", ""},
      {"Timeouts", play + "    timeout: 1h30m\n", ""},
      {"BadTimeout", play + "    timeout: 10 minutes\n",
       "spec.forProvider.timeout must be a positive duration such as 90s, 10m or 1h30m"},
      {"ZeroTimeout", play + "    timeout: 0s\n",
       "spec.forProvider.timeout must be a positive duration such as 90s, 10m or 1h30m"},
  };
  const std::string heads[] = {
      Head(kLegacyAnsibleGroup, "AnsibleRun", "provider-crds-cel"),
      Head(kModernAnsibleGroup, "AnsibleRun", "provider-crds-cel", kTestNamespace),
  };
  for (const std::string& head : heads) {
    for (const Case& c : cases) {
      SCOPED_TRACE(head.substr(0, head.find('\n')) + " " + c.name);
      RunResult r = DryRunCreate(head + "spec:\n  forProvider:\n" + c.for_provider, true);
      if (c.message.empty()) {
        EXPECT_EQ(r.exit_code, 0) << r.err;
      } else {
        EXPECT_NE(r.exit_code, 0) << r.out;
        EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
      }
    }
  }
}

// As for Workspaces: deletionPolicy and namespaces in refs belong to the
// cluster-scoped kind only; the namespaced kind names its config by kind.
TEST_F(ProviderCrdsTest, OnlyTheClusterScopedAnsibleRunHasDeletionPolicy) {
  EnsureNamespace(kTestNamespace);
  const std::string legacy_head = Head(kLegacyAnsibleGroup, "AnsibleRun", "provider-crds-orphan");
  const std::string modern_head =
      Head(kModernAnsibleGroup, "AnsibleRun", "provider-crds-orphan", kTestNamespace);
  const std::string for_provider = "  forProvider:\n    source: Inline\n    playbook: x\n";
  const std::string orphan = "spec:\n  deletionPolicy: Orphan\n" + for_provider;
  RunResult legacy = DryRunCreate(legacy_head + orphan, true);
  EXPECT_EQ(legacy.exit_code, 0) << legacy.err;
  EXPECT_EQ(Str(YAML::Load(legacy.out), {"spec", "deletionPolicy"}), "Orphan") << legacy.out;
  RunResult bad_policy =
      DryRunCreate(legacy_head + "spec:\n  deletionPolicy: Keep\n" + for_provider, true);
  EXPECT_NE(bad_policy.exit_code, 0) << bad_policy.out;
  EXPECT_NE(bad_policy.err.find("spec.deletionPolicy: Unsupported value"), std::string::npos)
      << bad_policy.err;

  RunResult modern = DryRunCreate(modern_head + orphan, true);
  EXPECT_NE(modern.exit_code, 0) << modern.out;
  EXPECT_NE(modern.err.find("unknown field \"spec.deletionPolicy\""), std::string::npos)
      << modern.err;

  // Refs: a namespace on the cluster-scoped kind, none on the namespaced one.
  const std::string foreign_refs =
      "spec:\n  writeConnectionSecretToRef: {name: out, namespace: other}\n" + for_provider +
      "    varFiles:\n    - source: SecretKey\n"
      "      secretKeyRef: {name: s, key: k, namespace: other}\n";
  RunResult legacy_refs = DryRunCreate(legacy_head + foreign_refs, true);
  EXPECT_EQ(legacy_refs.exit_code, 0) << legacy_refs.err;
  RunResult modern_refs = DryRunCreate(modern_head + foreign_refs, true);
  EXPECT_NE(modern_refs.exit_code, 0) << modern_refs.out;
  EXPECT_NE(modern_refs.err.find("unknown field \"spec.writeConnectionSecretToRef.namespace\""),
            std::string::npos)
      << modern_refs.err;
  EXPECT_NE(modern_refs.err.find("unknown field \"spec.forProvider.varFiles[0].secretKeyRef."
                                 "namespace\""),
            std::string::npos)
      << modern_refs.err;
  // The cluster-scoped kind's connection Secret needs its namespace.
  RunResult no_ns = DryRunCreate(
      legacy_head + "spec:\n  writeConnectionSecretToRef: {name: out}\n" + for_provider, true);
  EXPECT_NE(no_ns.exit_code, 0) << no_ns.out;
  EXPECT_NE(no_ns.err.find("spec.writeConnectionSecretToRef.namespace: Required value"),
            std::string::npos)
      << no_ns.err;

  // The namespaced kind's providerConfigRef is typed.
  RunResult typed = DryRunCreate(
      modern_head + "spec:\n  providerConfigRef: {kind: ProviderConfig, name: team}\n" +
          for_provider,
      true);
  EXPECT_EQ(typed.exit_code, 0) << typed.err;
  RunResult untyped =
      DryRunCreate(modern_head + "spec:\n  providerConfigRef: {name: team}\n" + for_provider, true);
  EXPECT_NE(untyped.exit_code, 0) << untyped.out;
  EXPECT_NE(untyped.err.find("spec.providerConfigRef.kind: Required value"), std::string::npos)
      << untyped.err;
  RunResult wrong_kind = DryRunCreate(
      modern_head + "spec:\n  providerConfigRef: {kind: Workspace, name: team}\n" + for_provider,
      true);
  EXPECT_NE(wrong_kind.exit_code, 0) << wrong_kind.out;
  EXPECT_NE(wrong_kind.err.find("spec.providerConfigRef.kind: Unsupported value"),
            std::string::npos)
      << wrong_kind.err;
}

// status.atProvider as API.md shows it is stored whole through the status
// subresource (nothing pruned), and lastRun.mode is checked.
TEST_F(ProviderCrdsTest, AnsibleRunStatusIsKept) {
  EnsureNamespace(kTestNamespace);
  const std::string status = R"({"status": {
  "observedGeneration": 1,
  "conditions": [{"type": "Ready", "status": "True", "reason": "Available",
                  "lastTransitionTime": "2026-01-02T03:04:05Z"}],
  "atProvider": {
    "outputs": {"path": "/tmp/x", "nested": {"list": [1, "two"]}},
    "lastRun": {"mode": "Check", "result": "Succeeded",
                "startedAt": "2026-01-02T03:04:05Z", "finishedAt": "2026-01-02T03:04:09Z",
                "message": "1 task would change",
                "stats": {"ok": 3, "changed": 1, "failed": 0, "skipped": 2, "unreachable": 0},
                "tasks": [{"name": "Write the greeting", "changed": 1, "failed": 0}]},
    "appliedSpecHash": "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
    "appliedAt": "2026-01-02T03:00:00Z",
    "source": {"commit": "0123456789abcdef0123456789abcdef01234567"},
    "drift": {"detected": true, "tasks": ["Write the greeting"], "at": "2026-01-02T03:04:09Z"}
  }}})";
  const std::string heads[] = {
      Head(kLegacyAnsibleGroup, "AnsibleRun", "provider-crds-status"),
      Head(kModernAnsibleGroup, "AnsibleRun", "provider-crds-status", kTestNamespace),
  };
  for (const std::string& head : heads) {
    SCOPED_TRACE(head.substr(0, head.find('\n')));
    const std::string file =
        dir_.Write("status-" + std::to_string(n_++) + ".yaml",
                   head + "spec:\n  forProvider:\n    source: Inline\n    playbook: x\n");
    Kubectl({"delete", "--ignore-not-found", "-f", file});
    RunResult created = Kubectl({"create", "-f", file});
    ASSERT_EQ(created.exit_code, 0) << created.err;

    RunResult patched =
        Kubectl({"patch", "-f", file, "--subresource=status", "--type=merge", "-p", status});
    ASSERT_EQ(patched.exit_code, 0) << patched.err;
    RunResult got = Kubectl({"get", "-f", file, "-o", "yaml"});
    ASSERT_EQ(got.exit_code, 0) << got.err;
    const YAML::Node run = YAML::Load(got.out);
    const YAML::Node at = At(run, {"status", "atProvider"});
    EXPECT_EQ(At(at, {"outputs", "nested", "list"}).size(), 2u) << got.out;
    EXPECT_EQ(Str(at, {"lastRun", "mode"}), "Check");
    EXPECT_EQ(Str(at, {"lastRun", "result"}), "Succeeded");
    EXPECT_EQ(Str(at, {"lastRun", "finishedAt"}), "2026-01-02T03:04:09Z");
    EXPECT_EQ(Str(at, {"lastRun", "message"}), "1 task would change");
    EXPECT_EQ(Str(at, {"lastRun", "stats", "ok"}), "3");
    EXPECT_EQ(Str(at, {"lastRun", "stats", "skipped"}), "2");
    EXPECT_EQ(Str(at, {"lastRun", "stats", "unreachable"}), "0");
    ASSERT_EQ(At(at, {"lastRun", "tasks"}).size(), 1u) << got.out;
    EXPECT_EQ(Str(At(at, {"lastRun", "tasks"})[0], {"changed"}), "1");
    EXPECT_EQ(Str(at, {"appliedSpecHash"}).size(), 64u);
    EXPECT_EQ(Str(at, {"appliedAt"}), "2026-01-02T03:00:00Z");
    EXPECT_EQ(Str(at, {"drift", "detected"}), "true");
    ASSERT_EQ(At(at, {"drift", "tasks"}).size(), 1u) << got.out;
    EXPECT_EQ(Str(run, {"status", "observedGeneration"}), "1");

    RunResult bad = Kubectl({"patch", "-f", file, "--subresource=status", "--type=merge", "-p",
                             R"({"status": {"atProvider": {"lastRun": {"mode": "Plan"}}}})"});
    EXPECT_NE(bad.exit_code, 0) << bad.out;
    EXPECT_NE(bad.err.find("status.atProvider.lastRun.mode: Unsupported value"), std::string::npos)
        << bad.err;

    RunResult deleted = Kubectl({"delete", "--wait=false", "-f", file});
    EXPECT_EQ(deleted.exit_code, 0) << deleted.err;
  }
}

TEST_F(ProviderCrdsTest, PackageMetadataIsAProvider) {
  const YAML::Node meta = YAML::LoadFile(kSource + "/provider/package/crossplane.yaml");
  EXPECT_EQ(Str(meta, {"apiVersion"}), "meta.pkg.crossplane.io/v1");
  EXPECT_EQ(Str(meta, {"kind"}), "Provider");
  EXPECT_EQ(Str(meta, {"metadata", "name"}), "provider-workloads");
  EXPECT_EQ(Str(meta, {"spec", "crossplane", "version"}), ">=v2.2.0-0");
  for (const char* a : {"meta.crossplane.io/maintainer", "meta.crossplane.io/source",
                        "meta.crossplane.io/description", "meta.crossplane.io/readme",
                        "friendly-name.meta.crossplane.io"}) {
    EXPECT_FALSE(Str(meta, {"metadata", "annotations", a}).empty()) << a;
  }
  // Crossplane v2 runs the package image itself: no controller image.
  EXPECT_FALSE(At(meta, {"spec", "controller"}).IsDefined());
  // SafeStart is not implemented, so it must not be declared.
  const YAML::Node caps = At(meta, {"spec", "capabilities"});
  if (caps.IsDefined()) {
    for (const YAML::Node& c : caps) EXPECT_NE(c.as<std::string>(), "SafeStart");
  }
}

// `crossplane resource validate` over the examples against the CRDs, offline.
class ProviderCrdsValidateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(Tool("CROSSPLANE").empty()) << "CROSSPLANE is not set: run through `make test`";
    // validate looks up Crossplane's own schemas in its cache by the image
    // of --crossplane-image; seed it from the upstream CRDs so it never
    // downloads.
    cache_ = dir_.path() + "/cache";
    std::string error;
    image_ = SeedCrossplaneSchemas(cache_, SharedCrds() + "/crossplane", error);
    ASSERT_FALSE(image_.empty()) << error;
  }

  RunResult Validate(const std::string& resources) {
    return RunCommand({Tool("CROSSPLANE"), "resource", "validate", kCrds, resources, "--cache-dir",
                       cache_, "--crossplane-image", image_, "--error-on-missing-schemas"});
  }

  TempDir dir_;
  std::string cache_;
  std::string image_;
};

TEST_F(ProviderCrdsValidateTest, ExamplesPass) {
  // Core objects (v1 Secrets) have no schema validate could load; the API
  // server's dry-run checks them.
  const fs::path copy = fs::path(dir_.path()) / "examples";
  fs::create_directories(copy);
  int objects = 0;
  for (const std::string& f : YamlFiles(kExamples)) {
    std::string kept;
    for (const std::string& doc : SplitDocuments(ReadFile(f))) {
      const YAML::Node node = YAML::Load(doc);
      if (!node.IsMap() || Str(node, {"apiVersion"}) == "v1") continue;
      kept += "---\n" + doc;
      ++objects;
    }
    if (!kept.empty()) std::ofstream(copy / fs::path(f).filename()) << kept;
  }
  ASSERT_GE(objects, 6);
  RunResult r = Validate(copy.string());
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(" 0 failure cases"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" 0 missing schemas"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(std::to_string(objects) + " success cases"), std::string::npos) << r.out;
}

// Shows validate evaluates the CRDs' CEL rules, so ExamplesPass means something.
TEST_F(ProviderCrdsValidateTest, AnInvalidWorkspaceFails) {
  const std::string bad =
      dir_.Write("bad/workspace.yaml", Head(kLegacyGroup, "Workspace", "bad") + R"(spec:
  forProvider:
    source: Git
    git: {url: 'https://example.com/m.git', ref: v1, path: ../outside}
)");
  RunResult r = Validate(bad);
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("spec.forProvider.git.path must not contain '..'"), std::string::npos)
      << r.out;
}

// The same for the AnsibleRun kinds: a Git source without the playbook's path.
TEST_F(ProviderCrdsValidateTest, AnInvalidAnsibleRunFails) {
  const std::string bad = dir_.Write(
      "bad/ansiblerun.yaml", Head(kModernAnsibleGroup, "AnsibleRun", "bad", "default") + R"(spec:
  forProvider:
    source: Git
    git: {url: 'https://example.com/p.git', ref: v1}
)");
  RunResult r = Validate(bad);
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("spec.forProvider.git.path is required when source is Git"),
            std::string::npos)
      << r.out;
}

}  // namespace
}  // namespace platform::testing
