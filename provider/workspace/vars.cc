#include "provider/workspace/vars.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace workspace {

void WritePrivateFile(const std::string& path, const std::string& content) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) throw std::runtime_error("write " + path + ": " + std::strerror(errno));
  bool ok = ::fchmod(fd, 0600) == 0;
  size_t done = 0;
  while (ok && done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      break;
    }
    done += static_cast<size_t>(n);
  }
  const int saved = errno;
  ::close(fd);
  if (!ok) throw std::runtime_error("write " + path + ": " + std::strerror(saved));
}

std::vector<std::string> WriteVarFiles(
    const std::string& dir, const std::vector<VarFile>& files, const nlohmann::json& varmap,
    const std::vector<std::pair<std::string, std::string>>& vars) {
  std::vector<std::string> names;
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string name = "varfile-" + std::to_string(i) +
                             (files[i].format == VarFormat::kJSON ? ".tfvars.json" : ".tfvars");
    WritePrivateFile(dir + "/" + name, files[i].content);
    names.push_back(name);
  }
  if (!varmap.is_null() && !varmap.is_object()) {
    throw std::runtime_error("varmap must be an object of variable names to values");
  }
  if (varmap.is_object() && !varmap.empty()) {
    WritePrivateFile(dir + "/varmap.tfvars.json", varmap.dump(2) + "\n");
    names.push_back("varmap.tfvars.json");
  }
  if (!vars.empty()) {
    nlohmann::json doc = nlohmann::json::object();
    for (const auto& [key, value] : vars) doc[key] = value;
    WritePrivateFile(dir + "/vars.tfvars.json", doc.dump(2) + "\n");
    names.push_back("vars.tfvars.json");
  }
  return names;
}

}  // namespace workspace
