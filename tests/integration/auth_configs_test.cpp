// Auth configs and the refresh grant against a real authorization server
// (SPEC §4 "Auth config", "Import"; §5 "Refresh").
#include <doctest/doctest.h>

#include <atomic>
#include <regex>
#include <thread>

#include "connect_world.hpp"
#include "script_server.hpp"

using namespace tollgate::test;
using namespace tollgate::test::connect_world;

namespace {

// node tests/peers/delay_proxy.mjs: forwards to `target` after `delay`, counts requests per path.
class DelayProxy {
 public:
  DelayProxy(const std::string& target, std::chrono::milliseconds delay) : port_(free_port()) {
    process_ = std::make_unique<Process>(
        std::vector<std::string>{"node", std::string(TOLLGATE_SOURCE_DIR) + "/tests/peers/delay_proxy.mjs", "--port",
                                 std::to_string(port_), "--target", target, "--delay", std::to_string(delay.count())},
        dir_.path());
    if (!process_->wait_for_output("READY", 20s)) throw std::runtime_error("delay proxy did not start");
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  int count(const std::string& path) const {
    auto stats = http_request(port_, "GET", "/__stats").body;
    std::smatch m;
    return std::regex_search(stats, m, std::regex("\"" + path + "\":(\\d+)")) ? std::stoi(m[1]) : 0;
  }

 private:
  TempDir dir_;
  std::uint16_t port_;
  std::unique_ptr<Process> process_;
};

void set_own_app(World& w, const std::string& provider) {
  const auto& own = OidcPeer::own_client();
  REQUIRE(w.call("PUT", "/v1/providers/" + provider + "/app",
                 "{\"client_id\":\"" + own.id + "\",\"client_secret\":\"" + own.secret + "\"}").status == 200);
}

bool introspect_active(World& w, const std::string& token) {
  const auto& own = OidcPeer::own_client();
  auto r = http_request(w.peer.port(), "POST", w.peer.target_of(w.peer.introspection_endpoint()),
                        {{"Authorization", basic_authorization(own)},
                         {"Content-Type", "application/x-www-form-urlencoded"}},
                        "token=" + form_encode(token));
  return r.body.find("\"active\":true") != std::string::npos;
}

}  // namespace

TEST_CASE("auth configs: 50 concurrent forced refreshes share one token request, and the newest refresh token is kept") {
  std::unique_ptr<DelayProxy> proxy;
  World w(World::Extra([&](World& self) {
    proxy = std::make_unique<DelayProxy>(self.peer.issuer(), 2000ms);
    return "  slow:\n    alias: acme\n    token_url: " + proxy->url("/token") + "\n";
  }));
  auto pac = connect_account(w, "slow");
  REQUIRE(proxy->count("/token") == 1);  // the code exchange

  std::atomic<int> ok{0};
  std::vector<std::string> bodies(50);
  std::vector<std::thread> callers;
  for (int i = 0; i < 50; ++i)
    callers.emplace_back([&, i] {
      auto r = w.call("POST", "/v1/auth-configs/" + pac + "/refresh");
      bodies[i] = r.body;
      if (r.status == 200) ++ok;
    });
  for (auto& t : callers) t.join();
  CHECK(ok == 50);
  CHECK(proxy->count("/token") == 2);  // exactly one refresh for all 50
  const auto refreshed_at = field(bodies[0], "last_refreshed_at");
  CHECK_FALSE(refreshed_at.empty());
  for (const auto& b : bodies) CHECK(field(b, "last_refreshed_at") == refreshed_at);
  // The stored refresh token is the rotated one: reusing an older one would make
  // the server revoke the whole grant, and this refresh would fail.
  auto again = w.call("POST", "/v1/auth-configs/" + pac + "/refresh");
  CHECK(again.status == 200);
  CHECK(field(again.body, "status") == "active");
  CHECK(proxy->count("/token") == 3);
}

TEST_CASE("auth configs: a token response without refresh_token keeps the old one") {
  const std::string body = R"({"access_token":"fresh-access","token_type":"Bearer","expires_in":3600})";
  ScriptServer token_endpoint({reply("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                                     std::to_string(body.size()) + "\r\n\r\n" + body)});
  World w("  local:\n    alias: acme\n    token_url: " + token_endpoint.url("/token") + "\n");
  auto imported = w.call("POST", "/v1/auth-configs",
                         R"({"provider":"local","external_user_id":"u","credentials":{"access_token":"old-access","refresh_token":"RT-original-1"}})");
  REQUIRE_MESSAGE(imported.status == 201, imported.body);
  auto pac = field(imported.body, "id");
  CHECK(w.call("POST", "/v1/auth-configs/" + pac + "/refresh").status == 200);
  CHECK(w.call("POST", "/v1/auth-configs/" + pac + "/refresh").status == 200);
  auto requests = token_endpoint.requests();
  REQUIRE(requests.size() == 2);
  for (const auto& r : requests) {
    CHECK(r.body.find("grant_type=refresh_token") != std::string::npos);
    CHECK(r.body.find("refresh_token=RT-original-1") != std::string::npos);
  }
}

TEST_CASE("auth configs: invalid_grant marks needs_reauth — an unreachable token endpoint is refresh_failed and stays active") {
  auto dead_port = free_port();
  World w("  gone:\n    alias: acme\n    token_url: http://127.0.0.1:" + std::to_string(dead_port) + "/token\n");
  auto bogus = w.call("POST", "/v1/auth-configs",
                      R"({"provider":"acme","credentials":{"access_token":"a","refresh_token":"not-a-real-refresh-token"}})");
  REQUIRE(bogus.status == 201);
  auto pac = field(bogus.body, "id");
  auto refused = w.call("POST", "/v1/auth-configs/" + pac + "/refresh");
  CHECK(refused.status == 424);
  CHECK(refused.header("Tollgate-Error") == "reauth_required");
  CHECK(field(w.call("GET", "/v1/auth-configs/" + pac).body, "status") == "needs_reauth");

  auto unreachable = w.call("POST", "/v1/auth-configs",
                            R"({"provider":"gone","credentials":{"access_token":"a","refresh_token":"r"}})");
  auto pac2 = field(unreachable.body, "id");
  auto failed = w.call("POST", "/v1/auth-configs/" + pac2 + "/refresh");
  CHECK(failed.status == 502);
  CHECK(failed.header("Tollgate-Error") == "refresh_failed");
  CHECK(field(w.call("GET", "/v1/auth-configs/" + pac2).body, "status") == "active");
}

TEST_CASE("auth configs: token works in your-own mode, managed refuses, and DELETE revokes at the server") {
  World w;
  auto managed = connect_account(w, "acme");
  auto refused = w.call("GET", "/v1/auth-configs/" + managed + "/token");
  CHECK(refused.status == 403);
  CHECK(refused.header("Tollgate-Error") == "forbidden");

  set_own_app(w, "acme-own");
  auto own = connect_account(w, "acme-own");
  auto token = w.call("GET", "/v1/auth-configs/" + own + "/token");
  REQUIRE(token.status == 200);
  auto access = field(token.body, "access_token");
  REQUIRE_FALSE(access.empty());
  CHECK(token.header("Cache-Control") == "no-store");
  CHECK(introspect_active(w, access));

  auto deleted = w.call("DELETE", "/v1/auth-configs/" + own);
  REQUIRE(deleted.status == 200);
  CHECK(field(deleted.body, "status") == "revoked");
  CHECK(deleted.body.find(R"("revocation":{"attempted":true,"ok":true)") != std::string::npos);
  CHECK_FALSE(introspect_active(w, access));
  CHECK(field(w.call("GET", "/v1/auth-configs/" + own).body, "status") == "revoked");
  CHECK(w.call("GET", "/v1/auth-configs/" + own + "/token").status == 424);

  // Another tenant's id is not found.
  auto other = field(w.call("POST", "/v1/tenants", R"({"name":"O"})", kAdmin).body, "id");
  auto other_key = field(w.call("POST", "/v1/tenants/" + other + "/api-keys", "{}", kAdmin).body, "key");
  CHECK(w.call("GET", "/v1/auth-configs/" + managed, {}, other_key).status == 404);
}

TEST_CASE("auth configs: import verifies an API key when asked, and not when told not to") {
  ScriptServer api({reply("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")});
  World w("  keyed:\n    auth_mode: api_key\n    api: {base_url: \"" + api.url("") +
          "\"}\n    credentials: {header: x-api-key}\n    verification: {method: GET, path: /me}\n");
  auto refused = w.call("POST", "/v1/auth-configs", R"({"provider":"keyed","credentials":{"api_key":"sk-bad"}})");
  CHECK(refused.status == 400);
  CHECK(api.requests().size() == 1);
  CHECK(api.requests()[0].header("x-api-key") == "sk-bad");
  auto unverified = w.call("POST", "/v1/auth-configs",
                           R"({"provider":"keyed","verify":false,"credentials":{"api_key":"sk-unchecked"}})");
  CHECK(unverified.status == 201);
  CHECK(api.requests().size() == 1);
  CHECK(unverified.body.find("sk-unchecked") == std::string::npos);
}

TEST_CASE("auth configs: a client-credentials connection obtains and renews its token") {
  World w([](World& self) {
    return "  service:\n    auth_mode: oauth2_client_credentials\n    token_url: " + self.peer.token_endpoint() +
           "\n    token_endpoint_auth: client_secret_basic\n    default_scopes: [\"api:read\"]\n"
           "    api: {base_url: \"" + self.peer.issuer() + "\"}\n";
  });
  const auto& svc = OidcPeer::service_client();
  auto imported = w.call("POST", "/v1/auth-configs",
                         "{\"provider\":\"service\",\"credentials\":{\"client_id\":\"" + svc.id +
                             "\",\"client_secret\":\"" + svc.secret + "\"}}");
  REQUIRE_MESSAGE(imported.status == 201, imported.body);
  CHECK(imported.body.find("\"expires_at\":\"") != std::string::npos);
  auto pac = field(imported.body, "id");
  auto first = field(imported.body, "last_refreshed_at");
  auto renewed = w.call("POST", "/v1/auth-configs/" + pac + "/refresh");
  CHECK(renewed.status == 200);
  CHECK(field(renewed.body, "status") == "active");
  auto wrong = w.call("POST", "/v1/auth-configs",
                      "{\"provider\":\"service\",\"credentials\":{\"client_id\":\"" + svc.id +
                          "\",\"client_secret\":\"wrong\"}}");
  CHECK(wrong.status == 400);
  w.tg->stop();
  CHECK(w.tg->logs().find(svc.secret) == std::string::npos);
}

TEST_CASE("auth configs: tollgate oauth status, token and disconnect") {
  World w;
  set_own_app(w, "acme-own");
  auto own = connect_account(w, "acme-own");
  auto cli = [&](std::vector<std::string> args) {
    args.insert(args.begin(), TOLLGATE_BIN);
    args.insert(args.end(), {"--url", w.public_url, "--key", w.key});
    return run(args);
  };
  auto status = cli({"oauth", "status", "--provider", "acme-own"});
  CHECK(status.status == 0);
  CHECK(status.out.find(own) != std::string::npos);
  CHECK(status.out.find("active") != std::string::npos);
  auto token = cli({"oauth", "token", own});
  CHECK(token.status == 0);
  std::string access = token.out.substr(0, token.out.find('\n'));
  CHECK(introspect_active(w, access));
  auto gone = cli({"oauth", "disconnect", own});
  CHECK(gone.status == 0);
  CHECK(gone.out.find("revoked") != std::string::npos);
  CHECK_FALSE(introspect_active(w, access));
  auto after = cli({"oauth", "token", own});
  CHECK(after.status == 1);
  CHECK(after.err.find("reauth_required") != std::string::npos);
  CHECK(cli({"oauth", "token", "not-an-id"}).status == 2);
}
