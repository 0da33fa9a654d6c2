#include "tests/support/render.h"

#include <cstdlib>

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

Rendered ParseRendered(const std::string& yaml_stream) {
  Rendered r;
  for (const YAML::Node& doc : YAML::LoadAll(yaml_stream)) {
    if (!doc.IsMap()) continue;
    if (Str(doc, {"apiVersion"}) == "render.crossplane.io/v1beta1") {
      if (Str(doc, {"kind"}) == "Result") r.results.push_back(doc);
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

std::string ApiObjects(const std::string& yaml_stream, bool include_xr, bool fake_owner_uid) {
  std::string out;
  for (std::string doc : SplitDocuments(yaml_stream)) {
    const YAML::Node node = YAML::Load(doc);
    if (Str(node, {"apiVersion"}) == "render.crossplane.io/v1beta1") continue;
    const bool composed =
        !Str(node, {"metadata", "annotations", "crossplane.io/composition-resource-name"}).empty();
    if (!composed && !include_xr) continue;
    if (fake_owner_uid) {
      const std::string empty_uid = "uid: \"\"";
      for (std::size_t at = doc.find(empty_uid); at != std::string::npos;
           at = doc.find(empty_uid, at)) {
        doc.replace(at, empty_uid.size(), "uid: 00000000-0000-4000-8000-000000000000");
      }
    }
    out += "---\n" + doc;
  }
  return out;
}

std::string Tool(const char* env) {
  const char* v = std::getenv(env);
  return v != nullptr ? v : "";
}

FunctionUnderTest::FunctionUnderTest(const std::string& binary) {
  const int port = FreePort();
  log_ = dir_.path() + "/function.log";
  process_ = std::make_unique<Background>(
      std::vector<std::string>{binary, "--insecure", "--debug", "--address",
                               "127.0.0.1:" + std::to_string(port)},
      log_);
  ok_ = WaitForPort(port, std::chrono::seconds(10));
  functions_ = dir_.Write("functions.yaml", R"(apiVersion: pkg.crossplane.io/v1
kind: Function
metadata:
  name: function-platform
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
                                    const std::vector<std::string>& extra) const {
  std::vector<std::string> argv = {Tool("CROSSPLANE"), "render",   xr,
                                   composition,        functions_, "--include-function-results",
                                   "--timeout=60s"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return RunCommand(argv);
}

}  // namespace platform::testing
