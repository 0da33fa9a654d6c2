// simulated-cloud: a TEST DOUBLE that stands in for provider-upjet-aws and
// for Cluster API with its AWS provider (CAPA) in the Crossplane core tests.
//
// Crossplane composes managed resources and Cluster API objects; in a real
// cluster the AWS provider and the Cluster API controllers make them real and
// report back. Here nothing reaches AWS, so this program writes what those
// controllers write, and nothing else:
//
// - provider-upjet-aws, for every kind in a `<service>.aws.upbound.io` or
//   `<service>.aws.m.upbound.io` group: its finalizer, the external-name
//   annotation, `status.atProvider` (the spec's forProvider as observed, the
//   cloud id, an ARN, and the kind's computed fields such as an RDS endpoint),
//   the Ready and Synced conditions, and the connection Secret named by
//   `spec.writeConnectionSecretToRef` (owned by the managed resource). On
//   deletion it "deletes in the cloud" and removes its finalizer.
// - Cluster API and CAPA: the Cluster's phase, initialization and Available
//   condition; the control plane's ready flag, version and endpoint; machine
//   pools' replicas; and the `<cluster>-kubeconfig` and
//   `<cluster>-user-kubeconfig` Secrets.
//
// The tests assert what the function and the packages do with this, never
// what this program does. It watches the kinds as their CRDs appear (the
// AWS CRDs come and go with the provider packages and their activation).
//
//   simulated-cloud --kubeconfig PATH [--region eu-west-1] [--delay-ms 0]
//                   [--delete-delay-ms 0]
//
// --delay-ms is how long creating takes, --delete-delay-ms how long deleting
// takes (the object keeps its deletion timestamp that long).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "provider/kube/client.h"
#include "provider/kube/config.h"
#include "provider/kube/informer.h"
#include "provider/kube/resources.h"
#include "provider/kube/rest_client.h"
#include "tests/crossplane/doubles.h"

namespace {

using kube::Json;
using platform::testing::doubles::Log;
using platform::testing::doubles::QuickInformer;
using platform::testing::doubles::StatusSubresource;
using platform::testing::doubles::stopping;

constexpr char kAccount[] = "123456789012";
constexpr char kManagedFinalizer[] = "finalizer.managedresource.crossplane.io";
constexpr char kExternalName[] = "crossplane.io/external-name";

const kube::Resource kCrds{"apiextensions.k8s.io", "v1", "customresourcedefinitions",
                           "CustomResourceDefinition", false};

kube::PatchOptions ForceApply() {
  kube::PatchOptions o;
  o.field_manager = "simulated-cloud";
  o.force = true;
  return o;
}

std::string Now() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

// Seventeen hex digits from the object's uid: AWS-shaped, stable per object.
std::string Hex17(const Json& obj) {
  std::string hex;
  for (char c : obj["metadata"].value("uid", std::string())) {
    if (c != '-') hex += c;
    if (hex.size() == 17) break;
  }
  return hex;
}

std::string StringAt(const Json& obj, const Json::json_pointer& p) {
  return obj.contains(p) && obj[p].is_string() ? obj[p].get<std::string>() : "";
}

bool HasFinalizer(const Json& obj, const std::string& finalizer) {
  const Json& m = obj["metadata"];
  if (!m.contains("finalizers")) return false;
  for (const Json& f : m["finalizers"]) {
    if (f == finalizer) return true;
  }
  return false;
}

bool ConditionTrue(const Json& obj, const std::string& type) {
  const Json::json_pointer p("/status/conditions");
  if (!obj.contains(p) || !obj[p].is_array()) return false;
  for (const Json& c : obj[p]) {
    if (c.value("type", "") == type && c.value("status", "") == "True") return true;
  }
  return false;
}

// The condition shape of crossplane-runtime (managed resources: no message)
// and of Cluster API (v1beta2: a message is required; CAPA's v1beta1 shape:
// a message, when there is one, is not empty).
Json Condition(const std::string& type, const std::string& reason,
               const std::string& message = "") {
  Json c = {{"type", type}, {"status", "True"}, {"reason", reason}, {"lastTransitionTime", Now()}};
  if (!message.empty()) c["message"] = message;
  return c;
}

Json CapiCondition(const std::string& type, const std::string& reason) {
  return Condition(type, reason, type + " in the simulated cloud");
}

class SimulatedCloud {
 public:
  SimulatedCloud(kube::Config config, std::string region, std::chrono::milliseconds delay,
                 std::chrono::milliseconds delete_delay)
      : client_(std::move(config), Options()),
        region_(std::move(region)),
        delay_(delay),
        delete_delay_(delete_delay) {}

