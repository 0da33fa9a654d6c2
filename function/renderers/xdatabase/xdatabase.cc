#include "function/renderers/xdatabase/xdatabase.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "function/compose/composer.h"
#include "function/compose/environment.h"
#include "function/compose/ids.h"
#include "function/compose/object.h"
#include "function/renderers/xdatabase/compose.h"
#include "function/renderers/xdatabase/params.h"
#include "function/sdk/status_macros.h"
#include "function/sdk/strings.h"

namespace platform::fn::renderers {
namespace {

using sdk::FieldError;
using sdk::Json;
using xdatabase::Mode;
using xdatabase::Outcome;
using xdatabase::Params;

// The requirement key of the RDS resource's connection Secret.
constexpr std::string_view kConnectionRequirement = "rds-connection-secret";

// Fills p.network from what the environment publishes. Without clients
// of its own the database admits the environment's workloads: its baseline
// group.
absl::Status UseNetwork(compose::EnvironmentNetwork network, Params& p) {
  p.network.environment_object = std::move(network.object_name);
  p.network.vpc_id = std::move(network.vpc_id);
  if (!network.vpc_cidr.empty()) p.network.vpc_cidr = std::move(network.vpc_cidr);
  p.network.subnet_ids = std::move(network.database_subnet_ids);
  p.network.availability_zones = std::move(network.availability_zones);
  if (p.clients.empty()) {
    const std::string& baseline = network.baseline_security_group;
    p.clients.push_back({.security_group_id = baseline,
                         .cidr = "",
                         .path = "spec.parameters.clients",
                         .resource = sdk::Cat("sgr-", compose::ShortHash(baseline))});
  }
  return xdatabase::CheckClientsInVpc(p);
}

// What an application needs to connect.
struct Connection {
  std::string endpoint;  // host:port
  std::string host;
  std::string port;
  std::string username;
  std::string password;  // empty when RDS manages it in Secrets Manager
  // The Secrets Manager secret holding the password, when RDS manages it.
  std::string secret_arn;
};

// The ARN of the Secrets Manager secret RDS keeps the master password in,
// from the observed instance or cluster; "" until known or without one.
std::string MasterUserSecretArn(const Json& rds) {
  return compose::StringAt(rds, "status.atProvider.masterUserSecret[0].secretArn");
}

// From the keys the provider publishes: an Instance's endpoint (host:port),
// address, port, username, password; a Cluster's endpoint (the writer's
// host), port, master_username, password. With a password RDS manages,
// there is none: `secret_arn` says where it is instead. nullopt until host
// and password (or secret ARN) are known.
template <typename Get>
std::optional<Connection> ConnectionFrom(bool aurora, std::string_view secret_arn, const Get& get) {
  Connection c;
  c.port = get("port");
  if (aurora) {
    c.host = get("endpoint");
  } else {
    c.host = get("address");
    if (c.host.empty()) c.host = get("host");
    c.endpoint = get("endpoint");
  }
  if (c.endpoint.empty() && !c.host.empty() && !c.port.empty()) {
    c.endpoint = sdk::Cat(c.host, ":", c.port);
  }
  c.username = get("username");
  if (c.username.empty()) c.username = get("master_username");
  if (!secret_arn.empty()) {
    c.secret_arn = std::string(secret_arn);
  } else {
    c.password = get("password");
  }
  if (c.host.empty() || (c.password.empty() && c.secret_arn.empty())) return std::nullopt;
  return c;
}

// The connection, once the RDS resource is observed: from its connection
// details when Crossplane passes them, else from the Secret the provider
// writes, asked for as a required resource.
absl::StatusOr<std::optional<Connection>> FindConnection(const Params& p, const Outcome& o,
                                                         const sdk::Request& req,
                                                         sdk::Response& rsp) {
  const bool aurora = p.mode == Mode::kAurora;
  const sdk::Observed* rds = req.ObservedResource(o.rds_resource);
  if (rds == nullptr) return std::nullopt;
  std::string secret_arn;
  if (p.managed_password) {
    secret_arn = MasterUserSecretArn(rds->object);
    // Nothing to tell the applications until RDS says where the password is.
    if (secret_arn.empty()) return std::nullopt;
  }
  if (rds->connection_details != nullptr && !rds->connection_details->empty()) {
    const auto& details = *rds->connection_details;
    std::optional<Connection> c = ConnectionFrom(aurora, secret_arn, [&](const char* key) {
      auto it = details.find(std::string(key));
      return it == details.end() ? std::string() : it->second;
    });
    if (c) return c;
  }
  pb::ResourceSelector selector;
  selector.set_api_version("v1");
  selector.set_kind("Secret");
  selector.set_match_name(o.connection_secret);
  selector.set_namespace_(p.scope.namespaced ? p.scope.namespace_ : p.secret_namespace);
  rsp.RequireResources(std::string(kConnectionRequirement), std::move(selector));
  const std::optional<std::vector<Json>> found = req.RequiredResources(kConnectionRequirement);
  if (!found || found->empty()) return std::nullopt;
  const sdk::Fields secret(found->front(), sdk::Cat("required resource ", kConnectionRequirement));
  absl::Status error = absl::OkStatus();
  std::optional<Connection> c = ConnectionFrom(aurora, secret_arn, [&](const char* key) {
    const std::string path = sdk::Cat("data[", key, "]");
    absl::StatusOr<std::string> encoded = secret.String(path, "");
    std::string decoded;
    if (!encoded.ok()) {
      error.Update(encoded.status());
    } else if (!absl::Base64Unescape(*encoded, &decoded)) {
      error.Update(FieldError(sdk::JoinPath(secret.path(), path), "must be base64"));
    }
    return decoded;
  });
  PLATFORM_RETURN_IF_ERROR(error);
  return c;
}

// The password, or with a password RDS manages, the ARN of the Secrets
// Manager secret that holds it (masterUserSecretArn): the applications read
// it from there, and RDS rotates it there.
Json ConnectionData(const Params& p, const Connection& c) {
  Json data = {{"endpoint", c.endpoint},
               {"host", c.host},
               {"port", c.port},
               {"username", c.username},
               {"database", p.database_name}};
  if (c.secret_arn.empty()) {
    data["password"] = c.password;
  } else {
    data["masterUserSecretArn"] = c.secret_arn;
  }
  return data;
}

// Claim-based XRs publish the connection as their connection details, which
// Crossplane writes to the claim's Secret. Namespaced XRs have none in
// Crossplane v2: their Secret <xr>-connection is composed in the XR's
// namespace once the values are known, and stays desired from then on.
// Returns the name of that Secret once composed, else empty.
std::string PublishConnection(const Params& p, const Outcome& o, const std::optional<Connection>& c,
                              compose::Composer& composer, const sdk::Request& req,
                              sdk::Response& rsp) {
  if (!p.scope.namespaced) {
    if (!c) return "";
    Json data = ConnectionData(p, *c);
    bool changed = false;
    const auto& had = req.CompositeConnectionDetails();
    for (auto it = data.begin(); it != data.end(); ++it) {
      const std::string value = it.value().get<std::string>();
      auto before = had.find(it.key());
      changed = changed || before == had.end() || before->second != value;
      rsp.SetConnectionDetail(it.key(), value);
    }
    // Said once, when they change (values other than the password named,
    // so `crossplane render`, which prints no connection details, shows it).
    if (changed) {
      rsp.Normal("PublishConnectionDetails",
                 sdk::Cat("connection details endpoint, host, port, username, ",
                          c->secret_arn.empty() ? "password" : "masterUserSecretArn",
                          ", database from ", o.description, ": endpoint ", c->endpoint, ", user ",
                          c->username, ", database ", p.database_name));
    }
    return "";
  }
  Json data = Json::object();
  if (c) {
    Json plain = ConnectionData(p, *c);
    for (auto it = plain.begin(); it != plain.end(); ++it) {
      data[it.key()] = absl::Base64Escape(it.value().get<std::string>());
    }
  } else if (const Json* observed = composer.Observed(xdatabase::kConnectionSecret);
             observed != nullptr) {
    auto it = observed->find("data");
    if (it != observed->end() && it->is_object()) data = *it;
  } else {
    return "";
  }
  const std::string name = sdk::Cat(p.name, "-connection");
  composer.Add(
      std::string(xdatabase::kConnectionSecret),
      {{"apiVersion", "v1"},
       {"kind", "Secret"},
       {"metadata",
        {{"name", name},
         {"namespace", p.scope.namespace_},
         {"labels",
          {{std::string(compose::kResourceLabel), std::string(xdatabase::kConnectionSecret)}}}}},
       {"type", "Opaque"},
       {"data", std::move(data)}},
      compose::ReadyWhenObserved);
  return name;
}

absl::Status WriteStatus(const Params& p, const Outcome& o, const sdk::Request& req,
                         const std::string& connection_secret, sdk::Response& rsp) {
  PLATFORM_RETURN_IF_ERROR(rsp.SetCompositeStatus("identifier", p.identifier));
  if (!connection_secret.empty()) {
    PLATFORM_RETURN_IF_ERROR(rsp.SetCompositeStatus("connectionSecretName", connection_secret));
  }
  const sdk::Observed* rds = req.ObservedResource(o.rds_resource);
  if (rds == nullptr) return absl::OkStatus();
  const Json& obj = rds->object;
  const std::optional<std::int64_t> port = compose::IntAt(obj, "status.atProvider.port");
  std::string address;
  std::string endpoint;
  if (p.mode == Mode::kAurora) {
    address = compose::StringAt(obj, "status.atProvider.endpoint");
    if (!address.empty() && port) endpoint = sdk::Cat(address, ":", *port);
    const std::string reader = compose::StringAt(obj, "status.atProvider.readerEndpoint");
    if (!reader.empty()) PLATFORM_RETURN_IF_ERROR(rsp.SetCompositeStatus("readerEndpoint", reader));
  } else {
    address = compose::StringAt(obj, "status.atProvider.address");
    endpoint = compose::StringAt(obj, "status.atProvider.endpoint");
  }
  if (!endpoint.empty()) PLATFORM_RETURN_IF_ERROR(rsp.SetCompositeStatus("endpoint", endpoint));
  if (!address.empty()) PLATFORM_RETURN_IF_ERROR(rsp.SetCompositeStatus("address", address));
  if (port) PLATFORM_RETURN_IF_ERROR(rsp.SetCompositeStatus("port", *port));
  const std::string arn = compose::StringAt(obj, "status.atProvider.arn");
  if (!arn.empty()) PLATFORM_RETURN_IF_ERROR(rsp.SetCompositeStatus("arn", arn));
  if (p.managed_password) {
    const std::string secret = MasterUserSecretArn(obj);
    if (!secret.empty()) {
      PLATFORM_RETURN_IF_ERROR(rsp.SetCompositeStatus("masterUserSecretArn", secret));
    }
  }
  std::string version = compose::StringAt(obj, "status.atProvider.engineVersionActual");
  if (version.empty()) version = compose::StringAt(obj, "status.atProvider.engineVersion");
  if (!version.empty()) PLATFORM_RETURN_IF_ERROR(rsp.SetCompositeStatus("engineVersion", version));
  return absl::OkStatus();
}

// What the observed instance or Aurora cluster runs: its engine version,
// and whether RDS manages its master password (either said so in its
// status or asked for in its spec), all empty before either exists.
xdatabase::Running RunningDatabase(const sdk::Request& req) {
  xdatabase::Running running;
  for (std::string_view resource : {xdatabase::kInstance, xdatabase::kCluster}) {
    const sdk::Observed* o = req.ObservedResource(resource);
    if (o == nullptr) continue;
    for (std::string_view path :
         {"status.atProvider.engineVersionActual", "status.atProvider.engineVersion",
          "spec.forProvider.engineVersion", "spec.initProvider.engineVersion"}) {
      running.version = compose::StringAt(o->object, path);
      if (!running.version.empty()) break;
    }
    if (!running.managed_password) {
      running.managed_password =
          compose::TrueAt(o->object, "status.atProvider.manageMasterUserPassword") ||
          compose::TrueAt(o->object, "spec.forProvider.manageMasterUserPassword");
    }
    if (!running.version.empty()) break;
  }
  return running;
}

}  // namespace

XDatabase::XDatabase() : PlatformRenderer({.noun = "database", .plural = "databases"}) {}

absl::StatusOr<compose::Composed> XDatabase::Compose(const compose::Xr& xr,
                                                     compose::RenderContext& call) const {
  PLATFORM_ASSIGN_OR_RETURN(Params p, xdatabase::ReadParams(xr, RunningDatabase(call.req())));
  if (!p.network.environment.empty()) {
    // Without clients of its own it admits the environment's baseline group.
    // Aurora places its instances in the environment's zones: an environment
    // whose zones are named by AZ ID publishes their names only once its
    // subnets exist, and an instance must not move zones once it exists.
    const std::size_t instance_zones = p.mode == Mode::kAurora ? (p.multi_az ? 2u : 1u) : 0u;
    PLATFORM_ASSIGN_OR_RETURN(
        std::optional<compose::EnvironmentNetwork> network,
        call.Network(
            p.network.environment,
            {{.field = "vpcId"},
             {.field = "databaseSubnetIds", .at_least = 2},
             {.field = "availabilityZones", .at_least = instance_zones},
             {.field = "securityGroupIds.baseline", .at_least = p.clients.empty() ? 1u : 0u}}));
    if (!network) return compose::Composed::WaitingForNetwork();
    PLATFORM_RETURN_IF_ERROR(UseNetwork(std::move(*network), p));
  }

  const Json tags = call.Tags();
  compose::Composer& composer = call.composer();
  const sdk::Request& req = call.req();
  sdk::Response& rsp = call.rsp();
  PLATFORM_ASSIGN_OR_RETURN(Outcome outcome, xdatabase::ComposeDatabase(p, tags, composer));
  PLATFORM_ASSIGN_OR_RETURN(std::optional<Connection> connection,
                            FindConnection(p, outcome, req, rsp));
  const std::string connection_secret =
      PublishConnection(p, outcome, connection, composer, req, rsp);
  PLATFORM_RETURN_IF_ERROR(WriteStatus(p, outcome, req, connection_secret, rsp));
  // Not ready while the database waits for something, nor (namespaced) while
  // its users have no Secret to read.
  if (!outcome.held_back.empty() || (p.scope.namespaced && connection_secret.empty())) {
    rsp.SetCompositeReady(pb::READY_FALSE);
  }

  compose::Composed composed;
  composed.announcement = sdk::Cat(outcome.description, " (", p.subject.environment_class, ", ",
                                   p.subject.region, "): ", sdk::JoinList(composer.NewNames()),
                                   outcome.held_back.empty()
                                       ? std::string()
                                       : sdk::Cat("; the database waits for ", outcome.held_back));
  return composed;
}

}  // namespace platform::fn::renderers
