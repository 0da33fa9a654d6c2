// The managed resources of one XDatabase: KMS key, subnet group, security
// group and its ingress rules, parameter group, and the RDS instance or the
// Aurora cluster with its instances, ordered for deletion by Usages.
#ifndef PLATFORM_FUNCTION_RENDERERS_XDATABASE_COMPOSE_H_
#define PLATFORM_FUNCTION_RENDERERS_XDATABASE_COMPOSE_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "function/compose/composer.h"
#include "function/renderers/xdatabase/params.h"

namespace platform::fn::renderers::xdatabase {

// Composition resource names.
inline constexpr std::string_view kKmsKey = "kms-key";
inline constexpr std::string_view kSubnetGroup = "subnetgroup";
inline constexpr std::string_view kSecurityGroup = "securitygroup";
inline constexpr std::string_view kParameterGroup = "parametergroup";
inline constexpr std::string_view kInstance = "instance";
inline constexpr std::string_view kCluster = "cluster";
inline constexpr std::string_view kConnectionSecret = "connection-secret";
inline constexpr std::string_view kEnvironmentUsage = "usage-environment";
// Enhanced monitoring's role, which RDS assumes to publish the samples.
inline constexpr std::string_view kMonitoringRole = "monitoring-role";
inline constexpr std::string_view kMonitoringPolicy = "monitoring-role-policy";
// The AWS managed policy enhanced monitoring's role needs.
inline constexpr std::string_view kMonitoringPolicyArn =
    "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole";

// The user the provider creates, and the key of the password in the Secret
// it generates.
inline constexpr std::string_view kUsername = "dbadmin";
inline constexpr std::string_view kPasswordKey = "password";

// What was composed, for the XR's status, connection details and events.
struct Outcome {
  // The resource RDS's endpoint comes from: "instance" or "cluster".
  std::string rds_resource;
  // The Secret the provider writes that resource's connection details to,
  // in Params::secret_namespace (the XR's namespace for namespaced XRs).
  std::string connection_secret;
  // The database resources wait for the security group's id (the class
  // mandates extra groups, which selectors cannot add): why, or empty.
  std::string held_back;
  // e.g. "the postgres 16 RDS instance payments-db".
  std::string description;
};

absl::StatusOr<Outcome> ComposeDatabase(const Params& p, const sdk::Json& tags,
                                        compose::Composer& c);

}  // namespace platform::fn::renderers::xdatabase

#endif  // PLATFORM_FUNCTION_RENDERERS_XDATABASE_COMPOSE_H_