  void Run() {
    std::thread deletions([this] { RunDeletions(); });
    while (!stopping) {
      if (absl::Status discovered = Discover(); !discovered.ok()) {
        Log("discovery: " + std::string(discovered.message()));
      }
      for (int i = 0; i < 10 && !stopping; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    for (auto& [name, informer] : informers_) informer->Stop();
    pending_cv_.notify_all();
    deletions.join();
  }

 private:
  enum class Family { kUpjet, kCapi };

  static kube::RestOptions Options() {
    kube::RestOptions o;
    o.qps = 200;
    o.burst = 400;
    o.user_agent = "simulated-cloud";
    return o;
  }

  // Starts an informer for every established CRD of a kind this double
  // stands in for.
  absl::Status Discover() {
    static const std::regex upjet(R"(^[a-z0-9]+\.aws(\.m)?\.upbound\.io$)");
    static const std::set<std::string> capi = {"cluster.x-k8s.io", "controlplane.cluster.x-k8s.io",
                                               "infrastructure.cluster.x-k8s.io"};
    absl::StatusOr<Json> list = client_.List(kCrds, "", {});
    if (!list.ok()) return list.status();
    for (const Json& crd : (*list)["items"]) {
      const std::string name = crd["metadata"]["name"];
      if (informers_.count(name) != 0) continue;
      const std::string group = crd["spec"]["group"];
      Family family;
      if (std::regex_match(group, upjet)) {
        family = Family::kUpjet;
      } else if (capi.count(group) != 0) {
        family = Family::kCapi;
      } else {
        continue;
      }
      if (!ConditionTrue(crd, "Established")) continue;
      std::string version;
      for (const Json& v : crd["spec"]["versions"]) {
        if (v.value("storage", false)) version = v["name"];
      }
      const kube::Resource r{group, version, crd["spec"]["names"]["plural"],
                             crd["spec"]["names"]["kind"],
                             crd["spec"].value("scope", "") == "Namespaced"};
      // Templates and identities are inputs only: nothing reconciles them.
      if (family == Family::kCapi &&
          (r.kind.ends_with("Template") || r.kind.find("Identity") != std::string::npos)) {
        continue;
      }
      auto informer = std::make_unique<kube::Informer>(
          client_, r, "", "",
          kube::Informer::Handlers{[this, r, family](const Json& o) { Handle(r, family, o); },
                                   [](const Json&) {}},
          QuickInformer());
      informer->Start();
      Log("watching " + r.kind + "." + group + " " + version);
      informers_[name] = std::move(informer);
    }
    return absl::OkStatus();
  }

  void Handle(const kube::Resource& r, Family family, const Json& obj) {
    const absl::Status done = family == Family::kUpjet ? Managed(r, obj) : ClusterApi(r, obj);
    // A conflict or a vanished object: the next event brings it back.
    if (done.ok() || kube::IsNotFound(done) || kube::IsConflict(done)) return;
    Log("error on " + r.kind + " " + kube::KeyOf(obj).String() + ": " +
        std::string(done.message()));
  }

  // Adds `finalizer` (and annotations) before anything is "created", as the
  // real controllers do; false when the object is being deleted.
  absl::StatusOr<bool> EnsureFinalizer(const kube::Resource& r, const Json& obj,
                                       const std::string& finalizer, const Json& annotations) {
    if (obj["metadata"].contains("deletionTimestamp")) {
      if (HasFinalizer(obj, finalizer)) ScheduleDeletion(r, obj, finalizer);
      return false;
    }
    if (!HasFinalizer(obj, finalizer) || !annotations.empty()) {
      Json meta = {{"resourceVersion", obj["metadata"]["resourceVersion"]}};
      if (!HasFinalizer(obj, finalizer)) {
        Json finalizers = obj["metadata"].value("finalizers", Json::array());
        finalizers.push_back(finalizer);
        meta["finalizers"] = finalizers;
      }
      if (!annotations.empty()) meta["annotations"] = annotations;
      absl::StatusOr<Json> patched =
          client_.Patch(r, kube::KeyOf(obj), kube::PatchType::kMerge, {{"metadata", meta}}, {});
      if (!patched.ok()) return patched.status();
      return false;  // the update comes back as an event
    }
    return true;
  }

  // Deleting in the cloud takes a while (--delete-delay-ms), as it does in
  // AWS; then the finalizer goes and with it the object.
  void ScheduleDeletion(const kube::Resource& r, const Json& obj, const std::string& finalizer) {
    const std::string uid = obj["metadata"]["uid"];
    const std::lock_guard<std::mutex> lock(mu_);
    if (!deleting_.insert(uid).second) return;
    pending_.emplace(std::chrono::steady_clock::now() + delete_delay_,
                     PendingDeletion{r, kube::KeyOf(obj), finalizer, uid});
    pending_cv_.notify_one();
  }

  void RunDeletions() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping) {
      if (pending_.empty() || pending_.begin()->first > std::chrono::steady_clock::now()) {
        pending_cv_.wait_for(lock, std::chrono::milliseconds(50));
        continue;
      }
      const PendingDeletion d = pending_.begin()->second;
      pending_.erase(pending_.begin());
      lock.unlock();
      const absl::Status removed = RemoveFinalizer(d.resource, d.key, d.finalizer);
      if (kube::IsConflict(removed)) {  // changed meanwhile: try again
        lock.lock();
        pending_.emplace(std::chrono::steady_clock::now(), d);
        continue;
      }
      if (removed.ok()) {
        Log("deleted " + d.resource.kind + " " + d.key.String());
      } else if (!kube::IsNotFound(removed)) {
        Log("cannot delete " + d.key.String() + ": " + std::string(removed.message()));
      }
      lock.lock();
      deleting_.erase(d.uid);
    }
  }

