// gRPC-level tests of FunctionServer over loopback: both protocol versions,
// mutual TLS, refusing to start, health, reflection, graceful shutdown and
// the message size limit.
#include "function/server/server.h"

#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/unknown_field_set.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "apiextensions/fn/proto/v1/run_function.grpc.pb.h"
#include "apiextensions/fn/proto/v1beta1/run_function.grpc.pb.h"
#include "function/registry.h"
#include "function/runner.h"
#include "function/sdk/request.h"
#include "function/sdk/response.h"
#include "function/sdk/strings.h"
#include "function/sdk/struct_json.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_certs.h"

namespace platform::fn {
namespace {

namespace v1 = ::apiextensions::fn::proto::v1;
namespace v1beta1 = ::apiextensions::fn::proto::v1beta1;
using platform::testing::TempDir;
using platform::testing::TestPki;
using sdk::Json;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kKind[] = "XTest";

// Adds a composed resource named after the XR and a Normal result; counts
// its calls so tests can tell whether a refused call reached the handler.
class EchoRenderer : public Renderer {
 public:
  explicit EchoRenderer(std::atomic<int>* calls) : calls_(calls) {}
  absl::Status Render(const sdk::Request& req, sdk::Response& rsp) const override {
    calls_->fetch_add(1);
    const std::string name = req.ObservedComposite().at("metadata").at("name").get<std::string>();
    rsp.SetDesired(
        "added",
        Json{{"apiVersion", "example.org/v1"}, {"kind", "Added"}, {"spec", {{"owner", name}}}});
    rsp.Normal("Rendered", sdk::Cat("rendered ", name));
    return absl::OkStatus();
  }

 private:
  std::atomic<int>* calls_;
};

// Asks for many resources, under keys whose hash order is not their order.
class RequiringRenderer : public Renderer {
 public:
  absl::Status Render(const sdk::Request&, sdk::Response& rsp) const override {
    for (int i = 0; i < 40; ++i) {
      pb::ResourceSelector s;
      s.set_api_version("v1");
      s.set_kind("ConfigMap");
      s.set_match_name(sdk::Cat("config-", i));
      rsp.RequireResources(sdk::Cat("key-", (i * 7919) % 40), std::move(s));
    }
    return absl::OkStatus();
  }
};

// Takes `delay` per call; counts calls as they start.
class SlowRenderer : public Renderer {
 public:
  SlowRenderer(std::atomic<int>* started, milliseconds delay) : started_(started), delay_(delay) {}
  absl::Status Render(const sdk::Request&, sdk::Response& rsp) const override {
    started_->fetch_add(1);
    std::this_thread::sleep_for(delay_);
    rsp.Normal("Slow", "done");
    return absl::OkStatus();
  }

 private:
  std::atomic<int>* started_;
  milliseconds delay_;
};

// A registry with one renderer, a runner and a server on loopback.
class Harness {
 public:
  static absl::StatusOr<std::unique_ptr<Harness>> Start(ServerOptions options,
                                                        std::unique_ptr<Renderer> renderer) {
    std::unique_ptr<Harness> h(new Harness());
    h->registry_.Add(kKind, std::move(renderer));
    h->runner_ = std::make_unique<Runner>(h->registry_);
    absl::StatusOr<std::unique_ptr<FunctionServer>> server =
        FunctionServer::Start(*h->runner_, options);
    if (!server.ok()) return server.status();
    h->server_ = *std::move(server);
    return h;
  }

  FunctionServer& server() { return *server_; }
  int port() const { return server_->port(); }

