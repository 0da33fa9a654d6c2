// Policies: the defaults per class, the input and EnvironmentConfig overlay,
// every load error naming its field, authorization, mandated tags, and
// violations as Statuses that carry a condition.
#include "function/policy/policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/cord.h"
#include "function/network/zones.h"
#include "function/sdk/errors.h"
#include "function/sdk/request.h"
#include "function/sdk/response.h"
#include "function/sdk/strings.h"
#include "function/sdk/struct_json.h"
#include "function/testing/proto_test_util.h"

namespace platform::fn::policy {
namespace {

using ::platform::fn::testing::CaseName;
using ::platform::fn::testing::EqualsProto;
using ::platform::fn::testing::FromJson;
using sdk::Json;
using ::testing::ElementsAre;
using ::testing::Pair;

// A ClassLimits as JSON, so that a case states all of it in one line.
Json ToJson(const ClassLimits& l) {
  return Json{{"class", l.environment_class},
              {"allowedRegions", l.allowed_regions},
              {"maxZones", l.max_zones},
              {"allowedNatStrategies", l.allowed_nat_strategies},
              {"defaultNatStrategy", l.default_nat_strategy},
              {"minVpcPrefix", l.min_vpc_prefix},
              {"maxVpcPrefix", l.max_vpc_prefix},
              {"securityGroupIds", l.security_group_ids}};
}

// An Input object with `policy` set to `policy_json` (none when empty).
Json Input(const std::string& policy_json) {
  Json input = {{"apiVersion", "platform.fn.terraforming.io/v1beta1"}, {"kind", "Input"}};
  if (!policy_json.empty()) input["policy"] = Json::parse(policy_json);
  return input;
}

// An EnvironmentConfig named platform-policy with `data.policy` set to
// `policy_json`.
Json EnvironmentConfig(const std::string& policy_json) {
  return Json{{"apiVersion", "apiextensions.crossplane.io/v1beta1"},
              {"kind", "EnvironmentConfig"},
              {"metadata", {{"name", "platform-policy"}}},
              {"data", {{"policy", Json::parse(policy_json)}, {"other", "kept out of it"}}}};
}

// Loads from an input policy and, when `ec_policy` is non-empty, an
// EnvironmentConfig's.
absl::StatusOr<Policies> LoadFrom(const std::string& input_policy, const std::string& ec_policy) {
  const Json input = Input(input_policy);
  if (ec_policy.empty()) return Policies::Load(input, nullptr);
  const Json ec = EnvironmentConfig(ec_policy);
  return Policies::Load(input, &ec);
}

// --- Defaults per class -------------------------------------------------------------

struct DefaultsCase {
  std::string name;
  std::string want;  // ToJson of the class's limits
};

void PrintTo(const DefaultsCase& c, std::ostream* os) { *os << c.name; }

class PolicyDefaultsTest : public ::testing::TestWithParam<DefaultsCase> {};

TEST_P(PolicyDefaultsTest, WithoutInput) {
  const DefaultsCase& c = GetParam();
  const Json want = Json::parse(c.want);
  // Built-in, from an input with no policy, from an empty input, and from an
  // empty policy: all the same.
  EXPECT_EQ(ToJson(Policies().Limits(c.name)), want);
  for (const Json& input : {Input(""), Json::object(), Input("{}"), Input("null")}) {
    SCOPED_TRACE(input.dump());
    absl::StatusOr<Policies> p = Policies::Load(input, nullptr);
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_EQ(ToJson(p->Limits(c.name)), want);
    EXPECT_TRUE(p->MandatedSecurityGroups(c.name).empty());
    EXPECT_TRUE(p->authorization_rules().empty());
    EXPECT_TRUE(p->extra_tags().empty());
  }
}

INSTANTIATE_TEST_SUITE_P(
    Policy, PolicyDefaultsTest,
    ::testing::Values(DefaultsCase{"dev", R"({"class": "dev", "allowedRegions": [], "maxZones": 2,
          "allowedNatStrategies": ["None", "Single"], "defaultNatStrategy": "Single",
          "minVpcPrefix": 16, "maxVpcPrefix": 20, "securityGroupIds": []})"},
                      DefaultsCase{"test", R"({"class": "test", "allowedRegions": [], "maxZones": 3,
          "allowedNatStrategies": ["None", "Single", "PerZone"], "defaultNatStrategy": "Single",
          "minVpcPrefix": 16, "maxVpcPrefix": 20, "securityGroupIds": []})"},
                      DefaultsCase{"sandbox",
                                   R"({"class": "sandbox", "allowedRegions": [], "maxZones": 2,
          "allowedNatStrategies": ["None", "Single"], "defaultNatStrategy": "Single",
          "minVpcPrefix": 16, "maxVpcPrefix": 20, "securityGroupIds": []})"},
                      DefaultsCase{"prod", R"({"class": "prod", "allowedRegions": [], "maxZones": 6,
          "allowedNatStrategies": ["Single", "PerZone"], "defaultNatStrategy": "PerZone",
          "minVpcPrefix": 16, "maxVpcPrefix": 20, "securityGroupIds": []})"}),
    CaseName<DefaultsCase>);

TEST(PolicyLimits, UnknownClassAllowsNothing) {
  const ClassLimits& l = Policies().Limits("staging");
  EXPECT_EQ(l.max_zones, 0);
  EXPECT_TRUE(l.allowed_nat_strategies.empty());
  EXPECT_GT(l.min_vpc_prefix, l.max_vpc_prefix);
  EXPECT_FALSE(l.AllowsNatStrategy("Single"));
}

TEST(PolicyLimits, Allows) {
  absl::StatusOr<Policies> p =
      LoadFrom(R"({"classes": {"prod": {"allowedRegions": ["eu-west-1", "eu-central-1"]}}})", "");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->Limits("prod").AllowsRegion("eu-central-1"));
  EXPECT_FALSE(p->Limits("prod").AllowsRegion("us-east-1"));
  EXPECT_TRUE(p->Limits("dev").AllowsRegion("us-east-1"));  // empty: any
  EXPECT_TRUE(p->Limits("prod").AllowsNatStrategy("PerZone"));
  EXPECT_FALSE(p->Limits("prod").AllowsNatStrategy("None"));
}

// --- Cluster limits -------------------------------------------------------------------

Json ToJson(const ClusterLimits& l) {
  return {{"kubernetesVersions", l.kubernetes_versions},
          {"maxNodesPerPool", l.max_nodes_per_pool},
          {"endpointAccess", l.endpoint_access},
          {"instanceFamilies", l.instance_families}};
}

TEST(PolicyClusterLimits, Defaults) {
  const Policies p;
  const Json small = {"t3",  "t3a", "t4g", "m5",  "m6a", "m6g", "m6i",
                      "m7g", "m7i", "c6g", "c6i", "c7g", "c7i", "r6i"};
  for (const char* cls : {"dev", "sandbox"}) {
    EXPECT_EQ(ToJson(p.Limits(cls).cluster),
              Json({{"kubernetesVersions", {"1.34", "1.33", "1.32", "1.31"}},
                    {"maxNodesPerPool", 5},
                    {"endpointAccess", {"Private", "PublicAndPrivate", "Public"}},
                    {"instanceFamilies", small}}))
        << cls;
  }
  EXPECT_EQ(p.Limits("test").cluster.max_nodes_per_pool, 10);
  EXPECT_EQ(ToJson(p.Limits("prod").cluster),
            Json({{"kubernetesVersions", {"1.34", "1.33", "1.32"}},
                  {"maxNodesPerPool", 100},
                  {"endpointAccess", {"Private", "PublicAndPrivate"}},
                  {"instanceFamilies", Json::array()}}));
  EXPECT_TRUE(p.Limits("prod").cluster.AllowsInstanceFamily("x2idn"));
  EXPECT_FALSE(p.Limits("dev").cluster.AllowsInstanceFamily("x2idn"));
  EXPECT_FALSE(p.Limits("prod").cluster.AllowsVersion("1.31"));
  EXPECT_FALSE(p.Limits("prod").cluster.AllowsEndpointAccess("Public"));
}

TEST(PolicyClusterLimits, InputThenEnvironmentConfigFieldByField) {
  absl::StatusOr<Policies> p = LoadFrom(
      R"({"classes": {"dev": {"cluster": {"kubernetesVersions": ["1.34", "1.33"],
                                           "maxNodesPerPool": 8}}}})",
      R"({"classes": {"dev": {"cluster": {"maxNodesPerPool": 3, "instanceFamilies": []}},
                      "prod": {"cluster": {"instanceFamilies": ["m7i", "r7i"]}}}})");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(ToJson(p->Limits("dev").cluster),
            Json({{"kubernetesVersions", {"1.34", "1.33"}},
                  {"maxNodesPerPool", 3},
                  {"endpointAccess", {"Private", "PublicAndPrivate", "Public"}},
                  {"instanceFamilies", Json::array()}}));
  EXPECT_EQ(p->Limits("prod").cluster.instance_families, std::vector<std::string>({"m7i", "r7i"}));
  // Other classes keep their defaults.
  EXPECT_EQ(p->Limits("test").cluster.max_nodes_per_pool, 10);
}

// How a class's clusters run: EKS support policy, control-plane logs, the
// VPC CNI's own role. Production by default keeps its version, logs who
// did what and keeps the CNI's permissions off the nodes.
TEST(PolicyClusterOperations, DefaultsAndOverlay) {
  const Policies d;
  for (const char* cls : {"dev", "test", "sandbox"}) {
    EXPECT_EQ(d.Limits(cls).cluster.upgrade_policy, "Standard") << cls;
    EXPECT_TRUE(d.Limits(cls).cluster.control_plane_logs.empty()) << cls;
    EXPECT_FALSE(d.Limits(cls).cluster.vpc_cni_pod_identity) << cls;
  }
  EXPECT_EQ(d.Limits("prod").cluster.upgrade_policy, "Extended");
  EXPECT_EQ(d.Limits("prod").cluster.control_plane_logs,
            std::vector<std::string>({"api", "audit", "authenticator"}));
  EXPECT_TRUE(d.Limits("prod").cluster.vpc_cni_pod_identity);

  absl::StatusOr<Policies> p = LoadFrom(
      R"({"classes": {"dev": {"cluster": {"upgradePolicy": "Extended",
                                           "controlPlaneLogs": ["audit"]}}}})",
      R"({"classes": {"dev": {"cluster": {"vpcCniPodIdentity": true}},
                      "prod": {"cluster": {"controlPlaneLogs": []}}}})");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->Limits("dev").cluster.upgrade_policy, "Extended");
  EXPECT_EQ(p->Limits("dev").cluster.control_plane_logs, std::vector<std::string>({"audit"}));
  EXPECT_TRUE(p->Limits("dev").cluster.vpc_cni_pod_identity);
  EXPECT_TRUE(p->Limits("prod").cluster.control_plane_logs.empty());
  EXPECT_EQ(p->Limits("prod").cluster.upgrade_policy, "Extended");
}

Subject Who(std::string team, std::string ns, std::string cls, std::string region);

// Team access to clusters: every rule that lists the team (and its class,
// when the rule lists classes) applies, in the policy's order.
TEST(PolicyClusterAccess, EveryMatchingRuleApplies) {
  absl::StatusOr<Policies> p = LoadFrom(
      R"({"clusterAccess": [
           {"name": "payments-nonprod", "teams": ["payments"], "classes": ["dev", "test"],
            "principalArn": "arn:aws:iam::123456789012:role/payments", "accessPolicy": "Admin"},
           {"name": "payments-prod", "teams": ["payments"], "classes": ["prod"],
            "principalArn": "arn:aws:iam::123456789012:role/payments", "accessPolicy": "Edit",
            "namespaces": ["payments"]},
           {"name": "sre", "teams": ["payments", "web"],
            "principalArn": "arn:aws:iam::123456789012:role/sre", "accessPolicy": "ClusterAdmin"}]})",
      "");
  ASSERT_TRUE(p.ok()) << p.status();
  auto names = [&](const std::string& team, const std::string& cls) {
    std::vector<std::string> out;
    for (const ClusterAccessRule* r : p->ClusterAccessFor(Who(team, "", cls, "eu-west-1"))) {
      out.push_back(r->name);
    }
    return out;
  };
  EXPECT_EQ(names("payments", "dev"), std::vector<std::string>({"payments-nonprod", "sre"}));
  EXPECT_EQ(names("payments", "prod"), std::vector<std::string>({"payments-prod", "sre"}));
  EXPECT_EQ(names("web", "prod"), std::vector<std::string>({"sre"}));
  EXPECT_TRUE(names("search", "dev").empty());
  EXPECT_TRUE(Policies().ClusterAccessFor(Who("payments", "", "dev", "eu-west-1")).empty());
}

// --- Database limits ------------------------------------------------------------------

TEST(PolicyDatabaseLimits, Defaults) {
  const Policies p;
  const DatabaseLimits& dev = p.Limits("dev").database;
  ASSERT_NE(dev.VersionsOf("postgres"), nullptr);
  EXPECT_EQ(*dev.VersionsOf("postgres"), std::vector<std::string>({"17", "16", "15"}));
  EXPECT_EQ(*dev.VersionsOf("mysql"), std::vector<std::string>({"8.4", "8.0"}));
  EXPECT_EQ(dev.instance_families, std::vector<std::string>({"db.t4g", "db.t3"}));
  EXPECT_EQ(dev.max_storage_gib, 100);
  EXPECT_FALSE(dev.require_multi_az);
  EXPECT_FALSE(dev.require_deletion_protection);
  EXPECT_EQ(p.Limits("test").database.max_storage_gib, 500);
  const DatabaseLimits& prod = p.Limits("prod").database;
  EXPECT_EQ(*prod.VersionsOf("mariadb"), std::vector<std::string>({"11.4"}));
  EXPECT_TRUE(prod.AllowsInstanceFamily("db.x2iedn"));
  EXPECT_FALSE(dev.AllowsInstanceFamily("db.r7g"));
  EXPECT_TRUE(prod.require_multi_az);
  EXPECT_TRUE(prod.require_deletion_protection);
  EXPECT_EQ(p.Limits("staging").database.VersionsOf("postgres"), nullptr);
}