  absl::Status RemoveFinalizer(const kube::Resource& r, const kube::ObjectKey& key,
                               const std::string& finalizer) {
    absl::StatusOr<Json> obj = client_.Get(r, key);
    if (!obj.ok()) return obj.status();
    Json keep = Json::array();
    for (const Json& f : (*obj)["metadata"].value("finalizers", Json::array())) {
      if (f != finalizer) keep.push_back(f);
    }
    return client_
        .Patch(
            r, key, kube::PatchType::kMerge,
            {{"metadata",
              {{"finalizers", keep}, {"resourceVersion", (*obj)["metadata"]["resourceVersion"]}}}},
            {})
        .status();
  }

  // --- provider-upjet-aws ----------------------------------------------------

  std::string IdFor(const kube::Resource& r, const Json& obj) const {
    static const std::map<std::string, std::string> prefixes = {
        {"VPC", "vpc-"},
        {"Subnet", "subnet-"},
        {"InternetGateway", "igw-"},
        {"NATGateway", "nat-"},
        {"EIP", "eipalloc-"},
        {"RouteTable", "rtb-"},
        {"RouteTableAssociation", "rtbassoc-"},
        {"SecurityGroup", "sg-"},
        {"SecurityGroupRule", "sgr-"},
        {"SecurityGroupIngressRule", "sgr-"},
        {"SecurityGroupEgressRule", "sgr-"},
        {"VPCEndpoint", "vpce-"},
        {"Route", "r-rtb-"},
    };
    if (r.group.starts_with("ec2.")) {
      auto it = prefixes.find(r.kind);
      if (it != prefixes.end()) return it->second + Hex17(obj);
    }
    // A KMS key id is a UUID, as the object's uid is.
    if (r.group.starts_with("kms.")) return obj["metadata"]["uid"];
    // Named kinds (EKS clusters, RDS instances, IAM roles...): the name the
    // spec asks for, else the object's name.
    for (const char* field : {"identifier", "name"}) {
      const std::string v =
          StringAt(obj, Json::json_pointer(std::string("/spec/forProvider/") + field));
      if (!v.empty()) return v;
    }
    return obj["metadata"]["name"];
  }

