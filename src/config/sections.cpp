// The small sections: each is a handful of typed values.
#include <system_error>

#include "scalars.hpp"
#include "sections.hpp"

namespace tollgate::config::detail {
namespace {

std::optional<std::filesystem::path> read_ca_file(Reader& r, const Value& v) {
  auto path = read_path(r, v);
  if (!path || path->empty()) return path;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(*path, ec)) {
    r.error(v, "file " + path->string() + " does not exist or is not a regular file");
    return std::nullopt;
  }
  return path;
}

void read_upstream_timeouts(Reader& r, const Value& v, UpstreamTimeouts& out) {
  r.read_map(v, {
      {"connect", [&](const Value& x) { set(out.connect, read_duration(r, x, Zero::refused)); }},
      {"first_byte", [&](const Value& x) { set(out.first_byte, read_duration(r, x, Zero::refused)); }},
      {"idle", [&](const Value& x) { set(out.idle, read_duration(r, x, Zero::refused)); }},
  });
}

}  // namespace

void read_admin(Reader& r, const Value& v, Admin& out) {
  r.read_map(v, {{"key_file", [&](const Value& x) { set(out.key_file, read_required_path(r, x)); }}});
}

void read_relay(Reader& r, const Value& v, Relay& out) {
  r.read_map(v, {
      // 0 is meaningful for both: refresh only expired tokens; never keep a body for replay.
      {"refresh_margin", [&](const Value& x) { set(out.refresh_margin, read_duration(r, x, Zero::allowed)); }},
      {"replay_limit", [&](const Value& x) { set(out.replay_limit, read_size(r, x, Zero::allowed)); }},
      {"ca_file", [&](const Value& x) { set(out.ca_file, read_ca_file(r, x)); }},
      {"upstream_timeouts", [&](const Value& x) { read_upstream_timeouts(r, x, out.upstream_timeouts); }},
  });
}

void read_setup_sessions(Reader& r, const Value& v, SetupSessions& out) {
  r.read_map(v, {{"ttl", [&](const Value& x) { set(out.ttl, read_duration(r, x, Zero::refused)); }}});
}

void read_metering(Reader& r, const Value& v, Metering& out) {
  r.read_map(v, {
      {"enabled", [&](const Value& x) { set(out.enabled, read_bool(r, x)); }},
      {"flush_interval", [&](const Value& x) { set(out.flush_interval, read_duration(r, x, Zero::refused)); }},
      {"journal_dir", [&](const Value& x) { set(out.journal_dir, read_required_path(r, x)); }},
  });
}

void read_logging(Reader& r, const Value& v, Logging& out) {
  r.read_map(v, {
      {"level",
       [&](const Value& x) {
         set(out.level, read_choice<LogLevel>(r, x,
                                              {{"debug", LogLevel::debug},
                                               {"info", LogLevel::info},
                                               {"warn", LogLevel::warn},
                                               {"error", LogLevel::error}}));
       }},
      {"format",
       [&](const Value& x) {
         set(out.format, read_choice<LogFormat>(r, x, {{"json", LogFormat::json}, {"text", LogFormat::text}}));
       }},
  });
}

}  // namespace tollgate::config::detail
