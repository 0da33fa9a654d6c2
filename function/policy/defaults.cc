#include "function/policy/defaults.h"

#include <string>
#include <vector>

namespace platform::fn::policy::internal {
namespace {

constexpr std::string_view kNoneSingle[] = {"None", "Single"};
constexpr std::string_view kAllNat[] = {"None", "Single", "PerZone"};
constexpr std::string_view kSinglePerZone[] = {"Single", "PerZone"};
constexpr std::string_view kNone[] = {"None"};

constexpr const auto& kVersions = kKubernetesVersions;
constexpr std::string_view kProdVersions[] = {"1.34", "1.33", "1.32"};
constexpr const auto& kAnyAccess = kEndpointAccessModes;
constexpr std::string_view kPrivateAccess[] = {"Private", "PublicAndPrivate"};
// Burstable, general purpose and compute families of the current
// generations, x86 and Graviton: what non-production clusters may use.
constexpr std::string_view kSmallFamilies[] = {"t3",  "t3a", "t4g", "m5",  "m6a", "m6g", "m6i",
                                               "m7g", "m7i", "c6g", "c6i", "c7g", "c7i", "r6i"};

constexpr std::string_view kPostgres[] = {"17", "16", "15"};
constexpr std::string_view kProdPostgres[] = {"17", "16"};
constexpr std::string_view kMysql[] = {"8.4", "8.0"};
constexpr std::string_view kMariadb[] = {"11.4", "10.11"};
constexpr std::string_view kProdMariadb[] = {"11.4"};
constexpr std::string_view kSmallDbFamilies[] = {"db.t4g", "db.t3"};
constexpr std::string_view kTestDbFamilies[] = {"db.t4g", "db.t3", "db.m7g", "db.m6g", "db.r7g"};

// The defaults per class. Keep in step with the table in policy.h and the
// descriptions in package/input/platform.fn.terraforming.io_inputs.yaml.
constexpr ClassDefaults kDefaults[] = {
    // class  zones  NAT allowed  default  VPC prefix  never  | Kubernetes  nodes  access  families
    //   | postgres  mysql  mariadb  db families  storage  multi-AZ  deletion protection
    //   | flow logs  retention  database observability
    {"dev",
     2,
     kNoneSingle,
     "Single",
     16,
     20,
     {},
     kVersions,
     5,
     kAnyAccess,
     kSmallFamilies,
     kPostgres,
     kMysql,
     kMariadb,
     kSmallDbFamilies,
     100,
     false,
     false,
     false,
     30,
     false},
    {"test",          3,   kAllNat,    "Single",       16,        20,     {},
     kVersions,       10,  kAnyAccess, kSmallFamilies, kPostgres, kMysql, kMariadb,
     kTestDbFamilies, 500, false,      false,          false,     30,     false},
    {"sandbox",        2,   kNoneSingle, "Single",       16,        20,     {},
     kVersions,        5,   kAnyAccess,  kSmallFamilies, kPostgres, kMysql, kMariadb,
     kSmallDbFamilies, 100, false,       false,          false,     30,     false},
    // A prod network always has NAT; a prod cluster's API is never public
    // only, and runs a supported version; a prod database survives a zone
    // and an accidental delete.
    {"prod",
     6,
     kSinglePerZone,
     "PerZone",
     16,
     20,
     kNone,
     kProdVersions,
     100,
     kPrivateAccess,
     {},
     kProdPostgres,
     kMysql,
     kProdMariadb,
     {},
     16384,
     true,
     true,
     true,
     365,
     true},
};

// How the clusters of a class run beside their limits: EKS support policy,
// control-plane logs, VPC CNI permissions. Production keeps its version
// until someone upgrades it, logs who did what, and keeps the CNI's
// permissions off the nodes.
struct ClusterOperationDefaults {
  std::string_view environment_class;
  std::string_view upgrade_policy;
  std::span<const std::string_view> control_plane_logs;
  bool vpc_cni_pod_identity;
};
constexpr std::string_view kProdLogs[] = {"api", "audit", "authenticator"};
constexpr ClusterOperationDefaults kClusterOperations[] = {
    {"dev", "Standard", {}, false},
    {"test", "Standard", {}, false},
    {"sandbox", "Standard", {}, false},
    {"prod", "Extended", kProdLogs, true},
};

// Kinds of the AWS providers that have no tags: associations, attachments,
// rules and sub-resources of something taggable. Any other kind in an AWS
// API group is tagged.
constexpr std::string_view kUntaggable[] = {
    // ec2
    "Route",
    "RouteTableAssociation",
    "MainRouteTableAssociation",
    "SecurityGroupRule",
    "VPCEndpointRouteTableAssociation",
    "VPCEndpointSubnetAssociation",
    "EIPAssociation",
    "NetworkACLRule",
    // eks
    "ClusterAuth",
    "AccessPolicyAssociation",
    // iam
    "RolePolicyAttachment",
    "RolePolicy",
    "UserPolicyAttachment",
    "GroupPolicyAttachment",
    // s3
    "BucketVersioning",
    "BucketPublicAccessBlock",
    "BucketServerSideEncryptionConfiguration",
    "BucketPolicy",
    "BucketOwnershipControls",
    "BucketLifecycleConfiguration",
    // kms
    "Alias",
};

}  // namespace

const ClassDefaults* DefaultsFor(std::string_view environment_class) {
  for (const ClassDefaults& d : kDefaults) {
    if (d.environment_class == environment_class) return &d;
  }
  return nullptr;
}

ClassLimits DefaultLimits(const ClassDefaults& d) {
  ClassLimits l;
  l.environment_class = std::string(d.environment_class);
  l.max_zones = d.max_zones;
  for (std::string_view s : d.allowed_nat_strategies) l.allowed_nat_strategies.emplace_back(s);
  l.default_nat_strategy = std::string(d.default_nat_strategy);
  l.min_vpc_prefix = d.min_vpc_prefix;
  l.max_vpc_prefix = d.max_vpc_prefix;
  for (std::string_view v : d.kubernetes_versions) l.cluster.kubernetes_versions.emplace_back(v);
  l.cluster.max_nodes_per_pool = d.max_nodes_per_pool;
  for (std::string_view a : d.endpoint_access) l.cluster.endpoint_access.emplace_back(a);
  for (std::string_view f : d.instance_families) l.cluster.instance_families.emplace_back(f);
  auto versions = [](std::span<const std::string_view> v) {
    return std::vector<std::string>(v.begin(), v.end());
  };
  l.database.engine_versions = {{"postgres", versions(d.postgres_versions)},
                                {"mysql", versions(d.mysql_versions)},
                                {"mariadb", versions(d.mariadb_versions)}};
  for (std::string_view f : d.db_instance_families) l.database.instance_families.emplace_back(f);
  l.database.max_storage_gib = d.max_storage_gib;
  l.database.require_multi_az = d.require_multi_az;
  l.database.require_deletion_protection = d.require_deletion_protection;
  for (const ClusterOperationDefaults& o : kClusterOperations) {
    if (o.environment_class != d.environment_class) continue;
    l.cluster.upgrade_policy = std::string(o.upgrade_policy);
    l.cluster.control_plane_logs.assign(o.control_plane_logs.begin(), o.control_plane_logs.end());
    l.cluster.vpc_cni_pod_identity = o.vpc_cni_pod_identity;
  }
  if (d.db_observability) {
    l.database.performance_insights = true;
    l.database.performance_insights_retention_days = 7;
    l.database.monitoring_interval = 60;
    for (const RdsLogEngine& e : kRdsLogEngines) {
      l.database.log_exports.emplace_back(std::string(e.engine),
                                          std::vector<std::string>(e.logs.begin(), e.logs.end()));
    }
    l.database.iam_authentication = true;
  }
  l.network.flow_logs.enabled = d.flow_logs;
  l.network.flow_logs.retention_days = d.flow_log_retention_days;
  return l;
}

std::span<const int> CloudWatchRetentionDays() {
  static constexpr int kDays[] = {1,   3,   5,   7,   14,   30,   60,   90,   120,  150,  180,
                                  365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653};
  return kDays;
}

std::span<const std::string_view> KnownDatabaseVersions(std::string_view engine) {
  static constexpr std::string_view kKnownPostgres[] = {"17", "16", "15", "14", "13"};
  static constexpr std::string_view kKnownMysql[] = {"8.4", "8.0"};
  static constexpr std::string_view kKnownMariadb[] = {"11.4", "10.11", "10.6"};
  if (engine == "postgres") return kKnownPostgres;
  if (engine == "mysql") return kKnownMysql;
  if (engine == "mariadb") return kKnownMariadb;
  return {};
}

std::span<const std::string_view> UntaggableKinds() { return kUntaggable; }

}  // namespace platform::fn::policy::internal
