// /metrics and /dashboard on a real tollgate (SPEC §4, §8): the exposition read
// by an npm Prometheus text-format parser, the dashboard's sign-in by raw
// HTTP, and the dashboard in Debian's chromium driven by playwright-core.
#include <doctest/doctest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <set>

#include "browser.hpp"
#include "connect_world.hpp"
#include "process.hpp"
#include "raw_http.hpp"
#include "tollgate_process.hpp"

using namespace tollgate::test;
using namespace tollgate::test::connect_world;
namespace json = boost::json;

namespace {

const std::string kPeers = std::string(TOLLGATE_SOURCE_DIR) + "/tests/peers";

// /metrics as parse-prometheus-text-format read it (tests/peers/scrape_metrics.mjs).
class Scrape {
 public:
  explicit Scrape(std::uint16_t port) {
    auto r = run({"node", kPeers + "/scrape_metrics.mjs", "--url", "http://127.0.0.1:" + std::to_string(port) + "/metrics"});
    REQUIRE_MESSAGE(r.status == 0, r.err);
    doc_ = json::parse(r.out).as_object();
  }

  const json::object* family(std::string_view name) const {
    for (const auto& f : doc_.at("families").as_array())
      if (f.as_object().at("name").as_string() == name) return &f.as_object();
    return nullptr;
  }
  std::string type(std::string_view name) const {
    auto* f = family(name);
    return f ? std::string(f->at("type").as_string()) : std::string("(absent)");
  }
  std::size_t samples(std::string_view name) const {
    if (type(name) == "HISTOGRAM") return histogram_series(name).size();
    auto* f = family(name);
    return f ? f->at("metrics").as_array().size() : 0;
  }
  // The value of the counter or gauge sample with exactly these labels; -1 when there is none.
  double value(std::string_view name, const std::map<std::string, std::string>& labels = {}) const {
    auto* f = family(name);
    if (!f) return -1;
    for (const auto& m : f->at("metrics").as_array()) {
      if (labels_of(m.as_object()) == labels) return std::stod(std::string(m.as_object().at("value").as_string()));
    }
    return -1;
  }
  // The _count of the histogram series with exactly these labels; -1 when there is none.
  double count(std::string_view name, const std::map<std::string, std::string>& labels = {}) const {
    for (const auto& s : histogram_series(name))
      if (labels_of(s.as_object()) == labels) return s.as_object().at("count").to_number<double>();
    return -1;
  }
  double count_sum(std::string_view name) const {
    double total = 0;
    for (const auto& s : histogram_series(name)) total += s.as_object().at("count").to_number<double>();
    return total;
  }

 private:
  static std::map<std::string, std::string> labels_of(const json::object& sample) {
    std::map<std::string, std::string> out;
    if (auto* l = sample.if_contains("labels"))
      for (const auto& [k, v] : l->as_object()) out.emplace(std::string(k), std::string(v.as_string()));
    return out;
  }
  json::array histogram_series(std::string_view name) const {
    auto& h = doc_.at("histograms").as_object();
    auto it = h.find(name);
    return it == h.end() ? json::array{} : it->value().as_array();
  }
  json::object doc_;
};

std::string json_field(const std::string& body, const std::string& name) { return field(body, name); }

}  // namespace

