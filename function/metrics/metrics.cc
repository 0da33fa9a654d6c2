#include "function/metrics/metrics.h"

#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

namespace platform::fn {

struct alignas(64) Metrics::Series {
  std::atomic<std::uint64_t> calls[kOutcomes] = {};
  // fatal, warning, normal
  std::atomic<std::uint64_t> results[3] = {};
  // Not cumulative: buckets[i] counts calls in (kBuckets[i-1], kBuckets[i]];
  // the last one those above every bound.
  std::atomic<std::uint64_t> buckets[kBuckets.size() + 1] = {};
  std::atomic<std::uint64_t> sum_nanos{0};
};

namespace {

constexpr std::memory_order kRelaxed = std::memory_order_relaxed;
constexpr const char* kOutcomeNames[kOutcomes] = {"success", "fatal", "error"};
constexpr const char* kSeverityNames[3] = {"fatal", "warning", "normal"};

constexpr char kCalls[] = "function_platform_run_function_calls_total";
constexpr char kDuration[] = "function_platform_run_function_duration_seconds";
constexpr char kResults[] = "function_platform_run_function_results_total";
constexpr char kBuildInfo[] = "function_platform_build_info";

void Family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

// What /proc says about this process; zeros when it cannot be read.
struct ProcessStats {
  double cpu_seconds = 0;
  double resident_bytes = 0;
  double virtual_bytes = 0;
  double start_time_seconds = 0;
  double open_fds = 0;
  double max_fds = 0;
  bool ok = false;
};

ProcessStats ReadProcessStats() {
  ProcessStats p;
  std::ifstream stat_file("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  // The command name, in parentheses, may hold spaces: fields count from the
  // last ')'. The state is field 3.
  const std::size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return p;
  std::istringstream fields(stat.substr(paren + 1));
  std::vector<std::string> f{std::istream_iterator<std::string>(fields),
                             std::istream_iterator<std::string>()};
  if (f.size() < 22) return p;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  // Fields 14 utime, 15 stime, 22 starttime (ticks since boot), 23 vsize
  // (bytes), 24 rss (pages); f[0] is field 3.
  p.cpu_seconds = (std::stod(f[11]) + std::stod(f[12])) / ticks;
  p.virtual_bytes = std::stod(f[20]);
  p.resident_bytes = std::stod(f[21]) * page;
  std::ifstream proc_stat("/proc/stat");
  for (std::string line; std::getline(proc_stat, line);) {
    if (line.rfind("btime ", 0) == 0) {
      p.start_time_seconds = std::stod(line.substr(6)) + std::stod(f[19]) / ticks;
      break;
    }
  }
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    ++p.open_fds;
  }
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) p.max_fds = static_cast<double>(limit.rlim_cur);
  p.ok = true;
  return p;
}

}  // namespace

Metrics::Metrics(const std::vector<std::string>& kinds, BuildInfo build)
    : kinds_(kinds), build_(std::move(build)) {
  kinds_.push_back("unknown");
  series_ = std::make_unique<Series[]>(kinds_.size());
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    bucket_nanos_[i] = static_cast<std::int64_t>(kBuckets[i] * 1e9);
  }
}

Metrics::~Metrics() = default;

int Metrics::KindIndex(std::string_view kind) const {
  const int unknown = UnknownKind();
  for (int i = 0; i < unknown; ++i) {
    if (kinds_[static_cast<std::size_t>(i)] == kind) return i;
  }
  return unknown;
}

void Metrics::Record(int kind, Outcome outcome, std::chrono::nanoseconds duration,
                     const ResultCounts& results) {
  if (kind < 0 || kind > UnknownKind()) kind = UnknownKind();
  Series& s = series_[static_cast<std::size_t>(kind)];
  s.calls[static_cast<int>(outcome)].fetch_add(1, kRelaxed);
  if (results.fatal != 0) s.results[0].fetch_add(results.fatal, kRelaxed);
  if (results.warning != 0) s.results[1].fetch_add(results.warning, kRelaxed);
  if (results.normal != 0) s.results[2].fetch_add(results.normal, kRelaxed);
  const std::int64_t nanos = std::max<std::int64_t>(duration.count(), 0);
  std::size_t bucket = 0;
  while (bucket < bucket_nanos_.size() && nanos > bucket_nanos_[bucket]) ++bucket;
  s.buckets[bucket].fetch_add(1, kRelaxed);
  s.sum_nanos.fetch_add(static_cast<std::uint64_t>(nanos), kRelaxed);
}

