#include "provider/kube/config.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <optional>

#include "common/files.h"
#include "common/status_macros.h"

namespace kube {
namespace {

namespace fs = std::filesystem;

absl::StatusOr<std::string> ReadFile(const fs::path& path, const std::string& what) {
  absl::StatusOr<std::string> text = platform::ReadFile(path);
  if (!text.ok()) {
    return absl::Status(text.status().code(), what + ": cannot read " + path.string());
  }
  return text;
}

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

std::string Scalar(const YAML::Node& node, const char* key) {
  const YAML::Node v = node[key];
  if (!v || !v.IsScalar()) return "";
  return v.as<std::string>();
}

// Finds the entry named `name` in a kubeconfig list (clusters, users,
// contexts) and returns its inner map (cluster, user, context).
std::optional<YAML::Node> Named(const YAML::Node& root, const char* list, const char* inner,
                                const std::string& name) {
  const YAML::Node items = root[list];
  if (items && items.IsSequence()) {
    for (const auto& item : items) {
      if (Scalar(item, "name") != name) continue;
      const YAML::Node body = item[inner];
      return body && body.IsMap() ? body : YAML::Node(YAML::NodeType::Map);
    }
  }
  return std::nullopt;
}

// A PEM from `<key>-data` (base64) or the file `<key>` (relative to `dir`).
absl::StatusOr<std::string> Pem(const YAML::Node& node, const std::string& key, const fs::path& dir,
                                const std::string& where) {
  if (!node) return "";
  const std::string data = Scalar(node, (key + "-data").c_str());
  if (!data.empty()) {
    absl::StatusOr<std::string> pem = Base64Decode(data);
    if (!pem.ok()) {
      return absl::InvalidArgumentError(where + ": " + key + "-data is not valid base64");
    }
    return pem;
  }
  const std::string file = Scalar(node, key.c_str());
  if (file.empty()) return "";
  fs::path p(file);
  if (p.is_relative()) p = dir / p;
  return ReadFile(p, where + ": " + key);
}

}  // namespace

absl::StatusOr<std::string> Base64Decode(const std::string& text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  unsigned int acc = 0;
  int bits = 0;
  bool padding = false;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') {
      padding = true;
      continue;
    }
    const int v = value(c);
    if (v < 0 || padding) return absl::InvalidArgumentError("invalid base64");
    acc = (acc << 6) | static_cast<unsigned int>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFFu));
    }
  }
  if (bits >= 6) return absl::InvalidArgumentError("invalid base64 length");
  return out;
}

