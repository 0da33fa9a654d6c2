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
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
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
// The fixture's state folder; CROSSPLANE_STATE overrides it (a Crossplane
// started by hand with `make crossplane-up`).
const std::string kState = [] {
  const char* env = std::getenv("CROSSPLANE_STATE");
  return std::string(env != nullptr && *env != '\0' ? env : CROSSPLANE_STATE);
}();
const std::string kKubeconfig = kState + "/kubeconfig";

// Every kind of managed resource and Cluster API object, for lookups by
// label across kinds (upjet's CRDs are all in the category `managed`).
constexpr char kComposedKinds[] =
    "managed,clusters.cluster.x-k8s.io,machinepools.cluster.x-k8s.io,"
    "awsmanagedcontrolplanes.controlplane.cluster.x-k8s.io,"
    "awsmanagedclusters.infrastructure.cluster.x-k8s.io,"
    "awsmanagedmachinepools.infrastructure.cluster.x-k8s.io,"
    "usages.protection.crossplane.io,clusterusages.protection.crossplane.io";

// Our kinds by full name: XEnvironment is both a claim-based (cluster-scoped)
// and a namespaced kind, and kubectl's short names would pick one of them.
constexpr char kEnvironmentClaim[] = "environments.platform.terraforming.io";
constexpr char kXEnvironment[] = "xenvironments.platform.terraforming.io";
constexpr char kXEnvironmentNs[] = "xenvironments.platform.m.terraforming.io";
constexpr char kDatabaseClaim[] = "databases.platform.terraforming.io";
constexpr char kXDatabase[] = "xdatabases.platform.terraforming.io";
constexpr char kXDatabaseNs[] = "xdatabases.platform.m.terraforming.io";
constexpr char kClusterClaim[] = "clusters.platform.terraforming.io";
constexpr char kXClusterNs[] = "xclusters.platform.m.terraforming.io";

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
  if (r.exit_code != 0) {
    ADD_FAILURE() << "kubectl get " << kinds << ": " << r.err;
    return {};
  }
  // Parsed into a variable first: a range-for over a member of a temporary
  // would read a destroyed object.
  const Json list = Json::parse(r.out);
  return std::vector<Json>(list["items"].begin(), list["items"].end());
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
  if (r.exit_code != 0) return {};
  const Json list = Json::parse(r.out);
  return std::vector<Json>(list["items"].begin(), list["items"].end());
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
                             const std::string& environment,
                             const std::string& cost_center = "cc-1234",
                             const std::string& extra = "") {
  return "apiVersion: platform.terraforming.io/v1alpha1\nkind: Environment\nmetadata:\n  name: " +
         name + "\n  namespace: " + ns + "\nspec:\n  parameters:\n    environment: " + environment +
         "\n    region: eu-west-1\n    team: payments\n    costCenter: " + cost_center + "\n" +
         extra;
}

// --- 1. A claim becomes an XR and its resources, and both become Ready ------

TEST_F(CrossplaneTest, AnEnvironmentClaimBecomesReadyWithTheIdsOfItsNetwork) {
  EnsureNamespace("team-payments");
  Apply(EnvironmentClaim("payments-prod", "team-payments", "prod"));
  const Json claim =
      WaitForCondition(kEnvironmentClaim, "payments-prod", "team-payments", "Ready", seconds(300));
  const Json xr = XrOf(kXEnvironment, claim);
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
  // Three zones, a NAT gateway in each, flow logs, the S3 endpoint in every
  // private and database table: the prod network of docs/xenvironment.md.
  EXPECT_EQ(managed, 48u);
  EXPECT_EQ(by_name.count("nat-c"), 1u);
  EXPECT_EQ(by_name.count("flowlog"), 1u);
  EXPECT_EQ(by_name.count("vpce-s3-rt-database"), 1u);
  // No NAT gateway was made before the internet gateway was attached.
  std::string gateway_ready;
  for (const Json& o : composed) {
    if (ResourceName(o) != "igw") continue;
    for (const Json& c : o["status"]["conditions"]) {
      if (c.value("type", "") == "Ready") gateway_ready = c.value("lastTransitionTime", "");
    }
  }
  ASSERT_FALSE(gateway_ready.empty());
  for (const Json& o : composed) {
    if (o["kind"] != "NATGateway") continue;
    EXPECT_GE(o["metadata"].value("creationTimestamp", ""), gateway_ready) << Key(o);
  }

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
  EXPECT_EQ(xr["status"]["gatewayEndpoints"]["s3"]["routeTableIds"].size(), 4u)
      << xr["status"].dump(2);

  Kubectl({"delete", kEnvironmentClaim, "payments-prod", "-n", "team-payments", "--wait=false"});
}