TEST_CASE("metrics: /metrics read by a Prometheus text-format parser has every family, with values that match the traffic") {
  World w;
  const std::string& tenant = w.tenant;
  auto bad_key = http_request(w.tg->port(), "GET", "/v1/providers", {{"Authorization", "Bearer tg_live_nope"}});
  REQUIRE(bad_key.status == 401);
  REQUIRE(http_request(w.tg->port(), "GET", "/v1/providers", {{"Authorization", "Bearer tg_live_nope2"}}).status == 401);
  REQUIRE(http_request(w.tg->port(), "GET", "/no-such-route").status == 404);
  for (int i = 0; i < 5; ++i) REQUIRE(w.call("GET", "/v1/providers").status == 200);
  for (int i = 0; i < 3; ++i) REQUIRE(w.call("GET", "/v1/auth-configs/pac_doesnotexist").status == 404);
  // One active auth config, one that a refresh refused turns needs_reauth, two pending setup sessions.
  REQUIRE(w.call("POST", "/v1/auth-configs", R"({"provider":"acme","credentials":{"access_token":"a"}})").status == 201);
  auto bogus = w.call("POST", "/v1/auth-configs",
                      R"({"provider":"acme","credentials":{"access_token":"a","refresh_token":"not-a-real-refresh-token"}})");
  REQUIRE(bogus.status == 201);
  REQUIRE(w.call("POST", "/v1/auth-configs/" + json_field(bogus.body, "id") + "/refresh").status == 424);
  w.session(R"({"provider":"acme"})");
  w.session(R"({"provider":"acme"})");

  // The store gauges are counted every few seconds: wait for them.
  std::unique_ptr<Scrape> s;
  REQUIRE(eventually(
      [&] {
        s = std::make_unique<Scrape>(w.tg->port());
        return s->value("tollgate_auth_configs", {{"status", "needs_reauth"}}) == 1 &&
               s->value("tollgate_setup_sessions", {{"status", "pending"}}) == 2;
      },
      30s));

  SUBCASE("every family is there with its type") {
    const std::map<std::string, std::string> types = {
        {"tollgate_http_requests_total", "COUNTER"},
        {"tollgate_http_request_duration_seconds", "HISTOGRAM"},
        {"tollgate_http_received_bytes_total", "COUNTER"},
        {"tollgate_http_sent_bytes_total", "COUNTER"},
        {"tollgate_errors_total", "COUNTER"},
        {"tollgate_upstream_request_duration_seconds", "HISTOGRAM"},
        {"tollgate_token_refreshes_total", "COUNTER"},
        {"tollgate_token_refresh_failures_total", "COUNTER"},
        {"tollgate_store_operation_duration_seconds", "HISTOGRAM"},
        {"tollgate_store_errors_total", "COUNTER"},
        {"tollgate_http_connections", "GAUGE"},
        {"tollgate_upstream_pool_connections", "GAUGE"},
        {"tollgate_setup_sessions", "GAUGE"},
        {"tollgate_auth_configs", "GAUGE"},
        {"tollgate_metering_pending_batches", "GAUGE"},
        {"tollgate_metering_journal_bytes", "GAUGE"},
        {"tollgate_process_resident_memory_bytes", "GAUGE"},
        {"tollgate_process_open_fds", "GAUGE"},
        {"tollgate_process_start_time_seconds", "GAUGE"},
        {"tollgate_build_info", "GAUGE"},
    };
    for (const auto& [name, type] : types) CHECK_MESSAGE(s->type(name) == type, name);
  }

  SUBCASE("requests by provider, status class and tenant, and tollgate's errors by code, are the test's traffic") {
    CHECK(s->value("tollgate_http_requests_total", {{"provider", "none"}, {"status_class", "2xx"}, {"tenant", tenant}}) == 5);
    // 3 missing auth configs and the refused refresh (its answer names no provider).
    CHECK(s->value("tollgate_http_requests_total", {{"provider", "none"}, {"status_class", "4xx"}, {"tenant", tenant}}) == 4);
    CHECK(s->value("tollgate_http_requests_total", {{"provider", "none"}, {"status_class", "4xx"}, {"tenant", "none"}}) == 3);
    CHECK(s->value("tollgate_http_requests_total", {{"provider", "acme"}, {"status_class", "2xx"}, {"tenant", tenant}}) == 4);
    CHECK(s->value("tollgate_errors_total", {{"code", "unauthenticated"}}) == 2);
    CHECK(s->value("tollgate_errors_total", {{"code", "not_found"}}) == 1);
    CHECK(s->value("tollgate_errors_total", {{"code", "auth_config_not_found"}}) == 3);
    CHECK(s->value("tollgate_errors_total", {{"code", "reauth_required"}}) == 1);
    CHECK(s->value("tollgate_errors_total", {{"code", "upstream_timeout"}}) == 0);  // every code, from the start
    CHECK(s->count("tollgate_http_request_duration_seconds", {{"provider", "acme"}}) == 4);
    CHECK(s->value("tollgate_http_sent_bytes_total", {{"provider", "acme"}}) > 0);
    CHECK(s->value("tollgate_http_received_bytes_total", {{"provider", "acme"}}) > 0);
  }

  SUBCASE("store operations are timed, and the store's gauges count by status") {
    CHECK(s->count("tollgate_store_operation_duration_seconds", {{"operation", "create_auth_config"}}) == 2);
    CHECK(s->count("tollgate_store_operation_duration_seconds", {{"operation", "create_setup_session"}}) == 2);
    // Valid keys are cached after their first lookup (README "Caches"): a few lookups, not one per request.
    CHECK(s->count("tollgate_store_operation_duration_seconds", {{"operation", "find_api_key_by_hash"}}) >= 1);
    CHECK(s->count("tollgate_store_operation_duration_seconds", {{"operation", "find_api_key_by_hash"}}) < 15);
    CHECK(s->count("tollgate_store_operation_duration_seconds", {{"operation", "count_auth_configs_by_status"}}) >= 1);
    CHECK(s->samples("tollgate_store_errors_total") == 0);  // SQLite never failed
    CHECK(s->value("tollgate_auth_configs", {{"status", "active"}}) == 1);
    CHECK(s->value("tollgate_auth_configs", {{"status", "revoked"}}) == 0);
    CHECK(s->value("tollgate_setup_sessions", {{"status", "completed"}}) == 0);
  }

  SUBCASE("the process gauges read /proc") {
    CHECK(s->value("tollgate_process_resident_memory_bytes") > 1e6);
    CHECK(s->value("tollgate_process_open_fds") >= 5);
    CHECK(s->value("tollgate_http_connections") >= 1);  // the scrape's own
    const double now = static_cast<double>(std::time(nullptr));
    CHECK(s->value("tollgate_process_start_time_seconds") > now - 600);
    CHECK(s->value("tollgate_process_start_time_seconds") <= now + 1);
    CHECK(s->samples("tollgate_build_info") == 1);
  }

  SUBCASE("the exposition holds no key, token or secret") {
    auto text = http_request(w.tg->port(), "GET", "/metrics").body;
    CHECK(text.find(w.key) == std::string::npos);
    CHECK(text.find(kAdmin) == std::string::npos);
    CHECK(text.find("not-a-real-refresh-token") == std::string::npos);
    CHECK(text.find(OidcPeer::managed_client().secret) == std::string::npos);
  }
}

