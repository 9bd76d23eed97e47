// The connect flow end to end (SPEC §4 "Setup session", "Connect-link safety")
// against a real authorization server (oidc-provider) driven headlessly.
#include <doctest/doctest.h>

#include <regex>

#include "browser.hpp"
#include "connect_world.hpp"
#include "oidc_peer.hpp"
#include "raw_http.hpp"
#include "script_server.hpp"
#include "temp_dir.hpp"
#include "tollgate_process.hpp"

using namespace tollgate::test;

using namespace tollgate::test::connect_world;

TEST_CASE("connect: the managed flow completes with an active auth config, and reconnecting keeps its id") {
  World w;
  auto created = w.session(R"({"provider":"acme","external_user_id":"u-1","redirect_url":"http://127.0.0.1:9/done?x=1"})");
  CHECK(field(created, "status") == "pending");
  CHECK(field(created, "mode") == "managed");
  auto url = field(created, "url");
  REQUIRE(url.rfind(w.public_url + "/connect/pss_", 0) == 0);

  Browser browser;
  auto end = w.run_oauth(browser, url);
  REQUIRE(end.at_stop);
  CHECK(query_param(end.url, "x") == "1");
  CHECK(query_param(end.url, "status") == "completed");
  auto id = field(created, "id");
  CHECK(query_param(end.url, "setup_session") == id);
  auto pac = query_param(end.url, "auth_config").value_or("");
  REQUIRE(pac.rfind("pac_", 0) == 0);

  auto got = w.call("GET", "/v1/setup-sessions/" + id);
  CHECK(field(got.body, "status") == "completed");
  CHECK(field(got.body, "auth_config_id") == pac);
  CHECK(got.body.find("\"url\":null") != std::string::npos);  // the link is spent
  auto ac = w.call("GET", "/v1/auth-configs/" + pac);
  REQUIRE(ac.status == 200);
  CHECK(field(ac.body, "status") == "active");
  CHECK(field(ac.body, "mode") == "managed");
  CHECK(field(ac.body, "external_user_id") == "u-1");
  CHECK(ac.body.find("api:read") != std::string::npos);
  CHECK(ac.body.find("\"expires_at\":\"") != std::string::npos);

  // The connect link is one-time.
  auto again = Browser().get(url);
  CHECK(again.status == 400);

  // Reconnect into the same auth config.
  auto re = w.session("{\"provider\":\"acme\",\"auth_config\":\"" + pac + "\"}");
  Browser second;
  auto re_end = second.follow(field(re, "url"), {w.peer.authorization_endpoint(), false, 20});
  auto cb = second.authorize_through_oidc(re_end.url, "alice", true, w.callback);
  auto page = second.get(cb);
  CHECK(page.status == 200);  // no redirect_url: a "connected" page
  auto re_got = w.call("GET", "/v1/setup-sessions/" + field(re, "id"));
  CHECK(field(re_got.body, "status") == "completed");
  CHECK(field(re_got.body, "auth_config_id") == pac);
  auto list = w.call("GET", "/v1/auth-configs");
  CHECK(list.body.find(pac) != std::string::npos);
  CHECK(std::regex_search(list.body, std::regex("pac_")));
}

TEST_CASE("connect: your-own mode uses the tenant's own app") {
  World w;
  auto none = w.call("POST", "/v1/setup-sessions", R"({"provider":"acme-own"})");
  CHECK(none.status == 409);  // no app set yet
  CHECK(none.body.find("app_not_configured") != std::string::npos);
  const auto& own = OidcPeer::own_client();
  REQUIRE(w.call("PUT", "/v1/providers/acme-own/app",
                 "{\"client_id\":\"" + own.id + "\",\"client_secret\":\"" + own.secret + "\"}").status == 200);
  auto created = w.session(R"({"provider":"acme-own","redirect_url":"http://127.0.0.1:9/done"})");
  CHECK(field(created, "mode") == "your-own");
  Browser browser;
  auto end = w.run_oauth(browser, field(created, "url"));
  CHECK(query_param(end.url, "status") == "completed");
  auto ac = w.call("GET", "/v1/auth-configs/" + query_param(end.url, "auth_config").value_or("none"));
  CHECK(field(ac.body, "mode") == "your-own");
}

TEST_CASE("connect: tollgate oauth connect prints the link, waits, and prints the outcome") {
  World w;
  TempDir logs;
  Process cli({TOLLGATE_BIN, "oauth", "connect", "acme", "--user", "cli-user", "--url", w.public_url, "--key", w.key},
              logs.path());
  REQUIRE(cli.wait_for_output("/connect/pss_", 20s));
  std::smatch m;
  std::string out = cli.out();
  REQUIRE(std::regex_search(out, m, std::regex(R"((http://\S+/connect/pss_\S+))")));
  Browser browser;
  auto at_peer = browser.follow(m[1].str(), {w.peer.authorization_endpoint(), false, 20});
  auto cb = browser.authorize_through_oidc(at_peer.url, "alice", true, w.callback);
  CHECK(browser.get(cb).status == 200);
  CHECK(cli.wait(30s) == 0);
  CHECK(cli.out().find("completed") != std::string::npos);
  CHECK(cli.out().find("pac_") != std::string::npos);
}

TEST_CASE("connect: a denied consent fails the session with access_denied") {
  World w;
  auto created = w.session(R"({"provider":"acme","redirect_url":"http://127.0.0.1:9/done"})");
  Browser browser;
  auto end = w.run_oauth(browser, field(created, "url"), false);
  CHECK(query_param(end.url, "status") == "failed");
  auto got = w.call("GET", "/v1/setup-sessions/" + field(created, "id"));
  CHECK(field(got.body, "status") == "failed");
  CHECK(got.body.find(R"("code":"access_denied")") != std::string::npos);
}

TEST_CASE("connect: a replayed state and a callback without the browser cookie change nothing or fail safely") {
  World w;
  // Replay: the same callback twice.
  auto first = w.session(R"({"provider":"acme"})");
  Browser browser;
  auto at_peer = browser.follow(field(first, "url"), {w.peer.authorization_endpoint(), false, 20});
  auto cb = browser.authorize_through_oidc(at_peer.url, "alice", true, w.callback);
  CHECK(browser.get(cb).status == 200);
  auto replay = browser.get(cb);
  CHECK(replay.status == 400);
  CHECK(field(w.call("GET", "/v1/setup-sessions/" + field(first, "id")).body, "status") == "completed");

  // Another browser (no cookie) brings a live session's callback: invalid_state, nothing exchanged.
  auto second = w.session(R"({"provider":"acme"})");
  Browser victim;
  auto victim_peer = victim.follow(field(second, "url"), {w.peer.authorization_endpoint(), false, 20});
  auto victim_cb = victim.authorize_through_oidc(victim_peer.url, "alice", true, w.callback);
  Browser attacker;
  CHECK(attacker.get(victim_cb).status == 400);
  auto got = w.call("GET", "/v1/setup-sessions/" + field(second, "id"));
  CHECK(field(got.body, "status") == "failed");
  CHECK(got.body.find(R"("code":"invalid_state")") != std::string::npos);
  CHECK(got.body.find("\"auth_config_id\":null") != std::string::npos);
  // The real browser's late callback cannot revive it.
  CHECK(victim.get(victim_cb).status == 400);
}

TEST_CASE("connect: an expired session's link is refused and the session reads expired") {
  World w("", "setup_sessions: {ttl: 1s}\n");
  auto created = w.session(R"({"provider":"acme"})");
  auto id = field(created, "id");
  REQUIRE(eventually([&] { return field(w.call("GET", "/v1/setup-sessions/" + id).body, "status") == "expired"; }, 10s));
  CHECK(Browser().get(field(created, "url")).status == 400);
  auto list = w.call("GET", "/v1/setup-sessions?status=expired");
  CHECK(list.body.find(id) != std::string::npos);
}

TEST_CASE("connect: a callback whose iss is not the provider's issuer fails with invalid_issuer") {
  OidcPeer dummy{std::vector<std::string>{"http://127.0.0.1:9/none"}};
  World w("", "", dummy.issuer());  // acme's configured issuer is another server's
  auto created = w.session(R"({"provider":"acme","redirect_url":"http://127.0.0.1:9/done"})");
  Browser browser;
  auto end = w.run_oauth(browser, field(created, "url"));
  CHECK(query_param(end.url, "status") == "failed");
  auto got = w.call("GET", "/v1/setup-sessions/" + field(created, "id"));
  CHECK(got.body.find(R"("code":"invalid_issuer")") != std::string::npos);
}

TEST_CASE("connect: token endpoints answering HTML, 500 or JSON without access_token fail the session") {
  struct Case {
    std::string name, answer, code;
  };
  const std::vector<Case> cases = {
      {"html", "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 13\r\n\r\n<html></html>",
       "invalid_token_response"},
      {"500", "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n", "token_exchange_failed"},
      {"no token", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 22\r\n\r\n{\"token_type\":\"bearer\"}",
       "invalid_token_response"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    ScriptServer token_endpoint({reply(c.answer)});
    // `broken` authorizes at the real server but exchanges codes at the scripted one.
    World w("  broken:\n    alias: acme\n    token_url: " + token_endpoint.url("/token") + "\n" +
            "    managed: {service_config_key: acme, client_id: " + OidcPeer::managed_client().id +
            ", client_secret: " + OidcPeer::managed_client().secret + "}\n");
    auto created = w.session(R"({"provider":"broken","redirect_url":"http://127.0.0.1:9/done"})");
    Browser browser;
    auto end = w.run_oauth(browser, field(created, "url"));
    CHECK(query_param(end.url, "status") == "failed");
    auto got = w.call("GET", "/v1/setup-sessions/" + field(created, "id"));
    CHECK(got.body.find("\"code\":\"" + c.code + "\"") != std::string::npos);
    REQUIRE(token_endpoint.requests().size() >= 1);
    CHECK(token_endpoint.requests()[0].body.find("grant_type=authorization_code") != std::string::npos);
  }
}

TEST_CASE("connect: a redirect_url outside the tenant's allowed origins is refused") {
  World w;
  auto r = w.call("POST", "/v1/setup-sessions", R"({"provider":"acme","redirect_url":"https://evil.example/cb"})");
  CHECK(r.status == 400);
  CHECK(r.header("Tollgate-Error") == "bad_request");
  auto bad_scheme = w.call("POST", "/v1/setup-sessions", R"j({"provider":"acme","redirect_url":"javascript:alert(1)"})j");
  CHECK(bad_scheme.status == 400);
}

TEST_CASE("connect: an API-key session completes through the form, and a failing verification fails it") {
  // The provider's API answers the verification: 200 for the good key, 401 otherwise.
  ScriptServer good({reply("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")});
  ScriptServer bad({reply("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")});
  auto keyed = [](const std::string& name, const ScriptServer& api) {
    return "  " + name + ":\n    auth_mode: api_key\n    api: {base_url: \"" + api.url("") +
           "\"}\n    credentials: {header: x-api-key}\n    verification: {method: GET, path: /me}\n";
  };
  World w(keyed("keyed", good) + keyed("keyed-bad", bad));
  const std::string api_key = "sk-live-MARKER-api-key-5d1e";

  auto created = w.session(R"({"provider":"keyed","redirect_url":"http://127.0.0.1:9/done"})");
  CHECK(field(created, "auth_method") == "api_key");
  Browser browser;
  auto form = browser.get(field(created, "url"));
  REQUIRE(form.status == 200);
  CHECK(form.body.find("name=\"api_key\"") != std::string::npos);
  auto posted = browser.post_form(w.public_url + "/connect/" + field(created, "id"), {{"api_key", api_key}});
  CHECK(posted.status == 303);
  CHECK(query_param(resolve_url(w.public_url, posted.header("Location")), "status") == "completed");
  REQUIRE(good.requests().size() == 1);
  CHECK(good.requests()[0].header("x-api-key") == api_key);
  CHECK(good.requests()[0].target == "/me");

  auto refused = w.session(R"({"provider":"keyed-bad","redirect_url":"http://127.0.0.1:9/done"})");
  Browser other;
  other.get(field(refused, "url"));
  auto r = other.post_form(w.public_url + "/connect/" + field(refused, "id"), {{"api_key", "wrong"}});
  CHECK(query_param(resolve_url(w.public_url, r.header("Location")), "status") == "failed");
  auto got = w.call("GET", "/v1/setup-sessions/" + field(refused, "id"));
  CHECK(got.body.find(R"("code":"verification_failed")") != std::string::npos);

  // A form post without the browser's cookie is refused.
  auto third = w.session(R"({"provider":"keyed"})");
  Browser opener;
  opener.get(field(third, "url"));
  CHECK(Browser().post_form(w.public_url + "/connect/" + field(third, "id"), {{"api_key", "x"}}).status == 400);

  w.tg->stop();
  auto stored = read_file(w.tg->dir() / "data/tollgate.db") + read_file(w.tg->dir() / "data/tollgate.db-wal");
  CHECK(stored.find(api_key) == std::string::npos);
  CHECK(w.tg->logs().find(api_key) == std::string::npos);
}

TEST_CASE("connect: client secrets, codes, verifiers and tokens appear in no log line and no stored row") {
  // A scripted token endpoint hands out marker tokens so the test knows them.
  const std::string access = "AT-MARKER-3c9e1f", refresh = "RT-MARKER-77ab02";
  const std::string body = "{\"access_token\":\"" + access + "\",\"refresh_token\":\"" + refresh +
                           "\",\"token_type\":\"Bearer\",\"expires_in\":3600,\"scope\":\"api:read\"}";
  ScriptServer token_endpoint({reply("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                                     std::to_string(body.size()) + "\r\n\r\n" + body)});
  World w("  marked:\n    alias: acme\n    token_url: " + token_endpoint.url("/token") + "\n");
  const auto& own = OidcPeer::own_client();
  REQUIRE(w.call("PUT", "/v1/providers/acme-own/app",
                 "{\"client_id\":\"" + own.id + "\",\"client_secret\":\"" + own.secret + "\"}").status == 200);
  auto created = w.session(R"({"provider":"marked","redirect_url":"http://127.0.0.1:9/done"})");
  Browser browser;
  auto at_peer = browser.follow(field(created, "url"), {w.peer.authorization_endpoint(), false, 20});
  auto challenge = query_param(at_peer.url, "code_challenge").value_or("");
  CHECK_FALSE(challenge.empty());
  auto cb = browser.authorize_through_oidc(at_peer.url, "alice", true, w.callback);
  auto code = query_param(cb, "code").value_or("");
  auto state = query_param(cb, "state").value_or("");
  REQUIRE_FALSE(code.empty());
  auto end = browser.follow(cb, {w.done, false, 5});
  CHECK(query_param(end.url, "status") == "completed");
  REQUIRE(token_endpoint.requests().size() == 1);
  auto sent = token_endpoint.requests()[0].body;
  std::smatch m;
  REQUIRE(std::regex_search(sent, m, std::regex("code_verifier=([A-Za-z0-9_-]+)")));
  const std::string verifier = m[1];
  // Secrets the flow carried: every one must be absent from logs and the database.
  const std::vector<std::string> secrets = {OidcPeer::managed_client().secret, own.secret, code, state, verifier,
                                            access, refresh};
  w.tg->stop();
  auto logs = w.tg->logs();
  auto stored = read_file(w.tg->dir() / "data/tollgate.db") + read_file(w.tg->dir() / "data/tollgate.db-wal");
  REQUIRE(stored.find("pac_") != std::string::npos);
  for (const auto& s : secrets) {
    CAPTURE(s);
    CHECK(logs.find(s) == std::string::npos);
    CHECK(stored.find(s) == std::string::npos);
  }
}