 private:
  Harness() = default;
  Registry registry_;
  std::unique_ptr<Runner> runner_;
  std::unique_ptr<FunctionServer> server_;  // last: stops before the runner goes
};

ServerOptions Insecure() {
  ServerOptions o;
  o.address = "127.0.0.1:0";
  o.insecure = true;
  return o;
}

std::shared_ptr<grpc::Channel> Channel(int port, std::shared_ptr<grpc::ChannelCredentials> creds) {
  grpc::ChannelArguments args;
  // A channel of its own per test: no connection shared with another test's
  // channel to the same address.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetMaxReceiveMessageSize(-1);
  return grpc::CreateCustomChannel(sdk::Cat("127.0.0.1:", port), std::move(creds), args);
}

std::shared_ptr<grpc::Channel> PlainChannel(int port) {
  return Channel(port, grpc::InsecureChannelCredentials());
}

google::protobuf::Struct ToStruct(const Json& j) {
  google::protobuf::Struct s;
  const absl::Status st = sdk::ToStruct(j, "test", &s);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return s;
}

Json Earlier(const std::string& payload = "") {
  return Json{{"apiVersion", "example.org/v1"},
              {"kind", "Earlier"},
              {"spec", {{"size", 3}, {"payload", payload}}}};
}

const Json kContext = {{"apiextensions.crossplane.io/environment", {{"region", "eu-west-1"}}}};

// A request for an XTest named `name`, with a desired resource set by an
// earlier step and a context, for either protocol version.
template <typename Req>
Req MakeRequest(const std::string& tag, const std::string& name, const std::string& payload = "") {
  Req req;
  req.mutable_meta()->set_tag(tag);
  *req.mutable_observed()->mutable_composite()->mutable_resource() =
      ToStruct({{"apiVersion", "example.org/v1"}, {"kind", kKind}, {"metadata", {{"name", name}}}});
  *(*req.mutable_desired()->mutable_resources())["earlier"].mutable_resource() =
      ToStruct(Earlier(payload));
  *req.mutable_context() = ToStruct(kContext);
  return req;
}

template <typename Service, typename Req, typename Rsp>
grpc::Status RunFunction(const std::shared_ptr<grpc::Channel>& channel, const Req& req, Rsp* rsp,
                         milliseconds timeout = seconds(10)) {
  std::unique_ptr<typename Service::Stub> stub = Service::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  return stub->RunFunction(&ctx, req, rsp);
}

std::string Describe(const grpc::Status& s) {
  return sdk::Cat("code ", static_cast<int>(s.error_code()), ": ", s.error_message());
}

// What every successful call of EchoRenderer must carry, in either version.
template <typename Rsp>
void ExpectEchoed(const Rsp& rsp, const std::string& tag, const std::string& name) {
  EXPECT_EQ(rsp.meta().tag(), tag);
  EXPECT_EQ(rsp.meta().ttl().seconds(), 60);
  const auto& resources = rsp.desired().resources();
  ASSERT_EQ(resources.count("earlier"), 1u) << rsp.DebugString();
  EXPECT_EQ(sdk::FromStruct(resources.at("earlier").resource()), Earlier());
  ASSERT_EQ(resources.count("added"), 1u) << rsp.DebugString();
  EXPECT_EQ(
      sdk::FromStruct(resources.at("added").resource()),
      (Json{{"apiVersion", "example.org/v1"}, {"kind", "Added"}, {"spec", {{"owner", name}}}}));
  EXPECT_EQ(sdk::FromStruct(rsp.context()), kContext);
  ASSERT_EQ(rsp.results_size(), 1) << rsp.DebugString();
  EXPECT_EQ(static_cast<int>(rsp.results(0).severity()), static_cast<int>(pb::SEVERITY_NORMAL));
  EXPECT_EQ(rsp.results(0).message(), sdk::Cat("rendered ", name));
}

// ---------------------------------------------------------------------------
// Plaintext: both protocol versions through one handler.

TEST(FunctionServerTest, ServesV1AndV1beta1FromOneHandler) {
  std::atomic<int> calls{0};
  auto h = Harness::Start(Insecure(), std::make_unique<EchoRenderer>(&calls));
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  ASSERT_GT((*h)->port(), 0);
  auto channel = PlainChannel((*h)->port());

  v1::RunFunctionResponse rsp1;
  grpc::Status s1 = RunFunction<v1::FunctionRunnerService>(
      channel, MakeRequest<v1::RunFunctionRequest>("tag-v1", "one"), &rsp1);
  ASSERT_TRUE(s1.ok()) << Describe(s1);
  ExpectEchoed(rsp1, "tag-v1", "one");

  v1beta1::RunFunctionResponse rsp2;
  grpc::Status s2 = RunFunction<v1beta1::FunctionRunnerService>(
      channel, MakeRequest<v1beta1::RunFunctionRequest>("tag-v1beta1", "two"), &rsp2);
  ASSERT_TRUE(s2.ok()) << Describe(s2);
  ExpectEchoed(rsp2, "tag-v1beta1", "two");

  EXPECT_EQ(calls.load(), 2);
}

TEST(FunctionServerTest, AbsentMetaGivesEmptyTag) {
  std::atomic<int> calls{0};
  auto h = Harness::Start(Insecure(), std::make_unique<EchoRenderer>(&calls));
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  v1::RunFunctionRequest req = MakeRequest<v1::RunFunctionRequest>("", "no-meta");
  req.clear_meta();
  v1::RunFunctionResponse rsp;
  grpc::Status s = RunFunction<v1::FunctionRunnerService>(PlainChannel((*h)->port()), req, &rsp);
  ASSERT_TRUE(s.ok()) << Describe(s);
  ExpectEchoed(rsp, "", "no-meta");
}

TEST(FunctionServerTest, UndecodableRequestIsInvalidArgument) {
  std::atomic<int> calls{0};
  auto h = Harness::Start(Insecure(), std::make_unique<EchoRenderer>(&calls));
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  grpc::GenericStub stub(PlainChannel((*h)->port()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + seconds(10));
  // Field 1 (meta) as a length-delimited field claiming 100 bytes, then EOF.
  const std::string bytes("\x0a\x64\x01", 3);
  grpc::Slice slice(bytes);
  grpc::ByteBuffer req(&slice, 1);
  grpc::ByteBuffer rsp;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, "/apiextensions.fn.proto.v1.FunctionRunnerService/RunFunction",
                 grpc::StubOptions(), &req, &rsp,
                 [&done](grpc::Status st) { done.set_value(std::move(st)); });
  grpc::Status s = done.get_future().get();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << Describe(s);
  EXPECT_EQ(calls.load(), 0);
}

// Crossplane calls again until a response's requirements equal the previous
// one's; a caller that does not know a field compares it as unknown bytes.
// So the bytes on the wire are the deterministic encoding: map entries in
// key order, the same every time.
TEST(FunctionServerTest, ResponsesAreEncodedDeterministically) {
  auto h = Harness::Start(Insecure(), std::make_unique<RequiringRenderer>());
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  grpc::GenericStub stub(PlainChannel((*h)->port()));
  const std::string request =
      MakeRequest<v1::RunFunctionRequest>("tag", "many").SerializeAsString();
  std::string first;
  for (int call = 0; call < 3; ++call) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + seconds(10));
    grpc::Slice slice(request);
    grpc::ByteBuffer req(&slice, 1);
    grpc::ByteBuffer rsp;
    std::promise<grpc::Status> done;
    stub.UnaryCall(&ctx, "/apiextensions.fn.proto.v1.FunctionRunnerService/RunFunction",
                   grpc::StubOptions(), &req, &rsp,
                   [&done](grpc::Status st) { done.set_value(std::move(st)); });
    grpc::Status s = done.get_future().get();
    ASSERT_TRUE(s.ok()) << Describe(s);
    std::vector<grpc::Slice> slices;
    ASSERT_TRUE(rsp.Dump(&slices).ok());
    std::string bytes;
    for (const grpc::Slice& sl : slices) {
      bytes.append(reinterpret_cast<const char*>(sl.begin()), sl.size());
    }
    v1::RunFunctionResponse parsed;
    ASSERT_TRUE(parsed.ParseFromString(bytes));
    ASSERT_EQ(parsed.requirements().resources_size(), 40);
    std::string deterministic;
    {
      google::protobuf::io::StringOutputStream out(&deterministic);
      google::protobuf::io::CodedOutputStream coded(&out);
      coded.SetSerializationDeterministic(true);
      parsed.ByteSizeLong();
      parsed.SerializeWithCachedSizes(&coded);
    }
    EXPECT_TRUE(bytes == deterministic) << "call " << call << " is not in key order";
    if (call == 0) first = bytes;
    EXPECT_TRUE(bytes == first) << "call " << call << " differs from the first";
  }
}

