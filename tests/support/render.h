// `crossplane composition render` (the Crossplane v2 CLI) against a running
// function-platform: the harness the end-to-end tests share. A
// FunctionUnderTest starts the real binary with --insecure on a free loopback
// port and writes a functions.yaml that points render's Development runtime at
// it. The CLI no longer runs the pipeline itself: it hands the request to
// Crossplane core's `internal render` (--crossplane-binary, CROSSPLANE_CORE_BIN),
// the real XR reconciler on an in-memory API server.
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
// Result and Context documents) as a YAML stream of the original text.
// Composed resources carry render's name and an owner reference to the XR's
// uid (a fake, derived from its kind and name, unless the input XR has one),
// which an API server accepts as they are.
std::string ApiObjects(const std::string& yaml_stream, bool include_xr);

// Whether a Result document of render's output is a result of a function
// pipeline step (Crossplane's event for it: `message: 'Pipeline step "render":
// ...'`) rather than an event of Crossplane's own reconciler
// (SelectComposition, `Composed resource "x" is not yet ready`, ...).
bool IsPipelineResult(const YAML::Node& result);

// Render's output in a form two runs agree on, for golden files and for
// comparing two runtimes: the XR and composed resources as printed (render
// sorts composed resources by composition resource name), then the results of
// the function pipeline in the order the function returned them, then
// Crossplane's own events sorted by their text. The reconciler records the
// latter while iterating a map, so their order changes from run to run; their
// content does not, and sorting keeps all of it.
std::string CanonicalRender(const std::string& yaml_stream);

// Render's output split into the XR, the composed resources by composition
// resource name, the function pipeline's results and Crossplane's own events.
struct Rendered {
  YAML::Node xr;
  std::map<std::string, YAML::Node> resources;
  std::vector<YAML::Node> results;  // IsPipelineResult
  std::vector<YAML::Node> events;   // the other Result documents
  int xr_documents = 0;
};
Rendered ParseRendered(const std::string& yaml_stream);

// What follows `returned a fatal result: ` in render's stderr, the message of
// the FATAL result that stopped the pipeline; "" when there is none. The CLI
// then prints nothing on stdout and exits non-zero.
std::string FatalMessage(const RunResult& render);

// Path of an environment-provided tool, e.g. Tool("CROSSPLANE"); "" if unset.
std::string Tool(const char* env);

// Crossplane core (CROSSPLANE_CORE_BIN at configure time), whose
// `internal render` the CLI runs; "" when not configured.
std::string CrossplaneCore();

// `crossplane resource validate` checks Crossplane's own kinds (Composition,
// Function, Usage...) against the CRDs of the image named by
// --crossplane-image, which it looks up in its cache (<cache>/<image with @
// for :>) and downloads when absent. Seeds `cache_dir` with the CRDs in
// `crds_dir` under the image of the Crossplane core the tests run
// (xpkg.crossplane.io/crossplane/crossplane:<its --version>) and returns that
// image name for --crossplane-image, so validate never goes online. "" and
// `error` set when it cannot.
std::string SeedCrossplaneSchemas(const std::string& cache_dir, const std::string& crds_dir,
                                  std::string& error);

// The XRD of a Composition of this repository: compositions/<name>.yaml pairs
// with xrds/<name>.yaml. "" when there is no such file.
std::string XrdFor(const std::string& composition);

class FunctionUnderTest {
 public:
  // Starts `binary`; check ok() and error() afterwards.
  explicit FunctionUnderTest(const std::string& binary);
  // Renders through a function already serving plaintext gRPC on
  // 127.0.0.1:`port` (in a container, say); starts nothing. ok() when the
  // port answers.
  explicit FunctionUnderTest(int port);
  ~FunctionUnderTest();

  bool ok() const { return ok_; }
  std::string log() const { return ReadFile(log_); }
  int Stop() { return process_->Stop(); }
  const std::string& functions_yaml() const { return functions_; }
  const TempDir& dir() const { return dir_; }

  // Runs `crossplane composition render XR COMPOSITION FUNCTIONS
  // --include-function-results --crossplane-binary=<core> --xrd=<xrd>` with
  // `extra` arguments. `xrd` defaults to XrdFor(composition); give it for a
  // Composition kept elsewhere. With the XRD render treats a LegacyCluster
  // (claim-based) XR as Crossplane does (spec.resourceRefs, claim conditions)
  // and applies the XRD's defaults; without, as a namespaced v2 XR
  // (spec.crossplane). Fails (exit code -1, a message in `err`) when
  // CROSSPLANE_CORE_BIN was not configured.
  RunResult Render(const std::string& xr, const std::string& composition,
                   const std::vector<std::string>& extra = {}, const std::string& xrd = "") const;

 private:
  TempDir dir_;
  std::string log_;
  std::string functions_;
  std::unique_ptr<Background> process_;
  bool ok_ = false;

  // functions.yaml naming the function at 127.0.0.1:`port`, the Development
  // runtime's way.
  void WriteFunctions(int port);
};

}  // namespace platform::testing

#endif  // PLATFORM_TESTS_SUPPORT_RENDER_H_
