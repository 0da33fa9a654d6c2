// runfunction_bench: load for the RunFunction handler.
//
// By default it starts the function-platform server in this process (plaintext
// on 127.0.0.1, a free port, the built-in renderers) and drives RunFunction
// over loopback gRPC with --concurrency calls in flight for --duration (or
// --requests calls), after a --warmup. With --target it drives a server that
// is already running instead, e.g. the released binary started with
// --insecure. With --in-process-only it skips gRPC and calls the handler
// (decode, platform::fn::Runner::Run, encode, free) directly, to show how much of
// a call is transport and how much is rendering.
//
// Every response is decoded and checked (no FATAL result, the tag echoed,
// every desired resource passed through, the VPC rendered, the context
// passed through); a wrong response counts as an error, and any error makes
// the exit status 1.
//
// Flags may be spelled with dashes or underscores: --in-process-only and
// --in_process_only are the same flag.
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/channel_arguments.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/time/time.h"
#include "apiextensions/fn/proto/v1/run_function.grpc.pb.h"
#include "bench/request.h"
#include "function/log.h"
#include "function/metrics/metrics.h"
#include "function/registry.h"
#include "function/renderers/builtin.h"
#include "function/runner.h"
#include "function/sdk/strings.h"
#include "function/server/server.h"

ABSL_FLAG(std::string, target, "",
          "host:port of a running function-platform (plaintext) to drive instead of starting "
          "one in this process.");
ABSL_FLAG(std::string, request, "",
          "Send this RunFunctionRequest (protobuf JSON) instead of the built-in one, to any "
          "function (--target); responses are checked for no FATAL result, the tag and "
          "--min-desired composed resources.");
ABSL_FLAG(int, min_desired, 1, "With --request: desired composed resources each response needs.");
ABSL_FLAG(int, concurrency, 8, "Calls in flight at once (one client thread each).");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "How long to measure, e.g. 10s, 1m.");
ABSL_FLAG(int64_t, requests, 0, "Measure this many calls instead of running for --duration.");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(2), "Unmeasured load before measuring.");
ABSL_FLAG(int, resources, 40, "Composed resources in the request (observed and desired).");
ABSL_FLAG(std::string, api, "v1", "Protocol package to call: v1 or v1beta1.");
ABSL_FLAG(int, channels, 1,
          "gRPC channels (TCP connections) to spread the calls over; Crossplane uses one.");
ABSL_FLAG(bool, json, false, "Print the results as one JSON object.");
ABSL_FLAG(bool, metrics, false,
          "Count and time every call of the in-process server in Prometheus metrics, as "
          "function-platform --metrics-address does.");
ABSL_FLAG(bool, in_process_only, false,
          "Call the handler directly (decode, Runner::Run, encode, free), without gRPC.");
ABSL_FLAG(std::string, serve_floor, "",
          "Serve the floor over plaintext gRPC on this address until SIGTERM or SIGINT: "
          "RunFunction that decodes the request and encodes the response our handler gives "
          "for it, and does nothing else (for scripts/bench-peers.sh).");

namespace platform::fn::bench {
namespace {

using Clock = std::chrono::steady_clock;
using sdk::Cat;

enum Phase : int { kWarmup, kMeasure, kStop };

// The steps of one call to the handler, as the server makes them.
constexpr std::array<const char*, 4> kSteps = {"decode", "run", "encode", "free"};
// The floor: what any server of these bytes does with protobuf's own types
// and nothing else. It decodes the request into a RunFunctionRequest (every
// Struct in full), encodes a RunFunctionResponse holding the response's
// content, and frees both.
constexpr std::array<const char*, 3> kFloorSteps = {"decode", "encode", "free"};

// Tells workers whether to go on and whether the next call is measured.
class Control {
 public:
  explicit Control(std::int64_t limit) : limit_(limit) {}