// ---------------------------------------------------------------------------
// Mutual TLS.

class MutualTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new TestPki(TestPki::Make()); }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }

  void SetUp() override {
    dir_.Write("tls.crt", pki_->server.cert_pem);
    dir_.Write("tls.key", pki_->server.key_pem);
    dir_.Write("ca.crt", pki_->ca.cert_pem);
    ServerOptions o;
    o.address = "127.0.0.1:0";
    o.tls_certs_dir = dir_.path();
    auto h = Harness::Start(o, std::make_unique<EchoRenderer>(&calls_));
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    harness_ = *std::move(h);
  }

  // A TLS client that trusts the server's CA and presents `client`, or no
  // certificate at all when nullptr.
  std::shared_ptr<grpc::Channel> TlsChannel(const platform::testing::Issued* client) const {
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = pki_->ca.cert_pem;
    if (client != nullptr) {
      o.pem_private_key = client->key_pem;
      o.pem_cert_chain = client->cert_pem;
    }
    return Channel(harness_->port(), grpc::SslCredentials(o));
  }

  grpc::Status Call(const std::shared_ptr<grpc::Channel>& channel, v1::RunFunctionResponse* rsp) {
    return RunFunction<v1::FunctionRunnerService>(
        channel, MakeRequest<v1::RunFunctionRequest>("tls", "secure"), rsp, seconds(5));
  }

  static TestPki* pki_;
  TempDir dir_;
  std::atomic<int> calls_{0};
  std::unique_ptr<Harness> harness_;
};

