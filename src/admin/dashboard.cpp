// The ops dashboard. The admin key is posted once to a login form and traded
// for a session cookie: an expiry, a nonce and an HMAC of both under a key
// derived from the admin key. The cookie is not the admin key, needs no server
// state (so any replica sharing the admin key accepts it), and stops working
// when the admin key changes. Pages and scripts come from the binary; the CSP
// allows nothing but this origin and forbids framing.
#include <algorithm>
#include <chrono>

#include <boost/beast/http/field.hpp>
#include <boost/json.hpp>

#include "dashboard_assets.hpp"
#include "tollgate/admin/ops.hpp"
#include "tollgate/crypto/encoding.hpp"
#include "tollgate/crypto/hash.hpp"
#include "tollgate/crypto/random.hpp"
#include "tollgate/http/exchange.hpp"
#include "tollgate/http/query.hpp"
#include "tollgate/ops/instruments.hpp"
#include "tollgate/ops/log.hpp"

namespace tollgate::admin {
namespace {

namespace bhttp = boost::beast::http;
namespace json = boost::json;
using boost::asio::awaitable;

constexpr std::string_view kCookie = "tollgate_dashboard";
constexpr std::int64_t kSessionSeconds = 12 * 3600;

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

class Sessions {
 public:
  explicit Sessions(const crypto::Secret& admin_key)
      : key_(crypto::hmac_sha256(admin_key.reveal(), "tollgate dashboard session v1")) {}

  // "<expiry>.<nonce>.<mac>"
  std::string issue() const {
    std::string payload = std::to_string(unix_now() + kSessionSeconds) + "." + crypto::base64url_encode(crypto::random_bytes(16));
    return payload + "." + crypto::base64url_encode(crypto::hmac_sha256(key_, payload));
  }

  bool valid(std::string_view value) const {
    auto dot = value.rfind('.');
    if (dot == std::string_view::npos) return false;
    auto payload = value.substr(0, dot);
    auto expected = crypto::base64url_encode(crypto::hmac_sha256(key_, payload));
    if (!crypto::constant_time_equal(expected, value.substr(dot + 1))) return false;
    std::int64_t expiry = 0;
    for (char c : payload.substr(0, payload.find('.'))) {
      if (c < '0' || c > '9') return false;
      expiry = expiry * 10 + (c - '0');
    }
    return expiry > unix_now();
  }

