// The GitOps delivery (deploy/): the kustomize base and overlays, the Helm
// chart and its helmfile, and the Argo CD manifests, rendered with the real
// tools and checked by the real kube-apiserver of the controlplane fixture
// (tests/controlplane/controlplane.sh), which has Crossplane's, Argo CD's and
// the function input's CRDs loaded, and CRDs generated from our XRDs.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/support/render.h"
#include "tests/support/subprocess.h"

namespace platform::testing {
namespace {

namespace fs = std::filesystem;

const std::string kSource = PLATFORM_SOURCE_DIR;
const std::string kDeploy = kSource + "/deploy";
const std::string kChart = kDeploy + "/helm/platform";
const std::vector<std::string> kStages = {"dev", "test", "sandbox", "prod"};

// One parsed document of a YAML stream, with its original text.
struct Doc {
  YAML::Node node;
  std::string text;
  std::string kind() const { return Str(node, {"kind"}); }
  std::string name() const { return Str(node, {"metadata", "name"}); }
};

std::vector<Doc> Docs(const std::string& stream) {
  std::vector<Doc> docs;
  for (const std::string& text : SplitDocuments(stream)) {
    YAML::Node node = YAML::Load(text);
    if (node.IsMap()) docs.push_back({node, text});
  }
  return docs;
}

// The one document of `kind` (and `name`, when given); undefined node if
// there is not exactly one.
Doc Find(const std::vector<Doc>& docs, const std::string& kind, const std::string& name = "") {
  std::vector<Doc> found;
  for (const Doc& d : docs) {
    if (d.kind() == kind && (name.empty() || d.name() == name)) found.push_back(d);
  }
  if (found.size() != 1) return {YAML::Node(YAML::NodeType::Undefined), ""};
  return found.front();
}

// A node as text with map keys sorted, so two renderings compare equal
// whatever order their tools emit keys in.
std::string Canonical(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Scalar:
      return "'" + n.Scalar() + "'";
    case YAML::NodeType::Sequence: {
      std::string out = "[";
      for (const YAML::Node& item : n) out += Canonical(item) + ",";
      return out + "]";
    }
    case YAML::NodeType::Map: {
      std::map<std::string, std::string> items;
      for (const auto& kv : n) items[kv.first.Scalar()] = Canonical(kv.second);
      std::string out = "{";
      for (const auto& [k, v] : items) out += k + ":" + v + ",";
      return out + "}";
    }
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Undefined:
      break;
  }
  return "<undefined>";
}

// The node at a dotted path ("classes.dev.maxZones").
YAML::Node Path(const YAML::Node& node, const std::string& dotted) {
  YAML::Node cur = YAML::Clone(node);
  std::size_t start = 0;
  while (start <= dotted.size()) {
    std::size_t end = dotted.find('.', start);
    if (end == std::string::npos) end = dotted.size();
    const std::string key = dotted.substr(start, end - start);
    if (!cur.IsMap() || !cur[key]) return YAML::Node(YAML::NodeType::Undefined);
    cur = cur[key];
    start = end + 1;
  }
  return cur;
}

class DeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(std::string(KUBECTL_BIN).empty())
        << "configure with -DKUBECTL_BIN (the Makefile does): run through `make test`";
    ASSERT_FALSE(Tool("HELM").empty()) << "HELM is not set: run through `make test`";
    ASSERT_FALSE(Tool("HELMFILE").empty()) << "HELMFILE is not set: run through `make test`";
    ASSERT_TRUE(fs::exists(CONTROLPLANE_KUBECONFIG))
        << "no control plane: these tests run inside ctest's controlplane fixture";
    // helm and helmfile get a home of their own: no repositories, plugins or
    // caches of the machine's user, so nothing can come from the network.
    home_ = dir_.path() + "/home";
    fs::create_directories(home_);
  }

  static RunResult Kubectl(std::vector<std::string> args) {
    args.insert(args.begin(), {KUBECTL_BIN, "--kubeconfig", CONTROLPLANE_KUBECONFIG});
    return RunCommand(args);
  }

  // Runs helm or helmfile with an empty HOME and the XDG folders in it.
  RunResult Offline(const std::string& tool, const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {"env",
                                     "HOME=" + home_,
                                     "XDG_CACHE_HOME=" + home_ + "/cache",
                                     "XDG_CONFIG_HOME=" + home_ + "/config",
                                     "XDG_DATA_HOME=" + home_ + "/data",
                                     "HELM_CACHE_HOME=" + home_ + "/cache/helm",
                                     "HELM_CONFIG_HOME=" + home_ + "/config/helm",
                                     "HELM_DATA_HOME=" + home_ + "/data/helm",
                                     "KUBECONFIG=" + std::string(CONTROLPLANE_KUBECONFIG),
                                     tool};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, std::chrono::seconds(180));
  }

  RunResult Helm(const std::vector<std::string>& args) const { return Offline(Tool("HELM"), args); }

  RunResult Helmfile(std::vector<std::string> args) const {
    args.insert(args.begin(),
                {"--file", kDeploy + "/helm/helmfile.yaml", "--helm-binary", Tool("HELM")});
    return Offline(Tool("HELMFILE"), args);
  }

  // `kubectl kustomize` of deploy/kustomize/<dir>.
  std::vector<Doc> Kustomize(const std::string& dir) {
    RunResult r = Kubectl({"kustomize", kDeploy + "/kustomize/" + dir});
    EXPECT_EQ(r.exit_code, 0) << dir << ":\n" << r.err;
    return Docs(r.out);
  }

  // The API server's version, e.g. 1.35.4, for helm's --kube-version.
  static std::string ServerVersion() {
    RunResult r = Kubectl({"version", "-o", "json"});
    if (r.exit_code != 0) return "";
    std::string v = Str(YAML::Load(r.out), {"serverVersion", "gitVersion"});
    if (!v.empty() && v[0] == 'v') v.erase(0, 1);
    return v.substr(0, v.find_first_of("-+"));
  }

  void EnsureNamespace(const std::string& ns) {
    RunResult r = Kubectl({"create", "namespace", ns});
    ASSERT_TRUE(r.exit_code == 0 || r.err.find("AlreadyExists") != std::string::npos) << r.err;
  }

  // `kubectl create --dry-run=server` of every document; expects each one
  // accepted.
  void ExpectAccepted(const std::vector<Doc>& docs, const std::string& what) {
    ASSERT_FALSE(docs.empty()) << what << ": nothing to create";
    std::set<std::string> namespaces;
    std::string stream;
    for (const Doc& d : docs) {
      if (const std::string ns = Str(d.node, {"metadata", "namespace"}); !ns.empty()) {
        namespaces.insert(ns);
      }
      stream += "---\n" + d.text;
    }
    for (const std::string& ns : namespaces) EnsureNamespace(ns);
    const std::string file = dir_.Write("created-" + std::to_string(files_++) + ".yaml", stream);
    RunResult r = Kubectl({"create", "--dry-run=server", "-o", "name", "-f", file});
    EXPECT_EQ(r.exit_code, 0) << what << " rejected:\n" << r.err << "\n" << stream;
    const auto accepted = std::count(r.out.begin(), r.out.end(), '\n');
    EXPECT_EQ(static_cast<std::size_t>(accepted), docs.size()) << what << ":\n" << r.out;
  }

  TempDir dir_;
  std::string home_;
  int files_ = 0;
};

// The provider's arguments, in order.
std::vector<std::string> ProviderArgs(const std::vector<Doc>& docs) {
  std::vector<std::string> args;
  const YAML::Node list =
      At(Find(docs, "DeploymentRuntimeConfig", "provider-workloads").node,
         {"spec", "deploymentTemplate", "spec", "template", "spec", "containers"});
  if (!list.IsSequence() || list.size() < 1u || !list[0]["args"].IsSequence()) return args;
  for (const YAML::Node& a : list[0]["args"]) args.push_back(a.Scalar());
  return args;
}

bool HasArg(const std::vector<std::string>& args, const std::string& prefix) {
  return std::any_of(args.begin(), args.end(),
                     [&](const std::string& a) { return a.rfind(prefix, 0) == 0; });
}

// A Helm hook (the chart's test): not part of the install.
bool IsHook(const Doc& d) {
  return !Str(d.node, {"metadata", "annotations", "helm.sh/hook"}).empty();
}

// The Argo CD sync wave of a document.
int Wave(const Doc& d) {
  return std::stoi(Str(d.node, {"metadata", "annotations", "argocd.argoproj.io/sync-wave"}));
}