TEST(PolicyDatabaseLimits, InputThenEnvironmentConfig) {
  absl::StatusOr<Policies> p = LoadFrom(
      R"({"classes": {"dev": {"database": {"engineVersions": {"postgres": ["16"], "mysql": []},
                                            "maxStorageGiB": 50}}}})",
      R"({"classes": {"dev": {"database": {"maxStorageGiB": 40, "requireMultiAZ": true}}}})");
  ASSERT_TRUE(p.ok()) << p.status();
  const DatabaseLimits& dev = p->Limits("dev").database;
  EXPECT_EQ(*dev.VersionsOf("postgres"), std::vector<std::string>({"16"}));
  // An engine given no versions, or left out, is not allowed.
  EXPECT_EQ(dev.VersionsOf("mysql"), nullptr);
  EXPECT_EQ(dev.VersionsOf("mariadb"), nullptr);
  EXPECT_EQ(dev.max_storage_gib, 40);
  EXPECT_TRUE(dev.require_multi_az);
  EXPECT_EQ(p->Limits("test").database.max_storage_gib, 500);
}

TEST(PolicyDatabaseObservability, ProdObservesEverythingTheOthersNothing) {
  const Policies p;
  for (std::string_view cls : {"dev", "test", "sandbox"}) {
    SCOPED_TRACE(cls);
    const DatabaseLimits& d = p.Limits(cls).database;
    EXPECT_FALSE(d.performance_insights);
    EXPECT_EQ(d.monitoring_interval, 0);
    EXPECT_TRUE(d.LogExportsOf("postgres").empty());
    EXPECT_FALSE(d.iam_authentication);
  }
  const DatabaseLimits& prod = p.Limits("prod").database;
  EXPECT_TRUE(prod.performance_insights);
  EXPECT_EQ(prod.performance_insights_retention_days, 7);
  EXPECT_EQ(prod.monitoring_interval, 60);
  EXPECT_TRUE(prod.iam_authentication);
  EXPECT_EQ(prod.LogExportsOf("postgres"), std::vector<std::string>({"postgresql", "upgrade"}));
  EXPECT_EQ(prod.LogExportsOf("mariadb"),
            std::vector<std::string>({"audit", "error", "general", "slowquery"}));
  EXPECT_EQ(prod.LogExportsOf("aurora-postgresql"), std::vector<std::string>({"postgresql"}));
  EXPECT_EQ(prod.LogExportsOf("aurora-mysql"),
            std::vector<std::string>({"audit", "error", "general", "slowquery"}));
}

TEST(PolicyDatabaseObservability, InputThenEnvironmentConfig) {
  absl::StatusOr<Policies> p = LoadFrom(
      R"({"classes": {"dev": {"database": {"performanceInsights": {"enabled": true},
                                            "monitoringInterval": 30,
                                            "logExports": {"postgres": ["postgresql"]}}}}})",
      R"({"classes": {"dev": {"database": {"performanceInsights": {"retentionDays": 62},
                                            "iamAuthentication": true}},
                      "prod": {"database": {"logExports": {"mysql": []}}}}})");
  ASSERT_TRUE(p.ok()) << p.status();
  const DatabaseLimits& dev = p->Limits("dev").database;
  // Each field of performanceInsights replaces only itself.
  EXPECT_TRUE(dev.performance_insights);
  EXPECT_EQ(dev.performance_insights_retention_days, 62);
  EXPECT_EQ(dev.monitoring_interval, 30);
  EXPECT_EQ(dev.LogExportsOf("postgres"), std::vector<std::string>({"postgresql"}));
  EXPECT_TRUE(dev.iam_authentication);
  // logExports replaces the engines it lists and keeps the others.
  const DatabaseLimits& prod = p->Limits("prod").database;
  EXPECT_TRUE(prod.LogExportsOf("mysql").empty());
  EXPECT_EQ(prod.LogExportsOf("postgres"), std::vector<std::string>({"postgresql", "upgrade"}));
}

TEST(PolicyDatabaseObservability, PerformanceInsightsRetentions) {
  for (int days : {7, 31, 62, 403, 713, 731}) EXPECT_TRUE(IsPerformanceInsightsRetention(days));
  for (int days : {0, 1, 8, 30, 32, 365, 730, 744, -31}) {
    EXPECT_FALSE(IsPerformanceInsightsRetention(days)) << days;
  }
}

TEST(PolicyNetwork, Defaults) {
  const Policies p;
  for (std::string_view cls : kEnvironmentClasses) {
    SCOPED_TRACE(cls);
    const NetworkPolicy& n = p.Limits(cls).network;
    EXPECT_EQ(n.gateway_endpoints, std::vector<std::string>({"s3"}));
    EXPECT_EQ(n.flow_logs.enabled, cls == "prod");
    EXPECT_EQ(n.flow_logs.retention_days, cls == "prod" ? 365 : 30);
    EXPECT_EQ(n.flow_logs.destination, "CloudWatchLogs");
    EXPECT_EQ(n.flow_logs.traffic_type, "ALL");
    EXPECT_EQ(n.flow_logs.max_aggregation_interval, 600);
  }
}

TEST(PolicyNetwork, InputThenEnvironmentConfigFieldByField) {
  absl::StatusOr<Policies> p = LoadFrom(
      R"({"classes": {"test": {"network": {"gatewayEndpoints": ["s3", "dynamodb"],
                                            "flowLogs": {"enabled": true, "retentionDays": 90}}}}})",
      R"({"classes": {"test": {"network": {"flowLogs": {"destination": "S3",
          "s3BucketArn": "arn:aws:s3:::org-logs"}}}}})");
  ASSERT_TRUE(p.ok()) << p.status();
  const NetworkPolicy& n = p->Limits("test").network;
  EXPECT_EQ(n.gateway_endpoints, std::vector<std::string>({"s3", "dynamodb"}));
  EXPECT_TRUE(n.flow_logs.enabled);
  EXPECT_EQ(n.flow_logs.retention_days, 90);
  EXPECT_EQ(n.flow_logs.destination, "S3");
  EXPECT_EQ(n.flow_logs.s3_bucket_arn, "arn:aws:s3:::org-logs");
  EXPECT_FALSE(p->Limits("dev").network.flow_logs.enabled);
}

TEST(PolicyNetwork, NoManagementPathByDefault) {
  const Policies p;
  for (std::string_view cls : kEnvironmentClasses) {
    SCOPED_TRACE(cls);
    EXPECT_FALSE(p.Limits(cls).network.management_path.configured());
  }
}

TEST(PolicyNetwork, ManagementPathPerClassReplacedWholeByEachLayer) {
  absl::StatusOr<Policies> p = LoadFrom(
      R"({"classes": {
            "dev": {"network": {"managementPath": {"transitGatewayId": "tgw-0123456789abcdef0",
                                                   "cidrs": ["10.100.0.0/16", "10.101.0.0/24"]}}},
            "test": {"network": {"managementPath": {"transitGatewayId": "tgw-0123456789abcdef0",
                                                    "cidrs": ["10.100.0.0/16"]}}},
            "prod": {"network": {"managementPath": {"transitGatewayId": "tgw-0123456789abcdef0",
                                                    "cidrs": ["10.100.0.0/16"]}}}}})",
      R"({"classes": {
            "test": {"network": {"managementPath": null}},
            "prod": {"network": {"managementPath": {"transitGatewayId": "tgw-01234567",
                                                    "cidrs": ["10.200.0.0/16"]}}}}})");
  ASSERT_TRUE(p.ok()) << p.status();
  const ManagementPath& dev = p->Limits("dev").network.management_path;
  EXPECT_TRUE(dev.configured());
  EXPECT_EQ(dev.transit_gateway_id, "tgw-0123456789abcdef0");
  EXPECT_EQ(dev.cidrs, std::vector<std::string>({"10.100.0.0/16", "10.101.0.0/24"}));
  // The EnvironmentConfig removes one and replaces another whole.
  EXPECT_FALSE(p->Limits("test").network.management_path.configured());
  const ManagementPath& prod = p->Limits("prod").network.management_path;
  EXPECT_EQ(prod.transit_gateway_id, "tgw-01234567");
  EXPECT_EQ(prod.cidrs, std::vector<std::string>({"10.200.0.0/16"}));
  EXPECT_FALSE(p->Limits("sandbox").network.management_path.configured());
  // The other network fields are untouched.
  EXPECT_EQ(p->Limits("dev").network.gateway_endpoints, std::vector<std::string>({"s3"}));
}

// --- Input and EnvironmentConfig overlay --------------------------------------------

struct OverlayCase {
  std::string name;
  std::string input;  // the input's policy; empty for none
  std::string ec;     // the EnvironmentConfig's data.policy; empty for no EnvironmentConfig
  std::string environment_class;
  std::string want;  // ToJson of the class's limits
};

void PrintTo(const OverlayCase& c, std::ostream* os) { *os << c.name; }

class PolicyOverlayTest : public ::testing::TestWithParam<OverlayCase> {};

TEST_P(PolicyOverlayTest, Limits) {
  const OverlayCase& c = GetParam();
  absl::StatusOr<Policies> p = LoadFrom(c.input, c.ec);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(ToJson(p->Limits(c.environment_class)), Json::parse(c.want));
  EXPECT_EQ(p->MandatedSecurityGroups(c.environment_class),
            p->Limits(c.environment_class).security_group_ids);
}

INSTANTIATE_TEST_SUITE_P(
    Policy, PolicyOverlayTest,
    ::testing::Values(
        OverlayCase{"InputOverridesOneField", R"({"classes": {"dev": {"maxZones": 1}}})", "", "dev",
                    R"({"class": "dev", "allowedRegions": [], "maxZones": 1,
                        "allowedNatStrategies": ["None", "Single"], "defaultNatStrategy": "Single",
                        "minVpcPrefix": 16, "maxVpcPrefix": 20, "securityGroupIds": []})"},
        OverlayCase{"InputOverridesEveryField", R"({"classes": {"prod": {
                      "allowedRegions": ["eu-west-1", "us-gov-west-1"], "maxZones": 3,
                      "allowedNatStrategies": ["PerZone"], "defaultNatStrategy": "PerZone",
                      "minVpcPrefix": 18, "maxVpcPrefix": 24,
                      "securityGroupIds": ["sg-0123456789abcdef0", "sg-89abcdef"]}}})",
                    "", "prod",
                    R"({"class": "prod", "allowedRegions": ["eu-west-1", "us-gov-west-1"],
                        "maxZones": 3, "allowedNatStrategies": ["PerZone"],
                        "defaultNatStrategy": "PerZone", "minVpcPrefix": 18, "maxVpcPrefix": 24,
                        "securityGroupIds": ["sg-0123456789abcdef0", "sg-89abcdef"]})"},
        OverlayCase{"OtherClassesKeepTheirDefaults",
                    R"({"classes": {"dev": {"maxZones": 1}, "prod": {"maxZones": 2}}})", "", "test",
                    R"({"class": "test", "allowedRegions": [], "maxZones": 3,
                        "allowedNatStrategies": ["None", "Single", "PerZone"],
                        "defaultNatStrategy": "Single", "minVpcPrefix": 16, "maxVpcPrefix": 20,
                        "securityGroupIds": []})"},
        OverlayCase{"NullClassAndFieldsAreAbsent",
                    R"({"classes": {"dev": null, "test": {"maxZones": null}}, "tags": null})", "",
                    "test",
                    R"({"class": "test", "allowedRegions": [], "maxZones": 3,
                        "allowedNatStrategies": ["None", "Single", "PerZone"],
                        "defaultNatStrategy": "Single", "minVpcPrefix": 16, "maxVpcPrefix": 20,
                        "securityGroupIds": []})"},
        OverlayCase{"DefaultNatChangedWithinTheDefaults",
                    R"({"classes": {"test": {"defaultNatStrategy": "None"}}})", "", "test",
                    R"({"class": "test", "allowedRegions": [], "maxZones": 3,
                        "allowedNatStrategies": ["None", "Single", "PerZone"],
                        "defaultNatStrategy": "None", "minVpcPrefix": 16, "maxVpcPrefix": 20,
                        "securityGroupIds": []})"},
        OverlayCase{"EnvironmentConfigOverridesFieldByField",
                    R"({"classes": {"dev": {"maxZones": 1, "minVpcPrefix": 18,
                                            "allowedRegions": ["us-east-1"]}}})",
                    R"({"classes": {"dev": {"maxZones": 2, "allowedRegions": ["eu-west-1"]}}})",
                    "dev",
                    R"({"class": "dev", "allowedRegions": ["eu-west-1"], "maxZones": 2,
                        "allowedNatStrategies": ["None", "Single"], "defaultNatStrategy": "Single",
                        "minVpcPrefix": 18, "maxVpcPrefix": 20, "securityGroupIds": []})"},
        OverlayCase{"EnvironmentConfigEmptyListMeansAnyRegion",
                    R"({"classes": {"dev": {"allowedRegions": ["us-east-1"]}}})",
                    R"({"classes": {"dev": {"allowedRegions": []}}})", "dev",
                    R"({"class": "dev", "allowedRegions": [], "maxZones": 2,
                        "allowedNatStrategies": ["None", "Single"], "defaultNatStrategy": "Single",
                        "minVpcPrefix": 16, "maxVpcPrefix": 20, "securityGroupIds": []})"},
        OverlayCase{"EnvironmentConfigAloneWithoutInputPolicy", "",
                    R"({"classes": {"prod": {"securityGroupIds": ["sg-0123456789abcdef0"]}}})",
                    "prod",
                    R"({"class": "prod", "allowedRegions": [], "maxZones": 6,
                        "allowedNatStrategies": ["Single", "PerZone"],
                        "defaultNatStrategy": "PerZone", "minVpcPrefix": 16, "maxVpcPrefix": 20,
                        "securityGroupIds": ["sg-0123456789abcdef0"]})"},
        // The input's default is no longer allowed once the EnvironmentConfig
        // narrows the list, but the EnvironmentConfig sets a new default too.
        OverlayCase{"LaterLayerRepairsTheDefault",
                    R"({"classes": {"test": {"defaultNatStrategy": "PerZone"}}})",
                    R"({"classes": {"test": {"allowedNatStrategies": ["Single"],
                                             "defaultNatStrategy": "Single"}}})",
                    "test",
                    R"({"class": "test", "allowedRegions": [], "maxZones": 3,
                        "allowedNatStrategies": ["Single"], "defaultNatStrategy": "Single",
                        "minVpcPrefix": 16, "maxVpcPrefix": 20, "securityGroupIds": []})"},
        OverlayCase{"PrefixBoundsMovedTogether",
                    R"({"classes": {"sandbox": {"minVpcPrefix": 24, "maxVpcPrefix": 28}}})", "",
                    "sandbox",
                    R"({"class": "sandbox", "allowedRegions": [], "maxZones": 2,
                        "allowedNatStrategies": ["None", "Single"], "defaultNatStrategy": "Single",
                        "minVpcPrefix": 24, "maxVpcPrefix": 28, "securityGroupIds": []})"},
        OverlayCase{"WholeNumberAsDouble", R"({"classes": {"dev": {"maxZones": 1.0}}})", "", "dev",
                    R"({"class": "dev", "allowedRegions": [], "maxZones": 1,
                        "allowedNatStrategies": ["None", "Single"], "defaultNatStrategy": "Single",
                        "minVpcPrefix": 16, "maxVpcPrefix": 20, "securityGroupIds": []})"}),
    CaseName<OverlayCase>);