  std::string Arn(const kube::Resource& r, const std::string& id) const {
    const std::string service = r.group.substr(0, r.group.find('.'));
    std::string resource = r.kind;
    for (char& c : resource) c = static_cast<char>(std::tolower(c));
    if (service == "iam")
      return "arn:aws:iam::" + std::string(kAccount) + ":" + resource + "/" + id;
    if (service == "rds") {
      resource = r.kind == "Cluster" ? "cluster" : r.kind == "SubnetGroup" ? "subgrp" : "db";
    }
    return "arn:aws:" + service + ":" + region_ + ":" + kAccount + ":" + resource +
           (service == "rds" ? ":" : "/") + id;
  }

  absl::Status Managed(const kube::Resource& r, const Json& obj) {
    const std::string id = IdFor(r, obj);
    Json annotations = Json::object();
    if (StringAt(obj, Json::json_pointer("/metadata/annotations/crossplane.io~1external-name"))
            .empty()) {
      annotations[kExternalName] = id;
    }
    absl::StatusOr<bool> ensured = EnsureFinalizer(r, obj, kManagedFinalizer, annotations);
    if (!ensured.ok() || !*ensured) return ensured.status();

    if (ConditionTrue(obj, "Ready") && AlreadyMadeReal(obj)) return absl::OkStatus();
    if (delay_.count() > 0) std::this_thread::sleep_for(delay_);

    Json at = obj["spec"].value("forProvider", Json::object());
    at["id"] = id;
    at["arn"] = Arn(r, id);
    Json connection = Json::object();
    ComputedFields(r, obj, id, at, connection);
    absl::StatusOr<Json> patched = client_.Patch(
        r, kube::KeyOf(obj), kube::PatchType::kMerge,
        {{"status",
          {{"atProvider", at},
           {"conditions",
            {Condition("Ready", "Available"), Condition("Synced", "ReconcileSuccess")}}}}},
        StatusSubresource());
    if (!patched.ok()) return patched.status();
    if (!connection.empty()) {
      if (absl::Status written = WriteConnectionSecret(obj, connection); !written.ok()) {
        return written;
      }
    }
    MadeReal(obj);
    Log("created " + r.kind + " " + kube::KeyOf(obj).String() + " (" + id + ")");
    return absl::OkStatus();
  }

  // What AWS computes and the provider reports, per kind.
  void ComputedFields(const kube::Resource& r, const Json& obj, const std::string& id, Json& at,
                      Json& connection) const {
    const std::string service = r.group.substr(0, r.group.find('.'));
    const std::string h = Hex17(obj);
    if (service == "ec2" && r.kind == "EIP") {
      at["allocationId"] = id;
      at["publicIp"] = "203.0.113." + std::to_string(std::stoul(h.substr(0, 2), nullptr, 16));
    } else if (service == "ec2" && r.kind == "VPC") {
      at["ownerId"] = kAccount;
    } else if (service == "eks" && r.kind == "Cluster") {
      at["endpoint"] = "https://" + h + ".gr7." + region_ + ".eks.amazonaws.com";
      at["status"] = "ACTIVE";
      at["platformVersion"] = "eks.1";
      at["identity"] = {
          {{"oidc", {{{"issuer", "https://oidc.eks." + region_ + ".amazonaws.com/id/" + h}}}}}};
      at["certificateAuthority"] = {{{"data", "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg=="}}};
    } else if (service == "eks" && r.kind == "NodeGroup") {
      at["status"] = "ACTIVE";
    } else if (service == "eks" && r.kind == "ClusterAuth") {
      const std::string cluster = at.value("clusterName", std::string(id));
      connection["kubeconfig"] =
          Kubeconfig(cluster, "https://" + h + ".gr7." + region_ + ".eks.amazonaws.com");
    } else if (service == "rds" && (r.kind == "Instance" || r.kind == "Cluster")) {
      const std::string engine = at.value("engine", std::string("postgres"));
      const int port = engine.find("postgres") != std::string::npos ? 5432 : 3306;
      const std::string host = id + ".c" + h.substr(0, 10) + "." + region_ + ".rds.amazonaws.com";
      at["port"] = port;
      at["engineVersionActual"] = at.value("engineVersion", std::string("16.4"));
      at["resourceId"] = "db-" + h;
      const std::string password = "pw-" + h;
      if (r.kind == "Instance") {
        at["address"] = host;
        at["endpoint"] = host + ":" + std::to_string(port);
        connection = {{"endpoint", host + ":" + std::to_string(port)},
                      {"address", host},
                      {"port", std::to_string(port)},
                      {"username", at.value("username", std::string("admin"))},
                      {"password", password}};
      } else {
        const std::string reader =
            id + ".cluster-ro-c" + h.substr(0, 10) + "." + region_ + ".rds.amazonaws.com";
        const std::string writer =
            id + ".cluster-c" + h.substr(0, 10) + "." + region_ + ".rds.amazonaws.com";
        at["endpoint"] = writer;
        at["readerEndpoint"] = reader;
        connection = {{"endpoint", writer},
                      {"reader_endpoint", reader},
                      {"port", std::to_string(port)},
                      {"master_username", at.value("masterUsername", std::string("admin"))},
                      {"password", password}};
      }
    } else if (service == "kms" && r.kind == "Key") {
      at["keyId"] = id;
    }
  }

