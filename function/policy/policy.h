// The platform team's policies, applied by the function to every XR it
// renders: mutate (mandated tags and security groups), validate (limits per
// environment class), authorize (which teams may create which classes in
// which regions) and place (which AWS account a class or team uses).
//
// Policies come from the pipeline step's input (`policy:` in the Input of
// platform.fn.terraforming.io/v1beta1), optionally overlaid by the `data` of
// an EnvironmentConfig that the input names, which the function reads as a
// required resource. Every value has a default per environment class, so a
// step with no policy input still enforces a sane baseline:
//
//   class    regions  maxZones  NAT allowed            NAT default  VPC prefix
//   dev      any      2         None, Single           Single       /16../20
//   test     any      3         None, Single, PerZone  Single       /16../20
//   sandbox  any      2         None, Single           Single       /16../20
//   prod     any      6         Single, PerZone        PerZone      /16../20
//
// Policy violations are Statuses made by Violation(): the runner turns them
// into a FATAL result plus a False condition on the XR and its claim.
//   Authorize()        -> condition Authorized, reason Denied
//   FieldViolation()   -> condition PolicyCompliant, reason PolicyViolation
#ifndef PLATFORM_FUNCTION_POLICY_POLICY_H_
#define PLATFORM_FUNCTION_POLICY_POLICY_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "function/sdk/proto.h"
#include "function/sdk/request.h"
#include "function/sdk/response.h"
#include "function/sdk/struct_json.h"

namespace platform::fn::policy {

// The environment classes, in the order the defaults list them.
inline constexpr std::string_view kEnvironmentClasses[] = {"dev", "test", "sandbox", "prod"};
// The NAT strategies a class may allow.
inline constexpr std::string_view kNatStrategies[] = {"None", "Single", "PerZone"};

// The Kubernetes versions (MAJOR.MINOR) the XCluster XRD offers, newest
// first: the default is the first, and a class may only ever allow these.
inline constexpr std::string_view kKubernetesVersions[] = {"1.34", "1.33", "1.32", "1.31"};
// The API endpoint access modes the XCluster XRD offers.
inline constexpr std::string_view kEndpointAccessModes[] = {"Private", "PublicAndPrivate",
                                                            "Public"};

// The platform's tag keys. Input tags may not use the prefix.
inline constexpr std::string_view kPlatformTagPrefix = "platform.terraforming.io/";
inline constexpr std::string_view kTagEnvironment = "platform.terraforming.io/environment";
inline constexpr std::string_view kTagTeam = "platform.terraforming.io/team";
inline constexpr std::string_view kTagCostCenter = "platform.terraforming.io/cost-center";
inline constexpr std::string_view kTagManagedBy = "platform.terraforming.io/managed-by";
inline constexpr std::string_view kTagComposite = "platform.terraforming.io/composite";
inline constexpr std::string_view kManagedBy = "function-platform";

// The kinds of CAPA identity a cluster's AWS objects may be reconciled with
// (identityRef of AWSManagedControlPlane and AWSCluster). The controller
// identity is a singleton named kControllerIdentityName.
inline constexpr std::string_view kClusterIdentityKinds[] = {
    "AWSClusterControllerIdentity", "AWSClusterRoleIdentity", "AWSClusterStaticIdentity"};
inline constexpr std::string_view kControllerIdentityName = "default";
// The ProviderConfig every managed resource uses unless the policy maps its
// class or team to another: provider-aws's own default.
inline constexpr std::string_view kDefaultProviderConfig = "default";

// The pipeline context key of a render in CI: {"requirePolicy": true} makes
// a missing optional policy EnvironmentConfig an error (docs/render-in-ci.md).
inline constexpr std::string_view kRenderContextKey = "platform.terraforming.io/render";

// Condition types and reasons of policy violations.
inline constexpr std::string_view kConditionAuthorized = "Authorized";
inline constexpr std::string_view kReasonDenied = "Denied";
inline constexpr std::string_view kConditionCompliant = "PolicyCompliant";
inline constexpr std::string_view kReasonViolation = "PolicyViolation";

// Who asks for what: read from the XR by the renderer.
struct Subject {
  std::string xr_kind;  // e.g. XEnvironment
  std::string xr_name;  // metadata.name
  // The namespace the request came from: the claim's namespace (label
  // crossplane.io/claim-namespace) for claim-based XRs, the XR's own
  // namespace for namespaced XRs; empty for a bare cluster-scoped XR.
  std::string origin_namespace;
  std::string team;               // spec.parameters.team
  std::string environment_class;  // dev | test | sandbox | prod
  std::string region;             // spec.parameters.region
  std::string cost_center;        // spec.parameters.costCenter, may be empty
};

// What a cluster (XCluster) of an environment class may have. Defaults:
//
//   class    Kubernetes   max nodes/pool  endpoint access            instance families
//   dev      1.31..1.34   5               any                        small (see defaults.cc)
//   test     1.31..1.34   10              any                        small
//   sandbox  1.31..1.34   5               any                        small
//   prod     1.32..1.34   100             Private, PublicAndPrivate  any
struct ClusterLimits {
  // MAJOR.MINOR versions allowed, of those the XRD offers.
  std::vector<std::string> kubernetes_versions;
  // Largest maxSize of one node pool.
  int max_nodes_per_pool = 5;
  // Of Private, PublicAndPrivate, Public.
  std::vector<std::string> endpoint_access;
  // EC2 instance families (m6i of m6i.large) allowed; empty allows any.
  std::vector<std::string> instance_families;
  // What EKS does at the end of a version's standard support, of
  // kUpgradePolicies: Standard upgrades the control plane to the next
  // version, Extended keeps it for up to a year more at extended-support
  // prices. Default Extended for prod (no unplanned upgrade of production),
  // Standard for the others (no silent extended-support bill).
  std::string upgrade_policy = "Standard";
  // The control-plane logs EKS sends to CloudWatch Logs, of
  // kControlPlaneLogTypes. Default: api, audit and authenticator for prod,
  // none for the others.
  std::vector<std::string> control_plane_logs;
  // The VPC CNI gets its AWS permissions from EKS Pod Identity (its own
  // role) rather than from the nodes' role, as AWS recommends: no pod on a
  // node can then use the CNI's permissions. Default on for prod.
  bool vpc_cni_pod_identity = false;