TEST_CASE("metrics: tenants past the label cap fold into other, so the series stay bounded") {
  const std::string admin = "tg_admin_metrics_fold_0123456789";
  TollgateProcess tg({}, {{"TOLLGATE_ADMIN_KEY", admin}});
  auto call = [&](std::string_view method, const std::string& target, const std::string& key, std::string_view body = {}) {
    return http_request(tg.port(), method, target, {{"Authorization", "Bearer " + key}}, body);
  };
  constexpr int kTenants = 53;  // ops::kMaxTenants is 50
  for (int i = 0; i < kTenants; ++i) {
    auto id = field(call("POST", "/v1/tenants", admin, R"({"name":"t)" + std::to_string(i) + "\"}").body, "id");
    auto key = field(call("POST", "/v1/tenants/" + id + "/api-keys", admin, "{}").body, "key");
    REQUIRE(call("GET", "/v1/providers", key).status == 200);
  }
  Scrape s(tg.port());
  auto* f = s.family("tollgate_http_requests_total");
  REQUIRE(f);
  std::set<std::string> tenants;
  for (const auto& m : f->at("metrics").as_array()) tenants.insert(std::string(m.as_object().at("labels").as_object().at("tenant").as_string()));
  // The first 50 tenants keep their ids; "admin" and "none" never fold; the last 3 are "other".
  CHECK(tenants.size() == 52);  // 50 tenants, "admin", "other"
  CHECK(tenants.count("admin") == 1);
  CHECK(tenants.count("other") == 1);
  CHECK(s.value("tollgate_http_requests_total", {{"provider", "none"}, {"status_class", "2xx"}, {"tenant", "other"}}) == kTenants - 50);
}

