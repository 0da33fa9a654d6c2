// The real function-platform binary as a process: how it starts from flags
// and environment, how it refuses to start, how it stops on signals, and
// what it logs.
#include <arpa/inet.h>
#include <curl/curl.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "apiextensions/fn/proto/v1/run_function.grpc.pb.h"
#include "function/testing/prometheus_text.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_certs.h"

namespace platform::testing {
namespace {

namespace v1 = ::apiextensions::fn::proto::v1;
using platform::testing::Exposition;
using platform::testing::ParseExposition;
using std::chrono::milliseconds;
using std::chrono::seconds;

const std::string kBin = FUNCTION_PLATFORM_BIN;
constexpr char kCertsEnv[] = "TLS_SERVER_CERTS_DIR";

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Sets an environment variable for the child processes a test starts, and
// unsets it when the test ends.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() { unsetenv(name_); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
};

// Waits for `process` to exit; its exit code, or -2 if it is still running
// after `timeout`.
int WaitForExit(Background& process, milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (process.running()) {
    if (std::chrono::steady_clock::now() >= deadline) return -2;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return process.Stop();
}

// A request for a kind no renderer handles: the built-in registry answers it
// with a FATAL result naming the kind, which shows the real handler ran.
v1::RunFunctionRequest ProbeRequest(const std::string& tag, const std::string& name = "probe",
                                    const std::string& kind = "XProbe") {
  v1::RunFunctionRequest req;
  req.mutable_meta()->set_tag(tag);
  const nlohmann::json xr = {
      {"apiVersion", "example.org/v1"}, {"kind", kind}, {"metadata", {{"name", name}}}};
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(
                  xr.dump(), req.mutable_observed()->mutable_composite()->mutable_resource())
                  .ok());
  return req;
}

grpc::Status Call(const std::string& target, std::shared_ptr<grpc::ChannelCredentials> creds,
                  const v1::RunFunctionRequest& req, v1::RunFunctionResponse* rsp) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto stub =
      v1::FunctionRunnerService::NewStub(grpc::CreateCustomChannel(target, std::move(creds), args));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + seconds(10));
  return stub->RunFunction(&ctx, req, rsp);
}

std::string Describe(const grpc::Status& s) {
  return std::to_string(static_cast<int>(s.error_code())) + ": " + s.error_message();
}

// The probe call reached the real handler and came back with its tag.
void ExpectProbeAnswered(const grpc::Status& s, const v1::RunFunctionResponse& rsp,
                         const std::string& tag) {
  ASSERT_TRUE(s.ok()) << Describe(s);
  EXPECT_EQ(rsp.meta().tag(), tag);
  ASSERT_EQ(rsp.results_size(), 1) << rsp.DebugString();
  EXPECT_EQ(rsp.results(0).severity(), v1::SEVERITY_FATAL);
  EXPECT_TRUE(Contains(rsp.results(0).message(), "no renderer for XR kind XProbe"))
      << rsp.results(0).message();
}

std::shared_ptr<grpc::ChannelCredentials> TlsCreds(const TestPki& pki, const Issued* client) {
  grpc::SslCredentialsOptions o;
  o.pem_root_certs = pki.ca.cert_pem;
  if (client != nullptr) {
    o.pem_private_key = client->key_pem;
    o.pem_cert_chain = client->cert_pem;
  }
  return grpc::SslCredentials(o);
}

class ProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Whatever the environment running the tests has, each test decides.
    unsetenv(kCertsEnv);
    log_ = dir_.path() + "/function.log";
  }

  // Starts the binary with `args` and waits until it listens on `port`.
  void Start(const std::vector<std::string>& args, int port) {
    std::vector<std::string> argv = {kBin};
    argv.insert(argv.end(), args.begin(), args.end());
    process_ = std::make_unique<Background>(argv, log_);
    ASSERT_TRUE(WaitForPort(port, seconds(15))) << "function did not start:\n" << Log();
  }

  // Starts it plaintext on a free loopback port, with `extra` arguments.
  void StartInsecure(const std::vector<std::string>& extra = {}) {
    port_ = FreePort();
    std::vector<std::string> args = {"--insecure", "--address", Target()};
    args.insert(args.end(), extra.begin(), extra.end());
    Start(args, port_);
  }

  // Writes tls.crt, tls.key and ca.crt for the server into `dir`.
  void WriteCerts(const std::string& dir) {
    std::ofstream(dir + "/tls.crt") << pki_.server.cert_pem;
    std::ofstream(dir + "/tls.key") << pki_.server.key_pem;
    std::ofstream(dir + "/ca.crt") << pki_.ca.cert_pem;
  }

  std::string Target() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string Log() const { return ReadFile(log_); }

  // Whether the log shows `text` within 10 s (it is written after the port
  // opens).
  bool LogShows(const std::string& text) const {
    const auto deadline = std::chrono::steady_clock::now() + seconds(10);
    while (!Contains(Log(), text)) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(milliseconds(20));
    }
    return true;
  }

  // Sends `sig` and returns the exit code (-2: did not exit in time).
  int Signal(int sig) {
    EXPECT_EQ(kill(process_->pid(), sig), 0);
    return WaitForExit(*process_, seconds(15));
  }

  // Calls through mutual TLS: the right client is served, a client without a
  // certificate and a plaintext client are refused.
  void ExpectMutualTls() {
    v1::RunFunctionResponse rsp;
    ExpectProbeAnswered(Call(Target(), TlsCreds(pki_, &pki_.client), ProbeRequest("mtls"), &rsp),
                        rsp, "mtls");
    grpc::Status no_cert = Call(Target(), TlsCreds(pki_, nullptr), ProbeRequest("x"), &rsp);
    EXPECT_EQ(no_cert.error_code(), grpc::StatusCode::UNAVAILABLE) << Describe(no_cert);
    grpc::Status other =
        Call(Target(), TlsCreds(pki_, &pki_.other_client), ProbeRequest("x"), &rsp);
    EXPECT_EQ(other.error_code(), grpc::StatusCode::UNAVAILABLE) << Describe(other);
    grpc::Status plain =
        Call(Target(), grpc::InsecureChannelCredentials(), ProbeRequest("x"), &rsp);
    EXPECT_EQ(plain.error_code(), grpc::StatusCode::UNAVAILABLE) << Describe(plain);
  }

  static void SetUpTestSuite() { shared_pki_ = new TestPki(TestPki::Make()); }
  static void TearDownTestSuite() {
    delete shared_pki_;
    shared_pki_ = nullptr;
  }

  static TestPki* shared_pki_;
  const TestPki& pki_ = *shared_pki_;
  TempDir dir_;
  std::string log_;
  int port_ = 0;
  std::unique_ptr<Background> process_;
};

TestPki* ProcessTest::shared_pki_ = nullptr;

// True when a socket can bind 0.0.0.0:`port` right now.
bool PortIsFree(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

// A plain socket listening on 127.0.0.1 at a port of the kernel's choosing,
// holding it for the test; closed on destruction.
class HeldPort {
 public:
  HeldPort() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (fd_ >= 0 && bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
        listen(fd_, 1) == 0 && getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      address_ = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
    }
  }
  ~HeldPort() {
    if (fd_ >= 0) close(fd_);
  }
  HeldPort(const HeldPort&) = delete;
  HeldPort& operator=(const HeldPort&) = delete;
  // "127.0.0.1:<port>"; "" when the socket could not be made.
  const std::string& address() const { return address_; }

 private:
  int fd_ = -1;
  std::string address_;
};

// True when the kernel has a socket listening on `port` on every interface:
// 0.0.0.0 in /proc/net/tcp, or [::] in /proc/net/tcp6 (gRPC binds a wildcard
// address as one dual-stack socket, which takes IPv4 connections too).
bool ListensOnAllInterfaces(int port) {
  char port_hex[8];
  std::snprintf(port_hex, sizeof(port_hex), "%04X", port);
  const std::string want[] = {std::string(8, '0') + ":" + port_hex,
                              std::string(32, '0') + ":" + port_hex};
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::istringstream in(ReadFile(table));
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local_address, remote_address, state;
      fields >> slot >> local_address >> remote_address >> state;
      if (state != "0A") continue;  // 0A: LISTEN
      if (local_address == want[0] || local_address == want[1]) return true;
    }
  }
  return false;
}

// How the Docker runtime of `crossplane render` starts a function: the only
// argument is --insecure, and it must listen on 9443 on every interface.
TEST_F(ProcessTest, InsecureAsTheOnlyArgumentListensOnAllInterfacesPort9443) {
  if (!PortIsFree(9443)) {
    GTEST_SKIP() << "port 9443 is in use on this machine, so the default address cannot be "
                    "tested; free it and run again";
  }
  port_ = 9443;
  Start({"--insecure"}, 9443);
  EXPECT_TRUE(ListensOnAllInterfaces(9443))
      << ReadFile("/proc/net/tcp") << ReadFile("/proc/net/tcp6");
  v1::RunFunctionResponse rsp;
  ExpectProbeAnswered(
      Call("127.0.0.1:9443", grpc::InsecureChannelCredentials(), ProbeRequest("bare"), &rsp), rsp,
      "bare");
  EXPECT_TRUE(Contains(Log(), "0.0.0.0:9443")) << Log();
  EXPECT_EQ(process_->Stop(), 0) << Log();
}

