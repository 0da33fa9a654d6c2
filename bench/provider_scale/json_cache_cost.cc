// What holding API objects as nlohmann::json costs in memory, as the
// provider's informers hold them: every item of the given list files (JSON, as
// `kubectl get -o json` or the API returns them) in a map by name, once as
// they are and once without metadata.managedFields. Heap in use before and
// after (mallinfo2), against the items' JSON text. Evidence for
// docs/provider-scale.md; not built by CMake:
//
//   g++ -O2 -std=c++20 bench/provider_scale/json_cache_cost.cc -o json_cache_cost
//   ./json_cache_cost workspaces.json ansibleruns.json providerconfigusages.json
#include <malloc.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

int main(int argc, char** argv) {
  for (const bool strip : {false, true}) {
    std::map<std::string, nlohmann::json> cache;
    size_t text = 0;
    size_t n = 0;
    const size_t before = mallinfo2().uordblks;
    for (int i = 1; i < argc; ++i) {
      std::ifstream f(argv[i]);
      std::stringstream ss;
      ss << f.rdbuf();
      nlohmann::json list = nlohmann::json::parse(ss.str(), nullptr, false);
      if (!list.is_object() || !list.contains("items")) {
        std::fprintf(stderr, "%s: not a list\n", argv[i]);
        return 1;
      }
      for (nlohmann::json& item : list["items"]) {
        if (strip) item["metadata"].erase("managedFields");
        text += item.dump().size();
        ++n;
        const std::string key = std::to_string(i) + "/" + item["metadata"].value("name", "");
        cache[key] = std::move(item);
      }
    }
    const size_t held = mallinfo2().uordblks - before;
    std::printf("%s managedFields: %zu objects, %zu KiB of JSON, %zu KiB of heap (%.1fx)\n",
                strip ? "without" : "with", n, text / 1024, held / 1024,
                static_cast<double>(held) / static_cast<double>(text));
  }
  return 0;
}