TEST(PolicyOverlay, TagsMergeWithEnvironmentConfigWinning) {
  absl::StatusOr<Policies> p =
      LoadFrom(R"({"tags": {"owner": "platform", "compliance": "soc2"}})",
               R"({"tags": {"compliance": "iso27001", "data-class": "internal"}})");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_THAT(p->extra_tags(),
              ElementsAre(Pair("compliance", "iso27001"), Pair("data-class", "internal"),
                          Pair("owner", "platform")));
}

constexpr char kInputRules[] = R"({"authorization": [
  {"name": "web-nonprod", "teams": ["web"], "classes": ["dev", "test"]}]})";

TEST(PolicyOverlay, AuthorizationFromInput) {
  absl::StatusOr<Policies> p = LoadFrom(kInputRules, "");
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->authorization_rules().size(), 1u);
  const AuthorizationRule& r = p->authorization_rules()[0];
  EXPECT_EQ(r.name, "web-nonprod");
  EXPECT_THAT(r.teams, ElementsAre("web"));
  EXPECT_TRUE(r.namespaces.empty());
  EXPECT_THAT(r.classes, ElementsAre("dev", "test"));
  EXPECT_TRUE(r.regions.empty());
}

TEST(PolicyOverlay, AuthorizationReplacedByEnvironmentConfig) {
  absl::StatusOr<Policies> p =
      LoadFrom(kInputRules, R"({"authorization": [{"name": "ops", "namespaces": ["ops-*"]},
                                         {"name": "data", "teams": ["data"],
                                          "regions": ["eu-west-1"]}]})");
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->authorization_rules().size(), 2u);
  EXPECT_EQ(p->authorization_rules()[0].name, "ops");
  EXPECT_THAT(p->authorization_rules()[0].namespaces, ElementsAre("ops-*"));
  EXPECT_EQ(p->authorization_rules()[1].name, "data");
  EXPECT_THAT(p->authorization_rules()[1].regions, ElementsAre("eu-west-1"));
}

TEST(PolicyOverlay, AuthorizationKeptWhenEnvironmentConfigHasNone) {
  absl::StatusOr<Policies> p = LoadFrom(kInputRules, R"({"tags": {"a": "b"}})");
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->authorization_rules().size(), 1u);
  EXPECT_EQ(p->authorization_rules()[0].name, "web-nonprod");
}

TEST(PolicyOverlay, AuthorizationEmptiedByEnvironmentConfig) {
  absl::StatusOr<Policies> p = LoadFrom(kInputRules, R"({"authorization": []})");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->authorization_rules().empty());
}

TEST(PolicyOverlay, EnvironmentConfigWithoutPolicyChangesNothing) {
  const Json input = Input(R"({"classes": {"dev": {"maxZones": 1}}})");
  for (const char* ec_json :
       {R"({"apiVersion": "apiextensions.crossplane.io/v1beta1", "kind": "EnvironmentConfig",
            "metadata": {"name": "p"}})",
        R"({"metadata": {"name": "p"}, "data": {"region": "eu-west-1"}})",
        R"({"metadata": {"name": "p"}, "data": {"policy": null}})"}) {
    SCOPED_TRACE(ec_json);
    const Json ec = Json::parse(ec_json);
    absl::StatusOr<Policies> p = Policies::Load(input, &ec);
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_EQ(p->Limits("dev").max_zones, 1);
  }
}

// --- Zones an account sees -------------------------------------------------------------

struct RegionZonesCase {
  std::string name;
  std::string input;  // the input's policy; empty for none
  std::string ec;     // the EnvironmentConfig's data.policy; empty for none
  std::string want;   // region -> letters
};

void PrintTo(const RegionZonesCase& c, std::ostream* os) { *os << c.name; }

class PolicyRegionZonesTest : public ::testing::TestWithParam<RegionZonesCase> {};

TEST_P(PolicyRegionZonesTest, Overlay) {
  const RegionZonesCase& c = GetParam();
  absl::StatusOr<Policies> p = LoadFrom(c.input, c.ec);
  ASSERT_TRUE(p.ok()) << p.status();
  const Json want = Json::parse(c.want);
  Json got = Json::object();
  for (const auto& [region, letters] : p->region_zones()) got[region] = letters;
  EXPECT_EQ(got, want);
  for (auto it = want.begin(); it != want.end(); ++it) {
    const std::vector<std::string>* letters = p->AccountZones(it.key());
    ASSERT_NE(letters, nullptr) << it.key();
    EXPECT_EQ(Json(*letters), it.value());
  }
  EXPECT_EQ(p->AccountZones("eu-west-1"), nullptr);
}

INSTANTIATE_TEST_SUITE_P(
    Policy, PolicyRegionZonesTest,
    ::testing::Values(
        RegionZonesCase{"NoneByDefault", "", "", "{}"},
        RegionZonesCase{"FromTheInput", R"({"regionZones": {"us-west-1": ["b", "c"]}})", "",
                        R"({"us-west-1": ["b", "c"]})"},
        RegionZonesCase{"InTheOrderGiven", R"({"regionZones": {"us-west-1": ["c", "a"]}})", "",
                        R"({"us-west-1": ["c", "a"]})"},
        RegionZonesCase{"OneLetter", R"({"regionZones": {"us-east-1": ["d"]}})", "",
                        R"({"us-east-1": ["d"]})"},
        RegionZonesCase{"AnAccountWithoutOneZone",
                        R"({"regionZones": {"us-east-1": ["a", "b", "c", "d", "f"]}})", "",
                        R"({"us-east-1": ["a", "b", "c", "d", "f"]})"},
        RegionZonesCase{"FromTheEnvironmentConfig", "",
                        R"({"regionZones": {"us-west-1": ["a", "c"]}})",
                        R"({"us-west-1": ["a", "c"]})"},
        RegionZonesCase{"EnvironmentConfigReplacesARegion",
                        R"({"regionZones": {"us-west-1": ["a", "b"], "us-east-1": ["a", "b"]}})",
                        R"({"regionZones": {"us-west-1": ["c"]}})",
                        R"({"us-east-1": ["a", "b"], "us-west-1": ["c"]})"},
        RegionZonesCase{"EnvironmentConfigAddsARegion",
                        R"({"regionZones": {"us-west-1": ["a", "b"]}})",
                        R"({"regionZones": {"ap-northeast-1": ["c", "d"]}})",
                        R"({"ap-northeast-1": ["c", "d"], "us-west-1": ["a", "b"]})"},
        RegionZonesCase{"EnvironmentConfigNullKeepsTheInput",
                        R"({"regionZones": {"us-west-1": ["a", "b"]}})",
                        R"({"regionZones": {"us-west-1": null}})", R"({"us-west-1": ["a", "b"]})"},
        RegionZonesCase{"EnvironmentConfigWithoutRegionZonesKeepsTheInput",
                        R"({"regionZones": {"us-west-1": ["b", "c"]}})", R"({"tags": {"a": "b"}})",
                        R"({"us-west-1": ["b", "c"]})"},
        RegionZonesCase{"EmptyObject", R"({"regionZones": {}})", "", "{}"}),
    CaseName<RegionZonesCase>);

// --- Load errors ----------------------------------------------------------------------

struct ErrorCase {
  std::string name;
  std::string input;  // the input's policy
  std::string ec;     // the EnvironmentConfig's data.policy; empty for none
  std::string want;   // the whole message
};

void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }

class PolicyLoadErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(PolicyLoadErrorTest, NamesTheField) {
  const ErrorCase& c = GetParam();
  absl::StatusOr<Policies> p = LoadFrom(c.input, c.ec);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(p.status().message()), c.want);
  // A configuration error of the platform team, not a violation by the user.
  EXPECT_FALSE(sdk::ConditionOf(p.status()).has_value());
}

constexpr char kEc[] = "environmentconfig/platform-policy.data.policy";

std::string KnownRegions() { return fmt::format("{}", fmt::join(network::KnownRegions(), ", ")); }

std::string EcPath(const std::string& rest) { return kEc + rest; }

std::string ManyTags(int n) {
  Json tags = Json::object();
  for (int i = 0; i < n; ++i) tags[sdk::Cat("tag-", i)] = "v";
  return Json{{"tags", tags}}.dump();
}

