#include "function/renderers/xdatabase/compose.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "function/compose/aws_names.h"
#include "function/compose/aws_resources.h"
#include "function/compose/environment.h"
#include "function/compose/object.h"
#include "function/policy/policy.h"
#include "function/sdk/status_macros.h"
#include "function/sdk/strings.h"

namespace platform::fn::renderers::xdatabase {
namespace {

using compose::kResourceLabel;
using compose::ReadyCondition;
using sdk::Json;

// One kind of the AWS provider: cluster-scoped kinds at their storage
// version, every namespaced kind at v1beta1.
using Kind = compose::AwsKind;

constexpr Kind kKeyKind{"kms", "Key", "v1beta1"};
constexpr Kind kSecurityGroupKind{"ec2", "SecurityGroup", "v1beta1"};
constexpr Kind kIngressRuleKind{"ec2", "SecurityGroupIngressRule", "v1beta1"};
constexpr Kind kSubnetGroupKind{"rds", "SubnetGroup", "v1beta1"};
constexpr Kind kParameterGroupKind{"rds", "ParameterGroup", "v1beta1"};
constexpr Kind kInstanceKind{"rds", "Instance", "v1beta3"};
constexpr Kind kClusterKind{"rds", "Cluster", "v1beta2"};
constexpr Kind kClusterInstanceKind{"rds", "ClusterInstance", "v1beta1"};
constexpr Kind kRoleKind{"iam", "Role", "v1beta1"};
constexpr Kind kRolePolicyAttachmentKind{"iam", "RolePolicyAttachment", "v1beta1"};

// The managed resources of one database: each labelled with its composition
// resource name, in the XR's namespace when it has one, with the region and
// (on taggable kinds) the tags.
class Resources : public compose::AwsResources {
 public:
  Resources(const Params& p, const Json& tags, compose::Composer& c)
      : compose::AwsResources(p.scope, p.subject.region, tags, c), p_(p) {}

  // The XEnvironment of the network is kept until the database is gone. A
  // namespaced XR's Usage names the namespaced XEnvironment beside it; a
  // claim-based XR's ClusterUsage the cluster-scoped one. Not when this XR
  // is nested in that XEnvironment: the Usage would block its parent's
  // deletion.
  void UseEnvironment(std::string_view by, const Kind& by_kind) {
    const std::string& env = p_.network.environment_object;
    if (env.empty() || p_.parent == env) return;
    const std::string name = sdk::Cat(kEnvironmentUsage, "-by-", by);
    c_.Add(name,
           compose::EnvironmentUsage(p_.scope, env,
                                     {{"labels", {{std::string(compose::kResourceLabel), name}}}},
                                     {{"apiVersion", ApiVersion(by_kind)},
                                      {"kind", by_kind.kind},
                                      {"resourceSelector", Select(by)}}),
           compose::ReadyCondition);
  }

  // A reference to a Secret the provider writes: with a namespace for
  // cluster-scoped resources, in the resource's own namespace otherwise.
  Json SecretRef(std::string name, std::string_view key = {}) const {
    Json ref = {{"name", std::move(name)}};
    if (!p_.scope.namespaced) ref["namespace"] = p_.secret_namespace;
    if (!key.empty()) ref["key"] = key;
    return ref;
  }