  // False when the worker should stop.
  bool Next(bool* measured) {
    const int phase = phase_.load(std::memory_order_acquire);
    if (phase == kStop) return false;
    if (phase == kMeasure && limit_ > 0 && tickets_.fetch_add(1) >= limit_) return false;
    *measured = phase == kMeasure;
    return true;
  }
  void Set(Phase phase) { phase_.store(phase, std::memory_order_release); }

 private:
  const std::int64_t limit_;
  std::atomic<int> phase_{kWarmup};
  std::atomic<std::int64_t> tickets_{0};
};

// What one worker saw.
struct WorkerResult {
  std::vector<std::int64_t> latency_ns;  // measured successful calls
  std::int64_t errors = 0;               // measured failed calls
  std::int64_t warmup_errors = 0;
  std::optional<std::string> first_error;
  // --in-process-only: this thread's CPU time in each step of measured
  // calls (see kSteps). CPU time rather than wall time, so that the split
  // holds on a machine shared with other work.
  std::array<std::int64_t, kSteps.size()> step_cpu_ns{};
  std::array<std::int64_t, kFloorSteps.size()> floor_cpu_ns{};

  void Record(bool measured, Clock::duration took, std::optional<std::string> error) {
    if (error) {
      (measured ? errors : warmup_errors)++;
      if (!first_error) first_error = std::move(error);
      return;
    }
    if (measured) {
      latency_ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(took).count());
    }
  }
};

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(u.ru_utime) + seconds(u.ru_stime);
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::int64_t ThreadCpuNs() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<std::int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
}

// The runner's options as function-platform's main sets them.
RunnerOptions ServerRunnerOptions() {
  RunnerOptions options;
  options.encode_for_wire = true;
  return options;
}

// Runs `concurrency` workers: warm-up, then measurement until --duration has
// passed or --requests calls were made. Returns the workers' results and the
// measured wall and CPU time.
template <typename Work>
void Drive(int concurrency, Work work, std::vector<WorkerResult>& results, double& elapsed_s,
           double& cpu_s) {
  const std::int64_t limit = absl::GetFlag(FLAGS_requests);
  Control control(limit);
  results.assign(static_cast<std::size_t>(concurrency), WorkerResult{});
  std::vector<std::thread> threads;
  for (int i = 0; i < concurrency; ++i) {
    threads.emplace_back([&, i] { work(i, control, results[static_cast<std::size_t>(i)]); });
  }
  std::this_thread::sleep_for(absl::ToChronoNanoseconds(absl::GetFlag(FLAGS_warmup)));
  const double cpu0 = CpuSeconds();
  const Clock::time_point t0 = Clock::now();
  control.Set(kMeasure);
  if (limit <= 0) {
    std::this_thread::sleep_for(absl::ToChronoNanoseconds(absl::GetFlag(FLAGS_duration)));
    control.Set(kStop);
  }
  for (std::thread& t : threads) t.join();
  elapsed_s = Seconds(Clock::now() - t0);
  cpu_s = CpuSeconds() - cpu0;
}

struct Report {
  std::string mode;  // "grpc" or "handler"
  std::string target;
  std::string api;
  int concurrency = 0;
  int channels = 0;
  int resources = 0;  // observed composed resources
  int desired = 0;    // desired composed resources from earlier steps
  std::string kind;   // the XR's
  std::size_t request_bytes = 0;
  std::size_t response_bytes = 0;
  double warmup_s = 0;
  double elapsed_s = 0;
  double cpu_s = 0;
  bool cpu_includes_server = true;
  double loadavg = 0;  // 1-minute load average when the run started
  std::vector<WorkerResult> workers;
};

double Percentile(const std::vector<std::int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto n = static_cast<double>(sorted.size());
  const auto rank = static_cast<std::size_t>(std::max(1.0, std::ceil(p * n)));
  return static_cast<double>(sorted[rank - 1]) / 1e3;
}