absl::StatusOr<Config> ReadKubeconfig(const std::string& path, const std::string& context) {
  const absl::StatusOr<std::string> text = platform::ReadFile(path);
  if (!text.ok()) {
    return absl::Status(text.status().code(), "kubeconfig " + path + ": cannot read the file");
  }
  YAML::Node root;
  try {
    root = YAML::Load(*text);
  } catch (const YAML::Exception& e) {  // yaml-cpp reports by throwing
    return absl::InvalidArgumentError("kubeconfig " + path + ": " + e.what());
  }
  const std::string where = "kubeconfig " + path;
  if (!root.IsMap())
    return absl::InvalidArgumentError(where + ": not a kubeconfig (no map at the top)");

  const std::string ctx_name = context.empty() ? Scalar(root, "current-context") : context;
  if (ctx_name.empty())
    return absl::InvalidArgumentError(where + ": no current-context and none named");
  const std::optional<YAML::Node> found_ctx = Named(root, "contexts", "context", ctx_name);
  if (!found_ctx)
    return absl::InvalidArgumentError(where + ": context \"" + ctx_name + "\" not found");

  const YAML::Node& ctx = *found_ctx;
  const std::string cluster_name = Scalar(ctx, "cluster");
  if (cluster_name.empty()) {
    return absl::InvalidArgumentError(where + ": context \"" + ctx_name + "\" has no cluster");
  }
  const std::optional<YAML::Node> found_cluster = Named(root, "clusters", "cluster", cluster_name);
  if (!found_cluster) {
    return absl::InvalidArgumentError(where + ": cluster \"" + cluster_name + "\" not found");
  }
  const YAML::Node& cluster = *found_cluster;

  std::error_code ec;
  const fs::path dir = fs::absolute(fs::path(path), ec).parent_path();
  Config c;
  c.server = Scalar(cluster, "server");
  if (c.server.empty()) {
    return absl::InvalidArgumentError(where + ": cluster \"" + cluster_name + "\" has no server");
  }
  while (!c.server.empty() && c.server.back() == '/') c.server.pop_back();
  ASSIGN_OR_RETURN(c.ca_pem, Pem(cluster, "certificate-authority", dir, where));
  c.insecure = Scalar(cluster, "insecure-skip-tls-verify") == "true";
  c.ns = Scalar(ctx, "namespace");

  const std::string user_name = Scalar(ctx, "user");
  if (!user_name.empty()) {
    const std::optional<YAML::Node> found_user = Named(root, "users", "user", user_name);
    if (!found_user)
      return absl::InvalidArgumentError(where + ": user \"" + user_name + "\" not found");
    const YAML::Node& user = *found_user;
    ASSIGN_OR_RETURN(c.client_cert_pem, Pem(user, "client-certificate", dir, where));
    ASSIGN_OR_RETURN(c.client_key_pem, Pem(user, "client-key", dir, where));
    if (c.client_cert_pem.empty() != c.client_key_pem.empty()) {
      return absl::InvalidArgumentError(where + ": user \"" + user_name + "\" has " +
                                        (c.client_cert_pem.empty()
                                             ? "client-key without client-certificate"
                                             : "client-certificate without client-key"));
    }
    c.token = Scalar(user, "token");
    const std::string token_file = Scalar(user, "tokenFile");
    if (!token_file.empty()) {
      fs::path p(token_file);
      if (p.is_relative()) p = dir / p;
      c.token_file = p.string();
    }
  }
  return c;
}

absl::StatusOr<Config> InClusterConfig(const std::string& sa_dir) {
  const std::string host = Env("KUBERNETES_SERVICE_HOST");
  const std::string port = Env("KUBERNETES_SERVICE_PORT");
  if (host.empty() || port.empty()) {
    return absl::InvalidArgumentError(
        "in-cluster config: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set");
  }
  const fs::path dir(sa_dir);
  Config c;
  // An IPv6 address needs brackets in a URL.
  c.server =
      "https://" + (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + port;
  const fs::path token = dir / "token";
  std::error_code ec;
  if (!fs::exists(token, ec)) {
    return absl::InvalidArgumentError("in-cluster config: no token file " + token.string());
  }
  c.token_file = token.string();
  ASSIGN_OR_RETURN(c.ca_pem, ReadFile(dir / "ca.crt", "in-cluster config: ca.crt"));
  if (fs::exists(dir / "namespace", ec)) {
    ASSIGN_OR_RETURN(c.ns, ReadFile(dir / "namespace", "in-cluster config: namespace"));
    while (!c.ns.empty() && (c.ns.back() == '\n' || c.ns.back() == ' ')) c.ns.pop_back();
  }
  return c;
}

absl::StatusOr<Config> ResolveConfig(const std::string& kubeconfig_flag) {
  if (!kubeconfig_flag.empty()) return ReadKubeconfig(kubeconfig_flag);
  std::string env = Env("KUBECONFIG");
  if (!env.empty()) {
    const size_t colon = env.find(':');
    if (colon != std::string::npos) env = env.substr(0, colon);
    if (!env.empty()) return ReadKubeconfig(env);
  }
  if (!Env("KUBERNETES_SERVICE_HOST").empty()) return InClusterConfig();
  const std::string home = Env("HOME");
  if (home.empty()) {
    return absl::InvalidArgumentError(
        "no kubeconfig: no flag, no KUBECONFIG, not in a cluster, no HOME");
  }
  return ReadKubeconfig((fs::path(home) / ".kube" / "config").string());
}

}  // namespace kube
