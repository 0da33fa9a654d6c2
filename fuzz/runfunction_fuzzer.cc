// libFuzzer target over the request handler.
//
// Each input is a binary RunFunctionRequest, as Crossplane sends it. Inputs
// that do not parse are skipped; every other input goes through the Runner
// with the builtin renderers, and the response must keep the protocol
// obligations the Runner and the SDK promise for *any* request:
//
//   - meta.tag echoes the request's tag (empty when meta is absent);
//   - meta.ttl is set, between 1s and 24h, to the configured TTL or the
//     step input's responseTTL;
//   - at most one FATAL result, and a FATAL result has a message;
//   - every desired composed resource a renderer emitted is present and has
//     no `status` (Crossplane owns composed resources' status);
//   - every desired composed resource that was in the request and that no
//     renderer emitted passes through byte for byte, and nothing else appears;
//   - the desired XR keeps everything but the status fields a renderer set;
//     the context keeps every key it came with;
//   - after a FATAL result, the desired state and the context pass through
//     unchanged;
//   - the response serializes and parses back (Crossplane would accept it);
//   - parsed as the server parses it (the observed and required resources'
//     bodies deferred, function/sdk/deferred.h), the request parses too and
//     gets the same response, byte for byte.
//
// A violation prints what broke and traps, so libFuzzer saves the input.
// ASan, UBSan and LeakSanitizer catch the memory errors and leaks.
//
// To see what the handler answers for an input (a seed or a crash artifact):
//   RUNFUNCTION_FUZZER_DUMP=1 runfunction_fuzzer <file>
#include <fmt/format.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/stubs/logging.h>
#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "absl/time/time.h"
#include "function/registry.h"
#include "function/renderers/builtin.h"
#include "function/runner.h"
#include "function/sdk/deferred.h"
#include "function/sdk/proto.h"
#include "fuzz/fuzz_check.h"

namespace {

namespace fn = ::platform::fn;
namespace pb = ::platform::fn::pb;
using google::protobuf::Struct;

// The names of the desired composed resources the renderers set during the
// current call. The fuzzer is single-threaded.
std::set<std::string>& Emitted() {
  static std::set<std::string> names;
  return names;
}

// Delegates to a builtin renderer and records which desired composed
// resources it set, so the checks can tell emitted resources from
// pass-through ones.
class Recording : public fn::Renderer {
 public:
  explicit Recording(const fn::Renderer* inner) : inner_(inner) {}
  absl::Status Render(const fn::sdk::Request& req, fn::sdk::Response& rsp) const override {
    absl::Status s = inner_->Render(req, rsp);
    for (const auto& [name, unused] : rsp.desired()) Emitted().insert(name);
    return s;
  }

 private:
  const fn::Renderer* inner_;
};

struct Handler {
  fn::Registry builtin = fn::BuiltinRegistry();
  fn::Registry recording;
  fn::RunnerOptions options;
  std::unique_ptr<fn::Runner> runner;

  Handler() {
    for (const std::string& kind : builtin.Kinds()) {
      recording.Add(kind, std::make_unique<Recording>(builtin.Find(kind)));
    }
    // As the server runs: composed resources encoded straight to wire
    // bytes; the checks read the response as Crossplane decodes it.
    options.encode_for_wire = true;
    runner = std::make_unique<fn::Runner>(recording, options);
  }
};

const Handler& GetHandler() {
  static const Handler* handler = new Handler();  // never destroyed: no exit-time ordering
  return *handler;
}

// Deterministic bytes of a message: equal bytes mean equal messages, NaNs
// and unknown fields included (MessageDifferencer treats NaN != NaN).
std::string Bytes(const google::protobuf::Message& m) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    m.SerializeToCodedStream(&coded);  // sizes computed afresh
  }
  return out;
}

bool Same(const google::protobuf::Message& a, const google::protobuf::Message& b) {
  a.ByteSizeLong();
  b.ByteSizeLong();
  return Bytes(a) == Bytes(b);
}

// A Struct without its top-level `status`.
Struct WithoutStatus(const Struct& s) {
  Struct out = s;
  out.mutable_fields()->erase("status");
  return out;
}

// The step input's responseTTL when it is a duration, whatever its value.
std::optional<absl::Duration> InputTtl(const pb::RunFunctionRequest& req) {
  if (!req.has_input()) return std::nullopt;
  auto it = req.input().fields().find("responseTTL");
  if (it == req.input().fields().end() || !it->second.has_string_value()) return std::nullopt;
  absl::Duration ttl;
  if (!absl::ParseDuration(it->second.string_value(), &ttl)) return std::nullopt;
  return ttl;
}