// Sum of the counts of the events with `reason` recorded for an object
// (client-go folds identical events into one with a count).
int EventCount(const std::string& name, const std::string& ns, const std::string& reason) {
  int n = 0;
  for (const Json& e : EventsFor(name, ns)) {
    if (e.value("reason", "") != reason) continue;
    n += std::max(1, e.value("count", 1));
  }
  return n;
}

std::string EventMessages(const std::string& name, const std::string& ns) {
  std::string out;
  for (const Json& e : EventsFor(name, ns)) {
    out +=
        "\n  " + e.value("type", "") + " " + e.value("reason", "") + ": " + e.value("message", "");
  }
  return out;
}

// Makes Crossplane reconcile an object again (an annotation change is a
// watch event), and gives it a moment.
void Poke(const std::string& kind, const std::string& name, const std::string& ns, int round) {
  std::vector<std::string> args = {"annotate", kind, name, "--overwrite",
                                   "platform.terraforming.io/test-poke=" + std::to_string(round)};
  if (!ns.empty()) args.insert(args.end(), {"-n", ns});
  Kubectl(args);
  std::this_thread::sleep_for(seconds(3));
}

std::string Base64Decode(const std::string& in) {
  static const std::string chars =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int val = 0, bits = -8;
  for (char c : in) {
    const std::size_t d = chars.find(c);
    if (d == std::string::npos) break;
    val = (val << 6) + static_cast<int>(d);
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((val >> bits) & 0xFF));
      bits -= 8;
    }
  }
  return out;
}

std::map<std::string, std::string> SecretData(const Json& secret) {
  std::map<std::string, std::string> out;
  if (!secret.is_object() || !secret.contains("data")) return out;
  for (auto it = secret["data"].begin(); it != secret["data"].end(); ++it) {
    out[it.key()] = Base64Decode(it.value().get<std::string>());
  }
  return out;
}

// --- 2. Connection Secrets -------------------------------------------------------

constexpr char kDatabaseParameters[] = R"(    environment: dev
    region: eu-west-1
    team: payments
    costCenter: cc-1234
    engine: postgres
    engineVersion: "16"
    databaseName: payments
    network:
      vpcId: vpc-0a1b2c3d4e5f67890
      vpcCidr: 10.0.0.0/16
      databaseSubnetIds:
        - subnet-0ccc9999dddd0000e
        - subnet-0fff1111aaaa2222b
    clients:
      cidrBlocks:
        - 10.0.32.0/20
)";

TEST_F(CrossplaneTest, ADatabaseClaimGetsItsConnectionSecret) {
  EnsureNamespace("team-payments");
  Apply(std::string(R"(apiVersion: platform.terraforming.io/v1alpha1
kind: Database
metadata:
  name: payments-db
  namespace: team-payments
spec:
  writeConnectionSecretToRef:
    name: payments-db-connection
  parameters:
)") + kDatabaseParameters);
  const Json claim =
      WaitForCondition(kDatabaseClaim, "payments-db", "team-payments", "Ready", seconds(300));
  const Json xr = XrOf(kXDatabase, claim);
  ASSERT_TRUE(xr.is_object()) << claim.dump(2);
  // Crossplane writes the XR's Secret only where the Composition says.
  const Json::json_pointer ref("/spec/writeConnectionSecretToRef/namespace");
  EXPECT_TRUE(xr.contains(ref) && xr[ref] == "crossplane-system")
      << "the XR has no connection Secret in crossplane-system: " << xr["spec"].dump(2);

  Json secret;
  ASSERT_TRUE(Eventually(seconds(60),
                         [&] {
                           secret = Get("secret", "payments-db-connection", "team-payments");
                           return secret.is_object();
                         }))
      << "no connection Secret in the claim's namespace; XR:" << Conditions(xr);
  const std::map<std::string, std::string> data = SecretData(secret);
  std::vector<std::string> keys;
  for (const auto& [k, v] : data) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"database", "endpoint", "host", "password", "port",
                                            "username"}));
  // The values are the database's, as the provider reported them.
  const std::vector<Json> instances =
      List("instances.rds.aws.upbound.io", "crossplane.io/claim-name=payments-db");
  ASSERT_EQ(instances.size(), 1u);
  const Json& instance = instances.front();
  EXPECT_EQ(data.at("host"), instance["status"]["atProvider"].value("address", "-"));
  EXPECT_EQ(data.at("port"), "5432");
  EXPECT_EQ(data.at("endpoint"), data.at("host") + ":5432");
  EXPECT_EQ(data.at("database"), "payments");
  EXPECT_FALSE(data.at("username").empty());
  EXPECT_FALSE(data.at("password").empty());

  // Published once: more reconciles say nothing new.
  const std::string xr_name = xr["metadata"]["name"];
  for (int round = 0; round < 3; ++round) Poke(kXDatabase, xr_name, "", round);
  EXPECT_EQ(EventCount(xr_name, "", "PublishConnectionDetails"), 1) << EventMessages(xr_name, "");

  Kubectl({"delete", kDatabaseClaim, "payments-db", "-n", "team-payments", "--wait=false"});
}

