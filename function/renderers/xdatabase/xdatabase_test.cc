// The XDatabase renderer through the Runner and the builtin registry, as
// Crossplane calls it: what is composed per engine and mode, the class's
// defaults and limits, the network (ids or an XEnvironment), the clients,
// the connection details, the deletion order and the status.
#include "function/renderers/xdatabase/xdatabase.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "function/registry.h"
#include "function/renderers/builtin.h"
#include "function/runner.h"
#include "function/sdk/fields.h"
#include "function/sdk/strings.h"
#include "function/sdk/struct_json.h"
#include "function/testing/proto_test_util.h"
#include "function/testing/render_test_util.h"
#include "function/testing/rendered.h"

namespace platform::fn::renderers {
namespace {

using ::platform::fn::testing::At;
using ::platform::fn::testing::Call;
using ::platform::fn::testing::CaseName;
using ::platform::fn::testing::Names;
using ::platform::fn::testing::PolicyInput;
using ::platform::fn::testing::Rendered;
using ::platform::fn::testing::RequestOf;
using ::platform::fn::testing::RunOk;
using ::platform::fn::testing::RunProto;
using ::platform::fn::testing::With;
using ::platform::fn::testing::XrOf;
using ::testing::HasSubstr;

using sdk::Json;

constexpr char kXrName[] = "payments-db";

Json Xr(const Json& parameters, const std::string& ns = "",
        const std::string& claim_ns = "team-payments") {
  return XrOf("XDatabase", kXrName, parameters, ns, claim_ns);
}

// --- Requests ---------------------------------------------------------------------

Json Params(const std::string& environment = "dev") {
  return {{"environment", environment},
          {"region", "eu-west-1"},
          {"team", "payments"},
          {"engine", "postgres"},
          {"network",
           {{"vpcId", "vpc-0abc"},
            {"vpcCidr", "10.0.0.0/16"},
            {"databaseSubnetIds", {"subnet-0d1", "subnet-0d2"}}}},
          {"clients", {{"securityGroupIds", {"sg-0app"}}, {"cidrBlocks", {"10.0.32.0/20"}}}}};
}

// Observed objects: what Crossplane reports back once they exist.
Json ReadyObject(const Json& at_provider = Json::object()) {
  return {{"status",
           {{"atProvider", at_provider},
            {"conditions", {{{"type", "Ready"}, {"status", "True"}, {"reason", "Available"}}}}}}};
}

// The ingress rule resources of a render.
Names Rules(const Rendered& r) { return r.NamesWith("sgr-"); }

// --- Engines and modes ---------------------------------------------------------------

struct EngineCase {
  std::string name;
  Json patch;
  std::string kind;  // of the rds resource: Instance | Cluster
  std::string rds_engine;
  std::string engine_version;
  std::string family;
  int port;
  Names database;  // the rds resources
};

void PrintTo(const EngineCase& c, std::ostream* os) { *os << c.name; }

class XDatabaseEngineTest : public ::testing::TestWithParam<EngineCase> {};

TEST_P(XDatabaseEngineTest, ComposesTheEngineInItsMode) {
  const EngineCase& c = GetParam();
  const Rendered r =
      RunOk(Call{.xr = Xr(With(With(Params(), c.patch), {{"parameters", {{"p", "1"}}}}))});
  const std::string rds = c.kind == "Instance" ? "instance" : "cluster";
  Names want = {"kms-key",
                "subnetgroup",
                "securitygroup",
                "parametergroup",
                "usage-subnetgroup-by-" + rds,
                "usage-securitygroup-by-" + rds,
                "usage-kms-key-by-" + rds};
  for (const std::string& n : Rules(r)) want.insert(n);
  for (const std::string& n : c.database) {
    want.insert(n);
    if (n.starts_with("instance-")) {
      want.insert("usage-cluster-by-" + n);
      want.insert("usage-parametergroup-by-" + n);
    }
  }
  if (rds == "instance") want.insert("usage-parametergroup-by-instance");
  EXPECT_EQ(r.names(), want);
  EXPECT_EQ(Rules(r).size(), 2u);
  EXPECT_EQ(r.Get(rds, "kind"), c.kind);
  EXPECT_EQ(r.Get(rds, "spec.forProvider.engine"), c.rds_engine);
  const Json version = c.kind == "Cluster" ? r.Get(rds, "spec.initProvider.engineVersion")
                                           : r.Get(rds, "spec.forProvider.engineVersion");
  EXPECT_EQ(version, c.engine_version);
  EXPECT_EQ(r.Get("parametergroup", "spec.forProvider.family"), c.family);
  for (const std::string& rule : Rules(r)) {
    EXPECT_EQ(r.Get(rule, "spec.forProvider.fromPort"), c.port) << rule;
    EXPECT_EQ(r.Get(rule, "spec.forProvider.toPort"), c.port) << rule;
  }
  for (const std::string& n : c.database) {
    if (!n.starts_with("instance-")) continue;
    EXPECT_EQ(r.Get(n, "kind"), "ClusterInstance");
    EXPECT_EQ(r.Get(n, "spec.forProvider.engine"), c.rds_engine);
    EXPECT_EQ(r.Get(n,
                    "spec.forProvider.clusterIdentifierSelector.matchLabels"
                    "[platform.terraforming.io/resource]"),
              "cluster");
    EXPECT_EQ(r.Get(n, "metadata.annotations[crossplane.io/external-name]"),
              sdk::Cat("payments-db-", n.substr(9)));
  }
}

INSTANTIATE_TEST_SUITE_P(
    XDatabase, XDatabaseEngineTest,
    ::testing::Values(EngineCase{"PostgresInstance",
                                 Json::object(),
                                 "Instance",
                                 "postgres",
                                 "17",
                                 "postgres17",
                                 5432,
                                 {"instance"}},
                      EngineCase{"PostgresInstance15",
                                 {{"engineVersion", "15.8"}},
                                 "Instance",
                                 "postgres",
                                 "15.8",
                                 "postgres15",
                                 5432,
                                 {"instance"}},
                      EngineCase{"MysqlInstance",
                                 {{"engine", "mysql"}},
                                 "Instance",
                                 "mysql",
                                 "8.4",
                                 "mysql8.4",
                                 3306,
                                 {"instance"}},
                      EngineCase{"MariadbInstance",
                                 {{"engine", "mariadb"}},
                                 "Instance",
                                 "mariadb",
                                 "11.4",
                                 "mariadb11.4",
                                 3306,
                                 {"instance"}},
                      EngineCase{"AuroraPostgres",
                                 {{"mode", "Aurora"}},
                                 "Cluster",
                                 "aurora-postgresql",
                                 "17.4",
                                 "aurora-postgresql17",
                                 5432,
                                 {"cluster", "instance-1"}},
                      EngineCase{"AuroraPostgres16MultiAz",
                                 {{"mode", "Aurora"}, {"engineVersion", "16"}, {"multiAZ", true}},
                                 "Cluster",
                                 "aurora-postgresql",
                                 "16.6",
                                 "aurora-postgresql16",
                                 5432,
                                 {"cluster", "instance-1", "instance-2"}},
                      // The newest mysql dev allows is 8.4, which Aurora does not run.
                      EngineCase{"AuroraMysql",
                                 {{"mode", "Aurora"}, {"engine", "mysql"}},
                                 "Cluster",
                                 "aurora-mysql",
                                 "8.0.mysql_aurora.3.08.0",
                                 "aurora-mysql8.0",
                                 3306,
                                 {"cluster", "instance-1"}}),
    CaseName<EngineCase>);

TEST(XDatabase, InstanceIsPrivateEncryptedAndWiredBySelectors) {
  const Rendered r = RunOk(Call{.xr = Xr(Params())});
  const auto sel = [](const std::string& resource) {
    return Json({{"matchControllerRef", true},
                 {"matchLabels", {{"platform.terraforming.io/resource", resource}}}});
  };
  EXPECT_EQ(r.Get("instance", "apiVersion"), "rds.aws.upbound.io/v1beta3");
  EXPECT_EQ(r.Get("instance", "spec.forProvider.identifier"), "payments-db");
  EXPECT_EQ(r.Get("instance", "spec.forProvider.publiclyAccessible"), false);
  EXPECT_EQ(r.Get("instance", "spec.forProvider.storageEncrypted"), true);
  EXPECT_EQ(r.Get("instance", "spec.forProvider.storageType"), "gp3");
  EXPECT_EQ(r.Get("instance", "spec.forProvider.kmsKeyIdSelector"), sel("kms-key"));
  EXPECT_EQ(r.Get("instance", "spec.forProvider.dbSubnetGroupNameSelector"), sel("subnetgroup"));
  EXPECT_EQ(r.Get("instance", "spec.forProvider.vpcSecurityGroupIdSelector"), sel("securitygroup"));
  EXPECT_EQ(r.Get("instance", "spec.forProvider.parameterGroupNameSelector"), nullptr);
  EXPECT_EQ(r.Get("instance", "spec.forProvider.autoMinorVersionUpgrade"), true);
  EXPECT_EQ(r.Get("instance", "spec.forProvider.dbName"), "app");
  EXPECT_EQ(r.Get("instance", "spec.forProvider.username"), "dbadmin");
  EXPECT_EQ(r.Get("instance", "spec.forProvider.autoGeneratePassword"), true);
  EXPECT_EQ(
      r.Get("instance", "spec.forProvider.passwordSecretRef"),
      Json(
          {{"name", "payments-db-password"}, {"namespace", "team-payments"}, {"key", "password"}}));
  EXPECT_EQ(r.Get("instance", "spec.writeConnectionSecretToRef"),
            Json({{"name", "payments-db-rds"}, {"namespace", "team-payments"}}));
  EXPECT_EQ(r.Get("kms-key", "spec.forProvider.enableKeyRotation"), true);
  EXPECT_EQ(r.Get("securitygroup", "spec.forProvider.vpcId"), "vpc-0abc");
  // The region on every managed resource; labels naming the resource.
  for (const auto& [name, o] : r.resources()) {
    EXPECT_EQ(At(o, "metadata.labels[platform.terraforming.io/resource]"), name);
    if (At(o, "kind").get<std::string>().ends_with("Usage")) continue;
    EXPECT_EQ(At(o, "spec.forProvider.region"), "eu-west-1") << name;
  }
}

TEST(XDatabase, AnExistingKeyReplacesTheComposedOne) {
  const std::string arn = "arn:aws:kms:eu-west-1:123456789012:key/abcd";
  const Rendered r = RunOk(Call{.xr = Xr(With(Params(), {{"kmsKeyArn", arn}}))});
  EXPECT_EQ(r.names().count("kms-key"), 0u);
  EXPECT_EQ(r.names().count("usage-kms-key-by-instance"), 0u);
  EXPECT_EQ(r.Get("instance", "spec.forProvider.kmsKeyId"), arn);
  EXPECT_EQ(r.Get("instance", "spec.forProvider.kmsKeyIdSelector"), nullptr);
  EXPECT_EQ(r.Get("instance", "spec.forProvider.storageEncrypted"), true);
}

TEST(XDatabase, NeverPublicAlwaysEncryptedInEveryMode) {
  for (const Json& patch : {Json::object(), Json({{"mode", "Aurora"}, {"multiAZ", true}}),
                            Json({{"engine", "mariadb"}})}) {
    const Rendered r = RunOk(Call{.xr = Xr(With(Params(), patch))});
    for (const auto& [name, o] : r.resources()) {
      const Json fp = At(o, "spec.forProvider");
      if (fp.is_null()) continue;
      if (fp.contains("publiclyAccessible")) {
        EXPECT_EQ(fp["publiclyAccessible"], false) << name;
      }
      if (fp.contains("storageEncrypted")) {
        EXPECT_EQ(fp["storageEncrypted"], true) << name;
      }
      const std::string kind = At(o, "kind");
      if (kind == "Instance" || kind == "ClusterInstance") {
        EXPECT_EQ(fp["publiclyAccessible"], false) << name;
      }
      if (kind == "Instance" || kind == "Cluster") {
        EXPECT_EQ(fp["storageEncrypted"], true) << name;
      }
    }
  }
}

TEST(XDatabase, PinnedVersionsAreNotUpgradedByRds) {
  const Rendered r = RunOk(Call{.xr = Xr(With(Params(), {{"engineVersion", "16.4"}}))});
  EXPECT_EQ(r.Get("instance", "spec.forProvider.engineVersion"), "16.4");
  EXPECT_EQ(r.Get("instance", "spec.forProvider.autoMinorVersionUpgrade"), false);
  // Aurora: a full version goes to forProvider; a major is only set on create.
  const Rendered pinned =
      RunOk(Call{.xr = Xr(With(Params(), {{"mode", "Aurora"}, {"engineVersion", "16.4"}}))});
  EXPECT_EQ(pinned.Get("cluster", "spec.forProvider.engineVersion"), "16.4");
  EXPECT_EQ(pinned.Get("cluster", "spec.initProvider"), nullptr);
  EXPECT_EQ(pinned.Get("instance-1", "spec.forProvider.autoMinorVersionUpgrade"), false);
  const Rendered major =
      RunOk(Call{.xr = Xr(With(Params(), {{"mode", "Aurora"}, {"engineVersion", "16"}}))});
  EXPECT_EQ(major.Get("cluster", "spec.forProvider.engineVersion"), nullptr);
  EXPECT_EQ(major.Get("cluster", "spec.initProvider.engineVersion"), "16.6");
  EXPECT_EQ(major.Get("cluster", "spec.managementPolicies"),
            Json({"Observe", "Create", "Update", "Delete"}));
  EXPECT_EQ(major.Get("instance-1", "spec.forProvider.autoMinorVersionUpgrade"), true);
}

// A policy that starts allowing a newer major upgrades no database that runs:
// the major is chosen once, when the database is created.
TEST(XDatabaseMajor, AWiderPolicyUpgradesNothingThatRuns) {
  const auto policy = [](const Json& majors) {
    return PolicyInput(
        {{"classes", {{"dev", {{"database", {{"engineVersions", {{"postgres", majors}}}}}}}}}});
  };
  const Json xr = Xr(With(Params(), {{"parameters", {{"work_mem", "64MB"}}}}));
  const Rendered first = RunOk(Call{.xr = xr, .input = policy({"16", "15"})});
  EXPECT_EQ(first.Get("instance", "spec.forProvider.engineVersion"), "16");
  EXPECT_EQ(first.Get("instance", "spec.forProvider.allowMajorVersionUpgrade"), false);
  EXPECT_EQ(first.Get("parametergroup", "spec.forProvider.family"), "postgres16");

  // Running 16.4; the policy now allows 17 too.
  Json running = first.Resource("instance");
  running.update(ReadyObject({{"engineVersionActual", "16.4"}}));
  const Rendered later =
      RunOk(Call{.xr = xr, .observed = {{"instance", running}}, .input = policy({"17", "16"})});
  EXPECT_EQ(later.Get("instance", "spec.forProvider.engineVersion"), "16");
  EXPECT_EQ(later.Get("instance", "spec.forProvider.allowMajorVersionUpgrade"), false);
  EXPECT_EQ(later.Get("parametergroup", "spec.forProvider.family"), "postgres16");

  // The spec asks for 17: now, and only now, a major upgrade.
  const Rendered asked = RunOk(Call{
      .xr = Xr(With(Params(), {{"engineVersion", "17"}, {"parameters", {{"work_mem", "64MB"}}}})),
      .observed = {{"instance", running}},
      .input = policy({"17", "16"})});
  EXPECT_EQ(asked.Get("instance", "spec.forProvider.engineVersion"), "17");
  EXPECT_EQ(asked.Get("instance", "spec.forProvider.allowMajorVersionUpgrade"), true);
  EXPECT_EQ(asked.Get("parametergroup", "spec.forProvider.family"), "postgres17");

  // A policy that no longer allows the running major says so, and changes
  // nothing (a FATAL result keeps the composed resources as they are).
  const pb::RunFunctionResponse dropped =
      RunProto(Call{.xr = xr, .observed = {{"instance", running}}, .input = policy({"17"})});
  ASSERT_EQ(dropped.results_size(), 1);
  EXPECT_EQ(dropped.results(0).message(),
            "spec.parameters.engineVersion: dev databases may use postgres 17, not 16 (the major "
            "it runs); set engineVersion to upgrade it");
}

TEST(XDatabaseMajor, AuroraKeepsTheMajorItRuns) {
  const Json xr = Xr(With(Params(), {{"mode", "Aurora"}, {"engine", "mysql"}}));
  Json running = RunOk(Call{.xr = xr}).Resource("cluster");
  running.update(ReadyObject({{"engineVersionActual", "8.0.mysql_aurora.3.08.0"}}));
  const Rendered r = RunOk(Call{.xr = xr, .observed = {{"cluster", running}}});
  EXPECT_EQ(r.Get("cluster", "spec.forProvider.allowMajorVersionUpgrade"), false);
  EXPECT_EQ(r.Get("cluster", "spec.initProvider.engineVersion"),
            RunOk(Call{.xr = xr}).Get("cluster", "spec.initProvider.engineVersion"));
}

TEST(XDatabase, AuroraClusterCarriesTheDatabaseSettings) {
  const Rendered r =
      RunOk(Call{.xr = Xr(With(Params("prod"), {{"mode", "Aurora"}, {"databaseName", "ledger"}}))});
  EXPECT_EQ(r.Get("cluster", "apiVersion"), "rds.aws.upbound.io/v1beta2");
  EXPECT_EQ(r.Get("cluster", "metadata.annotations[crossplane.io/external-name]"), "payments-db");
  EXPECT_EQ(r.Get("cluster", "spec.forProvider.databaseName"), "ledger");
  EXPECT_EQ(r.Get("cluster", "spec.forProvider.masterUsername"), "dbadmin");
  EXPECT_EQ(r.Get("cluster", "spec.forProvider.autoGeneratePassword"), true);
  EXPECT_EQ(r.Get("cluster", "spec.forProvider.masterPasswordSecretRef.name"),
            "payments-db-password");
  EXPECT_EQ(r.Get("cluster", "spec.forProvider.deletionProtection"), true);
  EXPECT_EQ(r.Get("cluster", "spec.forProvider.skipFinalSnapshot"), false);
  EXPECT_EQ(r.Get("cluster", "spec.forProvider.finalSnapshotIdentifier"), "payments-db-final");
  EXPECT_EQ(r.Get("cluster", "spec.forProvider.backupRetentionPeriod"), 14);
  EXPECT_EQ(r.Get("cluster", "spec.writeConnectionSecretToRef.name"), "payments-db-rds");
  // Prod is multi-AZ: a writer and a reader, on db.r7g.large.
  EXPECT_EQ(r.NamesWith("instance-"), Names({"instance-1", "instance-2"}));
  EXPECT_EQ(r.Get("instance-2", "spec.forProvider.instanceClass"), "db.r7g.large");
  EXPECT_EQ(r.Get("instance-2", "apiVersion"), "rds.aws.upbound.io/v1beta1");
}

// --- Defaults per class --------------------------------------------------------------

struct ClassCase {
  std::string name;
  Json patch;
  std::string instance_class;
  bool multi_az;
  int backup_days;
  bool deletion_protection;
  bool final_snapshot;
};

void PrintTo(const ClassCase& c, std::ostream* os) { *os << c.name; }

class XDatabaseClassTest : public ::testing::TestWithParam<ClassCase> {};

TEST_P(XDatabaseClassTest, DefaultsFollowTheClass) {
  const ClassCase& c = GetParam();
  const Rendered r = RunOk(Call{.xr = Xr(With(Params(), c.patch))});
  const bool aurora = r.names().count("cluster") == 1;
  const std::string rds = aurora ? "cluster" : "instance";
  if (aurora) {
    EXPECT_EQ(r.Get("instance-1", "spec.forProvider.instanceClass"), c.instance_class);
    EXPECT_EQ(r.names().count("instance-2"), c.multi_az ? 1u : 0u);
  } else {
    EXPECT_EQ(r.Get(rds, "spec.forProvider.instanceClass"), c.instance_class);
    EXPECT_EQ(r.Get(rds, "spec.forProvider.multiAz"), c.multi_az);
    EXPECT_EQ(r.Get(rds, "spec.forProvider.allocatedStorage"), 20);
    EXPECT_EQ(r.Get(rds, "spec.forProvider.maxAllocatedStorage"), 40);
  }
  EXPECT_EQ(r.Get(rds, "spec.forProvider.backupRetentionPeriod"), c.backup_days);
  EXPECT_EQ(r.Get(rds, "spec.forProvider.deletionProtection"), c.deletion_protection);
  EXPECT_EQ(r.Get(rds, "spec.forProvider.skipFinalSnapshot"), !c.final_snapshot);
  EXPECT_EQ(r.Get(rds, "spec.forProvider.finalSnapshotIdentifier"),
            c.final_snapshot ? Json("payments-db-final") : Json(nullptr));
  // The key outlives a prod database: its final snapshot is encrypted with it.
  EXPECT_EQ(r.Get("kms-key", "spec.deletionPolicy"),
            c.final_snapshot ? Json("Orphan") : Json(nullptr));
}

INSTANTIATE_TEST_SUITE_P(
    XDatabase, XDatabaseClassTest,
    ::testing::Values(
        ClassCase{"Dev", {{"environment", "dev"}}, "db.t4g.micro", false, 1, false, false},
        ClassCase{"Sandbox", {{"environment", "sandbox"}}, "db.t4g.micro", false, 1, false, false},
        ClassCase{"Test", {{"environment", "test"}}, "db.t4g.small", false, 7, false, false},
        ClassCase{"Prod", {{"environment", "prod"}}, "db.m7g.large", true, 14, true, true},
        ClassCase{"DevAurora",
                  {{"environment", "dev"}, {"mode", "Aurora"}},
                  "db.t4g.medium",
                  false,
                  1,
                  false,
                  false},
        ClassCase{"ProdAurora",
                  {{"environment", "prod"}, {"mode", "Aurora"}},
                  "db.r7g.large",
                  true,
                  14,
                  true,
                  true},
        ClassCase{"Overrides",
                  {{"environment", "test"},
                   {"instanceClass", "db.m7g.large"},
                   {"multiAZ", true},
                   {"backupRetentionDays", 3},
                   {"deletionProtection", true}},
                  "db.m7g.large",
                  true,
                  3,
                  true,
                  false}),
    CaseName<ClassCase>);

TEST(XDatabase, StorageAutoscalingStaysWithinTheClass) {
  struct Case {
    Json patch;
    Json allocated;
    Json max;
  };
  const Case cases[] = {
      {{{"storageGiB", 60}}, 60, 100},                             // 2x capped by dev's 100
      {{{"storageGiB", 100}}, 100, nullptr},                       // no room: no autoscaling
      {{{"storageGiB", 50}, {"maxStorageGiB", 50}}, 50, nullptr},  // asked: none
      {{{"storageGiB", 50}, {"maxStorageGiB", 80}}, 50, 80},
  };
  for (const Case& c : cases) {
    const Rendered r = RunOk(Call{.xr = Xr(With(Params(), c.patch))});
    EXPECT_EQ(r.Get("instance", "spec.forProvider.allocatedStorage"), c.allocated) << c.patch;
    EXPECT_EQ(r.Get("instance", "spec.forProvider.maxAllocatedStorage"), c.max) << c.patch;
  }
}

// --- Network and clients -----------------------------------------------------------

TEST(XDatabase, SubnetsAreTheDatabaseSubnetsOnly) {
  const Rendered r = RunOk(Call{.xr = Xr(Params())});
  EXPECT_EQ(r.Get("subnetgroup", "spec.forProvider.subnetIds"), Json({"subnet-0d1", "subnet-0d2"}));
}

TEST(XDatabase, IngressOnlyOnTheEnginePortFromTheClients) {
  const Rendered r =
      RunOk(Call{.xr = Xr(With(Params(), {{"engine", "mysql"},
                                          {"clients",
                                           {{"securityGroupIds", {"sg-0app", "sg-0batch"}},
                                            {"cidrBlocks", {"10.0.32.0/20"}}}}}))});
  const Names rules = Rules(r);
  ASSERT_EQ(rules.size(), 3u);
  std::set<std::string> sources;
  for (const std::string& rule : rules) {
    EXPECT_EQ(r.Get(rule, "kind"), "SecurityGroupIngressRule");
    EXPECT_EQ(r.Get(rule, "spec.forProvider.ipProtocol"), "tcp");
    EXPECT_EQ(r.Get(rule, "spec.forProvider.fromPort"), 3306);
    EXPECT_EQ(r.Get(rule, "spec.forProvider.toPort"), 3306);
    EXPECT_EQ(r.Get(rule,
                    "spec.forProvider.securityGroupIdSelector.matchLabels"
                    "[platform.terraforming.io/resource]"),
              "securitygroup");
    const Json sg = r.Get(rule, "spec.forProvider.referencedSecurityGroupId");
    const Json cidr = r.Get(rule, "spec.forProvider.cidrIpv4");
    EXPECT_NE(sg.is_null(), cidr.is_null()) << rule;
    sources.insert(sg.is_null() ? cidr.get<std::string>() : sg.get<std::string>());
  }
  EXPECT_EQ(sources, std::set<std::string>({"sg-0app", "sg-0batch", "10.0.32.0/20"}));
  // Rules are named by their client: dropping one keeps the others' names.
  const Rendered fewer = RunOk(Call{
      .xr =
          Xr(With(Params(),
                  {{"engine", "mysql"},
                   {"clients", {{"securityGroupIds", {"sg-0batch"}}, {"cidrBlocks", nullptr}}}}))});
  ASSERT_EQ(Rules(fewer).size(), 1u);
  EXPECT_EQ(rules.count(*Rules(fewer).begin()), 1u);
  // The security group has no rules of its own.
  EXPECT_EQ(r.Get("securitygroup", "spec.forProvider.ingress"), nullptr);
}

TEST(XDatabase, MandatedSecurityGroupsJoinOnceTheOwnGroupIsKnown) {
  const Json input =
      PolicyInput({{"classes", {{"dev", {{"securityGroupIds", {"sg-0123456789abcdef0"}}}}}}});
  const Rendered before = RunOk(Call{.xr = Xr(Params()), .input = input});
  EXPECT_EQ(before.names().count("instance"), 0u);
  EXPECT_EQ(before.CompositeReady(), pb::READY_FALSE);
  const Rendered after =
      RunOk(Call{.xr = Xr(Params()),
                 .observed = {{"securitygroup", ReadyObject({{"id", "sg-0own"}})}},
                 .input = input});
  EXPECT_EQ(after.Get("instance", "spec.forProvider.vpcSecurityGroupIds"),
            Json({"sg-0own", "sg-0123456789abcdef0"}));
  EXPECT_EQ(after.Get("instance", "spec.forProvider.vpcSecurityGroupIdSelector"), nullptr);
}

// The XEnvironment as Crossplane returns it for the requirement.
Json Environment(const std::string& cls = "dev", bool with_status = true) {
  return ::platform::fn::testing::ObservedEnvironment(
      cls, "eu-west-1",
      with_status ? ::platform::fn::testing::PublishedNetwork("10.0.0.0/16") : Json());
}

Json EnvironmentParams(const std::string& cls = "dev") {
  return With(Params(cls), {{"network",
                             {{"environment", "payments-net"},
                              {"vpcId", nullptr},
                              {"vpcCidr", nullptr},
                              {"databaseSubnetIds", nullptr}}}});
}

TEST(XDatabaseNetwork, WaitsForCrossplaneToProvideTheEnvironment) {
  const Rendered r = RunOk(Call{.xr = Xr(EnvironmentParams())});
  EXPECT_TRUE(r.names().empty());
  EXPECT_EQ(r.CompositeReady(), pb::READY_FALSE);
  const pb::ResourceSelector& s = r.proto().requirements().resources().at("network-environment");
  EXPECT_EQ(s.match_labels().labels().at("crossplane.io/claim-name"), "payments-net");
  ASSERT_EQ(r.Normal().size(), 1u);
  EXPECT_EQ(r.proto().results(0).reason(), "WaitingForNetwork");
}

// A wait lasts many calls; Crossplane makes an event of every result, so the
// wait is a condition, and said as a result only when it begins.
TEST(XDatabaseNetwork, AWaitIsAConditionAndSaidOnce) {
  Json env = Environment();
  env["status"].erase("databaseSubnetIds");
  const Rendered first =
      RunOk(Call{.xr = Xr(EnvironmentParams()), .required = {{"network-environment", {env}}}});
  ASSERT_EQ(first.Normal().size(), 1u);
  ASSERT_EQ(first.proto().conditions_size(), 1);
  const pb::Condition& waiting = first.proto().conditions(0);
  EXPECT_EQ(waiting.type(), "NetworkReady");
  EXPECT_EQ(waiting.status(), pb::STATUS_CONDITION_FALSE);
  EXPECT_EQ(waiting.reason(), "WaitingForNetwork");
  EXPECT_EQ(waiting.message(), first.Normal()[0]);
  EXPECT_EQ(waiting.target(), pb::TARGET_COMPOSITE_AND_CLAIM);

  Json xr = Xr(EnvironmentParams());
  xr["status"]["conditions"] = {{{"type", "NetworkReady"},
                                 {"status", "False"},
                                 {"reason", "WaitingForNetwork"},
                                 {"message", waiting.message()}}};
  const Rendered again = RunOk(Call{.xr = xr, .required = {{"network-environment", {env}}}});
  EXPECT_TRUE(again.Normal().empty());
  ASSERT_EQ(again.proto().conditions_size(), 1);
  EXPECT_EQ(again.proto().conditions(0).reason(), "WaitingForNetwork");

  // Found: the condition turns True.
  const Rendered found =
      RunOk(Call{.xr = xr, .required = {{"network-environment", {Environment()}}}});
  bool network_ready = false;
  for (const pb::Condition& c : found.proto().conditions()) {
    if (c.type() == "NetworkReady") network_ready = c.status() == pb::STATUS_CONDITION_TRUE;
  }
  EXPECT_TRUE(network_ready);
}

TEST(XDatabaseNetwork, UsesTheDatabaseSubnetsTheEnvironmentPublishes) {
  const Rendered r = RunOk(
      Call{.xr = Xr(EnvironmentParams()), .required = {{"network-environment", {Environment()}}}});
  EXPECT_EQ(r.Get("subnetgroup", "spec.forProvider.subnetIds"),
            Json({"subnet-0db1", "subnet-0db2"}));
  EXPECT_EQ(r.Get("securitygroup", "spec.forProvider.vpcId"), "vpc-0env");
  // The environment is kept until the database is gone.
  const std::string u = "usage-environment-by-instance";
  EXPECT_EQ(r.Get(u, "kind"), "ClusterUsage");
  EXPECT_EQ(r.Get(u, "spec.of.resourceRef.name"), "payments-net-x7k2p");
  EXPECT_EQ(r.Get(u, "spec.by.apiVersion"), "rds.aws.upbound.io/v1beta3");
  EXPECT_EQ(r.Get(u, "spec.by.kind"), "Instance");
}

TEST(XDatabaseNetwork, WithoutClientsTheEnvironmentsWorkloadsMayConnect) {
  const Rendered r = RunOk(Call{.xr = Xr(With(EnvironmentParams(), {{"clients", nullptr}})),
                                .required = {{"network-environment", {Environment()}}}});
  const Names rules = Rules(r);
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(r.Get(*rules.begin(), "spec.forProvider.referencedSecurityGroupId"), "sg-0baseline");
  EXPECT_EQ(r.Get(*rules.begin(), "spec.forProvider.fromPort"), 5432);
  // Clients of its own replace the default.
  const Rendered own = RunOk(
      Call{.xr = Xr(EnvironmentParams()), .required = {{"network-environment", {Environment()}}}});
  for (const std::string& rule : Rules(own)) {
    EXPECT_NE(own.Get(rule, "spec.forProvider.referencedSecurityGroupId"), "sg-0baseline");
  }
  // An environment without a baseline group: wait for it.
  Json env = Environment();
  env["status"].erase("securityGroupIds");
  const Rendered waiting = RunOk(Call{.xr = Xr(With(EnvironmentParams(), {{"clients", nullptr}})),
                                      .required = {{"network-environment", {env}}}});
  EXPECT_TRUE(waiting.names().empty());
  ASSERT_EQ(waiting.Normal().size(), 1u);
  EXPECT_THAT(waiting.Normal()[0], HasSubstr("to publish securityGroupIds.baseline"));
}

TEST(XDatabaseNetwork, AuroraInstancesGoToTheEnvironmentsZones) {
  const Rendered r =
      RunOk(Call{.xr = Xr(With(EnvironmentParams(), {{"mode", "Aurora"}, {"multiAZ", true}})),
                 .required = {{"network-environment", {Environment()}}}});
  EXPECT_EQ(r.Get("instance-1", "spec.forProvider.availabilityZone"), "eu-west-1a");
  EXPECT_EQ(r.Get("instance-2", "spec.forProvider.availabilityZone"), "eu-west-1b");
  EXPECT_EQ(r.names().count("usage-environment-by-cluster"), 1u);
}

// An environment whose zones are AZ IDs publishes their names once its
// subnets exist; Aurora waits for them rather than create instances it would
// later have to move.
TEST(XDatabaseNetwork, AuroraWaitsForTheEnvironmentsZoneNames) {
  Json env = Environment();
  env["status"].erase("availabilityZones");
  env["status"]["availabilityZoneIds"] = {"euw1-az2", "euw1-az3"};
  const Json aurora = With(EnvironmentParams(), {{"mode", "Aurora"}, {"multiAZ", true}});
  const Rendered waiting =
      RunOk(Call{.xr = Xr(aurora), .required = {{"network-environment", {env}}}});
  EXPECT_TRUE(waiting.names().empty());
  ASSERT_EQ(waiting.Normal().size(), 1u);
  EXPECT_EQ(waiting.Normal()[0],
            "waiting for Environment claim \"payments-net\" in namespace \"team-payments\" to "
            "publish availabilityZones in its status");

  // An instance database does not place itself in a zone: it does not wait.
  const Rendered instance =
      RunOk(Call{.xr = Xr(EnvironmentParams()), .required = {{"network-environment", {env}}}});
  EXPECT_EQ(instance.names().count("instance"), 1u);

  env["status"]["availabilityZones"] = {"eu-west-1c", "eu-west-1a"};
  const Rendered r = RunOk(Call{.xr = Xr(aurora), .required = {{"network-environment", {env}}}});
  EXPECT_EQ(r.Get("instance-1", "spec.forProvider.availabilityZone"), "eu-west-1c");
  EXPECT_EQ(r.Get("instance-2", "spec.forProvider.availabilityZone"), "eu-west-1a");
}

TEST(XDatabaseNetwork, NoUsageOfTheEnvironmentNestingTheDatabase) {
  Json xr = Xr(EnvironmentParams());
  // What Crossplane sets on an XR an XEnvironment composes: the root's name
  // as crossplane.io/composite, and a controller reference to the parent.
  xr["metadata"]["labels"]["crossplane.io/composite"] = "payments-net-x7k2p";
  xr["metadata"]["ownerReferences"] = {{{"apiVersion", "platform.terraforming.io/v1alpha1"},
                                        {"kind", "XEnvironment"},
                                        {"name", "payments-net-x7k2p"},
                                        {"uid", "7f1c2b3a-0000-4000-8000-000000000001"},
                                        {"controller", true},
                                        {"blockOwnerDeletion", true}}};
  const Rendered r = RunOk(Call{.xr = xr, .required = {{"network-environment", {Environment()}}}});
  EXPECT_EQ(r.names().count("instance"), 1u);
  EXPECT_EQ(r.names().count("usage-environment-by-instance"), 0u);
}

// The label crossplane.io/composite names the root XR: on a top-level XR
// named like its environment it equals the environment's name, and the
// database still needs its Usage.
TEST(XDatabaseNetwork, ADatabaseNamedLikeItsEnvironmentKeepsItsUsage) {
  Json env = Environment("sandbox");
  env["apiVersion"] = "platform.m.terraforming.io/v1alpha1";
  env["metadata"] = {{"name", kXrName}, {"namespace", "team-payments"}};
  Json params = EnvironmentParams("sandbox");
  params["network"]["environment"] = kXrName;
  Json xr = Xr(params, "team-payments");
  xr["metadata"]["labels"]["crossplane.io/composite"] = kXrName;
  const Rendered r = RunOk(Call{.xr = xr, .required = {{"network-environment", {env}}}});
  EXPECT_EQ(r.names().count("usage-environment-by-instance"), 1u);
}

// Owner references of other kinds (a claim's tooling, say) are not nesting.
TEST(XDatabaseNetwork, AnOwnerOfAnotherKindIsNotANestingEnvironment) {
  Json xr = Xr(EnvironmentParams());
  xr["metadata"]["ownerReferences"] = {{{"apiVersion", "argoproj.io/v1alpha1"},
                                        {"kind", "Application"},
                                        {"name", "payments-net-x7k2p"},
                                        {"uid", "7f1c2b3a-0000-4000-8000-000000000002"},
                                        {"controller", true}}};
  const Rendered r = RunOk(Call{.xr = xr, .required = {{"network-environment", {Environment()}}}});
  EXPECT_EQ(r.names().count("usage-environment-by-instance"), 1u);
}

TEST(XDatabaseNetwork, NamespacedEnvironmentAndUsage) {
  Json env = Environment("sandbox");
  env["apiVersion"] = "platform.m.terraforming.io/v1alpha1";
  env["metadata"] = {{"name", "payments-net"}, {"namespace", "team-payments"}};
  const Rendered r = RunOk(Call{.xr = Xr(EnvironmentParams("sandbox"), "team-payments"),
                                .required = {{"network-environment", {env}}}});
  const pb::ResourceSelector& s = r.proto().requirements().resources().at("network-environment");
  EXPECT_EQ(s.match_name(), "payments-net");
  EXPECT_EQ(s.namespace_(), "team-payments");
  const std::string u = "usage-environment-by-instance";
  EXPECT_EQ(r.Get(u, "kind"), "Usage");
  EXPECT_EQ(r.Get(u, "metadata.namespace"), "team-payments");
  EXPECT_EQ(r.Get(u, "spec.of"), Json({{"apiVersion", "platform.m.terraforming.io/v1alpha1"},
                                       {"kind", "XEnvironment"},
                                       {"resourceRef", {{"name", "payments-net"}}}}));
  EXPECT_EQ(r.Get(u, "spec.by.apiVersion"), "rds.aws.m.upbound.io/v1beta1");
}

TEST(XDatabaseNetwork, WaitsWhileTheEnvironmentPublishesNoDatabaseSubnets) {
  Json env = Environment();
  env["status"].erase("databaseSubnetIds");
  const Rendered r =
      RunOk(Call{.xr = Xr(EnvironmentParams()), .required = {{"network-environment", {env}}}});
  EXPECT_TRUE(r.names().empty());
  EXPECT_EQ(r.CompositeReady(), pb::READY_FALSE);
  ASSERT_EQ(r.Normal().size(), 1u);
  EXPECT_EQ(r.Normal()[0],
            "waiting for Environment claim \"payments-net\" in namespace \"team-payments\" to "
            "publish databaseSubnetIds in its status");
}

TEST(XDatabaseNetwork, NeverDropsAnExistingDatabaseWhenTheNetworkIsGone) {
  const pb::RunFunctionResponse rsp =
      RunProto(Call{.xr = Xr(EnvironmentParams()),
                    .observed = {{"instance", ReadyObject()}},
                    .required = {{"network-environment", {Environment("dev", false)}}}});
  ASSERT_EQ(rsp.results_size(), 1);
  EXPECT_EQ(rsp.results(0).severity(), pb::SEVERITY_FATAL);
  EXPECT_EQ(rsp.results(0).message(),
            "spec.parameters.network.environment: Environment claim \"payments-net\" in "
            "namespace \"team-payments\" publishes no vpcId in its status; the database is kept "
            "as it is");
  EXPECT_EQ(rsp.desired().resources_size(), 0);
}

struct NetworkErrorCase {
  std::string name;
  Json xr;
  Json required;
  std::string want;
  bool violation = false;
};

void PrintTo(const NetworkErrorCase& c, std::ostream* os) { *os << c.name; }

class XDatabaseNetworkErrorTest : public ::testing::TestWithParam<NetworkErrorCase> {};

TEST_P(XDatabaseNetworkErrorTest, FailsNamingTheField) {
  const NetworkErrorCase& c = GetParam();
  const pb::RunFunctionResponse rsp = RunProto(Call{.xr = c.xr, .required = c.required});
  ASSERT_EQ(rsp.results_size(), 1) << rsp.DebugString();
  EXPECT_EQ(rsp.results(0).severity(), pb::SEVERITY_FATAL);
  EXPECT_EQ(rsp.results(0).message(), c.want);
  EXPECT_EQ(rsp.desired().resources_size(), 0);
  EXPECT_EQ(rsp.conditions_size(), c.violation ? 1 : 0);
}

INSTANTIATE_TEST_SUITE_P(
    XDatabase, XDatabaseNetworkErrorTest,
    ::testing::Values(
        NetworkErrorCase{"Missing",
                         Xr(EnvironmentParams()),
                         {{"network-environment", Json::array()}},
                         "spec.parameters.network.environment: Environment claim "
                         "\"payments-net\" in namespace \"team-payments\" does not exist"},
        NetworkErrorCase{"OtherClass",
                         Xr(EnvironmentParams()),
                         {{"network-environment", {Environment("prod")}}},
                         "spec.parameters.network.environment: a dev database may not use "
                         "Environment claim \"payments-net\" in namespace \"team-payments\", a "
                         "prod environment",
                         true},
        NetworkErrorCase{
            "ClientOutsideTheEnvironmentsVpc",
            Xr(With(EnvironmentParams(), {{"clients", {{"cidrBlocks", {"192.168.0.0/24"}}}}})),
            {{"network-environment", {Environment()}}},
            "spec.parameters.clients.cidrBlocks[0]: 192.168.0.0/24 is outside the "
            "VPC's block 10.0.0.0/16"}),
    [](const ::testing::TestParamInfo<NetworkErrorCase>& p) { return p.param.name; });

// --- Errors and policy violations --------------------------------------------------

struct ErrorCase {
  std::string name;
  Json xr;
  std::string message;  // the FATAL result starts with it
  std::string condition_type = "";
  Json input = nullptr;
};

void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }

std::vector<ErrorCase> ErrorCases() {
  return {
      {"Unauthorized", Xr(Params("prod")),
       "team \"payments\" (namespace \"team-payments\") may not create prod XDatabases",
       "Authorized",
       PolicyInput({{"authorization",
                     {{{"name", "payments-nonprod"},
                       {"teams", {"payments"}},
                       {"classes", {"dev", "test"}}}}}})},
      // Authorization before anything else: a bad engine is not reported.
      {"UnauthorizedLearnsNothingElse", Xr(With(Params("prod"), {{"engine", "oracle"}})),
       "team \"payments\" (namespace \"team-payments\") may not create prod XDatabases",
       "Authorized",
       PolicyInput(
           {{"authorization", {{{"name", "x"}, {"teams", {"payments"}}, {"classes", {"dev"}}}}}})},
      {"RegionOfTheClass", Xr(Params()),
       "spec.parameters.region: dev databases may only use us-east-1", "PolicyCompliant",
       PolicyInput({{"classes", {{"dev", {{"allowedRegions", {"us-east-1"}}}}}}})},
      {"EngineNotAllowed", Xr(Params()),
       "spec.parameters.engine: dev databases may not use postgres", "PolicyCompliant",
       PolicyInput(
           {{"classes", {{"dev", {{"database", {{"engineVersions", {{"mysql", {"8.0"}}}}}}}}}}})},
      {"VersionNotAllowed", Xr(With(Params("prod"), {{"engineVersion", "15"}})),
       "spec.parameters.engineVersion: prod databases may use postgres 17, 16, not 15",
       "PolicyCompliant"},
      {"FullVersionOfAMajorNotAllowed", Xr(With(Params("prod"), {{"engineVersion", "15.8"}})),
       "spec.parameters.engineVersion: prod databases may use postgres 17, 16, not 15",
       "PolicyCompliant"},
      {"MysqlNeedsMajorMinor", Xr(With(Params(), {{"engine", "mysql"}, {"engineVersion", "8"}})),
       "spec.parameters.engineVersion: mysql versions are MAJOR.MINOR"},
      {"PostgresThreeParts", Xr(With(Params(), {{"engineVersion", "16.4.1"}})),
       "spec.parameters.engineVersion: postgres versions are MAJOR or MAJOR.MINOR"},
      {"AuroraMariadb", Xr(With(Params(), {{"engine", "mariadb"}, {"mode", "Aurora"}})),
       "spec.parameters.mode: Aurora runs postgres and mysql only"},
      {"AuroraMysql84",
       Xr(With(Params(), {{"engine", "mysql"}, {"mode", "Aurora"}, {"engineVersion", "8.4"}})),
       "spec.parameters.engineVersion: Aurora does not run mysql 8.4"},
      {"AuroraMysqlFullVersion",
       Xr(With(Params(), {{"engine", "mysql"}, {"mode", "Aurora"}, {"engineVersion", "8.0.36"}})),
       "spec.parameters.engineVersion: Aurora MySQL names its versions"},
      {"AuroraTooSmall",
       Xr(With(Params(), {{"mode", "Aurora"}, {"instanceClass", "db.t4g.micro"}})),
       "spec.parameters.instanceClass: Aurora runs on"},
      {"AuroraStorage", Xr(With(Params(), {{"mode", "Aurora"}, {"storageGiB", 50}})),
       "spec.parameters.storageGiB: only for mode Instance"},
      {"FamilyNotAllowed", Xr(With(Params(), {{"instanceClass", "db.r7g.large"}})),
       "spec.parameters.instanceClass: dev databases may use instance families db.t4g, db.t3, "
       "not db.r7g",
       "PolicyCompliant"},
      {"NotAnInstanceClass", Xr(With(Params(), {{"instanceClass", "t4g.micro"}})),
       "spec.parameters.instanceClass: \"t4g.micro\" is not an RDS instance class"},
      {"StorageAboveTheClass", Xr(With(Params(), {{"storageGiB", 200}})),
       "spec.parameters.storageGiB: dev databases may have at most 100 GiB of storage, not 200",
       "PolicyCompliant"},
      {"MaxStorageAboveTheClass", Xr(With(Params(), {{"maxStorageGiB", 200}})),
       "spec.parameters.maxStorageGiB: dev databases may have at most 100 GiB", "PolicyCompliant"},
      {"MaxStorageBelowStorage", Xr(With(Params(), {{"storageGiB", 50}, {"maxStorageGiB", 40}})),
       "spec.parameters.maxStorageGiB: must be at least storageGiB (50)"},
      {"MaxStorageTooClose", Xr(With(Params(), {{"storageGiB", 50}, {"maxStorageGiB", 52}})),
       "spec.parameters.maxStorageGiB: must equal storageGiB (no autoscaling) or be at least 10% "
       "more (55)"},
      {"ProdWithoutMultiAz", Xr(With(Params("prod"), {{"multiAZ", false}})),
       "spec.parameters.multiAZ: prod databases must survive the loss of a zone",
       "PolicyCompliant"},
      {"ProdWithoutDeletionProtection", Xr(With(Params("prod"), {{"deletionProtection", false}})),
       "spec.parameters.deletionProtection: prod databases must have deletion protection",
       "PolicyCompliant"},
      {"NoClients", Xr(With(Params(), {{"clients", nullptr}})),
       "spec.parameters.clients: at least one security group or CIDR block"},
      {"OpenToTheInternet", Xr(With(Params(), {{"clients", {{"cidrBlocks", {"0.0.0.0/0"}}}}})),
       "spec.parameters.clients.cidrBlocks[0]: 0.0.0.0/0 is not a private range"},
      {"PublicRange",
       Xr(With(Params(), {{"clients", {{"cidrBlocks", {"10.0.0.0/16", "52.16.0.0/16"}}}}})),
       "spec.parameters.clients.cidrBlocks[1]: 52.16.0.0/16 is not a private range"},
      {"NotACidr", Xr(With(Params(), {{"clients", {{"cidrBlocks", {"10.0.1.5/24"}}}}})),
       "spec.parameters.clients.cidrBlocks[0]: \"10.0.1.5/24\" is not an IPv4 CIDR block"},
      {"CidrOutsideTheVpc", Xr(With(Params(), {{"clients", {{"cidrBlocks", {"10.1.0.0/24"}}}}})),
       "spec.parameters.clients.cidrBlocks[0]: 10.1.0.0/24 is outside the VPC's block "
       "10.0.0.0/16"},
      {"BadClientGroup", Xr(With(Params(), {{"clients", {{"securityGroupIds", {"web"}}}}})),
       "spec.parameters.clients.securityGroupIds[0]: \"web\" is not a security group id"},
      {"OneSubnet", Xr(With(Params(), {{"network", {{"databaseSubnetIds", {"subnet-0d1"}}}}})),
       "spec.parameters.network.databaseSubnetIds: RDS needs at least two database subnets"},
      {"EnvironmentAndIds", Xr(With(Params(), {{"network", {{"environment", "payments-net"}}}})),
       "spec.parameters.network.environment: give either an environment or vpcId and "
       "databaseSubnetIds, not both"},
      {"KeyInAnotherRegion",
       Xr(With(Params(), {{"kmsKeyArn", "arn:aws:kms:us-east-1:123456789012:key/abcd"}})),
       "spec.parameters.kmsKeyArn: the key is in us-east-1; RDS needs a key in eu-west-1"},
      {"BadDatabaseName", Xr(With(Params(), {{"databaseName", "1app"}})),
       "spec.parameters.databaseName: must be a letter"},
  };
}

class XDatabaseErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(XDatabaseErrorTest, FailsNamingTheField) {
  const ErrorCase& c = GetParam();
  const pb::RunFunctionResponse rsp = RunProto(Call{.xr = c.xr, .input = c.input});
  ASSERT_EQ(rsp.results_size(), 1) << rsp.DebugString();
  EXPECT_EQ(rsp.results(0).severity(), pb::SEVERITY_FATAL);
  EXPECT_THAT(rsp.results(0).message(), ::testing::StartsWith(c.message));
  EXPECT_EQ(rsp.desired().resources_size(), 0);
  if (c.condition_type.empty()) {
    EXPECT_EQ(rsp.conditions_size(), 0) << rsp.DebugString();
  } else {
    ASSERT_EQ(rsp.conditions_size(), 1) << rsp.DebugString();
    EXPECT_EQ(rsp.conditions(0).type(), c.condition_type);
    EXPECT_EQ(rsp.conditions(0).status(), pb::STATUS_CONDITION_FALSE);
  }
}

INSTANTIATE_TEST_SUITE_P(XDatabase, XDatabaseErrorTest, ::testing::ValuesIn(ErrorCases()),
                         CaseName<ErrorCase>);

TEST(XDatabase, PoliciesPassedAreReported) {
  const Rendered r = RunOk(Call{.xr = Xr(Params())});
  std::map<std::string, pb::Status> conditions;
  for (const pb::Condition& c : r.proto().conditions()) conditions[c.type()] = c.status();
  EXPECT_EQ(conditions["Authorized"], pb::STATUS_CONDITION_TRUE);
  EXPECT_EQ(conditions["PolicyCompliant"], pb::STATUS_CONDITION_TRUE);
}

TEST(XDatabase, DatabaseLimitsComeFromTheInput) {
  const Json input = PolicyInput(
      {{"classes", {{"dev", {{"database", {{"engineVersions", {{"postgres", {"15", "16"}}}}}}}}}}});
  const Rendered r = RunOk(Call{.xr = Xr(Params()), .input = input});
  // The newest the class allows, whatever the order.
  EXPECT_EQ(r.Get("instance", "spec.forProvider.engineVersion"), "16");
}

// --- Scope, tags, secrets ------------------------------------------------------------

TEST(XDatabase, NamespacedXrsComposeNamespacedKindsInTheirNamespace) {
  const Rendered r = RunOk(Call{.xr = Xr(Params(), "team-web")});
  for (const auto& [name, o] : r.resources()) {
    EXPECT_EQ(At(o, "metadata.namespace"), "team-web") << name;
    const std::string api = At(o, "apiVersion");
    if (api.starts_with("protection.")) {
      EXPECT_EQ(At(o, "kind"), "Usage") << name;
    } else {
      EXPECT_THAT(api, HasSubstr(".aws.m.upbound.io/v1beta1")) << name;
      // Namespaced kinds require the kind of their ProviderConfig.
      EXPECT_EQ(At(o, "spec.providerConfigRef"),
                Json({{"kind", "ClusterProviderConfig"}, {"name", "default"}}))
          << name;
    }
  }
  EXPECT_EQ(r.Get("instance", "spec.forProvider.identifier"), "team-web-payments-db");
  // Secrets in the instance's own namespace: no namespace in the refs.
  EXPECT_EQ(r.Get("instance", "spec.forProvider.passwordSecretRef"),
            Json({{"name", "payments-db-password"}, {"key", "password"}}));
  EXPECT_EQ(r.Get("instance", "spec.writeConnectionSecretToRef"),
            Json({{"name", "payments-db-rds"}}));
  EXPECT_EQ(r.Get("usage-subnetgroup-by-instance", "spec.of.apiVersion"),
            "rds.aws.m.upbound.io/v1beta1");
}

TEST(XDatabase, ClaimBasedXrsComposeClusterScopedKinds) {
  const Rendered r = RunOk(Call{.xr = Xr(Params())});
  for (const auto& [name, o] : r.resources()) {
    EXPECT_EQ(At(o, "metadata.namespace"), nullptr) << name;
    const std::string api = At(o, "apiVersion");
    if (api.starts_with("protection.")) {
      EXPECT_EQ(At(o, "kind"), "ClusterUsage") << name;
    } else {
      EXPECT_THAT(api, HasSubstr(".aws.upbound.io/")) << name;
    }
  }
}

// --- Names in AWS -----------------------------------------------------------------

TEST(XDatabaseNames, TheSecurityGroupNeverStartsWithSg) {
  EXPECT_EQ(RunOk(Call{.xr = Xr(Params())}).Get("securitygroup", "spec.forProvider.name"),
            "payments-db-db");
  Json xr = Xr(Params());
  xr["metadata"]["name"] = "sg-orders";
  const Rendered r = RunOk(Call{.xr = xr});
  EXPECT_EQ(r.Get("instance", "spec.forProvider.identifier"), "sg-orders");
  EXPECT_EQ(r.Get("securitygroup", "spec.forProvider.name"), "platform_sg-orders-db");
}

TEST(XDatabaseNames, TheIdentifierIsOneRdsTakes) {
  Json xr = Xr(Params());
  xr["metadata"]["name"] = "2024.orders--eu";
  const Rendered r = RunOk(Call{.xr = xr});
  EXPECT_EQ(r.Get("instance", "spec.forProvider.identifier"), "db-2024-orders-eu");
  EXPECT_EQ(r.Status("identifier"), "db-2024-orders-eu");
}

// Left to Crossplane, the group would be named <XR name>-<suffix>, which RDS
// refuses for this XR's name (a digit first, a dot).
TEST(XDatabaseNames, ANewParameterGroupIsNamedAfterTheIdentifier) {
  Json xr = Xr(With(Params(), {{"parameters", {{"log_statement", "ddl"}}}}));
  xr["metadata"]["name"] = "2024.orders";
  const Rendered r = RunOk(Call{.xr = xr});
  EXPECT_EQ(r.Get("parametergroup", "metadata.annotations[crossplane.io/external-name]"),
            "db-2024-orders-params");
}

TEST(XDatabaseNames, AnExistingParameterGroupKeepsItsName) {
  const Json xr = Xr(With(Params(), {{"parameters", {{"log_statement", "ddl"}}}}));
  Json observed = ReadyObject();
  observed["metadata"] = {{"name", "payments-db-x7k2p"},
                          {"annotations", {{"crossplane.io/external-name", "payments-db-x7k2p"}}}};
  const Rendered r = RunOk(Call{.xr = xr, .observed = {{"parametergroup", observed}}});
  EXPECT_EQ(r.Get("parametergroup", "metadata.annotations[crossplane.io/external-name]"),
            "payments-db-x7k2p");
  // Observed before the provider named it: left to the provider.
  observed["metadata"].erase("annotations");
  const Rendered unnamed = RunOk(Call{.xr = xr, .observed = {{"parametergroup", observed}}});
  EXPECT_EQ(unnamed.Get("parametergroup", "metadata.annotations"), nullptr);
}

TEST(XDatabase, SecretsOfABareXrGoToCrossplaneSystem) {
  const Rendered r = RunOk(Call{.xr = Xr(Params(), "", "")});
  EXPECT_EQ(r.Get("instance", "spec.forProvider.passwordSecretRef.namespace"), "crossplane-system");
  EXPECT_EQ(r.Get("instance", "spec.writeConnectionSecretToRef.namespace"), "crossplane-system");
}

TEST(XDatabase, MandatedTagsWinOverUserTagsOnEveryManagedResource) {
  const Json params =
      With(Params(), {{"tags", {{"owner", "oncall"}, {"platform.terraforming.io/team", "evil"}}}});
  const Rendered r = RunOk(Call{.xr = Xr(params)});
  for (const auto& [name, o] : r.resources()) {
    if (At(o, "kind").get<std::string>().ends_with("Usage")) continue;
    const Json tags = At(o, "spec.forProvider.tags");
    EXPECT_EQ(tags["owner"], "oncall") << name;
    EXPECT_EQ(tags["platform.terraforming.io/team"], "payments") << name;
    EXPECT_EQ(tags["platform.terraforming.io/composite"], kXrName) << name;
  }
}

// Runs `c` with the given connection details on the observed `resource`.
Rendered RunWithDetails(const Call& c, const std::string& resource,
                        const std::map<std::string, std::string>& details) {
  pb::RunFunctionRequest req = RequestOf(c);
  auto& d = *(*req.mutable_observed()->mutable_resources())[resource].mutable_connection_details();
  for (const auto& [k, v] : details) d[k] = v;
  static const Registry* const registry = new Registry(BuiltinRegistry());
  Rendered r(Runner(*registry).Run(req));
  EXPECT_EQ(r.Fatal(), "");
  return r;
}

TEST(XDatabase, PasswordNeverInAnySpec) {
  const std::map<std::string, std::string> details = {{"endpoint", "db.example"},
                                                      {"address", "db.example"},
                                                      {"port", "5432"},
                                                      {"username", "dbadmin"},
                                                      {"password", "s3cr3t-from-provider"}};
  for (const Json& xr :
       {Xr(Params()), Xr(Params(), "team-payments"), Xr(With(Params(), {{"mode", "Aurora"}}))}) {
    const bool aurora = At(xr, "spec.parameters.mode") == "Aurora";
    const std::string rds = aurora ? "cluster" : "instance";
    const Rendered r = RunWithDetails(
        Call{.xr = xr, .observed = {{rds, ReadyObject()}, {"securitygroup", ReadyObject()}}}, rds,
        details);
    ASSERT_EQ(r.names().count(rds), 1u);
    for (const auto& [name, o] : r.resources()) {
      const std::string text = At(o, "spec").dump();
      EXPECT_THAT(text, ::testing::Not(HasSubstr("s3cr3t"))) << name;
      EXPECT_THAT(text, ::testing::Not(HasSubstr("czNjcjN0"))) << name;  // base64
    }
    // Where it does go: the claim's connection details, or the namespaced Secret.
    if (At(xr, "metadata.namespace").is_null()) {
      EXPECT_EQ(r.Details().at("password"), "s3cr3t-from-provider");
    } else {
      EXPECT_EQ(r.Get("connection-secret", "data.password"), "czNjcjN0LWZyb20tcHJvdmlkZXI=");
    }
  }
}

// --- Deletion order, readiness, events --------------------------------------------

TEST(XDatabase, TheDatabaseKeepsWhatItUsesUntilItIsGone) {
  const Rendered r = RunOk(Call{.xr = Xr(With(Params(), {{"parameters", {{"a", "1"}}}}))});
  for (const std::string of : {"subnetgroup", "securitygroup", "parametergroup", "kms-key"}) {
    const std::string u = "usage-" + of + "-by-instance";
    EXPECT_EQ(r.Get(u, "spec.replayDeletion"), true) << u;
    EXPECT_EQ(r.Get(u, "spec.of.resourceSelector.matchLabels[platform.terraforming.io/resource]"),
              of);
    EXPECT_EQ(r.Get(u, "spec.by.resourceSelector.matchLabels[platform.terraforming.io/resource]"),
              "instance");
    EXPECT_EQ(r.Get(u, "spec.by.apiVersion"), "rds.aws.upbound.io/v1beta3");
  }
  EXPECT_EQ(r.Get("usage-kms-key-by-instance", "spec.of.apiVersion"), "kms.aws.upbound.io/v1beta1");
  EXPECT_EQ(r.Get("usage-parametergroup-by-instance", "spec.of.kind"), "ParameterGroup");
  const Rendered a = RunOk(Call{.xr = Xr(With(Params(), {{"mode", "Aurora"}}))});
  EXPECT_EQ(a.Get("usage-cluster-by-instance-1", "spec.of.apiVersion"),
            "rds.aws.upbound.io/v1beta2");
  EXPECT_EQ(a.Get("usage-cluster-by-instance-1", "spec.by.kind"), "ClusterInstance");
  EXPECT_EQ(a.Get("usage-subnetgroup-by-cluster", "spec.by.kind"), "Cluster");
}

TEST(XDatabase, ReadyOnTheReadyConditionOnly) {
  const Rendered r = RunOk(Call{
      .xr = Xr(Params()),
      .observed = {{"instance", ReadyObject()}, {"subnetgroup", {{"status", Json::object()}}}}});
  EXPECT_EQ(r.Ready("instance"), pb::READY_TRUE);
  EXPECT_EQ(r.Ready("subnetgroup"), pb::READY_FALSE);
  EXPECT_EQ(r.Ready("securitygroup"), pb::READY_FALSE);
}

TEST(XDatabase, AnnouncesNewResourcesAndWhatGoes) {
  const Rendered first = RunOk(Call{.xr = Xr(Params())});
  ASSERT_EQ(first.Normal().size(), 1u);
  EXPECT_THAT(first.Normal()[0], HasSubstr("the postgres 17 RDS instance payments-db (dev"));
  Json observed = Json::object();
  for (const std::string& n : first.names()) observed[n] = ReadyObject();
  observed["parametergroup"] = ReadyObject();
  const Rendered again = RunOk(Call{.xr = Xr(Params()), .observed = observed});
  ASSERT_EQ(again.Normal().size(), 1u);
  EXPECT_EQ(again.Normal()[0], "deleting 1 resources no longer asked for: parametergroup");
}

// --- Connection details and status -------------------------------------------------

Json ConnectionSecret(const std::string& ns = "team-payments") {
  // base64 of db.example:5432, db.example, 5432, dbadmin, pw
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"metadata", {{"name", "payments-db-rds"}, {"namespace", ns}}},
          {"data",
           {{"endpoint", "ZGIuZXhhbXBsZTo1NDMy"},
            {"address", "ZGIuZXhhbXBsZQ=="},
            {"port", "NTQzMg=="},
            {"username", "ZGJhZG1pbg=="},
            {"password", "cHc="}}}};
}

