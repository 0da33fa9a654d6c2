#include "function/runner.h"

#include <spdlog/spdlog.h>

#include <exception>
#include <string>

#include "function/sdk/strings.h"

namespace platform::fn {
namespace {

// A name for the XR in log lines and messages: namespace/name, or name.
std::string XrName(const sdk::Fields& xr) {
  std::string name = xr.String("metadata.name", "").value_or("");
  std::string ns = xr.String("metadata.namespace", "").value_or("");
  return ns.empty() ? name : sdk::Cat(ns, "/", name);
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
      std::string msg = sdk::Cat("observed.composite.resource.", std::string(s.message()));
      spdlog::error("RunFunction tag={}: {}", req.meta().tag(), msg);
      return sdk::Response::FatalOnly(req, options_.ttl, std::move(msg));
    }
    kind = *std::move(k);
    name = XrName(xr);
    spdlog::debug("RunFunction kind={} name={} tag={}", kind, name, req.meta().tag());

    const Renderer* renderer = registry_->Find(kind);
    if (renderer == nullptr) {
      std::string msg = fmt::format("no renderer for XR kind {} ({}); this function renders {}",
                                    kind, *api_version, fmt::join(registry_->Kinds(), ", "));
      spdlog::error("RunFunction kind={} name={}: {}", kind, name, msg);
      return sdk::Response::FatalOnly(req, options_.ttl, std::move(msg));
    }

    sdk::Response response(req, options_.ttl);
    absl::Status rendered = renderer->Render(request, response);
    if (!rendered.ok()) {
      std::string msg = std::string(rendered.message());
      spdlog::error("RunFunction kind={} name={}: {}", kind, name, msg);
      return sdk::Response::FatalOnly(req, options_.ttl, std::move(msg));
    }
    absl::StatusOr<pb::RunFunctionResponse> rsp = std::move(response).Finish();
    if (!rsp.ok()) {
      std::string msg = std::string(rsp.status().message());
      spdlog::error("RunFunction kind={} name={}: {}", kind, name, msg);
      return sdk::Response::FatalOnly(req, options_.ttl, std::move(msg));
    }
    return *std::move(rsp);
  } catch (const std::exception& e) {
    spdlog::error("RunFunction kind={} name={}: internal error: {}", kind, name, e.what());
    try {
      return sdk::Response::FatalOnly(
          req, options_.ttl,
          sdk::Cat("internal error rendering ", kind, " ", name, ": ", e.what()));
    } catch (...) {
    }
  } catch (...) {
  }
  // Out of memory while building even the error: an empty response with a
  // FATAL result is the most that can be said.
  pb::RunFunctionResponse rsp;
  rsp.add_results()->set_severity(pb::SEVERITY_FATAL);
  return rsp;
}

}  // namespace platform::fn
