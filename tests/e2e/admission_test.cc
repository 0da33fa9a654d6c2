// platform-admission against the real kube-apiserver of the tests' control
// plane (tests/controlplane/controlplane.sh, which serves the claim CRDs made
// from our XRDs): the webhook registered by URL on 127.0.0.1, with its own
// certificates, its caBundle written by the webhook itself, and rules that
// only select this test's namespaces. kubectl applies claims as an app team
// would, and the refusals are compared with what the real function says
// through `crossplane composition render`.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "admission/certs.h"
#include "tests/support/kubectl.h"
#include "tests/support/render.h"
#include "tests/support/subprocess.h"

namespace platform::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

const std::string kSource = PLATFORM_SOURCE_DIR;
const std::string kKubectl = KUBECTL_BIN;
const std::string kKubeconfig = CONTROLPLANE_KUBECONFIG;
const std::string kAdmission = PLATFORM_ADMISSION_BIN;

bool Contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

class AdmissionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(kKubeconfig)) << "no control plane: run through ctest (fixture "
                                            "controlplane)";
    // Unique per test, also when several run in one process: a namespace
    // of an earlier test may still be terminating.
    static int tests = 0;
    id_ = "adm" + std::to_string(::getpid()) + "-" + std::to_string(++tests);
    system_ns_ = id_ + "-system";
    team_ns_ = id_ + "-payments";
    other_ns_ = id_ + "-other";
    policy_ = id_ + "-policy";
    port_ = FreePort();
    ASSERT_EQ(Apply("namespace: " + system_ns_, R"(apiVersion: v1
kind: Namespace
metadata:
  name: )" + system_ns_ + R"(
---
apiVersion: v1
kind: Namespace
metadata:
  name: )" + team_ns_ + R"(
  labels:
    admission-test: )" + id_ + R"(
    platform.terraforming.io/team: payments
---
apiVersion: v1
kind: Namespace
metadata:
  name: )" + other_ns_ + "\n")
                  .exit_code,
              0);
    SetPolicy({"web"});
    // The Compositions' input, naming this test's policy.
    step_input_ = dir_.Write("input.yaml", R"(apiVersion: platform.fn.terraforming.io/v1beta1
kind: Input
policy:
  environmentConfigRef:
    name: )" + policy_ + R"(
    optional: true
)");
    // Rules for namespaced objects of the platform's groups in this test's
    // labelled namespace only: other tests' objects are never sent here.
    const std::string rules = R"(
    rules:
      - apiGroups: [platform.terraforming.io, platform.m.terraforming.io]
        apiVersions: ["*"]
        operations: [CREATE, UPDATE]
        resources: ["*"]
        scope: Namespaced
    namespaceSelector:
      matchLabels:
        admission-test: )" + id_ +
                              R"(
    failurePolicy: Fail
    sideEffects: None
    admissionReviewVersions: [v1]
    timeoutSeconds: 5
)";
    const std::string url = "https://127.0.0.1:" + std::to_string(port_);
    RunResult configs =
        Apply("webhook configurations", R"(apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: )" + id_ + R"(
webhooks:
  - name: validate.platform.terraforming.io
    clientConfig:
      url: )" + url + "/validate" + rules + R"(---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: )" + id_ + R"(
webhooks:
  - name: mutate.platform.terraforming.io
    reinvocationPolicy: Never
    clientConfig:
      url: )" + url + "/mutate" + rules);
    ASSERT_EQ(configs.exit_code, 0) << configs.err;
  }

  void TearDown() override {
    server_.reset();
    Kubectl({"delete", "validatingwebhookconfiguration,mutatingwebhookconfiguration", id_,
             "--ignore-not-found", "--wait=false"});
    Kubectl({"delete", "environmentconfig", policy_, "--ignore-not-found", "--wait=false"});
    Kubectl({"delete", "namespace", system_ns_, team_ns_, other_ns_, "--ignore-not-found",
             "--wait=false"});
  }

  RunResult Kubectl(std::vector<std::string> args) {
    return RunKubectl(kKubectl, kKubeconfig, std::move(args));
  }

  RunResult Apply(const std::string& what, const std::string& yaml,
                  std::vector<std::string> extra = {}) {
    const std::string file = dir_.Write(std::to_string(++files_) + ".yaml", yaml);
    std::vector<std::string> args = {"apply", "-f", file};
    args.insert(args.end(), extra.begin(), extra.end());
    RunResult r = Kubectl(args);
    r.err = what + ": " + r.err;
    return r;
  }

  // The policy EnvironmentConfig: teams may make dev environments.
  void SetPolicy(const std::vector<std::string>& teams) {
    std::string list;
    for (const std::string& t : teams) list += (list.empty() ? "" : ", ") + t;
    policy_yaml_ = R"(apiVersion: apiextensions.crossplane.io/v1beta1
kind: EnvironmentConfig
metadata:
  name: )" + policy_ +
                   R"(