const std::map<std::string, std::string> kDetails = {
    {"endpoint", "db.example:5432"}, {"host", "db.example"}, {"port", "5432"},
    {"username", "dbadmin"},         {"password", "pw"},     {"database", "app"}};

TEST(XDatabaseConnection, NotAskedForBeforeTheDatabaseExists) {
  const Rendered r = RunOk(Call{.xr = Xr(Params())});
  EXPECT_FALSE(r.proto().has_requirements());
  EXPECT_TRUE(r.Details().empty());
}

TEST(XDatabaseConnection, FromTheObservedConnectionDetails) {
  const Rendered r = RunWithDetails(
      Call{.xr = Xr(Params()), .observed = {{"instance", ReadyObject()}}}, "instance",
      {{"endpoint", "db.example:5432"},
       {"address", "db.example"},
       {"port", "5432"},
       {"username", "dbadmin"},
       {"password", "pw"}});
  EXPECT_EQ(r.Details(), kDetails);
  EXPECT_FALSE(r.proto().has_requirements());
}

TEST(XDatabaseConnection, FromTheSecretTheProviderWrites) {
  const Rendered asked = RunOk(Call{.xr = Xr(Params()), .observed = {{"instance", ReadyObject()}}});
  const pb::ResourceSelector& s =
      asked.proto().requirements().resources().at("rds-connection-secret");
  EXPECT_EQ(s.kind(), "Secret");
  EXPECT_EQ(s.match_name(), "payments-db-rds");
  EXPECT_EQ(s.namespace_(), "team-payments");
  EXPECT_TRUE(asked.Details().empty());
  const Rendered r = RunOk(Call{.xr = Xr(Params()),
                                .observed = {{"instance", ReadyObject()}},
                                .required = {{"rds-connection-secret", {ConnectionSecret()}}}});
  EXPECT_EQ(r.Details(), kDetails);
}