  bool AllowsVersion(std::string_view version) const;
  bool AllowsEndpointAccess(std::string_view access) const;
  bool AllowsInstanceFamily(std::string_view family) const;
};

// EKS support policies, as the policy spells them.
inline constexpr std::string_view kUpgradePolicies[] = {"Standard", "Extended"};
// The EKS control-plane log types, as the eks Cluster's enabledClusterLogTypes
// spells them.
inline constexpr std::string_view kControlPlaneLogTypes[] = {"api", "audit", "authenticator",
                                                             "controllerManager", "scheduler"};
// The EKS access policies an access entry may grant (AmazonEKS<name>Policy).
inline constexpr std::string_view kAccessPolicies[] = {"ClusterAdmin", "Admin", "Edit", "View"};

// The database engines the XDatabase XRD offers, and the major versions each
// may ever use (postgres: MAJOR; mysql, mariadb: MAJOR.MINOR).
inline constexpr std::string_view kDatabaseEngines[] = {"postgres", "mysql", "mariadb"};

// What a database (XDatabase) of an environment class may have. Defaults:
//
//   class    postgres      mysql     mariadb       instance families          storage  multi-AZ
//   deletion protection dev      17, 16, 15    8.4, 8.0  11.4, 10.11   db.t4g, db.t3 100 GiB  - -
//   test     17, 16, 15    8.4, 8.0  11.4, 10.11   db.t4g, db.t3, db.m7g, ..  500 GiB  -         -
//   sandbox  17, 16, 15    8.4, 8.0  11.4, 10.11   db.t4g, db.t3              100 GiB  -         -
//   prod     17, 16        8.4, 8.0  11.4          any                        16 TiB   required
//   required
struct DatabaseLimits {
  // Per engine, the major versions allowed; an engine not listed is not.
  std::vector<std::pair<std::string, std::vector<std::string>>> engine_versions;
  // Instance class families (db.r7g of db.r7g.large); empty allows any.
  std::vector<std::string> instance_families;
  int max_storage_gib = 100;
  bool require_multi_az = false;
  bool require_deletion_protection = false;
  // What a database of the class is observed with: not limits the XR may
  // pick within, but what every database of the class gets. Defaults:
  //
  //   class              Performance Insights  enhanced monitoring  log exports  IAM auth
  //   dev, test, sandbox off                   off (0)              none         off
  //   prod               on, 7 days            60 s                 every log    on
  bool performance_insights = false;
  // Days Performance Insights keeps its data: 7, or 31 times 1 to 23, or 731.
  int performance_insights_retention_days = 7;
  // Seconds between enhanced monitoring samples, of kMonitoringIntervals;
  // 0 turns it off.
  int monitoring_interval = 0;
  // Per RDS engine (kRdsLogEngines), the logs exported to CloudWatch Logs;
  // an engine not listed exports none.
  std::vector<std::pair<std::string, std::vector<std::string>>> log_exports;
  // IAM database authentication (beside the master password).
  bool iam_authentication = false;