TEST_CASE("dashboard: the admin key is traded for an HttpOnly SameSite=Strict session cookie that alone opens the stats") {
  const std::string admin = "tg_admin_dashboard_0123456789abcdef";
  TollgateProcess tg({}, {{"TOLLGATE_ADMIN_KEY", admin}});
  const std::string base = "http://127.0.0.1:" + std::to_string(tg.port());
  Browser b;

  auto login = b.get(base + "/dashboard");
  REQUIRE(login.status == 200);
  CHECK(login.body.find("name=\"admin_key\"") != std::string::npos);
  const auto csp = login.header("Content-Security-Policy");
  CHECK(csp.find("default-src 'none'") != std::string::npos);
  CHECK(csp.find("script-src 'self'") != std::string::npos);
  CHECK(csp.find("frame-ancestors 'none'") != std::string::npos);
  CHECK(login.header("X-Frame-Options") == "DENY");
  CHECK(b.get(base + "/dashboard/api/stats").status == 401);

  auto wrong = b.post_form(base + "/dashboard/login", {{"admin_key", "not-the-key"}});
  CHECK(wrong.status == 401);
  CHECK_FALSE(wrong.has_header("Set-Cookie"));
  CHECK(wrong.body.find("not the admin key") != std::string::npos);
  // A tenant key is not the admin key either.
  auto tenant_id = field(http_request(tg.port(), "POST", "/v1/tenants", {{"Authorization", "Bearer " + admin}}, R"({"name":"T"})").body, "id");
  auto tenant_key = field(http_request(tg.port(), "POST", "/v1/tenants/" + tenant_id + "/api-keys", {{"Authorization", "Bearer " + admin}}, "{}").body, "key");
  CHECK(b.post_form(base + "/dashboard/login", {{"admin_key", tenant_key}}).status == 401);
  CHECK(b.post_form(base + "/dashboard/login", {{"admin_key", admin}}, {{"Origin", "http://evil.example"}}).status == 403);
  CHECK_FALSE(b.cookie(base + "/dashboard", "tollgate_dashboard"));

  auto ok = b.post_form(base + "/dashboard/login", {{"admin_key", admin}}, {{"Origin", base}});
  REQUIRE(ok.status == 303);
  CHECK(ok.header("Location") == "/dashboard");
  const auto set_cookie = ok.header("Set-Cookie");
  CHECK(set_cookie.find("HttpOnly") != std::string::npos);
  CHECK(set_cookie.find("SameSite=Strict") != std::string::npos);
  CHECK(set_cookie.find("Path=/dashboard") != std::string::npos);
  CHECK(set_cookie.find("Secure") == std::string::npos);  // public_url is http here
  auto session = b.cookie(base + "/dashboard", "tollgate_dashboard");
  REQUIRE(session);
  CHECK(session->find(admin) == std::string::npos);
  CHECK(tg.logs().find(admin) == std::string::npos);

  auto page = b.get(base + "/dashboard");
  CHECK(page.body.find("<script src=\"/dashboard/assets/app.js\"") != std::string::npos);
  auto stats = b.get(base + "/dashboard/api/stats");
  REQUIRE(stats.status == 200);
  auto doc = json::parse(stats.body).as_object();
  CHECK(doc.at("requests_total").to_number<double>() >= 5);
  CHECK(doc.contains("latency"));

  // A cookie altered by one character is refused.
  auto tampered = *session;
  tampered.back() = tampered.back() == 'A' ? 'B' : 'A';
  CHECK(http_request(tg.port(), "GET", "/dashboard/api/stats", {{"Cookie", "tollgate_dashboard=" + tampered}}).status == 401);
  CHECK(http_request(tg.port(), "GET", "/dashboard/api/stats", {{"Cookie", "tollgate_dashboard=" + *session}}).status == 200);

  // The assets come from the binary and name no other host.
  for (std::string asset : {"app.js", "app.css"}) {
    auto r = b.get(base + "/dashboard/assets/" + asset);
    CHECK(r.status == 200);
    CHECK(r.body.find("http://") == std::string::npos);
    CHECK(r.body.find("https://") == std::string::npos);
  }
  CHECK(b.get(base + "/dashboard/assets/app.js").header("Content-Type").starts_with("text/javascript"));
  CHECK(b.get(base + "/dashboard/assets/nope.js").status == 404);

  auto out = b.post_form(base + "/dashboard/logout", {}, {{"Origin", base}});
  CHECK(out.status == 303);
  CHECK(out.header("Set-Cookie").find("Max-Age=0") != std::string::npos);
}