TEST(XDatabaseConnection, SaysSoOnlyWhenTheDetailsChange) {
  const Call c{.xr = Xr(Params()),
               .observed = {{"instance", ReadyObject()}},
               .required = {{"rds-connection-secret", {ConnectionSecret()}}}};
  const auto said = [](const Rendered& r) {
    std::vector<std::string> out;
    for (const pb::Result& res : r.proto().results()) {
      if (res.reason() == "PublishConnectionDetails") out.push_back(res.message());
    }
    return out;
  };
  const Rendered first = RunOk(c);
  ASSERT_EQ(said(first).size(), 1u);
  EXPECT_EQ(said(first)[0],
            "connection details endpoint, host, port, username, password, database from the "
            "postgres 17 RDS instance payments-db: endpoint db.example:5432, user dbadmin, "
            "database app");
  // The XR already has them: nothing to say.
  pb::RunFunctionRequest req = RequestOf(c);
  auto& had = *req.mutable_observed()->mutable_composite()->mutable_connection_details();
  for (const auto& [k, v] : kDetails) had[k] = v;
  static const Registry* const registry = new Registry(BuiltinRegistry());
  const Rendered again(Runner(*registry).Run(req));
  EXPECT_EQ(again.Fatal(), "");
  EXPECT_TRUE(said(again).empty());
  EXPECT_EQ(again.Details(), kDetails);
}

