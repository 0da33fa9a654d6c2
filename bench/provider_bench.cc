// provider_bench: what the provider itself costs around an OpenTofu run.
//
//   state   storing and loading a Workspace's state: gzip, AES-256-GCM, the
//           Secret with its history (an in-memory API server, so the figure
//           is the provider's own CPU, not the network's)
//   reconcile  one pass of the managed reconciler for an up-to-date resource
//           with an external client that answers at once: the contract's
//           bookkeeping (policies, conditions, usage, status write)
//   process  one run of a program that exits at once (/bin/true) as the
//           provider runs OpenTofu (a supervisor, output to files): the wall
//           time from the call to its return, with the supervisor program
//           and with a fork of the caller as the supervisor
//
// Usage: provider_bench [--resources N] [--iterations N]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "common/status_macros.h"
#include "provider/exec/process.h"
#include "provider/kube/resources.h"
#include "provider/runtime/managed.h"
#include "provider/testing/fake_client.h"
#include "provider/workspace/state_store.h"

ABSL_FLAG(int, resources, 200, "Resources in the benchmark's state.");
ABSL_FLAG(int, iterations, 200, "Iterations of each measurement.");

namespace {

using kube::Json;
using Clock = std::chrono::steady_clock;

// A state of `n` resources in OpenTofu's format, each with a realistic set of
// attributes (about 1 KiB).
std::string MakeState(int n, int serial) {
  Json resources = Json::array();
  for (int i = 0; i < n; ++i) {
    Json attributes = {{"id", "vpc-0a1b2c3d4e5f" + std::to_string(i)},
                       {"arn", "arn:aws:ec2:eu-west-1:123456789012:vpc/vpc-" + std::to_string(i)},
                       {"cidr_block", "10." + std::to_string(i % 256) + ".0.0/16"},
                       {"enable_dns_hostnames", true},
                       {"tags", {{"team", "payments"}, {"environment", "prod"}}}};
    for (int k = 0; k < 12; ++k) {
      attributes["attribute_" + std::to_string(k)] = "value-" + std::to_string(i * 31 + k);
    }
    resources.push_back({{"mode", "managed"},
                         {"type", "aws_vpc"},
                         {"name", "r" + std::to_string(i)},
                         {"provider", "provider[\"registry.opentofu.org/hashicorp/aws\"]"},
                         {"instances", {{{"schema_version", 1}, {"attributes", attributes}}}}});
  }
  return Json{{"version", 4},
              {"terraform_version", "1.12.6"},
              {"serial", serial},
              {"lineage", "0b5e3c1a-6f0e-4a8e-9d52-2c1c1f2a9b77"},
              {"outputs", {{"vpc_id", {{"value", "vpc-0"}, {"type", "string"}}}}},
              {"resources", resources}}
      .dump();
}

double Micros(Clock::duration d, int n) {
  return std::chrono::duration<double, std::micro>(d).count() / n;
}

class Instant : public runtime::ExternalClient {
 public:
  absl::StatusOr<runtime::Observation> Observe(Json&) override {
    return runtime::Observation{true, true, false, {}};
  }
  absl::StatusOr<runtime::ExternalResult> Create(Json&) override {
    return runtime::ExternalResult{};
  }
  absl::StatusOr<runtime::ExternalResult> Update(Json&) override {
    return runtime::ExternalResult{};
  }
  absl::Status Delete(Json&) override { return absl::OkStatus(); }
};

class InstantConnector : public runtime::Connector {
 public:
  absl::StatusOr<std::unique_ptr<runtime::ExternalClient>> Connect(Json&, const Json&) override {
    return std::make_unique<Instant>();
  }
};

// A benchmark step that must work: stop with its error when it does not.
template <typename T>
void Check(const T& result, const char* what) {
  if (result.ok()) return;
  std::fprintf(stderr, "%s: %s\n", what,
               std::string(status_macros::StatusOf(result).message()).c_str());
  std::exit(1);
}

class NoEvents : public runtime::EventSink {
 public:
  void Event(const Json&, const std::string&, const std::string&, const std::string&,
             const std::map<std::string, std::string>&) override {}
};

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Benchmarks of provider-workloads' own work.");
  absl::ParseCommandLine(argc, argv);
  const int n = absl::GetFlag(FLAGS_resources);
  const int iterations = absl::GetFlag(FLAGS_iterations);

