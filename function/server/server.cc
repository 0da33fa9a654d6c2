#include "function/server/server.h"

#include <google/protobuf/io/coded_stream.h>
#include <grpc/grpc.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/proto_buffer_writer.h>
#include <limits.h>
#include <malloc.h>
#include <spdlog/spdlog.h>
#include <sys/auxv.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "apiextensions/fn/proto/v1/run_function.grpc.pb.h"
#include "apiextensions/fn/proto/v1beta1/run_function.grpc.pb.h"
#include "common/files.h"
#include "function/sdk/deferred.h"
#include "function/sdk/strings.h"
#include "function/server/tls.h"

namespace platform::fn {
namespace {

namespace v1 = ::apiextensions::fn::proto::v1;
namespace v1beta1 = ::apiextensions::fn::proto::v1beta1;

// The XR's kind as the request names it; "" when it names none. The runner
// moves the desired state and context out of the request, not the observed.
std::string ObservedKind(const pb::RunFunctionRequest& req) {
  return sdk::ResourceString(req.observed().composite(), "kind");
}

ResultCounts CountResults(const pb::RunFunctionResponse& rsp) {
  ResultCounts counts;
  for (const pb::Result& r : rsp.results()) {
    switch (r.severity()) {
      case pb::SEVERITY_FATAL:
        ++counts.fatal;
        break;
      case pb::SEVERITY_WARNING:
        ++counts.warning;
        break;
      case pb::SEVERITY_NORMAL:
        ++counts.normal;
        break;
      default:
        break;
    }
  }
  return counts;
}

// Decodes, runs and encodes one call, and counts it in `metrics` (when not
// null). Shared by both services.
grpc::Status Handle(const Runner& runner, Metrics* metrics, const grpc::ByteBuffer& in,
                    grpc::ByteBuffer* out) {
  const auto start = std::chrono::steady_clock::now();
  pb::RunFunctionRequest req;
  if (grpc::Status decoded = DecodeRequest(in, req); !decoded.ok()) {
    if (metrics != nullptr) {
      metrics->Record(metrics->UnknownKind(), Outcome::kError,
                      std::chrono::steady_clock::now() - start, {});
    }
    return decoded;
  }
  pb::RunFunctionResponse rsp = runner.Run(req);
  grpc::Status encoded = EncodeResponse(rsp, out);
  if (metrics != nullptr) {
    // A response that cannot be sent delivers no results.
    const ResultCounts results = encoded.ok() ? CountResults(rsp) : ResultCounts{};
    const Outcome outcome = !encoded.ok()        ? Outcome::kError
                            : results.fatal != 0 ? Outcome::kFatal
                                                 : Outcome::kSuccess;
    metrics->Record(metrics->KindIndex(ObservedKind(req)), outcome,
                    std::chrono::steady_clock::now() - start, results);
  }
  return encoded;
}

}  // namespace

// One RunFunction service, v1 or v1beta1, registered with raw byte handling.
class FunctionServer::Service {
 public:
  virtual ~Service() = default;
  virtual grpc::Service* service() = 0;
};

namespace {

template <typename Generated>
class RawService final : public FunctionServer::Service {
 public:
  RawService(const Runner& runner, Metrics* metrics) : impl_(runner, metrics) {}
  grpc::Service* service() override { return &impl_; }

