#include "network.hpp"
#include "scalars.hpp"
#include "sections.hpp"

namespace tollgate::config::detail {
namespace {

std::optional<std::string> read_redis_url(Reader& r, const Value& v) {
  constexpr std::string_view kExpected = "a redis:// or rediss:// URL, like redis://127.0.0.1:6379/0";
  const auto text = r.text(v, kExpected);
  if (!text) return std::nullopt;
  for (std::string_view scheme : {"redis://", "rediss://"}) {
    if (text->starts_with(scheme) && text->size() > scheme.size()) return text;
  }
  r.error(v, "expected " + std::string(kExpected));
  return std::nullopt;
}

std::vector<std::string> read_sentinels(Reader& r, const Value& v) {
  constexpr std::string_view kExpected = "host:port, like 10.0.0.5:26379 or sentinel-0:26379";
  std::vector<std::string> out;
  r.read_list(v, [&](const Value& item) {
    const auto text = r.text(item, kExpected);
    if (!text) return;
    if (is_host_port(*text)) {
      out.push_back(*text);
    } else {
      r.error(item, "expected " + std::string(kExpected));
    }
  });
  return out;
}

void read_redis(Reader& r, const Value& v, RedisStore& out) {
  r.read_map(v, {
      {"url", [&](const Value& x) { set(out.url, read_redis_url(r, x)); }},
      {"sentinels", [&](const Value& x) { out.sentinels = read_sentinels(r, x); }},
      {"master_name", [&](const Value& x) { set(out.master_name, read_string(r, x)); }},
      {"command_timeout", [&](const Value& x) { set(out.command_timeout, read_duration(r, x, Zero::refused)); }},
  });
  if (!out.sentinels.empty() && out.master_name.empty()) {
    r.error(v.pos, child_path(v.path, "master_name"),
            "is required when sentinels are listed: the name of the master they watch");
  }
}

}  // namespace

void read_store(Reader& r, const Value& v, Store& out) {
  r.read_map(v, {
      {"kind",
       [&](const Value& x) {
         set(out.kind, read_choice<StoreKind>(r, x, {{"sqlite", StoreKind::sqlite}, {"redis", StoreKind::redis}}));
       }},
      {"sqlite",
       [&](const Value& x) {
         r.read_map(x, {{"path", [&](const Value& p) { set(out.sqlite.path, read_required_path(r, p)); }}});
       }},
      {"redis", [&](const Value& x) { read_redis(r, x, out.redis); }},
  });
}

}  // namespace tollgate::config::detail