  {
    kube::testing::FakeClient api;
    workspace::StateStore::Options o;
    o.ns = "crossplane-system";
    o.uid = "bench";
    o.history = 5;
    o.key = "correct-horse-battery-staple";
    workspace::StateStore store(api, o);
    const std::string first = MakeState(n, 1);
    std::vector<std::string> states;
    for (int i = 0; i < iterations; ++i) states.push_back(MakeState(n, i + 1));
    const auto t0 = Clock::now();
    for (const auto& s : states) Check(store.Save(s), "save");
    const auto t1 = Clock::now();
    for (int i = 0; i < iterations; ++i) Check(store.Load(), "load");
    const auto t2 = Clock::now();
    const Json secret = api.Peek(kube::kSecrets, store.Key());
    size_t stored = 0;
    for (const auto& [k, v] : secret["data"].items()) stored += v.get<std::string>().size();
    std::printf(
        "state: %d resources, %zu bytes of JSON, %zu bytes in the Secret with %zu "
        "versions (base64)\n",
        n, first.size(), stored, secret["data"].size());
    std::printf("  save (gzip, seal, history, update): %8.1f us\n", Micros(t1 - t0, iterations));
    std::printf("  load (get, open, gunzip, parse):    %8.1f us\n", Micros(t2 - t1, iterations));
  }

  {
    kube::testing::FakeClient api;
    const kube::Resource widgets{"bench.workloads.terraforming.io", "v1alpha1", "widgets", "Widget",
                                 false};
    const kube::Resource configs{"bench.workloads.terraforming.io", "v1alpha1", "providerconfigs",
                                 "ProviderConfig", false};
    const kube::Resource usages{"bench.workloads.terraforming.io", "v1alpha1",
                                "providerconfigusages", "ProviderConfigUsage", false};
    api.Seed(configs, {{"metadata", {{"name", "default"}}}});
    api.Seed(widgets, {{"metadata", {{"name", "w"}}}, {"spec", {{"forProvider", Json::object()}}}});
    kube::SystemClock clock;
    NoEvents events;
    InstantConnector connector;
    runtime::ProviderConfigs pcs(api, {configs, std::nullopt, usages, false});
    runtime::ManagedOptions mo;
    mo.resource = widgets;
    mo.legacy = true;
    runtime::ManagedReconciler reconciler(api, events, clock, connector, pcs, mo);
    reconciler.Reconcile({"", "w"});  // external name, finalizer
    const auto t0 = Clock::now();
    for (int i = 0; i < iterations * 10; ++i) reconciler.Reconcile({"", "w"});
    const auto t1 = Clock::now();
    std::printf("reconcile (up to date, in-memory API server): %8.1f us per pass\n",
                Micros(t1 - t0, iterations * 10));
  }

  {
    std::string dir = (std::filesystem::temp_directory_path() / "provider-bench-XXXXXX").string();
    if (::mkdtemp(dir.data()) == nullptr) {
      std::perror("mkdtemp");
      return 1;
    }
    // Removed however this block is left.
    const std::unique_ptr<const std::string, void (*)(const std::string*)> remove_dir(
        &dir, [](const std::string* d) {
          std::error_code ec;
          std::filesystem::remove_all(*d, ec);
        });
    exec::ProcessSpec spec;
    spec.argv = {"/bin/true"};
    spec.stdout_file = dir + "/out";
    spec.stderr_file = dir + "/err";
    // Both ways a supervisor can start: as provider-workloads-supervisor
    // (posix_spawn) and as a fork of this process.
    for (const std::string& supervisor : {std::string(SUPERVISOR), std::string()}) {
      exec::UseSupervisor(supervisor);
      const auto t0 = Clock::now();
      for (int i = 0; i < iterations; ++i) {
        const absl::StatusOr<exec::ProcessResult> ran = exec::Run(spec);
        if (!ran.ok()) {
          std::fprintf(stderr, "run /bin/true: %s\n", std::string(ran.status().message()).c_str());
          return 1;
        }
        if (ran->exit_code != 0) {
          std::fprintf(stderr, "/bin/true exited with %d: %s\n", ran->exit_code, ran->err.c_str());
          return 1;
        }
      }
      const auto t1 = Clock::now();
      if (exec::Supervisor() != supervisor) {
        std::fprintf(stderr, "the supervisor program %s could not be run\n", supervisor.c_str());
        return 1;
      }
      std::printf("process (/bin/true, output to files, supervisor %s): %8.1f us per run\n",
                  supervisor.empty() ? "forked" : "program", Micros(t1 - t0, iterations));
    }
  }
  return 0;
}