  // The allowed major versions of `engine`, or nullptr when the engine is not allowed.
  const std::vector<std::string>* VersionsOf(std::string_view engine) const;
  bool AllowsInstanceFamily(std::string_view family) const;
  // The logs `rds_engine` (postgres, aurora-mysql, ...) exports; empty for none.
  std::vector<std::string> LogExportsOf(std::string_view rds_engine) const;
};

// Enhanced monitoring's sampling intervals RDS accepts, in seconds (0: off).
inline constexpr int kMonitoringIntervals[] = {0, 1, 5, 10, 15, 30, 60};
// The RDS engines whose CloudWatch log exports a class sets, and the logs
// each can export.
struct RdsLogEngine {
  std::string_view engine;
  std::span<const std::string_view> logs;
};
inline constexpr std::string_view kPostgresLogs[] = {"postgresql", "upgrade"};
inline constexpr std::string_view kMysqlLogs[] = {"audit", "error", "general", "slowquery"};
inline constexpr std::string_view kAuroraPostgresLogs[] = {"postgresql"};
inline constexpr RdsLogEngine kRdsLogEngines[] = {{"postgres", kPostgresLogs},
                                                  {"mysql", kMysqlLogs},
                                                  {"mariadb", kMysqlLogs},
                                                  {"aurora-postgresql", kAuroraPostgresLogs},
                                                  {"aurora-mysql", kMysqlLogs}};
// Whether Performance Insights keeps its data `days`: 7 (the free tier),
// a multiple of 31 up to 713 (months), or 731 (two years).
bool IsPerformanceInsightsRetention(int days);

// The gateway VPC endpoints an environment may have.
inline constexpr std::string_view kGatewayEndpointServices[] = {"s3", "dynamodb"};
// Where VPC flow logs go.
inline constexpr std::string_view kFlowLogDestinations[] = {"CloudWatchLogs", "S3"};
// What flow logs capture.
inline constexpr std::string_view kFlowLogTrafficTypes[] = {"ALL", "ACCEPT", "REJECT"};

// VPC flow logs of a class's environments. Defaults: on for prod (to
// CloudWatch Logs, kept 365 days), off for the others (30 days when turned
// on).
struct FlowLogPolicy {
  bool enabled = false;
  std::string destination = "CloudWatchLogs";  // of kFlowLogDestinations
  // Days CloudWatch Logs keeps them: one of the values CloudWatch accepts.
  int retention_days = 30;
  // The bucket (arn:aws:s3:::name, optionally /prefix) for destination S3,
  // typically a central log-archive bucket; empty otherwise.
  std::string s3_bucket_arn;
  std::string traffic_type = "ALL";    // of kFlowLogTrafficTypes
  int max_aggregation_interval = 600;  // seconds: 60 or 600
};

// How the management cluster (Cluster API core and CAPA) reaches the
// private API endpoints of a class's clusters: a transit gateway the
// platform team shares with the class's accounts, and the management
// network's CIDR blocks behind it. Each environment attaches its VPC to the
// gateway and routes the blocks there; each Cluster API cluster admits them
// on its endpoint. Unset by default: Cluster API clusters of the class then
// cannot have a Private endpoint, which nothing outside their VPC reaches.
struct ManagementPath {
  std::string transit_gateway_id;  // tgw-...
  // IPv4 blocks, none twice, none 0.0.0.0/0; at least one when set.
  std::vector<std::string> cidrs;

