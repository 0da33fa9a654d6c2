// platform-admission: the platform's policies at `kubectl apply`. An
// admission webhook (AdmissionReview v1 over HTTPS) that refuses a claim or
// XR the function would refuse, with the function's words, and defaults what
// may be defaulted (docs/admission.md).
//
// Usage: platform-admission [--address :9443] [--kubeconfig FILE]
//          [--namespace NS] [--tls-secret NAME] [--service NAME] [--hosts a,b]
//          [--validating-webhook-configurations a,b] [--mutating-webhook-configurations a,b]
//          [--step-input FILE] [--team-label KEY] [--class-label KEY] [--ca-validity 87600h]
//          [--cert-validity 8760h] [--renew-before 720h] [--cert-check-interval 1h]
//          [--log-format text|json] [--debug]
#include <signal.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "admission/cert_manager.h"
#include "admission/cluster_state.h"
#include "admission/evaluator.h"
#include "admission/server.h"
#include "admission/step_input.h"
#include "common/flags.h"
#include "common/log_format.h"
#include "common/signals.h"
#include "function/renderers/builtin.h"
#include "provider/kube/config.h"
#include "provider/kube/rest_client.h"

ABSL_FLAG(std::string, address, ":9443", "HTTPS address to serve the webhooks on ([host]:port).");
ABSL_FLAG(std::string, kubeconfig, "",
          "Kubeconfig file (default: $KUBECONFIG, then the in-cluster service account, then "
          "~/.kube/config).");
ABSL_FLAG(std::string, namespace, "",
          "Namespace of the certificate Secret and the Service (default: $POD_NAMESPACE, else "
          "crossplane-system).");
ABSL_FLAG(std::string, tls_secret, "platform-admission-tls",
          "Secret that keeps the webhook's CA and serving certificate.");
ABSL_FLAG(std::string, certificates, "self",
          "Who keeps the certificates: self (this program: it makes and renews them in "
          "--tls-secret and writes the caBundles) or cert-manager (it only reads --tls-secret, "
          "which cert-manager issues, and cert-manager's CA injector writes the caBundles).");
ABSL_FLAG(std::string, service, "platform-admission",
          "Service in front of the webhook: its DNS names go on the serving certificate.");
ABSL_FLAG(std::string, hosts, "",
          "Names for the serving certificate, comma-separated, instead of the Service's "
          "(<service>.<namespace>.svc and .svc.cluster.local); IP addresses become IP names.");
ABSL_FLAG(std::string, validating_webhook_configurations, "platform-admission",
          "ValidatingWebhookConfigurations whose caBundle to keep current, comma-separated.");
ABSL_FLAG(std::string, mutating_webhook_configurations, "platform-admission",
          "MutatingWebhookConfigurations whose caBundle to keep current, comma-separated.");
ABSL_FLAG(std::string, step_input, "",
          "File with the function step's Input, as the Compositions give it (default: the "
          "Compositions' own: the policy from EnvironmentConfig platform-policy, optional).");
ABSL_FLAG(std::string, team_label, "platform.terraforming.io/team",
          "Namespace label whose value defaults spec.parameters.team; empty defaults nothing.");
ABSL_FLAG(std::string, class_label, "platform.terraforming.io/environment",
          "Namespace label whose value defaults spec.parameters.environment; empty defaults "
          "nothing.");
ABSL_FLAG(absl::Duration, ca_validity, absl::Hours(24 * 365 * 10), "Lifetime of a new CA.");
ABSL_FLAG(absl::Duration, cert_validity, absl::Hours(24 * 365),
          "Lifetime of a new serving certificate.");
ABSL_FLAG(absl::Duration, renew_before, absl::Hours(24 * 30),
          "Renew a certificate this long before it expires.");
ABSL_FLAG(absl::Duration, cert_check_interval, absl::Hours(1),
          "How often the certificates and caBundles are checked.");
ABSL_FLAG(bool, debug, false, "Log every review.");
ABSL_FLAG(std::string, log_format, "text", "Log format: text or json.");