TEST_F(CrossplaneTest, ANamespacedDatabaseGetsItsOwnSecretInItsNamespace) {
  EnsureNamespace("team-orders");
  Apply(std::string(R"(apiVersion: platform.m.terraforming.io/v1alpha1
kind: XDatabase
metadata:
  name: orders-db
  namespace: team-orders
spec:
  parameters:
)") + kDatabaseParameters);
  WaitForCondition(kXDatabaseNs, "orders-db", "team-orders", "Ready", seconds(300));
  const Json secret = Get("secret", "orders-db-connection", "team-orders");
  ASSERT_TRUE(secret.is_object());
  std::map<std::string, std::string> data = SecretData(secret);
  const std::vector<Json> instances =
      List("instances.rds.aws.m.upbound.io", "crossplane.io/composite=orders-db");
  ASSERT_EQ(instances.size(), 1u);
  EXPECT_EQ(instances.front()["metadata"].value("namespace", ""), "team-orders");
  EXPECT_EQ(data["host"], instances.front()["status"]["atProvider"].value("address", "-"));
  EXPECT_FALSE(data["password"].empty());
  Kubectl({"delete", kXDatabaseNs, "orders-db", "-n", "team-orders", "--wait=false"});
}

// --- 3. Crossplane's RBAC for Cluster API ------------------------------------------

constexpr char kClusterApiRole[] = "crossplane:composite:cluster-api";

bool CrossplaneMayCreateClusterApiObjects() {
  const Json role = Get("clusterrole", "crossplane");
  for (const Json& rule : role.value("rules", Json::array())) {
    for (const Json& g : rule.value("apiGroups", Json::array())) {
      if (g == "cluster.x-k8s.io") return true;
    }
  }
  return false;
}

constexpr char kClusterClaimYaml[] = R"(apiVersion: platform.terraforming.io/v1alpha1
kind: Cluster
metadata:
  name: payments-capi
  namespace: team-payments
spec:
  writeConnectionSecretToRef:
    name: payments-capi-kubeconfig
  parameters:
    environment: dev
    region: eu-west-1
    team: payments
    costCenter: cc-1234
    # The delivered policy names no management path: a private Cluster API
    # endpoint would be refused (docs/xcluster.md).
    endpointAccess: PublicAndPrivate
    network:
      vpcId: vpc-0a1b2c3d4e5f67890
      privateSubnetIds:
        - subnet-0aaa1111bbbb2222c
        - subnet-0ddd3333eeee4444f
    nodePools:
      - name: general
        instanceType: m6i.large
)";

