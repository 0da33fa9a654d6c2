#include "provider/kube/config.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "provider/testing/temp_dir.h"

namespace kube {
namespace {

namespace fs = std::filesystem;

using provider::testing::TempDir;

// base64 of "CA PEM", "CERT PEM", "KEY PEM".
constexpr char kCaB64[] = "Q0EgUEVN";
constexpr char kCertB64[] = "Q0VSVCBQRU0=";
constexpr char kKeyB64[] = "S0VZIFBFTQ==";

TEST(Base64, Decodes) {
  EXPECT_EQ(Base64Decode("Q0EgUEVN").value(), "CA PEM");
  EXPECT_EQ(Base64Decode("S0VZIFBFTQ==").value(), "KEY PEM");
  EXPECT_EQ(Base64Decode("S0VZ\nIFBFTQ").value(), "KEY PEM");
  EXPECT_EQ(Base64Decode("S0V*").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Kubeconfig, FilesRelativeToTheKubeconfig) {
  TempDir dir;
  dir.Write("pki/ca.crt", "the ca");
  dir.Write("pki/admin.crt", "the cert");
  dir.Write("pki/admin.key", "the key");
  const fs::path kc = dir.Write("conf/kubeconfig", R"(apiVersion: v1
kind: Config
current-context: admin
clusters:
- name: local
  cluster:
    server: https://127.0.0.1:6443/
    certificate-authority: ../pki/ca.crt
users:
- name: admin
  user:
    client-certificate: ../pki/admin.crt
    client-key: )" + (dir / "pki/admin.key") +
                                                       R"(
contexts:
- name: admin
  context:
    cluster: local
    user: admin
    namespace: team-a
)");
  const Config c = ReadKubeconfig(kc.string()).value();
  EXPECT_EQ(c.server, "https://127.0.0.1:6443");
  EXPECT_EQ(c.ca_pem, "the ca");
  EXPECT_EQ(c.client_cert_pem, "the cert");
  EXPECT_EQ(c.client_key_pem, "the key");
  EXPECT_EQ(c.ns, "team-a");
  EXPECT_FALSE(c.insecure);
  EXPECT_TRUE(c.token.empty());
}

TEST(Kubeconfig, InlineDataTokensAndNamedContext) {
  TempDir dir;
  const fs::path kc = dir.Write("kubeconfig", std::string(R"(apiVersion: v1
kind: Config
current-context: certs
clusters:
- name: a
  cluster:
    server: https://a.example:443
    certificate-authority-data: )") + kCaB64 + R"(
- name: b
  cluster:
    server: https://b.example:6443
    insecure-skip-tls-verify: true
users:
- name: certs
  user:
    client-certificate-data: )" + kCertB64 + R"(
    client-key-data: )" + kKeyB64 + R"(
- name: bot
  user:
    token: s3cr3t
    tokenFile: tokens/bot
contexts:
- name: certs
  context: {cluster: a, user: certs}
- name: bot
  context: {cluster: b, user: bot}
)");
  const Config current = ReadKubeconfig(kc.string()).value();
  EXPECT_EQ(current.server, "https://a.example:443");
  EXPECT_EQ(current.ca_pem, "CA PEM");
  EXPECT_EQ(current.client_cert_pem, "CERT PEM");
  EXPECT_EQ(current.client_key_pem, "KEY PEM");
  EXPECT_EQ(current.ns, "");

  const Config bot = ReadKubeconfig(kc.string(), "bot").value();
  EXPECT_EQ(bot.server, "https://b.example:6443");
  EXPECT_TRUE(bot.insecure);
  EXPECT_TRUE(bot.ca_pem.empty());
  EXPECT_EQ(bot.token, "s3cr3t");
  EXPECT_EQ(bot.token_file, (dir / "tokens/bot"));
}

void ExpectError(const std::string& path, const std::string& context, const std::string& fragment) {
  const absl::StatusOr<Config> config = ReadKubeconfig(path, context);
  if (config.ok()) {
    ADD_FAILURE() << "no error; wanted one mentioning " << fragment;
  } else {
    const std::string what(config.status().message());
    EXPECT_NE(what.find(path), std::string::npos) << what;
    EXPECT_NE(what.find(fragment), std::string::npos) << what;
  }
}

TEST(Kubeconfig, ClearErrors) {
  TempDir dir;
  const fs::path kc = dir.Write("kubeconfig", R"(apiVersion: v1
kind: Config
clusters:
- name: noserver
  cluster: {}
- name: ok
  cluster:
    server: https://ok.example
    certificate-authority: missing-ca.crt
users:
- name: halfcert
  user:
    client-certificate-data: Q0VSVCBQRU0=
contexts:
- name: a
  context: {cluster: noserver}
- name: b
  context: {cluster: nowhere}
- name: c
  context: {cluster: ok}
- name: d
  context: {cluster: ok, user: ghost}
)");
  ExpectError(kc.string(), "", "current-context");
  ExpectError(kc.string(), "zz", "context \"zz\" not found");
  ExpectError(kc.string(), "a", "has no server");
  ExpectError(kc.string(), "b", "cluster \"nowhere\" not found");
  ExpectError(kc.string(), "c", "certificate-authority");
  ExpectError((dir / "absent"), "", "cannot read");

  const fs::path half = dir.Write("half", R"(current-context: x
clusters: [{name: c, cluster: {server: "https://x"}}]
users: [{name: u, user: {client-certificate-data: Q0VSVCBQRU0=}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
)");
  ExpectError(half.string(), "", "client-certificate without client-key");
}

class EnvGuard {
 public:
  explicit EnvGuard(const char* name) : name_(name) {
    if (const char* v = getenv(name)) saved_ = v;
  }
  ~EnvGuard() {
    if (saved_.empty()) {
      unsetenv(name_);
    } else {
      setenv(name_, saved_.c_str(), 1);
    }
  }

 private:
  const char* name_;
  std::string saved_;
};

TEST(InCluster, FromServiceAccountDirectory) {
  EnvGuard host("KUBERNETES_SERVICE_HOST");
  EnvGuard port("KUBERNETES_SERVICE_PORT");
  TempDir dir;
  dir.Write("token", "tok\n");
  dir.Write("ca.crt", "cluster ca");
  dir.Write("namespace", "provider-system\n");
  setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
  setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  const Config c = InClusterConfig(dir.path()).value();
  EXPECT_EQ(c.server, "https://10.96.0.1:443");
  EXPECT_EQ(c.token_file, (dir / "token"));
  EXPECT_TRUE(c.token.empty());  // re-read from the file: projected tokens rotate
  EXPECT_EQ(c.ca_pem, "cluster ca");
  EXPECT_EQ(c.ns, "provider-system");

  setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
  EXPECT_EQ(InClusterConfig(dir.path()).value().server, "https://[fd00::1]:443");

  unsetenv("KUBERNETES_SERVICE_HOST");
  EXPECT_FALSE(InClusterConfig(dir.path()).ok());
}

TEST(InCluster, MissingTokenNamesTheFile) {
  EnvGuard host("KUBERNETES_SERVICE_HOST");
  EnvGuard port("KUBERNETES_SERVICE_PORT");
  TempDir dir;
  setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
  setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  const absl::StatusOr<Config> config = InClusterConfig(dir.path());
  ASSERT_FALSE(config.ok()) << "no error";
  const std::string what(config.status().message());
  EXPECT_NE(what.find("token"), std::string::npos) << what;
}

TEST(ResolveConfig, FlagThenEnvironment) {
  EnvGuard kubeconfig("KUBECONFIG");
  EnvGuard host("KUBERNETES_SERVICE_HOST");
  TempDir dir;
  const std::string body = R"(current-context: x
clusters: [{name: c, cluster: {server: "https://SERVER"}}]
contexts: [{name: x, context: {cluster: c}}]
)";
  auto write = [&](const std::string& name, const std::string& server) {
    std::string text = body;
    text.replace(text.find("SERVER"), 6, server);
    return dir.Write(name, text);
  };
  const std::string flag = write("flag", "flag.example");
  const std::string env = write("env", "env.example");
  setenv("KUBECONFIG", (env + ":" + flag).c_str(), 1);
  unsetenv("KUBERNETES_SERVICE_HOST");
  EXPECT_EQ(ResolveConfig(flag).value().server, "https://flag.example");
  EXPECT_EQ(ResolveConfig("").value().server, "https://env.example");
}

}  // namespace
}  // namespace kube
