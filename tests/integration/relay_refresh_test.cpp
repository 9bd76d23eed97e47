// The relay's refresh on the hot path (SPEC §5 "Refresh", "Store outage")
// against oidc-provider issuing short-lived access tokens and a resource
// server that checks every token by introspection, answering 401 once it has
// expired — the way a real API behaves.
#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "connect_world.hpp"
#include "redis_process.hpp"
#include "upstream_peer.hpp"

namespace tollgate::test {
namespace {

using namespace connect_world;
using namespace std::chrono_literals;

// An API whose tokens are checked at the authorization server on every call.
class ResourceServer {
 public:
  explicit ResourceServer(const OidcPeer& oidc) {
    peer.on([this, port = oidc.port(), target = oidc.target_of(oidc.introspection_endpoint())](const PeerRequest& r) {
      auto auth = r.header("Authorization");
      std::string token = auth.rfind("Bearer ", 0) == 0 ? auth.substr(7) : "";
      const bool active = introspect(port, target, token);
      {
        std::lock_guard lock(mutex_);
        seen_.push_back({token, active});
      }
      if (!active)
        return Reply::json(401, R"({"error":"invalid_token"})")
            .with_header("WWW-Authenticate", "Bearer error=\"invalid_token\"");
      return Reply::json(200, R"({"ok":true})");
    });
  }

  static bool introspect(std::uint16_t port, const std::string& target, const std::string& token) {
    return token_active(port, target, token);
  }

  struct Seen {
    std::string token;
    bool active = false;
  };
  std::vector<Seen> seen() const {
    std::lock_guard lock(mutex_);
    return seen_;
  }

  UpstreamPeer peer;