 private:
  const Params& p_;
};

std::string EngineLabel(const Params& p) {
  return p.engine == "postgres" ? "PostgreSQL" : p.engine == "mysql" ? "MySQL" : "MariaDB";
}

// The groups the database joins: its own through a selector, or, when the
// class mandates more, every id (a selector cannot be combined with ids),
// once the own group's id is known. nullopt: wait for it.
std::optional<Json> SecurityGroups(const Params& p, const compose::Composer& c,
                                   std::string_view rds, std::string_view ids_field,
                                   std::string_view selector_field) {
  if (p.mandated_security_groups.empty()) {
    return Json{{std::string(selector_field), Resources::Select(kSecurityGroup)}};
  }
  std::string own;
  if (const Json* sg = c.Observed(kSecurityGroup); sg != nullptr) {
    own = compose::StringAt(*sg, "status.atProvider.id");
  }
  Json ids = Json::array();
  if (!own.empty()) {
    ids.push_back(own);
  } else if (const Json* o = c.Observed(rds); o != nullptr) {
    // Never drop what the database already has.
    absl::StatusOr<const Json*> have =
        sdk::Fields(*o).Find(sdk::Cat("spec.forProvider.", ids_field));
    if (have.ok() && *have != nullptr && (*have)->is_array() && !(*have)->empty()) {
      return Json{{std::string(ids_field), **have}};
    }
    return std::nullopt;
  } else {
    return std::nullopt;
  }
  for (const std::string& sg : p.mandated_security_groups) {
    if (sg != own) ids.push_back(sg);
  }
  return Json{{std::string(ids_field), std::move(ids)}};
}

Json Kms(const Params& p, std::string_view ids_field, std::string_view selector_field) {
  if (!p.kms_key_arn.empty()) return {{std::string(ids_field), p.kms_key_arn}};
  return {{std::string(selector_field), Resources::Select(kKmsKey)}};
}

// The parameter group's name in RDS, its external name. Left to Crossplane
// it is the group's generated metadata.name, <XR name>-<suffix>, which RDS
// refuses for an XR name with a digit first, a dot or two hyphens in a row
// (a letter first, then letters, digits and single hyphens). A new group is
// named <identifier>-params, which RDS always takes; a group that exists
// keeps the name it has, whoever chose it.
Json ParameterGroupAnnotations(const Params& p, const compose::Composer& c) {
  if (const Json* observed = c.Observed(kParameterGroup); observed != nullptr) {
    const std::string name = compose::StringAt(
        *observed, sdk::Cat("metadata.annotations[", compose::kExternalName, "]"));
    if (name.empty()) return Json::object();
    return {{std::string(compose::kExternalName), name}};
  }
  return {{std::string(compose::kExternalName), sdk::Cat(p.identifier, "-params")}};
}

void ComposeShared(const Params& p, Resources& r) {
  if (p.kms_key_arn.empty()) {
    Json spec = Json::object();
    if (p.final_snapshot) {
      // The final snapshot is encrypted with this key: deleting the database
      // must not schedule the key's deletion, or the snapshot dies with it.
      if (p.scope.namespaced) {
        spec["managementPolicies"] = {"Observe", "Create", "Update", "LateInitialize"};
      } else {
        spec["deletionPolicy"] = "Orphan";
      }
    }
    r.Add(kKmsKey, kKeyKind,
          {{"description", sdk::Cat("Storage encryption of the database ", p.identifier)},
           {"enableKeyRotation", true},
           {"deletionWindowInDays", 30}},
          std::move(spec));
  }
  // Database subnets only: never the public or private (workload) tiers.
  r.Add(kSubnetGroup, kSubnetGroupKind,
        {{"description", sdk::Cat("Database subnets of ", p.identifier)},
         {"subnetIds", p.network.subnet_ids}});
  // No inline rules: only the clients below may connect, and only on the
  // engine's port; no egress (the provider removes AWS's default rule).
  r.Add(kSecurityGroup, kSecurityGroupKind,
        {{"name", compose::SecurityGroupName(sdk::Cat(p.identifier, "-db"))},
         {"description", sdk::Cat("Database ", p.identifier, ": only its clients may connect")},
         {"vpcId", p.network.vpc_id},
         {"revokeRulesOnDelete", true}});
  for (const Client& client : p.clients) {
    Json fp = {{"securityGroupIdSelector", Resources::Select(kSecurityGroup)},
               {"ipProtocol", "tcp"},
               {"fromPort", p.port},
               {"toPort", p.port}};
    if (!client.security_group_id.empty()) {
      fp["referencedSecurityGroupId"] = client.security_group_id;
      fp["description"] = sdk::Cat(EngineLabel(p), " from ", client.security_group_id);
    } else {
      fp["cidrIpv4"] = client.cidr;
      fp["description"] = sdk::Cat(EngineLabel(p), " from ", client.cidr);
    }
    r.Add(client.resource, kIngressRuleKind, std::move(fp));
  }
  if (!p.parameters.empty()) {
    Json params = Json::array();
    for (const auto& [name, value] : p.parameters) {
      // Static and dynamic parameters alike take effect at the next reboot:
      // RDS refuses "immediate" for static ones.
      params.push_back({{"name", name}, {"value", value}, {"applyMethod", "pending-reboot"}});
    }
    r.Add(kParameterGroup, kParameterGroupKind,
          {{"family", p.parameter_family},
           {"description", sdk::Cat("Parameters of the database ", p.identifier)},
           {"parameter", std::move(params)}},
          Json::object(), ParameterGroupAnnotations(p, r.composer()));
  }
}

// What both the instance and the cluster say about backups and deletion.
void Lifecycle(const Params& p, Json& fp) {
  fp["backupRetentionPeriod"] = p.backup_retention_days;
  fp["deletionProtection"] = p.deletion_protection;
  fp["copyTagsToSnapshot"] = true;
  fp["skipFinalSnapshot"] = !p.final_snapshot;
  if (p.final_snapshot) fp["finalSnapshotIdentifier"] = p.final_snapshot_identifier;
  // Only when the spec asks for a major other than the one RDS runs: never
  // because a policy now allows a newer one.
  fp["allowMajorVersionUpgrade"] = p.allow_major_upgrade;
}

// Enhanced monitoring's role: RDS (monitoring.rds.amazonaws.com) assumes it
// to publish the samples to CloudWatch Logs, with AWS's managed policy for
// exactly that. Only while the class monitors its databases.
void ComposeMonitoringRole(const Params& p, Resources& r) {
  if (p.monitoring_interval == 0) return;
  r.Add(kMonitoringRole, kRoleKind,
        {{"assumeRolePolicy", compose::TrustPolicy("monitoring.rds.amazonaws.com")},
         {"description", sdk::Cat("Enhanced monitoring of the database ", p.identifier)},
         {"forceDetachPolicies", true}});
  r.Add(
      kMonitoringPolicy, kRolePolicyAttachmentKind,
      {{"roleSelector", Resources::Select(kMonitoringRole)}, {"policyArn", kMonitoringPolicyArn}});
}

// The monitoring role and its policy outlive what RDS monitors with them:
// deleted first, the last samples of a deletion would fail to publish.
void UseMonitoringRole(const Params& p, Resources& r, std::string_view by, const Kind& by_kind) {
  if (p.monitoring_interval == 0) return;
  r.Use(kMonitoringRole, kRoleKind, by, by_kind);
  r.Use(kMonitoringPolicy, kRolePolicyAttachmentKind, by, by_kind);
}

// Performance Insights and enhanced monitoring, as the class says: on an
// instance, or on each of Aurora's instances. Always stated, off included,
// so a class that stops observing turns them off rather than leaving what
// late initialization copied. Performance Insights' data (SQL text
// included) is encrypted with the database's own key.
void Observability(const Params& p, Json& fp) {
  fp["performanceInsightsEnabled"] = p.performance_insights;
  if (p.performance_insights) {
    fp["performanceInsightsRetentionPeriod"] = p.performance_insights_retention_days;
    fp.update(Kms(p, "performanceInsightsKmsKeyId", "performanceInsightsKmsKeyIdSelector"));
  }
  fp["monitoringInterval"] = p.monitoring_interval;
  if (p.monitoring_interval > 0) {
    fp["monitoringRoleArnSelector"] = Resources::Select(kMonitoringRole);
  }
}

// CloudWatch log exports and IAM authentication: on the instance, or on
// Aurora's cluster.
void LogsAndIam(const Params& p, Json& fp) {
  fp["enabledCloudwatchLogsExports"] = p.log_exports;
  fp["iamDatabaseAuthenticationEnabled"] = p.iam_authentication;
}

absl::Status ComposeInstance(const Params& p, Resources& r, const compose::Composer& c,
                             Outcome& out) {
  std::optional<Json> groups =
      SecurityGroups(p, c, kInstance, "vpcSecurityGroupIds", "vpcSecurityGroupIdSelector");
  if (!groups) {
    out.held_back = "the security group's id (the class mandates more groups)";
    return absl::OkStatus();
  }
  Json fp = {{"identifier", p.identifier},
             {"engine", p.rds_engine},
             {"engineVersion", p.engine_version},
             // A major alone: RDS picks the minor and upgrades it.
             {"autoMinorVersionUpgrade", !p.version_pinned},
             {"instanceClass", p.instance_class},
             {"allocatedStorage", p.storage_gib},
             {"storageType", "gp3"},
             {"storageEncrypted", true},
             {"multiAz", p.multi_az},
             {"publiclyAccessible", false},
             {"dbSubnetGroupNameSelector", Resources::Select(kSubnetGroup)},
             {"dbName", p.database_name},
             {"username", kUsername}};
  if (p.managed_password) {
    fp["manageMasterUserPassword"] = true;
  } else {
    fp["autoGeneratePassword"] = true;
    fp["passwordSecretRef"] = r.SecretRef(sdk::Cat(p.name, "-password"), kPasswordKey);
  }
  if (p.max_storage_gib > 0) fp["maxAllocatedStorage"] = p.max_storage_gib;
  Observability(p, fp);
  LogsAndIam(p, fp);
  fp.update(Kms(p, "kmsKeyId", "kmsKeyIdSelector"));
  fp.update(*groups);
  if (!p.parameters.empty()) {
    fp["parameterGroupNameSelector"] = Resources::Select(kParameterGroup);
  }
  Lifecycle(p, fp);
  r.Add(kInstance, kInstanceKind, std::move(fp),
        {{"writeConnectionSecretToRef", r.SecretRef(out.connection_secret)}});
  r.Use(kSubnetGroup, kSubnetGroupKind, kInstance, kInstanceKind);
  r.Use(kSecurityGroup, kSecurityGroupKind, kInstance, kInstanceKind);
  if (!p.parameters.empty()) r.Use(kParameterGroup, kParameterGroupKind, kInstance, kInstanceKind);
  if (p.kms_key_arn.empty()) r.Use(kKmsKey, kKeyKind, kInstance, kInstanceKind);
  UseMonitoringRole(p, r, kInstance, kInstanceKind);
  r.UseEnvironment(kInstance, kInstanceKind);
  return absl::OkStatus();
}

absl::Status ComposeAurora(const Params& p, Resources& r, const compose::Composer& c,
                           Outcome& out) {
  std::optional<Json> groups =
      SecurityGroups(p, c, kCluster, "vpcSecurityGroupIds", "vpcSecurityGroupIdSelector");
  if (!groups) {
    out.held_back = "the security group's id (the class mandates more groups)";
    return absl::OkStatus();
  }
  Json fp = {{"engine", p.rds_engine},
             {"databaseName", p.database_name},
             {"masterUsername", kUsername},
             {"storageEncrypted", true},
             {"dbSubnetGroupNameSelector", Resources::Select(kSubnetGroup)}};
  if (p.managed_password) {
    fp["manageMasterUserPassword"] = true;
  } else {
    fp["autoGeneratePassword"] = true;
    fp["masterPasswordSecretRef"] = r.SecretRef(sdk::Cat(p.name, "-password"), kPasswordKey);
  }
  LogsAndIam(p, fp);
  fp.update(Kms(p, "kmsKeyId", "kmsKeyIdSelector"));
  fp.update(*groups);
  Lifecycle(p, fp);
  Json spec = {{"writeConnectionSecretToRef", r.SecretRef(out.connection_secret)}};
  if (p.version_pinned) {
    fp["engineVersion"] = p.engine_version;
  } else {
    // Created with the major's default; then minor versions are AWS's to
    // upgrade. Never late-initialized into forProvider, or the first
    // automatic upgrade would read as drift and be reverted.
    spec["initProvider"] = {{"engineVersion", p.engine_version}};
    spec["managementPolicies"] = {"Observe", "Create", "Update", "Delete"};
  }
  r.Add(kCluster, kClusterKind, std::move(fp), std::move(spec),
        {{std::string(compose::kExternalName), p.identifier}});
  r.Use(kSubnetGroup, kSubnetGroupKind, kCluster, kClusterKind);
  r.Use(kSecurityGroup, kSecurityGroupKind, kCluster, kClusterKind);
  if (p.kms_key_arn.empty()) r.Use(kKmsKey, kKeyKind, kCluster, kClusterKind);
  r.UseEnvironment(kCluster, kClusterKind);

  const int count = p.multi_az ? 2 : 1;
  for (int i = 1; i <= count; ++i) {
    const std::string name = sdk::Cat("instance-", i);
    Json ifp = {{"clusterIdentifierSelector", Resources::Select(kCluster)},
                {"engine", p.rds_engine},
                {"instanceClass", p.instance_class},
                {"publiclyAccessible", false},
                {"autoMinorVersionUpgrade", !p.version_pinned},
                {"copyTagsToSnapshot", true},
                // The writer fails over to the reader first.
                {"promotionTier", i - 1}};
    // The reader in another zone than the writer, when the zones are known.
    if (p.network.availability_zones.size() >= static_cast<std::size_t>(count)) {
      ifp["availabilityZone"] = p.network.availability_zones[i - 1];
    }
    if (!p.parameters.empty()) {
      ifp["dbParameterGroupNameSelector"] = Resources::Select(kParameterGroup);
    }
    Observability(p, ifp);
    r.Add(name, kClusterInstanceKind, std::move(ifp), Json::object(),
          {{std::string(compose::kExternalName), sdk::Cat(p.identifier, "-", i)}});
    r.Use(kCluster, kClusterKind, name, kClusterInstanceKind);
    if (!p.parameters.empty()) {
      r.Use(kParameterGroup, kParameterGroupKind, name, kClusterInstanceKind);
    }
    UseMonitoringRole(p, r, name, kClusterInstanceKind);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Outcome> ComposeDatabase(const Params& p, const Json& tags, compose::Composer& c) {
  Resources r(p, tags, c);
  Outcome out;
  out.connection_secret = sdk::Cat(p.name, "-rds");
  ComposeShared(p, r);
  ComposeMonitoringRole(p, r);
  if (p.mode == Mode::kAurora) {
    out.rds_resource = std::string(kCluster);
    out.description =
        sdk::Cat("the Aurora ", p.rds_engine, " ", p.engine_version, " cluster ", p.identifier);
    PLATFORM_RETURN_IF_ERROR(ComposeAurora(p, r, c, out));
  } else {
    out.rds_resource = std::string(kInstance);
    out.description =
        sdk::Cat("the ", p.engine, " ", p.engine_version, " RDS instance ", p.identifier);
    PLATFORM_RETURN_IF_ERROR(ComposeInstance(p, r, c, out));
  }
  return out;
}

}  // namespace platform::fn::renderers::xdatabase