INSTANTIATE_TEST_SUITE_P(
    Policy, PolicyLoadErrorTest,
    ::testing::Values(
        // The shape of `policy`.
        ErrorCase{"PolicyNotAnObject", R"("strict")", "",
                  "input.policy: must be an object, not a string"},
        ErrorCase{"UnknownPolicyField", R"({"tag": {}})", "",
                  "input.policy.tag: unknown field; the fields here are environmentConfigRef, "
                  "tags, classes, authorization, regionZones, accounts, clusterAccess"},
        ErrorCase{"UnknownClass", R"({"classes": {"staging": {"maxZones": 2}}})", "",
                  "input.policy.classes.staging: unknown environment class; the classes are dev, "
                  "test, sandbox, prod"},
        ErrorCase{"UnknownClassWithDots", R"({"classes": {"prod.eu": {}}})", "",
                  "input.policy.classes[prod.eu]: unknown environment class; the classes are dev, "
                  "test, sandbox, prod"},
        ErrorCase{"ClassesNotAnObject", R"({"classes": ["dev"]})", "",
                  "input.policy.classes: must be an object, not a list"},
        ErrorCase{"ClassNotAnObject", R"({"classes": {"dev": 3}})", "",
                  "input.policy.classes.dev: must be an object, not an integer"},
        ErrorCase{
            "UnknownClassField", R"({"classes": {"dev": {"maxZone": 2}}})", "",
            "input.policy.classes.dev.maxZone: unknown field; the fields here are "
            "allowedRegions, maxZones, allowedNatStrategies, defaultNatStrategy, "
            "minVpcPrefix, maxVpcPrefix, securityGroupIds, cluster, database, network, account"},
        // Network extras.
        ErrorCase{"UnknownGatewayEndpoint",
                  R"({"classes": {"dev": {"network": {"gatewayEndpoints": ["s3", "ec2"]}}}})", "",
                  "input.policy.classes.dev.network.gatewayEndpoints[1]: must be one of s3, "
                  "dynamodb, not \"ec2\""},
        ErrorCase{"UnknownNetworkField",
                  R"({"classes": {"dev": {"network": {"transitGateway": "tgw-01234567"}}}})", "",
                  "input.policy.classes.dev.network.transitGateway: unknown field; the fields "
                  "here are gatewayEndpoints, flowLogs, managementPath"},
        ErrorCase{"UnknownManagementPathField",
                  R"({"classes": {"dev": {"network": {"managementPath": {
                      "transitGatewayId": "tgw-01234567", "cidrs": ["10.100.0.0/16"],
                      "routeTables": ["private"]}}}}})",
                  "",
                  "input.policy.classes.dev.network.managementPath.routeTables: unknown field; "
                  "the fields here are transitGatewayId, cidrs"},
        ErrorCase{"ManagementPathWithoutGateway",
                  R"({"classes": {"dev": {"network": {"managementPath": {
                      "cidrs": ["10.100.0.0/16"]}}}}})",
                  "", "input.policy.classes.dev.network.managementPath.transitGatewayId: required"},
        ErrorCase{
            "ManagementPathGatewayNotATransitGateway",
            R"({"classes": {"prod": {"network": {"managementPath": {
                      "transitGatewayId": "vgw-0123456789abcdef0", "cidrs": ["10.100.0.0/16"]}}}}})",
            "",
            "input.policy.classes.prod.network.managementPath.transitGatewayId: must be a "
            "transit gateway id such as tgw-0123456789abcdef0, not \"vgw-0123456789abcdef0\""},
        ErrorCase{"ManagementPathGatewayUpperCase", "",
                  R"({"classes": {"prod": {"network": {"managementPath": {
                      "transitGatewayId": "tgw-0123456789ABCDEF0", "cidrs": ["10.100.0.0/16"]}}}}})",
                  "environmentconfig/platform-policy.data.policy.classes.prod.network."
                  "managementPath.transitGatewayId: must be a transit gateway id such as "
                  "tgw-0123456789abcdef0, not \"tgw-0123456789ABCDEF0\""},
        ErrorCase{"ManagementPathWithoutCidrs",
                  R"({"classes": {"dev": {"network": {"managementPath": {
                      "transitGatewayId": "tgw-01234567", "cidrs": []}}}}})",
                  "",
                  "input.policy.classes.dev.network.managementPath.cidrs: must list at least one "
                  "CIDR block of the management network, which the environments route to the "
                  "transit gateway"},
        ErrorCase{"ManagementPathCidrNotACidr",
                  R"({"classes": {"dev": {"network": {"managementPath": {
                      "transitGatewayId": "tgw-01234567", "cidrs": ["10.100.0.0/16", "10.1.0.0"]}}}}})",
                  "",
                  "input.policy.classes.dev.network.managementPath.cidrs[1]: \"10.1.0.0\" is not "
                  "an IPv4 CIDR block: expected a.b.c.d/n"},
        ErrorCase{"ManagementPathDefaultRoute",
                  R"({"classes": {"dev": {"network": {"managementPath": {
                      "transitGatewayId": "tgw-01234567", "cidrs": ["0.0.0.0/0"]}}}}})",
                  "",
                  "input.policy.classes.dev.network.managementPath.cidrs[0]: must not be "
                  "0.0.0.0/0: the private subnets' default route goes to their NAT gateway"},
        ErrorCase{"ManagementPathCidrTwice",
                  R"({"classes": {"dev": {"network": {"managementPath": {
                      "transitGatewayId": "tgw-01234567",
                      "cidrs": ["10.100.0.0/16", "10.100.0.0/16"]}}}}})",
                  "",
                  "input.policy.classes.dev.network.managementPath.cidrs[1]: \"10.100.0.0/16\" is "
                  "listed twice, also at [0]"},
        ErrorCase{"UnknownFlowLogField",
                  R"({"classes": {"dev": {"network": {"flowLogs": {"retention": 3}}}}})", "",
                  "input.policy.classes.dev.network.flowLogs.retention: unknown field; the fields "
                  "here are enabled, destination, retentionDays, s3BucketArn, trafficType, "
                  "maxAggregationInterval"},
        ErrorCase{"FlowLogRetentionCloudWatchRefuses",
                  R"({"classes": {"dev": {"network": {"flowLogs": {"retentionDays": 10}}}}})", "",
                  "input.policy.classes.dev.network.flowLogs.retentionDays: must be a retention "
                  "CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, "
                  "545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653), not 10"},
        ErrorCase{
            "FlowLogBucketNotAnArn",
            R"({"classes": {"prod": {"network": {"flowLogs": {"s3BucketArn": "org-logs"}}}}})", "",
            "input.policy.classes.prod.network.flowLogs.s3BucketArn: must be an S3 bucket "
            "ARN, arn:aws:s3:::<bucket> or arn:aws:s3:::<bucket>/<prefix>"},
        ErrorCase{
            "FlowLogInterval",
            R"({"classes": {"prod": {"network": {"flowLogs": {"maxAggregationInterval": 300}}}}})",
            "",
            "input.policy.classes.prod.network.flowLogs.maxAggregationInterval: must be 60 "
            "or 600 (seconds), not 300"},
        ErrorCase{"FlowLogsToS3WithoutBucket",
                  R"({"classes": {"prod": {"network": {"flowLogs": {"destination": "S3"}}}}})", "",
                  "input.policy.classes.prod.network.flowLogs.destination: flow logs of prod go to "
                  "S3, so flowLogs.s3BucketArn must name the bucket"},
        // Cluster limits.
        ErrorCase{
            "ClusterUnknownField", R"({"classes": {"dev": {"cluster": {"maxNodes": 3}}}})", "",
            "input.policy.classes.dev.cluster.maxNodes: unknown field; the fields here are "
            "kubernetesVersions, maxNodesPerPool, endpointAccess, instanceFamilies, upgradePolicy, "
            "controlPlaneLogs, vpcCniPodIdentity"},
        ErrorCase{"UpgradePolicyUnknown",
                  R"({"classes": {"prod": {"cluster": {"upgradePolicy": "Auto"}}}})", "",
                  "input.policy.classes.prod.cluster.upgradePolicy: must be one of Standard, "
                  "Extended, not \"Auto\""},
        ErrorCase{"ControlPlaneLogUnknown",
                  R"({"classes": {"prod": {"cluster": {"controlPlaneLogs": ["api", "kubelet"]}}}})",
                  "",
                  "input.policy.classes.prod.cluster.controlPlaneLogs[1]: must be one of api, "
                  "audit, authenticator, controllerManager, scheduler, not \"kubelet\""},
        ErrorCase{"ClusterAccessBadPrincipal",
                  R"({"clusterAccess": [{"name": "a", "teams": ["web"],
                      "principalArn": "arn:aws:iam::12345:role/web", "accessPolicy": "Edit"}]})",
                  "",
                  "input.policy.clusterAccess[0].principalArn: must be the ARN of an IAM role or "
                  "user, arn:aws:iam::<12-digit account>:role/<name>"},
        ErrorCase{"ClusterAccessNoTeams",
                  R"({"clusterAccess": [{"name": "a", "teams": [],
                      "principalArn": "arn:aws:iam::123456789012:role/web",
                      "accessPolicy": "Edit"}]})",
                  "", "input.policy.clusterAccess[0].teams: must list at least one team"},
        ErrorCase{"ClusterAccessClusterAdminInNamespaces",
                  R"({"clusterAccess": [{"name": "a", "teams": ["web"],
                      "principalArn": "arn:aws:iam::123456789012:role/web",
                      "accessPolicy": "ClusterAdmin", "namespaces": ["web"]}]})",
                  "",
                  "input.policy.clusterAccess[0].namespaces: ClusterAdmin applies to the whole "
                  "cluster; use Admin for namespaces"},
        ErrorCase{"ClusterAccessPrincipalTwiceForOneCluster",
                  R"({"clusterAccess": [
                      {"name": "a", "teams": ["web"], "classes": ["dev", "prod"],
                       "principalArn": "arn:aws:iam::123456789012:role/web", "accessPolicy": "Edit"},
                      {"name": "b", "teams": ["web", "api"], "classes": ["prod"],
                       "principalArn": "arn:aws:iam::123456789012:role/web",
                       "accessPolicy": "View"}]})",
                  "",
                  "input.policy.clusterAccess[1].principalArn: arn:aws:iam::123456789012:role/web "
                  "already has access through rule \"a\" at input.policy.clusterAccess[0] for "
                  "some of the same teams and classes; EKS takes one access entry per principal"},
        ErrorCase{"ClusterVersionNotOffered",
                  R"({"classes": {"dev": {"cluster": {"kubernetesVersions": ["1.29"]}}}})", "",
                  "input.policy.classes.dev.cluster.kubernetesVersions[0]: must be one of 1.34, "
                  "1.33, 1.32, 1.31, not \"1.29\""},
        ErrorCase{"ClusterNoVersion",
                  R"({"classes": {"dev": {"cluster": {"kubernetesVersions": []}}}})", "",
                  "input.policy.classes.dev.cluster.kubernetesVersions: must allow at least one "
                  "of 1.34, 1.33, 1.32, 1.31"},
        ErrorCase{"ClusterNodesZero",
                  R"({"classes": {"dev": {"cluster": {"maxNodesPerPool": 0}}}})", "",
                  "input.policy.classes.dev.cluster.maxNodesPerPool: must be between 1 and 1000"},
        ErrorCase{"ClusterProdPublic", "",
                  R"({"classes": {"prod": {"cluster": {"endpointAccess": ["Public"]}}}})",
                  EcPath(".classes.prod.cluster.endpointAccess") +
                      ": prod clusters may never use endpoint access Public"},
        ErrorCase{"ClusterUnknownAccess",
                  R"({"classes": {"dev": {"cluster": {"endpointAccess": ["Internal"]}}}})", "",
                  "input.policy.classes.dev.cluster.endpointAccess[0]: must be one of Private, "
                  "PublicAndPrivate, Public, not \"Internal\""},
        ErrorCase{"ClusterFamilyWithSize",
                  R"({"classes": {"dev": {"cluster": {"instanceFamilies": ["m6i.large"]}}}})", "",
                  "input.policy.classes.dev.cluster.instanceFamilies[0]: must be an EC2 instance "
                  "family such as m6i (no size), not \"m6i.large\""},
        ErrorCase{"ClusterNotAnObject", R"({"classes": {"dev": {"cluster": []}}})", "",
                  "input.policy.classes.dev.cluster: must be an object, not a list"},
        // Database limits.
        ErrorCase{"DatabaseUnknownField", R"({"classes": {"dev": {"database": {"engines": []}}}})",
                  "",
                  "input.policy.classes.dev.database.engines: unknown field; the fields here are "
                  "engineVersions, instanceFamilies, maxStorageGiB, requireMultiAZ, "
                  "requireDeletionProtection, performanceInsights, monitoringInterval, "
                  "logExports, iamAuthentication"},
        ErrorCase{"DatabaseUnknownEngine",
                  R"({"classes": {"dev": {"database": {"engineVersions": {"oracle": ["19"]}}}}})",
                  "",
                  "input.policy.classes.dev.database.engineVersions.oracle: unknown engine; the "
                  "engines are postgres, mysql, mariadb"},
        ErrorCase{
            "DatabaseUnknownVersion",
            R"({"classes": {"dev": {"database": {"engineVersions": {"postgres": ["16", "9.6"]}}}}})",
            "",
            "input.policy.classes.dev.database.engineVersions.postgres[1]: must be one of "
            "17, 16, 15, 14, 13, not \"9.6\""},
        ErrorCase{"DatabaseNoEngine",
                  R"({"classes": {"dev": {"database": {"engineVersions": {"postgres": []}}}}})", "",
                  "input.policy.classes.dev.database.engineVersions: must allow at least one "
                  "engine with at least one version"},
        ErrorCase{"DatabaseFamilyWithSize",
                  R"({"classes": {"dev": {"database": {"instanceFamilies": ["db.t4g.micro"]}}}})",
                  "",
                  "input.policy.classes.dev.database.instanceFamilies[0]: must be an RDS instance "
                  "class family such as db.r7g (no size), not \"db.t4g.micro\""},
        ErrorCase{"DatabaseStorageTooSmall",
                  R"({"classes": {"dev": {"database": {"maxStorageGiB": 10}}}})", "",
                  "input.policy.classes.dev.database.maxStorageGiB: must be between 20 and 65536"},
        ErrorCase{
            "DatabaseProdWithoutMultiAz", "",
            R"({"classes": {"prod": {"database": {"requireMultiAZ": false}}}})",
            EcPath(".classes.prod.database.requireMultiAZ") + ": prod databases always require it"},
        // Database observability.
        ErrorCase{
            "PerformanceInsightsRetentionNotAMonth",
            R"({"classes": {"prod": {"database": {"performanceInsights": {"retentionDays": 30}}}}})",
            "",
            "input.policy.classes.prod.database.performanceInsights.retentionDays: must be 7, "
            "a multiple of 31 up to 713 (months), or 731 (days Performance Insights keeps), "
            "not 30"},
        ErrorCase{
            "PerformanceInsightsRetentionTooLong",
            R"({"classes": {"prod": {"database": {"performanceInsights": {"retentionDays": 744}}}}})",
            "",
            "input.policy.classes.prod.database.performanceInsights.retentionDays: must be 7, "
            "a multiple of 31 up to 713 (months), or 731 (days Performance Insights keeps), "
            "not 744"},
        ErrorCase{"PerformanceInsightsUnknownField",
                  R"({"classes": {"prod": {"database": {"performanceInsights": {"on": true}}}}})",
                  "",
                  "input.policy.classes.prod.database.performanceInsights.on: unknown field; the "
                  "fields here are enabled, retentionDays"},
        ErrorCase{"MonitoringIntervalNotOneRdsTakes", "",
                  R"({"classes": {"dev": {"database": {"monitoringInterval": 20}}}})",
                  EcPath(".classes.dev.database.monitoringInterval") +
                      ": must be one of 0, 1, 5, 10, 15, 30, 60 (seconds between enhanced "
                      "monitoring samples; 0 turns it off), not 20"},
        ErrorCase{
            "LogExportOfAnotherEngine",
            R"({"classes": {"dev": {"database": {"logExports": {"postgres": ["postgresql", "slowquery"]}}}}})",
            "",
            "input.policy.classes.dev.database.logExports.postgres[1]: postgres exports "
            "postgresql, upgrade, not \"slowquery\""},
        ErrorCase{
            "LogExportAuroraPostgresUpgrade",
            R"({"classes": {"dev": {"database": {"logExports": {"aurora-postgresql": ["upgrade"]}}}}})",
            "",
            "input.policy.classes.dev.database.logExports.aurora-postgresql[0]: "
            "aurora-postgresql exports postgresql, not \"upgrade\""},
        ErrorCase{"LogExportUnknownEngine",
                  R"({"classes": {"dev": {"database": {"logExports": {"oracle": ["alert"]}}}}})",
                  "",
                  "input.policy.classes.dev.database.logExports.oracle: unknown RDS engine; the "
                  "engines are postgres, mysql, mariadb, aurora-postgresql, aurora-mysql"},
        ErrorCase{"IamAuthenticationNotABool",
                  R"({"classes": {"dev": {"database": {"iamAuthentication": "yes"}}}})", "",
                  "input.policy.classes.dev.database.iamAuthentication: must be a boolean, not a "
                  "string"},
        // Class fields.
        ErrorCase{"MaxZonesTooMany", R"({"classes": {"prod": {"maxZones": 7}}})", "",
                  "input.policy.classes.prod.maxZones: must be between 1 and 6"},
        ErrorCase{"MaxZonesZero", R"({"classes": {"dev": {"maxZones": 0}}})", "",
                  "input.policy.classes.dev.maxZones: must be between 1 and 6"},
        ErrorCase{"MaxZonesHuge", R"({"classes": {"dev": {"maxZones": 4294967298}}})", "",
                  "input.policy.classes.dev.maxZones: must be between 1 and 6"},
        ErrorCase{"MaxZonesNotAnInteger", R"({"classes": {"dev": {"maxZones": "two"}}})", "",
                  "input.policy.classes.dev.maxZones: must be an integer, not a string"},
        ErrorCase{"MaxZonesFraction", R"({"classes": {"dev": {"maxZones": 1.5}}})", "",
                  "input.policy.classes.dev.maxZones: must be a whole number"},
        ErrorCase{"RegionMalformed",
                  R"({"classes": {"dev": {"allowedRegions": ["us-east-1", "Europe"]}}})", "",
                  "input.policy.classes.dev.allowedRegions[1]: must be an AWS region such as "
                  "eu-west-1, not \"Europe\""},
        ErrorCase{"RegionWithZoneLetter",
                  R"({"classes": {"dev": {"allowedRegions": ["us-east-1a"]}}})", "",
                  "input.policy.classes.dev.allowedRegions[0]: must be an AWS region such as "
                  "eu-west-1, not \"us-east-1a\""},
        ErrorCase{"RegionTwice",
                  R"({"classes": {"dev": {"allowedRegions": ["us-east-1", "us-east-1"]}}})", "",
                  "input.policy.classes.dev.allowedRegions[1]: \"us-east-1\" is listed twice, also "
                  "at [0]"},
        ErrorCase{"RegionNotAString", R"({"classes": {"dev": {"allowedRegions": [1]}}})", "",
                  "input.policy.classes.dev.allowedRegions[0]: must be a string, not an integer"},
        ErrorCase{"RegionsNotAList", R"({"classes": {"dev": {"allowedRegions": "us-east-1"}}})", "",
                  "input.policy.classes.dev.allowedRegions: must be a list, not a string"},
        ErrorCase{"NatUnknown",
                  R"({"classes": {"test": {"allowedNatStrategies": ["None", "Double"]}}})", "",
                  "input.policy.classes.test.allowedNatStrategies[1]: must be one of None, "
                  "Single, PerZone, not \"Double\""},
        ErrorCase{"NatEmpty", R"({"classes": {"test": {"allowedNatStrategies": []}}})", "",
                  "input.policy.classes.test.allowedNatStrategies: must allow at least one of "
                  "None, Single, PerZone"},
        ErrorCase{"NatTwice",
                  R"({"classes": {"test": {"allowedNatStrategies": ["Single", "Single"]}}})", "",
                  "input.policy.classes.test.allowedNatStrategies[1]: \"Single\" is listed twice, "
                  "also at [0]"},
        ErrorCase{"ProdNeverAllowsNoNat",
                  R"({"classes": {"prod": {"allowedNatStrategies": ["None", "Single"]}}})", "",
                  "input.policy.classes.prod.allowedNatStrategies[0]: prod environments may never "
                  "use NAT strategy None"},
        ErrorCase{"ProdNeverDefaultsToNoNat",
                  R"({"classes": {"prod": {"defaultNatStrategy": "None"}}})", "",
                  "input.policy.classes.prod.defaultNatStrategy: prod environments may never use "
                  "NAT strategy None"},
        ErrorCase{"DefaultNatUnknown", R"({"classes": {"dev": {"defaultNatStrategy": "Double"}}})",
                  "",
                  "input.policy.classes.dev.defaultNatStrategy: must be one of None, Single, "
                  "PerZone, not \"Double\""},
        ErrorCase{"DefaultNatNotAllowed",
                  R"({"classes": {"dev": {"defaultNatStrategy": "PerZone"}}})", "",
                  "input.policy.classes.dev.defaultNatStrategy: must be one of the "
                  "allowedNatStrategies of dev (None, Single), not PerZone"},
        ErrorCase{"AllowedDropsTheBuiltInDefault",
                  R"({"classes": {"dev": {"allowedNatStrategies": ["None"]}}})", "",
                  "input.policy.classes.dev.allowedNatStrategies: must include the "
                  "defaultNatStrategy of dev, Single (the built-in default), or "
                  "defaultNatStrategy must be set too"},
        ErrorCase{"EnvironmentConfigDropsTheInputDefault",
                  R"({"classes": {"test": {"defaultNatStrategy": "PerZone"}}})",
                  R"({"classes": {"test": {"allowedNatStrategies": ["None", "Single"]}}})",
                  EcPath(".classes.test.allowedNatStrategies: must include the defaultNatStrategy "
                         "of test, PerZone (set at input.policy.classes.test.defaultNatStrategy), "
                         "or defaultNatStrategy must be set too")},
        ErrorCase{"EnvironmentConfigDefaultNotInInputList",
                  R"({"classes": {"test": {"allowedNatStrategies": ["Single"],
                                           "defaultNatStrategy": "Single"}}})",
                  R"({"classes": {"test": {"defaultNatStrategy": "PerZone"}}})",
                  EcPath(".classes.test.defaultNatStrategy: must be one of the "
                         "allowedNatStrategies of test (Single), not PerZone")},
        ErrorCase{"PrefixTooShort", R"({"classes": {"dev": {"minVpcPrefix": 8}}})", "",
                  "input.policy.classes.dev.minVpcPrefix: must be between 16 and 28"},
        ErrorCase{"PrefixTooLong", R"({"classes": {"dev": {"maxVpcPrefix": 29}}})", "",
                  "input.policy.classes.dev.maxVpcPrefix: must be between 16 and 28"},
        ErrorCase{"MinPrefixAboveDefaultMax", R"({"classes": {"dev": {"minVpcPrefix": 24}}})", "",
                  "input.policy.classes.dev.minVpcPrefix: must not be greater than maxVpcPrefix "
                  "of dev, 20"},
        ErrorCase{"MaxPrefixBelowInputMin", R"({"classes": {"dev": {"minVpcPrefix": 18}}})",
                  R"({"classes": {"dev": {"maxVpcPrefix": 17}}})",
                  EcPath(".classes.dev.maxVpcPrefix: must not be less than minVpcPrefix of dev, "
                         "18")},
        ErrorCase{"SecurityGroupMalformed",
                  R"({"classes": {"prod": {"securityGroupIds": ["sg-123"]}}})", "",
                  "input.policy.classes.prod.securityGroupIds[0]: must be a security group id such "
                  "as sg-0123456789abcdef0, not \"sg-123\""},
        ErrorCase{"SecurityGroupUpperCase",
                  R"({"classes": {"prod": {"securityGroupIds": ["sg-0123456789ABCDEF0"]}}})", "",
                  "input.policy.classes.prod.securityGroupIds[0]: must be a security group id such "
                  "as sg-0123456789abcdef0, not \"sg-0123456789ABCDEF0\""},
        // Tags.
        ErrorCase{"TagOverridesPlatformKey",
                  R"({"tags": {"platform.terraforming.io/team": "everyone"}})", "",
                  "input.policy.tags[platform.terraforming.io/team]: keys under "
                  "platform.terraforming.io/ are the platform's own and cannot be set here"},
        ErrorCase{"TagAwsReserved", R"({"tags": {"AWS:createdBy": "me"}})", "",
                  "input.policy.tags[AWS:createdBy]: keys starting with aws: are reserved by AWS"},
        ErrorCase{"TagEmptyKey", R"({"tags": {"": "x"}})", "",
                  "input.policy.tags[]: a tag key must not be empty"},
        ErrorCase{"TagKeyTooLong", Json{{"tags", {{std::string(129, 'k'), "v"}}}}.dump(), "",
                  "input.policy.tags[" + std::string(129, 'k') +
                      "]: a tag key must be at most 128 characters long, not 129"},
        ErrorCase{"TagValueTooLong", Json{{"tags", {{"k", std::string(257, 'v')}}}}.dump(), "",
                  "input.policy.tags[k]: a tag value must be at most 256 characters long, not 257"},
        ErrorCase{"TagValueNotAString", R"({"tags": {"owner": 1}})", "",
                  "input.policy.tags[owner]: must be a string, not an integer"},
        ErrorCase{"TooManyTags", ManyTags(31), "",
                  "input.policy.tags: mandates 31 tags in all, more than the 30 that fit beside "
                  "the platform's own in AWS's 50 per resource"},
        ErrorCase{"TooManyTagsOnceMerged", ManyTags(30), R"({"tags": {"one-more": "v"}})",
                  EcPath(".tags: mandates 31 tags in all, more than the 30 that fit beside the "
                         "platform's own in AWS's 50 per resource")},
        ErrorCase{"EnvironmentConfigTagOverridesPlatformKey", "",
                  R"({"tags": {"platform.terraforming.io/managed-by": "me"}})",
                  EcPath(".tags[platform.terraforming.io/managed-by]: keys under "
                         "platform.terraforming.io/ are the platform's own and cannot be set "
                         "here")},
        // environmentConfigRef.
        ErrorCase{"RefNameMissing", R"({"environmentConfigRef": {}})", "",
                  "input.policy.environmentConfigRef.name: required"},
        ErrorCase{"RefNameInvalid", R"({"environmentConfigRef": {"name": "Platform_Policy"}})", "",
                  "input.policy.environmentConfigRef.name: must be the name of an "
                  "EnvironmentConfig (lower case letters, digits, '-' and '.'), not "
                  "\"Platform_Policy\""},
        ErrorCase{"RefNotAnObject", R"({"environmentConfigRef": "platform-policy"})", "",
                  "input.policy.environmentConfigRef: must be an object, not a string"},
        ErrorCase{"RefUnknownField", R"({"environmentConfigRef": {"nme": "p"}})", "",
                  "input.policy.environmentConfigRef.nme: unknown field; the fields here are "
                  "name, optional"},
        ErrorCase{"RefInEnvironmentConfig", "", R"({"environmentConfigRef": {"name": "another"}})",
                  EcPath(".environmentConfigRef: only the function's input may name an "
                         "EnvironmentConfig")},
        // Authorization rules.
        ErrorCase{"RulesNotAList", R"({"authorization": {"name": "x"}})", "",
                  "input.policy.authorization: must be a list, not an object"},
        ErrorCase{"RuleNotAnObject", R"({"authorization": ["web"]})", "",
                  "input.policy.authorization[0]: must be an object, not a string"},
        ErrorCase{"RuleNameMissing", R"({"authorization": [{"teams": ["web"]}]})", "",
                  "input.policy.authorization[0].name: required"},
        ErrorCase{"RuleNameEmpty", R"({"authorization": [{"name": ""}]})", "",
                  "input.policy.authorization[0].name: must not be empty"},
        ErrorCase{"RuleNameTwice",
                  R"({"authorization": [{"name": "web"}, {"name": "ops"}, {"name": "web"}]})", "",
                  "input.policy.authorization[2].name: rule \"web\" is defined twice, also at "
                  "input.policy.authorization[0]"},
        ErrorCase{"RuleUnknownField", R"({"authorization": [{"name": "web", "team": "web"}]})", "",
                  "input.policy.authorization[0].team: unknown field; the fields here are name, "
                  "teams, namespaces, classes, regions"},
        ErrorCase{"RuleUnknownClass",
                  R"({"authorization": [{"name": "web", "classes": ["staging"]}]})", "",
                  "input.policy.authorization[0].classes[0]: must be one of dev, test, sandbox, "
                  "prod, not \"staging\""},
        ErrorCase{"RuleBadRegion", R"({"authorization": [{"name": "web", "regions": ["eu"]}]})", "",
                  "input.policy.authorization[0].regions[0]: must be an AWS region such as "
                  "eu-west-1, not \"eu\""},
        ErrorCase{"RuleBadNamespace",
                  R"({"authorization": [{"name": "web", "namespaces": ["Web_Dev"]}]})", "",
                  "input.policy.authorization[0].namespaces[0]: must be a namespace name, or a "
                  "prefix ending in *, not \"Web_Dev\""},
        ErrorCase{"RuleEmptyTeam", R"({"authorization": [{"name": "web", "teams": [""]}]})", "",
                  "input.policy.authorization[0].teams[0]: must not be empty"},
        ErrorCase{"EnvironmentConfigRuleError", "",
                  R"({"authorization": [{"name": "web", "classes": ["qa"]}]})",
                  EcPath(".authorization[0].classes[0]: must be one of dev, test, sandbox, prod, "
                         "not \"qa\"")},
        // The EnvironmentConfig's own shape.
        ErrorCase{"EnvironmentConfigClassError", "", R"({"classes": {"prod": {"maxZones": 9}}})",
                  EcPath(".classes.prod.maxZones: must be between 1 and 6")},
        ErrorCase{"EnvironmentConfigPolicyNotAnObject", "", R"([])",
                  "environmentconfig/platform-policy.data.policy: must be an object, not a list"},
        ErrorCase{"EnvironmentConfigUnknownField", "", R"({"class": {}})",
                  EcPath(".class: unknown field; the fields here are environmentConfigRef, tags, "
                         "classes, authorization, regionZones, accounts, clusterAccess")},
        // Zones an account sees.
        ErrorCase{"RegionZonesNotAnObject", R"({"regionZones": ["us-west-1"]})", "",
                  "input.policy.regionZones: must be an object, not a list"},
        ErrorCase{"RegionZonesUnknownRegion", R"({"regionZones": {"mars-north-1": ["a"]}})", "",
                  "input.policy.regionZones.mars-north-1: unknown AWS region; the known regions "
                  "are " +
                      KnownRegions()},
        ErrorCase{"RegionZonesNotAList", R"({"regionZones": {"us-west-1": "b"}})", "",
                  "input.policy.regionZones.us-west-1: must be a list, not a string"},
        ErrorCase{"RegionZonesEmpty", R"({"regionZones": {"us-west-1": []}})", "",
                  "input.policy.regionZones.us-west-1: must list at least one zone letter of "
                  "us-west-1 (a, b, c)"},
        ErrorCase{"RegionZonesUnknownLetter", R"({"regionZones": {"us-west-1": ["b", "d"]}})", "",
                  "input.policy.regionZones.us-west-1[1]: must be a zone letter of us-west-1 (a, "
                  "b, c), not \"d\""},
        ErrorCase{"RegionZonesFullName", R"({"regionZones": {"us-west-1": ["us-west-1b"]}})", "",
                  "input.policy.regionZones.us-west-1[0]: must be a zone letter of us-west-1 (a, "
                  "b, c), not \"us-west-1b\""},
        ErrorCase{"RegionZonesSkippedLetter", R"({"regionZones": {"ap-northeast-1": ["b"]}})", "",
                  "input.policy.regionZones.ap-northeast-1[0]: must be a zone letter of "
                  "ap-northeast-1 (a, c, d), not \"b\""},
        ErrorCase{"RegionZonesNotAString", R"({"regionZones": {"us-west-1": [1]}})", "",
                  "input.policy.regionZones.us-west-1[0]: must be a string, not an integer"},
        ErrorCase{"RegionZonesTwice", R"({"regionZones": {"us-west-1": ["c", "c"]}})", "",
                  "input.policy.regionZones.us-west-1[1]: \"c\" is listed twice, also at [0]"},
        ErrorCase{"RegionZonesMoreThanAnAccountSees",
                  R"({"regionZones": {"us-west-1": ["a", "b", "c"]}})", "",
                  "input.policy.regionZones.us-west-1: an account sees 2 zones of us-west-1, not "
                  "3"},
        ErrorCase{"EnvironmentConfigRegionZonesError", R"({"regionZones": {"us-west-1": ["b"]}})",
                  R"({"regionZones": {"us-east-1": ["a", "g"]}})",
                  EcPath(".regionZones.us-east-1[1]: must be a zone letter of us-east-1 (a, b, c, "
                         "d, e, f), not \"g\"")}),
    CaseName<ErrorCase>);