// Prints the report; returns the process exit status.
int Print(const Report& r) {
  std::vector<std::int64_t> lat;
  std::int64_t errors = 0;
  std::int64_t warmup_errors = 0;
  std::array<double, kSteps.size()> step_cpu_us{};
  std::array<double, kFloorSteps.size()> floor_cpu_us{};
  std::optional<std::string> first_error;
  for (const WorkerResult& w : r.workers) {
    lat.insert(lat.end(), w.latency_ns.begin(), w.latency_ns.end());
    errors += w.errors;
    warmup_errors += w.warmup_errors;
    for (std::size_t i = 0; i < kSteps.size(); ++i) {
      step_cpu_us[i] += static_cast<double>(w.step_cpu_ns[i]) / 1e3;
    }
    for (std::size_t i = 0; i < kFloorSteps.size(); ++i) {
      floor_cpu_us[i] += static_cast<double>(w.floor_cpu_ns[i]) / 1e3;
    }
    if (!first_error && w.first_error) first_error = w.first_error;
  }
  std::sort(lat.begin(), lat.end());
  const auto ok = static_cast<std::int64_t>(lat.size());
  const double ok_d = std::max<double>(1.0, static_cast<double>(ok));
  double sum_ns = 0;
  for (std::int64_t v : lat) sum_ns += static_cast<double>(v);
  const double throughput = r.elapsed_s > 0 ? static_cast<double>(ok) / r.elapsed_s : 0;
  const double mean_us = sum_ns / ok_d / 1e3;
  const double p50 = Percentile(lat, 0.50);
  const double p90 = Percentile(lat, 0.90);
  const double p99 = Percentile(lat, 0.99);
  const double max = lat.empty() ? 0 : static_cast<double>(lat.back()) / 1e3;
  for (double& v : step_cpu_us) v /= ok_d;
  for (double& v : floor_cpu_us) v /= ok_d;
  double handler_us = 0;
  double floor_us = 0;
  for (double v : step_cpu_us) handler_us += v;
  for (double v : floor_cpu_us) floor_us += v;
  const double cpu_per_call_us = r.cpu_s / ok_d * 1e6;
  const double cores_busy = r.elapsed_s > 0 ? r.cpu_s / r.elapsed_s : 0;

  if (absl::GetFlag(FLAGS_json)) {
    nlohmann::json j = {
        {"mode", r.mode},
        {"target", r.target},
        {"api", r.api},
        {"concurrency", r.concurrency},
        {"resources", r.resources},
        {"kind", r.kind},
        {"request_bytes", r.request_bytes},
        {"response_bytes", r.response_bytes},
        {"warmup_seconds", r.warmup_s},
        {"elapsed_seconds", r.elapsed_s},
        {"requests", ok},
        {"errors", errors},
        {"warmup_errors", warmup_errors},
        {"throughput_rps", throughput},
        {"latency_us", {{"p50", p50}, {"p90", p90}, {"p99", p99}, {"max", max}, {"mean", mean_us}}},
        {"cpu_seconds", r.cpu_s},
        {"cpu_us_per_request", cpu_per_call_us},
        {"cpu_includes_server", r.cpu_includes_server},
        {"loadavg_1m", r.loadavg},
        {"cpus", std::thread::hardware_concurrency()},
    };
    if (r.mode == "grpc") j["channels"] = r.channels;
    if (r.mode == "handler") {
      nlohmann::json& steps = j["handler_cpu_us_per_request"];
      for (std::size_t i = 0; i < kSteps.size(); ++i) steps[kSteps[i]] = step_cpu_us[i];
      nlohmann::json& floor = j["floor_cpu_us_per_request"];
      for (std::size_t i = 0; i < kFloorSteps.size(); ++i) {
        floor[kFloorSteps[i]] = floor_cpu_us[i];
      }
      j["handler_cpu_us"] = handler_us;
      j["floor_cpu_us"] = floor_us;
      j["handler_over_floor"] = floor_us > 0 ? handler_us / floor_us : 0;
    }
    if (first_error) j["first_error"] = *first_error;
    fmt::print("{}\n", j.dump(2));
  } else {
    if (r.mode == "grpc") {
      fmt::print("RunFunction over gRPC: {} ({}, plaintext)\n", r.target, r.api);
    } else {
      fmt::print("RunFunction handler alone (decode, Runner::Run, encode, free; no gRPC)\n");
    }
    fmt::print(
        "request:       {}, {} observed + {} desired composed resources, {} bytes "
        "(response {} bytes)\n",
        r.kind, r.resources, r.desired, r.request_bytes, r.response_bytes);
    if (r.mode == "grpc") {
      fmt::print(
          "load:          {} calls in flight on {} channel{}, {:.1f}s warm-up, {:.2f}s "
          "measured\n",
          r.concurrency, r.channels, r.channels == 1 ? "" : "s", r.warmup_s, r.elapsed_s);
    } else {
      fmt::print("load:          {} thread{}, {:.1f}s warm-up, {:.2f}s measured\n", r.concurrency,
                 r.concurrency == 1 ? "" : "s", r.warmup_s, r.elapsed_s);
    }
    fmt::print("requests:      {} ({} errors)\n", ok, errors);
    fmt::print("throughput:    {:.0f} req/s\n", throughput);
    fmt::print("latency (us):  p50 {:.0f}  p90 {:.0f}  p99 {:.0f}  max {:.0f}  mean {:.0f}\n", p50,
               p90, p99, max, mean_us);
    if (r.mode == "handler") {
      fmt::print(
          "handler cpu:   decode {:.0f}  run {:.0f}  encode {:.0f}  free {:.0f}  (us per "
          "request, this thread's CPU time)\n",
          step_cpu_us[0], step_cpu_us[1], step_cpu_us[2], step_cpu_us[3]);
      fmt::print(
          "floor cpu:     decode {:.0f}  encode {:.0f}  free {:.0f}  (us per request: protobuf's "
          "own types, no rendering)\n",
          floor_cpu_us[0], floor_cpu_us[1], floor_cpu_us[2]);
      fmt::print("handler:       {:.0f} us per request, {:.2f}x the floor ({:.0f} us)\n",
                 handler_us, floor_us > 0 ? handler_us / floor_us : 0, floor_us);
    }
    fmt::print("cpu:           {:.2f} cores busy, {:.0f} us per request ({})\n", cores_busy,
               cpu_per_call_us,
               r.mode == "handler"     ? "the handler, this process"
               : r.cpu_includes_server ? "client and server, this process"
                                       : "this client only");
    fmt::print("load average:  {:.2f} at the start (on {} CPUs)\n", r.loadavg,
               std::thread::hardware_concurrency());
    if (warmup_errors > 0) fmt::print("warm-up errors: {}\n", warmup_errors);
    if (first_error) fmt::print("first error:   {}\n", *first_error);
  }
  return errors + warmup_errors > 0 ? 1 : 0;
}