TEST_F(CrossplaneTest, ClusterApiObjectsAreComposedWithTheClusterRoleShippedInDeploy) {
  const std::string role_file = kSource + "/deploy/kustomize/base/crossplane-rbac.yaml";
  // Whatever happens below, the role is back for the other tests.
  struct Restore {
    std::string file;
    ~Restore() { Kubectl({"apply", "-f", file}); }
  } restore{role_file};

  // Without the role: Crossplane says which verbs it lacks.
  ASSERT_EQ(Kubectl({"delete", "clusterrole", kClusterApiRole, "--ignore-not-found"}).exit_code, 0);
  ASSERT_TRUE(Eventually(seconds(60), [] { return !CrossplaneMayCreateClusterApiObjects(); }))
      << "the aggregated crossplane ClusterRole still grants Cluster API";
  EnsureNamespace("team-payments");
  Apply(kClusterClaimYaml);
  std::string xr_name;
  std::string warning;
  ASSERT_TRUE(Eventually(seconds(120),
                         [&] {
                           const Json claim = Get(kClusterClaim, "payments-capi", "team-payments");
                           if (!claim.is_object() || !claim.contains("spec") ||
                               !claim["spec"].contains("resourceRef")) {
                             return false;
                           }
                           xr_name = claim["spec"]["resourceRef"]["name"];
                           for (const Json& e : EventsFor(xr_name, "")) {
                             if (e.value("reason", "") == "RoleBasedAccessControl")
                               warning = e.value("message", "");
                           }
                           return !warning.empty();
                         }))
      << "no RoleBasedAccessControl event on " << xr_name << ":" << EventMessages(xr_name, "");
  EXPECT_NE(warning.find("system:serviceaccount:crossplane-system:crossplane is not allowed to"),
            std::string::npos)
      << warning;
  EXPECT_NE(warning.find("x-k8s.io"), std::string::npos) << warning;

  // With the role deploy/ ships, the same claim composes and becomes Ready.
  ASSERT_EQ(Kubectl({"apply", "-f", role_file}).exit_code, 0);
  ASSERT_TRUE(Eventually(seconds(60), CrossplaneMayCreateClusterApiObjects));
  const Json claim =
      WaitForCondition(kClusterClaim, "payments-capi", "team-payments", "Ready", seconds(420));
  const std::vector<Json> composed = List(kComposedKinds, "crossplane.io/claim-name=payments-capi");
  std::set<std::string> kinds;
  for (const Json& o : composed) kinds.insert(o["kind"].get<std::string>());
  for (const char* kind : {"Cluster", "AWSManagedControlPlane", "AWSManagedCluster", "MachinePool",
                           "AWSManagedMachinePool"}) {
    EXPECT_EQ(kinds.count(kind), 1u) << kind;
  }
  for (const Json& o : composed) {
    if (o["kind"] == "Usage") continue;
    EXPECT_EQ(o["metadata"].value("namespace", ""), "team-payments") << Key(o);
  }
  // The claim's Secret holds the cluster's kubeconfig.
  const Json secret = Get("secret", "payments-capi-kubeconfig", "team-payments");
  ASSERT_TRUE(secret.is_object()) << Conditions(claim);
  EXPECT_NE(SecretData(secret)["kubeconfig"].find("server: https://"), std::string::npos);

  Kubectl({"delete", kClusterClaim, "payments-capi", "-n", "team-payments", "--wait=false"});
}

// --- 4. Usages ---------------------------------------------------------------------

// When each object was last seen, and when it was first seen being deleted.
class DeletionRecorder {
 public:
  explicit DeletionRecorder(std::string kinds, std::string selector)
      : kinds_(std::move(kinds)), selector_(std::move(selector)) {
    Sample();
    thread_ = std::thread([this] {
      while (!stop_) {
        Sample();
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
      }
    });
  }
  ~DeletionRecorder() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  struct Seen {
    std::string kind;
    Clock::time_point last_seen;
    // First seen with a deletion timestamp, or else first seen gone.
    std::optional<Clock::time_point> deleting;
  };
  std::map<std::string, Seen> seen() {
    const std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }

 private:
  void Sample() {
    const std::vector<Json> objects = List(kinds_, selector_);
    const auto now = Clock::now();
    const std::lock_guard<std::mutex> lock(mu_);
    std::set<std::string> present;
    for (const Json& o : objects) {
      const std::string key = Key(o);
      present.insert(key);
      Seen& s = seen_[key];
      s.kind = o["kind"];
      s.last_seen = now;
      if (!s.deleting && o["metadata"].contains("deletionTimestamp")) s.deleting = now;
    }
    for (auto& [key, s] : seen_) {
      if (!s.deleting && present.count(key) == 0) s.deleting = now;
    }
  }

  const std::string kinds_;
  const std::string selector_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::map<std::string, Seen> seen_;
  std::thread thread_;
};

