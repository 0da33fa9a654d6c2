// Whole-file reads, the one way both programs read a file.
#ifndef PLATFORM_COMMON_FILES_H_
#define PLATFORM_COMMON_FILES_H_

#include <filesystem>
#include <string>

#include "absl/status/statusor.h"

namespace platform {

// The bytes of the file at `path`. NotFound when it does not exist,
// PermissionDenied when it cannot be opened for reading,
// FailedPrecondition for a directory, DataLoss when a read
// fails part way; the message names the path. Reads a file of any size,
// binary or text, without translation. Safe to call from any thread.
absl::StatusOr<std::string> ReadFile(const std::filesystem::path& path);

}  // namespace platform

#endif  // PLATFORM_COMMON_FILES_H_