TEST_F(ProcessTest, NoFlagsAndNoCertsEnvRefusesToStartNamingBothOptions) {
  RunResult r = RunCommand({kBin}, seconds(30));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.exit_code, -1) << "killed instead of exiting:\n" << r.err;
  EXPECT_TRUE(Contains(r.err, "--insecure")) << r.err;
  EXPECT_TRUE(Contains(r.err, "--tls-certs-dir")) << r.err;
  EXPECT_TRUE(Contains(r.err, kCertsEnv)) << r.err;
}

// How Crossplane runs the function in a cluster: no arguments, certificates
// from the directory TLS_SERVER_CERTS_DIR names.
TEST_F(ProcessTest, CertsDirFromEnvironmentServesMutualTls) {
  TempDir certs;
  WriteCerts(certs.path());
  port_ = FreePort();
  {
    ScopedEnv env(kCertsEnv, certs.path());
    Start({"--address", Target()}, port_);
  }
  ExpectMutualTls();
  EXPECT_TRUE(Contains(Log(), "mutual TLS")) << Log();
  EXPECT_EQ(process_->Stop(), 0) << Log();
}

TEST_F(ProcessTest, CertsDirFlagWithDashesServesMutualTls) {
  TempDir certs;
  WriteCerts(certs.path());
  port_ = FreePort();
  Start({"--tls-certs-dir", certs.path(), "--address=" + Target()}, port_);
  ExpectMutualTls();
  EXPECT_EQ(process_->Stop(), 0) << Log();
}

TEST_F(ProcessTest, CertsDirFromEnvironmentWithoutCaRefusesToStartNamingIt) {
  TempDir certs;
  WriteCerts(certs.path());
  std::remove((certs.path() + "/ca.crt").c_str());
  ScopedEnv env(kCertsEnv, certs.path());
  RunResult r =
      RunCommand({kBin, "--address", "127.0.0.1:" + std::to_string(FreePort())}, seconds(30));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.exit_code, -1) << "killed instead of exiting:\n" << r.err;
  EXPECT_TRUE(Contains(r.err, certs.path() + "/ca.crt")) << r.err;
}

TEST_F(ProcessTest, AddressInUseRefusesToStartNamingTheAddress) {
  const HeldPort held;
  const std::string& address = held.address();
  ASSERT_FALSE(address.empty());
  RunResult r = RunCommand({kBin, "--insecure", "--address", address}, seconds(30));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.exit_code, -1) << "killed instead of exiting:\n" << r.err;
  EXPECT_TRUE(Contains(r.err, "cannot listen on " + address)) << r.err;
}

TEST_F(ProcessTest, SigtermStopsWithExitCodeZero) {
  StartInsecure();
  EXPECT_EQ(Signal(SIGTERM), 0) << Log();
  EXPECT_TRUE(Contains(Log(), "received SIGTERM")) << Log();
  EXPECT_TRUE(Contains(Log(), "stopped")) << Log();
}

TEST_F(ProcessTest, SigintStopsWithExitCodeZero) {
  StartInsecure();
  EXPECT_EQ(Signal(SIGINT), 0) << Log();
  EXPECT_TRUE(Contains(Log(), "received SIGINT")) << Log();
  EXPECT_TRUE(Contains(Log(), "stopped")) << Log();
}

// Checks that every line of `log` is one JSON object with ts, level and msg;
// returns the messages.
std::vector<std::string> JsonMessages(const std::string& log) {
  std::vector<std::string> msgs;
  for (const std::string& line : Lines(log)) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    EXPECT_TRUE(j.is_object()) << "not a JSON object: " << line;
    if (!j.is_object()) continue;
    EXPECT_TRUE(j.contains("ts") && j["ts"].is_string()) << line;
    EXPECT_TRUE(j.contains("level") && j["level"].is_string()) << line;
    EXPECT_TRUE(j.contains("msg") && j["msg"].is_string()) << line;
    if (j.contains("msg") && j["msg"].is_string()) msgs.push_back(j["msg"].get<std::string>());
  }
  return msgs;
}

