#include "function/renderers/xdatabase/params.h"

#include <algorithm>
#include <charconv>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "function/compose/aws_names.h"
#include "function/compose/ids.h"
#include "function/compose/subject.h"
#include "function/network/cidr.h"
#include "function/network/zones.h"
#include "function/sdk/status_macros.h"
#include "function/sdk/strings.h"

namespace platform::fn::renderers::xdatabase {
namespace {

using network::Cidr;
using sdk::FieldError;
using sdk::JoinList;
using sdk::JoinPath;

// Aurora versions of each major: a full version, since Aurora names its
// releases (aurora-postgresql 16.6, aurora-mysql 8.0.mysql_aurora.3.08.0).
// Created with it; minor versions are then AWS's to upgrade.
struct AuroraDefault {
  std::string_view engine;
  std::string_view major;
  std::string_view version;
};
constexpr AuroraDefault kAuroraDefaults[] = {
    {"postgres", "17", "17.4"},  {"postgres", "16", "16.6"},
    {"postgres", "15", "15.10"}, {"postgres", "14", "14.15"},
    {"postgres", "13", "13.18"}, {"mysql", "8.0", "8.0.mysql_aurora.3.08.0"},
};

// What sets an Aurora MySQL release apart from a MySQL version.
constexpr std::string_view kAuroraMysqlInfix = ".mysql_aurora.";

const AuroraDefault* AuroraDefaultOf(std::string_view engine, std::string_view major) {
  for (const AuroraDefault& d : kAuroraDefaults) {
    if (d.engine == engine && d.major == major) return &d;
  }
  return nullptr;
}

std::vector<std::string> Split(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t at = s.find(sep, start);
    out.emplace_back(s.substr(start, at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

// Numeric comparison of dotted versions: 10.11 is newer than 10.6.
bool VersionLess(std::string_view a, std::string_view b) {
  const std::vector<std::string> x = Split(a, '.');
  const std::vector<std::string> y = Split(b, '.');
  for (std::size_t i = 0; i < std::min(x.size(), y.size()); ++i) {
    int n = 0;
    int m = 0;
    std::from_chars(x[i].data(), x[i].data() + x[i].size(), n);
    std::from_chars(y[i].data(), y[i].data() + y[i].size(), m);
    if (n != m) return n < m;
  }
  return x.size() < y.size();
}

bool IsNumericVersion(std::string_view v) {
  if (v.empty()) return false;
  for (const std::string& part : Split(v, '.')) {
    if (part.empty() || !std::all_of(part.begin(), part.end(), [](char c) {
          return absl::ascii_isdigit(static_cast<unsigned char>(c));
        })) {
      return false;
    }
  }
  return true;
}

bool IsPrivate(const Cidr& c) {
  for (std::string_view block : {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                                 // shared address space, used for secondary VPC blocks
                                 "100.64.0.0/10"}) {
    if (Cidr::Parse(block)->Contains(c)) return true;
  }
  return false;
}

absl::Status ReadVersion(const sdk::Fields& params, const policy::DatabaseLimits& limits,
                         const policy::Subject& subject, Params& p) {
  const std::string engine_path = JoinPath(params.path(), "engine");
  const std::string version_path = JoinPath(params.path(), "engineVersion");
  const std::vector<std::string>* allowed = limits.VersionsOf(p.engine);
  if (allowed == nullptr || allowed->empty()) {
    return policy::FieldViolation(
        engine_path, sdk::Cat(subject.environment_class, " databases may not use ", p.engine));
  }
  const bool aurora = p.mode == Mode::kAurora;
  PLATFORM_ASSIGN_OR_RETURN(std::string version, params.String("engineVersion", ""));
  if (version.empty() && !p.running_major.empty()) {
    // Chosen once, when it was created: a policy allowing a newer major
    // upgrades nothing until the spec asks for it.
    p.major = p.running_major;
    version = p.major;
  } else if (version.empty()) {
    // The newest major the class allows (that Aurora runs, for Aurora).
    for (const std::string& v : *allowed) {
      if (aurora && AuroraDefaultOf(p.engine, v) == nullptr) continue;
      if (p.major.empty() || VersionLess(p.major, v)) p.major = v;
    }
    if (p.major.empty()) {
      return policy::FieldViolation(
          version_path, sdk::Cat(subject.environment_class, " databases may use ", p.engine, " ",
                                 JoinList(*allowed), ", none of which Aurora runs"));
    }
    version = p.major;
  } else if (const std::size_t at = version.find(kAuroraMysqlInfix); at != std::string::npos) {
    // An Aurora MySQL release (8.0.mysql_aurora.3.08.0): MySQL's MAJOR.MINOR,
    // then Aurora's own MAJOR.MINOR.PATCH. Always pinned.
    if (p.engine != "mysql" || !aurora) {
      return FieldError(version_path,
                        sdk::Cat(version,
                                 " is an Aurora MySQL release: only for engine mysql in "
                                 "mode Aurora"));
    }
    const std::string mysql = version.substr(0, at);
    const std::string release = version.substr(at + kAuroraMysqlInfix.size());
    if (!IsNumericVersion(mysql) || Split(mysql, '.').size() != 2 || !IsNumericVersion(release) ||
        Split(release, '.').size() != 3) {
      return FieldError(version_path,
                        sdk::Cat("\"", version,
                                 "\" is not an Aurora MySQL release (MAJOR.MINOR.mysql_aurora."
                                 "X.Y.Z, e.g. 8.0.mysql_aurora.3.08.0)"));
    }
    p.major = mysql;
    p.version_pinned = true;
  } else {
    if (!IsNumericVersion(version)) {
      return FieldError(version_path, sdk::Cat("\"", version, "\" is not a version"));
    }
    const std::size_t parts = Split(version, '.').size();
    if (p.engine == "postgres" && parts > 2) {
      return FieldError(version_path,
                        sdk::Cat("postgres versions are MAJOR or MAJOR.MINOR, not ", version));
    }
    p.major = MajorOf(p.engine, version);
    if (p.major.empty()) {
      return FieldError(version_path, sdk::Cat(p.engine, " versions are MAJOR.MINOR (e.g. ",
                                               p.engine == "mysql" ? "8.0" : "11.4", ") or ",
                                               "MAJOR.MINOR.PATCH, not ", version));
    }
    p.version_pinned = p.major != version;
  }
  if (std::find(allowed->begin(), allowed->end(), p.major) == allowed->end()) {
    const bool running = p.major == p.running_major && !params.Has("engineVersion");
    return policy::FieldViolation(
        version_path,
        sdk::Cat(subject.environment_class, " databases may use ", p.engine, " ",
                 JoinList(*allowed), ", not ", p.major,
                 running ? " (the major it runs); set engineVersion to upgrade it" : ""));
  }
  p.allow_major_upgrade = !p.running_major.empty() && p.running_major != p.major;
  if (!aurora) {
    p.rds_engine = p.engine;
    p.engine_version = version;
    p.parameter_family = sdk::Cat(p.engine, p.major);
    return absl::OkStatus();
  }
  p.rds_engine = p.engine == "postgres" ? "aurora-postgresql" : "aurora-mysql";
  p.parameter_family = sdk::Cat(p.rds_engine, p.major);
  const AuroraDefault* d = AuroraDefaultOf(p.engine, p.major);
  if (d == nullptr) {
    return FieldError(version_path, sdk::Cat("Aurora does not run ", p.engine, " ", p.major,
                                             "; use mode Instance, or a major Aurora runs"));
  }
  if (p.version_pinned && p.engine == "mysql") {
    // Aurora MySQL runs its own releases, not MySQL's: 8.0.36 is none of
    // them. Its release numbers belong to one MySQL major each (3.x: 8.0).
    const std::string_view family =
        std::string_view(d->version).substr(0, d->version.rfind('.', d->version.rfind('.') - 1));
    if (version.find(kAuroraMysqlInfix) == std::string::npos || !version.starts_with(family) ||
        version[family.size()] != '.') {
      return FieldError(version_path, sdk::Cat("Aurora MySQL names its versions ", family,
                                               ".x.y (e.g. ", d->version, "), not ", version,
                                               "; give one of those, or the "
                                               "major version ",
                                               p.major, " (created with ", d->version, ")"));
    }
  }
  p.engine_version = p.version_pinned ? version : std::string(d->version);
  return absl::OkStatus();
}

absl::Status ReadInstanceClass(const sdk::Fields& params, const policy::DatabaseLimits& limits,
                               const policy::Subject& subject, Params& p) {
  const std::string path = JoinPath(params.path(), "instanceClass");
  const bool prod = subject.environment_class == "prod";
  std::string fallback;
  if (p.mode == Mode::kAurora) {
    fallback = prod ? "db.r7g.large" : "db.t4g.medium";
  } else {
    fallback = prod                                  ? "db.m7g.large"
               : subject.environment_class == "test" ? "db.t4g.small"
                                                     : "db.t4g.micro";
  }
  PLATFORM_ASSIGN_OR_RETURN(p.instance_class, params.String("instanceClass", fallback));
  const std::vector<std::string> parts = Split(p.instance_class, '.');
  if (parts.size() != 3 || parts[0] != "db" || parts[1].empty() || parts[2].empty()) {
    return FieldError(path,
                      sdk::Cat("\"", p.instance_class, "\" is not an RDS instance class (db.x.y)"));
  }
  const std::string_view family = ClassFamily(p.instance_class);
  if (!limits.AllowsInstanceFamily(family)) {
    return policy::FieldViolation(
        path, sdk::Cat(subject.environment_class, " databases may use instance families ",
                       JoinList(limits.instance_families), ", not ", family));
  }
  if (p.mode == Mode::kAurora) {
    const std::string& size = parts[2];
    const bool burstable = family == "db.t3" || family == "db.t4g";
    const bool ok = burstable ? (size == "medium" || size == "large")
                              : (family.starts_with("db.r") || family.starts_with("db.x2"));
    if (!ok) {
      return FieldError(path, sdk::Cat("Aurora runs on db.t3 and db.t4g (medium, large), db.r* "
                                       "and db.x2g classes, not ",
                                       p.instance_class));
    }
  }
  return absl::OkStatus();
}

absl::Status ReadStorage(const sdk::Fields& params, const policy::DatabaseLimits& limits,
                         const policy::Subject& subject, Params& p) {
  const std::string storage_path = JoinPath(params.path(), "storageGiB");
  const std::string max_path = JoinPath(params.path(), "maxStorageGiB");
  if (p.mode == Mode::kAurora) {
    for (std::string_view field : {"storageGiB", "maxStorageGiB"}) {
      if (params.Has(field)) {
        return FieldError(JoinPath(params.path(), field),
                          "only for mode Instance: Aurora storage grows by itself");
      }
    }
    p.storage_gib = 0;
    return absl::OkStatus();
  }
  PLATFORM_ASSIGN_OR_RETURN(p.storage_gib, params.Int("storageGiB", 20));
  if (p.storage_gib < 20 || p.storage_gib > 65536) {
    return FieldError(storage_path, "must be between 20 and 65536 (GiB)");
  }
  const std::int64_t limit = limits.max_storage_gib;
  if (p.storage_gib > limit) {
    return policy::FieldViolation(
        storage_path, sdk::Cat(subject.environment_class, " databases may have at most ", limit,
                               " GiB of storage, not ", p.storage_gib));
  }
  // RDS autoscales only up to a threshold at least 10% above the allocation.
  const std::int64_t min_autoscaling = (p.storage_gib * 11 + 9) / 10;
  if (params.Has("maxStorageGiB")) {
    PLATFORM_ASSIGN_OR_RETURN(p.max_storage_gib, params.Int("maxStorageGiB"));
    if (p.max_storage_gib > limit) {
      return policy::FieldViolation(
          max_path, sdk::Cat(subject.environment_class, " databases may have at most ", limit,
                             " GiB of storage, not ", p.max_storage_gib));
    }
    if (p.max_storage_gib < p.storage_gib) {
      return FieldError(max_path, sdk::Cat("must be at least storageGiB (", p.storage_gib, ")"));
    }
    if (p.max_storage_gib == p.storage_gib) {
      p.max_storage_gib = 0;  // no autoscaling
    } else if (p.max_storage_gib < min_autoscaling) {
      return FieldError(max_path, sdk::Cat("must equal storageGiB (no autoscaling) or be at "
                                           "least 10% more (",
                                           min_autoscaling, "): RDS's smallest threshold"));
    }
    return absl::OkStatus();
  }
  p.max_storage_gib = std::min(2 * p.storage_gib, limit);
  if (p.max_storage_gib < min_autoscaling) p.max_storage_gib = 0;
  return absl::OkStatus();
}

absl::Status ReadNetwork(const sdk::Fields& params, Params& p) {
  PLATFORM_ASSIGN_OR_RETURN(sdk::Fields net, params.Object("network"));
  Network& n = p.network;
  PLATFORM_ASSIGN_OR_RETURN(n.environment, net.String("environment", ""));
  PLATFORM_ASSIGN_OR_RETURN(n.vpc_id, net.String("vpcId", ""));
  PLATFORM_ASSIGN_OR_RETURN(n.vpc_cidr, net.String("vpcCidr", ""));
  PLATFORM_ASSIGN_OR_RETURN(n.subnet_ids,
                            compose::ReadAwsIds(net, "databaseSubnetIds", "subnet-", "subnet"));
  if (!n.vpc_cidr.empty()) {
    absl::StatusOr<Cidr> c = Cidr::Parse(n.vpc_cidr);
    if (!c.ok()) {
      return FieldError(JoinPath(net.path(), "vpcCidr"),
                        sdk::Cat("\"", n.vpc_cidr, "\" is not an IPv4 CIDR block"));
    }
  }
  if (!n.environment.empty()) {
    if (!n.vpc_id.empty() || !n.subnet_ids.empty()) {
      return FieldError(JoinPath(net.path(), "environment"),
                        "give either an environment or vpcId and databaseSubnetIds, not both");
    }
    return absl::OkStatus();
  }
  if (!n.vpc_id.starts_with("vpc-")) {
    return FieldError(JoinPath(net.path(), "vpcId"),
                      n.vpc_id.empty()
                          ? std::string("required unless network.environment names an XEnvironment")
                          : sdk::Cat("\"", n.vpc_id, "\" is not a VPC id (vpc-...)"));
  }
  if (n.subnet_ids.size() < 2) {
    return FieldError(JoinPath(net.path(), "databaseSubnetIds"),
                      "RDS needs at least two database subnets, in different availability zones");
  }
  return absl::OkStatus();
}

absl::Status ReadClients(const sdk::Fields& params, Params& p) {
  const std::string clients_path = JoinPath(params.path(), "clients");
  std::vector<std::string> groups;
  std::vector<std::string> cidrs;
  if (params.Has("clients")) {
    PLATFORM_ASSIGN_OR_RETURN(sdk::Fields clients, params.Object("clients"));
    PLATFORM_ASSIGN_OR_RETURN(
        groups, compose::ReadAwsIds(clients, "securityGroupIds", "sg-", "security group"));
    PLATFORM_ASSIGN_OR_RETURN(cidrs, clients.StringList("cidrBlocks"));
  }
  // A database nobody can reach is a mistake, not a state to keep. In an
  // environment's network the default is its baseline group, which the
  // environment's workloads (its clusters' nodes) join.
  if (groups.empty() && cidrs.empty() && p.network.environment.empty()) {
    return FieldError(clients_path,
                      "at least one security group or CIDR block must be allowed to connect");
  }
  for (std::size_t i = 0; i < groups.size(); ++i) {
    p.clients.push_back({.security_group_id = groups[i],
                         .cidr = "",
                         .path = sdk::Cat(clients_path, ".securityGroupIds[", i, "]"),
                         .resource = sdk::Cat("sgr-", compose::ShortHash(groups[i]))});
  }
  std::set<std::string> seen;
  for (std::size_t i = 0; i < cidrs.size(); ++i) {
    const std::string path = sdk::Cat(clients_path, ".cidrBlocks[", i, "]");
    absl::StatusOr<Cidr> c = Cidr::Parse(cidrs[i]);
    if (!c.ok()) {
      return FieldError(
          path, sdk::Cat("\"", cidrs[i], "\" is not an IPv4 CIDR block with its network address"));
    }
    if (c->prefix() == 0 || !IsPrivate(*c)) {
      return FieldError(path, sdk::Cat(cidrs[i],
                                       " is not a private range (10.0.0.0/8, 172.16.0.0/12, "
                                       "192.168.0.0/16, 100.64.0.0/10): a database is never open "
                                       "to the internet"));
    }
    if (!seen.insert(c->ToString()).second) {
      return FieldError(path, sdk::Cat(cidrs[i], " is listed twice"));
    }
    p.clients.push_back({.security_group_id = "",
                         .cidr = c->ToString(),
                         .path = path,
                         .resource = sdk::Cat("sgr-", compose::ShortHash(c->ToString()))});
  }
  std::set<std::string> resources;
  for (const Client& c : p.clients) {
    if (!resources.insert(c.resource).second) {
      return absl::InternalError(
          sdk::Cat("two clients hash to ", c.resource, "; list ", c.path, " differently"));
    }
  }
  return absl::OkStatus();
}

absl::Status ReadKmsKey(const sdk::Fields& params, Params& p) {
  PLATFORM_ASSIGN_OR_RETURN(p.kms_key_arn, params.String("kmsKeyArn", ""));
  if (p.kms_key_arn.empty()) return absl::OkStatus();
  // arn:PARTITION:kms:REGION:ACCOUNT:key/ID
  const std::vector<std::string> parts = Split(p.kms_key_arn, ':');
  const std::string path = JoinPath(params.path(), "kmsKeyArn");
  if (parts.size() != 6 || !parts[0].starts_with("arn") || !parts[1].starts_with("aws") ||
      parts[2] != "kms" || !parts[5].starts_with("key/") || parts[5].size() <= 4) {
    return FieldError(path, sdk::Cat("\"", p.kms_key_arn, "\" is not a KMS key ARN"));
  }
  if (parts[3] != p.subject.region) {
    return FieldError(
        path, sdk::Cat("the key is in ", parts[3], "; RDS needs a key in ", p.subject.region));
  }
  return absl::OkStatus();
}

// Where the master password lives is chosen when the database is created:
// moving it between a Kubernetes Secret the provider generates and Secrets
// Manager would need a new password set by hand one way, and would leave
// the applications reading the old place the other way.
absl::Status ReadManagedPassword(const sdk::Fields& params, const Running& running, Params& p) {
  PLATFORM_ASSIGN_OR_RETURN(p.managed_password, params.Bool("manageMasterUserPassword", false));
  if (!running.managed_password || *running.managed_password == p.managed_password) {
    return absl::OkStatus();
  }
  return FieldError(
      JoinPath(params.path(), "manageMasterUserPassword"),
      *running.managed_password
          ? std::string("the database keeps its master password in Secrets Manager, chosen when "
                        "it was created; it cannot go back to a generated password Secret (set "
                        "it to true, or create a new database)")
          : std::string("the database's master password is in the Secret the provider "
                        "generated, chosen when it was created; it cannot move to Secrets "
                        "Manager (set it to false, or create a new database)"));
}

}  // namespace

std::string MajorOf(std::string_view engine, std::string_view version) {
  const std::vector<std::string> parts = Split(version, '.');
  if (engine == "postgres") return parts.front();
  if (parts.size() < 2) return "";
  return sdk::Cat(parts[0], ".", parts[1]);
}

std::string_view ClassFamily(std::string_view instance_class) {
  return instance_class.substr(0, instance_class.rfind('.'));
}

absl::Status CheckClientsInVpc(const Params& p) {
  if (p.network.vpc_cidr.empty()) return absl::OkStatus();
  absl::StatusOr<Cidr> vpc = Cidr::Parse(p.network.vpc_cidr);
  if (!vpc.ok()) {
    return FieldError("spec.parameters.network",
                      sdk::Cat("the VPC's block \"", p.network.vpc_cidr, "\" is not a CIDR block"));
  }
  for (const Client& c : p.clients) {
    if (c.cidr.empty()) continue;
    if (!vpc->Contains(*Cidr::Parse(c.cidr))) {
      return FieldError(c.path,
                        sdk::Cat(c.cidr, " is outside the VPC's block ", p.network.vpc_cidr));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Params> ReadParams(const compose::Xr& xr, const Running& running) {
  const std::string_view running_version = running.version;
  Params p;
  p.scope = xr.scope;
  p.subject = xr.subject;
  p.user_tags = xr.user_tags;
  p.parent = xr.composing_environment;
  p.name = p.subject.xr_name;
  const compose::Scope& scope = xr.scope;
  const policy::Policies& policies = *xr.policies;
  const policy::ClassLimits& class_limits = *xr.limits;
  const sdk::Fields& params = xr.params;
  const policy::DatabaseLimits& limits = class_limits.database;
  const policy::Subject& s = p.subject;
  const bool prod = s.environment_class == "prod";

  p.identifier =
      compose::RdsIdentifier(scope.namespaced ? sdk::Cat(scope.namespace_, "-", p.name) : p.name);
  p.secret_namespace =
      scope.namespaced ? std::string()
                       : (s.origin_namespace.empty() ? "crossplane-system" : s.origin_namespace);

  PLATFORM_ASSIGN_OR_RETURN(p.engine, params.Enum("engine", {"postgres", "mysql", "mariadb"}));
  PLATFORM_ASSIGN_OR_RETURN(std::string mode,
                            params.Enum("mode", {"Instance", "Aurora"}, "Instance"));
  p.mode = mode == "Aurora" ? Mode::kAurora : Mode::kInstance;
  if (p.mode == Mode::kAurora && p.engine == "mariadb") {
    return FieldError(JoinPath(params.path(), "mode"),
                      "Aurora runs postgres and mysql only; mariadb needs mode Instance");
  }
  p.port = p.engine == "postgres" ? 5432 : 3306;
  if (!running_version.empty()) p.running_major = MajorOf(p.engine, running_version);
  PLATFORM_RETURN_IF_ERROR(ReadVersion(params, limits, s, p));
  PLATFORM_RETURN_IF_ERROR(ReadInstanceClass(params, limits, s, p));
  PLATFORM_RETURN_IF_ERROR(ReadStorage(params, limits, s, p));

  PLATFORM_ASSIGN_OR_RETURN(p.multi_az, params.Bool("multiAZ", prod || limits.require_multi_az));
  if (limits.require_multi_az && !p.multi_az) {
    return policy::FieldViolation(JoinPath(params.path(), "multiAZ"),
                                  sdk::Cat(s.environment_class,
                                           " databases must survive the loss of a zone: "
                                           "multiAZ must be true"));
  }
  PLATFORM_ASSIGN_OR_RETURN(
      p.deletion_protection,
      params.Bool("deletionProtection", prod || limits.require_deletion_protection));
  if (limits.require_deletion_protection && !p.deletion_protection) {
    return policy::FieldViolation(
        JoinPath(params.path(), "deletionProtection"),
        sdk::Cat(s.environment_class, " databases must have deletion protection"));
  }
  p.final_snapshot = prod;
  if (p.final_snapshot) {
    PLATFORM_ASSIGN_OR_RETURN(std::string uid, xr.fields.String("metadata.uid", ""));
    p.final_snapshot_identifier = compose::FinalSnapshotIdentifier(p.identifier, uid);
  }
  PLATFORM_ASSIGN_OR_RETURN(p.backup_retention_days,
                            params.Int("backupRetentionDays", prod                            ? 14
                                                              : s.environment_class == "test" ? 7
                                                                                              : 1));
  if (p.backup_retention_days < 1 || p.backup_retention_days > 35) {
    return FieldError(JoinPath(params.path(), "backupRetentionDays"), "must be between 1 and 35");
  }
  PLATFORM_ASSIGN_OR_RETURN(p.database_name, params.String("databaseName", "app"));
  {
    const std::string& d = p.database_name;
    const bool ok = !d.empty() && d.size() <= 63 &&
                    absl::ascii_isalpha(static_cast<unsigned char>(d[0])) &&
                    std::all_of(d.begin(), d.end(), [](char c) {
                      return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_';
                    });
    if (!ok) {
      return FieldError(JoinPath(params.path(), "databaseName"),
                        "must be a letter then up to 62 letters, digits or '_'");
    }
  }
  PLATFORM_ASSIGN_OR_RETURN(p.parameters, params.StringMap("parameters"));
  for (const auto& [k, v] : p.parameters) {
    if (k.empty()) {
      return FieldError(JoinPath(params.path(), "parameters"), "parameter names may not be empty");
    }
  }
  PLATFORM_RETURN_IF_ERROR(ReadManagedPassword(params, running, p));
  p.performance_insights = limits.performance_insights;
  p.performance_insights_retention_days = limits.performance_insights_retention_days;
  p.monitoring_interval = limits.monitoring_interval;
  p.log_exports = limits.LogExportsOf(p.rds_engine);
  p.iam_authentication = limits.iam_authentication;
  PLATFORM_RETURN_IF_ERROR(ReadKmsKey(params, p));
  PLATFORM_RETURN_IF_ERROR(ReadNetwork(params, p));
  PLATFORM_RETURN_IF_ERROR(ReadClients(params, p));
  PLATFORM_RETURN_IF_ERROR(CheckClientsInVpc(p));
  p.mandated_security_groups = policies.MandatedSecurityGroups(s.environment_class);
  return p;
}

}  // namespace platform::fn::renderers::xdatabase
