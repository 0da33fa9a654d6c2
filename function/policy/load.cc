// Policies::Load: the input's `policy`, overlaid by an EnvironmentConfig's
// `data.policy`, on top of the built-in defaults. Every value remembers the
// field that set it, so that an error found only once all layers are read
// (a default NAT strategy the class no longer allows) still names a field.
#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "function/network/cidr.h"
#include "function/network/zones.h"
#include "function/policy/defaults.h"
#include "function/policy/policy.h"
#include "function/policy/tags.h"
#include "function/sdk/fields.h"
#include "function/sdk/status_macros.h"
#include "function/sdk/strings.h"

namespace platform::fn::policy {
namespace {

using sdk::FieldError;
using sdk::Fields;
using sdk::JoinPath;
using sdk::Json;

// Where a value comes from; a later layer overrides an earlier one.
enum Layer : int { kDefault = 0, kInput = 1, kEnvironmentConfig = 2 };

// A value and the field that set it (empty for a built-in default).
template <typename T>
struct Setting {
  T value{};
  int layer = kDefault;
  std::string path;
};

struct ClassDraft {
  const internal::ClassDefaults* defaults = nullptr;
  Setting<std::vector<std::string>> allowed_regions;
  Setting<int> max_zones;
  Setting<std::vector<std::string>> allowed_nat;
  Setting<std::string> default_nat;
  Setting<int> min_prefix;
  Setting<int> max_prefix;
  Setting<std::vector<std::string>> security_groups;
  // Cluster limits.
  Setting<std::vector<std::string>> kubernetes_versions;
  Setting<int> max_nodes_per_pool;
  Setting<std::vector<std::string>> endpoint_access;
  Setting<std::vector<std::string>> instance_families;
  std::string upgrade_policy;
  std::vector<std::string> control_plane_logs;
  bool vpc_cni_pod_identity = false;
  // Database limits.
  DatabaseLimits database;
  // Network extras, and the field that last set the flow log destination
  // (named when it lacks a bucket).
  NetworkPolicy network;
  std::string flow_log_destination_path;
  // Replaced as a whole by each layer that sets it.
  Account account;
};

struct Draft {
  std::vector<ClassDraft> classes;  // in kEnvironmentClasses order
  std::vector<AuthorizationRule> rules;
  std::vector<AccountRule> account_rules;
  std::vector<ClusterAccessRule> cluster_access_rules;
  std::map<std::string, std::string> tags;
  std::map<std::string, std::vector<std::string>> region_zones;
};

constexpr std::string_view kPolicyFields[] = {"environmentConfigRef", "tags",        "classes",
                                              "authorization",        "regionZones", "accounts",
                                              "clusterAccess"};
constexpr std::string_view kClassFields[] = {"allowedRegions",
                                             "maxZones",
                                             "allowedNatStrategies",
                                             "defaultNatStrategy",
                                             "minVpcPrefix",
                                             "maxVpcPrefix",
                                             "securityGroupIds",
                                             "cluster",
                                             "database",
                                             "network",
                                             "account"};
constexpr std::string_view kNetworkFields[] = {"gatewayEndpoints", "flowLogs", "managementPath"};
constexpr std::string_view kManagementPathFields[] = {"transitGatewayId", "cidrs"};
// Each management block becomes a route in every private route table, which
// AWS caps at 50 routes (the NAT route and the endpoints' take some).
constexpr std::size_t kMaxManagementCidrs = 20;
constexpr std::string_view kFlowLogFields[] = {"enabled",       "destination",
                                               "retentionDays", "s3BucketArn",
                                               "trafficType",   "maxAggregationInterval"};
constexpr std::string_view kDatabaseFields[] = {"engineVersions",
                                                "instanceFamilies",
                                                "maxStorageGiB",
                                                "requireMultiAZ",
                                                "requireDeletionProtection",
                                                "performanceInsights",
                                                "monitoringInterval",
                                                "logExports",
                                                "iamAuthentication"};
constexpr std::string_view kPerformanceInsightsFields[] = {"enabled", "retentionDays"};
constexpr std::string_view kClusterFields[] = {
    "kubernetesVersions", "maxNodesPerPool",  "endpointAccess",   "instanceFamilies",
    "upgradePolicy",      "controlPlaneLogs", "vpcCniPodIdentity"};
constexpr std::string_view kClusterAccessFields[] = {"name",         "teams",        "classes",
                                                     "principalArn", "accessPolicy", "namespaces"};
constexpr std::string_view kRefFields[] = {"name", "optional"};
constexpr std::string_view kRuleFields[] = {"name", "teams", "namespaces", "classes", "regions"};
constexpr std::string_view kAccountFields[] = {"providerConfig", "clusterIdentity"};
constexpr std::string_view kAccountRuleFields[] = {"name", "teams", "classes", "providerConfig",
                                                   "clusterIdentity"};
constexpr std::string_view kIdentityFields[] = {"kind", "name"};

// The path of `key` below `base`, bracketed when the key holds '.', '[' or
// ']', as Fields shows such keys.
std::string Child(std::string_view base, std::string_view key) {
  if (key.find_first_of(".[]") != std::string_view::npos) return sdk::Cat(base, "[", key, "]");
  return JoinPath(base, key);
}

std::string Item(std::string_view list_path, std::size_t i) {
  return sdk::Cat(list_path, "[", i, "]");
}

template <typename Range>
std::string List(const Range& items) {
  return fmt::format("{}", fmt::join(items, ", "));
}

std::string Quoted(std::string_view s) { return sdk::Cat("\"", s, "\""); }

bool Contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

absl::Status CheckKnownFields(const Fields& object, std::span<const std::string_view> known) {
  const Json& v = object.value();
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (std::find(known.begin(), known.end(), it.key()) == known.end()) {
      return FieldError(Child(object.path(), it.key()),
                        sdk::Cat("unknown field; the fields here are ", List(known)));
    }
  }
  return absl::OkStatus();
}

bool IsLowerAlpha(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

bool IsDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool IsLowerHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool IsDnsChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; }

// An RFC 1123 label: a namespace name.
bool IsDnsLabel(std::string_view s) {
  return !s.empty() && s.size() <= 63 && std::all_of(s.begin(), s.end(), IsDnsChar) &&
         s.front() != '-' && s.back() != '-';
}

// An RFC 1123 subdomain: the name of a cluster-scoped object.
bool IsDnsSubdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = s.find('.', start);
    if (!IsDnsLabel(s.substr(start, dot == std::string_view::npos ? dot : dot - start))) {
      return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// The checks of list items: empty when the item is fine, else the rule.
std::string CheckRegion(std::string_view s) {
  // us-east-1, eu-central-2, us-gov-west-1, ap-southeast-4.
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t dash = s.find('-', start);
    parts.push_back(s.substr(start, dash == std::string_view::npos ? dash : dash - start));
    if (dash == std::string_view::npos) break;
    start = dash + 1;
  }
  bool ok = parts.size() >= 3 && parts.front().size() == 2 && IsLowerAlpha(parts.front()) &&
            IsDigits(parts.back());
  for (std::size_t i = 1; ok && i + 1 < parts.size(); ++i) ok = IsLowerAlpha(parts[i]);
  if (ok) return {};
  return sdk::Cat("must be an AWS region such as eu-west-1, not ", Quoted(s));
}

std::string CheckNat(std::string_view s) {
  if (std::find(std::begin(kNatStrategies), std::end(kNatStrategies), s) !=
      std::end(kNatStrategies)) {
    return {};
  }
  return sdk::Cat("must be one of ", List(kNatStrategies), ", not ", Quoted(s));
}

std::string CheckClassName(std::string_view s) {
  if (internal::DefaultsFor(s) != nullptr) return {};
  return sdk::Cat("must be one of ", List(kEnvironmentClasses), ", not ", Quoted(s));
}

std::string CheckSecurityGroup(std::string_view s) {
  const std::string_view id = s.substr(std::min<std::size_t>(3, s.size()));
  if (s.starts_with("sg-") && (id.size() == 8 || id.size() == 17) && IsLowerHex(id)) return {};
  return sdk::Cat("must be a security group id such as sg-0123456789abcdef0, not ", Quoted(s));
}

std::string CheckKubernetesVersion(std::string_view s) {
  if (std::find(std::begin(kKubernetesVersions), std::end(kKubernetesVersions), s) !=
      std::end(kKubernetesVersions)) {
    return {};
  }
  return sdk::Cat("must be one of ", List(kKubernetesVersions), ", not ", Quoted(s));
}

std::string CheckEndpointAccess(std::string_view s) {
  if (std::find(std::begin(kEndpointAccessModes), std::end(kEndpointAccessModes), s) !=
      std::end(kEndpointAccessModes)) {
    return {};
  }
  return sdk::Cat("must be one of ", List(kEndpointAccessModes), ", not ", Quoted(s));
}

// m6i, t4g, c7gn, u-6tb1 (the part of an instance type before the dot).
std::string CheckInstanceFamily(std::string_view s) {
  if (!s.empty() && s.size() <= 16 && IsLowerAlpha(s.substr(0, 1)) &&
      std::all_of(s.begin(), s.end(), IsDnsChar) && s.find('.') == std::string_view::npos) {
    return {};
  }
  return sdk::Cat("must be an EC2 instance family such as m6i (no size), not ", Quoted(s));
}

// db.t4g, db.r7g, db.x2iedn (the part of an instance class before its size).
std::string CheckDbInstanceFamily(std::string_view s) {
  const std::string_view rest = s.substr(std::min<std::size_t>(3, s.size()));
  if (s.starts_with("db.") && !rest.empty() && rest.size() <= 16 &&
      IsLowerAlpha(rest.substr(0, 1)) && std::all_of(rest.begin(), rest.end(), IsDnsChar)) {
    return {};
  }
  return sdk::Cat("must be an RDS instance class family such as db.r7g (no size), not ", Quoted(s));
}

std::string CheckControlPlaneLog(std::string_view s) {
  if (std::find(std::begin(kControlPlaneLogTypes), std::end(kControlPlaneLogTypes), s) !=
      std::end(kControlPlaneLogTypes)) {
    return {};
  }
  return sdk::Cat("must be one of ", List(kControlPlaneLogTypes), ", not ", Quoted(s));
}

// arn:<partition>:iam::<account>:role/<path/name> or :user/...
std::string CheckIamPrincipal(std::string_view s) {
  const std::string_view rule =
      "must be the ARN of an IAM role or user, arn:aws:iam::<12-digit account>:role/<name>";
  const std::size_t iam = s.find(":iam::");
  if (!s.starts_with("arn:aws") || iam == std::string_view::npos) return std::string(rule);
  const std::string_view partition = s.substr(4, iam - 4);
  if (partition != "aws" && partition != "aws-cn" && partition != "aws-us-gov") {
    return std::string(rule);
  }
  const std::string_view rest = s.substr(iam + 6);
  const std::size_t colon = rest.find(':');
  if (colon != 12 || !IsDigits(rest.substr(0, 12))) return std::string(rule);
  const std::string_view resource = rest.substr(13);
  for (std::string_view type : {"role/", "user/"}) {
    if (resource.starts_with(type) && resource.size() > type.size() && !resource.ends_with('/')) {
      return {};
    }
  }
  return std::string(rule);
}

std::string CheckTeam(std::string_view s) {
  if (!s.empty()) return {};
  return "must not be empty";
}

std::string CheckNamespace(std::string_view s) {
  if (IsDnsLabel(s)) return {};
  if (s.ends_with('*')) {
    const std::string_view prefix = s.substr(0, s.size() - 1);
    if (prefix.size() < 63 && std::all_of(prefix.begin(), prefix.end(), IsDnsChar) &&
        (prefix.empty() || prefix.front() != '-')) {
      return {};
    }
  }
  return sdk::Cat("must be a namespace name, or a prefix ending in *, not ", Quoted(s));
}

using ItemCheck = std::string (*)(std::string_view);

// A list of strings each of which passes `check`, none twice.
absl::StatusOr<std::vector<std::string>> CheckedList(const Fields& f, std::string_view rel,
                                                     ItemCheck check) {
  PLATFORM_ASSIGN_OR_RETURN(std::vector<std::string> items, f.StringList(rel));
  const std::string path = JoinPath(f.path(), rel);
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (std::string why = check(items[i]); !why.empty()) return FieldError(Item(path, i), why);
    for (std::size_t j = 0; j < i; ++j) {
      if (items[j] == items[i]) {
        return FieldError(Item(path, i),
                          sdk::Cat(Quoted(items[i]), " is listed twice, also at [", j, "]"));
      }
    }
  }
  return items;
}