data:
  policy:
    authorization:
      - name: dev-teams
        teams: [)" +
                   list + R"(]
        classes: [dev]
)";
    RunResult r = Apply("policy", policy_yaml_);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // An Environment claim of `team` ("" names none) in the team namespace.
  // `extra`: more parameter lines, indented as "    key: value\n".
  std::string Claim(const std::string& name, const std::string& team, const std::string& ns = "",
                    const std::string& extra = "") const {
    return R"(apiVersion: platform.terraforming.io/v1alpha1
kind: Environment
metadata:
  name: )" +
           name + R"(
  namespace: )" +
           (ns.empty() ? team_ns_ : ns) + R"(
spec:
  parameters:
    environment: dev
    region: eu-west-1
    costCenter: cc-1234
)" + (team.empty() ? "" : "    team: " + team + "\n") +
           extra;
  }

  // Starts platform-admission and waits until it is ready and both
  // configurations trust its CA.
  void StartServer(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {kAdmission,
                                     "--kubeconfig=" + kKubeconfig,
                                     "--address=127.0.0.1:" + std::to_string(port_),
                                     "--namespace=" + system_ns_,
                                     "--tls-secret=webhook-tls",
                                     "--hosts=127.0.0.1",
                                     "--validating-webhook-configurations=" + id_,
                                     "--mutating-webhook-configurations=" + id_,
                                     "--step-input=" + step_input_};
    argv.insert(argv.end(), extra.begin(), extra.end());
    log_ = dir_.path() + "/admission-" + std::to_string(++starts_) + ".log";
    server_ = std::make_unique<Background>(argv, log_);
    const auto deadline = std::chrono::steady_clock::now() + seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      if (Https("/readyz").out == "ok\n" && !CaBundle("validatingwebhookconfiguration").empty() &&
          !CaBundle("mutatingwebhookconfiguration").empty()) {
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    FAIL() << "platform-admission did not become ready:\n" << ReadFile(log_);
  }

  // curl to the webhook (-k: the test checks the certificate itself).
  RunResult Https(const std::string& path, const std::string& body = "") {
    std::vector<std::string> argv = {"curl", "-sk", "--max-time", "5",
                                     "https://127.0.0.1:" + std::to_string(port_) + path};
    if (!body.empty()) {
      argv.insert(argv.begin() + 1,
                  {"-X", "POST", "-H", "Content-Type: application/json", "--data-binary",
                   "@" + dir_.Write("body.json", body), "-w", "\n%{http_code}"});
    }
    return RunCommand(argv, seconds(10));
  }

  std::string CaBundle(const std::string& kind) {
    RunResult r =
        Kubectl({"get", kind, id_, "-o", "jsonpath={.webhooks[0].clientConfig.caBundle}"});
    std::string pem;
    return r.exit_code == 0 && absl::Base64Unescape(r.out, &pem) ? pem : "";
  }

  std::string SecretKey(const std::string& key) {
    RunResult r = Kubectl({"get", "secret", "webhook-tls", "-n", system_ns_, "-o",
                           "jsonpath={.data." + Replace(key, ".", "\\.") + "}"});
    std::string pem;
    return r.exit_code == 0 && absl::Base64Unescape(r.out, &pem) ? pem : "";
  }

  // The certificate the webhook serves now, PEM.
  std::string ServedCertificate() {
    RunResult r = RunCommand({"sh", "-c",
                              "openssl s_client -connect 127.0.0.1:" + std::to_string(port_) +
                                  " -servername 127.0.0.1 </dev/null 2>/dev/null | openssl x509"},
                             seconds(10));
    return r.out;
  }

  // What the function says of the claim's XR, through the real CLI and the
  // real function binary, with the same input and policy.
  std::string FunctionsMessage(const std::string& claim_name, const std::string& team) {
    const std::string xr = dir_.Write("xr.yaml", R"(apiVersion: platform.terraforming.io/v1alpha1
kind: XEnvironment
metadata:
  name: )" + claim_name + R"(
  labels:
    crossplane.io/claim-name: )" + claim_name + R"(
    crossplane.io/claim-namespace: )" + team_ns_ + R"(
spec:
  parameters:
    environment: dev
    region: eu-west-1
    costCenter: cc-1234
    team: )" + team + "\n");
    const std::string composition = kSource + "/compositions/xenvironment.yaml";
    const std::string ours =
        dir_.Write("composition.yaml",
                   Replace(ReadFile(composition), "name: platform-policy", "name: " + policy_));
    const std::string policy = dir_.Write("policy.yaml", policy_yaml_);
    FunctionUnderTest function(FUNCTION_PLATFORM_BIN);
    EXPECT_TRUE(function.ok()) << function.log();
    RunResult render =
        function.Render(xr, ours, {"--required-resources=" + policy}, XrdFor(composition));
    EXPECT_NE(render.exit_code, 0) << render.out;
    return FatalMessage(render);
  }

  TempDir dir_;
  std::string id_, system_ns_, team_ns_, other_ns_, policy_, policy_yaml_, step_input_, log_;
  int port_ = 0;
  int files_ = 0;
  int starts_ = 0;
  std::unique_ptr<Background> server_;
};