 private:
  class Impl final
      : public Generated::template WithRawCallbackMethod_RunFunction<typename Generated::Service> {
   public:
    Impl(const Runner& runner, Metrics* metrics) : runner_(&runner), metrics_(metrics) {}
    grpc::ServerUnaryReactor* RunFunction(grpc::CallbackServerContext* ctx,
                                          const grpc::ByteBuffer* request,
                                          grpc::ByteBuffer* response) override {
      grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
      reactor->Finish(Handle(*runner_, metrics_, *request, response));
      return reactor;
    }

   private:
    const Runner* runner_;
    Metrics* metrics_;
  };
  Impl impl_;
};

}  // namespace

absl::StatusOr<TlsFiles> ReadTlsFiles(const std::string& dir) {
  TlsFiles files;
  struct Entry {
    const char* name;
    std::string* into;
  } entries[] = {
      {"tls.crt", &files.cert_chain}, {"tls.key", &files.private_key}, {"ca.crt", &files.ca}};
  for (const Entry& e : entries) {
    const std::string path = sdk::Cat(dir, "/", e.name);
    absl::StatusOr<std::string> content = platform::ReadFile(path);
    if (!content.ok()) return absl::NotFoundError(sdk::Cat("--tls-certs-dir: cannot read ", path));
    *e.into = *std::move(content);
    if (e.into->empty()) return absl::InvalidArgumentError(sdk::Cat(path, ": empty file"));
  }
  return files;
}

grpc::Status DecodeRequest(const grpc::ByteBuffer& in, pb::RunFunctionRequest& req) {
  // One copy of the bytes, in which the observed and required resources'
  // bodies are deferred (function/sdk/deferred.h): they are decoded straight
  // to JSON when a renderer reads them, never built as Structs.
  std::vector<grpc::Slice> slices;
  if (!in.Dump(&slices).ok()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "cannot read RunFunctionRequest");
  }
  std::string wire;
  wire.reserve(in.Length());
  for (const grpc::Slice& slice : slices) {
    wire.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  sdk::DeferResourceBodies(wire);
  if (!req.ParseFromString(wire)) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "cannot decode RunFunctionRequest");
  }
  return grpc::Status::OK;
}

grpc::Status EncodeResponse(const pb::RunFunctionResponse& rsp, grpc::ByteBuffer* out) {
  // Deterministic: map entries in key order. Crossplane compares each
  // response's requirements with the previous one's to decide whether to
  // call again; a caller that does not know a field keeps it as unknown
  // bytes and compares those, so a map serialized in hash order (required
  // resources under two keys, to crossplane render v1.x) would differ from
  // call to call and never settle.
  const std::size_t size = rsp.ByteSizeLong();
  if (size > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "response too large");
  }
  grpc::ProtoBufferWriter writer(out, grpc::kProtoBufferWriterMaxBufferLength,
                                 static_cast<int>(size));
  google::protobuf::io::CodedOutputStream coded(&writer);
  coded.SetSerializationDeterministic(true);
  rsp.SerializeWithCachedSizes(&coded);
  if (coded.HadError()) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "cannot encode RunFunctionResponse");
  }
  return grpc::Status::OK;
}

void ConfigureServerBuilder(grpc::ServerBuilder& builder, int max_message_bytes) {
  // gRPC sets SO_REUSEPORT by default, which lets a second server bind the
  // port of a running one and silently share its connections. Refuse instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(max_message_bytes);
  builder.SetMaxSendMessageSize(max_message_bytes);
}