TEST(PolicyLoadError, EnvironmentConfigDataNotAnObject) {
  const Json ec = Json::parse(R"({"metadata": {"name": "p"}, "data": "policy"})");
  absl::StatusOr<Policies> p = Policies::Load(Input(""), &ec);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(std::string(p.status().message()),
            "environmentconfig/p.data: must be an object, not a string");
}

TEST(PolicyLoadError, UnnamedEnvironmentConfig) {
  const Json ec = Json::parse(R"({"data": {"policy": {"classes": {"dev": {"maxZones": 0}}}}})");
  absl::StatusOr<Policies> p = Policies::Load(Input(""), &ec);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(std::string(p.status().message()),
            "environmentconfig/(unnamed).data.policy.classes.dev.maxZones: must be between 1 and "
            "6");
}

TEST(PolicyLoadError, InputNotAnObject) {
  absl::StatusOr<Policies> p = Policies::Load(Json::array(), nullptr);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(std::string(p.status().message()), "input: must be an object, not a list");
}

// --- EnvironmentConfig selector -------------------------------------------------------

TEST(PolicySelector, NamedByTheInput) {
  const std::optional<pb::ResourceSelector> s = Policies::EnvironmentConfigSelector(
      Input(R"({"environmentConfigRef": {"name": "platform-policy"}})"));
  ASSERT_TRUE(s.has_value());
  EXPECT_TRUE(EqualsProto(FromJson<pb::ResourceSelector>(R"({
    "apiVersion": "apiextensions.crossplane.io/v1beta1", "kind": "EnvironmentConfig",
    "matchName": "platform-policy"})"),
                          *s));
  EXPECT_EQ(Policies::RequirementKey(), "platform-policy");
}