// The account fields of `f` (a class's `account`, or an account rule):
// providerConfig, required, and clusterIdentity, optional.
absl::StatusOr<Account> ReadAccount(const Fields& f) {
  Account a;
  PLATFORM_ASSIGN_OR_RETURN(a.provider_config, f.String("providerConfig"));
  if (!IsDnsSubdomain(a.provider_config)) {
    return FieldError(JoinPath(f.path(), "providerConfig"),
                      sdk::Cat("must be the name of a ProviderConfig (lower case letters, digits, "
                               "'-' and '.'), not ",
                               Quoted(a.provider_config)));
  }
  if (!f.Has("clusterIdentity")) return a;
  PLATFORM_ASSIGN_OR_RETURN(Fields id, f.Object("clusterIdentity"));
  PLATFORM_RETURN_IF_ERROR(CheckKnownFields(id, kIdentityFields));
  PLATFORM_ASSIGN_OR_RETURN(a.identity_kind, id.String("kind"));
  if (std::find(std::begin(kClusterIdentityKinds), std::end(kClusterIdentityKinds),
                a.identity_kind) == std::end(kClusterIdentityKinds)) {
    return FieldError(JoinPath(id.path(), "kind"),
                      sdk::Cat("must be one of ", List(kClusterIdentityKinds), ", not ",
                               Quoted(a.identity_kind)));
  }
  PLATFORM_ASSIGN_OR_RETURN(a.identity_name, id.String("name"));
  const std::string name_path = JoinPath(id.path(), "name");
  if (a.identity_kind == "AWSClusterControllerIdentity" &&
      a.identity_name != kControllerIdentityName) {
    return FieldError(name_path,
                      sdk::Cat("an AWSClusterControllerIdentity is the singleton named ",
                               kControllerIdentityName, ", not ", Quoted(a.identity_name)));
  }
  if (!IsDnsSubdomain(a.identity_name)) {
    return FieldError(name_path, sdk::Cat("must be the name of an ", a.identity_kind,
                                          " (lower case letters, digits, '-' and '.'), not ",
                                          Quoted(a.identity_name)));
  }
  return a;
}

