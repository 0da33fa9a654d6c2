// The parameters of an XDatabase, read and validated once against the
// class's policies, with every default filled in. See docs/xdatabase.md.
#ifndef PLATFORM_FUNCTION_RENDERERS_XDATABASE_PARAMS_H_
#define PLATFORM_FUNCTION_RENDERERS_XDATABASE_PARAMS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "function/compose/platform.h"
#include "function/compose/scope.h"
#include "function/policy/policy.h"
#include "function/sdk/fields.h"

namespace platform::fn::renderers::xdatabase {

enum class Mode {
  kInstance,  // an RDS instance
  kAurora,    // an Aurora cluster with one writer (and a reader when multi-AZ)
};

// Who may connect: a security group or a CIDR block, on the engine's port.
struct Client {
  std::string security_group_id;  // sg-..., or empty
  std::string cidr;               // a.b.c.d/n, or empty
  std::string path;               // the XR field that names it, for errors
  // The composition resource name of its ingress rule: sgr-<hash of the
  // client>, so adding or removing one client never renames another.
  std::string resource;
};

struct Network {
  // The XEnvironment named by network.environment, or empty when the ids are
  // given; filled in by ResolveNetwork() once Crossplane provides it.
  std::string environment;
  std::string environment_object;  // its metadata.name
  std::string vpc_id;
  std::string vpc_cidr;                         // may stay empty with ids
  std::vector<std::string> subnet_ids;          // database subnets only
  std::vector<std::string> availability_zones;  // from the environment, else empty
};

struct Params {
  policy::Subject subject;
  compose::Scope scope;
  std::string name;    // metadata.name
  std::string parent;  // the XEnvironment that composed this XR (its controller owner), or ""
  // The RDS instance (or Aurora cluster) identifier: the XR's name, prefixed
  // with the namespace for namespaced XRs; at most 60 characters so the
  // Aurora instances' `-1`, `-2` fit in RDS's 63.
  std::string identifier;

  std::string engine;  // postgres | mysql | mariadb: as asked for
  Mode mode = Mode::kInstance;
  std::string rds_engine;  // what RDS runs: the engine, or aurora-postgresql / aurora-mysql
  std::string major;       // postgres 16; mysql 8.0; mariadb 11.4
  // The version given to RDS: the major (RDS picks and upgrades the minor),
  // a full version as given, or for Aurora a full default for the major.
  std::string engine_version;
  bool version_pinned = false;  // a full version was asked for
  // The major RDS runs now (read from the observed instance or cluster), or
  // "" before it exists. Without an engineVersion the database stays on it:
  // a policy that allows a newer major upgrades nothing by itself.
  std::string running_major;
  // Only when the spec asks for a major other than the running one.
  bool allow_major_upgrade = false;
  std::string parameter_family;  // postgres16, aurora-mysql8.0, ...
  int port = 5432;

  std::string instance_class;
  std::int64_t storage_gib = 20;     // Instance mode
  std::int64_t max_storage_gib = 0;  // autoscaling limit; 0: none
  bool multi_az = false;
  bool deletion_protection = false;
  bool final_snapshot = false;  // prod: a final snapshot on delete
  // Its identifier: unique per incarnation of the XR (its metadata.uid), so
  // a database re-created under the same name and deleted again never
  // collides with the snapshot the first one left.
  std::string final_snapshot_identifier;
  std::int64_t backup_retention_days = 1;
  std::string database_name;
  std::vector<std::pair<std::string, std::string>> parameters;  // in name order
  std::string kms_key_arn;                                      // empty: a key is composed

  // What the class observes every database with (policy::DatabaseLimits).
  bool performance_insights = false;
  int performance_insights_retention_days = 7;
  int monitoring_interval = 0;           // seconds; 0: no enhanced monitoring
  std::vector<std::string> log_exports;  // to CloudWatch Logs, of rds_engine
  bool iam_authentication = false;

  // RDS keeps the master password in Secrets Manager (manageMasterUserPassword)
  // instead of the provider generating it into a Kubernetes Secret. Chosen
  // when the database is created.
  bool managed_password = false;

  Network network;
  std::vector<Client> clients;
  // Groups the class mandates on every workload, attached to the database.
  std::vector<std::string> mandated_security_groups;
  sdk::Json user_tags = sdk::Json::object();
  // Where the provider writes the password and connection Secrets: the
  // claim's namespace (else crossplane-system) for claim-based XRs; empty for
  // namespaced XRs, whose Secrets live in the XR's own namespace.
  std::string secret_namespace;
};

// What the observed instance or cluster says, before it exists all empty.
struct Running {
  // The engine version it reports (status.atProvider, else its spec).
  std::string version;
  // Whether RDS manages its master password; nullopt before it exists.
  std::optional<bool> managed_password;
};

// Reads and validates the XR's own parameters; `xr` was read and authorized
// by the platform contract (platform.h). Errors name the field; limits of
// the class are policy violations.
absl::StatusOr<Params> ReadParams(const compose::Xr& xr, const Running& running = {});

// The clients' CIDR blocks must lie inside the VPC's block when it is known
// (from the environment or network.vpcCidr); errors name the client.
absl::Status CheckClientsInVpc(const Params& p);

// The major version of an engine version: postgres the first component,
// mysql and mariadb the first two; empty when `version` has too few.
std::string MajorOf(std::string_view engine, std::string_view version);
// The family of an instance class: "db.t4g" of "db.t4g.micro".
std::string_view ClassFamily(std::string_view instance_class);

}  // namespace platform::fn::renderers::xdatabase

#endif  // PLATFORM_FUNCTION_RENDERERS_XDATABASE_PARAMS_H_