std::string Metrics::Render() const {
  std::string out;
  out.reserve(8192);
  auto it = std::back_inserter(out);

  Family(out, kCalls, "counter",
         "RunFunction calls handled, by XR kind and outcome (success: no FATAL result; fatal: a "
         "FATAL result; error: no response, a gRPC error).");
  for (std::size_t k = 0; k < kinds_.size(); ++k) {
    for (int o = 0; o < kOutcomes; ++o) {
      fmt::format_to(it, "{}{{kind=\"{}\",outcome=\"{}\"}} {}\n", kCalls,
                     EscapeLabelValue(kinds_[k]), kOutcomeNames[o],
                     series_[k].calls[o].load(kRelaxed));
    }
  }

  Family(out, kDuration, "histogram",
         "Time the function spent on a RunFunction call (decode, render, encode), by XR kind.");
  for (std::size_t k = 0; k < kinds_.size(); ++k) {
    const std::string kind = EscapeLabelValue(kinds_[k]);
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b <= kBuckets.size(); ++b) {
      cumulative += series_[k].buckets[b].load(kRelaxed);
      if (b < kBuckets.size()) {
        fmt::format_to(it, "{}_bucket{{kind=\"{}\",le=\"{}\"}} {}\n", kDuration, kind, kBuckets[b],
                       cumulative);
      } else {
        fmt::format_to(it, "{}_bucket{{kind=\"{}\",le=\"+Inf\"}} {}\n", kDuration, kind,
                       cumulative);
      }
    }
    fmt::format_to(it, "{}_sum{{kind=\"{}\"}} {}\n", kDuration, kind,
                   static_cast<double>(series_[k].sum_nanos.load(kRelaxed)) / 1e9);
    fmt::format_to(it, "{}_count{{kind=\"{}\"}} {}\n", kDuration, kind, cumulative);
  }

  Family(out, kResults, "counter",
         "Results returned in RunFunction responses, by XR kind and severity.");
  for (std::size_t k = 0; k < kinds_.size(); ++k) {
    for (int s = 0; s < 3; ++s) {
      fmt::format_to(it, "{}{{kind=\"{}\",severity=\"{}\"}} {}\n", kResults,
                     EscapeLabelValue(kinds_[k]), kSeverityNames[s],
                     series_[k].results[s].load(kRelaxed));
    }
  }

  Family(out, kBuildInfo, "gauge",
         "Always 1; the labels say which build of function-platform runs.");
  fmt::format_to(it, "{}{{commit=\"{}\",version=\"{}\"}} 1\n", kBuildInfo,
                 EscapeLabelValue(build_.commit), EscapeLabelValue(build_.version));

  const ProcessStats p = ReadProcessStats();
  if (p.ok) {
    const struct {
      const char* name;
      const char* type;
      const char* help;
      double value;
    } process[] = {
        {"process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.",
         p.cpu_seconds},
        {"process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
         p.resident_bytes},
        {"process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", p.virtual_bytes},
        {"process_open_fds", "gauge", "Number of open file descriptors.", p.open_fds},
        {"process_max_fds", "gauge", "Maximum number of open file descriptors.", p.max_fds},
        {"process_start_time_seconds", "gauge",
         "Start time of the process since unix epoch in seconds.", p.start_time_seconds},
    };
    for (const auto& m : process) {
      Family(out, m.name, m.type, m.help);
      fmt::format_to(it, "{} {}\n", m.name, m.value);
    }
  }
  return out;
}

}  // namespace platform::fn