TEST(XDatabaseConnection, AuroraPublishesTheWriterEndpoint) {
  Json secret = ConnectionSecret();
  // endpoint: writer.example (the cluster's writer host), master_username.
  secret["data"] = {{"endpoint", "d3JpdGVyLmV4YW1wbGU="},
                    {"port", "MzMwNg=="},
                    {"master_username", "ZGJhZG1pbg=="},
                    {"password", "cHc="}};
  const Rendered r = RunOk(Call{.xr = Xr(With(Params(), {{"mode", "Aurora"}, {"engine", "mysql"}})),
                                .observed = {{"cluster", ReadyObject()}},
                                .required = {{"rds-connection-secret", {secret}}}});
  const std::map<std::string, std::string> want = {{"endpoint", "writer.example:3306"},
                                                   {"host", "writer.example"},
                                                   {"port", "3306"},
                                                   {"username", "dbadmin"},
                                                   {"password", "pw"},
                                                   {"database", "app"}};
  EXPECT_EQ(r.Details(), want);
}

TEST(XDatabaseConnection, BadBase64IsFatalNamingTheField) {
  Json secret = ConnectionSecret();
  secret["data"]["password"] = "not base64!";
  const Rendered r(RunProto(Call{.xr = Xr(Params()),
                                 .observed = {{"instance", ReadyObject()}},
                                 .required = {{"rds-connection-secret", {secret}}}}));
  EXPECT_EQ(r.Fatal(), "required resource rds-connection-secret.data[password]: must be base64");
}