bool Covers(const std::vector<std::string>& wide, const std::vector<std::string>& narrow) {
  return std::all_of(narrow.begin(), narrow.end(),
                     [&](const std::string& s) { return Contains(wide, s); });
}

absl::Status OverlayList(const Fields& f, std::string_view rel, int layer, ItemCheck check,
                         Setting<std::vector<std::string>>& out) {
  if (!f.Has(rel)) return absl::OkStatus();
  PLATFORM_ASSIGN_OR_RETURN(std::vector<std::string> items, CheckedList(f, rel, check));
  out = {std::move(items), layer, JoinPath(f.path(), rel)};
  return absl::OkStatus();
}

absl::Status OverlayInt(const Fields& f, std::string_view rel, int layer, int lo, int hi,
                        Setting<int>& out) {
  if (!f.Has(rel)) return absl::OkStatus();
  PLATFORM_ASSIGN_OR_RETURN(std::int64_t v, f.Int(rel));
  std::string path = JoinPath(f.path(), rel);
  if (v < lo || v > hi) return FieldError(path, sdk::Cat("must be between ", lo, " and ", hi));
  out = {static_cast<int>(v), layer, std::move(path)};
  return absl::OkStatus();
}

bool Forbidden(const internal::ClassDefaults& d, std::string_view nat) {
  return std::find(d.forbidden_nat_strategies.begin(), d.forbidden_nat_strategies.end(), nat) !=
         d.forbidden_nat_strategies.end();
}

// What every database of the class is observed with. performanceInsights'
// fields each replace the one below; logExports replaces the engines it
// lists (an empty list exports none) and keeps the others.
absl::Status OverlayDatabaseObservability(const Fields& db, DatabaseLimits& d) {
  if (db.Has("performanceInsights")) {
    PLATFORM_ASSIGN_OR_RETURN(Fields pi, db.Object("performanceInsights"));
    PLATFORM_RETURN_IF_ERROR(CheckKnownFields(pi, kPerformanceInsightsFields));
    PLATFORM_ASSIGN_OR_RETURN(d.performance_insights, pi.Bool("enabled", d.performance_insights));
    if (pi.Has("retentionDays")) {
      PLATFORM_ASSIGN_OR_RETURN(std::int64_t days, pi.Int("retentionDays"));
      if (days < 0 || days > 731 || !IsPerformanceInsightsRetention(static_cast<int>(days))) {
        return FieldError(JoinPath(pi.path(), "retentionDays"),
                          sdk::Cat("must be 7, a multiple of 31 up to 713 (months), or 731 "
                                   "(days Performance Insights keeps), not ",
                                   days));
      }
      d.performance_insights_retention_days = static_cast<int>(days);
    }
  }
  if (db.Has("monitoringInterval")) {
    PLATFORM_ASSIGN_OR_RETURN(std::int64_t seconds, db.Int("monitoringInterval"));
    if (std::find(std::begin(kMonitoringIntervals), std::end(kMonitoringIntervals), seconds) ==
        std::end(kMonitoringIntervals)) {
      return FieldError(JoinPath(db.path(), "monitoringInterval"),
                        sdk::Cat("must be one of ", List(kMonitoringIntervals),
                                 " (seconds between enhanced monitoring samples; 0 turns it "
                                 "off), not ",
                                 seconds));
    }
    d.monitoring_interval = static_cast<int>(seconds);
  }
  if (db.Has("logExports")) {
    PLATFORM_ASSIGN_OR_RETURN(Fields le, db.Object("logExports"));
    for (auto it = le.value().begin(); it != le.value().end(); ++it) {
      const std::string path = Child(le.path(), it.key());
      const RdsLogEngine* engine = nullptr;
      for (const RdsLogEngine& e : kRdsLogEngines) {
        if (e.engine == it.key()) engine = &e;
      }
      if (engine == nullptr) {
        std::vector<std::string_view> engines;
        for (const RdsLogEngine& e : kRdsLogEngines) engines.push_back(e.engine);
        return FieldError(path, sdk::Cat("unknown RDS engine; the engines are ", List(engines)));
      }
      PLATFORM_ASSIGN_OR_RETURN(
          std::vector<std::string> logs,
          CheckedList(le, it.key(), [](std::string_view) { return std::string(); }));
      for (std::size_t i = 0; i < logs.size(); ++i) {
        if (std::find(engine->logs.begin(), engine->logs.end(), logs[i]) == engine->logs.end()) {
          return FieldError(Item(path, i), sdk::Cat(it.key(), " exports ", List(engine->logs),
                                                    ", not ", Quoted(logs[i])));
        }
      }
      auto have = std::find_if(d.log_exports.begin(), d.log_exports.end(),
                               [&](const auto& e) { return e.first == it.key(); });
      if (have != d.log_exports.end()) {
        have->second = std::move(logs);
      } else {
        d.log_exports.emplace_back(it.key(), std::move(logs));
      }
    }
  }
  if (db.Has("iamAuthentication")) {
    PLATFORM_ASSIGN_OR_RETURN(d.iam_authentication, db.Bool("iamAuthentication"));
  }
  return absl::OkStatus();
}

// A class's database limits; each field given replaces the one below it.
absl::Status OverlayDatabase(const Fields& db, std::string_view cls, DatabaseLimits& d) {
  PLATFORM_RETURN_IF_ERROR(CheckKnownFields(db, kDatabaseFields));
  if (db.Has("engineVersions")) {
    PLATFORM_ASSIGN_OR_RETURN(Fields ev, db.Object("engineVersions"));
    std::vector<std::pair<std::string, std::vector<std::string>>> engines;
    for (auto it = ev.value().begin(); it != ev.value().end(); ++it) {
      const std::string path = Child(ev.path(), it.key());
      const auto known = internal::KnownDatabaseVersions(it.key());
      if (known.empty()) {
        return FieldError(path,
                          sdk::Cat("unknown engine; the engines are ", List(kDatabaseEngines)));
      }
      PLATFORM_ASSIGN_OR_RETURN(
          std::vector<std::string> versions,
          CheckedList(ev, it.key(), [](std::string_view) { return std::string(); }));
      for (std::size_t i = 0; i < versions.size(); ++i) {
        if (std::find(known.begin(), known.end(), versions[i]) == known.end()) {
          return FieldError(Item(path, i), sdk::Cat("must be one of ", List(known), ", not ",
                                                    Quoted(versions[i])));
        }
      }
      if (!versions.empty()) engines.emplace_back(it.key(), std::move(versions));
    }
    if (engines.empty()) {
      return FieldError(ev.path(), "must allow at least one engine with at least one version");
    }
    d.engine_versions = std::move(engines);
  }
  if (db.Has("instanceFamilies")) {
    PLATFORM_ASSIGN_OR_RETURN(d.instance_families,
                              CheckedList(db, "instanceFamilies", CheckDbInstanceFamily));
  }
  if (db.Has("maxStorageGiB")) {
    PLATFORM_ASSIGN_OR_RETURN(std::int64_t v, db.Int("maxStorageGiB"));
    if (v < internal::kMinStorageGib || v > internal::kMaxStorageGib) {
      return FieldError(JoinPath(db.path(), "maxStorageGiB"),
                        sdk::Cat("must be between ", internal::kMinStorageGib, " and ",
                                 internal::kMaxStorageGib));
    }
    d.max_storage_gib = static_cast<int>(v);
  }
  for (auto [field, value] :
       {std::pair{"requireMultiAZ", &d.require_multi_az},
        std::pair{"requireDeletionProtection", &d.require_deletion_protection}}) {
    if (!db.Has(field)) continue;
    PLATFORM_ASSIGN_OR_RETURN(bool v, db.Bool(field));
    if (!v && cls == "prod") {
      return FieldError(JoinPath(db.path(), field), "prod databases always require it");
    }
    *value = v;
  }
  return OverlayDatabaseObservability(db, d);
}

