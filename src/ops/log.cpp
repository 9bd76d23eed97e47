#include "tollgate/ops/log.hpp"

#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <mutex>

#include "tollgate/errors/error.hpp"

namespace tollgate::ops {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::info)};
std::atomic<int> g_format{static_cast<int>(Format::json)};
std::mutex g_write_mutex;

std::string_view level_name(Level l) {
  switch (l) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warn";
    case Level::error: return "error";
  }
  return "info";
}

void append_number(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  out += buf;
}

// Text values with spaces, quotes or '=' are quoted so the line stays parseable.
void append_text_value(std::string& out, std::string_view v) {
  bool plain = !v.empty() && v.find_first_of(" \"=\t\r\n\\") == std::string_view::npos;
  if (plain) out += v;
  else out += errors::json_quote(v);
}

}  // namespace

void configure_logging(Level level, Format format) {
  g_level.store(static_cast<int>(level), std::memory_order_relaxed);
  g_format.store(static_cast<int>(format), std::memory_order_relaxed);
}

bool log_enabled(Level level) noexcept {
  return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

std::string now_rfc3339() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  // The date and time to the second change once a second: formatted then, per thread.
  thread_local std::time_t cached_secs = -1;
  thread_local std::array<char, 64> cached{};
  if (secs != cached_secs) {
    std::tm tm{};
    gmtime_r(&secs, &tm);
    std::snprintf(cached.data(), cached.size(), "%04d-%02d-%02dT%02d:%02d:%02d.", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    cached_secs = secs;
  }
  std::string out(cached.data());
  out.push_back(static_cast<char>('0' + ms / 100));
  out.push_back(static_cast<char>('0' + ms / 10 % 10));
  out.push_back(static_cast<char>('0' + ms % 10));
  out.push_back('Z');
  return out;
}

std::string format_line(Format format, Level level, std::string_view message,
                        std::initializer_list<Field> fields, std::string_view timestamp) {
  std::string out;
  out.reserve(256 + fields.size() * 32);
  if (format == Format::json) {
    out += "{\"ts\":\"";
    out += timestamp;
    out += "\",\"level\":\"";
    out += level_name(level);
    out += "\",\"msg\":";
    errors::append_json_quoted(out, message);
    for (const auto& f : fields) {
      out += ',';
      errors::append_json_quoted(out, f.key);
      out += ':';
      std::visit(
          [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::string_view>) errors::append_json_quoted(out, v);
            else if constexpr (std::is_same_v<T, bool>) out += v ? "true" : "false";
            else if constexpr (std::is_same_v<T, double>) append_number(out, v);
            else out += std::to_string(v);
          },
          f.value);
    }
    out += "}\n";
  } else {
    out += timestamp;
    out += ' ';
    out += level_name(level);
    out += ' ';
    append_text_value(out, message);
    for (const auto& f : fields) {
      out += ' ';
      out += f.key;
      out += '=';
      std::visit(
          [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::string_view>) append_text_value(out, v);
            else if constexpr (std::is_same_v<T, bool>) out += v ? "true" : "false";
            else if constexpr (std::is_same_v<T, double>) append_number(out, v);
            else out += std::to_string(v);
          },
          f.value);
    }
    out += '\n';
  }
  return out;
}

void log(Level level, std::string_view message, std::initializer_list<Field> fields) {
  if (!log_enabled(level)) return;
  auto line = format_line(static_cast<Format>(g_format.load(std::memory_order_relaxed)), level, message, fields,
                          now_rfc3339());
  // One write per line keeps lines whole when several workers log at once.
  std::lock_guard lock(g_write_mutex);
  const char* p = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(STDOUT_FILENO, p, left);
    if (n <= 0) break;
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

}  // namespace tollgate::ops