namespace {

using platform::admission::Json;

std::vector<std::string> List(const std::string& text) {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    out.emplace_back(part);
  }
  return out;
}

std::string DefaultNamespace() {
  if (const char* ns = std::getenv("POD_NAMESPACE"); ns != nullptr && *ns != '\0') return ns;
  return "crossplane-system";
}

std::chrono::seconds Seconds(absl::Duration d) {
  return std::chrono::seconds(absl::ToInt64Seconds(d));
}

// Waits up to `d` for SIGTERM or SIGINT; true when one came.
bool WaitForSignal(const sigset_t& signals, std::chrono::seconds d) {
  timespec ts{static_cast<time_t>(d.count()), 0};
  return sigtimedwait(&signals, nullptr, &ts) > 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::FlagsUsageConfig usage;
  usage.version_string = [] {
    return std::string("platform-admission " PLATFORM_ADMISSION_VERSION
                       " (" PLATFORM_ADMISSION_COMMIT ")\n");
  };
  absl::SetFlagsUsageConfig(usage);
  absl::SetProgramUsageMessage(
      "Admission webhook for the platform's claims and XRs: refuses what the composition "
      "function would refuse, with its words, and defaults spec.parameters.team.");
  platform::ParseDashedFlags(argc, argv);
  if (!platform::SetUpLogger("platform-admission", absl::GetFlag(FLAGS_log_format),
                             absl::GetFlag(FLAGS_debug))) {
    std::fprintf(stderr, "platform-admission: --log-format: must be text or json\n");
    return 2;
  }

  // The step input: the Compositions' own unless a file says otherwise.
  absl::StatusOr<Json> input = platform::admission::StepInput(absl::GetFlag(FLAGS_step_input));
  if (!input.ok()) {
    spdlog::error("--step-input: {}", std::string(input.status().message()));
    return 2;
  }
  const std::string ns =
      absl::GetFlag(FLAGS_namespace).empty() ? DefaultNamespace() : absl::GetFlag(FLAGS_namespace);
  platform::admission::CertManagerOptions cert_options;
  cert_options.ns = ns;
  cert_options.secret = absl::GetFlag(FLAGS_tls_secret);
  const std::string issuer = absl::GetFlag(FLAGS_certificates);
  if (issuer != "self" && issuer != "cert-manager") {
    spdlog::error("--certificates: must be self or cert-manager, not \"{}\"", issuer);
    return 2;
  }
  cert_options.external = issuer == "cert-manager";
  cert_options.hosts = List(absl::GetFlag(FLAGS_hosts));
  if (cert_options.hosts.empty()) {
    const std::string service = absl::GetFlag(FLAGS_service);
    cert_options.hosts = {service + "." + ns + ".svc", service + "." + ns + ".svc.cluster.local"};
  }
  cert_options.validating_configurations =
      List(absl::GetFlag(FLAGS_validating_webhook_configurations));
  cert_options.mutating_configurations = List(absl::GetFlag(FLAGS_mutating_webhook_configurations));
  cert_options.ca_validity = Seconds(absl::GetFlag(FLAGS_ca_validity));
  cert_options.serving_validity = Seconds(absl::GetFlag(FLAGS_cert_validity));
  cert_options.renew_before = Seconds(absl::GetFlag(FLAGS_renew_before));
  const std::chrono::seconds check = Seconds(absl::GetFlag(FLAGS_cert_check_interval));
  if (cert_options.renew_before >= cert_options.serving_validity ||
      cert_options.renew_before >= cert_options.ca_validity || check.count() < 1) {
    spdlog::error(
        "--renew-before must be shorter than --cert-validity and --ca-validity, and "
        "--cert-check-interval at least 1s");
    return 2;
  }

  // SIGTERM and SIGINT are waited for by main; every thread inherits the mask.
  const sigset_t signals = platform::BlockShutdownSignals();

  absl::StatusOr<kube::Config> kube_config = kube::ResolveConfig(absl::GetFlag(FLAGS_kubeconfig));
  if (!kube_config.ok()) {
    spdlog::error("cannot configure the Kubernetes client: {}",
                  std::string(kube_config.status().message()));
    return 2;
  }
  kube::HttpClient client(*std::move(kube_config));
  kube::SystemClock clock;

  // Certificates first: nothing can be served without them. A failure here
  // (no API server yet, no RBAC) is retried, as a pod restart would.
  platform::admission::CertManager certs(client, cert_options, clock);
  absl::StatusOr<platform::admission::Certificates> current = certs.Reconcile();
  for (int wait = 1; !current.ok(); wait = std::min(wait * 2, 30)) {
    spdlog::error("certificates: {}; trying again in {}s", std::string(current.status().message()),
                  wait);
    if (WaitForSignal(signals, std::chrono::seconds(wait))) return 0;
    current = certs.Reconcile();
  }

  const platform::fn::Registry registry = platform::fn::BuiltinRegistry();
  platform::admission::EvaluatorOptions evaluator_options;
  evaluator_options.team_label = absl::GetFlag(FLAGS_team_label);
  evaluator_options.class_label = absl::GetFlag(FLAGS_class_label);
  const platform::admission::Evaluator evaluator(registry, *std::move(input), evaluator_options);
  platform::admission::ClusterState state(client, evaluator.policy_name());
  state.Start();

  platform::admission::WebhookServer::Options server_options;
  server_options.address = absl::GetFlag(FLAGS_address);
  server_options.serving = current->serving;
  server_options.ready = [&state] { return state.Ready(); };
  const bool debug = absl::GetFlag(FLAGS_debug);
  server_options.handler = [&](std::string_view path, const platform::admission::Review& review) {
    const std::optional<Json> policy = state.Policy();
    const std::optional<Json> namespace_object =
        review.ns.empty() ? std::nullopt : state.Namespace(review.ns);
    const platform::admission::ClusterView view{policy ? &*policy : nullptr,
                                                namespace_object ? &*namespace_object : nullptr};
    platform::admission::Decision d =
        path == "/mutate" ? evaluator.Mutate(review, view) : evaluator.Validate(review, view);
    if (debug) {
      spdlog::debug("{} {} {}/{} {}/{}{}: {}", path, review.operation, review.group, review.kind,
                    review.ns, review.name, review.dry_run ? " (dry run)" : "",
                    d.allowed ? "allowed" : "refused");
    }
    return d;
  };
  absl::StatusOr<std::unique_ptr<platform::admission::WebhookServer>> server =
      platform::admission::WebhookServer::Start(std::move(server_options));
  if (!server.ok()) {
    spdlog::error("{}", std::string(server.status().message()));
    return 1;
  }
  spdlog::info("serving admission reviews on port {} (policy: {})", (*server)->port(),
               evaluator.policy_name().empty() ? std::string("the step input's")
                                               : "EnvironmentConfig " + evaluator.policy_name());

  // Until SIGTERM: keep the certificates current; serve a renewed pair. While
  // a webhook configuration is missing (created after the pods, as Argo CD's
  // waves and Helm do), look again every few seconds, not every interval:
  // without its caBundle the API server cannot call the webhook.
  bool missing = current->configurations_missing;
  while (!WaitForSignal(signals, missing ? std::min(check, std::chrono::seconds(5)) : check)) {
    absl::StatusOr<platform::admission::Certificates> next = certs.Reconcile();
    if (!next.ok()) {
      spdlog::error("certificates: {}", std::string(next.status().message()));
      continue;
    }
    missing = next->configurations_missing;
    if (next->serving.cert_pem != current->serving.cert_pem) {
      if (absl::Status s = (*server)->Rotate(next->serving); !s.ok()) {
        spdlog::error("certificates: cannot serve the renewed certificate: {}",
                      std::string(s.message()));
        continue;
      }
      spdlog::info("certificates: serving the renewed certificate");
      current = std::move(next);
    }
  }
  spdlog::info("stopping");
  server->reset();
  state.Stop();
  return 0;
}