TEST_F(AdmissionTest, ADeniedClaimIsRefusedAtApplyWithTheFunctionsWords) {
  StartServer();
  RunResult r = Apply("claim", Claim("payments-dev", "payments"));
  ASSERT_NE(r.exit_code, 0) << "the claim was accepted:\n" << r.out;
  const std::string function = FunctionsMessage("payments-dev", "payments");
  ASSERT_FALSE(function.empty());
  EXPECT_TRUE(Contains(function, "no rule matches team \"payments\"")) << function;
  EXPECT_TRUE(Contains(r.err,
                       "admission webhook \"validate.platform.terraforming.io\" denied "
                       "the request: " +
                           function))
      << "kubectl:  " << r.err << "\nfunction: " << function;
  EXPECT_TRUE(Contains(r.err, "(Forbidden)")) << r.err;
  // Nothing was stored.
  EXPECT_NE(Kubectl({"get", "environment", "payments-dev", "-n", team_ns_}).exit_code, 0);
}

TEST_F(AdmissionTest, AnAllowedClaimIsCreatedWithItsTeamFromTheNamespace) {
  SetPolicy({"web", "payments"});
  StartServer();
  RunResult r = Apply("claim", Claim("payments-dev", ""));
  ASSERT_EQ(r.exit_code, 0) << r.err << ReadFile(log_);
  EXPECT_TRUE(Contains(r.err,
                       "Warning: spec.parameters.team: set to \"payments\" from label "
                       "platform.terraforming.io/team of namespace " +
                           team_ns_))
      << r.err;
  RunResult team = Kubectl({"get", "environment", "payments-dev", "-n", team_ns_, "-o",
                            "jsonpath={.spec.parameters.team}"});
  EXPECT_EQ(team.out, "payments") << team.err;
  // A team of its own is kept, and judged: web may make dev environments.
  r = Apply("web claim", Claim("web-dev", "web"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Kubectl({"get", "environment", "web-dev", "-n", team_ns_, "-o",
                     "jsonpath={.spec.parameters.team}"})
                .out,
            "web");
}

TEST_F(AdmissionTest, DryRunOnTheServerGivesTheSameAnswers) {
  SetPolicy({"web", "payments"});
  StartServer();
  // Refused by a rule of the class (dev: at most 2 zones), dry run or not.
  const std::string too_big = Claim("payments-dev", "payments", "", "    zoneCount: 5\n");
  RunResult dry = Apply("claim", too_big, {"--dry-run=server"});
  RunResult real = Apply("claim", too_big);
  ASSERT_NE(dry.exit_code, 0);
  ASSERT_NE(real.exit_code, 0);
  const std::string marker = "denied the request: ";
  ASSERT_TRUE(Contains(dry.err, marker)) << dry.err;
  EXPECT_EQ(dry.err.substr(dry.err.find(marker)), real.err.substr(real.err.find(marker)));
  EXPECT_TRUE(Contains(real.err, "spec.parameters.zoneCount")) << real.err;
  EXPECT_TRUE(Contains(real.err, "The request is invalid")) << real.err;  // 422

  // Allowed and mutated, and not stored.
  RunResult allowed = Apply("claim", Claim("payments-dev", ""),
                            {"--dry-run=server", "-o", "jsonpath={.spec.parameters.team}"});
  ASSERT_EQ(allowed.exit_code, 0) << allowed.err;
  EXPECT_EQ(allowed.out, "payments");
  EXPECT_NE(Kubectl({"get", "environment", "payments-dev", "-n", team_ns_}).exit_code, 0)
      << "a dry run stored the claim";
}

TEST_F(AdmissionTest, APolicyChangeAppliesWithoutARestart) {
  StartServer();
  ASSERT_NE(Apply("claim", Claim("payments-dev", "payments")).exit_code, 0);
  const pid_t pid = server_->pid();
  SetPolicy({"web", "payments"});
  RunResult r;
  const auto deadline = std::chrono::steady_clock::now() + seconds(30);
  do {
    r = Apply("claim", Claim("payments-dev", "payments"));
    if (r.exit_code == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  } while (std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(r.exit_code, 0) << r.err << ReadFile(log_);
  EXPECT_TRUE(server_->running());
  EXPECT_EQ(server_->pid(), pid);
  EXPECT_TRUE(Contains(ReadFile(log_), "policy: EnvironmentConfig " + policy_)) << ReadFile(log_);
}

TEST_F(AdmissionTest, WithTheWebhookDownOnlyPlatformClaimsAreRefused) {
  SetPolicy({"web", "payments"});
  StartServer();
  ASSERT_EQ(Apply("claim", Claim("before", "payments")).exit_code, 0);
  EXPECT_EQ(server_->Stop(), 0) << ReadFile(log_);
  server_.reset();

  RunResult claim = Apply("claim", Claim("after", "payments"));
  EXPECT_NE(claim.exit_code, 0) << "a platform claim passed without its webhook";
  EXPECT_TRUE(Contains(claim.err, "failed calling webhook")) << claim.err;
  EXPECT_TRUE(Contains(claim.err, "platform.terraforming.io")) << claim.err;
  // Everything else is untouched: other kinds in the same namespace, and
  // claims in namespaces the webhook does not select.
  RunResult config_map = Apply("configmap", R"(apiVersion: v1
kind: ConfigMap
metadata:
  name: unaffected
  namespace: )" + team_ns_ + "\ndata: {a: b}\n");
  EXPECT_EQ(config_map.exit_code, 0) << config_map.err;
  RunResult elsewhere = Apply("other claim", Claim("elsewhere", "payments", other_ns_));
  EXPECT_EQ(elsewhere.exit_code, 0) << elsewhere.err;
}

TEST_F(AdmissionTest, TheCertificatesAreRotatedAndTheCaBundleFollows) {
  SetPolicy({"web", "payments"});
  // A serving certificate renewed every ~10 s and a CA renewed after ~40 s.
  StartServer({"--ca-validity=60s", "--cert-validity=30s", "--renew-before=20s",
               "--cert-check-interval=1s"});
  const std::string ca = CaBundle("validatingwebhookconfiguration");
  const std::string first = SecretKey("tls.crt");
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(ServedCertificate(), first);

  // The serving certificate: renewed, stored, served; the CA unchanged.
  const auto renewed_by = std::chrono::steady_clock::now() + seconds(30);
  while (SecretKey("tls.crt") == first && std::chrono::steady_clock::now() < renewed_by) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  const std::string second = SecretKey("tls.crt");
  ASSERT_NE(second, first) << ReadFile(log_);
  std::string served;
  for (int i = 0; i < 20 && (served = ServedCertificate()) != second; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  EXPECT_EQ(served, second);
  EXPECT_EQ(CaBundle("validatingwebhookconfiguration"), ca);
  RunResult r = Apply("claim", Claim("after-renewal", "payments"));
  EXPECT_EQ(r.exit_code, 0) << r.err << ReadFile(log_);

  // The CA: a new one, trusted beside the old, and the API server follows.
  const auto ca_by = std::chrono::steady_clock::now() + seconds(60);
  while (CaBundle("mutatingwebhookconfiguration") == ca &&
         std::chrono::steady_clock::now() < ca_by) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  const std::string bundle = CaBundle("mutatingwebhookconfiguration");
  ASSERT_NE(bundle, ca) << ReadFile(log_);
  EXPECT_TRUE(bundle.ends_with(ca)) << "the previous CA left the bundle while still valid";
  EXPECT_EQ(CaBundle("validatingwebhookconfiguration"), bundle);
  for (int i = 0; i < 20 && ServedCertificate() != SecretKey("tls.crt"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  r = Apply("claim", Claim("after-ca-renewal", "payments"));
  EXPECT_EQ(r.exit_code, 0) << r.err << ReadFile(log_);
  EXPECT_TRUE(server_->running());
}

// With --certificates=cert-manager the webhook serves the Secret another
// issuer keeps, follows it when it is renewed, and writes nothing: the test
// plays cert-manager (the Secret) and its CA injector (the caBundles).
TEST_F(AdmissionTest, WithCertManagerItServesTheSecretItIsGiven) {
  SetPolicy({"web", "payments"});
  const auto now = std::chrono::system_clock::now();
  const admission::KeyPair ca = *admission::MakeCa("cert-manager", now, std::chrono::hours(1));
  auto issue = [&] {
    return *admission::IssueServing(ca, {"127.0.0.1"}, now, std::chrono::hours(1));
  };
  auto store = [&](const admission::KeyPair& serving) {
    RunResult r = Apply("secret", R"(apiVersion: v1
kind: Secret
metadata:
  name: webhook-tls
  namespace: )" + system_ns_ + R"(
type: kubernetes.io/tls
data:
  tls.crt: )" + absl::Base64Escape(serving.cert_pem) +
                                      R"(
  tls.key: )" + absl::Base64Escape(serving.key_pem) +
                                      R"(
  ca.crt: )" + absl::Base64Escape(ca.cert_pem) +
                                      "\n");
    ASSERT_EQ(r.exit_code, 0) << r.err;
  };
  const admission::KeyPair first = issue();
  store(first);
  const std::string bundle = absl::Base64Escape(ca.cert_pem);
  for (const char* kind : {"validatingwebhookconfiguration", "mutatingwebhookconfiguration"}) {
    RunResult r = Kubectl({"patch", kind, id_, "--type=json", "-p",
                           R"([{"op": "add", "path": "/webhooks/0/clientConfig/caBundle",
                                "value": ")" +
                               bundle + R"("}])"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  StartServer({"--certificates=cert-manager", "--cert-check-interval=1s"});
  EXPECT_EQ(ServedCertificate(), first.cert_pem);
  RunResult r = Apply("claim", Claim("payments-dev", "payments"));
  EXPECT_EQ(r.exit_code, 0) << r.err << ReadFile(log_);

  // cert-manager renews: the webhook serves the new one.
  const admission::KeyPair second = issue();
  store(second);
  std::string served;
  for (int i = 0; i < 40 && (served = ServedCertificate()) != second.cert_pem; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  EXPECT_EQ(served, second.cert_pem) << ReadFile(log_);
  r = Apply("claim", Claim("payments-renewed", "payments"));
  EXPECT_EQ(r.exit_code, 0) << r.err << ReadFile(log_);
  // It wrote nothing of its own.
  EXPECT_EQ(SecretKey("tls.crt"), second.cert_pem);
  EXPECT_EQ(CaBundle("validatingwebhookconfiguration"), ca.cert_pem);
  EXPECT_EQ(CaBundle("mutatingwebhookconfiguration"), ca.cert_pem);
}

TEST_F(AdmissionTest, AMalformedReviewGetsAnErrorNotACrash) {
  StartServer();
  for (const std::string& body :
       {std::string("{"), std::string("[]"), std::string(R"({"apiVersion": "v1"})"),
        std::string(R"({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                       "request": {"uid": "x", "kind": {"kind": "Environment"},
                                   "operation": "CREATE", "object": 7}})")}) {
    RunResult r = Https("/validate", body);
    SCOPED_TRACE(body);
    EXPECT_TRUE(r.out.ends_with("\n400")) << r.out;
  }
  RunResult r = Https("/validate", R"({"apiVersion": "admission.k8s.io/v1",
      "kind": "AdmissionReview", "request": {"uid": "x", "kind": {"kind": "Environment"},
      "operation": "CREATE", "object": 7}})");
  EXPECT_TRUE(Contains(r.out, "request.object: must be an object")) << r.out;
  EXPECT_TRUE(server_->running());
  EXPECT_EQ(Https("/healthz").out, "ok\n");
}

}  // namespace
}  // namespace platform::testing