// One call over gRPC, waiting for its end.
grpc::Status Invoke(grpc::GenericStub& stub, const std::string& method,
                    const grpc::ByteBuffer& request, grpc::ByteBuffer* response) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::Status status;
  stub.UnaryCall(&ctx, method, grpc::StubOptions(), &request, response, [&](grpc::Status s) {
    std::lock_guard<std::mutex> lock(mu);
    status = std::move(s);
    done = true;
    cv.notify_one();  // under the lock: the waiter owns cv
  });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done; });
  return status;
}

// Decodes and checks a call's outcome; nullopt when the response is correct.
std::optional<std::string> Check(const grpc::Status& status, grpc::ByteBuffer& response,
                                 const Expected& expected) {
  if (!status.ok()) {
    return Cat("gRPC status ", static_cast<int>(status.error_code()), ": ", status.error_message());
  }
  pb::RunFunctionResponse rsp;
  grpc::ProtoBufferReader reader(&response);
  if (!rsp.ParseFromZeroCopyStream(&reader)) return std::string("cannot decode the response");
  return CheckResponse(rsp, expected);
}

int RunGrpc(const BenchRequest& built, Report& report) {
  std::string target = absl::GetFlag(FLAGS_target);
  const int concurrency = report.concurrency;
  const int channels = std::clamp(absl::GetFlag(FLAGS_channels), 1, concurrency);
  report.channels = channels;

  // The server, unless one is given.
  std::unique_ptr<Registry> registry;
  std::unique_ptr<Runner> runner;
  std::unique_ptr<FunctionServer> server;
  std::unique_ptr<Metrics> metrics;
  if (target.empty()) {
    registry = std::make_unique<Registry>(BuiltinRegistry());
    runner = std::make_unique<Runner>(*registry, ServerRunnerOptions());
    ServerOptions options;
    if (absl::GetFlag(FLAGS_metrics)) {
      metrics = std::make_unique<Metrics>(registry->Kinds());
      options.metrics = metrics.get();
    }
    options.address = "127.0.0.1:0";
    options.insecure = true;
    const auto needed_mib = static_cast<int>(report.request_bytes >> 20) + 2;
    options.max_message_mib = std::clamp(needed_mib, 4, 1024);
    auto started = FunctionServer::Start(*runner, options);
    if (!started.ok()) {
      fmt::print(stderr, "runfunction_bench: cannot start the server: {}\n",
                 std::string(started.status().message()));
      return 2;
    }
    server = *std::move(started);
    target = Cat("127.0.0.1:", server->port());
    report.target = Cat("in-process function-platform server on ", target,
                        metrics != nullptr ? ", with metrics" : "");
  } else {
    report.target = target;
    report.cpu_includes_server = false;
  }

  std::vector<std::unique_ptr<grpc::GenericStub>> stubs;
  for (int i = 0; i < channels; ++i) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(-1);
    args.SetMaxSendMessageSize(-1);
    // A channel of its own per stub: distinct arguments and no shared pool.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("platform.bench.channel", i);
    auto channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
    if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(5))) {
      fmt::print(stderr, "runfunction_bench: cannot connect to {}\n", target);
      return 2;
    }
    stubs.push_back(std::make_unique<grpc::GenericStub>(channel));
  }

  const std::string method =
      Cat("/apiextensions.fn.proto.", report.api, ".FunctionRunnerService/RunFunction");
  // Encoded once; every call sends the same bytes, so the client spends no
  // time encoding.
  const std::string encoded = built.request.SerializeAsString();
  grpc::Slice slice(encoded);
  const grpc::ByteBuffer request(&slice, 1);

  // One call first: it fails fast on a wrong target and gives the size of
  // the response.
  {
    grpc::ByteBuffer response;
    const grpc::Status status = Invoke(*stubs[0], method, request, &response);
    report.response_bytes = response.Length();
    if (auto error = Check(status, response, built.expected)) {
      fmt::print(stderr, "runfunction_bench: the first call failed: {}\n", *error);
      return 1;
    }
  }

  Drive(
      concurrency,
      [&](int i, Control& control, WorkerResult& out) {
        grpc::GenericStub& stub = *stubs[static_cast<std::size_t>(i % channels)];
        const grpc::ByteBuffer mine(request);  // references the same slices
        bool measured = false;
        while (control.Next(&measured)) {
          grpc::ByteBuffer response;
          const Clock::time_point start = Clock::now();
          const grpc::Status status = Invoke(stub, method, mine, &response);
          const Clock::duration took = Clock::now() - start;
          // Latency is the call alone; decoding and checking the response
          // stay in the loop (and in the CPU figures), as for a real client.
          out.Record(measured, took, Check(status, response, built.expected));
        }
      },
      report.workers, report.elapsed_s, report.cpu_s);
  if (server) server->Shutdown(absl::Seconds(5));
  return Print(report);
}

