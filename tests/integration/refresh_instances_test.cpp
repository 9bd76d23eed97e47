// Refresh and cache coherence across instances (SPEC §5 "Refresh"; README
// "Refresh across instances"): two tollgate processes on one redis-server, a
// real authorization server (oidc-provider, which rotates refresh tokens and
// revokes the whole grant when a rotated-out one is used again) and an API
// that checks every token by introspection.
#include <doctest/doctest.h>

#include <signal.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "connect_world.hpp"
#include "redis_process.hpp"
#include "upstream_peer.hpp"

namespace tollgate::test {
namespace {

using namespace connect_world;
using namespace std::chrono_literals;

// An API whose tokens are checked at the authorization server on every call.
class TokenCheckingApi {
 public:
  explicit TokenCheckingApi(const OidcPeer& oidc) {
    peer.on([this, port = oidc.port(), target = oidc.target_of(oidc.introspection_endpoint())](const PeerRequest& r) {
      auto auth = r.header("Authorization");
      std::string token = auth.rfind("Bearer ", 0) == 0 ? auth.substr(7) : "";
      bool active = introspect(port, target, token);
      {
        std::lock_guard lock(mutex_);
        if (refused_.count(token)) active = false;
        last_good_ = active ? token : last_good_;
      }
      if (!active) return Reply::json(401, R"({"error":"invalid_token"})");
      return Reply::json(200, R"({"ok":true})");
    });
  }
  static bool introspect(std::uint16_t port, const std::string& target, const std::string& token) {
    return token_active(port, target, token);
  }
  std::string last_good() const {
    std::lock_guard lock(mutex_);
    return last_good_;
  }
  // From now on the API refuses the token it last accepted (as if it had expired).
  void refuse_current() {
    std::lock_guard lock(mutex_);
    refused_.insert(last_good_);
  }
  UpstreamPeer peer;