 private:
  mutable std::mutex mutex_;
  std::vector<Seen> seen_;
};

// Token requests the authorization server has answered, by grant type.
int grants(const OidcPeer& oidc, const std::string& type) {
  auto r = http_request(oidc.port(), "GET", "/__stats");
  std::smatch m;
  std::regex re("\"" + type + "\":(\\d+)");
  return std::regex_search(r.body, m, re) ? std::stoi(m[1].str()) : 0;
}

// Providers on the resource server, sharing acme's app and tokens (aliases):
//   rs        the token response's expires_in is ignored, so tollgate cannot know
//             when a token expires and learns it from the 401
//   rs-known  expires_in as sent, for the proactive refresh
World::Extra resource_providers(ResourceServer*& rs) {
  return [&rs](World& w) {
    rs = new ResourceServer(w.peer);
    return "  rs:\n    alias: acme\n    api: {base_url: \"" + rs->peer.base_url() +
           "/api\"}\n    token_response: {expires_in_path: not_sent}\n"
           "  rs-known:\n    alias: acme\n    api: {base_url: \"" + rs->peer.base_url() + "/api\"}\n";
  };
}

HttpResponse relay_call(World& w, const std::string& pac, std::string_view method, const std::string& path,
                        std::string_view body = {}) {
  return http_request(w.tg->port(), method, path,
                      {{"Authorization", "Bearer " + w.key}, {"Tollgate-Auth-Config", pac},
                       {"Content-Type", "application/json"}},
                      body);
}

// Waits (on the authorization server's word) until `token` has expired.
bool expired(World& w, const std::string& token) {
  return eventually([&] { return !ResourceServer::introspect(w.peer.port(), w.peer.target_of(w.peer.introspection_endpoint()), token); },
                    20s);
}

// Connects an account through `rs`, makes one call, and waits until the token
// that call used has expired at the authorization server; the auth config id.
std::string connected_and_expired(World& w, ResourceServer& rs);

struct RefreshWorld {
  ResourceServer* rs = nullptr;
  World w;
  std::unique_ptr<ResourceServer> owner;
  explicit RefreshWorld(const std::string& relay_config, std::chrono::seconds ttl = 3s)
      : w(resource_providers(rs), relay_config, "", ttl), owner(rs) {}
};

std::string connected_and_expired(World& w, ResourceServer& rs) {
  auto pac = connect_account(w, "rs");
  REQUIRE(relay_call(w, pac, "GET", "/v1/proxy/rs/warm").status == 200);
  REQUIRE(expired(w, rs.seen().back().token));
  return pac;
}

TEST_CASE("relay refresh: an expired token is refreshed once and the call replayed, for a GET and a POST") {
  RefreshWorld world("relay:\n  refresh_margin: 0s\n");
  auto& w = world.w;
  auto& rs = *world.rs;
  auto pac = connected_and_expired(w, rs);
  const auto first = rs.seen().back().token;
  const int before = grants(w.peer, "refresh_token");

  const auto n = rs.seen().size();
  auto get = relay_call(w, pac, "GET", "/v1/proxy/rs/items?page=2");
  CHECK_MESSAGE(get.status == 200, get.body);
  CHECK(get.header("tollgate-refreshed") == "true");
  CHECK(grants(w.peer, "refresh_token") == before + 1);
  auto seen = rs.seen();
  REQUIRE(seen.size() == n + 2);
  CHECK(seen[n].token == first);
  CHECK_FALSE(seen[n].active);
  CHECK(seen[n + 1].active);
  CHECK(seen[n + 1].token != first);

  REQUIRE(expired(w, seen[n + 1].token));
  const auto m = rs.peer.requests().size();
  const std::string body = R"({"title":"a body that must arrive twice, byte for byte"})";
  auto post = relay_call(w, pac, "POST", "/v1/proxy/rs/items", body);
  CHECK_MESSAGE(post.status == 200, post.body);
  CHECK(grants(w.peer, "refresh_token") == before + 2);
  REQUIRE(rs.peer.wait_for_requests(m + 2));
  auto requests = rs.peer.requests();
  REQUIRE(requests.size() == m + 2);
  CHECK(requests[m].body_prefix == body);      // refused with the old token
  CHECK(requests[m + 1].body_prefix == body);  // the replay
  CHECK(requests[m + 1].method == "POST");
  CHECK(requests[m + 1].header("Content-Length") == std::to_string(body.size()));
  const auto logs = w.tg->logs();
  for (const auto& s : rs.seen()) CHECK(logs.find(s.token) == std::string::npos);
}

TEST_CASE("relay refresh: a body over relay.replay_limit is not replayed: the 401 comes back marked refreshed") {
  RefreshWorld world("relay:\n  refresh_margin: 0s\n  replay_limit: 1KiB\n");
  auto& w = world.w;
  auto& rs = *world.rs;
  auto pac = connected_and_expired(w, rs);
  const int before = grants(w.peer, "refresh_token");
  auto big = relay_call(w, pac, "POST", "/v1/proxy/rs/upload", std::string(4096, 'x'));
  CHECK(big.status == 401);
  CHECK(big.header("tollgate-refreshed") == "true");
  CHECK(big.body == R"({"error":"invalid_token"})");  // the provider's own answer
  CHECK(grants(w.peer, "refresh_token") == before + 1);
  auto next = relay_call(w, pac, "POST", "/v1/proxy/rs/upload", std::string(4096, 'x'));
  CHECK(next.status == 200);
  CHECK_FALSE(next.has_header("tollgate-refreshed"));
  CHECK(grants(w.peer, "refresh_token") == before + 1);
}

TEST_CASE("relay refresh: a token inside relay.refresh_margin is refreshed before the call") {
  // Tokens live 4 s; the margin is 3 s: a fresh token is used as is, then renewed
  // before the call once it is inside the margin, so the API never sees it again.
  RefreshWorld world("relay:\n  refresh_margin: 3s\n", 4s);
  auto& w = world.w;
  auto& rs = *world.rs;
  auto pac = connect_account(w, "rs-known");
  REQUIRE(relay_call(w, pac, "GET", "/v1/proxy/rs-known/a").status == 200);
  const auto first = rs.seen().back().token;
  const int before = grants(w.peer, "refresh_token");
  // Inside the margin by tollgate's own record of the expiry (shown to the
  // second, so one second of slack).
  auto ac = w.call("GET", "/v1/auth-configs/" + pac);
  const auto expires = field(ac.body, "expires_at");
  REQUIRE(!expires.empty());
  REQUIRE(eventually([&] {
    auto now = std::chrono::system_clock::now() + 2s;
    std::time_t t = std::chrono::system_clock::to_time_t(now);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    return std::string(text) >= expires;
  }, 10s));
  auto r = relay_call(w, pac, "GET", "/v1/proxy/rs-known/b");
  CHECK(r.status == 200);
  CHECK_FALSE(r.has_header("tollgate-refreshed"));  // proactive, not after a 401
  CHECK(grants(w.peer, "refresh_token") == before + 1);
  auto seen = rs.seen();
  REQUIRE(seen.size() == 2);
  CHECK(seen[1].token != first);
  CHECK(seen[1].active);  // never a 401: the old token did not reach the API again
}

TEST_CASE("relay refresh: 100 concurrent calls on one expired token make one token request and all succeed") {
  RefreshWorld world("relay:\n  refresh_margin: 0s\n");
  auto& w = world.w;
  auto& rs = *world.rs;
  auto pac = connected_and_expired(w, rs);
  const int before = grants(w.peer, "refresh_token");
  std::atomic<int> ok{0};
  std::vector<std::thread> callers;
  for (int i = 0; i < 100; ++i)
    callers.emplace_back([&] { ok += relay_call(w, pac, "GET", "/v1/proxy/rs/storm").status == 200; });
  for (auto& t : callers) t.join();
  CHECK(ok == 100);
  CHECK(grants(w.peer, "refresh_token") == before + 1);
  // One token request, counted once in the metrics whatever the number of waiters.
  auto metrics = http_request(w.tg->port(), "GET", "/metrics").body;
  CHECK(metrics.find("\ntollgate_token_refreshes_total{provider=\"rs\"} 1\n") != std::string::npos);
}

TEST_CASE("relay refresh: with Redis stopped, calls whose key and credentials are cached keep working") {
  RedisProcess redis;
  ResourceServer* raw = nullptr;
  World w(resource_providers(raw),
          "store:\n  kind: redis\n  redis: {url: \"" + redis.url() + "\", command_timeout: 300ms}\n"
          "relay:\n  refresh_margin: 0s\n",
          "", 60s);
  std::unique_ptr<ResourceServer> rs(raw);
  auto pac = connect_account(w, "rs");
  REQUIRE(relay_call(w, pac, "GET", "/v1/proxy/rs/before").status == 200);
  redis.stop();
  for (int i = 0; i < 5; ++i) {
    auto r = relay_call(w, pac, "GET", "/v1/proxy/rs/during");
    CHECK_MESSAGE(r.status == 200, r.body);
  }
  // What needs the store says so.
  auto listed = w.call("GET", "/v1/auth-configs");
  CHECK(listed.status == 503);
  CHECK(listed.header("tollgate-error") == "store_unavailable");
}

}  // namespace
}  // namespace tollgate::test