// provider-workloads in a rendering of the install: its runtime config (user
// 2000, read-only root with /tmp on an emptyDir, no capabilities, resources,
// probes on :8080), the Provider, and the default ProviderConfigs naming the
// state namespace and the key Secret (never shipped).
void ExpectProvider(const std::vector<Doc>& docs) {
  const Doc provider = Find(docs, "Provider", "provider-workloads");
  ASSERT_TRUE(provider.node.IsDefined()) << "no Provider provider-workloads";
  EXPECT_EQ(Str(provider.node, {"apiVersion"}), "pkg.crossplane.io/v1");
  EXPECT_EQ(Str(provider.node, {"spec", "package"}),
            "xpkg.crossplane.io/terraforming/provider-workloads:v0.1.0");
  EXPECT_EQ(Str(provider.node, {"spec", "runtimeConfigRef", "kind"}), "DeploymentRuntimeConfig");
  EXPECT_EQ(Str(provider.node, {"spec", "runtimeConfigRef", "name"}), "provider-workloads");

  const Doc drc = Find(docs, "DeploymentRuntimeConfig", "provider-workloads");
  ASSERT_TRUE(drc.node.IsDefined()) << "no DeploymentRuntimeConfig provider-workloads";
  const YAML::Node pod = At(drc.node, {"spec", "deploymentTemplate", "spec", "template", "spec"});
  EXPECT_EQ(Str(pod, {"securityContext", "runAsNonRoot"}), "true");
  EXPECT_EQ(Str(pod, {"securityContext", "runAsUser"}), "2000");
  EXPECT_EQ(Str(pod, {"securityContext", "runAsGroup"}), "2000");
  EXPECT_EQ(Str(pod, {"securityContext", "seccompProfile", "type"}), "RuntimeDefault");
  // The provider, and with change logs on, Crossplane's change-log sidecar
  // sharing a volume for its socket.
  ASSERT_TRUE(pod["containers"].IsSequence() &&
              (pod["containers"].size() == 1u || pod["containers"].size() == 2u));
  const YAML::Node c = pod["containers"][0];
  if (pod["containers"].size() == 2u) {
    const YAML::Node sidecar = pod["containers"][1];
    EXPECT_EQ(Str(sidecar, {"name"}), "changelogs-sidecar");
    EXPECT_EQ(Str(sidecar, {"image"}).rfind("xpkg.crossplane.io/crossplane/changelogs-sidecar:", 0),
              0u);
    EXPECT_EQ(Str(sidecar, {"securityContext", "readOnlyRootFilesystem"}), "true");
    EXPECT_EQ(Canonical(sidecar["volumeMounts"]),
              "[{mountPath:'/var/run/changelogs',name:'changelogs',},]");
    std::vector<std::string> args;
    for (const YAML::Node& a : c["args"]) args.push_back(a.Scalar());
    EXPECT_NE(std::find(args.begin(), args.end(), "--enable-changelogs"), args.end());
    bool mounted = false;
    for (const YAML::Node& m : c["volumeMounts"]) {
      mounted |= Str(m, {"name"}) == "changelogs" && Str(m, {"mountPath"}) == "/var/run/changelogs";
    }
    EXPECT_TRUE(mounted) << "the provider does not see the sidecar's socket";
  }
  EXPECT_EQ(Str(c, {"name"}), "package-runtime");
  EXPECT_EQ(Str(c, {"securityContext", "runAsUser"}), "2000");
  EXPECT_EQ(Str(c, {"securityContext", "allowPrivilegeEscalation"}), "false");
  EXPECT_EQ(Str(c, {"securityContext", "readOnlyRootFilesystem"}), "true");
  EXPECT_EQ(Canonical(At(c, {"securityContext", "capabilities", "drop"})), "['ALL',]");
  EXPECT_FALSE(At(c, {"securityContext", "capabilities", "add"}).IsDefined());
  for (const char* kind : {"requests", "limits"}) {
    for (const char* resource : {"cpu", "memory"}) {
      EXPECT_FALSE(Str(c, {"resources", kind, resource}).empty()) << kind << "." << resource;
    }
  }
  // /tmp (TMPDIR: the working folders) is the one writable place: an
  // emptyDir of the pod.
  std::string tmp_volume;
  for (const YAML::Node& m : c["volumeMounts"]) {
    if (Str(m, {"mountPath"}) == "/tmp") tmp_volume = Str(m, {"name"});
  }
  ASSERT_FALSE(tmp_volume.empty()) << "nothing mounted at /tmp";
  bool empty_dir = false;
  for (const YAML::Node& v : pod["volumes"]) {
    if (Str(v, {"name"}) == tmp_volume) empty_dir = v["emptyDir"].IsDefined();
  }
  EXPECT_TRUE(empty_dir) << tmp_volume << " is not an emptyDir";
  EXPECT_EQ(Str(c, {"livenessProbe", "httpGet", "path"}), "/healthz");
  EXPECT_EQ(Str(c, {"livenessProbe", "httpGet", "port"}), "8080");
  EXPECT_EQ(Str(c, {"readinessProbe", "httpGet", "path"}), "/readyz");
  EXPECT_EQ(Str(c, {"readinessProbe", "httpGet", "port"}), "8080");
  const std::vector<std::string> args = ProviderArgs(docs);
  for (const char* want :
       {"--poll=", "--max-reconcile-rate=", "--leader-election", "--log-format=json"}) {
    EXPECT_TRUE(HasArg(args, want)) << want;
  }

  const struct {
    const char* kind;
    const char* api;
  } configs[] = {
      {"ClusterProviderConfig", "terraform.workloads.m.terraforming.io/v1alpha1"},
      {"ProviderConfig", "terraform.workloads.terraforming.io/v1alpha1"},
  };
  for (const auto& pc : configs) {
    const Doc d = Find(docs, pc.kind, "default");
    ASSERT_TRUE(d.node.IsDefined()) << "no " << pc.kind << " default";
    EXPECT_EQ(Str(d.node, {"apiVersion"}), pc.api);
    EXPECT_EQ(Str(d.node, {"spec", "state", "namespace"}), "crossplane-system") << pc.kind;
    EXPECT_EQ(Str(d.node, {"spec", "state", "history"}), "5") << pc.kind;
    EXPECT_EQ(Canonical(At(d.node, {"spec", "state", "encryptionKeySecretRef"})),
              "{key:'key',name:'provider-workloads-state-key',namespace:'crossplane-system',}")
        << pc.kind;
    // Its CRD arrives with the Provider: Argo CD syncs it later, without a
    // dry run while the kind is unknown.
    EXPECT_NE(Str(d.node, {"metadata", "annotations", "argocd.argoproj.io/sync-options"})
                  .find("SkipDryRunOnMissingResource=true"),
              std::string::npos)
        << pc.kind;
    EXPECT_LT(Wave(provider), Wave(d)) << pc.kind;
  }
  EXPECT_LT(Wave(drc), Wave(provider));
  // The key is made out of band: no Secret is delivered.
  for (const Doc& d : docs) EXPECT_NE(d.kind(), "Secret") << d.name();
}

// platform-admission: every object of it bears this name, the program's
// default for its Service, Secret (with -tls) and webhook configurations.
const std::string kAdmission = "platform-admission";
// The API groups of the platform's claims and cluster-scoped XRs, and of
// its namespaced XRs.
const std::set<std::string> kPlatformGroups = {"platform.terraforming.io",
                                               "platform.m.terraforming.io"};
// Namespaces the webhook must never judge.
const std::set<std::string> kSystemNamespaces = {"kube-system", "kube-public", "kube-node-lease",
                                                 "crossplane-system"};

std::set<std::string> Strings(const YAML::Node& seq) {
  std::set<std::string> out;
  if (seq.IsDefined() && seq.IsSequence()) {
    for (const YAML::Node& item : seq) out.insert(item.Scalar());
  }
  return out;
}

// A copy of an object without metadata.labels (the chart's labels differ
// from kustomize's by design).
YAML::Node WithoutLabels(const YAML::Node& node) {
  YAML::Node copy = YAML::Clone(node);
  if (copy["metadata"].IsMap()) copy["metadata"].remove("labels");
  return copy;
}

// What RBAC rules grant, one "group/resource verb" (with " name" when the
// rule names its objects) per grant, so a rule that grants more shows.
std::set<std::string> Grants(const YAML::Node& rules) {
  std::set<std::string> out;
  for (const YAML::Node& rule : rules) {
    for (const std::string& group : Strings(rule["apiGroups"])) {
      for (const std::string& resource : Strings(rule["resources"])) {
        for (const std::string& verb : Strings(rule["verbs"])) {
          const std::string grant = group + "/" + resource + " " + verb;
          const std::set<std::string> names = Strings(rule["resourceNames"]);
          if (names.empty()) out.insert(grant);
          for (const std::string& name : names) out.insert(grant + " " + name);
        }
      }
    }
  }
  return out;
}

// platform-admission's registrations, as a rendering (namespace `ns`) has
// them: one webhook each, called through the Service (whose names the
// serving certificate carries) and never by URL, with no caBundle (the
// webhook writes its own CA there); CREATE and UPDATE of every kind and
// version of the platform's two groups and nothing else; never the system
// namespaces or the webhook's own; failurePolicy Fail, no side effects.
void ExpectWebhookConfigurations(const std::vector<Doc>& docs, const std::string& ns) {
  const struct {
    const char* kind;
    const char* webhook;
    const char* path;
  } configs[] = {
      {"ValidatingWebhookConfiguration", "validate.platform.terraforming.io", "/validate"},
      {"MutatingWebhookConfiguration", "mutate.platform.terraforming.io", "/mutate"},
  };
  for (const auto& c : configs) {
    SCOPED_TRACE(c.kind);
    const Doc config = Find(docs, c.kind, kAdmission);
    ASSERT_TRUE(config.node.IsDefined()) << "no " << c.kind << " " << kAdmission;
    EXPECT_EQ(Str(config.node, {"apiVersion"}), "admissionregistration.k8s.io/v1");
    const YAML::Node webhooks = config.node["webhooks"];
    ASSERT_TRUE(webhooks.IsSequence() && webhooks.size() == 1u) << config.text;
    const YAML::Node w = webhooks[0];
    EXPECT_EQ(Str(w, {"name"}), c.webhook);
    EXPECT_FALSE(At(w, {"clientConfig", "caBundle"}).IsDefined())
        << "the webhook writes its CA into caBundle itself";
    EXPECT_EQ(Canonical(At(w, {"clientConfig"})), "{service:{name:'" + kAdmission +
                                                      "',namespace:'" + ns + "',path:'" + c.path +
                                                      "',port:'443',},}");
    ASSERT_TRUE(w["rules"].IsSequence() && w["rules"].size() == 1u) << config.text;
    const YAML::Node rule = w["rules"][0];
    EXPECT_EQ(Strings(rule["apiGroups"]), kPlatformGroups);
    EXPECT_EQ(Strings(rule["operations"]), (std::set<std::string>{"CREATE", "UPDATE"}));
    EXPECT_EQ(Canonical(rule["apiVersions"]), "['*',]");
    // The objects, not their status (a subresource would be "*/status").
    EXPECT_EQ(Canonical(rule["resources"]), "['*',]");
    EXPECT_EQ(Str(rule, {"scope"}), "*");
    EXPECT_EQ(Str(w, {"matchPolicy"}), "Equivalent");
    // Namespaces by their immutable name label; no other selector narrows
    // what is judged.
    EXPECT_FALSE(w["objectSelector"].IsDefined());
    EXPECT_FALSE(At(w, {"namespaceSelector", "matchLabels"}).IsDefined());
    const YAML::Node expressions = At(w, {"namespaceSelector", "matchExpressions"});
    ASSERT_TRUE(expressions.IsSequence() && expressions.size() == 1u) << config.text;
    EXPECT_EQ(Str(expressions[0], {"key"}), "kubernetes.io/metadata.name");
    EXPECT_EQ(Str(expressions[0], {"operator"}), "NotIn");
    const std::set<std::string> excluded = Strings(expressions[0]["values"]);
    for (const std::string& system : kSystemNamespaces) {
      EXPECT_TRUE(excluded.count(system)) << system << " is judged";
    }
    EXPECT_TRUE(excluded.count(ns)) << "the webhook's own namespace " << ns << " is judged";
    for (const char* judged : {"default", "payments"}) EXPECT_FALSE(excluded.count(judged));
    EXPECT_EQ(Str(w, {"failurePolicy"}), "Fail");
    EXPECT_EQ(Str(w, {"sideEffects"}), "None");
    EXPECT_EQ(Canonical(w["admissionReviewVersions"]), "['v1',]");
    EXPECT_EQ(Str(w, {"timeoutSeconds"}), "5");
    if (std::string(c.kind) == "MutatingWebhookConfiguration") {
      EXPECT_EQ(Str(w, {"reinvocationPolicy"}), "Never");
    }
  }
}