 private:
  std::string key_;
};

bool secure_origin(const http::Exchange& ex) { return ex.config().server.public_url.starts_with("https://"); }

std::string session_cookie(const http::Exchange& ex, std::string_view value, std::int64_t max_age) {
  std::string c = std::string(kCookie) + "=" + std::string(value) + "; Path=/dashboard; Max-Age=" +
                  std::to_string(max_age) + "; HttpOnly; SameSite=Strict";
  if (secure_origin(ex)) c += "; Secure";
  return c;
}

// What every dashboard answer carries.
void harden(http::Response& res) {
  res.set("Content-Security-Policy",
          "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
          "form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
  res.set("X-Frame-Options", "DENY");
  res.set("X-Content-Type-Options", "nosniff");
  // same-origin, not no-referrer: with no-referrer browsers send `Origin: null`
  // on the login POST, and the origin check below needs the real one.
  res.set("Referrer-Policy", "same-origin");
  res.set(bhttp::field::cache_control, "no-store");
}

std::string html_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

awaitable<void> respond_asset(http::Exchange& ex, unsigned status, std::string_view name,
                              std::optional<std::string> set_cookie = std::nullopt, std::string_view message = {}) {
  auto asset = dashboard_asset(name);
  if (!asset) co_return co_await ex.respond_error(errors::Code::not_found, "no such dashboard file");
  http::Response res{static_cast<bhttp::status>(status), 11};
  res.set(bhttp::field::content_type, asset->content_type);
  std::string body(asset->content);
  if (auto at = body.find("<!--message-->"); at != std::string::npos)
    body.replace(at, 14, message.empty() ? std::string() : "<p class=\"problem\">" + html_escape(message) + "</p>");
  res.body() = std::move(body);
  if (set_cookie) res.set(bhttp::field::set_cookie, *set_cookie);
  harden(res);
  res.prepare_payload();
  co_await ex.respond(std::move(res));
}

awaitable<void> see_dashboard(http::Exchange& ex, std::string cookie) {
  http::Response res{bhttp::status::see_other, 11};
  res.set(bhttp::field::location, "/dashboard");
  res.set(bhttp::field::set_cookie, cookie);
  harden(res);
  res.prepare_payload();
  co_await ex.respond(std::move(res));
}

// A cross-site POST is refused: when the browser says where the form came
// from, it must be this origin (SameSite=Strict covers the cookie; this covers
// login CSRF).
bool same_origin(const http::Exchange& ex) {
  auto origin = ex.request()["Origin"];
  if (origin.empty()) return true;
  auto host = ex.request()["Host"];
  std::string_view o(origin.data(), origin.size());
  std::string_view h(host.data(), host.size());
  return o == "http://" + std::string(h) || o == "https://" + std::string(h) ||
         o == ex.config().server.public_url;
}

// ---- the stats the page polls ----

json::object sum_by(const ops::FamilySnapshot& f, std::string_view label) {
  json::object out;
  for (const auto& s : f.samples) {
    auto key = s.label(label);
    auto& slot = out[key];
    slot = (slot.is_null() ? 0.0 : slot.as_double()) + s.value;
  }
  return out;
}

json::array ranked(const json::object& totals, std::string_view key_name) {
  std::vector<std::pair<std::string, double>> rows;
  for (const auto& [k, v] : totals) rows.emplace_back(std::string(k), v.as_double());
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second > b.second || (a.second == b.second && a.first < b.first); });
  json::array out;
  for (const auto& [k, v] : rows) out.push_back(json::object{{key_name, k}, {"requests", v}});
  return out;
}

double total(const ops::FamilySnapshot& f) {
  double t = 0;
  for (const auto& s : f.samples) t += f.type == ops::FamilySnapshot::Type::histogram ? static_cast<double>(s.count) : s.value;
  return t;
}

json::object histogram_json(const ops::FamilySnapshot& f) {
  std::vector<std::uint64_t> buckets(f.bounds.size() + 1, 0);
  double sum = 0;
  for (const auto& s : f.samples) {
    for (std::size_t i = 0; i < buckets.size() && i < s.buckets.size(); ++i) buckets[i] += s.buckets[i];
    sum += s.sum;
  }
  json::array b, c;
  for (double x : f.bounds) b.push_back(x);
  for (auto x : buckets) c.push_back(x);
  return json::object{{"bounds", std::move(b)}, {"cumulative", std::move(c)}, {"sum", sum}};
}

std::string stats_json() {
  json::object out;
  out["time"] = unix_now();
  for (const auto& f : ops::Registry::global().snapshot()) {
    const std::string_view name = f.name;
    if (name == ops::metric::http_requests) {
      out["requests_total"] = total(f);
      out["requests_by_class"] = sum_by(f, "status_class");
      out["tenants"] = ranked(sum_by(f, "tenant"), "tenant");
      out["providers"] = ranked(sum_by(f, "provider"), "provider");
    } else if (name == ops::metric::errors) {
      out["tollgate_errors_total"] = total(f);
      json::object by_code;
      for (const auto& s : f.samples)
        if (s.value > 0) by_code[s.label("code")] = s.value;
      out["tollgate_errors_by_code"] = std::move(by_code);
    } else if (name == ops::metric::http_request_duration) {
      out["latency"] = histogram_json(f);
    } else if (name == ops::metric::upstream_duration) {
      out["upstream_latency"] = histogram_json(f);
    } else if (name == ops::metric::refreshes) {
      out["refreshes_total"] = total(f);
    } else if (name == ops::metric::refresh_failures) {
      out["refresh_failures_total"] = total(f);
    } else if (name == ops::metric::auth_configs) {
      out["auth_configs"] = sum_by(f, "status");
    } else if (name == ops::metric::setup_sessions) {
      out["setup_sessions"] = sum_by(f, "status");
    } else if (name == ops::metric::http_connections) {
      out["connections"] = total(f);
    } else if (name == ops::metric::resident_memory) {
      out["resident_memory_bytes"] = total(f);
    } else if (name == ops::metric::start_time) {
      out["started"] = total(f);
    }
  }
  return json::serialize(out);
}

}  // namespace