TestPki* MutualTlsTest::pki_ = nullptr;

TEST_F(MutualTlsTest, ClientWithCertificateFromTheCaIsServed) {
  v1::RunFunctionResponse rsp;
  grpc::Status s = Call(TlsChannel(&pki_->client), &rsp);
  ASSERT_TRUE(s.ok()) << Describe(s);
  ExpectEchoed(rsp, "tls", "secure");
  EXPECT_EQ(calls_.load(), 1);

  // v1beta1 over the same TLS setup.
  v1beta1::RunFunctionResponse beta;
  grpc::Status sb = RunFunction<v1beta1::FunctionRunnerService>(
      TlsChannel(&pki_->client), MakeRequest<v1beta1::RunFunctionRequest>("tls-beta", "secure"),
      &beta, seconds(5));
  ASSERT_TRUE(sb.ok()) << Describe(sb);
  ExpectEchoed(beta, "tls-beta", "secure");
}

// Crossplane core issues its client certificate with its CA's own subject
// and no key identifiers; OpenSSL alone takes it for self-signed. It must be
// served: every call from a real Crossplane carries it.
TEST_F(MutualTlsTest, ClientCertificateShapedLikeCrossplanesIsServed) {
  const platform::testing::Issued client =
      platform::testing::IssueLikeCrossplane(platform::testing::CertKind::kClient, pki_->ca);
  v1::RunFunctionResponse rsp;
  grpc::Status s = Call(TlsChannel(&client), &rsp);
  ASSERT_TRUE(s.ok()) << Describe(s);
  ExpectEchoed(rsp, "tls", "secure");
}