void CheckResponse(const Handler& h, const pb::RunFunctionRequest& req,
                   const pb::RunFunctionResponse& rsp) {
  FUZZ_CHECK(rsp.meta().tag() == req.meta().tag(), "meta.tag must echo the request's tag");

  FUZZ_CHECK(rsp.meta().has_ttl(), "meta.ttl must be set");
  const google::protobuf::Duration& d = rsp.meta().ttl();
  FUZZ_CHECK(d.nanos() >= 0 && d.nanos() < 1'000'000'000, "meta.ttl must be a valid Duration");
  const absl::Duration ttl = absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
  // The range the runner documents for input.responseTTL ("must be a
  // duration between 1s and 24h"); the configured default is within it.
  FUZZ_CHECK(ttl >= absl::Seconds(1) && ttl <= absl::Hours(24),
             fmt::format("meta.ttl must be between 1s and 24h, not {}", absl::FormatDuration(ttl)));
  const std::optional<absl::Duration> input_ttl = InputTtl(req);
  FUZZ_CHECK(
      ttl == h.options.ttl || (input_ttl && ttl == absl::Trunc(*input_ttl, absl::Nanoseconds(1))),
      fmt::format("meta.ttl {} must be the configured TTL or the input's responseTTL",
                  absl::FormatDuration(ttl)));

  int fatals = 0;
  for (const pb::Result& r : rsp.results()) {
    FUZZ_CHECK(r.severity() != pb::SEVERITY_UNSPECIFIED, "every result must have a severity");
    if (r.severity() == pb::SEVERITY_FATAL) {
      ++fatals;
      FUZZ_CHECK(!r.message().empty(), "a FATAL result must say what is wrong");
    }
  }
  FUZZ_CHECK(fatals <= 1, "at most one FATAL result");
  const bool fatal = fatals == 1;

  const auto& in = req.desired().resources();
  const auto& out = rsp.desired().resources();
  const std::set<std::string>& emitted = Emitted();

  if (fatal) {
    // Nothing a renderer built survives a FATAL: the pipeline's desired state
    // and context pass through exactly.
    FUZZ_CHECK(Same(rsp.desired(), req.desired()),
               "after a FATAL result the desired state passes through unchanged");
    FUZZ_CHECK(rsp.has_context() == req.has_context() &&
                   (!req.has_context() || Same(rsp.context(), req.context())),
               "after a FATAL result the context passes through unchanged");
    return;
  }

  for (const std::string& name : emitted) {
    auto it = out.find(name);
    FUZZ_CHECK(it != out.end(), "desired.resources[" + name + "] was emitted but is missing");
    FUZZ_CHECK(!it->second.resource().fields().contains("status"),
               "desired.resources[" + name + "] was emitted with a status");
  }
  for (const auto& [name, r] : in) {
    if (emitted.contains(name)) continue;
    auto it = out.find(name);
    FUZZ_CHECK(it != out.end(), "desired.resources[" + name + "] from the request was dropped");
    FUZZ_CHECK(Same(it->second, r), "desired.resources[" + name + "] from the request was changed");
  }
  for (const auto& [name, unused] : out) {
    FUZZ_CHECK(in.contains(name) || emitted.contains(name),
               "desired.resources[" + name + "] appeared from nowhere");
  }

  // The XR: renderers may set status fields, readiness and connection
  // details; everything else is the request's.
  const pb::Resource& xr_in = req.desired().composite();
  const pb::Resource& xr_out = rsp.desired().composite();
  FUZZ_CHECK(Same(WithoutStatus(xr_out.resource()), WithoutStatus(xr_in.resource())),
             "desired.composite changed outside status");
  auto status_in = xr_in.resource().fields().find("status");
  if (status_in != xr_in.resource().fields().end() && status_in->second.has_struct_value()) {
    auto status_out = xr_out.resource().fields().find("status");
    FUZZ_CHECK(
        status_out != xr_out.resource().fields().end() && status_out->second.has_struct_value(),
        "desired.composite.status from the request was dropped");
    for (const auto& [key, unused] : status_in->second.struct_value().fields()) {
      FUZZ_CHECK(status_out->second.struct_value().fields().contains(key),
                 "desired.composite.status." + key + " from the request was dropped");
    }
  }
  for (const auto& [key, unused] : xr_in.connection_details()) {
    FUZZ_CHECK(xr_out.connection_details().contains(key),
               "desired.composite connection detail " + key + " was dropped");
  }

  if (req.has_context()) {
    FUZZ_CHECK(rsp.has_context(), "the context was dropped");
    for (const auto& [key, unused] : req.context().fields()) {
      FUZZ_CHECK(rsp.context().fields().contains(key), "context." + key + " was dropped");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  spdlog::set_level(spdlog::level::off);
  // Invalid UTF-8 in a string field makes parsing fail, with a log line each
  // time; the fuzzer meets it constantly.
  google::protobuf::SetLogHandler(nullptr);
  GetHandler();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // scripts/fuzz.sh sets this while it runs the seeds alone: a seed that
  // does not parse would test nothing.
  static const bool seeds_must_parse = std::getenv("RUNFUNCTION_FUZZER_SEEDS") != nullptr;
  pb::RunFunctionRequest original;
  if (!original.ParseFromArray(data, static_cast<int>(size))) {
    FUZZ_CHECK(!seeds_must_parse, "a seed must parse as a RunFunctionRequest");
    return 0;
  }

  const Handler& h = GetHandler();
  Emitted().clear();
  pb::RunFunctionRequest req = original;  // Run moves the desired state and context out
  const pb::RunFunctionResponse sent = h.runner->Run(req);
  std::string wire;
  FUZZ_CHECK(sent.SerializeToString(&wire), "the response must serialize");
  pb::RunFunctionResponse rsp;
  FUZZ_CHECK(rsp.ParseFromString(wire), "the response must parse back");

  static const bool dump = std::getenv("RUNFUNCTION_FUZZER_DUMP") != nullptr;
  if (dump) std::fprintf(stderr, "--- response\n%s", rsp.DebugString().c_str());

  CheckResponse(h, original, rsp);

  std::string deferred_wire(reinterpret_cast<const char*>(data), size);
  if (fn::sdk::DeferResourceBodies(deferred_wire) > 0) {
    pb::RunFunctionRequest deferred;
    FUZZ_CHECK(deferred.ParseFromString(deferred_wire),
               "a request that parses must parse deferred");
    Emitted().clear();
    FUZZ_CHECK(Bytes(h.runner->Run(deferred)) == Bytes(sent),
               "the request parsed with deferred bodies must get the same response");
  }
  return 0;
}