TEST(PolicySelector, NoneWithoutAValidName) {
  for (const std::string policy :
       {"", "{}", R"({"environmentConfigRef": null})", R"({"environmentConfigRef": {}})",
        R"({"environmentConfigRef": {"name": ""}})", R"({"environmentConfigRef": {"name": 3}})",
        R"({"environmentConfigRef": {"name": "Not_A_Name"}})", R"({"environmentConfigRef": "x"})",
        R"("policy")"}) {
    SCOPED_TRACE(policy);
    EXPECT_FALSE(Policies::EnvironmentConfigSelector(Input(policy)).has_value());
  }
  EXPECT_FALSE(Policies::EnvironmentConfigSelector(Json::object()).has_value());
}

// --- Authorization ----------------------------------------------------------------------

constexpr char kRules[] = R"({"authorization": [
  {"name": "web-nonprod", "teams": ["web"], "classes": ["dev", "test"]},
  {"name": "web-prod-eu", "teams": ["web"], "classes": ["prod"], "regions": ["eu-west-1"]},
  {"name": "payments", "namespaces": ["payments-*", "billing"], "classes": ["dev", "prod"],
   "regions": ["us-east-1"]}]})";

struct AuthorizeCase {
  std::string name;
  std::string policy;  // the input's policy
  Subject subject;
  std::string want;  // empty: allowed; else the denial's whole message
};

void PrintTo(const AuthorizeCase& c, std::ostream* os) { *os << c.name; }

Subject Who(std::string team, std::string ns, std::string cls, std::string region) {
  return Subject{"XEnvironment",    "env-1", std::move(ns), std::move(team), std::move(cls),
                 std::move(region), ""};
}

class PolicyAuthorizeTest : public ::testing::TestWithParam<AuthorizeCase> {};

TEST_P(PolicyAuthorizeTest, Authorize) {
  const AuthorizeCase& c = GetParam();
  absl::StatusOr<Policies> p = LoadFrom(c.policy, "");
  ASSERT_TRUE(p.ok()) << p.status();
  const absl::Status s = p->Authorize(c.subject);
  if (c.want.empty()) {
    EXPECT_TRUE(s.ok()) << s;
    return;
  }
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(std::string(s.message()), c.want);
  const std::optional<sdk::ErrorCondition> cond = sdk::ConditionOf(s);
  ASSERT_TRUE(cond.has_value());
  EXPECT_EQ(cond->type, "Authorized");
  EXPECT_EQ(cond->reason, "Denied");
}

INSTANTIATE_TEST_SUITE_P(
    Policy, PolicyAuthorizeTest,
    ::testing::Values(
        AuthorizeCase{"NoRulesAtAllAllowsEveryone", "", Who("anyone", "", "prod", "us-east-1"), ""},
        AuthorizeCase{"EmptyRuleListAllowsEveryone", R"({"authorization": []})",
                      Who("anyone", "x", "prod", "us-east-1"), ""},
        AuthorizeCase{"AllowedByTeam", kRules, Who("web", "web-dev", "dev", "us-east-1"), ""},
        AuthorizeCase{"AllowedByTeamWithoutNamespace", kRules, Who("web", "", "test", "eu-west-1"),
                      ""},
        AuthorizeCase{"AllowedByALaterRuleOfTheSameTeam", kRules,
                      Who("web", "web-prod", "prod", "eu-west-1"), ""},
        AuthorizeCase{"AllowedByNamespacePrefix", kRules,
                      Who("pay", "payments-prod", "prod", "us-east-1"), ""},
        AuthorizeCase{"AllowedByExactNamespace", kRules, Who("", "billing", "dev", "us-east-1"),
                      ""},
        AuthorizeCase{"DeniedByClass", kRules, Who("web", "web-dev", "sandbox", "eu-west-1"),
                      "team \"web\" (namespace \"web-dev\") may not create sandbox XEnvironments "
                      "in eu-west-1: rule \"web-nonprod\" allows classes dev, test in any region; "
                      "rule \"web-prod-eu\" allows classes prod in regions eu-west-1"},
        AuthorizeCase{"DeniedByRegion", kRules, Who("web", "web-dev", "prod", "us-east-1"),
                      "team \"web\" (namespace \"web-dev\") may not create prod XEnvironments in "
                      "us-east-1: rule \"web-nonprod\" allows classes dev, test in any region; "
                      "rule \"web-prod-eu\" allows classes prod in regions eu-west-1"},
        AuthorizeCase{"DeniedByRegionOfANamespaceRule", kRules,
                      Who("pay", "payments-dev", "dev", "eu-west-1"),
                      "team \"pay\" (namespace \"payments-dev\") may not create dev XEnvironments "
                      "in eu-west-1: rule \"payments\" allows classes dev, prod in regions "
                      "us-east-1"},
        AuthorizeCase{"DeniedByClassOfANamespaceRuleWithoutTeam", kRules,
                      Who("", "billing", "test", "us-east-1"),
                      "namespace \"billing\" may not create test XEnvironments in us-east-1: rule "
                      "\"payments\" allows classes dev, prod in regions us-east-1"},
        AuthorizeCase{"NoRuleMatches", kRules, Who("data", "data-dev", "dev", "us-east-1"),
                      "team \"data\" (namespace \"data-dev\") may not create dev XEnvironments in "
                      "us-east-1: no rule matches team \"data\" / namespace \"data-dev\""},
        AuthorizeCase{"NoRuleMatchesWithoutNamespace", kRules, Who("data", "", "dev", "us-east-1"),
                      "team \"data\" may not create dev XEnvironments in us-east-1: no rule "
                      "matches team \"data\" / no namespace"},
        AuthorizeCase{"PrefixIsNotASubstring", kRules,
                      Who("data", "old-payments-dev", "dev", "us-east-1"),
                      "team \"data\" (namespace \"old-payments-dev\") may not create dev "
                      "XEnvironments in us-east-1: no rule matches team \"data\" / namespace "
                      "\"old-payments-dev\""},
        AuthorizeCase{"TeamNamesAreExact", kRules, Who("Web", "", "dev", "us-east-1"),
                      "team \"Web\" may not create dev XEnvironments in us-east-1: no rule "
                      "matches team \"Web\" / no namespace"},
        AuthorizeCase{"RuleForEveryoneAllows",
                      R"({"authorization": [{"name": "sandbox-anyone", "classes": ["sandbox"]}]})",
                      Who("data", "data-dev", "sandbox", "ap-southeast-2"), ""},
        AuthorizeCase{"RuleForEveryoneDenies",
                      R"({"authorization": [{"name": "sandbox-anyone", "classes": ["sandbox"]}]})",
                      Who("data", "data-dev", "prod", "ap-southeast-2"),
                      "team \"data\" (namespace \"data-dev\") may not create prod XEnvironments "
                      "in ap-southeast-2: rule \"sandbox-anyone\" allows classes sandbox in any "
                      "region"},
        AuthorizeCase{"StarMatchesAnyNamespace",
                      R"({"authorization": [{"name": "all-ns", "namespaces": ["*"],
                                             "regions": ["eu-west-1"]}]})",
                      Who("data", "data-dev", "prod", "us-east-1"),
                      "team \"data\" (namespace \"data-dev\") may not create prod XEnvironments "
                      "in us-east-1: rule \"all-ns\" allows any class in regions eu-west-1"},
        AuthorizeCase{"StarDoesNotMatchAClusterScopedXr",
                      R"({"authorization": [{"name": "all-ns", "namespaces": ["*"]}]})",
                      Who("data", "", "prod", "us-east-1"),
                      "team \"data\" may not create prod XEnvironments in us-east-1: no rule "
                      "matches team \"data\" / no namespace"}),
    CaseName<AuthorizeCase>);

TEST(PolicyAuthorize, NamesAnUnknownKindAsXrs) {
  absl::StatusOr<Policies> p = LoadFrom(kRules, "");
  ASSERT_TRUE(p.ok()) << p.status();
  Subject s = Who("data", "", "dev", "us-east-1");
  s.xr_kind = "";
  EXPECT_EQ(std::string(p->Authorize(s).message()),
            "team \"data\" may not create dev XRs in us-east-1: no rule matches team \"data\" / "
            "no namespace");
}

// --- Mandated tags ----------------------------------------------------------------------

struct TagsCase {
  std::string name;
  std::string input;  // the input's policy
  std::string ec;     // the EnvironmentConfig's data.policy; empty for none
  Subject subject;
  std::string want;
};

void PrintTo(const TagsCase& c, std::ostream* os) { *os << c.name; }

class PolicyMandatedTagsTest : public ::testing::TestWithParam<TagsCase> {};

TEST_P(PolicyMandatedTagsTest, Tags) {
  const TagsCase& c = GetParam();
  absl::StatusOr<Policies> p = LoadFrom(c.input, c.ec);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->MandatedTags(c.subject), Json::parse(c.want));
}

Subject WithCostCenter(Subject s, std::string cost_center) {
  s.cost_center = std::move(cost_center);
  return s;
}

INSTANTIATE_TEST_SUITE_P(
    Policy, PolicyMandatedTagsTest,
    ::testing::Values(TagsCase{"PlatformKeysWithCostCenter", "", "",
                               WithCostCenter(Who("web", "web-dev", "dev", "eu-west-1"), "cc-1234"),
                               R"({"platform.terraforming.io/environment": "dev",
                     "platform.terraforming.io/team": "web",
                     "platform.terraforming.io/cost-center": "cc-1234",
                     "platform.terraforming.io/managed-by": "function-platform",
                     "platform.terraforming.io/composite": "env-1"})"},
                      TagsCase{"CostCenterAbsent", "", "",
                               Who("web", "web-dev", "prod", "eu-west-1"),
                               R"({"platform.terraforming.io/environment": "prod",
                     "platform.terraforming.io/team": "web",
                     "platform.terraforming.io/managed-by": "function-platform",
                     "platform.terraforming.io/composite": "env-1"})"},
                      TagsCase{"ExtraTagsFromInputAndEnvironmentConfig",
                               R"({"tags": {"owner": "platform", "compliance": "soc2"}})",
                               R"({"tags": {"compliance": "iso27001"}})",
                               Who("web", "web-dev", "test", "eu-west-1"),
                               R"({"owner": "platform", "compliance": "iso27001",
                     "platform.terraforming.io/environment": "test",
                     "platform.terraforming.io/team": "web",
                     "platform.terraforming.io/managed-by": "function-platform",
                     "platform.terraforming.io/composite": "env-1"})"}),
    CaseName<TagsCase>);

// Applies the mandated tags to `desired` (name -> object) and returns the
// objects as they end up.
Json Apply(const Policies& p, const Subject& s, const Json& desired) {
  pb::RunFunctionRequest req;
  sdk::Response rsp(req, absl::Seconds(60));
  for (auto it = desired.begin(); it != desired.end(); ++it) rsp.SetDesired(it.key(), it.value());
  p.ApplyMandatedTags(s, rsp);
  Json out = Json::object();
  for (const auto& [name, d] : rsp.desired()) out[name] = d.object;
  return out;
}

const Subject kSubject = WithCostCenter(Who("web", "web-dev", "dev", "eu-west-1"), "cc-1");

constexpr char kMandated[] = R"({"owner": "platform",
  "platform.terraforming.io/environment": "dev", "platform.terraforming.io/team": "web",
  "platform.terraforming.io/cost-center": "cc-1",
  "platform.terraforming.io/managed-by": "function-platform",
  "platform.terraforming.io/composite": "env-1"})";

TEST(PolicyApplyMandatedTags, MandatedTagsWinOverTagsThere) {
  absl::StatusOr<Policies> p = LoadFrom(R"({"tags": {"owner": "platform"}})", "");
  ASSERT_TRUE(p.ok()) << p.status();
  const Json got = Apply(*p, kSubject, Json::parse(R"({
    "vpc": {"apiVersion": "ec2.aws.upbound.io/v1beta1", "kind": "VPC",
            "spec": {"forProvider": {"region": "eu-west-1", "tags": {
              "Name": "env-1", "owner": "someone else", "platform.terraforming.io/team": "evil"}}}}
  })"));
  Json want_tags = Json::parse(kMandated);
  want_tags["Name"] = "env-1";
  EXPECT_EQ(got["vpc"]["spec"]["forProvider"]["tags"], want_tags);
  EXPECT_EQ(got["vpc"]["spec"]["forProvider"]["region"], "eu-west-1");
}