// ... but only that shape, signed by the CA, valid and meant for clients.
TEST_F(MutualTlsTest, CrossplaneShapedCertificatesTheCaDidNotSignOrThatAreNotForClientsAreRefused) {
  using platform::testing::CertKind;
  // Self-signed, with the CA's subject: the shape, without the signature.
  platform::testing::IssueSpec impostor;
  impostor.kind = CertKind::kClient;
  impostor.crossplane_style = true;
  impostor.subject_of = &pki_->ca;
  const platform::testing::Issued self_signed = platform::testing::IssueCert(impostor);
  platform::testing::Issued same_subject =
      platform::testing::IssueLikeCrossplane(CertKind::kClient, pki_->other_ca);
  const platform::testing::Issued expired =
      platform::testing::IssueLikeCrossplane(CertKind::kClient, pki_->ca, -3600);
  const platform::testing::Issued server_only =
      platform::testing::IssueLikeCrossplane(CertKind::kServer, pki_->ca);
  for (const auto& [name, cert] :
       std::vector<std::pair<std::string, const platform::testing::Issued*>>{
           {"self-signed", &self_signed},
           {"another CA", &same_subject},
           {"expired", &expired},
           {"server only", &server_only}}) {
    v1::RunFunctionResponse rsp;
    grpc::Status s = Call(TlsChannel(cert), &rsp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << name << ": " << Describe(s);
  }
  EXPECT_EQ(calls_.load(), 0);
}

TEST_F(MutualTlsTest, ClientWithoutCertificateIsRefused) {
  v1::RunFunctionResponse rsp;
  grpc::Status s = Call(TlsChannel(nullptr), &rsp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << Describe(s);
  EXPECT_EQ(calls_.load(), 0);
}

TEST_F(MutualTlsTest, ClientWithCertificateFromAnotherCaIsRefused) {
  v1::RunFunctionResponse rsp;
  grpc::Status s = Call(TlsChannel(&pki_->other_client), &rsp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << Describe(s);
  EXPECT_EQ(calls_.load(), 0);
}

TEST_F(MutualTlsTest, PlaintextClientIsRefused) {
  v1::RunFunctionResponse rsp;
  grpc::Status s = Call(PlainChannel(harness_->port()), &rsp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << Describe(s);
  EXPECT_EQ(calls_.load(), 0);
}

// ---------------------------------------------------------------------------
// Refusing to start.

TEST(FunctionServerStartTest, NeitherInsecureNorCertsDirIsRefusedNamingBothFlags) {
  std::atomic<int> calls{0};
  ServerOptions o;
  o.address = "127.0.0.1:0";
  auto h = Harness::Start(o, std::make_unique<EchoRenderer>(&calls));
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string msg(h.status().message());
  EXPECT_NE(msg.find("--insecure"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--tls-certs-dir"), std::string::npos) << msg;
}

class MissingTlsFileTest : public ::testing::TestWithParam<std::string> {};

TEST_P(MissingTlsFileTest, IsRefusedNamingTheFile) {
  const TestPki pki = TestPki::Make();
  TempDir dir;
  const std::vector<std::pair<std::string, std::string>> files = {{"tls.crt", pki.server.cert_pem},
                                                                  {"tls.key", pki.server.key_pem},
                                                                  {"ca.crt", pki.ca.cert_pem}};
  for (const auto& [name, content] : files) {
    if (name != GetParam()) dir.Write(name, content);
  }
  ServerOptions o;
  o.address = "127.0.0.1:0";
  o.tls_certs_dir = dir.path();
  std::atomic<int> calls{0};
  auto h = Harness::Start(o, std::make_unique<EchoRenderer>(&calls));
  ASSERT_FALSE(h.ok());
  const std::string msg(h.status().message());
  EXPECT_NE(msg.find(sdk::Cat(dir.path(), "/", GetParam())), std::string::npos) << msg;
}

INSTANTIATE_TEST_SUITE_P(EachFile, MissingTlsFileTest,
                         ::testing::Values("tls.crt", "tls.key", "ca.crt"),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                           return param_info.param == "tls.crt"   ? std::string("TlsCrt")
                                  : param_info.param == "tls.key" ? std::string("TlsKey")
                                                                  : std::string("CaCrt");
                         });

TEST(FunctionServerStartTest, EmptyCaFileIsRefusedNamingIt) {
  const TestPki pki = TestPki::Make();
  TempDir dir;
  dir.Write("tls.crt", pki.server.cert_pem);
  dir.Write("tls.key", pki.server.key_pem);
  dir.Write("ca.crt", "");
  ServerOptions o;
  o.address = "127.0.0.1:0";
  o.tls_certs_dir = dir.path();
  std::atomic<int> calls{0};
  auto h = Harness::Start(o, std::make_unique<EchoRenderer>(&calls));
  ASSERT_FALSE(h.ok());
  const std::string msg(h.status().message());
  EXPECT_NE(msg.find("ca.crt"), std::string::npos) << msg;
}

TEST(FunctionServerStartTest, CertsDirThatIsNotADirectoryIsRefused) {
  std::atomic<int> calls{0};
  ServerOptions o;
  o.address = "127.0.0.1:0";
  o.tls_certs_dir = "/nonexistent/platform-test-certs";
  auto h = Harness::Start(o, std::make_unique<EchoRenderer>(&calls));
  ASSERT_FALSE(h.ok());
  const std::string msg(h.status().message());
  EXPECT_NE(msg.find("/nonexistent/platform-test-certs/tls.crt"), std::string::npos) << msg;
}

// Certificates and keys that cannot serve: refused at start, naming the
// file and what is wrong (gRPC alone would fail each handshake).
TEST(FunctionServerStartTest, UnusableCertificatesOrKeysAreRefusedNamingTheFile) {
  const TestPki pki = TestPki::Make();
  struct Case {
    std::string name, cert, key, want;
  };
  for (const Case& c : {
           Case{"unparsable certificate", "not a certificate\n", pki.server.key_pem,
                "tls.crt: no PEM certificate"},
           Case{"another certificate's key", pki.server.cert_pem, pki.client.key_pem,
                "tls.key: not the key of the certificate in tls.crt"},
       }) {
    TempDir dir;
    dir.Write("tls.crt", c.cert);
    dir.Write("tls.key", c.key);
    dir.Write("ca.crt", pki.ca.cert_pem);
    ServerOptions o;
    o.address = "127.0.0.1:0";
    o.tls_certs_dir = dir.path();
    std::atomic<int> calls{0};
    auto h = Harness::Start(o, std::make_unique<EchoRenderer>(&calls));
    ASSERT_FALSE(h.ok()) << c.name << ": started a server that cannot complete a TLS handshake";
    EXPECT_NE(h.status().message().find(c.want), std::string::npos) << c.name << ": " << h.status();
  }
}

class BadMaxMessageSizeTest : public ::testing::TestWithParam<int> {};

TEST_P(BadMaxMessageSizeTest, IsRefusedNamingTheFlag) {
  ServerOptions o = Insecure();
  o.max_message_mib = GetParam();
  std::atomic<int> calls{0};
  auto h = Harness::Start(o, std::make_unique<EchoRenderer>(&calls));
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string msg(h.status().message());
  EXPECT_NE(msg.find("--max-recv-message-size"), std::string::npos) << msg;
  EXPECT_NE(msg.find(std::to_string(GetParam())), std::string::npos) << msg;
}

INSTANTIATE_TEST_SUITE_P(OutOfRange, BadMaxMessageSizeTest, ::testing::Values(0, -1, 1025));

TEST(FunctionServerStartTest, InsecureTakesPrecedenceOverCertsDir) {
  ServerOptions o = Insecure();
  o.tls_certs_dir = "/nonexistent/platform-test-certs";
  std::atomic<int> calls{0};
  auto h = Harness::Start(o, std::make_unique<EchoRenderer>(&calls));
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  v1::RunFunctionResponse rsp;
  grpc::Status s = RunFunction<v1::FunctionRunnerService>(
      PlainChannel((*h)->port()), MakeRequest<v1::RunFunctionRequest>("t", "plain"), &rsp);
  ASSERT_TRUE(s.ok()) << Describe(s);
  ExpectEchoed(rsp, "t", "plain");
}

TEST(FunctionServerStartTest, AddressInUseIsRefused) {
  std::atomic<int> calls{0};
  auto first = Harness::Start(Insecure(), std::make_unique<EchoRenderer>(&calls));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ServerOptions o = Insecure();
  o.address = sdk::Cat("127.0.0.1:", (*first)->port());
  auto second = Harness::Start(o, std::make_unique<EchoRenderer>(&calls));
  ASSERT_FALSE(second.ok()) << "a second server started on the port of the first";
  const std::string msg(second.status().message());
  EXPECT_NE(msg.find(o.address), std::string::npos) << msg;
}

// ---------------------------------------------------------------------------
// Health and reflection, called without generated stubs.

// One unary call with raw bytes in and out.
grpc::Status RawUnary(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                      const std::string& request, std::string* response) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + seconds(10));
  grpc::Slice slice(request);
  grpc::ByteBuffer req(&slice, 1);
  grpc::ByteBuffer rsp;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, method, grpc::StubOptions(), &req, &rsp,
                 [&done](grpc::Status s) { done.set_value(std::move(s)); });
  grpc::Status s = done.get_future().get();
  response->clear();
  if (s.ok()) {
    std::vector<grpc::Slice> slices;
    EXPECT_TRUE(rsp.Dump(&slices).ok());
    for (const grpc::Slice& sl : slices) {
      response->append(reinterpret_cast<const char*>(sl.begin()), sl.size());
    }
  }
  return s;
}

// One message each way on a bidi stream, with raw bytes.
grpc::Status RawBidiOnce(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                         const std::string& request, std::string* response) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + seconds(10));
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call = stub.PrepareCall(&ctx, method, &cq);
  int tags[5] = {};
  auto await = [&cq](void* want) {
    void* got = nullptr;
    bool ok = false;
    return cq.Next(&got, &ok) && got == want && ok;
  };
  grpc::Slice slice(request);
  grpc::ByteBuffer out(&slice, 1);
  grpc::ByteBuffer in;
  grpc::Status status;
  bool read = false;
  call->StartCall(&tags[0]);
  if (await(&tags[0])) {
    call->Write(out, &tags[1]);
    if (await(&tags[1])) {
      call->WritesDone(&tags[2]);
      if (await(&tags[2])) {
        call->Read(&in, &tags[3]);
        read = await(&tags[3]);
      }
    }
  }
  call->Finish(&status, &tags[4]);
  void* got = nullptr;
  bool ok = false;
  while (cq.Next(&got, &ok) && got != &tags[4]) {
  }
  cq.Shutdown();
  while (cq.Next(&got, &ok)) {
  }
  response->clear();
  if (read) {
    std::vector<grpc::Slice> slices;
    EXPECT_TRUE(in.Dump(&slices).ok());
    for (const grpc::Slice& sl : slices) {
      response->append(reinterpret_cast<const char*>(sl.begin()), sl.size());
    }
  } else if (status.ok()) {
    return grpc::Status(grpc::StatusCode::UNKNOWN, "stream ended without a response");
  }
  return status;
}