TEST(XDatabaseConnection, NamespacedXrsGetASecretOnceTheValuesAreKnown) {
  const Json xr = Xr(Params(), "team-payments");
  const Rendered before = RunOk(Call{.xr = xr, .observed = {{"instance", ReadyObject()}}});
  EXPECT_EQ(before.names().count("connection-secret"), 0u);
  EXPECT_EQ(before.CompositeReady(), pb::READY_FALSE);
  EXPECT_EQ(before.Status("connectionSecretName"), nullptr);
  const Rendered r = RunOk(Call{.xr = xr,
                                .observed = {{"instance", ReadyObject()}},
                                .required = {{"rds-connection-secret", {ConnectionSecret()}}}});
  EXPECT_TRUE(r.Details().empty());  // namespaced XRs have none
  EXPECT_EQ(r.Get("connection-secret", "kind"), "Secret");
  EXPECT_EQ(r.Get("connection-secret", "metadata.name"), "payments-db-connection");
  EXPECT_EQ(r.Get("connection-secret", "metadata.namespace"), "team-payments");
  EXPECT_EQ(r.Get("connection-secret", "data"), Json({{"endpoint", "ZGIuZXhhbXBsZTo1NDMy"},
                                                      {"host", "ZGIuZXhhbXBsZQ=="},
                                                      {"port", "NTQzMg=="},
                                                      {"username", "ZGJhZG1pbg=="},
                                                      {"password", "cHc="},
                                                      {"database", "YXBw"}}));
  EXPECT_EQ(r.Status("connectionSecretName"), "payments-db-connection");
  // Once composed it stays, even while the values cannot be read.
  const Rendered kept =
      RunOk(Call{.xr = xr,
                 .observed = {{"instance", ReadyObject()},
                              {"connection-secret", {{"data", {{"password", "cHc="}}}}}},
                 .required = {{"rds-connection-secret", Json::array()}}});
  EXPECT_EQ(kept.Get("connection-secret", "data"), Json({{"password", "cHc="}}));
  EXPECT_EQ(kept.Ready("connection-secret"), pb::READY_TRUE);
}