  bool configured() const { return !transit_gateway_id.empty(); }
};

// What the network of a class's environments carries beside subnets and
// routes. Defaults: an S3 gateway endpoint everywhere, flow logs as above,
// no management path.
struct NetworkPolicy {
  // Services reached through gateway endpoints associated with every
  // private and database route table, of kGatewayEndpointServices.
  std::vector<std::string> gateway_endpoints = {"s3"};
  FlowLogPolicy flow_logs;
  ManagementPath management_path;
};

// The AWS account (and credential) an XR's resources are made in: the
// provider-aws config its managed resources name, and the CAPA identity its
// Cluster API objects name. Default: ProviderConfig "default", no identity
// (CAPA's controller credentials), as without a policy.
struct Account {
  // spec.providerConfigRef.name of every AWS managed resource: a
  // ProviderConfig (aws.upbound.io) for cluster-scoped kinds, a
  // ClusterProviderConfig (aws.m.upbound.io) for namespaced ones.
  std::string provider_config = std::string(kDefaultProviderConfig);
  // spec.identityRef of the CAPA objects that take one; no identityRef when
  // the kind is empty.
  std::string identity_kind;
  std::string identity_name;

  bool HasIdentity() const { return !identity_kind.empty(); }
  friend bool operator==(const Account&, const Account&) = default;
};

// An account rule: XRs of any of `teams` (spec.parameters.team, exactly),
// and of `classes` when it is not empty, are made in `account`.
struct AccountRule {
  std::string name;  // unique, e.g. "payments-prod"
  std::vector<std::string> teams;
  std::vector<std::string> classes;
  Account account;
};

// What an environment class may have. Defaults per class; the input and the
// EnvironmentConfig may override any field of any class. Load() guarantees:
// 1 <= max_zones <= 6; 16 <= min_vpc_prefix <= max_vpc_prefix <= 28;
// allowed_nat_strategies is non-empty and holds default_nat_strategy; prod
// never allows None.
struct ClassLimits {
  std::string environment_class;
  // Regions this class may use; empty means any region.
  std::vector<std::string> allowed_regions;
  int max_zones = 3;
  // NAT strategies this class may use, of None, Single, PerZone.
  std::vector<std::string> allowed_nat_strategies;
  // The NAT strategy used when the XR does not choose one.
  std::string default_nat_strategy;
  // Smallest and largest VPC prefix length allowed (e.g. 16 and 20).
  int min_vpc_prefix = 16;
  int max_vpc_prefix = 20;
  // Security group ids (sg-...) every workload of the class must carry; empty
  // by default.
  std::vector<std::string> security_group_ids;
  // What its clusters may have.
  ClusterLimits cluster;
  // What its databases may have.
  DatabaseLimits database;
  // What its networks carry.
  NetworkPolicy network;
  // The account its XRs are made in unless an account rule says otherwise.
  Account account;

  bool AllowsRegion(std::string_view region) const;
  bool AllowsNatStrategy(std::string_view strategy) const;
};

// An authorization rule: members of `teams` (or origin namespaces matching
// `namespaces`; an entry ending in `*` matches by prefix) may create XRs of
// `classes` in `regions`. A rule whose `teams` and `namespaces` are both
// empty applies to everyone; an empty `classes` or `regions` allows any.
//
// Rules add up, as RBAC roles do: a subject is allowed when any rule that
// applies to its team or namespace allows the class in the region. A subject
// no rule applies to is denied when any rule exists, and allowed when there
// are no rules at all.
struct AuthorizationRule {
  std::string name;  // named in denials, e.g. "payments-nonprod"
  std::vector<std::string> teams;
  std::vector<std::string> namespaces;
  std::vector<std::string> classes;
  std::vector<std::string> regions;
};

// A cluster access rule: every EKS cluster of `teams` (and of `classes`
// when it is not empty) gives `principal_arn` an access entry with
// `access_policy`, cluster-wide or in `namespaces`. Typically each team's
// own IAM role, with Edit in prod and Admin elsewhere. Every rule that
// matches applies.
struct ClusterAccessRule {
  std::string name;  // unique, e.g. "payments-prod"
  std::vector<std::string> teams;
  std::vector<std::string> classes;
  std::string principal_arn;           // an IAM role or user
  std::string access_policy = "View";  // of kAccessPolicies
  std::vector<std::string> namespaces;
};

class Policies {
 public:
  // The selector of the EnvironmentConfig the input names under
  // `policy.environmentConfigRef.name`, to be asked for as a required
  // resource under RequirementKey(); nullopt when the input names none (or
  // names it so badly that Load() reports the error).
  static std::optional<pb::ResourceSelector> EnvironmentConfigSelector(const sdk::Json& input);
  static constexpr std::string_view RequirementKey() { return "platform-policy"; }