TEST_F(CrossplaneTest, UsagesRefuseDeletingAnInUseVpcAndOrderTheClaimsDeletion) {
  EnsureNamespace("team-payments");
  Apply(EnvironmentClaim("payments-order", "team-payments", "dev"));
  WaitForCondition(kEnvironmentClaim, "payments-order", "team-payments", "Ready", seconds(300));
  const std::string selector = "crossplane.io/claim-name=payments-order";
  const std::vector<Json> vpcs = List("vpcs.ec2.aws.upbound.io", selector);
  ASSERT_EQ(vpcs.size(), 1u);
  const std::string vpc = vpcs.front()["metadata"]["name"];

  // Deleting the VPC on its own is refused, with the Usage's message.
  RunResult refused = Kubectl({"delete", "vpcs.ec2.aws.upbound.io", vpc, "--wait=false"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("nousages.protection.crossplane.io"), std::string::npos)
      << refused.err;
  EXPECT_NE(refused.err.find("This resource is in-use by"), std::string::npos) << refused.err;
  const Json still = Get("vpcs.ec2.aws.upbound.io", vpc);
  ASSERT_TRUE(still.is_object());
  EXPECT_FALSE(still["metadata"].contains("deletionTimestamp"));

  // Deleting the claim takes subnets, NAT gateways and routes before the VPC.
  DeletionRecorder recorder(
      "vpcs.ec2.aws.upbound.io,subnets.ec2.aws.upbound.io,natgateways.ec2.aws.upbound.io,"
      "routes.ec2.aws.upbound.io",
      selector);
  ASSERT_EQ(Kubectl({"delete", kEnvironmentClaim, "payments-order", "-n", "team-payments",
                     "--wait=false"})
                .exit_code,
            0);
  EXPECT_TRUE(Eventually(seconds(300), [&] { return List(kComposedKinds, selector).empty(); }))
      << "composed resources left after the claim's deletion";
  recorder.Stop();
  const auto seen = recorder.seen();
  auto vpc_seen = seen.find("VPC/" + vpc);
  ASSERT_NE(vpc_seen, seen.end());
  ASSERT_TRUE(vpc_seen->second.deleting.has_value()) << "the VPC's deletion was never seen";
  int checked = 0;
  for (const auto& [key, s] : seen) {
    if (s.kind == "VPC") continue;
    ++checked;
    EXPECT_LT(s.last_seen, *vpc_seen->second.deleting) << key << " outlived the VPC's deletion";
  }
  EXPECT_GE(checked, 7);  // 6 subnets, a NAT gateway, routes
}

// --- 5. A namespaced XCluster named like its XEnvironment ---------------------------

TEST_F(CrossplaneTest, AClusterNamedLikeTheEnvironmentItUsesKeepsItsUsage) {
  EnsureNamespace("team-blue");
  Apply(R"(apiVersion: platform.m.terraforming.io/v1alpha1
kind: XEnvironment
metadata:
  name: blue
  namespace: team-blue
spec:
  parameters:
    environment: sandbox
    region: eu-west-1
    team: blue
)");
  WaitForCondition(kXEnvironmentNs, "blue", "team-blue", "Ready", seconds(300));
  Apply(R"(apiVersion: platform.m.terraforming.io/v1alpha1
kind: XCluster
metadata:
  name: blue
  namespace: team-blue
spec:
  parameters:
    environment: sandbox
    region: eu-west-1
    team: blue
    # The delivered policy names no management path: a private Cluster API
    # endpoint would be refused (docs/xcluster.md).
    endpointAccess: PublicAndPrivate
    network:
      environment: blue
    nodePools:
      - name: general
        instanceType: t3.large
        maxSize: 2
)");
  // Crossplane labels both crossplane.io/composite=blue; the cluster still
  // keeps its environment with a Usage.
  Json usage;
  ASSERT_TRUE(Eventually(
      seconds(180),
      [&] {
        for (const Json& u :
             List("usages.protection.crossplane.io",
                  "platform.terraforming.io/resource=usage-environment-by-controlplane")) {
          if (u["metadata"].value("namespace", "") == "team-blue") usage = u;
        }
        return usage.is_object();
      }))
      << "no Usage of the environment; XCluster:"
      << Conditions(Get(kXClusterNs, "blue", "team-blue"));
  EXPECT_EQ(usage["spec"]["of"]["resourceRef"].value("name", ""), "blue");
  ASSERT_TRUE(Eventually(seconds(60), [] {
    const Json env = Get(kXEnvironmentNs, "blue", "team-blue");
    const Json::json_pointer p("/metadata/labels/crossplane.io~1in-use");
    return env.contains(p) && env[p] == "true";
  }));
  RunResult refused =
      Kubectl({"delete", kXEnvironmentNs, "blue", "-n", "team-blue", "--wait=false"});
  EXPECT_NE(refused.exit_code, 0) << "the environment of a live cluster was deleted";
  EXPECT_NE(refused.err.find("in-use by"), std::string::npos) << refused.err;

  Kubectl({"delete", kXClusterNs, "blue", "-n", "team-blue", "--wait=false"});
  Kubectl({"delete", kXEnvironmentNs, "blue", "-n", "team-blue", "--wait=false"});
}

// --- 6. Authorization --------------------------------------------------------------

TEST_F(CrossplaneTest, ADeniedTeamSeesTheRuleOnItsClaimAndNothingIsComposed) {
  EnsureNamespace("team-payments");
  // platform-policy (deploy/): payments may have prod only in eu-west-1 and
  // eu-central-1 (rule payments-prod-eu).
  Apply(R"(apiVersion: platform.terraforming.io/v1alpha1
kind: Environment
metadata:
  name: payments-us
  namespace: team-payments
spec:
  parameters:
    environment: prod
    region: us-east-1
    team: payments
    costCenter: cc-1234
)");
  Json claim;
  ASSERT_TRUE(Eventually(seconds(120), [&] {
    claim = Get(kEnvironmentClaim, "payments-us", "team-payments");
    return Status(claim, "Authorized") == "False";
  })) << Conditions(claim);
  const std::string message = ConditionMessage(claim, "Authorized");
  EXPECT_NE(message.find("Denied: "), std::string::npos) << message;
  EXPECT_NE(message.find("payments-prod-eu"), std::string::npos) << message;
  EXPECT_NE(message.find("us-east-1"), std::string::npos) << message;
  EXPECT_TRUE(List(kComposedKinds, "crossplane.io/claim-name=payments-us").empty());
  Kubectl({"delete", kEnvironmentClaim, "payments-us", "-n", "team-payments", "--wait=false"});
}

// The same claim, refused at `kubectl apply` by platform-admission (the
// webhook registered by URL for claims labelled for this test only), in the
// words Crossplane shows on the claim the function denied.
TEST_F(CrossplaneTest, TheAdmissionWebhookRefusesWithTheWordsCrossplaneShows) {
  EnsureNamespace("team-payments");
  EnsureNamespace("admission-test");
  const std::string claim = R"(apiVersion: platform.terraforming.io/v1alpha1
kind: Environment
metadata:
  name: NAME
  namespace: team-payments
  labels: {admission-test: "true"}
spec:
  parameters:
    environment: prod
    region: us-east-1
    team: payments
    costCenter: cc-1234
)";
  auto named = [&](const std::string& name) {
    std::string yaml = claim;
    yaml.replace(yaml.find("NAME"), 4, name);
    return yaml;
  };
  // Without the webhook: Crossplane composes it through the function, which
  // denies it on the claim.
  Apply(named("payments-us-composed"));
  Json composed;
  ASSERT_TRUE(Eventually(seconds(120), [&] {
    composed = Get(kEnvironmentClaim, "payments-us-composed", "team-payments");
    return Status(composed, "Authorized") == "False";
  })) << Conditions(composed);
  const std::string shown = ConditionMessage(composed, "Authorized");
  ASSERT_EQ(shown.rfind("Denied: ", 0), 0u) << shown;
  const std::string function_says = shown.substr(std::string("Denied: ").size());
  Kubectl(
      {"delete", kEnvironmentClaim, "payments-us-composed", "-n", "team-payments", "--wait=false"});

  // With it: refused at apply. The configuration first, so the webhook
  // finds it when it starts and writes its caBundle at once.
  const int port = FreePort();
  Apply(R"(apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: admission-test
webhooks:
  - name: validate.platform.terraforming.io
    clientConfig:
      url: https://127.0.0.1:)" +
        std::to_string(port) + R"(/validate
    rules:
      - apiGroups: [platform.terraforming.io]
        apiVersions: ["*"]
        operations: [CREATE]
        resources: [environments]
    objectSelector:
      matchLabels: {admission-test: "true"}
    failurePolicy: Fail
    sideEffects: None
    admissionReviewVersions: [v1]
    timeoutSeconds: 5
)");
  Background admission({PLATFORM_ADMISSION_BIN, "--kubeconfig=" + kKubeconfig,
                        "--address=127.0.0.1:" + std::to_string(port), "--namespace=admission-test",
                        "--hosts=127.0.0.1", "--validating-webhook-configurations=admission-test",
                        "--mutating-webhook-configurations=", "--cert-check-interval=1s"},
                       dir_.path() + "/admission.log");
  const std::string file = dir_.Write("claim.yaml", named("payments-us-refused"));
  // Until the webhook is up, its CA trusted and the configuration seen by the
  // API server, a create fails otherwise or, before the API server sees the
  // configuration, succeeds. Dry runs on the server until one is denied, so
  // nothing is created early.
  RunResult refused;
  const bool up = Eventually(seconds(60), [&] {
    refused = Kubectl({"create", "--dry-run=server", "-f", file});
    return refused.exit_code != 0 && refused.err.find("denied the request") != std::string::npos;
  });
  if (up) refused = Kubectl({"apply", "-f", file});
  Kubectl({"delete", "validatingwebhookconfiguration", "admission-test", "--wait=false"});
  ASSERT_TRUE(up) << refused.err << ReadFile(dir_.path() + "/admission.log");
  ASSERT_NE(refused.exit_code, 0) << "the claim was created:\n" << refused.out;
  EXPECT_NE(refused.err.find("admission webhook \"validate.platform.terraforming.io\" denied the "
                             "request: " +
                             function_says),
            std::string::npos)
      << "kubectl:   " << refused.err << "\nCrossplane: " << function_says;
  EXPECT_TRUE(Get(kEnvironmentClaim, "payments-us-refused", "team-payments").is_null());
}