TEST(XDatabase, StatusFromTheObservedDatabase) {
  const Rendered r = RunOk(
      Call{.xr = Xr(Params()),
           .observed = {{"instance", ReadyObject({{"endpoint", "db.example:5432"},
                                                  {"address", "db.example"},
                                                  {"port", 5432},
                                                  {"arn", "arn:aws:rds:eu-west-1:1:db:payments-db"},
                                                  {"engineVersion", "17"},
                                                  {"engineVersionActual", "17.4"}})}}});
  EXPECT_EQ(r.Status("endpoint"), "db.example:5432");
  EXPECT_EQ(r.Status("address"), "db.example");
  EXPECT_EQ(r.Status("port"), 5432);
  EXPECT_EQ(r.Status("arn"), "arn:aws:rds:eu-west-1:1:db:payments-db");
  EXPECT_EQ(r.Status("engineVersion"), "17.4");
  EXPECT_EQ(r.Status("identifier"), "payments-db");
  const Rendered a =
      RunOk(Call{.xr = Xr(With(Params(), {{"mode", "Aurora"}})),
                 .observed = {{"cluster", ReadyObject({{"endpoint", "w.example"},
                                                       {"readerEndpoint", "r.example"},
                                                       {"port", 5432},
                                                       {"engineVersion", "17.4"}})}}});
  EXPECT_EQ(a.Status("endpoint"), "w.example:5432");
  EXPECT_EQ(a.Status("address"), "w.example");
  EXPECT_EQ(a.Status("readerEndpoint"), "r.example");
  EXPECT_EQ(a.Status("engineVersion"), "17.4");
}

