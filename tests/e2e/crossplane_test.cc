// Crossplane core v2.3.4 itself, composing our XRs through our function: the
// `crossplane` fixture (tests/crossplane/crossplane.sh) runs core with its
// own RBAC, webhooks and the garbage collector, and installs our Function and
// Configuration packages through its package manager. A simulated cloud (a
// test double) stands in for the AWS provider and Cluster API; these tests
// assert what Crossplane, our function and our packages do with it.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/kubectl.h"
#include "tests/support/subprocess.h"

namespace platform::testing {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::seconds;

const std::string kSource = PLATFORM_SOURCE_DIR;
const std::string kState = CROSSPLANE_STATE;
const std::string kKubeconfig = kState + "/kubeconfig";

// Every kind of managed resource and Cluster API object, for lookups by
// label across kinds (upjet's CRDs are all in the category `managed`).
constexpr char kComposedKinds[] =
    "managed,clusters.cluster.x-k8s.io,machinepools.cluster.x-k8s.io,"
    "awsmanagedcontrolplanes.controlplane.cluster.x-k8s.io,"
    "awsmanagedclusters.infrastructure.cluster.x-k8s.io,"
    "awsmanagedmachinepools.infrastructure.cluster.x-k8s.io,"
    "usages.protection.crossplane.io,clusterusages.protection.crossplane.io";

RunResult Kubectl(std::vector<std::string> args) {
  return RunKubectl(KUBECTL_BIN, kKubeconfig, std::move(args));
}

// The object, or null when it does not exist.
Json Get(const std::string& kind, const std::string& name, const std::string& ns = "") {
  std::vector<std::string> args = {"get", kind, name, "-o", "json", "--ignore-not-found"};
  if (!ns.empty()) args.insert(args.end(), {"-n", ns});
  RunResult r = Kubectl(args);
  if (r.exit_code != 0 || r.out.empty()) return nullptr;
  return Json::parse(r.out);
}

// Objects of `kinds` (comma-separated) matching `selector`, in every namespace.
std::vector<Json> List(const std::string& kinds, const std::string& selector) {
  RunResult r = Kubectl({"get", kinds, "-A", "-l", selector, "-o", "json"});
  if (r.exit_code != 0) return {};
  std::vector<Json> out;
  for (const Json& item : Json::parse(r.out)["items"]) out.push_back(item);
  return out;
}

std::string Status(const Json& obj, const std::string& type) {
  if (!obj.is_object() || !obj.contains("status")) return "";
  for (const Json& c : obj["status"].value("conditions", Json::array())) {
    if (c.value("type", "") == type) return c.value("status", "");
  }
  return "";
}

std::string ConditionMessage(const Json& obj, const std::string& type) {
  if (!obj.is_object() || !obj.contains("status")) return "";
  for (const Json& c : obj["status"].value("conditions", Json::array())) {
    if (c.value("type", "") == type) return c.value("reason", "") + ": " + c.value("message", "");
  }
  return "";
}

std::string Conditions(const Json& obj) {
  if (!obj.is_object() || !obj.contains("status")) return "(no status)";
  std::string out;
  for (const Json& c : obj["status"].value("conditions", Json::array())) {
    out += "\n  " + c.value("type", "") + "=" + c.value("status", "") + " " +
           c.value("reason", "") + ": " + c.value("message", "");
  }
  return out;
}

// Polls `done` until it holds or `timeout` passes.
bool Eventually(seconds timeout, const std::function<bool()>& done) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return done();
}

std::string Key(const Json& obj) {
  const Json& m = obj["metadata"];
  return obj.value("kind", "") + "/" +
         (m.contains("namespace") ? m.value("namespace", "") + "/" : "") + m.value("name", "");
}

// The composition resource name Crossplane gave a composed object.
std::string ResourceName(const Json& obj) {
  const Json::json_pointer p("/metadata/annotations/crossplane.io~1composition-resource-name");
  return obj.contains(p) ? obj[p].get<std::string>() : "";
}

// Events Crossplane recorded for an object.
std::vector<Json> EventsFor(const std::string& name, const std::string& ns) {
  std::vector<std::string> args = {"get",  "events",           "-o",
                                   "json", "--field-selector", "involvedObject.name=" + name};
  if (ns.empty()) {
    args.push_back("-A");
  } else {
    args.insert(args.end(), {"-n", ns});
  }
  RunResult r = Kubectl(args);
  std::vector<Json> out;
  if (r.exit_code != 0) return out;
  for (const Json& e : Json::parse(r.out)["items"]) out.push_back(e);
  return out;
}

class CrossplaneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(Get("configuration", "configuration-platform").is_object())
        << "the crossplane fixture is not up: run through ctest (crossplane_up)";
  }

  // Creates or updates the objects of a YAML stream.
  void Apply(const std::string& yaml) {
    RunResult r = Kubectl({"apply", "-f", dir_.Write("apply.yaml", yaml)});
    ASSERT_EQ(r.exit_code, 0) << r.err << "\n" << yaml;
  }

  void EnsureNamespace(const std::string& ns) {
    RunResult r = platform::testing::EnsureNamespace(KUBECTL_BIN, kKubeconfig, dir_, ns);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // Waits until condition `type` of the object is True; fails with its
  // conditions otherwise.
  Json WaitForCondition(const std::string& kind, const std::string& name, const std::string& ns,
                        const std::string& type, seconds timeout) {
    Json obj;
    const bool ok = Eventually(timeout, [&] {
      obj = Get(kind, name, ns);
      return Status(obj, type) == "True";
    });
    EXPECT_TRUE(ok) << kind << " " << name << " not " << type << " after " << timeout.count()
                    << "s:" << Conditions(obj);
    return obj;
  }

  // The XR a claim is bound to.
  Json XrOf(const std::string& xr_kind, const Json& claim) {
    const Json::json_pointer ref("/spec/resourceRef/name");
    if (!claim.contains(ref)) return nullptr;
    return Get(xr_kind, claim[ref].get<std::string>());
  }

  TempDir dir_;
};

std::string EnvironmentClaim(const std::string& name, const std::string& ns,
                             const std::string& environment, const std::string& extra = "") {
  return R"(apiVersion: platform.terraforming.io/v1alpha1
kind: Environment
metadata:
  name: )" +
         name + R"(
  namespace: )" +
         ns + R"(
spec:
  parameters:
    environment: )" +
         environment + R"(
    region: eu-west-1
    team: payments
    costCenter: cc-1234
)" + extra;
}

// --- 1. A claim becomes an XR and its resources, and both become Ready ------

TEST_F(CrossplaneTest, AnEnvironmentClaimBecomesReadyWithTheIdsOfItsNetwork) {
  EnsureNamespace("team-payments");
  Apply(EnvironmentClaim("payments-prod", "team-payments", "prod"));
  const Json claim =
      WaitForCondition("environment", "payments-prod", "team-payments", "Ready", seconds(300));
  const Json xr = XrOf("xenvironment", claim);
  ASSERT_TRUE(xr.is_object()) << claim.dump(2);
  EXPECT_EQ(Status(xr, "Ready"), "True") << Conditions(xr);
  EXPECT_EQ(Status(xr, "Synced"), "True") << Conditions(xr);
  EXPECT_EQ(Status(xr, "Authorized"), "True") << Conditions(xr);

  // Every composed resource is there once, and ready.
  const std::vector<Json> composed = List(kComposedKinds, "crossplane.io/claim-name=payments-prod");
  std::map<std::string, int> by_name;
  for (const Json& o : composed) ++by_name[ResourceName(o)];
  EXPECT_EQ(by_name.size(), composed.size()) << "a composition resource name twice";
  std::size_t managed = 0;
  for (const Json& o : composed) {
    if (o["kind"] == "ClusterUsage" || o["kind"] == "Usage") continue;
    ++managed;
    EXPECT_EQ(Status(o, "Ready"), "True") << Key(o) << Conditions(o);
  }
  // Three zones, a NAT gateway in each: the prod network of docs/xenvironment.md.
  EXPECT_EQ(managed, 39u);
  EXPECT_EQ(by_name.count("nat-c"), 1u);

  // The XR's status carries the ids of what was made, the claim's too.
  std::map<std::string, std::string> ids;
  for (const Json& o : composed) {
    const Json::json_pointer id("/status/atProvider/id");
    if (o.contains(id)) ids[ResourceName(o)] = o[id];
  }
  ASSERT_FALSE(ids["vpc"].empty());
  EXPECT_EQ(xr["status"].value("vpcId", ""), ids["vpc"]) << xr["status"].dump(2);
  EXPECT_EQ(claim["status"].value("vpcId", ""), ids["vpc"]) << claim["status"].dump(2);
  std::vector<std::string> private_subnets;
  for (const char* zone : {"a", "b", "c"}) {
    private_subnets.push_back(ids[std::string("subnet-private-") + zone]);
  }
  EXPECT_EQ(xr["status"].value("privateSubnetIds", Json::array()), Json(private_subnets));

  Kubectl({"delete", "environment", "payments-prod", "-n", "team-payments", "--wait=false"});
}

}  // namespace
}  // namespace platform::testing