std::string CheckGatewayEndpoint(std::string_view s) {
  for (std::string_view known : kGatewayEndpointServices) {
    if (s == known) return "";
  }
  return sdk::Cat("must be one of ", List(kGatewayEndpointServices), ", not ", Quoted(s));
}

// arn:<partition>:s3:::<bucket>[/<prefix>], as a flow log's destination.
std::string CheckS3BucketArn(std::string_view s) {
  const std::string_view rule =
      "must be an S3 bucket ARN, arn:aws:s3:::<bucket> or arn:aws:s3:::<bucket>/<prefix>";
  const std::size_t colons = s.find(":s3:::");
  if (!s.starts_with("arn:aws") || colons == std::string_view::npos) return std::string(rule);
  const std::string_view partition = s.substr(4, colons - 4);
  if (partition != "aws" && partition != "aws-cn" && partition != "aws-us-gov") {
    return std::string(rule);
  }
  const std::string_view rest = s.substr(colons + 6);
  const std::string_view bucket = rest.substr(0, rest.find('/'));
  if (bucket.size() < 3 || bucket.size() > 63) return std::string(rule);
  for (char ch : bucket) {
    if (!IsDnsChar(ch) && ch != '.') return std::string(rule);
  }
  return "";
}

// tgw- and 8 or 17 lower-case hex digits, as AWS makes transit gateway ids.
std::string CheckTransitGatewayId(std::string_view s) {
  const std::string_view id = s.substr(std::min<std::size_t>(4, s.size()));
  if (s.starts_with("tgw-") && (id.size() == 8 || id.size() == 17) && IsLowerHex(id)) return {};
  return sdk::Cat("must be a transit gateway id such as tgw-0123456789abcdef0, not ", Quoted(s));
}

// A management block: routed from every private route table, so never the
// default route, which goes to the NAT gateways.
std::string CheckManagementCidr(std::string_view s) {
  absl::StatusOr<network::Cidr> c = network::Cidr::Parse(s);
  if (!c.ok()) return std::string(c.status().message());
  if (c->prefix() == 0) {
    return "must not be 0.0.0.0/0: the private subnets' default route goes to their NAT gateway";
  }
  return {};
}

// The management path, replaced as a whole by each layer that sets it (a
// gateway of one layer never goes with the blocks of another); null removes
// it.
absl::Status OverlayManagementPath(const Fields& n, NetworkPolicy& out) {
  const Json& v = n.value();
  const auto given = v.find("managementPath");
  if (given == v.end()) return absl::OkStatus();
  if (given->is_null()) {
    out.management_path = ManagementPath();
    return absl::OkStatus();
  }
  PLATFORM_ASSIGN_OR_RETURN(Fields m, n.Object("managementPath"));
  PLATFORM_RETURN_IF_ERROR(CheckKnownFields(m, kManagementPathFields));
  ManagementPath path;
  PLATFORM_ASSIGN_OR_RETURN(path.transit_gateway_id, m.String("transitGatewayId"));
  if (std::string why = CheckTransitGatewayId(path.transit_gateway_id); !why.empty()) {
    return FieldError(JoinPath(m.path(), "transitGatewayId"), why);
  }
  PLATFORM_ASSIGN_OR_RETURN(path.cidrs, CheckedList(m, "cidrs", CheckManagementCidr));
  const std::string cidrs_path = JoinPath(m.path(), "cidrs");
  if (path.cidrs.empty()) {
    return FieldError(cidrs_path,
                      "must list at least one CIDR block of the management network, which the "
                      "environments route to the transit gateway");
  }
  if (path.cidrs.size() > kMaxManagementCidrs) {
    return FieldError(
        cidrs_path,
        sdk::Cat("lists ", path.cidrs.size(), " blocks, more than ", kMaxManagementCidrs,
                 ": each is a route in every private route table, which holds "
                 "at most 50"));
  }
  out.management_path = std::move(path);
  return absl::OkStatus();
}

// A class's network extras; each field given replaces the one below it.
absl::Status OverlayNetwork(const Fields& n, ClassDraft& d) {
  PLATFORM_RETURN_IF_ERROR(CheckKnownFields(n, kNetworkFields));
  NetworkPolicy& out = d.network;
  if (n.Has("gatewayEndpoints")) {
    PLATFORM_ASSIGN_OR_RETURN(out.gateway_endpoints,
                              CheckedList(n, "gatewayEndpoints", CheckGatewayEndpoint));
  }
  PLATFORM_RETURN_IF_ERROR(OverlayManagementPath(n, out));
  if (!n.Has("flowLogs")) return absl::OkStatus();
  PLATFORM_ASSIGN_OR_RETURN(Fields f, n.Object("flowLogs"));
  PLATFORM_RETURN_IF_ERROR(CheckKnownFields(f, kFlowLogFields));
  FlowLogPolicy& logs = out.flow_logs;
  PLATFORM_ASSIGN_OR_RETURN(logs.enabled, f.Bool("enabled", logs.enabled));
  if (f.Has("destination")) {
    PLATFORM_ASSIGN_OR_RETURN(logs.destination, f.Enum("destination", {"CloudWatchLogs", "S3"}));
    d.flow_log_destination_path = JoinPath(f.path(), "destination");
  }
  if (f.Has("retentionDays")) {
    PLATFORM_ASSIGN_OR_RETURN(std::int64_t days, f.Int("retentionDays"));
    const std::span<const int> allowed = internal::CloudWatchRetentionDays();
    if (std::find(allowed.begin(), allowed.end(), days) == allowed.end()) {
      return FieldError(JoinPath(f.path(), "retentionDays"),
                        sdk::Cat("must be a retention CloudWatch Logs accepts (",
                                 fmt::format("{}", fmt::join(allowed, ", ")), "), not ", days));
    }
    logs.retention_days = static_cast<int>(days);
  }
  if (f.Has("s3BucketArn")) {
    PLATFORM_ASSIGN_OR_RETURN(std::string arn, f.String("s3BucketArn"));
    if (std::string why = CheckS3BucketArn(arn); !why.empty()) {
      return FieldError(JoinPath(f.path(), "s3BucketArn"), why);
    }
    logs.s3_bucket_arn = std::move(arn);
  }
  if (f.Has("trafficType")) {
    PLATFORM_ASSIGN_OR_RETURN(logs.traffic_type,
                              f.Enum("trafficType", {"ALL", "ACCEPT", "REJECT"}));
  }
  if (f.Has("maxAggregationInterval")) {
    PLATFORM_ASSIGN_OR_RETURN(std::int64_t seconds, f.Int("maxAggregationInterval"));
    if (seconds != 60 && seconds != 600) {
      return FieldError(JoinPath(f.path(), "maxAggregationInterval"),
                        sdk::Cat("must be 60 or 600 (seconds), not ", seconds));
    }
    logs.max_aggregation_interval = static_cast<int>(seconds);
  }
  return absl::OkStatus();
}