  // Reads the policies from the step input (the whole Input object, as
  // Request::Input() returns it) and, when given, an EnvironmentConfig whose
  // `data.policy` overlays the input's `policy` field by field: a class's
  // fields replace the input's (a class's `account` as a whole),
  // `authorization` and `accounts` replace the input's lists when present,
  // `tags` merge (the EnvironmentConfig wins), a region's `regionZones`
  // replace the input's for that region. Errors name the field and the rule,
  // e.g. "input.policy.classes.prod.maxZones: must be between 1 and 6" or
  // "environmentconfig/<name>.data.policy.tags[x]: ...".
  // Unknown fields are errors, so a typo does not silently weaken a policy.
  static absl::StatusOr<Policies> Load(const sdk::Json& input, const sdk::Json* environment_config);

  // Load() from a RunFunction call: the step input and, when the input names
  // one, the EnvironmentConfig Crossplane provides as a required resource
  // (asked for on every call, so the requirements stay the same). nullptr
  // while Crossplane has not provided it yet: it calls again at once, so the
  // renderer returns without composing. An EnvironmentConfig that does not
  // exist is an error naming input.policy.environmentConfigRef.name, unless
  // the reference says `optional: true`: then the input's policy and the
  // defaults apply, missing_policy_note() says so, and a Warning result says
  // it when the XR's PolicyCompliant condition does not yet.
  //
  // Crossplane calls with the same input and EnvironmentConfig again and
  // again, so each thread keeps the policies of the last few distinct ones
  // it loaded and hands them out again while both are equal (the built-in
  // defaults and every overlay and check of Load() cost more than the rest
  // of a small XR's render). Errors are not kept: they are found again.
  static absl::StatusOr<std::shared_ptr<const Policies>> FromRequest(const sdk::Request& req,
                                                                     sdk::Response& rsp);

  // The built-in defaults alone, as Load() of an empty input gives them.
  Policies();

  // Set by FromRequest() when the input names an optional EnvironmentConfig
  // that does not exist: what applies instead. Empty otherwise.
  const std::string& missing_policy_note() const { return missing_policy_note_; }

  // The limits for an environment class (dev, test, sandbox, prod). An
  // unknown class gets limits that allow no zones, NAT or VPC at all.
  const ClassLimits& Limits(std::string_view environment_class) const;

  // OK, or PermissionDenied made by Violation() (condition Authorized, reason
  // Denied) whose message names the subject and the rules that applied, e.g.
  // `team "web" (namespace "web-dev") may not create prod XEnvironments in
  // us-east-1: rule "web-nonprod" allows classes dev, test in any region`,
  // or `...: no rule matches team "web" / namespace "web-dev"`.
  absl::Status Authorize(const Subject& subject) const;

  // The tags every taggable resource must carry: environment, team,
  // cost-center (when set), managed-by, the XR's name, plus the input's extra
  // mandated tags. Keys under platform.terraforming.io/ are the platform's.
  sdk::Json MandatedTags(const Subject& subject) const;

  // The account the subject's resources are made in: the first rule of
  // `accounts` that lists its team (and, when the rule lists classes, its
  // class); else its class's `account`; else the default (Account).
  const Account& AccountFor(const Subject& subject) const;

  // Names AccountFor(subject) on every desired composed resource in `rsp`:
  // spec.providerConfigRef {name} on cluster-scoped AWS managed resources
  // (API group *.aws.upbound.io), {kind: ClusterProviderConfig, name} on
  // namespaced ones (*.aws.m.upbound.io), always, the default included; and
  // spec.identityRef {kind, name} on the CAPA objects that take one
  // (AWSManagedControlPlane, AWSCluster) when the account has an identity.
  // The policy's values win over any already there; other objects are left
  // alone.
  void ApplyAccount(const Subject& subject, sdk::Response& rsp) const;