// --- 7. Updates in place; a removed node pool -----------------------------------------

std::map<std::string, std::string> UidsByResourceName(const std::vector<Json>& objects) {
  std::map<std::string, std::string> out;
  for (const Json& o : objects) out[ResourceName(o)] = o["metadata"]["uid"];
  return out;
}

TEST_F(CrossplaneTest, ChangedTagsAndCostCenterUpdateResourcesInPlace) {
  EnsureNamespace("team-payments");
  Apply(EnvironmentClaim("payments-tags", "team-payments", "dev"));
  WaitForCondition(kEnvironmentClaim, "payments-tags", "team-payments", "Ready", seconds(300));
  const std::string selector = "crossplane.io/claim-name=payments-tags";
  const std::map<std::string, std::string> before = UidsByResourceName(List("managed", selector));
  ASSERT_GE(before.size(), 20u);

  Apply(EnvironmentClaim("payments-tags", "team-payments", "dev", "cc-9999",
                         "    tags:\n      app: checkout\n"));
  std::vector<Json> after;
  ASSERT_TRUE(Eventually(seconds(180), [&] {
    after = List("managed", selector);
    for (const Json& o : after) {
      const Json::json_pointer tags("/spec/forProvider/tags");
      if (!o.contains(tags)) continue;
      if (o[tags].value("platform.terraforming.io/cost-center", "") != "cc-9999" ||
          o[tags].value("app", "") != "checkout") {
        return false;
      }
    }
    return true;
  })) << "tags not updated everywhere";
  EXPECT_EQ(UidsByResourceName(after), before) << "resources were replaced, not updated";
  for (const Json& o : after) {
    EXPECT_FALSE(o["metadata"].contains("deletionTimestamp")) << Key(o);
  }
  Kubectl({"delete", kEnvironmentClaim, "payments-tags", "-n", "team-payments", "--wait=false"});
}