  static std::string Kubeconfig(const std::string& cluster, const std::string& server) {
    return "apiVersion: v1\nkind: Config\nclusters:\n- name: " + cluster +
           "\n  cluster:\n    server: " + server + "\ncontexts:\n- name: " + cluster +
           "\n  context: {cluster: " + cluster + ", user: " + cluster +
           "}\ncurrent-context: " + cluster + "\nusers:\n- name: " + cluster +
           "\n  user: {token: simulated}\n";
  }

  // The Secret crossplane-runtime writes for a managed resource: in the
  // reference's namespace (the resource's own for namespaced kinds), owned
  // by the resource, type connection.crossplane.io/v1alpha1.
  absl::Status WriteConnectionSecret(const Json& obj, const Json& values) {
    const Json::json_pointer ref("/spec/writeConnectionSecretToRef");
    if (!obj.contains(ref)) return absl::OkStatus();
    std::string ns = obj[ref].value("namespace", std::string());
    if (ns.empty()) ns = obj["metadata"].value("namespace", std::string());
    Json data = Json::object();
    for (auto it = values.begin(); it != values.end(); ++it) {
      data[it.key()] = EncodeBase64(it.value().get<std::string>());
    }
    Json secret = {{"apiVersion", "v1"},
                   {"kind", "Secret"},
                   {"metadata",
                    {{"name", obj[ref]["name"]},
                     {"namespace", ns},
                     {"ownerReferences", {kube::ControllerReference(obj)}}}},
                   {"type", "connection.crossplane.io/v1alpha1"},
                   {"data", data}};
    return ApplySecret(secret);
  }

  absl::Status ApplySecret(const Json& secret) {
    return client_
        .Patch(kube::kSecrets, kube::KeyOf(secret), kube::PatchType::kApply, secret, ForceApply())
        .status();
  }

  static std::string EncodeBase64(const std::string& in) {
    static const char* chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    int val = 0, bits = -6;
    for (unsigned char c : in) {
      val = (val << 8) + c;
      bits += 8;
      while (bits >= 0) {
        out.push_back(chars[(val >> bits) & 0x3F]);
        bits -= 6;
      }
    }
    if (bits > -6) out.push_back(chars[((val << 8) >> (bits + 8)) & 0x3F]);
    while (out.size() % 4 != 0) out.push_back('=');
    return out;
  }

  // --- Cluster API and CAPA ----------------------------------------------------