TEST(PolicyApplyMandatedTags, TaggableKindsGetTagsCreated) {
  absl::StatusOr<Policies> p = LoadFrom(R"({"tags": {"owner": "platform"}})", "");
  ASSERT_TRUE(p.ok()) << p.status();
  const Json got = Apply(*p, kSubject, Json::parse(R"({
    "subnet": {"apiVersion": "ec2.aws.m.upbound.io/v1beta1", "kind": "Subnet",
               "metadata": {"namespace": "web-dev"},
               "spec": {"forProvider": {"cidrBlock": "10.0.0.0/24"}}},
    "cluster": {"apiVersion": "eks.aws.upbound.io/v1beta2", "kind": "Cluster",
                "spec": {"forProvider": {"tags": null}}},
    "role": {"apiVersion": "iam.aws.upbound.io/v1beta1", "kind": "Role", "spec": {}},
    "db": {"apiVersion": "rds.aws.upbound.io/v1beta3", "kind": "Instance"},
    "bad-tags": {"apiVersion": "ec2.aws.upbound.io/v1beta1", "kind": "NATGateway",
                 "spec": {"forProvider": {"tags": ["not", "a", "map"]}}}
  })"));
  const Json mandated = Json::parse(kMandated);
  for (const char* name : {"subnet", "cluster", "role", "db", "bad-tags"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(got[name]["spec"]["forProvider"]["tags"], mandated);
  }
  EXPECT_EQ(got["subnet"]["spec"]["forProvider"]["cidrBlock"], "10.0.0.0/24");
  EXPECT_EQ(got["subnet"]["metadata"]["namespace"], "web-dev");
}

TEST(PolicyApplyMandatedTags, OthersAreLeftAlone) {
  const Json desired = Json::parse(R"({
    "rta": {"apiVersion": "ec2.aws.upbound.io/v1beta1", "kind": "RouteTableAssociation",
            "spec": {"forProvider": {"subnetId": "s"}}},
    "route": {"apiVersion": "ec2.aws.m.upbound.io/v1beta1", "kind": "Route",
              "spec": {"forProvider": {}}},
    "sgr": {"apiVersion": "ec2.aws.upbound.io/v1beta1", "kind": "SecurityGroupRule",
            "spec": {"forProvider": {}}},
    "auth": {"apiVersion": "eks.aws.upbound.io/v1beta1", "kind": "ClusterAuth",
             "spec": {"forProvider": {}}},
    "rpa": {"apiVersion": "iam.aws.upbound.io/v1beta1", "kind": "RolePolicyAttachment",
            "spec": {"forProvider": {}}},
    "apa": {"apiVersion": "eks.aws.m.upbound.io/v1beta1", "kind": "AccessPolicyAssociation",
            "spec": {"forProvider": {}}},
    "bv": {"apiVersion": "s3.aws.upbound.io/v1beta2", "kind": "BucketVersioning",
           "spec": {"forProvider": {}}},
    "bpab": {"apiVersion": "s3.aws.upbound.io/v1beta1", "kind": "BucketPublicAccessBlock",
             "spec": {"forProvider": {}}},
    "bsse": {"apiVersion": "s3.aws.upbound.io/v1beta2",
             "kind": "BucketServerSideEncryptionConfiguration", "spec": {"forProvider": {}}},
    "capi": {"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster",
             "spec": {"forProvider": {"tags": {"a": "b"}}}},
    "usage": {"apiVersion": "protection.crossplane.io/v1beta1", "kind": "Usage",
              "spec": {"of": {"kind": "VPC"}}},
    "secret": {"apiVersion": "v1", "kind": "Secret", "data": {}},
    "providerconfig": {"apiVersion": "aws.upbound.io/v1beta1", "kind": "ProviderConfig",
                       "spec": {}},
    "lookalike": {"apiVersion": "ec2.aws.upbound.io.example.org/v1", "kind": "VPC",
                  "spec": {"forProvider": {}}},
    "no-version": {"kind": "VPC", "spec": {"forProvider": {}}},
    "spec-not-object": {"apiVersion": "ec2.aws.upbound.io/v1beta1", "kind": "VPC",
                        "spec": "odd"}
  })");
  const Json got = Apply(Policies(), kSubject, desired);
  EXPECT_EQ(got, desired);
}

TEST(PolicyApplyMandatedTags, TaggableKinds) {
  for (const char* kind :
       {"VPC", "Subnet", "SecurityGroup", "NATGateway", "EIP", "RouteTable", "InternetGateway",
        "Cluster", "NodeGroup", "Role", "Bucket", "Instance", "SubnetGroup"}) {
    EXPECT_TRUE(Policies::IsTaggableKind(kind)) << kind;
  }
  for (const char* kind : {"Route", "RouteTableAssociation", "SecurityGroupRule", "ClusterAuth",
                           "RolePolicyAttachment", "AccessPolicyAssociation", "BucketVersioning",
                           "BucketPublicAccessBlock", "BucketServerSideEncryptionConfiguration"}) {
    EXPECT_FALSE(Policies::IsTaggableKind(kind)) << kind;
  }
}

// --- Accounts -------------------------------------------------------------------------

Json ToJson(const Account& a) {
  Json j = {{"providerConfig", a.provider_config}};
  if (a.HasIdentity())
    j["clusterIdentity"] = {{"kind", a.identity_kind}, {"name", a.identity_name}};
  return j;
}

TEST(PolicyAccounts, DefaultIsProviderConfigDefaultWithoutIdentity) {
  const Account want;
  EXPECT_EQ(want.provider_config, "default");
  EXPECT_FALSE(want.HasIdentity());
  for (const Policies& p : {Policies(), *Policies::Load(Input("{}"), nullptr)}) {
    for (std::string_view cls : kEnvironmentClasses) {
      SCOPED_TRACE(cls);
      EXPECT_EQ(p.Limits(cls).account, want);
      EXPECT_EQ(p.AccountFor(Who("web", "", std::string(cls), "eu-west-1")), want);
    }
    EXPECT_TRUE(p.account_rules().empty());
  }
  // An unknown class too: composing for it is refused before, but nothing
  // would go to another account.
  EXPECT_EQ(Policies().AccountFor(Who("web", "", "staging", "eu-west-1")), want);
}

// Precedence: the first rule of `accounts` listing the team (and the class,
// when the rule lists classes), then the class's account, then the default.
constexpr char kAccounts[] = R"({
  "classes": {
    "prod": {"account": {"providerConfig": "prod-shared",
                         "clusterIdentity": {"kind": "AWSClusterRoleIdentity", "name": "prod"}}},
    "test": {"account": {"providerConfig": "nonprod"}}},
  "accounts": [
    {"name": "payments-prod", "teams": ["payments", "billing"], "classes": ["prod"],
     "providerConfig": "payments-prod",
     "clusterIdentity": {"kind": "AWSClusterStaticIdentity", "name": "payments-prod"}},
    {"name": "payments", "teams": ["payments"], "providerConfig": "payments-nonprod"},
    {"name": "ops", "teams": ["ops"], "classes": ["dev", "test"], "providerConfig": "ops",
     "clusterIdentity": {"kind": "AWSClusterControllerIdentity", "name": "default"}}]})";

struct AccountCase {
  std::string name;
  std::string team;
  std::string cls;
  std::string want;  // ToJson of the account
};

void PrintTo(const AccountCase& c, std::ostream* os) { *os << c.name; }

class PolicyAccountForTest : public ::testing::TestWithParam<AccountCase> {};

TEST_P(PolicyAccountForTest, Resolves) {
  const AccountCase& c = GetParam();
  absl::StatusOr<Policies> p = LoadFrom(kAccounts, "");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(ToJson(p->AccountFor(Who(c.team, "team-ns", c.cls, "eu-west-1"))), Json::parse(c.want));
}

INSTANTIATE_TEST_SUITE_P(
    Policy, PolicyAccountForTest,
    ::testing::Values(
        AccountCase{"TeamAndClassRule", "payments", "prod",
                    R"({"providerConfig": "payments-prod", "clusterIdentity":
                        {"kind": "AWSClusterStaticIdentity", "name": "payments-prod"}})"},
        AccountCase{"SecondTeamOfTheRule", "billing", "prod",
                    R"({"providerConfig": "payments-prod", "clusterIdentity":
                        {"kind": "AWSClusterStaticIdentity", "name": "payments-prod"}})"},
        // The first rule is for prod only: the team's next rule applies.
        AccountCase{"TeamRuleForAnyClass", "payments", "dev",
                    R"({"providerConfig": "payments-nonprod"})"},
        // A team rule wins over the class's account.
        AccountCase{"TeamRuleWinsOverTheClass", "payments", "test",
                    R"({"providerConfig": "payments-nonprod"})"},
        // billing's only rule is for prod: its test XRs go to test's account.
        AccountCase{"ClassAccount", "billing", "test", R"({"providerConfig": "nonprod"})"},
        AccountCase{"ClassAccountWithIdentity", "web", "prod",
                    R"({"providerConfig": "prod-shared", "clusterIdentity":
                        {"kind": "AWSClusterRoleIdentity", "name": "prod"}})"},
        AccountCase{"ControllerIdentity", "ops", "dev",
                    R"({"providerConfig": "ops", "clusterIdentity":
                        {"kind": "AWSClusterControllerIdentity", "name": "default"}})"},
        AccountCase{"NoRuleNoClassAccount", "web", "sandbox", R"({"providerConfig": "default"})"},
        // Teams match exactly, as in authorization.
        AccountCase{"TeamsAreExact", "Payments", "dev", R"({"providerConfig": "default"})"}),
    CaseName<AccountCase>);

TEST(PolicyAccounts, RulesAreReadInOrder) {
  absl::StatusOr<Policies> p = LoadFrom(kAccounts, "");
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->account_rules().size(), 3u);
  const AccountRule& r = p->account_rules()[0];
  EXPECT_EQ(r.name, "payments-prod");
  EXPECT_THAT(r.teams, ElementsAre("payments", "billing"));
  EXPECT_THAT(r.classes, ElementsAre("prod"));
  EXPECT_EQ(r.account.provider_config, "payments-prod");
  EXPECT_EQ(r.account.identity_kind, "AWSClusterStaticIdentity");
  EXPECT_TRUE(p->account_rules()[1].classes.empty());
}

TEST(PolicyAccounts, EnvironmentConfigReplacesAClassAccountWhole) {
  // The input's identity does not survive beside the EnvironmentConfig's
  // ProviderConfig: they would name two accounts.
  absl::StatusOr<Policies> p = LoadFrom(
      R"({"classes": {"prod": {"maxZones": 4, "account": {"providerConfig": "prod-a",
          "clusterIdentity": {"kind": "AWSClusterRoleIdentity", "name": "prod-a"}}}}})",
      R"({"classes": {"prod": {"account": {"providerConfig": "prod-b"}}}})");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(ToJson(p->Limits("prod").account), Json({{"providerConfig", "prod-b"}}));
  EXPECT_EQ(p->Limits("prod").max_zones, 4);  // other fields of the class stay
}

TEST(PolicyAccounts, ClassAccountKeptWhenTheEnvironmentConfigSetsNone) {
  absl::StatusOr<Policies> p =
      LoadFrom(R"({"classes": {"prod": {"account": {"providerConfig": "prod-a"}}}})",
               R"({"classes": {"prod": {"maxZones": 2}}})");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->Limits("prod").account.provider_config, "prod-a");
}

TEST(PolicyAccounts, EnvironmentConfigReplacesTheRules) {
  const std::string input =
      R"({"accounts": [{"name": "a", "teams": ["web"], "providerConfig": "web"}]})";
  absl::StatusOr<Policies> replaced = LoadFrom(
      input, R"({"accounts": [{"name": "b", "teams": ["data"], "providerConfig": "data"}]})");
  ASSERT_TRUE(replaced.ok()) << replaced.status();
  ASSERT_EQ(replaced->account_rules().size(), 1u);
  EXPECT_EQ(replaced->account_rules()[0].name, "b");
  EXPECT_EQ(replaced->AccountFor(Who("web", "", "dev", "eu-west-1")).provider_config, "default");

  absl::StatusOr<Policies> kept = LoadFrom(input, R"({"tags": {"a": "b"}})");
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_EQ(kept->AccountFor(Who("web", "", "dev", "eu-west-1")).provider_config, "web");

  absl::StatusOr<Policies> emptied = LoadFrom(input, R"({"accounts": []})");
  ASSERT_TRUE(emptied.ok()) << emptied.status();
  EXPECT_TRUE(emptied->account_rules().empty());
}

