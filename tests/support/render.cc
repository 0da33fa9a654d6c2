#include "tests/support/render.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

namespace platform::testing {

YAML::Node At(const YAML::Node& node, std::initializer_list<const char*> path) {
  YAML::Node cur = YAML::Clone(node);
  for (const char* key : path) {
    if (!cur.IsMap() || !cur[key]) return YAML::Node(YAML::NodeType::Undefined);
    cur = cur[key];
  }
  return cur;
}

std::string Str(const YAML::Node& node, std::initializer_list<const char*> path) {
  YAML::Node n = At(node, path);
  return n.IsScalar() ? n.as<std::string>() : "";
}

bool IsPipelineResult(const YAML::Node& result) {
  return Str(result, {"message"}).starts_with("Pipeline step \"");
}

Rendered ParseRendered(const std::string& yaml_stream) {
  Rendered r;
  for (const YAML::Node& doc : YAML::LoadAll(yaml_stream)) {
    if (!doc.IsMap()) continue;
    if (Str(doc, {"apiVersion"}) == "render.crossplane.io/v1beta1") {
      if (Str(doc, {"kind"}) == "Result") {
        (IsPipelineResult(doc) ? r.results : r.events).push_back(doc);
      }
    } else if (std::string name =
                   Str(doc, {"metadata", "annotations", "crossplane.io/composition-resource-name"});
               !name.empty()) {
      r.resources[name] = doc;
    } else {
      r.xr = doc;
      ++r.xr_documents;
    }
  }
  return r;
}

std::vector<std::string> SplitDocuments(const std::string& yaml_stream) {
  std::vector<std::string> docs;
  std::string current;
  std::size_t pos = 0;
  while (pos < yaml_stream.size()) {
    std::size_t end = yaml_stream.find('\n', pos);
    if (end == std::string::npos) end = yaml_stream.size();
    const std::string line = yaml_stream.substr(pos, end - pos);
    if (line == "---") {
      if (current.find_first_not_of(" \n") != std::string::npos) docs.push_back(current);
      current.clear();
    } else {
      current += line + "\n";
    }
    pos = end + 1;
  }
  if (current.find_first_not_of(" \n") != std::string::npos) docs.push_back(current);
  return docs;
}

std::string ApiObjects(const std::string& yaml_stream, bool include_xr) {
  std::string out;
  for (const std::string& doc : SplitDocuments(yaml_stream)) {
    const YAML::Node node = YAML::Load(doc);
    if (Str(node, {"apiVersion"}) == "render.crossplane.io/v1beta1") continue;
    const bool composed =
        !Str(node, {"metadata", "annotations", "crossplane.io/composition-resource-name"}).empty();
    if (!composed && !include_xr) continue;
    out += "---\n" + doc;
  }
  return out;
}

std::string CanonicalRender(const std::string& yaml_stream) {
  std::string objects;
  std::string results;
  std::vector<std::string> events;
  for (const std::string& doc : SplitDocuments(yaml_stream)) {
    const YAML::Node node = YAML::Load(doc);
    if (Str(node, {"apiVersion"}) != "render.crossplane.io/v1beta1" ||
        Str(node, {"kind"}) != "Result") {
      objects += "---\n" + doc;
    } else if (IsPipelineResult(node)) {
      results += "---\n" + doc;
    } else {
      events.push_back(doc);
    }
  }
  std::sort(events.begin(), events.end());
  std::string out = objects + results;
  for (const std::string& e : events) out += "---\n" + e;
  return out;
}

std::string FatalMessage(const RunResult& render) {
  const std::string marker = "returned a fatal result: ";
  const std::size_t at = render.err.find(marker);
  if (at == std::string::npos) return "";
  std::string message = render.err.substr(at + marker.size());
  while (!message.empty() && message.back() == '\n') message.pop_back();
  return message;
}

std::string Tool(const char* env) {
  const char* v = std::getenv(env);
  return v != nullptr ? v : "";
}

std::string CrossplaneCore() { return CROSSPLANE_CORE_BIN; }

std::string SeedCrossplaneSchemas(const std::string& cache_dir, const std::string& crds_dir,
                                  std::string& error) {
  namespace fs = std::filesystem;
  if (CrossplaneCore().empty()) {
    error = "CROSSPLANE_CORE_BIN is empty: configure with -DCROSSPLANE_CORE_BIN";
    return "";
  }
  const RunResult v = RunCommand({CrossplaneCore(), "--version"});
  std::string version = v.out.substr(0, v.out.find('\n'));
  if (v.exit_code != 0 || !version.starts_with("v")) {
    error = CrossplaneCore() + " --version: " + v.out + v.err;
    return "";
  }
  const std::string image = "xpkg.crossplane.io/crossplane/crossplane:" + version;
  const fs::path to =
      fs::path(cache_dir) / "xpkg.crossplane.io/crossplane" / ("crossplane@" + version);
  std::error_code ec;
  fs::create_directories(to, ec);
  for (auto it = fs::directory_iterator(crds_dir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    fs::copy_file(it->path(), to / it->path().filename(), fs::copy_options::overwrite_existing, ec);
    if (ec) break;
  }
  if (ec) {
    error = "cannot seed " + to.string() + " from " + crds_dir + ": " + ec.message();
    return "";
  }
  return image;
}

std::string XrdFor(const std::string& composition) {
  namespace fs = std::filesystem;
  const fs::path c(composition);
  if (c.parent_path().filename() != "compositions") return "";
  const fs::path xrd = c.parent_path().parent_path() / "xrds" / c.filename();
  return fs::exists(xrd) ? xrd.string() : "";
}

FunctionUnderTest::FunctionUnderTest(const std::string& binary) {
  const int port = FreePort();
  log_ = dir_.path() + "/function.log";
  process_ = std::make_unique<Background>(
      std::vector<std::string>{binary, "--insecure", "--debug", "--address",
                               "127.0.0.1:" + std::to_string(port)},
      log_);
  ok_ = WaitForPort(port, std::chrono::seconds(10));
  WriteFunctions(port);
}

FunctionUnderTest::FunctionUnderTest(int port) {
  log_ = dir_.path() + "/function.log";
  ok_ = WaitForPort(port, std::chrono::seconds(60));
  WriteFunctions(port);
}

void FunctionUnderTest::WriteFunctions(int port) {
  functions_ = dir_.Write("functions.yaml", R"(apiVersion: pkg.crossplane.io/v1
kind: Function
metadata:
  name: terraforming-function-platform
  annotations:
    render.crossplane.io/runtime: Development
    render.crossplane.io/runtime-development-target: 127.0.0.1:)" +
                                                std::to_string(port) + R"(
spec:
  package: xpkg.crossplane.io/terraforming/function-platform:v0.1.0
)");
}

FunctionUnderTest::~FunctionUnderTest() = default;

RunResult FunctionUnderTest::Render(const std::string& xr, const std::string& composition,
                                    const std::vector<std::string>& extra,
                                    const std::string& xrd) const {
  if (CrossplaneCore().empty()) {
    RunResult r;
    r.err =
        "CROSSPLANE_CORE_BIN is empty: configure with "
        "-DCROSSPLANE_CORE_BIN=$(scripts/tools.sh crossplane-core) (the Makefile does), the "
        "Crossplane core whose `internal render` crossplane composition render runs";
    return r;
  }
  std::vector<std::string> argv = {Tool("CROSSPLANE"),
                                   "composition",
                                   "render",
                                   xr,
                                   composition,
                                   functions_,
                                   "--include-function-results",
                                   "--timeout=60s",
                                   "--crossplane-binary=" + CrossplaneCore()};
  if (const std::string x = xrd.empty() ? XrdFor(composition) : xrd; !x.empty()) {
    argv.push_back("--xrd=" + x);
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  return RunCommand(argv);
}

}  // namespace platform::testing