// The response's bytes as the server sends them: map entries in key order.
std::string Serialize(const pb::RunFunctionResponse& rsp) {
  std::string bytes;
  google::protobuf::io::StringOutputStream stream(&bytes);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  rsp.SerializeToCodedStream(&coded);
  coded.Trim();
  return bytes;
}

int RunHandler(const BenchRequest& built, Report& report) {
  const Registry registry = BuiltinRegistry();
  const Runner runner(registry, ServerRunnerOptions());
  const std::string encoded = built.request.SerializeAsString();
  // The request as gRPC hands it to the server, decoded by the server's own
  // DecodeRequest.
  grpc::Slice encoded_slice(encoded);
  const grpc::ByteBuffer encoded_buffer(&encoded_slice, 1);
  report.target = "platform::fn::Runner::Run";
  std::string response_bytes;
  {
    pb::RunFunctionRequest req;
    req.ParseFromString(encoded);
    pb::RunFunctionResponse rsp = runner.Run(req);
    response_bytes = Serialize(rsp);
    report.response_bytes = response_bytes.size();
    // Checked as a client sees it: decoded from the bytes sent.
    pb::RunFunctionResponse sent;
    if (!sent.ParseFromString(response_bytes)) {
      fmt::print(stderr, "runfunction_bench: the first response does not decode\n");
      return 1;
    }
    if (auto error = CheckResponse(sent, built.expected)) {
      fmt::print(stderr, "runfunction_bench: the first call failed: {}\n", *error);
      return 1;
    }
  }
  Drive(
      report.concurrency,
      [&](int, Control& control, WorkerResult& out) {
        bool measured = false;
        std::string bytes;
        std::optional<pb::RunFunctionRequest> req;
        std::optional<pb::RunFunctionResponse> rsp;
        std::string floor_bytes;
        std::optional<pb::RunFunctionResponse> floor_rsp;
        while (control.Next(&measured)) {
          // The server's steps: decode into a message the call owns, run,
          // encode, and free both messages before the call completes.
          std::array<std::int64_t, kSteps.size() + 1> cpu{};
          const Clock::time_point t0 = Clock::now();
          cpu[0] = ThreadCpuNs();
          req.emplace();
          const bool decoded = DecodeRequest(encoded_buffer, *req).ok();
          cpu[1] = ThreadCpuNs();
          rsp.emplace(runner.Run(*req));
          cpu[2] = ThreadCpuNs();
          bytes.clear();
          {
            google::protobuf::io::StringOutputStream stream(&bytes);
            google::protobuf::io::CodedOutputStream coded(&stream);
            coded.SetSerializationDeterministic(true);
            rsp->SerializeToCodedStream(&coded);
          }
          cpu[3] = ThreadCpuNs();
          const Clock::time_point t1 = Clock::now();
          // Checking is not part of the handler: it is left out of the times.
          std::optional<std::string> error;
          if (!decoded) {
            error = "cannot decode the request";
          } else if (pb::RunFunctionResponse sent; !sent.ParseFromString(bytes)) {
            error = "cannot decode the response";
          } else {
            error = CheckResponse(sent, built.expected);
          }
          const Clock::time_point t2 = Clock::now();
          const std::int64_t free_start = ThreadCpuNs();
          req.reset();
          rsp.reset();
          cpu[4] = cpu[3] + (ThreadCpuNs() - free_start);
          const Clock::time_point t3 = Clock::now();

          // The floor for the same bytes. The response message is built
          // from the bytes the handler sent, outside the times.
          std::array<std::int64_t, kFloorSteps.size() + 1> floor{};
          floor_rsp.emplace();
          floor_rsp->ParseFromString(response_bytes);
          floor[0] = ThreadCpuNs();
          req.emplace();
          req->ParseFromString(encoded);
          floor[1] = ThreadCpuNs();
          floor_bytes.clear();
          {
            google::protobuf::io::StringOutputStream stream(&floor_bytes);
            google::protobuf::io::CodedOutputStream coded(&stream);
            coded.SetSerializationDeterministic(true);
            floor_rsp->SerializeToCodedStream(&coded);
          }
          floor[2] = ThreadCpuNs();
          req.reset();
          floor_rsp.reset();
          floor[3] = ThreadCpuNs();
          if (measured && !error) {
            for (std::size_t i = 0; i < kSteps.size(); ++i) {
              out.step_cpu_ns[i] += cpu[i + 1] - cpu[i];
            }
            for (std::size_t i = 0; i < kFloorSteps.size(); ++i) {
              out.floor_cpu_ns[i] += floor[i + 1] - floor[i];
            }
          }
          out.Record(measured, (t1 - t0) + (t3 - t2), std::move(error));
        }
      },
      report.workers, report.elapsed_s, report.cpu_s);
  return Print(report);
}

