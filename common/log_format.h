// Logging set-up shared by the function and the provider: spdlog to stderr,
// as text or as one JSON object per line for log collectors.
#ifndef PLATFORM_COMMON_LOG_FORMAT_H_
#define PLATFORM_COMMON_LOG_FORMAT_H_

#include <spdlog/formatter.h>

#include <memory>
#include <string>

namespace platform {

// Formats each record as {"ts":..., "level":..., "logger":..., "msg":...}.
// The message goes through a JSON encoder, so quotes and control characters
// in it cannot break the line.
class JsonFormatter : public spdlog::formatter {
 public:
  explicit JsonFormatter(std::string logger) : logger_(std::move(logger)) {}
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>(logger_);
  }

 private:
  std::string logger_;
};

// Installs a default stderr logger named `name`; `format` is "text" or
// "json". Returns false (and changes nothing) for another format.
bool SetUpLogger(const std::string& name, const std::string& format, bool debug);

}  // namespace platform

#endif  // PLATFORM_COMMON_LOG_FORMAT_H_