INSTANTIATE_TEST_SUITE_P(
    PolicyAccounts, PolicyLoadErrorTest,
    ::testing::Values(
        // A class's account.
        ErrorCase{"AccountNotAnObject", R"({"classes": {"prod": {"account": "prod"}}})", "",
                  "input.policy.classes.prod.account: must be an object, not a string"},
        ErrorCase{"AccountUnknownField",
                  R"({"classes": {"prod": {"account": {"providerConfigRef": {"name": "p"}}}}})", "",
                  "input.policy.classes.prod.account.providerConfigRef: unknown field; the "
                  "fields here are providerConfig, clusterIdentity"},
        ErrorCase{"AccountWithoutProviderConfig",
                  R"({"classes": {"prod": {"account": {"clusterIdentity":
                      {"kind": "AWSClusterRoleIdentity", "name": "prod"}}}}})",
                  "", "input.policy.classes.prod.account.providerConfig: required"},
        ErrorCase{"AccountProviderConfigNotAName",
                  R"({"classes": {"prod": {"account": {"providerConfig": "Prod_Account"}}}})", "",
                  "input.policy.classes.prod.account.providerConfig: must be the name of a "
                  "ProviderConfig (lower case letters, digits, '-' and '.'), not "
                  "\"Prod_Account\""},
        ErrorCase{"AccountProviderConfigEmpty",
                  R"({"classes": {"prod": {"account": {"providerConfig": ""}}}})", "",
                  "input.policy.classes.prod.account.providerConfig: must be the name of a "
                  "ProviderConfig (lower case letters, digits, '-' and '.'), not \"\""},
        ErrorCase{"IdentityUnknownKind",
                  R"({"classes": {"prod": {"account": {"providerConfig": "prod",
                      "clusterIdentity": {"kind": "AWSClusterIdentity", "name": "prod"}}}}})",
                  "",
                  "input.policy.classes.prod.account.clusterIdentity.kind: must be one of "
                  "AWSClusterControllerIdentity, AWSClusterRoleIdentity, "
                  "AWSClusterStaticIdentity, not \"AWSClusterIdentity\""},
        ErrorCase{"IdentityWithoutKind",
                  R"({"classes": {"prod": {"account": {"providerConfig": "prod",
                      "clusterIdentity": {"name": "prod"}}}}})",
                  "", "input.policy.classes.prod.account.clusterIdentity.kind: required"},
        ErrorCase{"IdentityWithoutName",
                  R"({"classes": {"prod": {"account": {"providerConfig": "prod",
                      "clusterIdentity": {"kind": "AWSClusterRoleIdentity"}}}}})",
                  "", "input.policy.classes.prod.account.clusterIdentity.name: required"},
        ErrorCase{"IdentityNameNotAName",
                  R"({"classes": {"prod": {"account": {"providerConfig": "prod",
                      "clusterIdentity": {"kind": "AWSClusterStaticIdentity", "name": "Prod"}}}}})",
                  "",
                  "input.policy.classes.prod.account.clusterIdentity.name: must be the name of an "
                  "AWSClusterStaticIdentity (lower case letters, digits, '-' and '.'), not "
                  "\"Prod\""},
        ErrorCase{"ControllerIdentityNotDefault",
                  R"({"classes": {"prod": {"account": {"providerConfig": "prod",
                      "clusterIdentity": {"kind": "AWSClusterControllerIdentity",
                                          "name": "prod"}}}}})",
                  "",
                  "input.policy.classes.prod.account.clusterIdentity.name: an "
                  "AWSClusterControllerIdentity is the singleton named default, not \"prod\""},
        ErrorCase{"IdentityUnknownField",
                  R"({"classes": {"prod": {"account": {"providerConfig": "prod",
                      "clusterIdentity": {"kind": "AWSClusterRoleIdentity", "name": "prod",
                                          "namespace": "x"}}}}})",
                  "",
                  "input.policy.classes.prod.account.clusterIdentity.namespace: unknown field; "
                  "the fields here are kind, name"},
        ErrorCase{"EnvironmentConfigAccountError", "",
                  R"({"classes": {"dev": {"account": {"providerConfig": "dev_1"}}}})",
                  EcPath(".classes.dev.account.providerConfig: must be the name of a "
                         "ProviderConfig (lower case letters, digits, '-' and '.'), not "
                         "\"dev_1\"")},
        // Account rules.
        ErrorCase{"AccountsNotAList", R"({"accounts": {"name": "x"}})", "",
                  "input.policy.accounts: must be a list, not an object"},
        ErrorCase{"AccountRuleUnknownField",
                  R"({"accounts": [{"name": "a", "teams": ["web"], "providerConfig": "web",
                                    "namespaces": ["web-*"]}]})",
                  "",
                  "input.policy.accounts[0].namespaces: unknown field; the fields here are name, "
                  "teams, classes, providerConfig, clusterIdentity"},
        ErrorCase{"AccountRuleWithoutName",
                  R"({"accounts": [{"teams": ["web"], "providerConfig": "web"}]})", "",
                  "input.policy.accounts[0].name: required"},
        ErrorCase{"AccountRuleNameTwice",
                  R"({"accounts": [{"name": "a", "teams": ["web"], "providerConfig": "web"},
                                   {"name": "a", "teams": ["data"], "providerConfig": "data"}]})",
                  "",
                  "input.policy.accounts[1].name: account rule \"a\" is defined twice, also at "
                  "input.policy.accounts[0]"},
        ErrorCase{"AccountRuleWithoutTeams",
                  R"({"accounts": [{"name": "prod", "classes": ["prod"],
                                    "providerConfig": "prod"}]})",
                  "",
                  "input.policy.accounts[0].teams: must list at least one team; a class's own "
                  "account is classes.<class>.account"},
        ErrorCase{"AccountRuleEmptyTeam",
                  R"({"accounts": [{"name": "a", "teams": [""], "providerConfig": "web"}]})", "",
                  "input.policy.accounts[0].teams[0]: must not be empty"},
        ErrorCase{"AccountRuleUnknownClass",
                  R"({"accounts": [{"name": "a", "teams": ["web"], "classes": ["staging"],
                                    "providerConfig": "web"}]})",
                  "",
                  "input.policy.accounts[0].classes[0]: must be one of dev, test, sandbox, prod, "
                  "not \"staging\""},
        ErrorCase{"AccountRuleWithoutProviderConfig",
                  R"({"accounts": [{"name": "a", "teams": ["web"]}]})", "",
                  "input.policy.accounts[0].providerConfig: required"},
        ErrorCase{"AccountRuleBadIdentity",
                  R"({"accounts": [{"name": "a", "teams": ["web"], "providerConfig": "web",
                      "clusterIdentity": {"kind": "AWSClusterControllerIdentity",
                                          "name": "web"}}]})",
                  "",
                  "input.policy.accounts[0].clusterIdentity.name: an "
                  "AWSClusterControllerIdentity is the singleton named default, not \"web\""},
        // First match wins: a rule an earlier one always wins over is refused.
        ErrorCase{"AccountRuleShadowedByAnyClass",
                  R"({"accounts": [{"name": "web", "teams": ["web", "data"], "providerConfig": "a"},
                                   {"name": "web-prod", "teams": ["web"], "classes": ["prod"],
                                    "providerConfig": "b"}]})",
                  "",
                  "input.policy.accounts[1]: account rule \"web-prod\" never applies: rule "
                  "\"web\" at input.policy.accounts[0] comes first and matches all its teams and "
                  "classes"},
        ErrorCase{"AccountRuleShadowedBySameClasses",
                  R"({"accounts": [{"name": "a", "teams": ["web"], "classes": ["dev", "test"],
                                    "providerConfig": "a"},
                                   {"name": "b", "teams": ["web"], "classes": ["test"],
                                    "providerConfig": "b"}]})",
                  "",
                  "input.policy.accounts[1]: account rule \"b\" never applies: rule \"a\" at "
                  "input.policy.accounts[0] comes first and matches all its teams and classes"},
        ErrorCase{"EnvironmentConfigAccountRuleError", "",
                  R"({"accounts": [{"name": "a", "teams": ["web"], "providerConfig": "A"}]})",
                  EcPath(".accounts[0].providerConfig: must be the name of a ProviderConfig "
                         "(lower case letters, digits, '-' and '.'), not \"A\"")}),
    CaseName<ErrorCase>);

// --- Applying the account ----------------------------------------------------------------

// Applies the account of `subject` to `desired` (name -> object) and returns
// the objects as they end up.
Json ApplyAccountTo(const Policies& p, const Subject& s, const Json& desired) {
  pb::RunFunctionRequest req;
  sdk::Response rsp(req, absl::Seconds(60));
  for (auto it = desired.begin(); it != desired.end(); ++it) rsp.SetDesired(it.key(), it.value());
  p.ApplyAccount(s, rsp);
  Json out = Json::object();
  for (const auto& [name, d] : rsp.desired()) out[name] = d.object;
  return out;
}

constexpr char kDesiredOfEveryKind[] = R"({
  "vpc": {"apiVersion": "ec2.aws.upbound.io/v1beta1", "kind": "VPC",
          "spec": {"forProvider": {"region": "eu-west-1"}}},
  "route": {"apiVersion": "ec2.aws.upbound.io/v1beta2", "kind": "Route",
            "spec": {"forProvider": {}, "providerConfigRef": {"name": "someone-elses"}}},
  "role": {"apiVersion": "iam.aws.upbound.io/v1beta1", "kind": "Role"},
  "subnet": {"apiVersion": "ec2.aws.m.upbound.io/v1beta1", "kind": "Subnet",
             "metadata": {"namespace": "web-dev"}, "spec": {"forProvider": {}}},
  "controlplane": {"apiVersion": "controlplane.cluster.x-k8s.io/v1beta2",
                   "kind": "AWSManagedControlPlane", "spec": {"region": "eu-west-1"}},
  "awscluster": {"apiVersion": "infrastructure.cluster.x-k8s.io/v1beta2", "kind": "AWSCluster",
                 "spec": {}},
  "awsmanagedcluster": {"apiVersion": "infrastructure.cluster.x-k8s.io/v1beta2",
                        "kind": "AWSManagedCluster", "spec": {}},
  "kubeadm": {"apiVersion": "controlplane.cluster.x-k8s.io/v1beta2",
              "kind": "KubeadmControlPlane", "spec": {}},
  "xcluster": {"apiVersion": "platform.terraforming.io/v1alpha1", "kind": "XCluster",
               "spec": {"parameters": {}}},
  "usage": {"apiVersion": "protection.crossplane.io/v1beta1", "kind": "ClusterUsage",
            "spec": {"of": {"kind": "VPC"}}},
  "providerconfig": {"apiVersion": "aws.upbound.io/v1beta1", "kind": "ProviderConfig",
                     "spec": {}},
  "lookalike": {"apiVersion": "ec2.aws.upbound.io.example.org/v1", "kind": "VPC", "spec": {}},
  "spec-not-object": {"apiVersion": "ec2.aws.upbound.io/v1beta1", "kind": "VPC", "spec": "odd"}
})";

TEST(PolicyApplyAccount, EveryAwsManagedResourceNamesTheAccount) {
  absl::StatusOr<Policies> p = LoadFrom(kAccounts, "");
  ASSERT_TRUE(p.ok()) << p.status();
  const Json desired = Json::parse(kDesiredOfEveryKind);
  const Json got = ApplyAccountTo(*p, Who("payments", "", "prod", "eu-west-1"), desired);
  const Json cluster_scoped = {{"name", "payments-prod"}};
  const Json namespaced = {{"kind", "ClusterProviderConfig"}, {"name", "payments-prod"}};
  const Json identity = {{"kind", "AWSClusterStaticIdentity"}, {"name", "payments-prod"}};
  // Taggable or not, whatever was there.
  EXPECT_EQ(got["vpc"]["spec"]["providerConfigRef"], cluster_scoped);
  EXPECT_EQ(got["route"]["spec"]["providerConfigRef"], cluster_scoped);
  EXPECT_EQ(got["role"]["spec"]["providerConfigRef"], cluster_scoped);
  EXPECT_EQ(got["subnet"]["spec"]["providerConfigRef"], namespaced);
  EXPECT_EQ(got["vpc"]["spec"]["forProvider"], desired["vpc"]["spec"]["forProvider"]);
  // The CAPA kinds that take an identity, and only those.
  EXPECT_EQ(got["controlplane"]["spec"]["identityRef"], identity);
  EXPECT_EQ(got["controlplane"]["spec"]["region"], "eu-west-1");
  EXPECT_EQ(got["awscluster"]["spec"]["identityRef"], identity);
  EXPECT_FALSE(got["controlplane"]["spec"].contains("providerConfigRef"));
  for (const char* name : {"awsmanagedcluster", "kubeadm", "xcluster", "usage", "providerconfig",
                           "lookalike", "spec-not-object"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(got[name], desired[name]);
  }
}

TEST(PolicyApplyAccount, TheDefaultIsNamedToo) {
  const Json desired = Json::parse(kDesiredOfEveryKind);
  const Json got = ApplyAccountTo(Policies(), Who("web", "", "dev", "eu-west-1"), desired);
  EXPECT_EQ(got["vpc"]["spec"]["providerConfigRef"], Json({{"name", "default"}}));
  EXPECT_EQ(got["route"]["spec"]["providerConfigRef"], Json({{"name", "default"}}));
  EXPECT_EQ(got["subnet"]["spec"]["providerConfigRef"],
            Json({{"kind", "ClusterProviderConfig"}, {"name", "default"}}));
  // No identity: CAPA uses its controller's credentials, as before.
  EXPECT_EQ(got["controlplane"], desired["controlplane"]);
  EXPECT_EQ(got["awscluster"], desired["awscluster"]);
}

// --- Violations ---------------------------------------------------------------------

struct ViolationCase {
  std::string name;
  absl::StatusCode code;
  std::string type;
  std::string reason;
  absl::StatusCode want_code;
};

void PrintTo(const ViolationCase& c, std::ostream* os) { *os << c.name; }

class PolicyViolationTest : public ::testing::TestWithParam<ViolationCase> {};

TEST_P(PolicyViolationTest, RoundTrip) {
  const ViolationCase& c = GetParam();
  const absl::Status s = Violation(c.code, c.type, c.reason, "spec.parameters.zones: too many");
  EXPECT_EQ(s.code(), c.want_code);
  EXPECT_EQ(std::string(s.message()), "spec.parameters.zones: too many");
  const absl::Status copy = s;  // the condition travels with the status
  const std::optional<sdk::ErrorCondition> cond = sdk::ConditionOf(copy);
  ASSERT_TRUE(cond.has_value());
  EXPECT_EQ(cond->type, c.type);
  EXPECT_EQ(cond->reason, c.reason);
}

INSTANTIATE_TEST_SUITE_P(
    Policy, PolicyViolationTest,
    ::testing::Values(ViolationCase{"Denied", absl::StatusCode::kPermissionDenied, "Authorized",
                                    "Denied", absl::StatusCode::kPermissionDenied},
                      ViolationCase{"Limit", absl::StatusCode::kFailedPrecondition,
                                    "PolicyCompliant", "PolicyViolation",
                                    absl::StatusCode::kFailedPrecondition},
                      ViolationCase{"InvalidArgument", absl::StatusCode::kInvalidArgument,
                                    "NetworkValid", "OverlappingCidr",
                                    absl::StatusCode::kInvalidArgument},
                      ViolationCase{"OkIsNeverAViolation", absl::StatusCode::kOk, "Authorized",
                                    "Denied", absl::StatusCode::kFailedPrecondition}),
    CaseName<ViolationCase>);

TEST(PolicyViolation, FieldViolation) {
  const absl::Status s = FieldViolation("spec.parameters.zoneCount", "dev allows at most 2 zones");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(std::string(s.message()), "spec.parameters.zoneCount: dev allows at most 2 zones");
  const std::optional<sdk::ErrorCondition> cond = sdk::ConditionOf(s);
  ASSERT_TRUE(cond.has_value());
  EXPECT_EQ(cond->type, kConditionCompliant);
  EXPECT_EQ(cond->reason, kReasonViolation);
}

TEST(PolicyViolation, NoConditionOnOtherStatuses) {
  EXPECT_FALSE(sdk::ConditionOf(absl::OkStatus()).has_value());
  EXPECT_FALSE(sdk::ConditionOf(absl::InvalidArgumentError("spec.x: required")).has_value());
  absl::Status other = absl::InternalError("x");
  other.SetPayload("type.example.org/other", absl::Cord("Authorized/Denied"));
  EXPECT_FALSE(sdk::ConditionOf(other).has_value());
}

}  // namespace
}  // namespace platform::fn::policy