// The fields of one encoded message, decoded without its schema.
std::unique_ptr<google::protobuf::UnknownFieldSet> Decode(const std::string& bytes) {
  auto fields = std::make_unique<google::protobuf::UnknownFieldSet>();
  EXPECT_TRUE(fields->ParseFromString(bytes)) << "undecodable message";
  return fields;
}

std::vector<std::string> LengthDelimited(const google::protobuf::UnknownFieldSet& fields,
                                         int number) {
  std::vector<std::string> out;
  for (int i = 0; i < fields.field_count(); ++i) {
    const google::protobuf::UnknownField& f = fields.field(i);
    if (f.number() == number && f.type() == google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED) {
      out.push_back(f.length_delimited());
    }
  }
  return out;
}

std::string Encode(int number, const std::string& value) {
  google::protobuf::UnknownFieldSet fields;
  fields.AddLengthDelimited(number, value);
  std::string out;
  EXPECT_TRUE(fields.SerializeToString(&out));
  return out;
}

constexpr char kHealthCheck[] = "/grpc.health.v1.Health/Check";

TEST(FunctionServerTest, HealthServiceAnswersServing) {
  std::atomic<int> calls{0};
  auto h = Harness::Start(Insecure(), std::make_unique<EchoRenderer>(&calls));
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  auto channel = PlainChannel((*h)->port());

  // HealthCheckRequest{service: ""} encodes as no bytes at all;
  // HealthCheckResponse{status: SERVING} as field 1, varint 1.
  std::string rsp;
  grpc::Status s = RawUnary(channel, kHealthCheck, "", &rsp);
  ASSERT_TRUE(s.ok()) << Describe(s);
  const std::unique_ptr<google::protobuf::UnknownFieldSet> fields = Decode(rsp);
  ASSERT_EQ(fields->field_count(), 1) << "response bytes: " << rsp.size();
  EXPECT_EQ(fields->field(0).number(), 1);
  ASSERT_EQ(fields->field(0).type(), google::protobuf::UnknownField::TYPE_VARINT);
  EXPECT_EQ(fields->field(0).varint(), 1u) << "1 is SERVING";

  // A service the health service does not know is NOT_FOUND, which shows
  // that the answer above came from a real health service.
  s = RawUnary(channel, kHealthCheck, Encode(1, "no.such.Service"), &rsp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << Describe(s);
}

constexpr char kReflection[] = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";

TEST(FunctionServerTest, ReflectionListsBothServices) {
  std::atomic<int> calls{0};
  auto h = Harness::Start(Insecure(), std::make_unique<EchoRenderer>(&calls));
  ASSERT_TRUE(h.ok()) << h.status().ToString();

  // ServerReflectionRequest{list_services (7): ""}.
  std::string rsp;
  grpc::Status s = RawBidiOnce(PlainChannel((*h)->port()), kReflection, Encode(7, ""), &rsp);
  ASSERT_TRUE(s.ok()) << Describe(s);
  // ServerReflectionResponse.list_services_response (6) .service (1) .name (1).
  const std::vector<std::string> lists = LengthDelimited(*Decode(rsp), 6);
  ASSERT_EQ(lists.size(), 1u) << "no list_services_response";
  std::vector<std::string> names;
  for (const std::string& service : LengthDelimited(*Decode(lists[0]), 1)) {
    for (const std::string& name : LengthDelimited(*Decode(service), 1)) names.push_back(name);
  }
  EXPECT_NE(
      std::find(names.begin(), names.end(), "apiextensions.fn.proto.v1.FunctionRunnerService"),
      names.end())
      << fmt::format("{}", fmt::join(names, ", "));
  EXPECT_NE(
      std::find(names.begin(), names.end(), "apiextensions.fn.proto.v1beta1.FunctionRunnerService"),
      names.end())
      << fmt::format("{}", fmt::join(names, ", "));
}

TEST(FunctionServerTest, ReflectionDescribesTheV1beta1Service) {
  std::atomic<int> calls{0};
  auto h = Harness::Start(Insecure(), std::make_unique<EchoRenderer>(&calls));
  ASSERT_TRUE(h.ok()) << h.status().ToString();

  // ServerReflectionRequest{file_containing_symbol (4): ...}.
  std::string rsp;
  grpc::Status s =
      RawBidiOnce(PlainChannel((*h)->port()), kReflection,
                  Encode(4, "apiextensions.fn.proto.v1beta1.FunctionRunnerService"), &rsp);
  ASSERT_TRUE(s.ok()) << Describe(s);
  // ServerReflectionResponse.file_descriptor_response (4)
  //   .file_descriptor_proto (1, repeated bytes).
  const std::vector<std::string> files = LengthDelimited(*Decode(rsp), 4);
  ASSERT_EQ(files.size(), 1u) << "no file_descriptor_response";
  bool found = false;
  for (const std::string& bytes : LengthDelimited(*Decode(files[0]), 1)) {
    google::protobuf::FileDescriptorProto file;
    ASSERT_TRUE(file.ParseFromString(bytes));
    if (file.package() != "apiextensions.fn.proto.v1beta1") continue;
    for (const auto& service : file.service()) {
      if (service.name() != "FunctionRunnerService") continue;
      ASSERT_EQ(service.method_size(), 1);
      EXPECT_EQ(service.method(0).name(), "RunFunction");
      EXPECT_EQ(service.method(0).input_type(),
                ".apiextensions.fn.proto.v1beta1.RunFunctionRequest");
      found = true;
    }
  }
  EXPECT_TRUE(found);
}

// ---------------------------------------------------------------------------
// Graceful shutdown.

TEST(FunctionServerTest, ShutdownLetsCallsInFlightFinishThenRefusesNewOnes) {
  std::atomic<int> started{0};
  auto h = Harness::Start(Insecure(), std::make_unique<SlowRenderer>(&started, milliseconds(500)));
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  const int port = (*h)->port();
  auto channel = PlainChannel(port);

  v1::RunFunctionResponse rsp;
  std::future<grpc::Status> in_flight = std::async(std::launch::async, [&] {
    return RunFunction<v1::FunctionRunnerService>(
        channel, MakeRequest<v1::RunFunctionRequest>("in-flight", "slow"), &rsp);
  });
  const auto wait_until = std::chrono::steady_clock::now() + seconds(10);
  while (started.load() == 0 && std::chrono::steady_clock::now() < wait_until) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  ASSERT_EQ(started.load(), 1) << "the call never reached the renderer";

  const auto t0 = std::chrono::steady_clock::now();
  (*h)->server().Shutdown(absl::Seconds(5));
  const auto took = std::chrono::steady_clock::now() - t0;

  grpc::Status s = in_flight.get();
  ASSERT_TRUE(s.ok()) << Describe(s);
  EXPECT_EQ(rsp.meta().tag(), "in-flight");
  ASSERT_EQ(rsp.results_size(), 1);
  EXPECT_EQ(rsp.results(0).message(), "done");
  // Shutdown returned once the call was done, not at the end of the grace.
  EXPECT_LT(took, seconds(4));

  // New calls fail, on the old channel and on a new one, and never reach the
  // renderer.
  v1::RunFunctionResponse after;
  grpc::Status old_channel = RunFunction<v1::FunctionRunnerService>(
      channel, MakeRequest<v1::RunFunctionRequest>("after", "slow"), &after, seconds(2));
  EXPECT_FALSE(old_channel.ok());
  grpc::Status new_channel = RunFunction<v1::FunctionRunnerService>(
      PlainChannel(port), MakeRequest<v1::RunFunctionRequest>("after", "slow"), &after, seconds(2));
  EXPECT_EQ(new_channel.error_code(), grpc::StatusCode::UNAVAILABLE) << Describe(new_channel);
  EXPECT_EQ(started.load(), 1);

  // A second Shutdown (and the destructor after it) is harmless.
  (*h)->server().Shutdown(absl::Seconds(1));
}

// ---------------------------------------------------------------------------
// Message size limit.

TEST(FunctionServerTest, RequestOverTheLimitIsResourceExhaustedAndServingGoesOn) {
  std::atomic<int> calls{0};
  ServerOptions o = Insecure();
  o.max_message_mib = 1;
  auto h = Harness::Start(o, std::make_unique<EchoRenderer>(&calls));
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  auto channel = PlainChannel((*h)->port());

  const auto big =
      MakeRequest<v1::RunFunctionRequest>("big", "big", std::string(1024 * 1024 + 1024, 'x'));
  ASSERT_GT(big.ByteSizeLong(), 1024u * 1024u);
  v1::RunFunctionResponse rsp;
  grpc::Status s = RunFunction<v1::FunctionRunnerService>(channel, big, &rsp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << Describe(s);
  EXPECT_EQ(calls.load(), 0);

  // The same channel still gets answers, small and just under the limit.
  s = RunFunction<v1::FunctionRunnerService>(
      channel, MakeRequest<v1::RunFunctionRequest>("small", "small"), &rsp);
  ASSERT_TRUE(s.ok()) << Describe(s);
  ExpectEchoed(rsp, "small", "small");

  const std::string payload(1024 * 1024 - 64 * 1024, 'y');
  const auto near = MakeRequest<v1::RunFunctionRequest>("near", "near", payload);
  ASSERT_LT(near.ByteSizeLong(), 1024u * 1024u);
  s = RunFunction<v1::FunctionRunnerService>(channel, near, &rsp);
  ASSERT_TRUE(s.ok()) << Describe(s);
  EXPECT_EQ(rsp.meta().tag(), "near");
  EXPECT_EQ(sdk::FromStruct(rsp.desired().resources().at("earlier").resource()), Earlier(payload));
  EXPECT_EQ(calls.load(), 2);
}

}  // namespace
}  // namespace platform::fn