  absl::Status ClusterApi(const kube::Resource& r, const Json& obj) {
    const std::string finalizer =
        r.group == "cluster.x-k8s.io"
            ? (r.kind == "Cluster" ? "cluster.cluster.x-k8s.io" : "machinepool.cluster.x-k8s.io")
        : r.group == "controlplane.cluster.x-k8s.io"
            ? (r.kind == "KubeadmControlPlane"
                   ? "kubeadm.controlplane.cluster.x-k8s.io"
                   : "awsmanagedcontrolplane.controlplane.cluster.x-k8s.io")
            : Lower(r.kind) + ".infrastructure.cluster.x-k8s.io";
    absl::StatusOr<bool> ensured = EnsureFinalizer(r, obj, finalizer, Json::object());
    if (!ensured.ok() || !*ensured) return ensured.status();
    if (AlreadyMadeReal(obj)) return absl::OkStatus();
    if (delay_.count() > 0) std::this_thread::sleep_for(delay_);
    const std::string ns = obj["metadata"]["namespace"];
    const std::string name = obj["metadata"]["name"];
    const std::string h = Hex17(obj);
    Json status;
    if (r.kind == "Cluster") {
      status = {
          {"phase", "Provisioned"},
          {"initialization",
           {{"infrastructureProvisioned", true}, {"controlPlaneInitialized", true}}},
          {"conditions",
           {CapiCondition("Available", "Available"), CapiCondition("InfrastructureReady", "Ready"),
            CapiCondition("ControlPlaneInitialized", "Initialized")}}};
    } else if (r.kind == "MachinePool" || r.kind == "MachineDeployment") {
      const std::int64_t replicas = obj["spec"].value("replicas", 1);
      status = {{"phase", "Running"},
                {"replicas", replicas},
                {"readyReplicas", replicas},
                {"availableReplicas", replicas},
                {"conditions", {CapiCondition("Available", "Available")}}};
    } else if (r.kind == "AWSManagedControlPlane" || r.kind == "KubeadmControlPlane") {
      const std::string host =
          r.kind == "AWSManagedControlPlane"
              ? h + ".gr7." + region_ + ".eks.amazonaws.com"
              : name + "-apiserver-" + h.substr(0, 8) + ".elb." + region_ + ".amazonaws.com";
      // CAPA and the kubeadm control plane record the endpoint in the spec.
      absl::StatusOr<Json> endpoint = client_.Patch(
          r, kube::KeyOf(obj), kube::PatchType::kMerge,
          {{"spec", {{"controlPlaneEndpoint", {{"host", host}, {"port", 443}}}}}}, {});
      if (!endpoint.ok()) return endpoint.status();
      status = {{"version", obj["spec"].value("version", std::string())},
                {"conditions",
                 {CapiCondition("Ready", "Ready"), CapiCondition("Available", "Available")}}};
      if (r.kind == "AWSManagedControlPlane") {
        status["ready"] = true;
        status["initialized"] = true;
      } else {
        status["initialization"] = {{"controlPlaneInitialized", true}};
        const std::int64_t replicas = obj["spec"].value("replicas", 1);
        status["replicas"] = replicas;
        status["readyReplicas"] = replicas;
        status["availableReplicas"] = replicas;
      }
      const std::string cluster = ClusterNameOf(ns, r, name);
      for (const std::string& suffix :
           {std::string("-kubeconfig"), std::string("-user-kubeconfig")}) {
        if (suffix == "-user-kubeconfig" && r.kind != "AWSManagedControlPlane") continue;
        absl::Status applied = ApplySecret(
            {{"apiVersion", "v1"},
             {"kind", "Secret"},
             {"metadata",
              {{"name", cluster + suffix},
               {"namespace", ns},
               {"labels", {{"cluster.x-k8s.io/cluster-name", cluster}}},
               {"ownerReferences", {kube::ControllerReference(obj)}}}},
             {"type", "cluster.x-k8s.io/secret"},
             {"data", {{"value", EncodeBase64(Kubeconfig(cluster, "https://" + host))}}}});
        if (!applied.ok()) return applied;
      }
    } else {
      // AWSManagedCluster, AWSCluster, AWSManagedMachinePool.
      status = {{"ready", true}, {"conditions", {CapiCondition("Ready", "Ready")}}};
      if (r.kind == "AWSManagedMachinePool") status["replicas"] = 1;
    }
    absl::StatusOr<Json> patched = client_.Patch(r, kube::KeyOf(obj), kube::PatchType::kMerge,
                                                 {{"status", status}}, StatusSubresource());
    if (!patched.ok()) return patched.status();
    MadeReal(obj);
    Log("created " + r.kind + " " + ns + "/" + name);
    return absl::OkStatus();
  }