  // AWS's 50 tags per resource, counting the mandated ones. With `rsp`, the
  // most tags any desired AWS resource carries (ApplyMandatedTags done);
  // without, the XR's `user_tags` and the mandated tags alone, which every
  // taggable resource carries: a cheap refusal before composing anything.
  // Otherwise a FieldError on `tags_path` (the XR's spec.parameters.tags)
  // that counts where the tags come from, e.g. "spec.parameters.tags: 44
  // tags here, 5 mandated by the platform and 2 of its own make 51 on
  // Subnet subnet-public-a; AWS allows 50 per resource, so at most 43 can be
  // set here".
  absl::Status CheckTagCount(const Subject& subject, const sdk::Json& user_tags,
                             const sdk::Response* rsp, std::string_view tags_path) const;

  // The cluster access rules that apply to the subject's team and class,
  // in the order the policy lists them.
  std::vector<const ClusterAccessRule*> ClusterAccessFor(const Subject& subject) const;

  // Security group ids the class mandates on every workload (attached by the
  // XCluster and XDatabase renderers).
  const std::vector<std::string>& MandatedSecurityGroups(std::string_view environment_class) const;

  // Sets the mandated tags on spec.forProvider.tags of every desired composed
  // resource in `rsp` that is an AWS managed resource (API group
  // *.aws.upbound.io or *.aws.m.upbound.io) of a taggable kind (all but a
  // few, such as Route, RouteTableAssociation, SecurityGroupRule,
  // RolePolicyAttachment, ClusterAuth, BucketVersioning); mandated tags win
  // over tags of the same key already there. Other objects are left alone.
  void ApplyMandatedTags(const Subject& subject, sdk::Response& rsp) const;

  // False for the few AWS kinds that have no tags (see ApplyMandatedTags).
  static bool IsTaggableKind(std::string_view kind);

  const std::vector<AuthorizationRule>& authorization_rules() const { return rules_; }
  const std::vector<AccountRule>& account_rules() const { return account_rules_; }
  const std::vector<ClusterAccessRule>& cluster_access_rules() const {
    return cluster_access_rules_;
  }
  // The input's extra mandated tags after the overlay, in key order.
  const std::vector<std::pair<std::string, std::string>>& extra_tags() const { return extra_tags_; }

  // The zone letters this platform's account sees in `region`, in the order
  // `regionZones` lists them, or nullptr when the policy says nothing of the
  // region (then every letter of the zone table counts, network/zones.h).
  // Load() guarantees a region of the zone table, letters of that region,
  // at least one, none twice, and no more than one account sees there.
  const std::vector<std::string>* AccountZones(std::string_view region) const;
  // Every region the policy lists zones for, with its letters, in region order.
  const std::vector<std::pair<std::string, std::vector<std::string>>>& region_zones() const {
    return region_zones_;
  }

 private:
  // Load(), or the policies this thread loaded last from the same input,
  // EnvironmentConfig and note.
  static absl::StatusOr<std::shared_ptr<const Policies>> LoadOrReuse(
      const sdk::Json& input, const sdk::Json* environment_config, std::string missing_note);

  std::vector<ClassLimits> classes_;
  std::vector<AuthorizationRule> rules_;
  std::vector<AccountRule> account_rules_;
  std::vector<ClusterAccessRule> cluster_access_rules_;
  std::vector<std::pair<std::string, std::string>> extra_tags_;
  std::vector<std::pair<std::string, std::vector<std::string>>> region_zones_;
  std::string missing_policy_note_;
};

// A policy violation: sdk::ErrorWithCondition, which the runner turns into a FATAL result
// and a False condition of `condition_type` with `reason` (both PascalCase;
// the type not one of Crossplane's own) on the XR and its claim. An OK `code`
// is taken as FailedPrecondition: a violation is never OK.
absl::Status Violation(absl::StatusCode code, std::string_view condition_type,
                       std::string_view reason, std::string_view message);

// A limit of the class broken by a field of the XR: FailedPrecondition
// "<path>: <rule>" with condition PolicyCompliant, reason PolicyViolation.
absl::Status FieldViolation(std::string_view path, std::string_view rule);

// The condition a violation carries: sdk::ConditionOf (function/sdk/errors.h).

}  // namespace platform::fn::policy

#endif  // PLATFORM_FUNCTION_POLICY_POLICY_H_