// platform-admission in a rendering of the install: its pods (the
// Function package's image, hardened, probed over HTTPS on :9443), Service,
// disruption budget, RBAC (no more than it needs) and registrations, in the
// sync waves that let its pods serve before the API server calls them.
void ExpectAdmission(const std::vector<Doc>& docs) {
  const Doc deployment = Find(docs, "Deployment", kAdmission);
  ASSERT_TRUE(deployment.node.IsDefined()) << "no Deployment " << kAdmission;
  EXPECT_EQ(Str(deployment.node, {"apiVersion"}), "apps/v1");
  const std::string ns = Str(deployment.node, {"metadata", "namespace"});
  ASSERT_FALSE(ns.empty()) << "the Deployment names no namespace";
  // Its namespaced objects, in one namespace; everything else is
  // cluster-scoped.
  for (const char* kind :
       {"ServiceAccount", "Role", "RoleBinding", "Service", "PodDisruptionBudget"}) {
    const Doc d = Find(docs, kind, kAdmission);
    ASSERT_TRUE(d.node.IsDefined()) << "no " << kind << " " << kAdmission;
    EXPECT_EQ(Str(d.node, {"metadata", "namespace"}), ns) << kind;
  }
  for (const Doc& d : docs) {
    const std::string in = Str(d.node, {"metadata", "namespace"});
    if (!in.empty() && !IsHook(d)) {
      EXPECT_EQ(d.name() + " in " + in, kAdmission + " in " + ns) << d.kind();
    }
  }

  // Two pods, spread over nodes, selected by labels their template has.
  const YAML::Node spec = deployment.node["spec"];
  EXPECT_EQ(Str(spec, {"replicas"}), "2");
  const YAML::Node selector = At(spec, {"selector", "matchLabels"});
  ASSERT_TRUE(selector.IsMap() && selector.size() > 0u) << deployment.text;
  const YAML::Node template_labels = At(spec, {"template", "metadata", "labels"});
  ASSERT_TRUE(template_labels.IsMap()) << deployment.text;
  for (const auto& kv : selector) {
    const YAML::Node value = template_labels[kv.first.Scalar()];
    EXPECT_TRUE(value.IsDefined() && value.IsScalar() && value.Scalar() == kv.second.Scalar())
        << kv.first.Scalar();
  }
  const YAML::Node pod = At(spec, {"template", "spec"});
  EXPECT_EQ(Str(pod, {"serviceAccountName"}), kAdmission);
  bool spread = false;
  for (const YAML::Node& t : pod["topologySpreadConstraints"]) {
    spread |= Str(t, {"topologyKey"}) == "kubernetes.io/hostname" &&
              Canonical(At(t, {"labelSelector", "matchLabels"})) == Canonical(selector);
  }
  EXPECT_TRUE(spread) << "the pods are not spread over nodes";
  EXPECT_EQ(Str(pod, {"securityContext", "runAsNonRoot"}), "true");
  EXPECT_EQ(Str(pod, {"securityContext", "runAsUser"}), "65532");
  EXPECT_EQ(Str(pod, {"securityContext", "seccompProfile", "type"}), "RuntimeDefault");
  ASSERT_TRUE(pod["containers"].IsSequence() && pod["containers"].size() == 1u);
  EXPECT_FALSE(pod["initContainers"].IsDefined());
  const YAML::Node c = pod["containers"][0];
  // The program ships in the function's runtime image: the image is the
  // Function package's reference, run with its own entry point.
  const Doc function = Find(docs, "Function", "terraforming-function-platform");
  ASSERT_TRUE(function.node.IsDefined());
  EXPECT_EQ(Str(c, {"image"}), Str(function.node, {"spec", "package"}));
  EXPECT_EQ(Canonical(c["command"]), "['/platform-admission',]");
  std::vector<std::string> args;
  for (const YAML::Node& a : c["args"]) args.push_back(a.Scalar());
  EXPECT_TRUE(HasArg(args, "--log-format=json"));
  // The names stay the program's defaults, which the RBAC names too.
  for (const char* fixed :
       {"--namespace", "--tls-secret", "--service", "--hosts",
        "--validating-webhook-configurations", "--mutating-webhook-configurations"}) {
    EXPECT_FALSE(HasArg(args, fixed)) << fixed;
  }
  bool pod_namespace = false;
  for (const YAML::Node& e : c["env"]) {
    pod_namespace |= Str(e, {"name"}) == "POD_NAMESPACE" &&
                     Str(e, {"valueFrom", "fieldRef", "fieldPath"}) == "metadata.namespace";
  }
  EXPECT_TRUE(pod_namespace) << "POD_NAMESPACE is not the pod's namespace";
  EXPECT_EQ(Str(c, {"securityContext", "allowPrivilegeEscalation"}), "false");
  EXPECT_EQ(Str(c, {"securityContext", "readOnlyRootFilesystem"}), "true");
  EXPECT_EQ(Canonical(At(c, {"securityContext", "capabilities", "drop"})), "['ALL',]");
  EXPECT_FALSE(At(c, {"securityContext", "capabilities", "add"}).IsDefined());
  EXPECT_FALSE(At(c, {"securityContext", "privileged"}).IsDefined());
  for (const char* kind : {"requests", "limits"}) {
    for (const char* resource : {"cpu", "memory"}) {
      EXPECT_FALSE(Str(c, {"resources", kind, resource}).empty()) << kind << "." << resource;
    }
  }
  std::string port_name;
  for (const YAML::Node& p : c["ports"]) {
    if (Str(p, {"containerPort"}) == "9443") port_name = Str(p, {"name"});
  }
  EXPECT_FALSE(port_name.empty()) << "no container port 9443";
  for (const auto& [probe, path] :
       {std::pair<const char*, const char*>{"livenessProbe", "/healthz"},
        {"readinessProbe", "/readyz"}}) {
    EXPECT_EQ(Str(c, {probe, "httpGet", "path"}), path) << probe;
    EXPECT_EQ(Str(c, {probe, "httpGet", "port"}), "9443") << probe;
    EXPECT_EQ(Str(c, {probe, "httpGet", "scheme"}), "HTTPS") << probe;
  }

  // The Service the webhook configurations name: 443 to the pods' 9443.
  const Doc service = Find(docs, "Service", kAdmission);
  const YAML::Node ports = At(service.node, {"spec", "ports"});
  ASSERT_TRUE(ports.IsSequence() && ports.size() == 1u) << service.text;
  EXPECT_EQ(Str(ports[0], {"port"}), "443");
  const std::string target = Str(ports[0], {"targetPort"});
  EXPECT_TRUE(target == "9443" || target == port_name) << target;
  EXPECT_EQ(Canonical(At(service.node, {"spec", "selector"})), Canonical(selector));
  // A drain leaves one pod serving.
  const Doc pdb = Find(docs, "PodDisruptionBudget", kAdmission);
  EXPECT_EQ(Str(pdb.node, {"apiVersion"}), "policy/v1");
  EXPECT_EQ(Str(pdb.node, {"spec", "minAvailable"}), "1");
  EXPECT_EQ(Canonical(At(pdb.node, {"spec", "selector", "matchLabels"})), Canonical(selector));

  // RBAC: read the policy and the namespaces, patch only its own
  // registrations, and touch only its own Secret (create cannot be limited
  // to a name).
  EXPECT_EQ(Grants(Find(docs, "ClusterRole", kAdmission).node["rules"]),
            (std::set<std::string>{
                "apiextensions.crossplane.io/environmentconfigs get",
                "apiextensions.crossplane.io/environmentconfigs list",
                "apiextensions.crossplane.io/environmentconfigs watch",
                "/namespaces get",
                "/namespaces list",
                "/namespaces watch",
                "admissionregistration.k8s.io/mutatingwebhookconfigurations get " + kAdmission,
                "admissionregistration.k8s.io/mutatingwebhookconfigurations patch " + kAdmission,
                "admissionregistration.k8s.io/validatingwebhookconfigurations get " + kAdmission,
                "admissionregistration.k8s.io/validatingwebhookconfigurations patch " + kAdmission,
            }));
  EXPECT_EQ(Grants(Find(docs, "Role", kAdmission).node["rules"]),
            (std::set<std::string>{"/secrets create", "/secrets get " + kAdmission + "-tls",
                                   "/secrets update " + kAdmission + "-tls"}));
  for (const auto& [binding, role] :
       {std::pair<const char*, const char*>{"ClusterRoleBinding", "ClusterRole"},
        {"RoleBinding", "Role"}}) {
    const Doc b = Find(docs, binding, kAdmission);
    ASSERT_TRUE(b.node.IsDefined()) << "no " << binding << " " << kAdmission;
    EXPECT_EQ(Canonical(b.node["roleRef"]), "{apiGroup:'rbac.authorization.k8s.io',kind:'" +
                                                std::string(role) + "',name:'" + kAdmission + "',}")
        << binding;
    EXPECT_EQ(Canonical(b.node["subjects"]),
              "[{kind:'ServiceAccount',name:'" + kAdmission + "',namespace:'" + ns + "',},]")
        << binding;
  }

  ExpectWebhookConfigurations(docs, ns);

  // Sync waves: RBAC before the pods, the pods with the function, and the
  // registrations last: after the Configuration (the kinds they judge) and
  // after the pods are available.
  for (const char* kind :
       {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}) {
    EXPECT_LT(Wave(Find(docs, kind, kAdmission)), Wave(deployment)) << kind;
  }
  EXPECT_EQ(Wave(deployment), Wave(function));
  EXPECT_EQ(Wave(service), Wave(deployment));
  EXPECT_EQ(Wave(pdb), Wave(deployment));
  for (const char* kind : {"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"}) {
    const int last = Wave(Find(docs, kind, kAdmission));
    for (const Doc& d : docs) {
      if (d.kind().ends_with("WebhookConfiguration") || IsHook(d)) continue;
      EXPECT_LT(Wave(d), last) << kind << " is not after " << d.kind() << " " << d.name();
    }
  }
}

// What every rendering of the install (kustomize base or overlay, chart,
// helmfile environment) must hold.
void ExpectInstall(const std::vector<Doc>& docs, const std::string& what) {
  SCOPED_TRACE(what);
  const Doc function = Find(docs, "Function", "terraforming-function-platform");
  ASSERT_TRUE(function.node.IsDefined()) << "no Function terraforming-function-platform";
  EXPECT_EQ(Str(function.node, {"spec", "package"}),
            "xpkg.crossplane.io/terraforming/function-platform:v0.1.0");
  EXPECT_EQ(Str(function.node, {"apiVersion"}), "pkg.crossplane.io/v1");
  const std::string runtime = Str(function.node, {"spec", "runtimeConfigRef", "name"});
  EXPECT_EQ(Str(function.node, {"spec", "runtimeConfigRef", "kind"}), "DeploymentRuntimeConfig");

  const Doc drc = Find(docs, "DeploymentRuntimeConfig", runtime);
  ASSERT_TRUE(drc.node.IsDefined()) << "no DeploymentRuntimeConfig " << runtime;
  const YAML::Node pod = At(drc.node, {"spec", "deploymentTemplate", "spec", "template", "spec"});
  EXPECT_EQ(Str(pod, {"securityContext", "runAsNonRoot"}), "true");
  ASSERT_TRUE(pod["containers"].IsSequence() && pod["containers"].size() == 1u);
  const YAML::Node container = pod["containers"][0];
  EXPECT_EQ(Str(container, {"name"}), "package-runtime");
  EXPECT_EQ(Str(container, {"securityContext", "allowPrivilegeEscalation"}), "false");
  EXPECT_EQ(Str(container, {"securityContext", "readOnlyRootFilesystem"}), "true");
  for (const char* kind : {"requests", "limits"}) {
    for (const char* resource : {"cpu", "memory"}) {
      EXPECT_FALSE(Str(container, {"resources", kind, resource}).empty())
          << kind << "." << resource;
    }
  }
  // Metrics on :8080, which the probes ask too (docs/operations.md).
  ASSERT_TRUE(container["args"].IsSequence()) << "function-platform has no args";
  EXPECT_EQ(container["args"][0].as<std::string>(), "--metrics-address=:8080");
  EXPECT_EQ(Str(container, {"livenessProbe", "httpGet", "path"}), "/healthz");
  EXPECT_EQ(Str(container, {"readinessProbe", "httpGet", "path"}), "/readyz");
  EXPECT_EQ(Str(container, {"readinessProbe", "httpGet", "port"}), "8080");

  const Doc configuration = Find(docs, "Configuration", "configuration-platform");
  ASSERT_TRUE(configuration.node.IsDefined()) << "no Configuration configuration-platform";
  EXPECT_EQ(Str(configuration.node, {"spec", "package"}),
            "xpkg.crossplane.io/terraforming/configuration-platform:v0.1.0");

  const Doc ec = Find(docs, "EnvironmentConfig", "platform-policy");
  ASSERT_TRUE(ec.node.IsDefined()) << "no EnvironmentConfig platform-policy";
  EXPECT_EQ(Str(ec.node, {"apiVersion"}), "apiextensions.crossplane.io/v1beta1");
  EXPECT_TRUE(At(ec.node, {"data", "policy", "classes"}).IsMap());
  EXPECT_FALSE(At(ec.node, {"data", "policy", "environmentConfigRef"}).IsDefined());

  // Crossplane itself may compose Cluster API objects: a ClusterRole its
  // own ClusterRole aggregates, in place before any Composition.
  const Doc role = Find(docs, "ClusterRole", "crossplane:composite:cluster-api");
  ASSERT_TRUE(role.node.IsDefined()) << "no ClusterRole crossplane:composite:cluster-api";
  EXPECT_EQ(Str(role.node, {"metadata", "labels", "rbac.crossplane.io/aggregate-to-crossplane"}),
            "true");
  std::set<std::string> groups;
  for (const YAML::Node& rule : role.node["rules"]) {
    for (const YAML::Node& g : rule["apiGroups"]) groups.insert(g.as<std::string>());
    EXPECT_EQ(rule["resources"][0].as<std::string>(), "*");
  }
  EXPECT_EQ(groups, (std::set<std::string>{"bootstrap.cluster.x-k8s.io", "cluster.x-k8s.io",
                                           "controlplane.cluster.x-k8s.io",
                                           "infrastructure.cluster.x-k8s.io"}));
  EXPECT_LT(Wave(role), Wave(configuration));

  // Argo CD sync waves: runtime config and function before the
  // Configuration (its XRDs and Compositions), and that before the policies.
  EXPECT_LT(Wave(drc), Wave(function));
  EXPECT_LT(Wave(function), Wave(configuration));
  EXPECT_LT(Wave(configuration), Wave(ec));

  ExpectProvider(docs);
  ExpectAdmission(docs);
}