// --- Observability (class policy) ----------------------------------------------------

TEST(XDatabaseObservability, ProdInstanceIsObservedInDepth) {
  const Rendered r = RunOk(Call{.xr = Xr(Params("prod"))});
  EXPECT_EQ(r.Get("instance", "spec.forProvider.performanceInsightsEnabled"), true);
  EXPECT_EQ(r.Get("instance", "spec.forProvider.performanceInsightsRetentionPeriod"), 7);
  EXPECT_EQ(r.Get("instance",
                  "spec.forProvider.performanceInsightsKmsKeyIdSelector.matchLabels"
                  "[platform.terraforming.io/resource]"),
            "kms-key");
  EXPECT_EQ(r.Get("instance", "spec.forProvider.monitoringInterval"), 60);
  EXPECT_EQ(r.Get("instance",
                  "spec.forProvider.monitoringRoleArnSelector.matchLabels"
                  "[platform.terraforming.io/resource]"),
            "monitoring-role");
  EXPECT_EQ(r.Get("instance", "spec.forProvider.enabledCloudwatchLogsExports"),
            Json({"postgresql", "upgrade"}));
  EXPECT_EQ(r.Get("instance", "spec.forProvider.iamDatabaseAuthenticationEnabled"), true);

  // The role RDS assumes to publish the samples, with AWS's policy for it.
  EXPECT_EQ(r.Get("monitoring-role", "apiVersion"), "iam.aws.upbound.io/v1beta1");
  EXPECT_EQ(r.Get("monitoring-role", "kind"), "Role");
  const Json trust =
      Json::parse(r.Get("monitoring-role", "spec.forProvider.assumeRolePolicy").get<std::string>());
  EXPECT_EQ(At(trust, "Statement[0].Principal.Service"), "monitoring.rds.amazonaws.com");
  EXPECT_EQ(At(trust, "Statement[0].Action"), "sts:AssumeRole");
  EXPECT_EQ(r.Get("monitoring-role", "spec.forProvider.region"), nullptr);  // IAM is global
  EXPECT_EQ(r.Get("monitoring-role-policy", "kind"), "RolePolicyAttachment");
  EXPECT_EQ(r.Get("monitoring-role-policy", "spec.forProvider.policyArn"),
            "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole");
  EXPECT_EQ(r.Get("monitoring-role-policy",
                  "spec.forProvider.roleSelector.matchLabels[platform.terraforming.io/resource]"),
            "monitoring-role");
  // Both outlive the instance.
  EXPECT_EQ(r.Get("usage-monitoring-role-by-instance", "spec.of.kind"), "Role");
  EXPECT_EQ(r.Get("usage-monitoring-role-by-instance", "spec.by.kind"), "Instance");
  EXPECT_EQ(r.Get("usage-monitoring-role-policy-by-instance", "spec.of.kind"),
            "RolePolicyAttachment");
}

TEST(XDatabaseObservability, DevStatesEverythingOff) {
  const Rendered r = RunOk(Call{.xr = Xr(Params())});
  EXPECT_EQ(r.Get("instance", "spec.forProvider.performanceInsightsEnabled"), false);
  EXPECT_EQ(r.Get("instance", "spec.forProvider.performanceInsightsRetentionPeriod"), nullptr);
  EXPECT_EQ(r.Get("instance", "spec.forProvider.monitoringInterval"), 0);
  EXPECT_EQ(r.Get("instance", "spec.forProvider.monitoringRoleArnSelector"), nullptr);
  EXPECT_EQ(r.Get("instance", "spec.forProvider.enabledCloudwatchLogsExports"), Json::array());
  EXPECT_EQ(r.Get("instance", "spec.forProvider.iamDatabaseAuthenticationEnabled"), false);
  EXPECT_EQ(r.names().count("monitoring-role"), 0u);
  EXPECT_EQ(r.names().count("monitoring-role-policy"), 0u);
}

TEST(XDatabaseObservability, AuroraClusterLogsAndIamInstancesInsightsAndMonitoring) {
  const Rendered r = RunOk(Call{.xr = Xr(With(Params("prod"), {{"mode", "Aurora"}}))});
  EXPECT_EQ(r.Get("cluster", "spec.forProvider.enabledCloudwatchLogsExports"),
            Json({"postgresql"}));
  EXPECT_EQ(r.Get("cluster", "spec.forProvider.iamDatabaseAuthenticationEnabled"), true);
  EXPECT_EQ(r.Get("cluster", "spec.forProvider.monitoringInterval"), nullptr);
  EXPECT_EQ(r.Get("cluster", "spec.forProvider.performanceInsightsEnabled"), nullptr);
  for (const std::string n : {"instance-1", "instance-2"}) {
    EXPECT_EQ(r.Get(n, "spec.forProvider.performanceInsightsEnabled"), true) << n;
    EXPECT_EQ(r.Get(n, "spec.forProvider.performanceInsightsRetentionPeriod"), 7) << n;
    EXPECT_EQ(r.Get(n, "spec.forProvider.monitoringInterval"), 60) << n;
    EXPECT_EQ(r.Get(n,
                    "spec.forProvider.monitoringRoleArnSelector.matchLabels"
                    "[platform.terraforming.io/resource]"),
              "monitoring-role")
        << n;
    EXPECT_EQ(r.Get(n, "spec.forProvider.enabledCloudwatchLogsExports"), nullptr) << n;
    EXPECT_EQ(r.Get("usage-monitoring-role-by-" + n, "spec.by.kind"), "ClusterInstance") << n;
  }
  const Rendered mysql =
      RunOk(Call{.xr = Xr(With(Params("prod"), {{"mode", "Aurora"}, {"engine", "mysql"}}))});
  EXPECT_EQ(mysql.Get("cluster", "spec.forProvider.enabledCloudwatchLogsExports"),
            Json({"audit", "error", "general", "slowquery"}));
}

TEST(XDatabaseObservability, TheClassPolicyDecides) {
  const Json input =
      PolicyInput({{"classes",
                    {{"dev",
                      {{"database",
                        {{"performanceInsights", {{"enabled", true}, {"retentionDays", 93}}},
                         {"monitoringInterval", 15},
                         {"logExports", {{"mysql", {"error", "slowquery"}}}},
                         {"iamAuthentication", true}}}}}}}});
  const Rendered r = RunOk(Call{.xr = Xr(With(Params(), {{"engine", "mysql"}})), .input = input});
  EXPECT_EQ(r.Get("instance", "spec.forProvider.performanceInsightsEnabled"), true);
  EXPECT_EQ(r.Get("instance", "spec.forProvider.performanceInsightsRetentionPeriod"), 93);
  EXPECT_EQ(r.Get("instance", "spec.forProvider.monitoringInterval"), 15);
  EXPECT_EQ(r.Get("instance", "spec.forProvider.enabledCloudwatchLogsExports"),
            Json({"error", "slowquery"}));
  EXPECT_EQ(r.Get("instance", "spec.forProvider.iamDatabaseAuthenticationEnabled"), true);
  EXPECT_EQ(r.names().count("monitoring-role"), 1u);
  // A prod class that turns monitoring off composes no role.
  const Json off =
      PolicyInput({{"classes", {{"prod", {{"database", {{"monitoringInterval", 0}}}}}}}});
  const Rendered prod = RunOk(Call{.xr = Xr(Params("prod")), .input = off});
  EXPECT_EQ(prod.Get("instance", "spec.forProvider.monitoringInterval"), 0);
  EXPECT_EQ(prod.names().count("monitoring-role"), 0u);
  EXPECT_EQ(prod.names().count("usage-monitoring-role-by-instance"), 0u);
}

TEST(XDatabaseObservability, NamespacedXrsComposeTheNamespacedRole) {
  const Rendered r = RunOk(Call{.xr = Xr(Params("prod"), "team-web")});
  EXPECT_EQ(r.Get("monitoring-role", "apiVersion"), "iam.aws.m.upbound.io/v1beta1");
  EXPECT_EQ(r.Get("monitoring-role", "metadata.namespace"), "team-web");
  EXPECT_EQ(r.Get("usage-monitoring-role-by-instance", "kind"), "Usage");
}

// --- Master password in Secrets Manager ----------------------------------------------

TEST(XDatabasePassword, GeneratedIntoASecretByDefault) {
  for (const Json& patch : {Json::object(), Json({{"mode", "Aurora"}})}) {
    const Rendered r = RunOk(Call{.xr = Xr(With(Params(), patch))});
    const std::string rds = patch.empty() ? "instance" : "cluster";
    const std::string ref = patch.empty() ? "passwordSecretRef" : "masterPasswordSecretRef";
    EXPECT_EQ(r.Get(rds, "spec.forProvider.autoGeneratePassword"), true) << rds;
    EXPECT_EQ(r.Get(rds, "spec.forProvider." + ref + ".name"), "payments-db-password") << rds;
    EXPECT_EQ(r.Get(rds, "spec.forProvider.manageMasterUserPassword"), nullptr) << rds;
  }
}

TEST(XDatabasePassword, ManagedBySecretsManagerWhenAsked) {
  for (const Json& patch : {Json::object(), Json({{"mode", "Aurora"}})}) {
    const Rendered r =
        RunOk(Call{.xr = Xr(With(With(Params(), patch), {{"manageMasterUserPassword", true}}))});
    const std::string rds = patch.empty() ? "instance" : "cluster";
    EXPECT_EQ(r.Get(rds, "spec.forProvider.manageMasterUserPassword"), true) << rds;
    EXPECT_EQ(r.Get(rds, "spec.forProvider.autoGeneratePassword"), nullptr) << rds;
    EXPECT_EQ(r.Get(rds, "spec.forProvider.passwordSecretRef"), nullptr) << rds;
    EXPECT_EQ(r.Get(rds, "spec.forProvider.masterPasswordSecretRef"), nullptr) << rds;
  }
}

constexpr char kSecretArn[] =
    "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-1234-AbCdEf";