constexpr char kPoolsCluster[] = R"(apiVersion: platform.m.terraforming.io/v1alpha1
kind: XCluster
metadata:
  name: pools
  namespace: team-pools
spec:
  parameters:
    environment: sandbox
    region: eu-west-1
    team: pools
    # The delivered policy names no management path: a private Cluster API
    # endpoint would be refused (docs/xcluster.md).
    endpointAccess: PublicAndPrivate
    network:
      vpcId: vpc-0123456789abcdef0
      privateSubnetIds:
        - subnet-0123456789abcdef0
        - subnet-0fedcba9876543210
    nodePools:
      - name: general
        instanceType: t3.large
        maxSize: 2
)";

TEST_F(CrossplaneTest, RemovingANodePoolDeletesJustItsResources) {
  EnsureNamespace("team-pools");
  const std::string batch = R"(      - name: batch
        instanceType: c6i.large
        maxSize: 2
)";
  Apply(std::string(kPoolsCluster) + batch);
  WaitForCondition(kXClusterNs, "pools", "team-pools", "Ready", seconds(420));
  const std::string selector = "crossplane.io/composite=pools";
  const std::map<std::string, std::string> before =
      UidsByResourceName(List(kComposedKinds, selector));
  ASSERT_EQ(before.count("machinepool-batch"), 1u);
  ASSERT_EQ(before.count("awsmachinepool-batch"), 1u);

  Apply(kPoolsCluster);
  std::map<std::string, std::string> after;
  ASSERT_TRUE(Eventually(seconds(180), [&] {
    after = UidsByResourceName(List(kComposedKinds, selector));
    return after.count("machinepool-batch") == 0 && after.count("awsmachinepool-batch") == 0;
  })) << "the batch pool's objects are still there";
  std::map<std::string, std::string> kept;
  for (const auto& [name, uid] : before) {
    if (name.find("batch") == std::string::npos) kept[name] = uid;
  }
  EXPECT_EQ(after, kept);
  Kubectl({"delete", kXClusterNs, "pools", "-n", "team-pools", "--wait=false"});
}