void add_dashboard_routes(http::Router& router, DashboardOptions options) {
  ops::declare_tollgate_metrics();
  auto sessions = std::make_shared<Sessions>(options.admin_key);
  auto* authenticator = &options.auth;
  auto signed_in = [sessions](const http::Exchange& ex) {
    auto c = ex.cookie(kCookie);
    return c && sessions->valid(*c);
  };

  router.add("GET", "/dashboard", [signed_in](http::Exchange& ex) -> awaitable<void> {
    if (signed_in(ex)) {
      ex.set_tenant("admin");
      co_return co_await respond_asset(ex, 200, "index.html");
    }
    co_await respond_asset(ex, 200, "login.html");
  });

  router.add("POST", "/dashboard/login", [sessions, authenticator](http::Exchange& ex) -> awaitable<void> {
    if (!same_origin(ex)) co_return co_await respond_asset(ex, 403, "login.html", std::nullopt, "this form must be sent from this site");
    auto body = co_await ex.read_body();
    if (!body) co_return;
    auto key = http::query_param(*body, "admin_key").value_or("");
    bool admin = false;
    if (!key.empty()) {
      std::string header = "Bearer " + key;
      auto who = co_await authenticator->authenticate(header);
      auto* principal = std::get_if<auth::Principal>(&who);
      admin = principal && principal->is_admin();
      std::fill(header.begin(), header.end(), '\0');
    }
    // Overwrite the copy of the key before the buffers go back to the allocator.
    std::fill(key.begin(), key.end(), '\0');
    std::fill(body->begin(), body->end(), '\0');
    if (!admin) {
      ops::log_warn("dashboard: sign-in refused", {{"request_id", ex.request_id()}});
      co_return co_await respond_asset(ex, 401, "login.html", std::nullopt, "that is not the admin key");
    }
    ex.set_tenant("admin");
    co_await see_dashboard(ex, session_cookie(ex, sessions->issue(), kSessionSeconds));
  });

  router.add("POST", "/dashboard/logout", [](http::Exchange& ex) -> awaitable<void> {
    if (!same_origin(ex)) co_return co_await ex.respond_error(errors::Code::forbidden, "cross-site request refused");
    co_await see_dashboard(ex, session_cookie(ex, "", 0));
  });

  router.add("GET", "/dashboard/api/stats", [signed_in](http::Exchange& ex) -> awaitable<void> {
    if (!signed_in(ex))
      co_return co_await ex.respond_error(errors::Code::unauthenticated, "sign in to the dashboard first");
    ex.set_tenant("admin");
    http::Response res{bhttp::status::ok, 11};
    res.set(bhttp::field::content_type, "application/json");
    res.body() = stats_json();
    harden(res);
    res.prepare_payload();
    co_await ex.respond(std::move(res));
  });

  router.add("GET", "/dashboard/assets/{name}", [](http::Exchange& ex) -> awaitable<void> {
    auto name = ex.param("name");
    if (name.ends_with(".html")) co_return co_await ex.respond_error(errors::Code::not_found, "no such dashboard file");
    co_await respond_asset(ex, 200, name);
  });
}

}  // namespace tollgate::admin
