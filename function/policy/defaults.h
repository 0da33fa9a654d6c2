// The built-in policy data: per-class defaults and bounds, and the AWS kinds
// that cannot be tagged. Internal to function/policy.
#ifndef PLATFORM_FUNCTION_POLICY_DEFAULTS_H_
#define PLATFORM_FUNCTION_POLICY_DEFAULTS_H_

#include <span>
#include <string_view>

#include "function/policy/policy.h"

namespace platform::fn::policy::internal {

// Bounds every class's values must keep, whoever sets them.
inline constexpr int kMinZones = 1;
inline constexpr int kMaxZones = 6;
// AWS allows VPC blocks from /16 to /28.
inline constexpr int kMinVpcPrefix = 16;
inline constexpr int kMaxVpcPrefix = 28;
// AWS allows 50 tags per resource; the platform sets 5 of them and leaves
// room for the renderer's own (Name, role tags) and the user's.
inline constexpr int kMaxExtraTags = 30;

// The built-in defaults of one class.
struct ClassDefaults {
  std::string_view environment_class;
  int max_zones;
  std::span<const std::string_view> allowed_nat_strategies;
  std::string_view default_nat_strategy;
  int min_vpc_prefix;
  int max_vpc_prefix;
  // NAT strategies the class may never allow, whatever the input says.
  std::span<const std::string_view> forbidden_nat_strategies;
  // Cluster limits.
  std::span<const std::string_view> kubernetes_versions;
  int max_nodes_per_pool;
  std::span<const std::string_view> endpoint_access;
  std::span<const std::string_view> instance_families;  // empty: any
  // Database limits.
  std::span<const std::string_view> postgres_versions;
  std::span<const std::string_view> mysql_versions;
  std::span<const std::string_view> mariadb_versions;
  std::span<const std::string_view> db_instance_families;  // empty: any
  int max_storage_gib;
  // Prod: both required, and no input may turn them off.
  bool require_multi_az;
  bool require_deletion_protection;
  // Flow logs on by default.
  bool flow_logs;
  int flow_log_retention_days;
  // Databases observed in depth: Performance Insights (7 days), enhanced
  // monitoring every 60 s, every log exported, IAM authentication.
  bool db_observability;
};

// The retention periods CloudWatch Logs accepts, in days.
std::span<const int> CloudWatchRetentionDays();

// The major versions an engine may ever be allowed (what the XRD and the
// renderer know how to run), or an empty span for an unknown engine.
std::span<const std::string_view> KnownDatabaseVersions(std::string_view engine);
// Bounds of maxStorageGiB.
inline constexpr int kMinStorageGib = 20;
inline constexpr int kMaxStorageGib = 65536;

// Bounds of maxNodesPerPool.
inline constexpr int kMinNodesPerPool = 1;
inline constexpr int kMaxNodesPerPool = 1000;
// The defaults of a class, or nullptr for an unknown class.
const ClassDefaults* DefaultsFor(std::string_view environment_class);

// The defaults as limits (any region, no mandated security groups).
ClassLimits DefaultLimits(const ClassDefaults& d);

// AWS kinds without tags.
std::span<const std::string_view> UntaggableKinds();

}  // namespace platform::fn::policy::internal

#endif  // PLATFORM_FUNCTION_POLICY_DEFAULTS_H_