absl::Status OverlayClass(const Fields& c, int layer, ClassDraft& d) {
  PLATFORM_RETURN_IF_ERROR(CheckKnownFields(c, kClassFields));
  const std::string_view cls = d.defaults->environment_class;
  PLATFORM_RETURN_IF_ERROR(OverlayList(c, "allowedRegions", layer, CheckRegion, d.allowed_regions));
  PLATFORM_RETURN_IF_ERROR(
      OverlayInt(c, "maxZones", layer, internal::kMinZones, internal::kMaxZones, d.max_zones));

  if (c.Has("allowedNatStrategies")) {
    Setting<std::vector<std::string>> nat;
    PLATFORM_RETURN_IF_ERROR(OverlayList(c, "allowedNatStrategies", layer, CheckNat, nat));
    if (nat.value.empty()) {
      return FieldError(nat.path, sdk::Cat("must allow at least one of ", List(kNatStrategies)));
    }
    for (std::size_t i = 0; i < nat.value.size(); ++i) {
      if (Forbidden(*d.defaults, nat.value[i])) {
        return FieldError(Item(nat.path, i),
                          sdk::Cat(cls, " environments may never use NAT strategy ", nat.value[i]));
      }
    }
    d.allowed_nat = std::move(nat);
  }
  if (c.Has("defaultNatStrategy")) {
    PLATFORM_ASSIGN_OR_RETURN(std::string nat,
                              c.Enum("defaultNatStrategy", {"None", "Single", "PerZone"}));
    std::string path = JoinPath(c.path(), "defaultNatStrategy");
    if (Forbidden(*d.defaults, nat)) {
      return FieldError(path, sdk::Cat(cls, " environments may never use NAT strategy ", nat));
    }
    d.default_nat = {std::move(nat), layer, std::move(path)};
  }
  PLATFORM_RETURN_IF_ERROR(OverlayInt(c, "minVpcPrefix", layer, internal::kMinVpcPrefix,
                                      internal::kMaxVpcPrefix, d.min_prefix));
  PLATFORM_RETURN_IF_ERROR(OverlayInt(c, "maxVpcPrefix", layer, internal::kMinVpcPrefix,
                                      internal::kMaxVpcPrefix, d.max_prefix));
  PLATFORM_RETURN_IF_ERROR(
      OverlayList(c, "securityGroupIds", layer, CheckSecurityGroup, d.security_groups));
  if (c.Has("cluster")) {
    PLATFORM_ASSIGN_OR_RETURN(Fields k, c.Object("cluster"));
    PLATFORM_RETURN_IF_ERROR(CheckKnownFields(k, kClusterFields));
    PLATFORM_RETURN_IF_ERROR(
        OverlayList(k, "kubernetesVersions", layer, CheckKubernetesVersion, d.kubernetes_versions));
    if (k.Has("kubernetesVersions") && d.kubernetes_versions.value.empty()) {
      return FieldError(d.kubernetes_versions.path,
                        sdk::Cat("must allow at least one of ", List(kKubernetesVersions)));
    }
    PLATFORM_RETURN_IF_ERROR(OverlayInt(k, "maxNodesPerPool", layer, internal::kMinNodesPerPool,
                                        internal::kMaxNodesPerPool, d.max_nodes_per_pool));
    PLATFORM_RETURN_IF_ERROR(
        OverlayList(k, "endpointAccess", layer, CheckEndpointAccess, d.endpoint_access));
    if (k.Has("endpointAccess")) {
      if (d.endpoint_access.value.empty()) {
        return FieldError(d.endpoint_access.path,
                          sdk::Cat("must allow at least one of ", List(kEndpointAccessModes)));
      }
      // A production API server is never reachable from the internet alone.
      if (cls == "prod" && Contains(d.endpoint_access.value, "Public")) {
        return FieldError(d.endpoint_access.path,
                          "prod clusters may never use endpoint access Public");
      }
    }
    PLATFORM_RETURN_IF_ERROR(
        OverlayList(k, "instanceFamilies", layer, CheckInstanceFamily, d.instance_families));
    if (k.Has("upgradePolicy")) {
      PLATFORM_ASSIGN_OR_RETURN(d.upgrade_policy,
                                k.Enum("upgradePolicy", {"Standard", "Extended"}));
    }
    if (k.Has("controlPlaneLogs")) {
      PLATFORM_ASSIGN_OR_RETURN(d.control_plane_logs,
                                CheckedList(k, "controlPlaneLogs", CheckControlPlaneLog));
    }
    PLATFORM_ASSIGN_OR_RETURN(d.vpc_cni_pod_identity,
                              k.Bool("vpcCniPodIdentity", d.vpc_cni_pod_identity));
  }
  if (c.Has("database")) {
    PLATFORM_ASSIGN_OR_RETURN(Fields db, c.Object("database"));
    PLATFORM_RETURN_IF_ERROR(OverlayDatabase(db, cls, d.database));
  }
  if (c.Has("network")) {
    PLATFORM_ASSIGN_OR_RETURN(Fields n, c.Object("network"));
    PLATFORM_RETURN_IF_ERROR(OverlayNetwork(n, d));
  }
  if (c.Has("account")) {
    // One account is one whole: an identity of one layer never goes with
    // the ProviderConfig of another.
    PLATFORM_ASSIGN_OR_RETURN(Fields a, c.Object("account"));
    PLATFORM_RETURN_IF_ERROR(CheckKnownFields(a, kAccountFields));
    PLATFORM_ASSIGN_OR_RETURN(d.account, ReadAccount(a));
  }
  return absl::OkStatus();
}