bool AnyContains(const std::vector<std::string>& msgs, const std::string& needle) {
  for (const std::string& m : msgs) {
    if (Contains(m, needle)) return true;
  }
  return false;
}

TEST_F(ProcessTest, JsonLogFormatWritesOneObjectPerLine) {
  StartInsecure({"--log-format=json", "--debug"});
  // A name with a quote and a newline: both must be escaped, not break lines.
  v1::RunFunctionResponse rsp;
  ExpectProbeAnswered(Call(Target(), grpc::InsecureChannelCredentials(),
                           ProbeRequest("json", "we\"ird\nname"), &rsp),
                      rsp, "json");
  EXPECT_EQ(Signal(SIGTERM), 0) << Log();

  const std::string log = Log();
  const std::vector<std::string> msgs = JsonMessages(log);
  EXPECT_TRUE(AnyContains(msgs, "serving RunFunction")) << log;
  EXPECT_TRUE(AnyContains(msgs, "kind=XProbe name=we\"ird\nname")) << log;
  EXPECT_TRUE(AnyContains(msgs, "stopped")) << log;
}

// gRPC's own log lines (a failed TLS handshake, for one) must come out in the
// same format as the function's.
TEST_F(ProcessTest, JsonLogFormatCoversGrpcsOwnLogLines) {
  TempDir certs;
  WriteCerts(certs.path());
  port_ = FreePort();
  Start({"--log-format", "json", "--tls-certs-dir", certs.path(), "--address", Target()}, port_);
  ExpectMutualTls();
  EXPECT_EQ(Signal(SIGTERM), 0) << Log();

  const std::string log = Log();
  const std::vector<std::string> msgs = JsonMessages(log);
  EXPECT_TRUE(AnyContains(msgs, "mutual TLS")) << log;
  EXPECT_TRUE(AnyContains(msgs, "stopped")) << log;
}

TEST_F(ProcessTest, BogusLogFormatRefusesToStartNamingTheFlag) {
  RunResult r = RunCommand(
      {kBin, "--insecure", "--address", "127.0.0.1:0", "--log-format", "bogus"}, seconds(30));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.exit_code, -1) << "killed instead of exiting:\n" << r.err;
  EXPECT_TRUE(Contains(r.err, "--log-format")) << r.err;
  EXPECT_TRUE(Contains(r.err, "bogus")) << r.err;
}

TEST_F(ProcessTest, BadMaxRecvMessageSizeRefusesToStartNamingTheFlag) {
  RunResult r =
      RunCommand({kBin, "--insecure", "--address", "127.0.0.1:0", "--max-recv-message-size", "0"},
                 seconds(30));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.exit_code, -1) << "killed instead of exiting:\n" << r.err;
  EXPECT_TRUE(Contains(r.err, "--max-recv-message-size")) << r.err;
}

// --- the command line ---

TEST_F(ProcessTest, HelpExitsZeroAndListsTheFlagsAsTheDocsSpellThem) {
  RunResult r = RunCommand({kBin, "--help"}, seconds(30));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(Contains(r.out, "Usage: function-platform [flags]")) << r.out;
  for (const char* flag : {"  --address string\n", "  --insecure\n", "  --tls-certs-dir string\n",
                           "  -d, --debug\n", "  --max-recv-message-size int\n",
                           "  --log-format string\n", "  --shutdown-grace-seconds int\n",
                           "  --metrics-address string\n", "  -h, --help\n", "  --version\n"}) {
    EXPECT_TRUE(Contains(r.out, flag)) << flag << "\nin:\n" << r.out;
  }
  EXPECT_TRUE(Contains(r.out, "(default \"0.0.0.0:9443\")")) << r.out;
  // Only its own flags, with dashes: none of Abseil's (--flagfile, --helpfull).
  for (const std::string& line : Lines(r.out)) {
    if (line.rfind("  -", 0) == 0) {
      EXPECT_EQ(line.find('_'), std::string::npos) << line;
    }
  }
  EXPECT_FALSE(Contains(r.out, "--flagfile")) << r.out;
  EXPECT_FALSE(Contains(r.out, "--helpfull")) << r.out;
  EXPECT_EQ(RunCommand({kBin, "-h"}, seconds(30)).out, r.out);
}

