#include "function/registry.h"

#include <utility>

namespace platform::fn {

void Registry::Add(std::string kind, std::unique_ptr<Renderer> renderer) {
  renderers_[std::move(kind)] = std::move(renderer);
}

const Renderer* Registry::Find(std::string_view kind) const {
  auto it = renderers_.find(kind);
  return it == renderers_.end() ? nullptr : it->second.get();
}

std::vector<std::string> Registry::Kinds() const {
  std::vector<std::string> kinds;
  kinds.reserve(renderers_.size());
  for (const auto& [kind, unused] : renderers_) kinds.push_back(kind);
  return kinds;
}

}  // namespace platform::fn