  // The Cluster whose controlPlaneRef names this control plane, else the
  // control plane's own name.
  std::string ClusterNameOf(const std::string& ns, const kube::Resource& cp,
                            const std::string& name) {
    const kube::Resource clusters{"cluster.x-k8s.io", "v1beta2", "clusters", "Cluster", true};
    absl::StatusOr<Json> list = client_.List(clusters, ns, {});
    if (!list.ok()) return name;
    for (const Json& c : (*list)["items"]) {
      const Json::json_pointer ref("/spec/controlPlaneRef");
      if (c.contains(ref) && c[ref].value("name", "") == name &&
          c[ref].value("kind", "") == cp.kind) {
        return c["metadata"]["name"];
      }
    }
    return name;
  }

  // Whether this generation of the object was made real already: its spec
  // changed since when not (the cloud then updates it in place).
  bool AlreadyMadeReal(const Json& obj) {
    const std::lock_guard<std::mutex> lock(mu_);
    auto it = seen_.find(obj["metadata"]["uid"].get<std::string>());
    return it != seen_.end() && it->second == obj["metadata"].value("generation", 0);
  }
  void MadeReal(const Json& obj) {
    const std::lock_guard<std::mutex> lock(mu_);
    seen_[obj["metadata"]["uid"].get<std::string>()] = obj["metadata"].value("generation", 0);
  }

  static std::string Lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(c));
    return s;
  }

  kube::HttpClient client_;
  const std::string region_;
  const std::chrono::milliseconds delay_;
  std::map<std::string, std::unique_ptr<kube::Informer>> informers_;
  std::mutex mu_;
  std::map<std::string, std::int64_t> seen_;  // uid -> generation made real
  struct PendingDeletion {
    kube::Resource resource;
    kube::ObjectKey key;
    std::string finalizer;
    std::string uid;
  };
  const std::chrono::milliseconds delete_delay_;
  std::multimap<std::chrono::steady_clock::time_point, PendingDeletion> pending_;
  std::set<std::string> deleting_;  // uids in pending_
  std::condition_variable pending_cv_;
};

}  // namespace

int main(int argc, char** argv) {
  std::string kubeconfig;
  std::string region = "eu-west-1";
  long delay_ms = 0;
  long delete_delay_ms = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](const std::string& flag) -> std::string {
      if (a.starts_with(flag + "=")) return a.substr(flag.size() + 1);
      if (a == flag && i + 1 < argc) return argv[++i];
      return "";
    };
    if (std::string v = value("--kubeconfig"); !v.empty()) {
      kubeconfig = v;
    } else if (std::string v2 = value("--region"); !v2.empty()) {
      region = v2;
    } else if (std::string v3 = value("--delay-ms"); !v3.empty()) {
      delay_ms = std::stol(v3);
    } else if (std::string v4 = value("--delete-delay-ms"); !v4.empty()) {
      delete_delay_ms = std::stol(v4);
    } else {
      std::cerr << "usage: simulated-cloud --kubeconfig PATH [--region R] [--delay-ms N] "
                   "[--delete-delay-ms N]\n";
      return 2;
    }
  }
  if (kubeconfig.empty()) {
    std::cerr << "simulated-cloud: --kubeconfig is required\n";
    return 2;
  }
  platform::testing::doubles::StopOnSignals();
  absl::StatusOr<kube::Config> config = kube::ReadKubeconfig(kubeconfig);
  if (!config.ok()) {
    std::cerr << "simulated-cloud: " << config.status().message() << "\n";
    return 1;
  }
  SimulatedCloud cloud(*std::move(config), region, std::chrono::milliseconds(delay_ms),
                       std::chrono::milliseconds(delete_delay_ms));
  Log("simulated-cloud: a test double for provider-upjet-aws and Cluster API, region " + region);
  cloud.Run();
  return 0;
}
