// The gRPC server: serves RunFunction on both apiextensions.fn.proto.v1 and
// v1beta1 through one handler, plus gRPC health and server reflection.
//
// Calls are handled as raw bytes: the request is decoded once into a message
// the handler owns, so the desired state and context can be moved into the
// response instead of copied, and since v1beta1 is wire-identical to v1 the
// same decoding serves both services.
#ifndef PLATFORM_FUNCTION_SERVER_SERVER_H_
#define PLATFORM_FUNCTION_SERVER_SERVER_H_

#include <grpcpp/server.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/status.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "function/metrics/metrics.h"
#include "function/runner.h"
#include "function/sdk/proto.h"

namespace grpc {
class ServerBuilder;
}  // namespace grpc

namespace platform::fn {

struct ServerOptions {
  // host:port; port 0 picks a free port (see FunctionServer::port()).
  std::string address = "0.0.0.0:9443";
  // Serve plaintext. Takes precedence over tls_certs_dir.
  bool insecure = false;
  // Directory with tls.crt, tls.key and ca.crt. Clients must present a
  // certificate signed by ca.crt.
  std::string tls_certs_dir;
  // Largest request (and response) accepted, in MiB.
  int max_message_mib = 4;
  // Where every call is counted and timed (by XR kind, outcome and result
  // severity); none when null. Must outlive the server.
  Metrics* metrics = nullptr;
};

class FunctionServer {
 public:
  // Builds and starts a server. `runner` must outlive it. Fails with a
  // message that says what to pass when neither insecure nor a certificate
  // directory is set, or when the certificates cannot be read.
  static absl::StatusOr<std::unique_ptr<FunctionServer>> Start(const Runner& runner,
                                                               const ServerOptions& options);
  ~FunctionServer();

  // The bound TCP port.
  int port() const { return port_; }

  // Stops accepting calls, lets calls in flight finish for up to `grace`,
  // then cancels what is left. Returns once the server has stopped.
  void Shutdown(absl::Duration grace);

  // One registered RunFunction service (v1 or v1beta1); defined in server.cc.
  class Service;

 private:
  FunctionServer() = default;

  std::unique_ptr<Service> v1_;
  std::unique_ptr<Service> v1beta1_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool stopped_ = false;
};

// Reads tls.crt, tls.key and ca.crt from `dir`; the error names a missing file.
struct TlsFiles {
  std::string cert_chain;
  std::string private_key;
  std::string ca;
};
absl::StatusOr<TlsFiles> ReadTlsFiles(const std::string& dir);

// The server's wire codec, also what the benchmark's gRPC floor serves with.
// DecodeRequest parses the request from gRPC's slices, without flattening
// them, into a message the call owns. EncodeResponse serializes
// deterministically (map entries in key order): Crossplane compares each
// response's requirements with the previous one's to decide whether to call
// again, and a map in hash order would never settle.
grpc::Status DecodeRequest(const grpc::ByteBuffer& in, pb::RunFunctionRequest& req);
grpc::Status EncodeResponse(const pb::RunFunctionResponse& rsp, grpc::ByteBuffer* out);

// The options every RunFunction server of ours is built with: SO_REUSEPORT
// off (a second server must not silently share a running one's port) and
// the largest message in either direction.
void ConfigureServerBuilder(grpc::ServerBuilder& builder, int max_message_bytes);

// Turns off Abseil's lock-order (deadlock cycle) checks, process-wide. The
// Abseil that Debian ships keeps them on, and gRPC core takes absl::Mutex
// locks many times a call, each fed to the checks' graph (its share of the
// profile: docs/performance.md). Call once in main, after TuneAllocator.
void DisableLockOrderChecks();

// Sets glibc malloc up for a RunFunction server; call once, first thing in
// main, before any thread starts. A call builds and frees thousands of small
// JSON nodes, map entries and strings, then allocates a few blocks of a
// kilobyte or more (a vector of names, a resource's encoded bytes). Two
// settings make that cheap:
//  - A per-thread cache of kMallocCacheCount chunks per size (glibc keeps 7),
//    so that what one call frees serves the next call's allocations without
//    reaching the arena's bins: 23% of a prod XEnvironment's render. glibc
//    reads this only from GLIBC_TUNABLES when a process starts, so when the
//    variable does not set glibc.malloc.tcache_count, the process adds it
//    and executes its own binary again with the same `argv` (same pid and
//    name), once. A GLIBC_TUNABLES that sets the count is left alone, so an
//    operator can choose another (glibc.malloc.tcache_count=7 is glibc's
//    own).
//  - No fastbins (mallopt): with them, the first large allocation after the
//    frees merges every small chunk freed so far (malloc_consolidate), which
//    perf showed at 10% of the render.
// Returns why the cache could not be raised (the process then runs with
// glibc's), to be logged once logging is set up; empty when it was, or when
// GLIBC_TUNABLES already set the count.
std::string TuneAllocator(char** argv);
inline constexpr int kMallocCacheCount = 4096;

}  // namespace platform::fn

#endif  // PLATFORM_FUNCTION_SERVER_SERVER_H_
