#include "function/runner.h"

#include <spdlog/spdlog.h>

#include <exception>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "function/sdk/errors.h"
#include "function/sdk/strings.h"

namespace platform::fn {
namespace {

// The longest FATAL message sent. Crossplane copies it into an event and the
// XR's Synced condition, and an object in etcd is at most 1.5 MiB, so a
// message that quotes a huge value from the request is cut.
constexpr std::size_t kMaxMessageBytes = 4096;
// The longest value from the request quoted in a log line or a message.
constexpr std::size_t kMaxQuotedBytes = 256;

// `s` cut to at most `max` bytes at a UTF-8 character boundary, with a note
// of how long it was.
std::string Bounded(std::string s, std::size_t max) {
  if (s.size() <= max) return s;
  const std::size_t full = s.size();
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  s.resize(cut);
  sdk::Append(s, "... (truncated, ", full, " bytes)");
  return s;
}

// A name for the XR in log lines and messages: namespace/name, or name.
std::string XrName(const sdk::Fields& xr) {
  std::string name = xr.String("metadata.name", "").value_or("");
  std::string ns = xr.String("metadata.namespace", "").value_or("");
  return Bounded(ns.empty() ? name : sdk::Cat(ns, "/", name), kMaxQuotedBytes);
}

// The step input's responseTTL, a Go-style duration such as "60s" or "5m".
absl::StatusOr<absl::Duration> ResponseTtl(const sdk::Request& request, absl::Duration fallback) {
  const sdk::Fields input(request.Input(), "input");
  absl::StatusOr<std::string> text = input.String("responseTTL", "");
  if (!text.ok()) return text.status();
  if (text->empty()) return fallback;
  absl::Duration ttl;
  if (!absl::ParseDuration(*text, &ttl) || ttl < absl::Seconds(1) || ttl > absl::Hours(24)) {
    return sdk::FieldError("input.responseTTL",
                           fmt::format("must be a duration between 1s and 24h such as 60s, not "
                                       "\"{}\"",
                                       Bounded(*text, kMaxQuotedBytes)));
  }
  return ttl;
}

}  // namespace

Runner::Runner(const Registry& registry, RunnerOptions options)
    : registry_(&registry), options_(options) {}

pb::RunFunctionResponse Runner::Run(pb::RunFunctionRequest& req) const noexcept {
  std::string kind;
  std::string name;
  try {
    sdk::Request request(req);
    const sdk::Fields xr = request.Composite();
    absl::StatusOr<std::string> api_version = xr.String("apiVersion");
    absl::StatusOr<std::string> k = xr.String("kind");
    if (!api_version.ok() || !k.ok()) {
      const absl::Status& s = !api_version.ok() ? api_version.status() : k.status();
      std::string msg = Bounded(sdk::Cat("observed.composite.resource.", std::string(s.message())),
                                kMaxMessageBytes);
      spdlog::error("RunFunction tag={}: {}", Bounded(req.meta().tag(), kMaxQuotedBytes), msg);
      return sdk::Response::FatalOnly(req, options_.ttl, std::move(msg));
    }
    // `kind` is quoted in logs and messages; the lookup uses the full value.
    kind = Bounded(*k, kMaxQuotedBytes);
    name = XrName(xr);
    spdlog::debug("RunFunction kind={} name={} tag={}", kind, name, req.meta().tag());

    absl::StatusOr<absl::Duration> ttl = ResponseTtl(request, options_.ttl);
    if (!ttl.ok()) {
      std::string msg = Bounded(std::string(ttl.status().message()), kMaxMessageBytes);
      spdlog::error("RunFunction kind={} name={}: {}", kind, name, msg);
      return sdk::Response::FatalOnly(req, options_.ttl, std::move(msg));
    }

    const Renderer* renderer = registry_->Find(*k);
    if (renderer == nullptr) {
      const std::vector<std::string> kinds = registry_->Kinds();
      std::string msg =
          fmt::format("no renderer for XR kind {} ({}); this function renders {}", kind,
                      Bounded(*std::move(api_version), kMaxQuotedBytes),
                      kinds.empty() ? "no kinds" : fmt::format("{}", fmt::join(kinds, ", ")));
      spdlog::error("RunFunction kind={} name={}: {}", kind, name, msg);
      return sdk::Response::FatalOnly(req, *ttl, std::move(msg));
    }

    sdk::Response response(req, *ttl);
    if (options_.encode_for_wire) response.EncodeResourcesForWire();
    absl::Status rendered = renderer->Render(request, response);
    if (!rendered.ok()) {
      std::string msg = Bounded(std::string(rendered.message()), kMaxMessageBytes);
      spdlog::error("RunFunction kind={} name={}: {}", kind, name, msg);
      // A policy violation also says why in a condition the claim shows.
      if (std::optional<sdk::ErrorCondition> c = sdk::ConditionOf(rendered)) {
        pb::Condition condition;
        condition.set_type(std::move(c->type));
        condition.set_status(pb::STATUS_CONDITION_FALSE);
        condition.set_reason(std::move(c->reason));
        condition.set_message(msg);
        condition.set_target(pb::TARGET_COMPOSITE_AND_CLAIM);
        return sdk::Response::FatalOnly(req, *ttl, std::move(msg), std::move(condition));
      }
      return sdk::Response::FatalOnly(req, *ttl, std::move(msg));
    }
    absl::StatusOr<pb::RunFunctionResponse> rsp = std::move(response).Finish();
    if (!rsp.ok()) {
      std::string msg = Bounded(std::string(rsp.status().message()), kMaxMessageBytes);
      spdlog::error("RunFunction kind={} name={}: {}", kind, name, msg);
      return sdk::Response::FatalOnly(req, *ttl, std::move(msg));
    }
    return *std::move(rsp);
  } catch (const std::exception& e) {
    try {
      std::string msg = Bounded(
          sdk::Cat("internal error rendering ", kind, " ", name, ": ", e.what()), kMaxMessageBytes);
      spdlog::error("RunFunction kind={} name={}: {}", kind, name, msg);
      return sdk::Response::FatalOnly(req, options_.ttl, std::move(msg));
    } catch (...) {
    }
  } catch (...) {
    // Not a std::exception: nothing to say about it but that it happened. The
    // response still echoes the tag and passes the desired state through.
    try {
      std::string msg =
          sdk::Cat("internal error rendering ", kind, " ", name, ": unknown exception");
      spdlog::error("RunFunction kind={} name={}: {}", kind, name, msg);
      return sdk::Response::FatalOnly(req, options_.ttl, std::move(msg));
    } catch (...) {
    }
  }
  // Out of memory while building even the error: a response with the tag and
  // a FATAL result is the most that can be said.
  pb::RunFunctionResponse rsp;
  try {
    rsp.mutable_meta()->set_tag(req.meta().tag());
    rsp.mutable_meta()->mutable_ttl()->set_seconds(absl::ToInt64Seconds(options_.ttl));
    pb::Result* r = rsp.add_results();
    r->set_severity(pb::SEVERITY_FATAL);
    r->set_message("internal error");
  } catch (...) {
  }
  return rsp;
}

}  // namespace platform::fn
