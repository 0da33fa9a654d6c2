// A small reader of a root module's structure: its files, and in native HCL
// the blocks with their labels, lines, nested blocks and plain attributes.
// Comments, quoted strings (with interpolations) and heredocs are skipped as
// such, so a `{` or a keyword inside one is not taken for structure. Not a
// parser of expressions: an attribute keeps only a value that is one token
// (`true`, `"s3"`); an object value (`tags = { ... }`) is not a block.
#ifndef PROVIDER_WORKSPACE_HCL_H_
#define PROVIDER_WORKSPACE_HCL_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace workspace {

struct HclBlock {
  std::string type;                 // "variable", "terraform", "backend"
  std::vector<std::string> labels;  // unquoted
  int line = 0;                     // where its header starts
  std::vector<HclBlock> blocks;     // the blocks directly inside it
  // Attributes directly inside it whose value is one token, as written
  // (strings with their quotes).
  std::map<std::string, std::string> attributes;
};

// The top-level blocks of native HCL text.
std::vector<HclBlock> ParseHclBlocks(const std::string& text);

// The files of the root module in `dir`, sorted: `*.tf` and `*.tofu`
// (json false), `*.tf.json` and `*.tofu.json` (json true).
struct ModuleFile {
  std::string name;
  bool json = false;
};
absl::StatusOr<std::vector<ModuleFile>> RootModuleFiles(const std::string& dir);

}  // namespace workspace

#endif  // PROVIDER_WORKSPACE_HCL_H_
