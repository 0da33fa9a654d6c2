// `crossplane render` against a running function-platform: the harness the
// end-to-end tests share. A FunctionUnderTest starts the real binary with
// --insecure on a free loopback port and writes a functions.yaml that points
// render's Development runtime at it.
#ifndef PLATFORM_TESTS_SUPPORT_RENDER_H_
#define PLATFORM_TESTS_SUPPORT_RENDER_H_

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/subprocess.h"

namespace platform::testing {

// The node at `path`, or an undefined node when any step is missing (chained
// operator[] on a missing key throws in yaml-cpp).
YAML::Node At(const YAML::Node& node, std::initializer_list<const char*> path);
// The scalar at `path` as a string, or "" when absent.
std::string Str(const YAML::Node& node, std::initializer_list<const char*> path);

// A YAML stream split at its `---` lines, each document's text unchanged
// (re-emitting parsed YAML loses quoting: "False" would come back a boolean).
std::vector<std::string> SplitDocuments(const std::string& yaml_stream);

// The API objects of render's output (the XR and composed resources, not its
// Result and Context documents) as a YAML stream of the original text. With
// `fake_owner_uid`, the empty owner uid render leaves is replaced, since an
// API server refuses it; Crossplane sets the real one.
std::string ApiObjects(const std::string& yaml_stream, bool include_xr, bool fake_owner_uid);

// Render's output split into the XR, the composed resources by composition
// resource name, and the function results.
struct Rendered {
  YAML::Node xr;
  std::map<std::string, YAML::Node> resources;
  std::vector<YAML::Node> results;
  int xr_documents = 0;
};
Rendered ParseRendered(const std::string& yaml_stream);

// Path of an environment-provided tool, e.g. Tool("CROSSPLANE"); "" if unset.
std::string Tool(const char* env);

class FunctionUnderTest {
 public:
  // Starts `binary`; check ok() and error() afterwards.
  explicit FunctionUnderTest(const std::string& binary);
  ~FunctionUnderTest();

  bool ok() const { return ok_; }
  std::string log() const { return ReadFile(log_); }
  int Stop() { return process_->Stop(); }
  const std::string& functions_yaml() const { return functions_; }
  const TempDir& dir() const { return dir_; }

  // Runs `crossplane render XR COMPOSITION FUNCTIONS --include-function-results`
  // with `extra` arguments.
  RunResult Render(const std::string& xr, const std::string& composition,
                   const std::vector<std::string>& extra = {}) const;

 private:
  TempDir dir_;
  std::string log_;
  std::string functions_;
  std::unique_ptr<Background> process_;
  bool ok_ = false;
};

}  // namespace platform::testing

#endif  // PLATFORM_TESTS_SUPPORT_RENDER_H_