TEST_F(DeliveryTest, KustomizeBaseAndEveryOverlayAreAcceptedByTheApiServer) {
  std::vector<std::string> dirs = {"base"};
  for (const std::string& s : kStages) dirs.push_back("overlays/" + s);
  for (const std::string& d : dirs) {
    const std::vector<Doc> docs = Kustomize(d);
    ASSERT_EQ(docs.size(), 19u) << d;
    ExpectInstall(docs, d);
    ExpectAccepted(docs, d);
    // Only dev logs every reconcile.
    EXPECT_EQ(HasArg(ProviderArgs(docs), "--debug"), d == "overlays/dev") << d;
    if (d == "base") {
      // deploy/README.md's table names every object the base installs.
      const std::string readme = ReadFile(kDeploy + "/README.md");
      for (const Doc& doc : docs) {
        const std::string row = "| `" + doc.kind() + "` (`" + Str(doc.node, {"apiVersion"}) +
                                "`) | `" + doc.name() + "` |";
        EXPECT_NE(readme.find(row), std::string::npos) << "deploy/README.md has no row " << row;
      }
    }
    if (d != "base") {
      const std::string stage = d.substr(d.find('/') + 1);
      for (const Doc& doc : docs) {
        EXPECT_EQ(Str(doc.node, {"metadata", "labels", "platform.terraforming.io/stage"}), stage)
            << d << ": " << doc.kind();
      }
    }
  }
}

// The overlays really change the policies in flight, and only what they
// mean to change.
TEST_F(DeliveryTest, OverlaysChangeThePolicyAsIntended) {
  const YAML::Node base = At(Find(Kustomize("base"), "EnvironmentConfig").node, {"data", "policy"});
  ASSERT_TRUE(base.IsMap());
  struct Change {
    std::string stage;
    std::string path;
    std::string base;     // canonical text in the base
    std::string overlay;  // canonical text in the overlay
  };
  const Change changes[] = {
      {"dev", "classes.dev.allowedRegions", "['eu-west-1','eu-central-1',]", "['eu-west-1',]"},
      {"dev", "classes.dev.cluster.maxNodesPerPool", "'5'", "'3'"},
      {"dev", "classes.dev.database.maxStorageGiB", "'100'", "'50'"},
      {"dev", "classes.prod.maxZones", "'4'", "'2'"},
      {"dev", "tags.stage", "<undefined>", "'dev'"},
      {"test", "classes.test.maxZones", "'3'", "'2'"},
      {"test", "classes.test.cluster.maxNodesPerPool", "'10'", "'20'"},
      {"test", "classes.test.database.maxStorageGiB", "'200'", "'500'"},
      {"test", "tags.stage", "<undefined>", "'test'"},
      {"sandbox", "classes.sandbox.allowedRegions", "['eu-west-1','eu-central-1','us-east-1',]",
       "['us-east-1',]"},
      {"sandbox", "classes.sandbox.maxZones", "'2'", "'1'"},
      {"sandbox", "classes.sandbox.defaultNatStrategy", "'Single'", "'None'"},
      {"sandbox", "classes.sandbox.cluster.maxNodesPerPool", "'3'", "'2'"},
      {"sandbox", "classes.sandbox.database.maxStorageGiB", "'50'", "'20'"},
      {"sandbox", "tags.expires-after", "<undefined>", "'14d'"},
      {"prod", "tags.stage", "<undefined>", "'prod'"},
      {"prod", "tags.cost-allocation", "<undefined>", "'platform-prod'"},
  };
  // What no overlay touches stays as in the base.
  const char* kept[] = {"tags.owner", "classes.prod.allowedRegions",
                        "classes.prod.database.requireMultiAZ",
                        "classes.dev.cluster.endpointAccess"};
  for (const std::string& stage : kStages) {
    SCOPED_TRACE(stage);
    const YAML::Node policy =
        At(Find(Kustomize("overlays/" + stage), "EnvironmentConfig", "platform-policy").node,
           {"data", "policy"});
    ASSERT_TRUE(policy.IsMap());
    EXPECT_NE(Canonical(policy), Canonical(base)) << "the overlay changes nothing";
    for (const Change& c : changes) {
      if (c.stage != stage) continue;
      EXPECT_EQ(Canonical(Path(base, c.path)), c.base) << "base " << c.path;
      EXPECT_EQ(Canonical(Path(policy, c.path)), c.overlay) << c.path;
    }
    for (const char* k : kept) {
      EXPECT_EQ(Canonical(Path(policy, k)), Canonical(Path(base, k))) << k;
    }
    // Tags merge: the base's stay beside the overlay's.
    EXPECT_EQ(Str(policy, {"tags", "data-classification"}), "internal");
  }
  // Lists replace: the sandbox's rules replace the base's.
  const YAML::Node sandbox =
      At(Find(Kustomize("overlays/sandbox"), "EnvironmentConfig").node, {"data", "policy"});
  ASSERT_TRUE(sandbox["authorization"].IsSequence());
  ASSERT_EQ(sandbox["authorization"].size(), 1u);
  EXPECT_EQ(Str(sandbox["authorization"][0], {"name"}), "everyone-sandbox");
  // The prod control plane authorizes production work only.
  const YAML::Node prod =
      At(Find(Kustomize("overlays/prod"), "EnvironmentConfig").node, {"data", "policy"});
  ASSERT_TRUE(prod["authorization"].IsSequence());
  ASSERT_EQ(prod["authorization"].size(), 1u);
  EXPECT_EQ(Canonical(prod["authorization"][0]["classes"]), "['prod',]");
}

// Only prod runs more than one function pod.
TEST_F(DeliveryTest, ProdOverlayRunsTwoFunctionPods) {
  for (const std::string& stage : kStages) {
    const Doc drc = Find(Kustomize("overlays/" + stage), "DeploymentRuntimeConfig",
                         "terraforming-function-platform");
    ASSERT_TRUE(drc.node.IsDefined()) << stage;
    EXPECT_EQ(Str(drc.node, {"spec", "deploymentTemplate", "spec", "replicas"}),
              stage == "prod" ? "2" : "1")
        << stage;
  }
}

// Every policy we ship is a valid function input: wrapped in an Input, the
// API server checks it against package/input/'s schema.
TEST_F(DeliveryTest, EveryShippedPolicyIsAValidFunctionInput) {
  EnsureNamespace("platform-delivery");
  auto input = [](const YAML::Node& policy) {
    YAML::Node in;
    in["apiVersion"] = "platform.fn.terraforming.io/v1beta1";
    in["kind"] = "Input";
    in["metadata"]["name"] = "policy";
    in["metadata"]["namespace"] = "platform-delivery";
    in["policy"] = policy;
    return YAML::Dump(in) + "\n";
  };
  std::vector<std::string> dirs = {"base"};
  for (const std::string& s : kStages) dirs.push_back("overlays/" + s);
  for (const std::string& d : dirs) {
    const YAML::Node policy = At(Find(Kustomize(d), "EnvironmentConfig").node, {"data", "policy"});
    ASSERT_TRUE(policy.IsMap()) << d;
    ExpectAccepted(Docs(input(policy)), d + " as an Input");
  }

  // The check can fail: a class may span at most 6 zones.
  YAML::Node bad = YAML::Clone(At(Find(Kustomize("base"), "EnvironmentConfig").node, {"data"}));
  bad["policy"]["classes"]["dev"]["maxZones"] = 7;
  RunResult r = Kubectl(
      {"create", "--dry-run=server", "-f", dir_.Write("bad-input.yaml", input(bad["policy"]))});
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.err.find("maxZones"), std::string::npos) << r.err;
}

// The function itself applies an overlay's policy: the Composition's step
// input names platform-policy (as the platform team sets it), and render
// answers that requirement with the overlay's EnvironmentConfig.
TEST_F(DeliveryTest, FunctionAppliesTheOverlayPolicy) {
  ASSERT_FALSE(Tool("CROSSPLANE").empty()) << "CROSSPLANE is not set: run through `make test`";
  FunctionUnderTest function(FUNCTION_PLATFORM_BIN);
  ASSERT_TRUE(function.ok()) << function.log();

  std::string composition = ReadFile(kSource + "/compositions/xenvironment.yaml");
  const std::string kind = "        kind: Input\n";
  const std::size_t at = composition.find(kind);
  ASSERT_NE(at, std::string::npos) << composition;
  composition.insert(at + kind.size(),
                     "        policy:\n          environmentConfigRef: {name: platform-policy}\n");
  const std::string comp = dir_.Write("composition.yaml", composition);

  // A test environment in three zones: the base allows it, the test
  // overlay (at most 2 zones) does not.
  const std::string xr = dir_.Write("xr.yaml", R"(apiVersion: platform.terraforming.io/v1alpha1
kind: XEnvironment
metadata:
  name: search-test
spec:
  parameters:
    environment: test
    region: eu-west-1
    team: search
    zoneCount: 3
)");
  auto render = [&](const std::string& dir) {
    const Doc ec = Find(Kustomize(dir), "EnvironmentConfig", "platform-policy");
    EXPECT_TRUE(ec.node.IsDefined()) << dir;
    const std::string file = dir_.Write("ec-" + std::to_string(files_++) + ".yaml", ec.text);
    return function.Render(xr, comp, {"--required-resources=" + file},
                           kSource + "/xrds/xenvironment.yaml");
  };

  RunResult base = render("base");
  ASSERT_EQ(base.exit_code, 0) << base.err;
  const Rendered out = ParseRendered(base.out);
  ASSERT_TRUE(out.resources.count("vpc")) << base.out;
  // The EnvironmentConfig's mandated tags reach the AWS resources.
  EXPECT_EQ(Str(out.resources.at("vpc"), {"spec", "forProvider", "tags", "owner"}),
            "platform-team");

  RunResult test = render("overlays/test");
  EXPECT_NE(test.exit_code, 0) << test.out;
  const std::string fatal = FatalMessage(test);
  EXPECT_TRUE(fatal.starts_with("spec.parameters.zoneCount")) << test.err;
  EXPECT_NE(fatal.find("at most 2 zones"), std::string::npos) << test.err;

  // The dev overlay allows it, and tags it with its stage.
  RunResult dev = render("overlays/dev");
  ASSERT_EQ(dev.exit_code, 0) << dev.err;
  const Rendered dev_out = ParseRendered(dev.out);
  ASSERT_TRUE(dev_out.resources.count("vpc")) << dev.out;
  EXPECT_EQ(Str(dev_out.resources.at("vpc"), {"spec", "forProvider", "tags", "stage"}), "dev");
}

