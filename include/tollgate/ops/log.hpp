#pragma once
// Structured logging: one line per event, JSON (default) or key=value text,
// to stdout. Field values are plain strings and numbers; crypto::Secret is not
// convertible to any of them, so a secret cannot be logged by accident.
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

namespace tollgate::ops {

enum class Level { debug = 0, info = 1, warn = 2, error = 3 };
enum class Format { json, text };

struct Field {
  std::string_view key;
  std::variant<std::string_view, std::int64_t, double, bool> value;

  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  template <typename I, typename = std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>>>
  Field(std::string_view k, I v) : key(k), value(static_cast<std::int64_t>(v)) {}
  Field(std::string_view k, double v) : key(k), value(v) {}
  Field(std::string_view k, bool v) : key(k), value(v) {}
};

// Changes take effect for the next line (SIGHUP reload calls this).
void configure_logging(Level level, Format format);
bool log_enabled(Level level) noexcept;

// Writes one line if `level` is enabled. Thread-safe; a line is written whole.
void log(Level level, std::string_view message, std::initializer_list<Field> fields = {});

inline void log_info(std::string_view m, std::initializer_list<Field> f = {}) { log(Level::info, m, f); }
inline void log_warn(std::string_view m, std::initializer_list<Field> f = {}) { log(Level::warn, m, f); }
inline void log_error(std::string_view m, std::initializer_list<Field> f = {}) { log(Level::error, m, f); }

// Renders a line without writing it (used by log and by tests).
std::string format_line(Format format, Level level, std::string_view message,
                        std::initializer_list<Field> fields, std::string_view timestamp);

// RFC 3339 UTC with milliseconds, e.g. 2026-11-22T01:02:03.456Z.
std::string now_rfc3339();

}  // namespace tollgate::ops
