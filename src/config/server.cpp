#include "network.hpp"
#include "scalars.hpp"
#include "sections.hpp"

namespace tollgate::config::detail {
namespace {

std::optional<Listen> read_listen(Reader& r, const Value& v) {
  constexpr std::string_view kExpected =
      "host:port with an IPv4 address, [IPv6 address] or localhost and a port from 0 to 65535, "
      "like 127.0.0.1:8080, [::1]:8080 or 0.0.0.0:8080";
  const auto text = r.text(v, kExpected);
  if (!text) return std::nullopt;
  auto listen = parse_listen(*text);
  if (!listen) r.error(v, "expected " + std::string(kExpected));
  return listen;
}

std::optional<std::string> read_public_url(Reader& r, const Value& v) {
  const auto text = r.text(v, "an http:// or https:// URL");
  if (!text) return std::nullopt;
  CheckedUrl checked = check_public_url(*text);
  if (!checked.error.empty()) {
    r.error(v, std::move(checked.error));
    return std::nullopt;
  }
  return std::move(checked.url);
}

void read_limits(Reader& r, const Value& v, Limits& out) {
  r.read_map(v, {
      {"max_header_bytes", [&](const Value& x) { set(out.max_header_bytes, read_size(r, x, Zero::refused)); }},
      {"max_uri_bytes", [&](const Value& x) { set(out.max_uri_bytes, read_size(r, x, Zero::refused)); }},
      {"max_body_bytes", [&](const Value& x) { set(out.max_body_bytes, read_size(r, x, Zero::refused)); }},
  });
}

void read_timeouts(Reader& r, const Value& v, Timeouts& out) {
  r.read_map(v, {
      {"header_read", [&](const Value& x) { set(out.header_read, read_duration(r, x, Zero::refused)); }},
      {"idle", [&](const Value& x) { set(out.idle, read_duration(r, x, Zero::refused)); }},
      {"request", [&](const Value& x) { set(out.request, read_duration(r, x, Zero::refused)); }},
      // 0 is meaningful here: stop without draining.
      {"shutdown_grace", [&](const Value& x) { set(out.shutdown_grace, read_duration(r, x, Zero::allowed)); }},
  });
}

}  // namespace

void read_server(Reader& r, const Value& v, Server& out) {
  std::optional<Value> listen_at;
  bool public_url_ok = true;
  r.read_map(v, {
      {"listen",
       [&](const Value& x) {
         listen_at = x;
         set(out.listen, read_listen(r, x));
       }},
      {"public_url",
       [&](const Value& x) {
         auto url = read_public_url(r, x);
         public_url_ok = url.has_value();
         set(out.public_url, std::move(url));
       }},
      {"workers",
       [&](const Value& x) {
         if (const auto n = read_count(r, x, 1024)) out.workers = static_cast<unsigned>(*n);
       }},
      {"limits", [&](const Value& x) { read_limits(r, x, out.limits); }},
      {"timeouts", [&](const Value& x) { read_timeouts(r, x, out.timeouts); }},
  });
  if (listen_at && public_url_ok && !is_loopback(out.listen.host) && out.public_url.starts_with("http://")) {
    r.warning(*listen_at,
              "binds a non-loopback address while server.public_url is http://, so tokens, API keys and "
              "connect links would cross the network in clear text; put TLS in front and use an https:// "
              "public_url, or listen on a loopback address");
  }
}

}  // namespace tollgate::config::detail