TEST_F(DeliveryTest, HelmLintPassesAndCanFail) {
  RunResult r = Helm({"lint", "--strict", kChart});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("0 chart(s) failed"), std::string::npos) << r.out;
  for (const std::string& stage : kStages) {
    RunResult s =
        Helm({"lint", "--strict", kChart, "-f", kDeploy + "/helm/environments/" + stage + ".yaml"});
    EXPECT_EQ(s.exit_code, 0) << stage << ":\n" << s.out << s.err;
  }
  // The check can fail: lint refuses a name the API server would (the
  // values' schema names the value).
  RunResult bad = Helm({"lint", "--strict", kChart, "--set", "function.name=Not_Valid"});
  EXPECT_NE(bad.exit_code, 0) << bad.out;
  EXPECT_NE(bad.out.find("at '/function/name'"), std::string::npos) << bad.out;
  // And the chart refuses a policy naming an EnvironmentConfig.
  RunResult ref =
      Helm({"template", "platform", kChart, "--set", "policy.environmentConfigRef.name=x"});
  EXPECT_NE(ref.exit_code, 0) << ref.out;
  EXPECT_NE(ref.err.find("only a Composition's step input"), std::string::npos) << ref.err;
}

TEST_F(DeliveryTest, HelmTemplateIsAcceptedAndMatchesTheKustomizeBase) {
  const std::string version = ServerVersion();
  ASSERT_FALSE(version.empty());
  RunResult r = Helm({"template", "platform", kChart, "--namespace", "platform-delivery",
                      "--kube-version", version});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<Doc> docs = Docs(r.out);
  ExpectInstall(docs, "helm template");
  ExpectAccepted(docs, "helm template");

  // The same install as the kustomize base.
  const std::vector<Doc> base = Kustomize("base");
  const std::pair<const char*, const char*> objects[] = {
      {"Function", "terraforming-function-platform"},
      {"Configuration", "configuration-platform"},
      {"DeploymentRuntimeConfig", "terraforming-function-platform"},
      {"DeploymentRuntimeConfig", "provider-workloads"},
      {"Provider", "provider-workloads"},
      {"ClusterProviderConfig", "default"},
      {"ProviderConfig", "default"},
  };
  for (const auto& [kind, name] : objects) {
    const Doc chart = Find(docs, kind, name);
    const Doc kustomize = Find(base, kind, name);
    ASSERT_TRUE(chart.node.IsDefined() && kustomize.node.IsDefined()) << kind << " " << name;
    EXPECT_EQ(Canonical(At(chart.node, {"spec"})), Canonical(At(kustomize.node, {"spec"})))
        << kind << " " << name;
    EXPECT_EQ(Canonical(At(chart.node, {"metadata", "annotations"})),
              Canonical(At(kustomize.node, {"metadata", "annotations"})))
        << kind << " " << name;
  }
  EXPECT_EQ(Canonical(At(Find(docs, "EnvironmentConfig").node, {"data"})),
            Canonical(At(Find(base, "EnvironmentConfig").node, {"data"})));
  EXPECT_EQ(Canonical(Find(docs, "ClusterRole", "crossplane:composite:cluster-api").node["rules"]),
            Canonical(Find(base, "ClusterRole", "crossplane:composite:cluster-api").node["rules"]));
  // platform-admission follows the release's namespace.
  EXPECT_EQ(Str(Find(docs, "Deployment", kAdmission).node, {"metadata", "namespace"}),
            "platform-delivery");

  // platform-admission's objects, rendered into the base's namespace, are
  // the base's, whole (but for the chart's labels): RBAC, pods, Service,
  // disruption budget and both webhook configurations.
  RunResult in_base_ns = Helm({"template", "platform", kChart, "--namespace", "crossplane-system",
                               "--kube-version", version, "--skip-tests"});
  ASSERT_EQ(in_base_ns.exit_code, 0) << in_base_ns.err;
  const std::vector<Doc> chart_admission = Docs(in_base_ns.out);
  std::size_t admission_objects = 0;
  for (const Doc& k : base) {
    if (k.name() != kAdmission) continue;
    ++admission_objects;
    const Doc chart = Find(chart_admission, k.kind(), kAdmission);
    ASSERT_TRUE(chart.node.IsDefined()) << "the chart has no " << k.kind() << " " << kAdmission;
    EXPECT_EQ(Canonical(WithoutLabels(chart.node)), Canonical(WithoutLabels(k.node)))
        << k.kind() << "\nchart:\n"
        << chart.text << "\nkustomize:\n"
        << k.text;
  }
  EXPECT_EQ(admission_objects, 10u);

  // The Helm test, by default: a Pod whose one container sends the example
  // claim (from a ConfigMap) as a server-side dry run (HelmTestIsADryRunByDefault
  // runs it).
  const Doc pod = Find(docs, "Pod");
  ASSERT_TRUE(pod.node.IsDefined()) << r.out;
  EXPECT_EQ(Str(pod.node, {"metadata", "annotations", "helm.sh/hook"}), "test");
  EXPECT_FALSE(At(pod.node, {"spec", "initContainers"}).IsDefined());
  const YAML::Node main = At(pod.node, {"spec", "containers"});
  ASSERT_TRUE(main.IsSequence() && main.size() == 1u);
  EXPECT_EQ(Str(main[0], {"image"}), "registry.k8s.io/kubectl:v1.35.4");
  EXPECT_EQ(Canonical(main[0]["args"][0]), "'apply'");

  const Doc cm = Find(docs, "ConfigMap");
  ASSERT_TRUE(cm.node.IsDefined());
  const std::string claim_text = Str(cm.node, {"data", "claim.yaml"});
  const YAML::Node claim = YAML::Load(claim_text);
  // It is the bundled example claim, in the test's namespace.
  const YAML::Node example = YAML::LoadFile(kSource + "/examples/xenvironment/claim.yaml");
  EXPECT_EQ(Canonical(claim["spec"]), Canonical(example["spec"]));
  EXPECT_EQ(Str(claim, {"kind"}), Str(example, {"kind"}));
  EXPECT_EQ(Str(claim, {"metadata", "namespace"}), "platform-delivery");
  // The claim itself passes the XRD's schema.
  ExpectAccepted(Docs(claim_text), "the test's claim");

  // And the image is the values' one.
  RunResult other = Helm({"template", "platform", kChart, "--kube-version", version, "--set",
                          "tests.image.repository=example.org/kubectl"});
  ASSERT_EQ(other.exit_code, 0) << other.err;
  EXPECT_EQ(Str(Find(Docs(other.out), "Pod").node["spec"]["containers"][0], {"image"}),
            "example.org/kubectl:v1.35.4");
}

// The chart's provider values: off leaves the provider out and the rest in;
// the state namespace and the key Secret reach both ProviderConfigs.
TEST_F(DeliveryTest, HelmProviderValues) {
  RunResult off =
      Helm({"template", "platform", kChart, "--skip-tests", "--set", "provider.enabled=false"});
  ASSERT_EQ(off.exit_code, 0) << off.err;
  const std::vector<Doc> without = Docs(off.out);
  EXPECT_EQ(without.size(), 15u) << off.out;
  for (const Doc& d : without) EXPECT_NE(d.name(), "provider-workloads") << d.kind();
  for (const char* kind : {"Provider", "ProviderConfig", "ClusterProviderConfig"}) {
    EXPECT_FALSE(Find(without, kind).node.IsDefined()) << kind;
  }
  EXPECT_TRUE(Find(without, "Function", "terraforming-function-platform").node.IsDefined());

  RunResult other = Helm({"template", "platform", kChart, "--skip-tests", "--set",
                          "provider.providerConfigs.state.namespace=workloads-state", "--set",
                          "provider.providerConfigs.encryptionKeySecret.namespace=workloads-state",
                          "--set", "provider.providerConfigs.encryptionKeySecret.name=state-key",
                          "--set", "provider.version=v0.2.0"});
  ASSERT_EQ(other.exit_code, 0) << other.err;
  const std::vector<Doc> docs = Docs(other.out);
  EXPECT_EQ(Str(Find(docs, "Provider").node, {"spec", "package"}),
            "xpkg.crossplane.io/terraforming/provider-workloads:v0.2.0");
  for (const char* kind : {"ProviderConfig", "ClusterProviderConfig"}) {
    const Doc pc = Find(docs, kind, "default");
    ASSERT_TRUE(pc.node.IsDefined()) << kind;
    EXPECT_EQ(Str(pc.node, {"spec", "state", "namespace"}), "workloads-state") << kind;
    EXPECT_EQ(Canonical(At(pc.node, {"spec", "state", "encryptionKeySecretRef"})),
              "{key:'key',name:'state-key',namespace:'workloads-state',}")
        << kind;
    EXPECT_FALSE(At(pc.node, {"spec", "state", "backup"}).IsDefined()) << "no bucket, no backups";
  }

  // State backups: both configs name the bucket, and the API server takes
  // them as the CRDs define the field.
  RunResult backup =
      Helm({"template", "platform", kChart, "--skip-tests", "--set",
            "provider.providerConfigs.backup.endpoint=https://s3.eu-west-1.amazonaws.com", "--set",
            "provider.providerConfigs.backup.region=eu-west-1", "--set",
            "provider.providerConfigs.backup.bucket=acme-state", "--set",
            "provider.providerConfigs.backup.prefix=prod/", "--set",
            "provider.providerConfigs.backup.restore=IfMissing"});
  ASSERT_EQ(backup.exit_code, 0) << backup.err;
  const std::vector<Doc> backed = Docs(backup.out);
  std::vector<Doc> configs;
  for (const char* kind : {"ProviderConfig", "ClusterProviderConfig"}) {
    const Doc pc = Find(backed, kind, "default");
    ASSERT_TRUE(pc.node.IsDefined()) << kind;
    EXPECT_EQ(Canonical(At(pc.node, {"spec", "state", "backup"})),
              "{bucket:'acme-state',credentialsSecretRef:{name:'provider-workloads-state-backup',"
              "namespace:'crossplane-system',},endpoint:'https://s3.eu-west-1.amazonaws.com',"
              "interval:'1h',keep:'30',prefix:'prod/',region:'eu-west-1',restore:'IfMissing',}")
        << kind;
    configs.push_back(pc);
  }
  ExpectAccepted(configs, "helm template with provider.providerConfigs.backup");
}