absl::Status OverlayTags(const Fields& policy, Draft& d) {
  PLATFORM_ASSIGN_OR_RETURN(auto tags, policy.StringMap("tags"));
  const std::string path = JoinPath(policy.path(), "tags");
  for (auto& [key, value] : tags) {
    const std::string at = sdk::Cat(path, "[", key, "]");
    if (key.starts_with(kPlatformTagPrefix)) {
      return FieldError(at, sdk::Cat("keys under ", kPlatformTagPrefix,
                                     " are the platform's own and cannot be set here"));
    }
    if (std::string why = CheckTag(key, value); !why.empty()) return FieldError(at, why);
    d.tags[key] = std::move(value);
  }
  if (d.tags.size() > static_cast<std::size_t>(internal::kMaxExtraTags)) {
    return FieldError(path, sdk::Cat("mandates ", d.tags.size(), " tags in all, more than the ",
                                     internal::kMaxExtraTags,
                                     " that fit beside the platform's own in AWS's 50 per "
                                     "resource"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<AuthorizationRule>> ReadRules(const Fields& policy) {
  PLATFORM_ASSIGN_OR_RETURN(std::vector<Fields> items, policy.ObjectList("authorization"));
  const std::string list_path = JoinPath(policy.path(), "authorization");
  std::vector<AuthorizationRule> rules;
  rules.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    const Fields& f = items[i];
    PLATFORM_RETURN_IF_ERROR(CheckKnownFields(f, kRuleFields));
    AuthorizationRule r;
    PLATFORM_ASSIGN_OR_RETURN(r.name, f.String("name"));
    if (r.name.empty()) return FieldError(JoinPath(f.path(), "name"), "must not be empty");
    for (std::size_t j = 0; j < rules.size(); ++j) {
      if (rules[j].name == r.name) {
        return FieldError(
            JoinPath(f.path(), "name"),
            sdk::Cat("rule ", Quoted(r.name), " is defined twice, also at ", Item(list_path, j)));
      }
    }
    PLATFORM_ASSIGN_OR_RETURN(r.teams, CheckedList(f, "teams", CheckTeam));
    PLATFORM_ASSIGN_OR_RETURN(r.namespaces, CheckedList(f, "namespaces", CheckNamespace));
    PLATFORM_ASSIGN_OR_RETURN(r.classes, CheckedList(f, "classes", CheckClassName));
    PLATFORM_ASSIGN_OR_RETURN(r.regions, CheckedList(f, "regions", CheckRegion));
    rules.push_back(std::move(r));
  }
  return rules;
}

// The zone letters the account sees per region; a region listed replaces
// what the layers below said of it.
absl::Status OverlayRegionZones(const Fields& policy, Draft& d) {
  if (!policy.Has("regionZones")) return absl::OkStatus();
  PLATFORM_ASSIGN_OR_RETURN(Fields regions, policy.Object("regionZones"));
  const Json& v = regions.value();
  for (auto it = v.begin(); it != v.end(); ++it) {
    const std::string path = Child(regions.path(), it.key());
    const network::RegionZones* region = network::FindRegion(it.key());
    if (region == nullptr) {
      return FieldError(path, sdk::Cat("unknown AWS region; the known regions are ",
                                       List(network::KnownRegions())));
    }
    if (it.value().is_null()) continue;
    PLATFORM_ASSIGN_OR_RETURN(std::vector<std::string> letters, regions.StringList(it.key()));
    if (letters.empty()) {
      return FieldError(path, sdk::Cat("must list at least one zone letter of ", it.key(), " (",
                                       List(region->letters), ")"));
    }
    for (std::size_t i = 0; i < letters.size(); ++i) {
      if (region->LetterSlot(letters[i]) < 0) {
        return FieldError(Item(path, i),
                          sdk::Cat("must be a zone letter of ", it.key(), " (",
                                   List(region->letters), "), not ", Quoted(letters[i])));
      }
      for (std::size_t j = 0; j < i; ++j) {
        if (letters[j] == letters[i]) {
          return FieldError(Item(path, i),
                            sdk::Cat(Quoted(letters[i]), " is listed twice, also at [", j, "]"));
        }
      }
    }
    if (letters.size() > static_cast<std::size_t>(region->zones_per_account)) {
      return FieldError(path, sdk::Cat("an account sees ", region->zones_per_account, " zones of ",
                                       it.key(), ", not ", letters.size()));
    }
    d.region_zones[it.key()] = std::move(letters);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<AccountRule>> ReadAccountRules(const Fields& policy) {
  PLATFORM_ASSIGN_OR_RETURN(std::vector<Fields> items, policy.ObjectList("accounts"));
  const std::string list_path = JoinPath(policy.path(), "accounts");
  std::vector<AccountRule> rules;
  rules.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    const Fields& f = items[i];
    PLATFORM_RETURN_IF_ERROR(CheckKnownFields(f, kAccountRuleFields));
    AccountRule r;
    PLATFORM_ASSIGN_OR_RETURN(r.name, f.String("name"));
    if (r.name.empty()) return FieldError(JoinPath(f.path(), "name"), "must not be empty");
    for (std::size_t j = 0; j < rules.size(); ++j) {
      if (rules[j].name == r.name) {
        return FieldError(JoinPath(f.path(), "name"),
                          sdk::Cat("account rule ", Quoted(r.name), " is defined twice, also at ",
                                   Item(list_path, j)));
      }
    }
    PLATFORM_ASSIGN_OR_RETURN(r.teams, CheckedList(f, "teams", CheckTeam));
    if (r.teams.empty()) {
      return FieldError(JoinPath(f.path(), "teams"),
                        "must list at least one team; a class's own account is "
                        "classes.<class>.account");
    }
    PLATFORM_ASSIGN_OR_RETURN(r.classes, CheckedList(f, "classes", CheckClassName));
    PLATFORM_ASSIGN_OR_RETURN(r.account, ReadAccount(f));
    // The first rule that matches wins: one that an earlier rule always
    // wins over is a mistake, not a rule.
    for (std::size_t j = 0; j < rules.size(); ++j) {
      const AccountRule& e = rules[j];
      if (Covers(e.teams, r.teams) &&
          (e.classes.empty() || (!r.classes.empty() && Covers(e.classes, r.classes)))) {
        return FieldError(Item(list_path, i),
                          sdk::Cat("account rule ", Quoted(r.name), " never applies: rule ",
                                   Quoted(e.name), " at ", Item(list_path, j),
                                   " comes first and matches all its teams and classes"));
      }
    }
    rules.push_back(std::move(r));
  }
  return rules;
}

absl::StatusOr<std::vector<ClusterAccessRule>> ReadClusterAccess(const Fields& policy) {
  PLATFORM_ASSIGN_OR_RETURN(std::vector<Fields> items, policy.ObjectList("clusterAccess"));
  const std::string list_path = JoinPath(policy.path(), "clusterAccess");
  std::vector<ClusterAccessRule> rules;
  rules.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    const Fields& f = items[i];
    PLATFORM_RETURN_IF_ERROR(CheckKnownFields(f, kClusterAccessFields));
    ClusterAccessRule r;
    PLATFORM_ASSIGN_OR_RETURN(r.name, f.String("name"));
    if (r.name.empty()) return FieldError(JoinPath(f.path(), "name"), "must not be empty");
    for (std::size_t j = 0; j < rules.size(); ++j) {
      if (rules[j].name == r.name) {
        return FieldError(JoinPath(f.path(), "name"),
                          sdk::Cat("cluster access rule ", Quoted(r.name),
                                   " is defined twice, also at ", Item(list_path, j)));
      }
    }
    PLATFORM_ASSIGN_OR_RETURN(r.teams, CheckedList(f, "teams", CheckTeam));
    if (r.teams.empty()) {
      return FieldError(JoinPath(f.path(), "teams"), "must list at least one team");
    }
    PLATFORM_ASSIGN_OR_RETURN(r.classes, CheckedList(f, "classes", CheckClassName));
    PLATFORM_ASSIGN_OR_RETURN(r.principal_arn, f.String("principalArn"));
    if (std::string why = CheckIamPrincipal(r.principal_arn); !why.empty()) {
      return FieldError(JoinPath(f.path(), "principalArn"), why);
    }
    PLATFORM_ASSIGN_OR_RETURN(r.access_policy,
                              f.Enum("accessPolicy", {"ClusterAdmin", "Admin", "Edit", "View"}));
    PLATFORM_ASSIGN_OR_RETURN(r.namespaces, CheckedList(f, "namespaces", [](std::string_view s) {
                                return IsDnsLabel(s)
                                           ? std::string()
                                           : sdk::Cat("must be a namespace name, not ", Quoted(s));
                              }));
    if (r.access_policy == "ClusterAdmin" && !r.namespaces.empty()) {
      return FieldError(JoinPath(f.path(), "namespaces"),
                        "ClusterAdmin applies to the whole cluster; use Admin for namespaces");
    }
    // Two rules that give one principal access to the same cluster would
    // make two access entries for it, which EKS refuses.
    for (std::size_t j = 0; j < rules.size(); ++j) {
      const ClusterAccessRule& e = rules[j];
      const auto overlaps = [](const std::vector<std::string>& a,
                               const std::vector<std::string>& b) {
        return a.empty() || b.empty() || std::any_of(a.begin(), a.end(), [&](const std::string& s) {
                 return Contains(b, s);
               });
      };
      if (e.principal_arn == r.principal_arn &&
          std::any_of(r.teams.begin(), r.teams.end(),
                      [&](const std::string& t) { return Contains(e.teams, t); }) &&
          overlaps(e.classes, r.classes)) {
        return FieldError(JoinPath(f.path(), "principalArn"),
                          sdk::Cat(r.principal_arn, " already has access through rule ",
                                   Quoted(e.name), " at ", Item(list_path, j),
                                   " for some of the same teams and classes; EKS takes one access "
                                   "entry per principal"));
      }
    }
    rules.push_back(std::move(r));
  }
  return rules;
}

// Reads one layer's `policy` object over what the layers below set.
absl::Status Overlay(const Fields& policy, int layer, Draft& d) {
  PLATFORM_RETURN_IF_ERROR(CheckKnownFields(policy, kPolicyFields));
  if (policy.Has("environmentConfigRef")) {
    const std::string path = JoinPath(policy.path(), "environmentConfigRef");
    if (layer != kInput) {
      return FieldError(path, "only the function's input may name an EnvironmentConfig");
    }
    PLATFORM_ASSIGN_OR_RETURN(Fields ref, policy.Object("environmentConfigRef"));
    PLATFORM_RETURN_IF_ERROR(CheckKnownFields(ref, kRefFields));
    PLATFORM_RETURN_IF_ERROR(ref.Bool("optional", false).status());
    PLATFORM_ASSIGN_OR_RETURN(std::string name, ref.String("name"));
    if (!IsDnsSubdomain(name)) {
      return FieldError(JoinPath(path, "name"),
                        sdk::Cat("must be the name of an EnvironmentConfig (lower case letters, "
                                 "digits, '-' and '.'), not ",
                                 Quoted(name)));
    }
  }
  PLATFORM_RETURN_IF_ERROR(OverlayTags(policy, d));
  if (policy.Has("classes")) {
    PLATFORM_ASSIGN_OR_RETURN(Fields classes, policy.Object("classes"));
    const Json& v = classes.value();
    for (auto it = v.begin(); it != v.end(); ++it) {
      const auto pos =
          std::find(std::begin(kEnvironmentClasses), std::end(kEnvironmentClasses), it.key());
      if (pos == std::end(kEnvironmentClasses)) {
        return FieldError(
            Child(classes.path(), it.key()),
            sdk::Cat("unknown environment class; the classes are ", List(kEnvironmentClasses)));
      }
      if (it.value().is_null()) continue;
      PLATFORM_ASSIGN_OR_RETURN(Fields c, classes.Object(it.key()));
      PLATFORM_RETURN_IF_ERROR(OverlayClass(
          c, layer, d.classes[static_cast<std::size_t>(pos - std::begin(kEnvironmentClasses))]));
    }
  }
  if (policy.Has("authorization")) {
    PLATFORM_ASSIGN_OR_RETURN(d.rules, ReadRules(policy));
  }
  PLATFORM_RETURN_IF_ERROR(OverlayRegionZones(policy, d));
  if (policy.Has("accounts")) {
    PLATFORM_ASSIGN_OR_RETURN(d.account_rules, ReadAccountRules(policy));
  }
  if (policy.Has("clusterAccess")) {
    PLATFORM_ASSIGN_OR_RETURN(d.cluster_access_rules, ReadClusterAccess(policy));
  }
  return absl::OkStatus();
}

// The checks between fields of a class, once every layer is read. The field
// set last is named: it is the one that broke the rule.
absl::Status CheckClass(const ClassDraft& c) {
  const std::string_view cls = c.defaults->environment_class;
  if (!Contains(c.allowed_nat.value, c.default_nat.value)) {
    if (c.default_nat.layer >= c.allowed_nat.layer) {
      return FieldError(c.default_nat.path,
                        sdk::Cat("must be one of the allowedNatStrategies of ", cls, " (",
                                 List(c.allowed_nat.value), "), not ", c.default_nat.value));
    }
    return FieldError(
        c.allowed_nat.path,
        sdk::Cat("must include the defaultNatStrategy of ", cls, ", ", c.default_nat.value,
                 c.default_nat.layer == kDefault ? std::string(" (the built-in default)")
                                                 : sdk::Cat(" (set at ", c.default_nat.path, ")"),
                 ", or defaultNatStrategy must be set too"));
  }
  const FlowLogPolicy& logs = c.network.flow_logs;
  if (logs.enabled && logs.destination == "S3" && logs.s3_bucket_arn.empty()) {
    return FieldError(c.flow_log_destination_path,
                      sdk::Cat("flow logs of ", cls,
                               " go to S3, so flowLogs.s3BucketArn must "
                               "name the bucket"));
  }
  if (c.min_prefix.value > c.max_prefix.value) {
    if (c.min_prefix.layer >= c.max_prefix.layer) {
      return FieldError(c.min_prefix.path, sdk::Cat("must not be greater than maxVpcPrefix of ",
                                                    cls, ", ", c.max_prefix.value));
    }
    return FieldError(c.max_prefix.path, sdk::Cat("must not be less than minVpcPrefix of ", cls,
                                                  ", ", c.min_prefix.value));
  }
  return absl::OkStatus();
}

Draft DefaultDraft() {
  Draft d;
  for (std::string_view name : kEnvironmentClasses) {
    const internal::ClassDefaults* defaults = internal::DefaultsFor(name);
    const ClassLimits l = internal::DefaultLimits(*defaults);
    ClassDraft c;
    c.defaults = defaults;
    c.max_zones.value = l.max_zones;
    c.allowed_nat.value = l.allowed_nat_strategies;
    c.default_nat.value = l.default_nat_strategy;
    c.min_prefix.value = l.min_vpc_prefix;
    c.max_prefix.value = l.max_vpc_prefix;
    c.kubernetes_versions.value = l.cluster.kubernetes_versions;
    c.max_nodes_per_pool.value = l.cluster.max_nodes_per_pool;
    c.endpoint_access.value = l.cluster.endpoint_access;
    c.instance_families.value = l.cluster.instance_families;
    c.upgrade_policy = l.cluster.upgrade_policy;
    c.control_plane_logs = l.cluster.control_plane_logs;
    c.vpc_cni_pod_identity = l.cluster.vpc_cni_pod_identity;
    c.database = l.database;
    c.network = l.network;
    d.classes.push_back(std::move(c));
  }
  return d;
}

}  // namespace

std::optional<pb::ResourceSelector> Policies::EnvironmentConfigSelector(const sdk::Json& input) {
  const Fields in(input, "input");
  absl::StatusOr<std::string> name = in.String("policy.environmentConfigRef.name", "");
  if (!name.ok() || !IsDnsSubdomain(*name)) return std::nullopt;
  pb::ResourceSelector selector;
  selector.set_api_version("apiextensions.crossplane.io/v1beta1");
  selector.set_kind("EnvironmentConfig");
  selector.set_match_name(*std::move(name));
  return selector;
}

namespace {

// The context a render in CI passes (crossplane composition render
// --context-values): {"requirePolicy": true} turns a missing optional policy
// into an error. The control plane never sets it.
bool RequiresPolicy(const Json& context) {
  if (!context.is_object()) return false;
  const auto it = context.find(std::string(kRenderContextKey));
  if (it == context.end() || !it->is_object()) return false;
  const auto require = it->find("requirePolicy");
  return require != it->end() && require->is_boolean() && require->get<bool>();
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Policies>> Policies::FromRequest(const sdk::Request& req,
                                                                      sdk::Response& rsp) {
  const sdk::Json& input = req.Input();
  std::optional<std::vector<Json>> configs;
  const sdk::Json* environment_config = nullptr;
  std::string missing;
  if (std::optional<pb::ResourceSelector> selector = EnvironmentConfigSelector(input)) {
    configs = req.RequiredResources(RequirementKey());
    rsp.RequireResources(std::string(RequirementKey()), *selector);
    if (!configs) return nullptr;
    if (configs->empty()) {
      const bool optional = Fields(input, "input")
                                .Bool("policy.environmentConfigRef.optional", false)
                                .value_or(false);
      if (!optional) {
        return FieldError(
            "input.policy.environmentConfigRef.name",
            sdk::Cat("EnvironmentConfig \"", selector->match_name(), "\" does not exist"));
      }
      // An app team's CI asks for the policy it deploys under: a render
      // without it must fail there, not pass on the built-in defaults.
      if (RequiresPolicy(req.Context())) {
        return FieldError(
            "input.policy.environmentConfigRef.name",
            sdk::Cat("EnvironmentConfig \"", selector->match_name(),
                     "\" was not given, and this render requires the platform's policy (context ",
                     kRenderContextKey,
                     ".requirePolicy); pass the stage's policy with --required-resources"));
      }
      // The input's policy and the defaults apply. The PolicyCompliant
      // condition says so for as long as it lasts; a Warning says it once,
      // so a platform team notices a policy it meant to deliver is missing.
      missing = sdk::Cat("EnvironmentConfig \"", selector->match_name(),
                         "\" (input.policy.environmentConfigRef, optional) does not exist; the "
                         "input's policy and the built-in defaults apply");
      if (!req.CompositeHasCondition("PolicyCompliant", "True", "PolicyNotFound", missing)) {
        rsp.Warning("PolicyNotFound", missing);
      }
    } else {
      environment_config = &configs->front();
    }
  }
  return LoadOrReuse(input, environment_config, std::move(missing));
}

absl::StatusOr<std::shared_ptr<const Policies>> Policies::LoadOrReuse(
    const sdk::Json& input, const sdk::Json* environment_config, std::string missing_note) {
  struct Loaded {
    Json input;
    std::optional<Json> environment_config;
    std::string missing_note;
    std::shared_ptr<const Policies> policies;
  };
  // Per thread, so calls share nothing; most recent first.
  constexpr std::size_t kKept = 4;
  thread_local std::vector<Loaded> kept;
  for (auto it = kept.begin(); it != kept.end(); ++it) {
    const bool same_config =
        environment_config == nullptr
            ? !it->environment_config
            : it->environment_config && *it->environment_config == *environment_config;
    if (same_config && it->missing_note == missing_note && it->input == input) {
      std::rotate(kept.begin(), it, it + 1);
      return kept.front().policies;
    }
  }
  absl::StatusOr<Policies> loaded = Load(input, environment_config);
  if (!loaded.ok()) return loaded.status();
  loaded->missing_policy_note_ = missing_note;
  auto policies = std::make_shared<const Policies>(*std::move(loaded));
  if (kept.size() == kKept) kept.pop_back();
  kept.insert(kept.begin(),
              Loaded{input,
                     environment_config == nullptr ? std::nullopt
                                                   : std::optional<Json>(*environment_config),
                     std::move(missing_note), policies});
  return policies;
}

absl::StatusOr<Policies> Policies::Load(const sdk::Json& input,
                                        const sdk::Json* environment_config) {
  Draft d = DefaultDraft();
  const Fields in(input, "input");
  PLATFORM_ASSIGN_OR_RETURN(const Json* policy_json, in.Find("policy"));
  if (policy_json != nullptr) {
    PLATFORM_ASSIGN_OR_RETURN(Fields policy, in.Object("policy"));
    PLATFORM_RETURN_IF_ERROR(Overlay(policy, kInput, d));
  }
  if (environment_config != nullptr) {
    std::string name =
        Fields(*environment_config).String("metadata.name", "").value_or(std::string());
    if (name.empty()) name = "(unnamed)";
    const Fields ec(*environment_config, sdk::Cat("environmentconfig/", name));
    PLATFORM_ASSIGN_OR_RETURN(const Json* ec_policy_json, ec.Find("data.policy"));
    if (ec_policy_json != nullptr) {
      PLATFORM_ASSIGN_OR_RETURN(Fields policy, ec.Object("data.policy"));
      PLATFORM_RETURN_IF_ERROR(Overlay(policy, kEnvironmentConfig, d));
    }
  }
  for (const ClassDraft& c : d.classes) PLATFORM_RETURN_IF_ERROR(CheckClass(c));

  Policies p;
  p.classes_.clear();
  for (ClassDraft& c : d.classes) {
    ClassLimits l;
    l.environment_class = std::string(c.defaults->environment_class);
    l.allowed_regions = std::move(c.allowed_regions.value);
    l.max_zones = c.max_zones.value;
    l.allowed_nat_strategies = std::move(c.allowed_nat.value);
    l.default_nat_strategy = std::move(c.default_nat.value);
    l.min_vpc_prefix = c.min_prefix.value;
    l.max_vpc_prefix = c.max_prefix.value;
    l.security_group_ids = std::move(c.security_groups.value);
    l.cluster.kubernetes_versions = std::move(c.kubernetes_versions.value);
    l.cluster.max_nodes_per_pool = c.max_nodes_per_pool.value;
    l.cluster.endpoint_access = std::move(c.endpoint_access.value);
    l.cluster.instance_families = std::move(c.instance_families.value);
    l.cluster.upgrade_policy = std::move(c.upgrade_policy);
    l.cluster.control_plane_logs = std::move(c.control_plane_logs);
    l.cluster.vpc_cni_pod_identity = c.vpc_cni_pod_identity;
    l.database = std::move(c.database);
    l.network = std::move(c.network);
    l.account = std::move(c.account);
    p.classes_.push_back(std::move(l));
  }
  p.rules_ = std::move(d.rules);
  p.account_rules_ = std::move(d.account_rules);
  p.cluster_access_rules_ = std::move(d.cluster_access_rules);
  p.extra_tags_.assign(std::make_move_iterator(d.tags.begin()),
                       std::make_move_iterator(d.tags.end()));
  p.region_zones_.assign(std::make_move_iterator(d.region_zones.begin()),
                         std::make_move_iterator(d.region_zones.end()));
  return p;
}

}  // namespace platform::fn::policy
