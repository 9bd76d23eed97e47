#include "tollgate/ops/log.hpp"

#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <charconv>
#include <climits>
#include <cstring>
#include <mutex>
#include <shared_mutex>

#include "tollgate/errors/error.hpp"

namespace tollgate::ops {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::info)};
std::atomic<int> g_format{static_cast<int>(Format::json)};
std::shared_mutex g_write_mutex;

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
  std::array<char, 64> buf;  // "%.3f" without printf's locale and varargs machinery
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v, std::chars_format::fixed, 3);
  if (ec == std::errc()) out.append(buf.data(), end);
  else out += "null";
}

void append_integer(std::string& out, std::int64_t v) {
  std::array<char, 24> buf;
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  out.append(buf.data(), end);
}

// Text values with spaces, quotes or '=' are quoted so the line stays parseable.
void append_text_value(std::string& out, std::string_view v) {
  bool plain = !v.empty() && v.find_first_of(" \"=\t\r\n\\") == std::string_view::npos;
  if (plain) out += v;
  else out += errors::json_quote(v);
}

constexpr std::size_t kTimestampBytes = 24;  // 2026-11-22T01:02:03.456Z

// The RFC 3339 time, written into `out` (kTimestampBytes).
void write_timestamp(char* out) {
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
  std::memcpy(out, cached.data(), 20);
  out[20] = static_cast<char>('0' + ms / 100);
  out[21] = static_cast<char>('0' + ms / 10 % 10);
  out[22] = static_cast<char>('0' + ms % 10);
  out[23] = 'Z';
}

void append_line(std::string& out, Format format, Level level, std::string_view message,
                 std::initializer_list<Field> fields, std::string_view timestamp) {
  if (format == Format::json) {
    // Written through a cursor into room made once for the whole line: the
    // request line's score of keys and values costs no capacity check each.
    constexpr std::size_t kNumberRoom = 64;  // to_chars of an int64 or a "%.3f" double that fits
    constexpr std::string_view kTs = "{\"ts\":\"", kLevel = "\",\"level\":\"", kMsg = "\",\"msg\":", kEnd = "}\n";
    std::size_t room = kTs.size() + timestamp.size() + kLevel.size() + 5 + kMsg.size() +
                       errors::json_quoted_bound(message.size()) + kEnd.size();
    for (const auto& f : fields) {
      room += 2 + errors::json_quoted_bound(f.key.size());
      const auto* text = std::get_if<std::string_view>(&f.value);
      room += text ? errors::json_quoted_bound(text->size()) : kNumberRoom;
    }
    const std::size_t at = out.size();
    out.resize(at + room);
    char* p = out.data() + at;
    const auto put = [&p](std::string_view s) { p = errors::write_raw(p, s); };
    put(kTs);
    put(timestamp);
    put(kLevel);
    put(level_name(level));
    put(kMsg);
    p = errors::write_json_quoted(p, message);
    for (const auto& f : fields) {
      *p++ = ',';
      p = errors::write_json_quoted(p, f.key);
      *p++ = ':';
      std::visit(
          [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::string_view>) {
              p = errors::write_json_quoted(p, v);
            } else if constexpr (std::is_same_v<T, bool>) {
              put(v ? "true" : "false");
            } else if constexpr (std::is_same_v<T, double>) {
              auto [end, ec] = std::isfinite(v) ? std::to_chars(p, p + kNumberRoom, v, std::chars_format::fixed, 3)
                                                : std::to_chars_result{p, std::errc::value_too_large};
              if (ec == std::errc()) p = end;
              else put("null");
            } else {
              p = std::to_chars(p, p + kNumberRoom, v).ptr;
            }
          },
          f.value);
    }
    put(kEnd);
    out.resize(static_cast<std::size_t>(p - out.data()));
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
            else append_integer(out, v);
          },
          f.value);
    }
    out += '\n';
  }
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
  std::array<char, kTimestampBytes> ts;
  write_timestamp(ts.data());
  return std::string(ts.data(), ts.size());
}

std::string format_line(Format format, Level level, std::string_view message,
                        std::initializer_list<Field> fields, std::string_view timestamp) {
  std::string out;
  out.reserve(256 + fields.size() * 32);
  append_line(out, format, level, message, fields, timestamp);
  return out;
}

void log(Level level, std::string_view message, std::initializer_list<Field> fields) {
  if (!log_enabled(level)) return;
  // One line per request on the hot path: built in a buffer the thread keeps,
  // so a line costs no allocation once the buffer has grown.
  thread_local std::string line;
  line.clear();
  std::array<char, kTimestampBytes> ts;
  write_timestamp(ts.data());
  append_line(line, static_cast<Format>(g_format.load(std::memory_order_relaxed)), level, message, fields,
              std::string_view(ts.data(), ts.size()));
  // One write per line keeps lines whole when several workers log at once: the
  // kernel does not interleave writes of up to PIPE_BUF bytes to a pipe, nor
  // writes to a file. Those take the lock shared (workers do not wait on each
  // other's write); a longer line takes it alone.
  std::shared_lock<std::shared_mutex> shared;
  std::unique_lock<std::shared_mutex> alone;
  if (line.size() <= PIPE_BUF) shared = std::shared_lock(g_write_mutex);
  else alone = std::unique_lock(g_write_mutex);
  const char* p = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(STDOUT_FILENO, p, left);
    if (n <= 0) break;
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (line.capacity() > 64 * 1024) std::string().swap(line);  // one huge line does not stay resident
}

}  // namespace tollgate::ops