// --- 8. The function killed mid-reconcile ---------------------------------------------

RunResult Fixture(const std::string& command) {
  return RunCommand({kSource + "/tests/crossplane/crossplane.sh", command, kState});
}

TEST_F(CrossplaneTest, AFunctionKilledMidReconcileIsRestartedAndNothingIsDuplicated) {
  EnsureNamespace("team-payments");
  const std::string selector = "crossplane.io/claim-name=payments-kill";
  Apply(EnvironmentClaim("payments-kill", "team-payments", "dev"));
  // As soon as Crossplane is composing: the first resources exist.
  ASSERT_TRUE(Eventually(seconds(120), [&] { return !List("managed", selector).empty(); }));
  RunResult killed = Fixture("kill-function");
  ASSERT_EQ(killed.exit_code, 0) << killed.err;
  std::this_thread::sleep_for(seconds(3));
  RunResult started = Fixture("start-function");
  ASSERT_EQ(started.exit_code, 0) << started.err;

  WaitForCondition(kEnvironmentClaim, "payments-kill", "team-payments", "Ready", seconds(300));
  const std::vector<Json> composed = List(kComposedKinds, selector);
  std::map<std::string, int> by_name;
  for (const Json& o : composed) ++by_name[ResourceName(o)];
  for (const auto& [name, n] : by_name) EXPECT_EQ(n, 1) << name;
  std::size_t managed = 0;
  for (const Json& o : composed) managed += o["kind"] != "ClusterUsage";
  // The dev network (2 zones, one NAT gateway): 40 resources, 12 of them
  // ClusterUsages.
  EXPECT_EQ(managed, 28u);
  Kubectl({"delete", kEnvironmentClaim, "payments-kill", "-n", "team-payments", "--wait=false"});
}

// --- 9. Cascading deletion -------------------------------------------------------------

TEST_F(CrossplaneTest, DeletingAnXrCascadesToEverythingItComposed) {
  EnsureNamespace("team-gc");
  Apply(R"(apiVersion: platform.m.terraforming.io/v1alpha1
kind: XEnvironment
metadata:
  name: gc
  namespace: team-gc
spec:
  parameters:
    environment: dev
    region: eu-west-1
    team: gc
)");
  WaitForCondition(kXEnvironmentNs, "gc", "team-gc", "Ready", seconds(300));
  const std::string selector = "crossplane.io/composite=gc";
  ASSERT_GE(List(kComposedKinds, selector).size(), 20u);
  ASSERT_EQ(Kubectl({"delete", kXEnvironmentNs, "gc", "-n", "team-gc", "--wait=false"}).exit_code,
            0);
  std::vector<Json> left;
  EXPECT_TRUE(Eventually(seconds(300),
                         [&] {
                           left = List(kComposedKinds, selector);
                           return left.empty() &&
                                  !Get(kXEnvironmentNs, "gc", "team-gc").is_object();
                         }))
      << left.size() << " objects left, first " << (left.empty() ? "" : Key(left.front()));
  // Nothing stays Terminating in the namespace (the cluster-scoped kinds of
  // the list are others' and are left out).
  RunResult all = Kubectl({"get", kComposedKinds, "-n", "team-gc", "-o", "json"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  const Json items = Json::parse(all.out)["items"];
  for (const Json& o : items) {
    EXPECT_NE(o["metadata"].value("namespace", ""), "team-gc") << Key(o) << " is left";
  }
}

}  // namespace
}  // namespace platform::testing