TEST(XDatabasePassword, TheConnectionAndStatusNameTheSecret) {
  Json observed = ReadyObject({{"address", "db.example"},
                               {"port", 5432},
                               {"manageMasterUserPassword", true},
                               {"masterUserSecret", {{{"secretArn", kSecretArn}}}}});
  observed["spec"]["forProvider"]["manageMasterUserPassword"] = true;
  const Rendered r =
      RunWithDetails(Call{.xr = Xr(With(Params(), {{"manageMasterUserPassword", true}})),
                          .observed = {{"instance", observed}}},
                     "instance",
                     {{"endpoint", "db.example:5432"},
                      {"address", "db.example"},
                      {"port", "5432"},
                      {"username", "dbadmin"}});
  EXPECT_EQ(r.Details(), (std::map<std::string, std::string>{{"endpoint", "db.example:5432"},
                                                             {"host", "db.example"},
                                                             {"port", "5432"},
                                                             {"username", "dbadmin"},
                                                             {"masterUserSecretArn", kSecretArn},
                                                             {"database", "app"}}));
  EXPECT_EQ(r.Status("masterUserSecretArn"), kSecretArn);
  // Namespaced: the Secret beside the XR names it too.
  const Rendered ns = RunWithDetails(
      Call{.xr = Xr(With(Params(), {{"manageMasterUserPassword", true}}), "team-web"),
           .observed = {{"instance", observed}}},
      "instance", {{"address", "db.example"}, {"port", "5432"}, {"username", "dbadmin"}});
  EXPECT_EQ(ns.Get("connection-secret", "data.masterUserSecretArn"),
            absl::Base64Escape(kSecretArn));
  EXPECT_EQ(ns.Get("connection-secret", "data.password"), nullptr);
}

TEST(XDatabasePassword, NothingToPublishUntilRdsSaysWhereThePasswordIs) {
  Json observed = ReadyObject({{"address", "db.example"}});
  observed["spec"]["forProvider"]["manageMasterUserPassword"] = true;
  const Rendered r = RunWithDetails(
      Call{.xr = Xr(With(Params(), {{"manageMasterUserPassword", true}})),
           .observed = {{"instance", observed}}},
      "instance", {{"address", "db.example"}, {"port", "5432"}, {"username", "dbadmin"}});
  EXPECT_TRUE(r.Details().empty());
  EXPECT_EQ(r.Status("masterUserSecretArn"), nullptr);
}

TEST(XDatabasePassword, WhereThePasswordLivesIsChosenAtCreation) {
  Json generated = ReadyObject();
  generated["spec"]["forProvider"] = {{"autoGeneratePassword", true}};
  const pb::RunFunctionResponse to_managed =
      RunProto(Call{.xr = Xr(With(Params(), {{"manageMasterUserPassword", true}})),
                    .observed = {{"instance", generated}}});
  ASSERT_EQ(to_managed.results_size(), 1) << to_managed.DebugString();
  EXPECT_EQ(to_managed.results(0).severity(), pb::SEVERITY_FATAL);
  EXPECT_THAT(to_managed.results(0).message(),
              ::testing::StartsWith("spec.parameters.manageMasterUserPassword: the database's "
                                    "master password is in the Secret the provider generated"));

  const Json managed = ReadyObject({{"manageMasterUserPassword", true}});
  const pb::RunFunctionResponse to_generated = RunProto(
      Call{.xr = Xr(With(Params(), {{"mode", "Aurora"}})), .observed = {{"cluster", managed}}});
  ASSERT_EQ(to_generated.results_size(), 1) << to_generated.DebugString();
  EXPECT_THAT(to_generated.results(0).message(),
              ::testing::StartsWith("spec.parameters.manageMasterUserPassword: the database keeps "
                                    "its master password in Secrets Manager"));
  // Unchanged either way: fine.
  EXPECT_EQ(RunOk(Call{.xr = Xr(Params()), .observed = {{"instance", generated}}})
                .Get("instance", "spec.forProvider.autoGeneratePassword"),
            true);
  EXPECT_EQ(
      RunOk(Call{.xr = Xr(With(Params(), {{"mode", "Aurora"}, {"manageMasterUserPassword", true}})),
                 .observed = {{"cluster", managed}}})
          .Get("cluster", "spec.forProvider.manageMasterUserPassword"),
      true);
}

// --- Final snapshots -----------------------------------------------------------------

TEST(XDatabaseSnapshot, UniquePerIncarnationStableAcrossRenders) {
  Json xr = Xr(Params("prod"));
  xr["metadata"]["uid"] = "3f1c2a9e-7b4d-4e2a-9c1f-0a1b2c3d4e5f";
  const std::string want = "payments-db-final-3f1c2a9e-7b4d-4e2a-9c1f-0a1b2c3d4e5f";
  EXPECT_EQ(RunOk(Call{.xr = xr}).Get("instance", "spec.forProvider.finalSnapshotIdentifier"),
            want);
  EXPECT_EQ(RunOk(Call{.xr = xr, .observed = {{"instance", ReadyObject()}}})
                .Get("instance", "spec.forProvider.finalSnapshotIdentifier"),
            want);
  // The database created again under the same name: another snapshot.
  xr["metadata"]["uid"] = "9d8e7f60-1a2b-4c3d-8e9f-001122334455";
  EXPECT_EQ(RunOk(Call{.xr = xr}).Get("instance", "spec.forProvider.finalSnapshotIdentifier"),
            "payments-db-final-9d8e7f60-1a2b-4c3d-8e9f-001122334455");
  Json aurora = Xr(With(Params("prod"), {{"mode", "Aurora"}}));
  aurora["metadata"]["uid"] = "9d8e7f60-1a2b-4c3d-8e9f-001122334455";
  EXPECT_EQ(RunOk(Call{.xr = aurora}).Get("cluster", "spec.forProvider.finalSnapshotIdentifier"),
            "payments-db-final-9d8e7f60-1a2b-4c3d-8e9f-001122334455");
}

TEST(XDatabaseSnapshot, TheLongestIdentifierStillFits) {
  Json xr = Xr(Params("prod"), "team-web");
  xr["metadata"]["name"] = std::string(63, 'p');
  xr["metadata"]["uid"] = "3f1c2a9e-7b4d-4e2a-9c1f-0a1b2c3d4e5f";
  const Rendered r = RunOk(Call{.xr = xr});
  const std::string id = r.Get("instance", "spec.forProvider.identifier");
  EXPECT_EQ(id.size(), 60u);
  const std::string snapshot = r.Get("instance", "spec.forProvider.finalSnapshotIdentifier");
  EXPECT_EQ(snapshot, id + "-final-3f1c2a9e-7b4d-4e2a-9c1f-0a1b2c3d4e5f");
  EXPECT_LE(snapshot.size(), 255u);
}

// --- Aurora versions -----------------------------------------------------------------

TEST(XDatabaseVersions, AuroraFullVersionsArePinned) {
  const Rendered pg =
      RunOk(Call{.xr = Xr(With(Params(), {{"mode", "Aurora"}, {"engineVersion", "16.6"}}))});
  EXPECT_EQ(pg.Get("cluster", "spec.forProvider.engineVersion"), "16.6");
  EXPECT_EQ(pg.Get("cluster", "spec.forProvider.engine"), "aurora-postgresql");
  EXPECT_EQ(pg.Get("instance-1", "spec.forProvider.autoMinorVersionUpgrade"), false);

  const Rendered my =
      RunOk(Call{.xr = Xr(With(Params(), {{"engine", "mysql"},
                                          {"mode", "Aurora"},
                                          {"engineVersion", "8.0.mysql_aurora.3.08.0"}}))});
  EXPECT_EQ(my.Get("cluster", "spec.forProvider.engineVersion"), "8.0.mysql_aurora.3.08.0");
  EXPECT_EQ(my.Get("cluster", "spec.initProvider"), nullptr);
  EXPECT_EQ(my.Get("instance-1", "spec.forProvider.autoMinorVersionUpgrade"), false);
  // Another release of the same major.
  EXPECT_EQ(RunOk(Call{.xr = Xr(With(Params(), {{"engine", "mysql"},
                                                {"mode", "Aurora"},
                                                {"engineVersion", "8.0.mysql_aurora.3.04.3"}}))})
                .Get("cluster", "spec.forProvider.engineVersion"),
            "8.0.mysql_aurora.3.04.3");
}

struct RefusedVersion {
  std::string name;
  Json patch;
  std::string message;
};

void PrintTo(const RefusedVersion& c, std::ostream* os) { *os << c.name; }

class XDatabaseRefusedVersionTest : public ::testing::TestWithParam<RefusedVersion> {};

TEST_P(XDatabaseRefusedVersionTest, FailsNamingEngineVersion) {
  const RefusedVersion& c = GetParam();
  const pb::RunFunctionResponse rsp = RunProto(Call{.xr = Xr(With(Params(), c.patch))});
  ASSERT_EQ(rsp.results_size(), 1) << rsp.DebugString();
  EXPECT_EQ(rsp.results(0).severity(), pb::SEVERITY_FATAL);
  EXPECT_EQ(rsp.results(0).message(), c.message);
  EXPECT_EQ(rsp.desired().resources_size(), 0);
}

INSTANTIATE_TEST_SUITE_P(
    XDatabase, XDatabaseRefusedVersionTest,
    ::testing::Values(
        RefusedVersion{"AuroraMysqlCommunityVersion",
                       {{"engine", "mysql"}, {"mode", "Aurora"}, {"engineVersion", "8.0.36"}},
                       "spec.parameters.engineVersion: Aurora MySQL names its versions "
                       "8.0.mysql_aurora.3.x.y (e.g. 8.0.mysql_aurora.3.08.0), not 8.0.36; give "
                       "one of those, or the major version 8.0 (created with "
                       "8.0.mysql_aurora.3.08.0)"},
        RefusedVersion{
            "AuroraMysqlReleaseOfAnotherMajor",
            {{"engine", "mysql"}, {"mode", "Aurora"}, {"engineVersion", "8.0.mysql_aurora.2.11.2"}},
            "spec.parameters.engineVersion: Aurora MySQL names its versions "
            "8.0.mysql_aurora.3.x.y (e.g. 8.0.mysql_aurora.3.08.0), not "
            "8.0.mysql_aurora.2.11.2; give one of those, or the major version 8.0 "
            "(created with 8.0.mysql_aurora.3.08.0)"},
        RefusedVersion{"AuroraReleaseInModeInstance",
                       {{"engine", "mysql"}, {"engineVersion", "8.0.mysql_aurora.3.08.0"}},
                       "spec.parameters.engineVersion: 8.0.mysql_aurora.3.08.0 is an Aurora "
                       "MySQL release: only for engine mysql in mode Aurora"},
        RefusedVersion{"AuroraReleaseForPostgres",
                       {{"mode", "Aurora"}, {"engineVersion", "16.mysql_aurora.3.08.0"}},
                       "spec.parameters.engineVersion: 16.mysql_aurora.3.08.0 is an Aurora "
                       "MySQL release: only for engine mysql in mode Aurora"},
        RefusedVersion{
            "AuroraReleaseMalformed",
            {{"engine", "mysql"}, {"mode", "Aurora"}, {"engineVersion", "8.0.mysql_aurora.3.08"}},
            "spec.parameters.engineVersion: \"8.0.mysql_aurora.3.08\" is not an Aurora "
            "MySQL release (MAJOR.MINOR.mysql_aurora.X.Y.Z, e.g. "
            "8.0.mysql_aurora.3.08.0)"},
        RefusedVersion{"AuroraPostgresThreeParts",
                       {{"mode", "Aurora"}, {"engineVersion", "16.6.1"}},
                       "spec.parameters.engineVersion: postgres versions are MAJOR or "
                       "MAJOR.MINOR, not 16.6.1"}),
    CaseName<RefusedVersion>);

}  // namespace
}  // namespace platform::fn::renderers