// platform-admission's registrations judge the platform's claims and XRs
// and nothing else: in the base and every overlay they select only the
// platform's groups, leave the system namespaces alone, fail closed, have no
// side effects and no caBundle (ExpectWebhookConfigurations). The API
// server agrees: the base's two configurations, registered for real but
// narrowed to objects with a label of this test (so no other test's object
// is ever sent to them), send a claim, a namespaced XR and a cluster-scoped
// XR to the webhook (which does not run here: the call fails and,
// failurePolicy Fail, the request is refused), but not a claim in a system
// namespace nor another group's object. Argo CD ignores the caBundle the
// webhook writes, and keeps it on sync.
TEST_F(DeliveryTest, AdmissionWebhooksJudgeOnlyThePlatformsObjects) {
  std::vector<std::string> dirs = {"base"};
  for (const std::string& s : kStages) dirs.push_back("overlays/" + s);
  std::map<std::string, std::vector<Doc>> rendered;
  for (const std::string& d : dirs) {
    SCOPED_TRACE(d);
    rendered[d] = Kustomize(d);
    ExpectWebhookConfigurations(rendered[d], "crossplane-system");
  }

  // The base's configurations, for real, for this test's label only.
  const std::string probe = "platform-delivery-probe";
  const std::string label = "platform.terraforming.io/delivery-probe";
  std::string stream;
  for (const Doc& d : rendered["base"]) {
    if (!d.kind().ends_with("WebhookConfiguration")) continue;
    YAML::Node config = YAML::Clone(d.node);
    config["metadata"] = YAML::Node(YAML::NodeType::Map);
    config["metadata"]["name"] = probe;
    for (YAML::Node w : config["webhooks"]) w["objectSelector"]["matchLabels"][label] = probe;
    stream += "---\n" + YAML::Dump(config) + "\n";
  }
  auto remove = [&] {
    return Kubectl({"delete", "validatingwebhookconfiguration,mutatingwebhookconfiguration", probe,
                    "--ignore-not-found", "--wait=false"});
  };
  remove();
  RunResult registered = Kubectl({"create", "-f", dir_.Write("probe-webhooks.yaml", stream)});
  ASSERT_EQ(registered.exit_code, 0) << registered.err << "\n" << stream;

  const std::string team = "platform-delivery-team";
  EnsureNamespace(team);
  EnsureNamespace("crossplane-system");
  const YAML::Node example = YAML::LoadFile(kSource + "/examples/xenvironment/claim.yaml");
  auto object = [&](const std::string& api, const std::string& kind, const std::string& ns) {
    YAML::Node o;
    o["apiVersion"] = api;
    o["kind"] = kind;
    o["metadata"]["name"] = "delivery-probe";
    if (!ns.empty()) o["metadata"]["namespace"] = ns;
    o["metadata"]["labels"][label] = probe;
    if (kind == "ConfigMap") {
      o["data"]["k"] = "v";
    } else {
      o["spec"] = YAML::Clone(example["spec"]);
    }
    return dir_.Write("probe-" + std::to_string(files_++) + ".yaml", YAML::Dump(o) + "\n");
  };
  auto dry_run = [&](const std::string& file) {
    return Kubectl({"create", "--dry-run=server", "-o", "name", "-f", file});
  };
  const std::string claim_api = Str(example, {"apiVersion"});
  const std::string claim_kind = Str(example, {"kind"});
  const struct {
    std::string what;
    std::string file;
  } judged[] = {
      {"a claim in a team namespace", object(claim_api, claim_kind, team)},
      {"a namespaced XR", object("platform.m.terraforming.io/v1alpha1", "XEnvironment", team)},
      {"a cluster-scoped XR", object("platform.terraforming.io/v1alpha1", "XEnvironment", "")},
  };
  // The API server learns of new configurations asynchronously: wait until
  // the first object is sent to the webhook.
  for (int i = 0; i < 50 && dry_run(judged[0].file).exit_code == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  for (const auto& j : judged) {
    RunResult r = dry_run(j.file);
    EXPECT_NE(r.exit_code, 0) << j.what << " was not sent to the webhook: " << r.out;
    EXPECT_NE(r.err.find("failed calling webhook"), std::string::npos) << j.what << ": " << r.err;
    EXPECT_NE(r.err.find("platform-admission"), std::string::npos) << j.what << ": " << r.err;
  }
  for (const std::string& system : kSystemNamespaces) {
    EnsureNamespace(system);
    RunResult r = dry_run(object(claim_api, claim_kind, system));
    EXPECT_EQ(r.exit_code, 0) << "a claim in " << system << " was sent to the webhook: " << r.err;
  }
  RunResult other = dry_run(object("v1", "ConfigMap", team));
  EXPECT_EQ(other.exit_code, 0) << "another group's object was sent to the webhook: " << other.err;
  RunResult removed = remove();
  EXPECT_EQ(removed.exit_code, 0) << removed.err;

  // Argo CD: every stage's Application ignores the caBundle of each of its
  // overlay's webhooks, and only that, and a sync keeps the cluster's.
  for (const auto& e : fs::directory_iterator(kDeploy + "/argocd/apps")) {
    const Doc app = Docs(ReadFile(e.path().string())).at(0);
    SCOPED_TRACE(app.name());
    const std::string path = Str(app.node, {"spec", "source", "path"});
    const std::string dir = path.substr(std::string("deploy/kustomize/").size());
    ASSERT_TRUE(rendered.count(dir)) << path;
    const YAML::Node ignored = At(app.node, {"spec", "ignoreDifferences"});
    ASSERT_TRUE(ignored.IsSequence()) << "no ignoreDifferences";
    for (const YAML::Node& i : ignored) {
      for (const YAML::Node& pointer : i["jsonPointers"]) {
        EXPECT_TRUE(pointer.Scalar().ends_with("/clientConfig/caBundle")) << pointer.Scalar();
      }
      EXPECT_FALSE(i["jqPathExpressions"].IsDefined() || i["managedFieldsManagers"].IsDefined());
    }
    for (const Doc& config : rendered[dir]) {
      if (!config.kind().ends_with("WebhookConfiguration")) continue;
      std::set<std::string> pointers;
      for (const YAML::Node& i : ignored) {
        if (Str(i, {"group"}) == "admissionregistration.k8s.io" &&
            Str(i, {"kind"}) == config.kind() &&
            (Str(i, {"name"}).empty() || Str(i, {"name"}) == config.name())) {
          const std::set<std::string> more = Strings(i["jsonPointers"]);
          pointers.insert(more.begin(), more.end());
        }
      }
      for (std::size_t w = 0; w < config.node["webhooks"].size(); ++w) {
        const std::string want = "/webhooks/" + std::to_string(w) + "/clientConfig/caBundle";
        EXPECT_TRUE(pointers.count(want)) << config.kind() << ": " << want << " is not ignored";
      }
    }
    EXPECT_TRUE(Strings(At(app.node, {"spec", "syncPolicy", "syncOptions"}))
                    .count("RespectIgnoreDifferences=true"))
        << "a sync would remove the caBundle";
  }
}

// The chart's admission values: off leaves every platform-admission object
// out and the rest in; the image is the Function package's unless set; the
// replicas, failurePolicy, timeout and excluded namespaces (the release's
// always among them) reach the objects, and the namespace is the release's.
TEST_F(DeliveryTest, HelmAdmissionValues) {
  RunResult off =
      Helm({"template", "platform", kChart, "--skip-tests", "--set", "admission.enabled=false"});
  ASSERT_EQ(off.exit_code, 0) << off.err;
  const std::vector<Doc> without = Docs(off.out);
  EXPECT_EQ(without.size(), 9u) << off.out;
  for (const Doc& d : without) EXPECT_NE(d.name(), kAdmission) << d.kind();
  EXPECT_TRUE(Find(without, "Function", "terraforming-function-platform").node.IsDefined());

  const std::string digest = "sha256:" + std::string(64, 'a');
  RunResult other =
      Helm({"template", "platform", kChart, "--skip-tests", "--namespace", "platform-delivery",
            "--set", "function.version=" + digest, "--set", "admission.replicas=3", "--set",
            "admission.failurePolicy=Ignore", "--set", "admission.timeoutSeconds=10", "--set",
            "admission.excludedNamespaces={kube-system,legacy}"});
  ASSERT_EQ(other.exit_code, 0) << other.err;
  const std::vector<Doc> docs = Docs(other.out);
  ExpectAccepted(docs, "helm template with other admission values");
  const Doc deployment = Find(docs, "Deployment", kAdmission);
  ASSERT_TRUE(deployment.node.IsDefined()) << other.out;
  const YAML::Node container = At(deployment.node, {"spec", "template", "spec", "containers"})[0];
  EXPECT_EQ(Str(container, {"image"}),
            "xpkg.crossplane.io/terraforming/function-platform@" + digest);
  EXPECT_EQ(Str(deployment.node, {"spec", "replicas"}), "3");
  for (const char* kind : {"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"}) {
    const Doc config = Find(docs, kind, kAdmission);
    ASSERT_TRUE(config.node.IsDefined()) << kind;
    const YAML::Node w = config.node["webhooks"][0];
    EXPECT_EQ(Str(w, {"failurePolicy"}), "Ignore") << kind;
    EXPECT_EQ(Str(w, {"timeoutSeconds"}), "10") << kind;
    EXPECT_EQ(Str(w, {"clientConfig", "service", "namespace"}), "platform-delivery") << kind;
    EXPECT_FALSE(At(w, {"clientConfig", "caBundle"}).IsDefined()) << kind;
    EXPECT_EQ(Strings(At(w, {"namespaceSelector", "matchExpressions"})[0]["values"]),
              (std::set<std::string>{"kube-system", "legacy", "platform-delivery"}))
        << kind;
  }
  EXPECT_EQ(Str(Find(docs, "ClusterRoleBinding", kAdmission).node["subjects"][0], {"namespace"}),
            "platform-delivery");

  // A full reference replaces the Function package's.
  RunResult own = Helm({"template", "platform", kChart, "--skip-tests", "--set",
                        "admission.image=registry.example.org/platform/function-platform:test"});
  ASSERT_EQ(own.exit_code, 0) << own.err;
  EXPECT_EQ(Str(At(Find(Docs(own.out), "Deployment", kAdmission).node,
                   {"spec", "template", "spec", "containers"})[0],
                {"image"}),
            "registry.example.org/platform/function-platform:test");
}

// admission.certManager.enabled: cert-manager issues the serving certificate
// into the webhook's Secret, its CA injector fills the caBundles, and the
// webhook only reads (--certificates=cert-manager). Not applied here: the
// control plane has no cert-manager CRDs.
TEST_F(DeliveryTest, HelmAdmissionWithCertManager) {
  RunResult plain = Helm({"template", "platform", kChart, "--skip-tests"});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(plain.out.find("cert-manager.io"), std::string::npos) << "cert-manager by default";
  RunResult r = Helm({"template", "platform", kChart, "--skip-tests", "--namespace",
                      "platform-delivery", "--set", "admission.certManager.enabled=true"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<Doc> docs = Docs(r.out);
  const Doc serving = Find(docs, "Certificate", kAdmission);
  ASSERT_TRUE(serving.node.IsDefined()) << r.out;
  EXPECT_EQ(Str(serving.node, {"spec", "secretName"}), "platform-admission-tls");
  EXPECT_EQ(Strings(At(serving.node, {"spec", "dnsNames"})),
            (std::set<std::string>{"platform-admission.platform-delivery.svc",
                                   "platform-admission.platform-delivery.svc.cluster.local"}));
  EXPECT_EQ(Str(serving.node, {"spec", "issuerRef", "name"}), "platform-admission-ca");
  EXPECT_TRUE(Find(docs, "Issuer", "platform-admission-ca").node.IsDefined());
  EXPECT_TRUE(Find(docs, "Certificate", "platform-admission-ca").node.IsDefined());
  const YAML::Node args = At(Find(docs, "Deployment", kAdmission).node,
                             {"spec", "template", "spec", "containers"})[0]["args"];
  EXPECT_TRUE(Strings(args).contains("--certificates=cert-manager"));
  for (const char* kind : {"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"}) {
    EXPECT_EQ(Str(Find(docs, kind, kAdmission).node,
                  {"metadata", "annotations", "cert-manager.io/inject-ca-from"}),
              "platform-delivery/platform-admission")
        << kind;
  }
}

TEST_F(DeliveryTest, HelmfileTemplatesEveryEnvironmentOfflineLikeTheOverlays) {
  const std::string version = ServerVersion();
  ASSERT_FALSE(version.empty());
  for (const std::string env : {"default", "dev", "test", "sandbox", "prod"}) {
    SCOPED_TRACE(env);
    RunResult r = Helmfile({"--environment", env, "template", "--skip-deps", "--skip-tests",
                            "--args", "--kube-version=" + version});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    const std::vector<Doc> docs = Docs(r.out);
    ASSERT_EQ(docs.size(), 19u) << r.out;
    ExpectInstall(docs, "helmfile -e " + env);
    ExpectAccepted(docs, "helmfile -e " + env);
    // The same policies and runtime as the matching kustomize overlay.
    const std::vector<Doc> k = Kustomize(env == "default" ? "base" : "overlays/" + env);
    EXPECT_EQ(Canonical(At(Find(docs, "EnvironmentConfig").node, {"data"})),
              Canonical(At(Find(k, "EnvironmentConfig").node, {"data"})));
    for (const char* runtime : {"terraforming-function-platform", "provider-workloads"}) {
      const Doc chart = Find(docs, "DeploymentRuntimeConfig", runtime);
      const Doc overlay = Find(k, "DeploymentRuntimeConfig", runtime);
      ASSERT_TRUE(chart.node.IsDefined() && overlay.node.IsDefined()) << runtime;
      EXPECT_EQ(Canonical(At(chart.node, {"spec"})), Canonical(At(overlay.node, {"spec"})))
          << runtime;
    }
    for (const char* kind : {"Provider", "ClusterProviderConfig", "ProviderConfig"}) {
      EXPECT_EQ(Canonical(At(Find(docs, kind).node, {"spec"})),
                Canonical(At(Find(k, kind).node, {"spec"})))
          << kind;
    }
    // And platform-admission's objects, whole but for labels.
    for (const Doc& o : k) {
      if (o.name() != kAdmission) continue;
      EXPECT_EQ(Canonical(WithoutLabels(Find(docs, o.kind(), kAdmission).node)),
                Canonical(WithoutLabels(o.node)))
          << o.kind();
    }
    if (env != "default") {
      EXPECT_EQ(Str(Find(docs, "Function").node,
                    {"metadata", "labels", "platform.terraforming.io/stage"}),
                env);
    }
  }
  // Nothing was fetched: no repository was added, no chart downloaded.
  EXPECT_FALSE(fs::exists(home_ + "/config/helm/repositories.yaml"));
  EXPECT_FALSE(fs::exists(home_ + "/cache/helm/repository"));

  // An environment helmfile does not know fails.
  RunResult bad = Helmfile({"--environment", "staging", "template", "--skip-deps"});
  EXPECT_NE(bad.exit_code, 0) << bad.out;
}

TEST_F(DeliveryTest, HelmfileLockPinsTheChartVersion) {
  const YAML::Node chart = YAML::LoadFile(kChart + "/Chart.yaml");
  const YAML::Node helmfile = YAML::LoadAllFromFile(kDeploy + "/helm/helmfile.yaml").back();
  const YAML::Node lock = YAML::LoadFile(kDeploy + "/helm/helmfile.lock");
  ASSERT_TRUE(helmfile["releases"].IsSequence());
  for (const YAML::Node& release : helmfile["releases"]) {
    EXPECT_EQ(Str(release, {"version"}), Str(chart, {"version"})) << Str(release, {"name"});
  }
  ASSERT_TRUE(lock["dependencies"].IsSequence()) << YAML::Dump(lock);
  bool pinned = false;
  for (const YAML::Node& dep : lock["dependencies"]) {
    if (Str(dep, {"name"}) == Str(chart, {"name"})) {
      pinned = true;
      EXPECT_EQ(Str(dep, {"version"}), Str(chart, {"version"}));
      // A local chart: no repository to reach.
      EXPECT_TRUE(Str(dep, {"repository"}).empty() ||
                  Str(dep, {"repository"}).rfind("file://", 0) == 0)
          << Str(dep, {"repository"});
    }
  }
  EXPECT_TRUE(pinned) << YAML::Dump(lock);
  EXPECT_FALSE(Str(lock, {"digest"}).empty());

  // The lock is current: helm, resolving the releases again, agrees.
  const std::string fresh = dir_.path() + "/helmfile.lock";
  RunResult r = RunCommand({"env", "HELM_BIN=" + Tool("HELM"), "HELMFILE_BIN=" + Tool("HELMFILE"),
                            kDeploy + "/helm/update-lock.sh", fresh},
                           std::chrono::seconds(180));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const YAML::Node again = YAML::LoadFile(fresh);
  EXPECT_EQ(Canonical(again["dependencies"]), Canonical(lock["dependencies"]))
      << "helmfile.lock is stale: run `make helmfile-lock`";
  EXPECT_EQ(Str(again, {"digest"}), Str(lock, {"digest"}))
      << "helmfile.lock is stale: run `make helmfile-lock`";
  EXPECT_EQ(Str(again, {"version"}), Str(lock, {"version"}));
}

// The Argo CD manifests are accepted, and wired together: the root syncs
// the folder of child Applications, one per overlay, all inside the
// project's sources, destinations and kinds.
TEST_F(DeliveryTest, ArgoCdAppOfAppsCoversEveryOverlay) {
  std::vector<Doc> docs;
  std::vector<Doc> children;
  for (const std::string& dir : {kDeploy + "/argocd", kDeploy + "/argocd/apps"}) {
    ASSERT_TRUE(fs::is_directory(dir)) << dir;
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.path().extension() != ".yaml") continue;
      for (const Doc& d : Docs(ReadFile(e.path().string()))) {
        docs.push_back(d);
        if (dir.ends_with("/apps")) children.push_back(d);
      }
    }
  }
  ExpectAccepted(docs, "deploy/argocd");

  const Doc project = Find(docs, "AppProject", "platform");
  ASSERT_TRUE(project.node.IsDefined());
  std::set<std::string> repos, destinations, kinds, namespaced_kinds;
  for (const YAML::Node& r : project.node["spec"]["sourceRepos"]) repos.insert(r.Scalar());
  for (const YAML::Node& d : project.node["spec"]["destinations"]) {
    destinations.insert(Str(d, {"name"}) + "/" + Str(d, {"namespace"}));
  }
  for (const YAML::Node& k : project.node["spec"]["clusterResourceWhitelist"]) {
    kinds.insert(Str(k, {"group"}) + "/" + Str(k, {"kind"}));
  }
  for (const YAML::Node& k : project.node["spec"]["namespaceResourceWhitelist"]) {
    namespaced_kinds.insert(Str(k, {"group"}) + "/" + Str(k, {"kind"}));
  }
  EXPECT_FALSE(repos.count("*")) << "the project takes any repository";
  EXPECT_FALSE(kinds.count("*/*")) << "the project takes any kind";
  EXPECT_FALSE(namespaced_kinds.count("*/*")) << "the project takes any namespaced kind";
  // Secrets are made out of band (the state key) or by the webhook itself.
  EXPECT_FALSE(namespaced_kinds.count("/Secret")) << "the project takes Secrets";

  auto check_app = [&](const Doc& app) {
    SCOPED_TRACE(app.name());
    EXPECT_EQ(Str(app.node, {"spec", "project"}), "platform");
    EXPECT_TRUE(repos.count(Str(app.node, {"spec", "source", "repoURL"})));
    EXPECT_TRUE(destinations.count(Str(app.node, {"spec", "destination", "name"}) + "/" +
                                   Str(app.node, {"spec", "destination", "namespace"})));
    const std::string path = Str(app.node, {"spec", "source", "path"});
    EXPECT_TRUE(fs::is_directory(kSource + "/" + path)) << path;
    return path;
  };
  const Doc root = Find(docs, "Application", "platform");
  ASSERT_TRUE(root.node.IsDefined());
  EXPECT_EQ(check_app(root), "deploy/argocd/apps");
  // The root follows main: the stages' pins live there.
  EXPECT_EQ(Str(root.node, {"spec", "source", "targetRevision"}), "main");

  std::set<std::string> paths;
  for (const Doc& app : children) {
    ASSERT_EQ(app.kind(), "Application");
    const std::string path = check_app(app);
    paths.insert(path);
    EXPECT_FALSE(Str(app.node, {"metadata", "annotations", "argocd.argoproj.io/sync-wave"}).empty())
        << app.name();
    // Every kind the overlay ships is one the project allows, cluster-scoped
    // or namespaced (those in the Application's destination namespace).
    for (const Doc& d : Kustomize(path.substr(std::string("deploy/kustomize/").size()))) {
      const std::string api = Str(d.node, {"apiVersion"});
      const std::size_t slash = api.find('/');
      const std::string kind =
          (slash == std::string::npos ? "" : api.substr(0, slash)) + "/" + d.kind();
      const std::string ns = Str(d.node, {"metadata", "namespace"});
      if (ns.empty()) {
        EXPECT_TRUE(kinds.count(kind)) << path << ": " << kind << " is not in the project";
      } else {
        EXPECT_TRUE(namespaced_kinds.count(kind))
            << path << ": " << kind << " (namespaced) is not in the project";
        EXPECT_EQ(ns, Str(app.node, {"spec", "destination", "namespace"})) << kind;
      }
    }
  }
  std::set<std::string> want;
  for (const std::string& s : kStages) want.insert("deploy/kustomize/overlays/" + s);
  EXPECT_EQ(paths, want);

  // The check can fail: an Application without a destination is refused.
  RunResult r = Kubectl({"create", "--dry-run=server", "-f",
                         dir_.Write("bad-app.yaml", R"(apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: bad
  namespace: argocd
spec:
  project: platform
  source: {repoURL: https://github.com/terraforming/platform.git, path: deploy}
)")});
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.err.find("destination"), std::string::npos) << r.err;
}

// Promotion: each stage's Application syncs from a revision of its own.
// Only dev follows a branch (main); every other stage names an immutable
// release tag or commit, so a merge to main reaches dev alone and the others
// move only by a change of their targetRevision. deploy/README.md's table
// says the same revisions.
TEST_F(DeliveryTest, EachArgoCdStagePinsItsOwnRevision) {
  const std::regex immutable("^(v[0-9]+\\.[0-9]+\\.[0-9]+|[0-9a-f]{40})$");
  const std::string readme = ReadFile(kDeploy + "/README.md");
  std::set<std::string> stages;
  for (const auto& e : fs::directory_iterator(kDeploy + "/argocd/apps")) {
    const Doc app = Docs(ReadFile(e.path().string())).at(0);
    SCOPED_TRACE(app.name());
    ASSERT_EQ(app.kind(), "Application");
    const std::string stage =
        Str(app.node, {"metadata", "labels", "platform.terraforming.io/stage"});
    stages.insert(stage);
    EXPECT_EQ(app.name(), "platform-" + stage);
    EXPECT_EQ(Str(app.node, {"spec", "source", "path"}), "deploy/kustomize/overlays/" + stage);
    // One source, so exactly one revision decides what the stage runs.
    EXPECT_FALSE(At(app.node, {"spec", "sources"}).IsDefined());
    const std::string revision = Str(app.node, {"spec", "source", "targetRevision"});
    if (stage == "dev") {
      EXPECT_EQ(revision, "main");
    } else {
      EXPECT_TRUE(std::regex_match(revision, immutable))
          << revision << " is not a release tag or a commit: a merge could move " << stage;
    }
    const std::string row = "| `" + app.name() + "` |";
    const std::size_t at = readme.find(row);
    ASSERT_NE(at, std::string::npos) << "deploy/README.md has no row for " << app.name();
    const std::string line = readme.substr(at, readme.find('\n', at) - at);
    EXPECT_NE(line.find("`" + revision + "`"), std::string::npos) << line;
  }
  std::set<std::string> want(kStages.begin(), kStages.end());
  EXPECT_EQ(stages, want);
}

// Argo CD judges Crossplane's kinds with its built-in health checks: nothing
// we ship or document overrides them (an argocd-cm script for a
// *.crossplane.io kind, wildcards included, would replace the built-ins).
// The argocd-cm settings deploy/README.md gives are valid and hold
// Crossplane's guidance: annotation tracking, ProviderConfigUsage excluded.
TEST_F(DeliveryTest, ArgoCdSettingsLeaveCrossplaneHealthToArgoCd) {
  const std::regex override_health(
      "resource\\.customizations\\.health\\.[a-z0-9.*_-]*crossplane\\.io|"
      "crossplane\\.io/\\*\"?:|health\\.lua");
  for (const std::string& dir : {kDeploy, kSource + "/docs"}) {
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
      if (!e.is_regular_file()) continue;
      const std::string text = ReadFile(e.path().string());
      std::smatch m;
      EXPECT_FALSE(std::regex_search(text, m, override_health))
          << e.path().string() << ": " << m.str();
    }
  }

  // The ```yaml block of the README that sets the tracking method.
  const std::string readme = ReadFile(kDeploy + "/README.md");
  const std::size_t key = readme.find("application.resourceTrackingMethod:");
  ASSERT_NE(key, std::string::npos) << "deploy/README.md gives no tracking method";
  const std::size_t open = readme.rfind("```yaml\n", key);
  const std::size_t close = readme.find("```", key);
  ASSERT_TRUE(open != std::string::npos && close != std::string::npos);
  const YAML::Node settings = YAML::Load(readme.substr(open + 8, close - open - 8));
  EXPECT_EQ(Str(settings, {"data", "application.resourceTrackingMethod"}), "annotation");
  for (const auto& kv : settings["data"]) {
    EXPECT_FALSE(kv.first.Scalar().starts_with("resource.customizations")) << kv.first.Scalar();
  }
  const YAML::Node exclusions = YAML::Load(Str(settings, {"data", "resource.exclusions"}));
  ASSERT_TRUE(exclusions.IsSequence()) << Str(settings, {"data", "resource.exclusions"});
  bool usages = false;
  for (const YAML::Node& x : exclusions) {
    usages |= Canonical(x["kinds"]) == "['ProviderConfigUsage',]" &&
              Canonical(x["apiGroups"]) == "['*',]";
  }
  EXPECT_TRUE(usages) << "ProviderConfigUsage is not excluded";

  // As a ConfigMap the API server takes it.
  EnsureNamespace("platform-delivery");
  YAML::Node cm = YAML::Clone(settings);
  cm["apiVersion"] = "v1";
  cm["kind"] = "ConfigMap";
  cm["metadata"]["name"] = "argocd-cm";
  cm["metadata"]["namespace"] = "platform-delivery";
  ExpectAccepted(Docs(YAML::Dump(cm) + "\n"), "the README's argocd-cm");
}

// `helm test` by default has no side effect: its Pod sends the claim as a
// server-side dry run. The Pod's own kubectl arguments, run here against
// the API server, are accepted and leave no claim behind; its Role cannot
// watch or list. Mode apply is the real test: apply, then wait for Ready.
TEST_F(DeliveryTest, HelmTestIsADryRunByDefault) {
  EnsureNamespace("platform-delivery");
  auto render = [&](const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"template",
                                     "platform",
                                     kChart,
                                     "--namespace",
                                     "platform-delivery",
                                     "--show-only",
                                     "templates/tests/claim.yaml"};
    args.insert(args.end(), extra.begin(), extra.end());
    RunResult r = Helm(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return Docs(r.out);
  };
  const std::vector<Doc> docs = render({});
  ASSERT_EQ(docs.size(), 5u);
  for (const Doc& d : docs) {
    EXPECT_EQ(Str(d.node, {"metadata", "annotations", "helm.sh/hook"}), "test") << d.kind();
  }
  const Doc pod = Find(docs, "Pod");
  ASSERT_TRUE(pod.node.IsDefined());
  EXPECT_FALSE(At(pod.node, {"spec", "initContainers"}).IsDefined());
  const YAML::Node containers = At(pod.node, {"spec", "containers"});
  ASSERT_TRUE(containers.IsSequence() && containers.size() == 1u);
  std::vector<std::string> args;
  for (const YAML::Node& a : containers[0]["args"]) args.push_back(a.Scalar());
  EXPECT_TRUE(std::find(args.begin(), args.end(), "--dry-run=server") != args.end())
      << "the default helm test is not a dry run";
  for (const std::string& a : args) EXPECT_NE(a, "wait");
  for (const YAML::Node& rule : Find(docs, "Role").node["rules"]) {
    for (const YAML::Node& verb : rule["verbs"]) {
      EXPECT_TRUE(verb.Scalar() == "get" || verb.Scalar() == "create" || verb.Scalar() == "patch")
          << verb.Scalar();
    }
  }

  // Run what the Pod runs, with the ConfigMap's claim.
  const std::string claim_text = Str(Find(docs, "ConfigMap").node, {"data", "claim.yaml"});
  const YAML::Node claim = YAML::Load(claim_text);
  const std::string claim_file = dir_.Write("helm-test-claim.yaml", claim_text);
  std::vector<std::string> run;
  for (const std::string& a : args) {
    if (a.starts_with("--cache-dir=")) continue;
    run.push_back(a == "/claim/claim.yaml" ? claim_file : a);
  }
  RunResult dry = Kubectl(run);
  EXPECT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_NE(dry.out.find("(server dry run)"), std::string::npos) << dry.out;
  const std::string kind = Str(claim, {"kind"});
  const std::string name = Str(claim, {"metadata", "name"});
  RunResult get = Kubectl({"get", kind, name, "-n", "platform-delivery"});
  EXPECT_NE(get.exit_code, 0) << "the dry run left a claim: " << get.out;
  EXPECT_NE(get.err.find("NotFound"), std::string::npos) << get.err;

  // The real test is opt-in: mode apply creates the claim, then waits.
  const std::vector<Doc> real = render({"--set", "tests.mode=apply"});
  const Doc real_pod = Find(real, "Pod");
  ASSERT_TRUE(real_pod.node.IsDefined());
  const YAML::Node init = At(real_pod.node, {"spec", "initContainers"});
  const YAML::Node wait = At(real_pod.node, {"spec", "containers"});
  ASSERT_TRUE(init.IsSequence() && init.size() == 1u && wait.IsSequence() && wait.size() == 1u);
  std::string apply_args, wait_args;
  for (const YAML::Node& a : init[0]["args"]) apply_args += a.Scalar() + " ";
  for (const YAML::Node& a : wait[0]["args"]) wait_args += a.Scalar() + " ";
  EXPECT_EQ(apply_args.find("--dry-run"), std::string::npos) << apply_args;
  EXPECT_TRUE(apply_args.starts_with("apply --server-side ")) << apply_args;
  EXPECT_TRUE(wait_args.starts_with("wait ")) << wait_args;
  EXPECT_NE(wait_args.find("--for=condition=Ready "), std::string::npos) << wait_args;
  EXPECT_NE(wait_args.find("--timeout=30m "), std::string::npos) << wait_args;
  EXPECT_NE(wait_args.find("-f /claim/claim.yaml"), std::string::npos) << wait_args;

  // Off: no test at all.
  RunResult off = Helm({"template", "platform", kChart, "--set", "tests.enabled=false"});
  ASSERT_EQ(off.exit_code, 0) << off.err;
  EXPECT_FALSE(Find(Docs(off.out), "Pod").node.IsDefined());
}

// values.schema.json: every shipped set of values passes; lint and template
// refuse values the schema rules out.
TEST_F(DeliveryTest, HelmValuesSchemaRejectsBadValues) {
  ASSERT_TRUE(fs::exists(kChart + "/values.schema.json"));
  for (const std::string env : {"default", "dev", "test", "sandbox", "prod"}) {
    RunResult r =
        Helm({"lint", "--strict", kChart, "-f", kDeploy + "/helm/environments/" + env + ".yaml"});
    EXPECT_EQ(r.exit_code, 0) << env << ":\n" << r.out << r.err;
  }
  const struct {
    std::string set;
    std::string says;  // in helm's message
  } bad[] = {
      {"tests.mode=create", "/tests/mode"},
      {"runtime.replicas=0", "/runtime/replicas"},
      {"funtion.name=x", "funtion"},
      {"provider.version=latest!", "/provider/version"},
      {"provider.providerConfigs.state.history=21", "/provider/providerConfigs/state/history"},
      {"provider.providerConfigs.backup.restore=Always",
       "/provider/providerConfigs/backup/restore"},
      {"provider.providerConfigs.backup.bucket=b-without-endpoint",
       "/provider/providerConfigs/backup/endpoint"},
      {"admission.replicas=0", "/admission/replicas"},
      {"admission.failurePolicy=Sometimes", "/admission/failurePolicy"},
      {"admission.timeoutSeconds=31", "/admission/timeoutSeconds"},
      {"admission.excludedNamespaces={Kube_System}", "/admission/excludedNamespaces"},
  };
  for (const auto& b : bad) {
    SCOPED_TRACE(b.set);
    RunResult lint = Helm({"lint", "--strict", kChart, "--set", b.set});
    EXPECT_NE(lint.exit_code, 0) << lint.out;
    EXPECT_NE((lint.out + lint.err).find(b.says), std::string::npos) << lint.out << lint.err;
    RunResult tmpl = Helm({"template", "platform", kChart, "--set", b.set});
    EXPECT_NE(tmpl.exit_code, 0) << tmpl.out;
  }
}

// templates/NOTES.txt is rendered on install: the packages, the key Secret
// and what helm test does, following the values.
TEST_F(DeliveryTest, HelmNotesAreRendered) {
  auto notes = [&](const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"install",          "platform",    kChart,
                                     "--dry-run=client", "--namespace", "crossplane-system"};
    args.insert(args.end(), extra.begin(), extra.end());
    RunResult r = Helm(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const std::size_t at = r.out.find("\nNOTES:\n");
    EXPECT_NE(at, std::string::npos) << r.out;
    return at == std::string::npos ? std::string() : r.out.substr(at);
  };
  const std::string d = notes({});
  for (const char* want : {"xpkg.crossplane.io/terraforming/function-platform:",
                           "xpkg.crossplane.io/terraforming/configuration-platform:",
                           "xpkg.crossplane.io/terraforming/provider-workloads:",
                           "create secret generic provider-workloads-state-key",
                           "helm test platform -n crossplane-system", "server-side dry run",
                           "rollout status deployment/platform-admission", "failurePolicy Fail",
                           "kube-system, kube-public, kube-node-lease"}) {
    EXPECT_NE(d.find(want), std::string::npos) << want << "\n" << d;
  }
  EXPECT_EQ(d.find("{{"), std::string::npos) << d;

  const std::string prod =
      notes({"-f", kDeploy + "/helm/environments/prod.yaml", "--set", "tests.mode=apply", "--set",
             "provider.enabled=false", "--set", "admission.enabled=false"});
  EXPECT_NE(prod.find("of stage prod"), std::string::npos) << prod;
  EXPECT_NE(prod.find("for real"), std::string::npos) << prod;
  EXPECT_EQ(prod.find("provider-workloads"), std::string::npos) << prod;
  EXPECT_EQ(prod.find("platform-admission"), std::string::npos) << prod;
  EXPECT_EQ(prod.find("server-side dry run"), std::string::npos) << prod;
}

// The chart's README is what chart-readme.py makes of values.yaml now; the
// check fails when a value changes without it.
TEST_F(DeliveryTest, HelmChartReadmeIsCurrent) {
  const std::string script = kDeploy + "/helm/chart-readme.py";
  RunResult check = RunCommand({script, "--check"});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  const std::string fresh = dir_.path() + "/README.md";
  RunResult gen = RunCommand({script, fresh});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  const std::string readme = ReadFile(kChart + "/README.md");
  EXPECT_EQ(ReadFile(fresh), readme) << "run deploy/helm/chart-readme.py";
  for (const char* value : {"`tests.mode`", "`function.version`", "`provider.args`", "`policy`",
                            "`admission.failurePolicy`", "`admission.excludedNamespaces`"}) {
    EXPECT_NE(readme.find(value), std::string::npos) << value;
  }

  // A copy of the chart with one more value: its README is stale.
  const std::string copy = dir_.path() + "/chart";
  fs::copy(kChart, copy, fs::copy_options::recursive);
  const std::string values = ReadFile(copy + "/values.yaml");
  dir_.Write("chart/values.yaml", values + "\n# A value the README does not list.\nextra: 1\n");
  RunResult stale = RunCommand({script, "--chart", copy, "--check"});
  EXPECT_NE(stale.exit_code, 0) << stale.out;
  EXPECT_NE(stale.out.find("+| `extra` | `1` | A value the README does not list. |"),
            std::string::npos)
      << stale.out;
}

}  // namespace
}  // namespace platform::testing