// --serve-floor: the floor of RunHandler, served the way function-platform
// serves (raw byte buffers; the server's own DecodeRequest, EncodeResponse
// and ConfigureServerBuilder), so that its CPU per call is what any gRPC server of
// these bytes with protobuf's generated types on grpc++ spends: the decode
// of the request, the encode of the response, gRPC's own work per call, and
// no rendering.
class FloorService final : public pb::FunctionRunnerService::WithRawCallbackMethod_RunFunction<
                               pb::FunctionRunnerService::Service> {
 public:
  explicit FloorService(pb::RunFunctionResponse response) : response_(std::move(response)) {}

  grpc::ServerUnaryReactor* RunFunction(grpc::CallbackServerContext* ctx,
                                        const grpc::ByteBuffer* request,
                                        grpc::ByteBuffer* response) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    pb::RunFunctionRequest req;
    grpc::Status status = DecodeRequest(*request, req);
    if (status.ok()) status = EncodeResponse(response_, response);
    reactor->Finish(status);
    return reactor;
  }

 private:
  const pb::RunFunctionResponse response_;
};

int ServeFloor(const BenchRequest& built, const std::string& kind, const std::string& address) {
  // Stop signals are taken by sigwait below, in no thread of gRPC's.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  const Registry registry = BuiltinRegistry();
  const Runner runner(registry, ServerRunnerOptions());
  pb::RunFunctionRequest request = built.request;
  pb::RunFunctionResponse sent;
  if (!sent.ParseFromString(Serialize(runner.Run(request)))) {
    fmt::print(stderr, "runfunction_bench: the handler's response does not decode\n");
    return 1;
  }
  if (auto error = CheckResponse(sent, built.expected)) {
    fmt::print(stderr, "runfunction_bench: the handler's response is wrong: {}\n", *error);
    return 1;
  }
  FloorService service(std::move(sent));
  grpc::ServerBuilder builder;
  // As the in-process server: room for the request, 4 MiB at least.
  const int max_mib = std::clamp(static_cast<int>(built.request.ByteSizeLong() >> 20) + 2, 4, 1024);
  ConfigureServerBuilder(builder, max_mib * 1024 * 1024);
  builder.AddListeningPort(address, grpc::InsecureServerCredentials());
  builder.RegisterService(&service);
  const std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) {
    fmt::print(stderr, "runfunction_bench: --serve-floor: cannot listen on {}\n", address);
    return 2;
  }
  fmt::print(stderr, "runfunction_bench: serving the floor of {} on {}\n", kind, address);
  int sig = 0;
  sigwait(&stop, &sig);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  return 0;
}