TEST_CASE("dashboard: the session cookie is Secure when public_url is https") {
  const std::string admin = "tg_admin_dashboard_https_0123456789";
  TollgateProcess tg("server:\n  listen: 127.0.0.1:0\n  public_url: https://tollgate.example.com\n  workers: 1\n",
                     {{"TOLLGATE_ADMIN_KEY", admin}});
  auto ok = http_request(tg.port(), "POST", "/dashboard/login",
                         {{"Content-Type", "application/x-www-form-urlencoded"}}, "admin_key=" + form_encode(admin));
  REQUIRE(ok.status == 303);
  CHECK(ok.header("Set-Cookie").find("; Secure") != std::string::npos);
}

TEST_CASE("dashboard: chromium signs in, watches generated traffic fill the charts, and shows the tenant's request count") {
  REQUIRE_MESSAGE(std::filesystem::exists("/usr/bin/chromium"), "Debian's chromium is missing: scripts/deps.sh --test installs it");
  const std::string admin = "tg_admin_dashboard_browser_0123456789";
  TollgateProcess tg({}, {{"TOLLGATE_ADMIN_KEY", admin}});
  auto call = [&](std::string_view method, const std::string& target, std::string_view body = {}) {
    return http_request(tg.port(), method, target, {{"Authorization", "Bearer " + admin}}, body);
  };
  auto tenant = field(call("POST", "/v1/tenants", R"({"name":"Browser"})").body, "id");
  auto key = field(call("POST", "/v1/tenants/" + tenant + "/api-keys", "{}").body, "key");
  REQUIRE(!key.empty());

  const auto out_dir = std::filesystem::current_path() / "test-output";
  std::filesystem::create_directories(out_dir);
  const auto screenshot = out_dir / "dashboard.png";
  std::filesystem::remove(screenshot);
  TempDir profile;
  constexpr int kRequests = 37;
  auto r = run({"node", kPeers + "/dashboard_browser.mjs", "--url", "http://127.0.0.1:" + std::to_string(tg.port()),
                "--tenant", tenant, "--requests", std::to_string(kRequests), "--screenshot", screenshot.string(),
                "--profile", profile.path().string()},
               {{"TOLLGATE_ADMIN_KEY", admin}, {"TOLLGATE_TENANT_KEY", key}}, 100s);
  REQUIRE_MESSAGE(r.status == 0, (r.err + r.out));
  MESSAGE("dashboard screenshot: " << screenshot.string());
  auto doc = json::parse(r.out).as_object();
  auto& shown = doc.at("shown").as_object();
  CHECK(shown.at("tenant_requests").as_string() == std::to_string(kRequests));
  for (const auto& p : shown.at("points").as_array()) CHECK(p.to_number<int>() >= 3);
  CHECK(doc.at("foreign_requests").as_array().empty());
  CHECK_MESSAGE(doc.at("problems").as_array().empty(), json::serialize(doc.at("problems")));
  auto& cookie = doc.at("cookie").as_object();
  CHECK(cookie.at("httpOnly").as_bool());
  CHECK(cookie.at("sameSite").as_string() == "Strict");
  CHECK_FALSE(cookie.at("holds_admin_key").as_bool());
  REQUIRE(std::filesystem::exists(screenshot));
  CHECK(std::filesystem::file_size(screenshot) > 10'000);

  // What the page showed is what /metrics says.
  Scrape s(tg.port());
  CHECK(s.value("tollgate_http_requests_total", {{"provider", "none"}, {"status_class", "2xx"}, {"tenant", tenant}}) == kRequests);
}
