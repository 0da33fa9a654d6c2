// Files only the provider may read: credentials, variables, keys written
// into a working folder.
#ifndef PROVIDER_COMMON_FILES_H_
#define PROVIDER_COMMON_FILES_H_

#include <string>

#include "absl/status/status.h"

namespace provider {

// Writes `content` to `path` with mode 0600 (replacing any file there; a
// symbolic link at `path` is refused). The error names the path and
// carries errno's code and text ("write <path>: Permission denied").
absl::Status WritePrivateFile(const std::string& path, const std::string& content);

}  // namespace provider

#endif  // PROVIDER_COMMON_FILES_H_