// absl spells flags with underscores; accept dashes too.
std::vector<char*> NormalizeFlags(int argc, char** argv, std::vector<std::string>& storage) {
  storage.assign(argv, argv + argc);
  for (std::size_t i = 1; i < storage.size(); ++i) {
    std::string& arg = storage[i];
    if (arg == "--") break;
    if (arg.size() < 3 || arg[0] != '-') continue;
    const std::size_t start = arg[1] == '-' ? 2 : 1;
    const std::size_t end = std::min(arg.find('='), arg.size());
    for (std::size_t k = start; k < end; ++k) {
      if (arg[k] == '-') arg[k] = '_';
    }
  }
  std::vector<char*> out;
  for (std::string& s : storage) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

int Main(int argc, char** argv) {
  // As function-platform's main does.
  if (const std::string untuned = TuneAllocator(argv); !untuned.empty()) {
    fmt::print(stderr, "runfunction_bench: malloc: glibc's default per-thread cache: {}\n",
               untuned);
  }
  DisableLockOrderChecks();
  absl::SetProgramUsageMessage(
      "Load for function-platform's RunFunction: starts the server in this process (or drives "
      "--target) and reports throughput and latency.\n"
      "Example: runfunction_bench --concurrency 16 --duration 20s [--json]");
  std::vector<std::string> storage;
  std::vector<char*> args = NormalizeFlags(argc, argv, storage);
  absl::ParseCommandLine(static_cast<int>(args.size()) - 1, args.data());

  // Errors the handler logs go to stderr, away from --json output.
  if (absl::Status s = SetUpLogging("text", false); !s.ok()) {
    fmt::print(stderr, "runfunction_bench: {}\n", std::string(s.message()));
    return 2;
  }

  Report report;
  report.concurrency = absl::GetFlag(FLAGS_concurrency);
  report.resources = absl::GetFlag(FLAGS_resources);
  report.api = absl::GetFlag(FLAGS_api);
  report.warmup_s = absl::ToDoubleSeconds(absl::GetFlag(FLAGS_warmup));
  if (double load[1]; getloadavg(load, 1) == 1) report.loadavg = load[0];
  std::string problem;
  if (report.concurrency < 1) problem = "--concurrency must be at least 1";
  if (report.resources < 1) problem = "--resources must be at least 1";
  if (report.api != "v1" && report.api != "v1beta1") problem = "--api must be v1 or v1beta1";
  if (absl::GetFlag(FLAGS_requests) <= 0 && absl::GetFlag(FLAGS_duration) <= absl::ZeroDuration()) {
    problem = "--duration must be positive (or set --requests)";
  }
  if (absl::GetFlag(FLAGS_warmup) < absl::ZeroDuration()) problem = "--warmup must not be negative";
  if (absl::GetFlag(FLAGS_in_process_only) && !absl::GetFlag(FLAGS_target).empty()) {
    problem = "--in-process-only and --target exclude each other";
  }
  if (!problem.empty()) {
    fmt::print(stderr, "runfunction_bench: {}\n", problem);
    return 2;
  }

  BenchRequest built;
  if (const std::string file = absl::GetFlag(FLAGS_request); !file.empty()) {
    absl::StatusOr<BenchRequest> read = ReadRequest(file, absl::GetFlag(FLAGS_min_desired));
    if (!read.ok()) {
      fmt::print(stderr, "runfunction_bench: --request: {}\n",
                 std::string(read.status().message()));
      return 2;
    }
    built = *std::move(read);
    report.resources = built.request.observed().resources_size();
  } else {
    built = MakeRequest(report.resources);
  }
  report.request_bytes = built.request.ByteSizeLong();
  report.desired = built.request.desired().resources_size();
  {
    const auto& fields = built.request.observed().composite().resource().fields();
    const auto kind = fields.find("kind");
    report.kind = kind != fields.end() ? kind->second.string_value() : "(no kind)";
  }
  if (const std::string address = absl::GetFlag(FLAGS_serve_floor); !address.empty()) {
    return ServeFloor(built, report.kind, address);
  }
  if (absl::GetFlag(FLAGS_in_process_only)) {
    report.mode = "handler";
    return RunHandler(built, report);
  }
  report.mode = "grpc";
  return RunGrpc(built, report);
}

}  // namespace
}  // namespace platform::fn::bench

int main(int argc, char** argv) { return platform::fn::bench::Main(argc, argv); }
