#include "common/files.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace platform {

absl::StatusOr<std::string> ReadFile(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read ", path.string(), ": a directory"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open()) {
    const int err = errno;
    const std::string why = absl::StrCat("cannot read ", path.string(), ": ", std::strerror(err));
    if (err == ENOENT) return absl::NotFoundError(why);
    if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(why);
    return absl::UnavailableError(why);
  }
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad() || (out.fail() && in.peek() != std::char_traits<char>::eof()))
    return absl::DataLossError(absl::StrCat("read of ", path.string(), " failed part way"));
  return std::move(out).str();
}

}  // namespace platform
