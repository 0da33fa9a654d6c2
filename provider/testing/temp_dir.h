// The provider tests' temporary folder: made fresh for a test, removed with
// everything in it when the test ends. Every provider test that needs files
// on disk uses this one.
#ifndef PROVIDER_TESTING_TEMP_DIR_H_
#define PROVIDER_TESTING_TEMP_DIR_H_

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "common/files.h"

namespace provider::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "provider-test-XXXXXX").string();
    // A test without its folder cannot run: stop here rather than write
    // into the current directory.
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }

  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  // Writes `content` to `name` (parent folders made); returns its path.
  std::string Write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

// Writes `content` to `path`, making its parent folders.
inline void WriteFile(const std::string& path, const std::string& content) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  std::ofstream(path, std::ios::binary) << content;
}

inline std::string TempDir::Write(const std::string& name, const std::string& content) const {
  const std::string p = *this / name;
  WriteFile(p, content);
  return p;
}

// The content of the file at `path`, "" when it cannot be read (tests
// compare contents; a missing file compares as empty).
inline std::string FileContent(const std::string& path) {
  return platform::ReadFile(path).value_or("");
}

}  // namespace provider::testing

#endif  // PROVIDER_TESTING_TEMP_DIR_H_
