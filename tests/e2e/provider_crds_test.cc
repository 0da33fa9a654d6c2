// provider-workloads' API as users meet it: the CRDs in provider/package/crds
// (loaded by the ctest `controlplane` fixture into a real kube-apiserver), the
// examples in provider/examples, and the package metadata. Defaults, CEL
// rules and strict field validation are checked by the API server itself, and
// the examples once more by `crossplane beta validate`.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

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
// Namespaced objects made by these tests go here.
constexpr const char* kTestNamespace = "provider-crds-test";

std::string SharedCrds() {
  const std::string env = Tool("PLATFORM_SHARED_CRDS");
  return env.empty() ? kSource + "/../shared/crds" : env;
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
    args.insert(args.begin(), {KUBECTL_BIN, "--kubeconfig", CONTROLPLANE_KUBECONFIG});
    return RunCommand(args);
  }

  void EnsureNamespace(const std::string& ns) {
    const std::string file = dir_.Write(
        "ns-" + ns + ".yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + ns + "\n");
    RunResult r = Kubectl({"apply", "--server-side", "-f", file});
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
}

TEST_F(ProviderCrdsTest, EveryExampleIsAcceptedByServerSideDryRun) {
  const std::vector<std::string> files = YamlFiles(kExamples);
  ASSERT_GE(files.size(), 7u) << "too few examples in " << kExamples;
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
                        "terraform.workloads.m.terraforming.io/v1alpha1 Workspace", "v1 Secret"}) {
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

// `crossplane beta validate` over the examples against the CRDs, offline.
class ProviderCrdsValidateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(Tool("CROSSPLANE").empty()) << "CROSSPLANE is not set: run through `make test`";
    // validate looks up Crossplane's own schemas by the CLI's version in its
    // cache; seed it from the upstream CRDs so it never downloads.
    RunResult v = RunCommand({Tool("CROSSPLANE"), "version", "--client"});
    ASSERT_EQ(v.exit_code, 0) << v.err;
    const std::string version =
        v.out.substr(v.out.find(": ") + 2, v.out.find('\n') - v.out.find(": ") - 2);
    cache_ = dir_.path() + "/cache";
    const fs::path builtin =
        fs::path(cache_) / "xpkg.crossplane.io/crossplane" / ("crossplane@" + version);
    fs::create_directories(builtin);
    for (const auto& e : fs::directory_iterator(SharedCrds() + "/crossplane")) {
      fs::copy_file(e.path(), builtin / e.path().filename());
    }
  }

  RunResult Validate(const std::string& resources) {
    return RunCommand({Tool("CROSSPLANE"), "beta", "validate", kCrds, resources, "--cache-dir",
                       cache_, "--error-on-missing-schemas"});
  }

  TempDir dir_;
  std::string cache_;
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

}  // namespace
}  // namespace platform::testing