 private:
  mutable std::mutex mutex_;
  std::string last_good_;
  std::set<std::string> refused_;
};

int grants(const OidcPeer& oidc, const std::string& type) {
  auto r = http_request(oidc.port(), "GET", "/__stats");
  std::smatch m;
  return std::regex_search(r.body, m, std::regex("\"" + type + "\":(\\d+)")) ? std::stoi(m[1].str()) : 0;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A tollgate (A, the World's) and a second one (B) with the same config — the
// same Redis, master keys and admin key — on another port.
struct TwoInstances {
  RedisProcess redis;
  TokenCheckingApi* api = nullptr;
  World w;
  std::unique_ptr<TokenCheckingApi> api_owner;
  std::unique_ptr<TollgateProcess> b;

  TwoInstances()
      : w(
            [this](World& world) {
              api = new TokenCheckingApi(world.peer);
              // expires_in is not sent on: tollgate learns that a token died from the API's 401.
              return "  rs:\n    alias: acme\n    api: {base_url: \"" + api->peer.base_url() +
                     "/api\"}\n    token_response: {expires_in_path: not_sent}\n";
            },
            "store:\n  kind: redis\n  redis: {url: \"" + redis.url() + "\"}\nrelay:\n  refresh_margin: 0s\n", "",
            600s),
        api_owner(api) {
    start_b();
  }

  void start_b(std::map<std::string, std::optional<std::string>> env = {}) {
    std::string yaml = read_file(w.tg->config_path());
    yaml = std::regex_replace(yaml, std::regex("listen: 127\\.0\\.0\\.1:\\d+"), "listen: 127.0.0.1:0");
    yaml = std::regex_replace(yaml, std::regex("keys_file: data/master.keys"),
                              "keys_file: \"" + (w.tg->dir() / "data" / "master.keys").string() + "\"");
    env["TOLLGATE_ADMIN_KEY"] = kAdmin;
    b = std::make_unique<TollgateProcess>(yaml, env);
  }

  HttpResponse call(std::uint16_t port, const std::string& pac, const std::string& path = "/v1/proxy/rs/items") {
    return http_request(port, "GET", path, {{"Authorization", "Bearer " + w.key}, {"Tollgate-Auth-Config", pac}});
  }
  std::uint16_t a_port() const { return w.tg->port(); }
  std::uint16_t b_port() const { return b->port(); }
  std::string admin(std::uint16_t port, std::string_view method, const std::string& target) {
    return http_request(port, method, target, {{"Authorization", "Bearer " + kAdmin}, {"Tollgate-Tenant", w.tenant}})
        .body;
  }
  int refresh_grants() { return grants(w.peer, "refresh_token"); }
  std::string lock_key(const std::string& pac) const {
    return "tollgate:{" + w.tenant + "}:lock:refresh:" + pac;
  }
};

TEST_CASE("refresh storm: 200 calls on one refused token over two instances make exactly one token request, 20 times") {
  TwoInstances t;
  auto pac = connect_account(t.w, "rs");
  REQUIRE(t.call(t.a_port(), pac).status == 200);
  REQUIRE(t.call(t.b_port(), pac).status == 200);
  for (int round = 0; round < 20; ++round) {
    CAPTURE(round);
    t.api->refuse_current();
    const int before = t.refresh_grants();
    std::atomic<int> ok{0};
    std::mutex m;
    std::string failures;
    std::vector<std::thread> callers;
    for (int i = 0; i < 200; ++i)
      callers.emplace_back([&, i] {
        auto r = t.call(i % 2 ? t.a_port() : t.b_port(), pac);
        if (r.status == 200) ++ok;
        else {
          std::lock_guard lock(m);
          if (failures.size() < 2000) failures += std::to_string(r.status) + " " + r.body + "\n";
        }
      });
    for (auto& c : callers) c.join();
    CHECK_MESSAGE(ok == 200, failures);
    REQUIRE(t.refresh_grants() == before + 1);
  }
  // The stored refresh token is the newest: another refresh with it works (a
  // rotated-out one would make the provider revoke the grant: invalid_grant).
  auto forced = http_request(t.b_port(), "POST", "/v1/auth-configs/" + pac + "/refresh",
                             {{"Authorization", "Bearer " + t.w.key}});
  CHECK_MESSAGE(forced.status == 200, forced.body);
  CHECK(field(forced.body, "status") == "active");
  CHECK(t.call(t.a_port(), pac).status == 200);
}

TEST_CASE("refresh storm: a token endpoint slower than the lock's TTL still gets one request from two instances") {
  TwoInstances t;
  auto pac = connect_account(t.w, "rs");
  REQUIRE(t.call(t.a_port(), pac).status == 200);
  t.api->refuse_current();
  REQUIRE(http_request(t.w.peer.port(), "POST", "/__delay?ms=15000").status == 200);
  const int before = t.refresh_grants();
  std::atomic<int> ok{0};
  std::vector<std::thread> callers;
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 40; ++i)
    callers.emplace_back([&, i] { ok += t.call(i % 2 ? t.a_port() : t.b_port(), pac).status == 200; });
  for (auto& c : callers) c.join();
  CHECK(std::chrono::steady_clock::now() - started >= 14s);  // they did wait for the slow answer
  CHECK(ok == 40);
  CHECK(t.refresh_grants() == before + 1);
  REQUIRE(http_request(t.w.peer.port(), "POST", "/__delay?ms=0").status == 200);
}

// Starts a refresh on B that stops at `point`, waits until it is there, and kill -9s B.
void kill_b_during_refresh(TwoInstances& t, const std::string& pac, const std::string& point) {
  t.b.reset();
  t.start_b({{"TOLLGATE_TEST_REFRESH_PAUSE", point}});
  REQUIRE(t.call(t.b_port(), pac).status == 200);  // B has the key and connection cached
  t.api->refuse_current();
  std::thread caller([&t, pac, port = t.b_port()] {
    try {
      (void)t.call(port, pac);
    } catch (const std::exception&) {
      // B died under it: no answer is the point
    }
  });
  REQUIRE(t.b->process().wait_for_output("\"at\":\"" + point + "\"", 30s));
  t.b->process().signal(SIGKILL);
  t.b->process().wait(10s);
  caller.join();
}

TEST_CASE("refresh crash: a lock held by a killed process expires and the next refresh proceeds") {
  TwoInstances t;
  auto pac = connect_account(t.w, "rs");
  REQUIRE(t.call(t.a_port(), pac).status == 200);
  const int before = t.refresh_grants();
  kill_b_during_refresh(t, pac, "after_lock");
  CHECK(t.redis.command("EXISTS " + t.lock_key(pac)).find(":1") != std::string::npos);
  auto r = t.call(t.a_port(), pac);  // waits for the dead lock's TTL, then refreshes
  CHECK_MESSAGE(r.status == 200, r.body);
  CHECK(r.header("tollgate-refreshed") == "true");
  CHECK(t.refresh_grants() == before + 1);
}

TEST_CASE("refresh crash: killed before the token request, the auth config needs re-auth and the token is not sent") {
  TwoInstances t;
  auto pac = connect_account(t.w, "rs");
  REQUIRE(t.call(t.a_port(), pac).status == 200);
  const int before = t.refresh_grants();
  kill_b_during_refresh(t, pac, "before_request");
  CHECK(t.refresh_grants() == before);
  auto r = t.call(t.a_port(), pac);
  CHECK(r.status == 424);
  CHECK(r.header("tollgate-error") == "reauth_required");
  CHECK(t.refresh_grants() == before);  // the stored refresh token was never sent again
  auto ac = t.w.call("GET", "/v1/auth-configs/" + pac);
  CHECK(field(ac.body, "status") == "needs_reauth");
  CHECK(field(ac.body, "last_refresh_error").find("interrupted") != std::string::npos);
}

TEST_CASE("refresh crash: killed after the provider answered, the auth config needs re-auth and the old token is not reused") {
  TwoInstances t;
  auto pac = connect_account(t.w, "rs");
  REQUIRE(t.call(t.a_port(), pac).status == 200);
  const int before = t.refresh_grants();
  kill_b_during_refresh(t, pac, "after_answer");
  CHECK(t.refresh_grants() == before + 1);  // the provider rotated the refresh token; the answer died with B
  auto r = t.call(t.a_port(), pac);
  CHECK(r.status == 424);
  CHECK(t.refresh_grants() == before + 1);  // never sent again
  auto ac = t.w.call("GET", "/v1/auth-configs/" + pac);
  CHECK(field(ac.body, "status") == "needs_reauth");
}

TEST_CASE("refresh crash: killed after the write, the new tokens serve the other instance with no new request") {
  TwoInstances t;
  auto pac = connect_account(t.w, "rs");
  REQUIRE(t.call(t.a_port(), pac).status == 200);
  const int before = t.refresh_grants();
  kill_b_during_refresh(t, pac, "after_write");
  CHECK(t.refresh_grants() == before + 1);
  auto r = t.call(t.a_port(), pac);
  CHECK_MESSAGE(r.status == 200, r.body);
  CHECK(t.refresh_grants() == before + 1);
  auto ac = t.w.call("GET", "/v1/auth-configs/" + pac);
  CHECK(field(ac.body, "status") == "active");
  CHECK(ac.body.find("\"last_refresh_error\":null") != std::string::npos);
}

// Polls `call` until it answers `status`; how long that took.
template <typename Call>
std::chrono::milliseconds until_status(Call call, int status, std::chrono::milliseconds limit) {
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < limit) {
    if (call().status == status) break;
    std::this_thread::sleep_for(20ms);
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
}

TEST_CASE("cache coherence: a key or an auth config revoked on one instance is refused by the other within a second") {
  TwoInstances t;
  auto pac = connect_account(t.w, "rs");
  REQUIRE(t.call(t.b_port(), pac).status == 200);  // B caches the key and the connection
  REQUIRE(t.call(t.b_port(), pac).status == 200);

  // The auth config, disconnected on A.
  auto deleted = http_request(t.a_port(), "DELETE", "/v1/auth-configs/" + pac, {{"Authorization", "Bearer " + t.w.key}});
  REQUIRE(deleted.status == 200);
  auto took = until_status([&] { return t.call(t.b_port(), pac); }, 424, 3s);
  CHECK(took < 1s);

  // The tenant key, revoked on A.
  auto pac2 = connect_account(t.w, "rs");
  REQUIRE(t.call(t.b_port(), pac2).status == 200);
  const std::string listed = t.admin(t.a_port(), "GET", "/v1/tenants/" + t.w.tenant + "/api-keys");
  const std::string key_id = field(listed, "id");
  REQUIRE(!key_id.empty());
  auto revoked = http_request(t.a_port(), "DELETE", "/v1/api-keys/" + key_id, {{"Authorization", "Bearer " + kAdmin}});
  REQUIRE_MESSAGE(revoked.status == 200, revoked.body);
  took = until_status([&] { return t.call(t.b_port(), pac2); }, 401, 3s);
  CHECK(took < 1s);
}

TEST_CASE("cache coherence: with its subscription cut, an instance still sees a revocation within a second") {
  TwoInstances t;
  auto pac = connect_account(t.w, "rs");
  REQUIRE(t.call(t.b_port(), pac).status == 200);
  // Every subscriber is cut off and kept off (each reconnect is killed again):
  // only the polled change counter can tell B.
  std::atomic<bool> cutting{true};
  std::atomic<int> cuts{0};
  std::thread cutter([&] {
    while (cutting) {
      auto answer = t.redis.command("CLIENT KILL TYPE pubsub");
      if (answer.size() > 1 && answer[0] == ':' && answer[1] != '0') ++cuts;
      std::this_thread::sleep_for(5ms);
    }
  });
  std::this_thread::sleep_for(300ms);
  auto deleted = http_request(t.a_port(), "DELETE", "/v1/auth-configs/" + pac, {{"Authorization", "Bearer " + t.w.key}});
  REQUIRE(deleted.status == 200);
  auto took = until_status([&] { return t.call(t.b_port(), pac); }, 424, 3s);
  cutting = false;
  cutter.join();
  CHECK(cuts > 0);  // the subscriptions really were cut
  CHECK(took < 1s);
}

}  // namespace
}  // namespace tollgate::test