TEST_F(ProcessTest, VersionPrintsTheVersionAndCommit) {
  RunResult r = RunCommand({kBin, "--version"}, seconds(30));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(
      std::regex_match(r.out, std::regex(R"(function-platform \S+ \(([0-9a-f]+|unknown)\)\n)")))
      << r.out;
  EXPECT_EQ(r.out, std::string("function-platform ") + FUNCTION_PLATFORM_VERSION + " (" +
                       FUNCTION_PLATFORM_COMMIT + ")\n");
}

TEST_F(ProcessTest, UnknownFlagExitsTwoNamingIt) {
  RunResult r = RunCommand({kBin, "--insecure", "--bogus-flag=1"}, seconds(30));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(Contains(r.err, "unknown flag --bogus-flag")) << r.err;
  EXPECT_TRUE(Contains(r.err, "--help")) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(ProcessTest, BadFlagValueOrStrayArgumentExitsTwo) {
  RunResult bad = RunCommand({kBin, "--insecure", "--max-recv-message-size=lots"}, seconds(30));
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_TRUE(Contains(bad.err, "invalid value \"lots\" for flag --max-recv-message-size"))
      << bad.err;
  RunResult stray = RunCommand({kBin, "--insecure", "serve"}, seconds(30));
  EXPECT_EQ(stray.exit_code, 2) << stray.err;
  EXPECT_TRUE(Contains(stray.err, "unexpected argument \"serve\"")) << stray.err;
}

// --- metrics ---

size_t AppendBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// GET `url`; the status code (0 when the request failed) and body.
std::pair<long, std::string> HttpGet(const std::string& url) {
  std::string body;
  long code = 0;
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
  if (curl_easy_perform(curl) == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
  }
  curl_easy_cleanup(curl);
  return {code, body};
}

TEST_F(ProcessTest, MetricsAddressServesCallCountsByKindOutcomeAndSeverity) {
  const int metrics_port = FreePort();
  const std::string url = "http://127.0.0.1:" + std::to_string(metrics_port) + "/metrics";
  StartInsecure({"--metrics-address=127.0.0.1:" + std::to_string(metrics_port)});
  ASSERT_TRUE(WaitForPort(metrics_port, seconds(15))) << Log();

  const std::string calls = "function_platform_run_function_calls_total";
  const std::string xcluster_fatal = calls + "{kind=\"XCluster\",outcome=\"fatal\"}";
  const std::string unknown_fatal = calls + "{kind=\"unknown\",outcome=\"fatal\"}";
  const std::string unknown_count =
      "function_platform_run_function_duration_seconds_count{kind=\"unknown\"}";
  const std::string fatal_results =
      "function_platform_run_function_results_total{kind=\"unknown\",severity=\"fatal\"}";

  auto [code, before_text] = HttpGet(url);
  ASSERT_EQ(code, 200) << Log();
  const Exposition before = ParseExposition(before_text);
  ASSERT_EQ(before.error, "") << before_text;
  EXPECT_EQ(before.Value(unknown_fatal), 0) << before_text;
  EXPECT_EQ(before.Value(xcluster_fatal), 0) << before_text;

  // Two calls for a kind it does not render and one XCluster without its
  // parameters: all three answered with a FATAL result.
  v1::RunFunctionResponse rsp;
  for (const char* tag : {"m1", "m2"}) {
    ExpectProbeAnswered(Call(Target(), grpc::InsecureChannelCredentials(), ProbeRequest(tag), &rsp),
                        rsp, tag);
  }
  ASSERT_TRUE(Call(Target(), grpc::InsecureChannelCredentials(),
                   ProbeRequest("m3", "broken", "XCluster"), &rsp)
                  .ok());

  auto [code_after, after_text] = HttpGet(url);
  ASSERT_EQ(code_after, 200) << Log();
  const Exposition after = ParseExposition(after_text);
  ASSERT_EQ(after.error, "") << after_text;
  EXPECT_EQ(after.Value(unknown_fatal), 2) << after_text;
  EXPECT_EQ(after.Value(unknown_count), 2) << after_text;
  EXPECT_EQ(after.Value(fatal_results), 2) << after_text;
  EXPECT_EQ(after.Value(xcluster_fatal), 1) << after_text;
  EXPECT_EQ(after.Value(calls + "{kind=\"XCluster\",outcome=\"success\"}"), 0) << after_text;
  EXPECT_GT(after.Value("function_platform_run_function_duration_seconds_sum{kind=\"unknown\"}"), 0)
      << after_text;
  EXPECT_EQ(
      after.Value(std::string("function_platform_build_info{commit=\"") + FUNCTION_PLATFORM_COMMIT +
                  "\",version=\"" + FUNCTION_PLATFORM_VERSION + "\"}"),
      1)
      << after_text;
  EXPECT_GT(after.Value("process_resident_memory_bytes"), 0) << after_text;
  EXPECT_EQ(HttpGet("http://127.0.0.1:" + std::to_string(metrics_port) + "/healthz").first, 200);
  EXPECT_TRUE(Contains(Log(), "serving metrics at /metrics")) << Log();
  EXPECT_EQ(Signal(SIGTERM), 0) << Log();
}

TEST_F(ProcessTest, WithoutMetricsAddressNoMetricsAreServed) {
  StartInsecure();
  EXPECT_FALSE(Contains(Log(), "metrics")) << Log();
  EXPECT_EQ(Signal(SIGTERM), 0) << Log();
}

TEST_F(ProcessTest, MetricsAddressInUseRefusesToStartNamingIt) {
  const HeldPort held;
  const std::string& address = held.address();
  ASSERT_FALSE(address.empty());
  RunResult r =
      RunCommand({kBin, "--insecure", "--address", "127.0.0.1:" + std::to_string(FreePort()),
                  "--metrics-address", address},
                 seconds(30));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(Contains(r.err, "cannot serve metrics on " + address)) << r.err;
}

// The process executes itself again with glibc's per-thread malloc cache
// raised (TuneAllocator, docs/performance.md), keeping its pid, and serves.
// (glibc's loader, before 2.39, cuts the copy /proc/<pid>/environ shows at
// the first tunable, so the check is the process's own account in its log.)
TEST_F(ProcessTest, RunsWithALargerMallocCacheThanGlibcsDefault) {
  unsetenv("GLIBC_TUNABLES");
  StartInsecure();
  EXPECT_TRUE(LogShows("malloc tunables: glibc.malloc.tcache_count=4096\n")) << Log();
  // Its own binary was executed, not /proc/self/exe: the name stays (the
  // kernel keeps its first 15 characters).
  EXPECT_EQ(ReadFile("/proc/" + std::to_string(process_->pid()) + "/comm"), "function-platfo\n");
  v1::RunFunctionResponse rsp;
  ExpectProbeAnswered(
      Call(Target(), grpc::InsecureChannelCredentials(), ProbeRequest("tuned"), &rsp), rsp,
      "tuned");
  // A warning would have followed the tunables line at start-up, before the
  // call was answered.
  EXPECT_FALSE(Contains(Log(), "warn")) << Log();
}

// Executed once at most: a process that already was, and still has no
// count (glibc dropped it), runs with glibc's cache and says so.
TEST_F(ProcessTest, ExecutesItselfAgainOnlyOnce) {
  unsetenv("GLIBC_TUNABLES");
  const ScopedEnv executed("FUNCTION_PLATFORM_MALLOC_REEXECUTED", "1");
  StartInsecure();
  EXPECT_TRUE(LogShows("malloc tunables: glibc's defaults\n")) << Log();
  EXPECT_TRUE(
      LogShows("malloc: glibc's default per-thread cache: glibc dropped "
               "glibc.malloc.tcache_count from GLIBC_TUNABLES"))
      << Log();
}

TEST_F(ProcessTest, AMallocCacheCountFromTheEnvironmentIsKept) {
  const ScopedEnv env("GLIBC_TUNABLES", "glibc.malloc.tcache_count=7");
  StartInsecure();
  EXPECT_TRUE(LogShows("malloc tunables: glibc.malloc.tcache_count=7\n")) << Log();
}

TEST_F(ProcessTest, OtherMallocTunablesAreKeptAndTheCacheCountAdded) {
  const ScopedEnv env("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=1048576");
  StartInsecure();
  EXPECT_TRUE(LogShows(
      "malloc tunables: glibc.malloc.trim_threshold=1048576:glibc.malloc.tcache_count=4096\n"))
      << Log();
  v1::RunFunctionResponse rsp;
  ExpectProbeAnswered(
      Call(Target(), grpc::InsecureChannelCredentials(), ProbeRequest("kept"), &rsp), rsp, "kept");
}

TEST_F(ProcessTest, MalformedMetricsAddressRefusesToStart) {
  RunResult r = RunCommand(
      {kBin, "--insecure", "--address", "127.0.0.1:0", "--metrics-address", "8080"}, seconds(30));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(Contains(r.err, "--metrics-address")) << r.err;
}

}  // namespace
}  // namespace platform::testing
