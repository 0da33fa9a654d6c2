// external-package-runtime: a TEST DOUBLE for the package runtime that
// Crossplane core leaves to someone else under PACKAGE_RUNTIME=External.
//
// With the default Deployment runtime, Crossplane runs each Provider and
// Function revision as a Deployment with a Service, and records two things on
// the revision's status: the Secret holding the runtime's TLS server
// certificate (status.tlsServerSecretName, read when the revision's objects
// are installed) and, for a Function, the gRPC endpoint it serves
// (status.endpoint). Under External, nothing records them, and a revision
// without the first never installs its CRDs.
//
// The tests run the function as a host process and the providers not at all
// (the simulated cloud stands in for them), so this program records, on every
// active revision: the TLS Secret the fixture made, and for the functions
// named on the command line, the endpoint each listens on. Nothing else.
//
//   external-package-runtime --kubeconfig PATH --tls-secret NAME
//                            [--function NAME=HOST:PORT ...]
#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "provider/kube/client.h"
#include "provider/kube/config.h"
#include "provider/kube/informer.h"
#include "provider/kube/rest_client.h"
#include "tests/crossplane/doubles.h"

namespace {

using kube::Json;
using platform::testing::doubles::Log;
using platform::testing::doubles::QuickInformer;
using platform::testing::doubles::StatusSubresource;
using platform::testing::doubles::stopping;

std::string StatusString(const Json& obj, const char* field) {
  const Json::json_pointer p(std::string("/status/") + field);
  return obj.contains(p) && obj[p].is_string() ? obj[p].get<std::string>() : "";
}

class ExternalRuntime {
 public:
  ExternalRuntime(kube::Client& client, std::string tls_secret,
                  std::map<std::string, std::string> endpoints)
      : client_(client), tls_secret_(std::move(tls_secret)), endpoints_(std::move(endpoints)) {}

  void Run() {
    std::vector<std::unique_ptr<kube::Informer>> informers;
    for (const auto& [plural, kind] :
         {std::pair<std::string, std::string>{"providerrevisions", "ProviderRevision"},
          {"functionrevisions", "FunctionRevision"}}) {
      const kube::Resource r{"pkg.crossplane.io", "v1", plural, kind, false};
      informers.push_back(std::make_unique<kube::Informer>(
          client_, r, "", "",
          kube::Informer::Handlers{[this, r](const Json& o) { Handle(r, o); }, [](const Json&) {}},
          QuickInformer()));
      informers.back()->Start();
    }
    while (!stopping) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    for (auto& i : informers) i->Stop();
  }

 private:
  void Handle(const kube::Resource& r, const Json& rev) {
    if (rev["spec"].value("desiredState", "") != "Active") return;
    Json status = Json::object();
    if (StatusString(rev, "tlsServerSecretName") != tls_secret_) {
      status["tlsServerSecretName"] = tls_secret_;
    }
    if (r.kind == "FunctionRevision") {
      const Json::json_pointer label("/metadata/labels/pkg.crossplane.io~1package");
      const std::string function =
          rev.contains(label) && rev[label].is_string() ? rev[label].get<std::string>() : "";
      auto it = endpoints_.find(function);
      if (it != endpoints_.end() && StatusString(rev, "endpoint") != it->second) {
        status["endpoint"] = it->second;
      }
    }
    if (status.empty()) return;
    const std::string name = rev["metadata"]["name"];
    const absl::StatusOr<Json> recorded = client_.Patch(r, {"", name}, kube::PatchType::kMerge,
                                                        {{"status", status}}, StatusSubresource());
    if (recorded.ok()) {
      Log("recorded " + status.dump() + " on " + r.kind + " " + name);
    } else {
      // The revision changed or went away: its next event brings it back.
      Log("cannot record runtime status on " + r.kind + " " + name + ": " +
          std::string(recorded.status().message()));
    }
  }

  kube::Client& client_;
  const std::string tls_secret_;
  const std::map<std::string, std::string> endpoints_;
};

}  // namespace

int main(int argc, char** argv) {
  std::string kubeconfig;
  std::string tls_secret;
  std::map<std::string, std::string> endpoints;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const std::size_t eq = a.find('=');
    const std::string flag = a.substr(0, eq);
    std::string value;
    if (eq != std::string::npos) {
      value = a.substr(eq + 1);
    } else if (i + 1 < argc) {
      value = argv[++i];
    }
    if (flag == "--kubeconfig") {
      kubeconfig = value;
    } else if (flag == "--tls-secret") {
      tls_secret = value;
    } else if (flag == "--function" && value.find('=') != std::string::npos) {
      endpoints[value.substr(0, value.find('='))] = value.substr(value.find('=') + 1);
    } else {
      std::cerr << "usage: external-package-runtime --kubeconfig PATH --tls-secret NAME "
                   "[--function NAME=HOST:PORT ...]\n";
      return 2;
    }
  }
  if (kubeconfig.empty() || tls_secret.empty()) {
    std::cerr << "external-package-runtime: --kubeconfig and --tls-secret are required\n";
    return 2;
  }
  platform::testing::doubles::StopOnSignals();
  absl::StatusOr<kube::Config> config = kube::ReadKubeconfig(kubeconfig);
  if (!config.ok()) {
    std::cerr << "external-package-runtime: " << config.status().message() << "\n";
    return 1;
  }
  kube::HttpClient client(*std::move(config));
  Log("external-package-runtime: a test double for Crossplane's package runtime");
  ExternalRuntime(client, tls_secret, endpoints).Run();
  return 0;
}