void DisableLockOrderChecks() {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

absl::StatusOr<std::unique_ptr<FunctionServer>> FunctionServer::Start(
    const Runner& runner, const ServerOptions& options) {
  std::shared_ptr<grpc::ServerCredentials> creds;
  if (options.insecure) {
    creds = grpc::InsecureServerCredentials();
  } else if (!options.tls_certs_dir.empty()) {
    absl::StatusOr<TlsFiles> files = ReadTlsFiles(options.tls_certs_dir);
    if (!files.ok()) return files.status();
    if (absl::Status identity = CheckServerIdentity(files->cert_chain, files->private_key);
        !identity.ok()) {
      return absl::InvalidArgumentError(
          sdk::Cat(options.tls_certs_dir, "/", std::string(identity.message())));
    }
    absl::StatusOr<std::shared_ptr<const ClientCas>> cas = ClientCas::Parse(files->ca);
    if (!cas.ok()) {
      return absl::InvalidArgumentError(
          sdk::Cat(options.tls_certs_dir, "/", std::string(cas.status().message())));
    }
    // A client certificate is required, and verified by ClientCas (see
    // client_certs.h for why not by gRPC itself).
    grpc::experimental::TlsServerCredentialsOptions tls(
        std::make_shared<grpc::experimental::StaticDataCertificateProvider>(
            files->ca, std::vector<grpc::experimental::IdentityKeyCertPair>{
                           {files->private_key, files->cert_chain}}));
    tls.watch_identity_key_cert_pairs();
    tls.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_BUT_DONT_VERIFY);
    tls.set_certificate_verifier(MakeClientVerifier(*std::move(cas)));
    creds = grpc::experimental::TlsServerCredentials(tls);
  } else {
    return absl::InvalidArgumentError(
        "no transport security configured: pass --tls-certs-dir (or set TLS_SERVER_CERTS_DIR) "
        "to a directory with tls.crt, tls.key and ca.crt for mutual TLS, or pass --insecure "
        "to serve plaintext");
  }
  if (options.max_message_mib <= 0 || options.max_message_mib > 1024) {
    return absl::InvalidArgumentError(sdk::Cat(
        "--max-recv-message-size: must be between 1 and 1024 MiB, not ", options.max_message_mib));
  }

  std::unique_ptr<FunctionServer> server(new FunctionServer());
  server->v1_ = std::make_unique<RawService<v1::FunctionRunnerService>>(runner, options.metrics);
  server->v1beta1_ =
      std::make_unique<RawService<v1beta1::FunctionRunnerService>>(runner, options.metrics);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  ConfigureServerBuilder(builder, options.max_message_mib * 1024 * 1024);
  builder.AddListeningPort(options.address, creds, &server->port_);
  builder.RegisterService(server->v1_->service());
  builder.RegisterService(server->v1beta1_->service());
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(sdk::Cat("cannot listen on ", options.address));
  }
  return server;
}

void FunctionServer::Shutdown(absl::Duration grace) {
  if (stopped_) return;
  stopped_ = true;
  server_->Shutdown(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(grace));
  server_->Wait();
}

FunctionServer::~FunctionServer() {
  if (server_ != nullptr) Shutdown(absl::ZeroDuration());
}

std::string TuneAllocator(char** argv) {
  static constexpr char kVariable[] = "GLIBC_TUNABLES";
  static constexpr char kCacheCount[] = "glibc.malloc.tcache_count";
  // Set for the one execution again: never a second.
  static constexpr char kExecuted[] = "FUNCTION_PLATFORM_MALLOC_REEXECUTED";
  mallopt(M_MXFAST, 0);
  const char* set = getenv(kVariable);
  const std::string before = set != nullptr ? set : "";
  const bool counted = before.find(kCacheCount) != std::string::npos;
  if (getenv(kExecuted) != nullptr) {
    unsetenv(kExecuted);
    return counted ? "" : "glibc dropped glibc.malloc.tcache_count from GLIBC_TUNABLES";
  }
  if (counted || argv == nullptr) return "";
  // With raised privileges (setuid, file capabilities) glibc ignores the
  // tunable.
  if (getauxval(AT_SECURE) != 0) return "raised privileges: glibc ignores GLIBC_TUNABLES";
  // The binary's own path rather than /proc/self/exe, which would become
  // the process's name ("exe").
  char path[PATH_MAX];
  const ssize_t length = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (length <= 0) return absl::StrCat("cannot read /proc/self/exe: ", strerror(errno));
  path[length] = '\0';
  const std::string count = absl::StrCat(kCacheCount, "=", kMallocCacheCount);
  setenv(kVariable, (before.empty() ? count : absl::StrCat(before, ":", count)).c_str(), 1);
  setenv(kExecuted, "1", 1);
  execv(path, argv);
  const int error = errno;
  unsetenv(kExecuted);
  if (set != nullptr) {
    setenv(kVariable, before.c_str(), 1);
  } else {
    unsetenv(kVariable);
  }
  return absl::StrCat("cannot execute ", path, " again: ", strerror(error));
}

}  // namespace platform::fn
