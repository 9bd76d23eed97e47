// The client verbs (tenants, keys) as a user runs them, against a real `tollgate serve`.
#include <doctest/doctest.h>

#include <regex>

#include "process.hpp"
#include "raw_http.hpp"
#include "temp_dir.hpp"
#include "tollgate_process.hpp"

using namespace tollgate::test;

namespace {

using Env = std::map<std::string, std::optional<std::string>>;

// The caller's own TOLLGATE_* variables must not leak into a test.
Env clean_env(Env extra = {}) {
  Env env{{"TOLLGATE_URL", std::nullopt}, {"TOLLGATE_KEY", std::nullopt}, {"TOLLGATE_ADMIN_KEY", std::nullopt}};
  for (auto& [k, v] : extra) env[k] = v;
  return env;
}

// A relay whose admin key file (created by serve on first run) is dir()/admin.key.
struct Relay {
  TollgateProcess tg{"admin:\n  key_file: admin.key\n", clean_env()};

  Relay() { REQUIRE(eventually([&] { return std::filesystem::exists(admin_key_file()); })); }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(tg.port()); }
  std::filesystem::path admin_key_file() const { return tg.dir() / "admin.key"; }
  std::string admin_key() const {
    auto key = read_file(admin_key_file());
    while (!key.empty() && (key.back() == '\n' || key.back() == '\r' || key.back() == ' ')) key.pop_back();
    return key;
  }

  // `tollgate ARGS… --url URL --config CONFIG`: the admin key comes from the config's admin.key_file.
  RunResult cli(std::vector<std::string> args, Env env = {}) const {
    args.insert(args.begin(), TOLLGATE_BIN);
    args.insert(args.end(), {"--url", url(), "--config", tg.config_path().string()});
    return run(args, clean_env(env));
  }
};

std::string capture(const std::string& text, const std::string& pattern) {
  std::smatch m;
  return std::regex_search(text, m, std::regex(pattern)) ? m[1].str() : "";
}

std::string create_tenant(const Relay& relay, const std::string& name) {
  auto r = relay.cli({"tenants", "create", name});
  REQUIRE(r.status == 0);
  auto id = capture(r.out, R"(^id +(tnt_\S+))");
  REQUIRE(!id.empty());
  return id;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("cli: tenants create and list with the admin key found through --config on loopback") {
  Relay relay;
  auto created = relay.cli({"tenants", "create", "acme", "--allowed-redirect-origin", "https://app.acme.test"});
  CHECK(created.status == 0);
  CHECK(created.err == "");
  auto id = capture(created.out, R"(^id +(tnt_\S+))");
  CHECK(!id.empty());
  CHECK(std::regex_search(created.out, std::regex(R"(\nname +acme\n)")));
  CHECK(std::regex_search(created.out, std::regex(R"(\nallowed_redirect_origins +https://app\.acme\.test\n)")));

  auto second = relay.cli({"tenants", "create", "globex", "--json"});
  CHECK(second.status == 0);
  CHECK(contains(second.out, "\"name\": \"globex\""));
  auto second_id = capture(second.out, R"re("id": "(tnt_[^"]+)")re");
  CHECK(!second_id.empty());

  auto table = relay.cli({"tenants", "list"});
  CHECK(table.status == 0);
  CHECK(table.err == "");
  CHECK(std::regex_search(table.out, std::regex(R"(^ID +NAME +CREATED\n)")));
  CHECK(std::regex_search(table.out, std::regex(id + R"( +acme +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n)")));
  CHECK(std::regex_search(table.out, std::regex(second_id + R"( +globex +\d{4}-)")));

  auto json = relay.cli({"tenants", "list", "--json"});
  CHECK(json.status == 0);
  CHECK(json.out.rfind("{\n  \"data\": [", 0) == 0);
  CHECK(contains(json.out, "\"id\": \"" + id + "\""));
  CHECK(contains(json.out, "\"id\": \"" + second_id + "\""));
  CHECK(contains(json.out, "\"next_cursor\": null"));
}

TEST_CASE("cli: keys create shows the key once, keys list and the server's logs never do") {
  Relay relay;
  auto tenant = create_tenant(relay, "acme");
  auto created = relay.cli({"keys", "create", tenant});
  REQUIRE(created.status == 0);
  CHECK(created.err == "store this key now: it is shown only once\n");
  auto key_id = capture(created.out, R"(^id +(key_\S+))");
  auto key = capture(created.out, R"(\nkey +(tg_live_\S+))");
  REQUIRE(!key_id.empty());
  REQUIRE(key.size() > 16);

  // The key works for its tenant.
  auto own = http_request(relay.tg.port(), "GET", "/v1/tenants/" + tenant, {{"Authorization", "Bearer " + key}});
  CHECK(own.status != 401);

  auto list = relay.cli({"keys", "list", tenant});
  CHECK(list.status == 0);
  CHECK(std::regex_search(list.out, std::regex(R"(^ID +PREFIX +STATUS +CREATED +REVOKED\n)")));
  CHECK(std::regex_search(list.out, std::regex(key_id + R"( +tg_live_\S+ +active +\d{4}-\S+ +-\n)")));
  CHECK_FALSE(contains(list.out, key));
  auto list_json = relay.cli({"keys", "list", tenant, "--json"});
  CHECK(list_json.status == 0);
  CHECK(contains(list_json.out, "\"id\": \"" + key_id + "\""));
  CHECK_FALSE(contains(list_json.out, key));

  relay.tg.stop();
  CHECK_FALSE(contains(relay.tg.logs(), key));
  CHECK_FALSE(contains(relay.tg.logs(), relay.admin_key()));
}

TEST_CASE("cli: keys revoke, after which the revoked key answers 401") {
  Relay relay;
  auto tenant = create_tenant(relay, "acme");
  auto created = relay.cli({"keys", "create", tenant});
  REQUIRE(created.status == 0);
  auto key_id = capture(created.out, R"(^id +(key_\S+))");
  auto key = capture(created.out, R"(\nkey +(tg_live_\S+))");
  REQUIRE(!key.empty());
  CHECK(http_request(relay.tg.port(), "GET", "/v1/tenants/" + tenant, {{"Authorization", "Bearer " + key}}).status !=
        401);

  auto revoked = relay.cli({"keys", "revoke", key_id});
  CHECK(revoked.status == 0);
  CHECK(revoked.err == "");
  CHECK(std::regex_search(revoked.out, std::regex(R"(\nstatus +revoked\n)")));
  CHECK_FALSE(contains(revoked.out, key));

  auto after = http_request(relay.tg.port(), "GET", "/v1/tenants/" + tenant, {{"Authorization", "Bearer " + key}});
  CHECK(after.status == 401);
  CHECK(after.header("Tollgate-Error") == "unauthenticated");

  auto list = relay.cli({"keys", "list", tenant});
  CHECK(std::regex_search(list.out, std::regex(key_id + R"( +tg_live_\S+ +revoked +\S+ +\d{4}-)")));

  auto again = relay.cli({"keys", "revoke", "key_doesnotexist"});
  CHECK(again.status == 1);
  CHECK(again.err.rfind("tollgate: not_found: ", 0) == 0);
}

TEST_CASE("cli: TOLLGATE_URL and TOLLGATE_KEY stand in for --url and --key") {
  Relay relay;
  auto r = run({TOLLGATE_BIN, "tenants", "list"},
               clean_env({{"TOLLGATE_URL", relay.url()}, {"TOLLGATE_KEY", relay.admin_key()}}));
  CHECK(r.status == 0);
  CHECK(r.out.rfind("ID", 0) == 0);
}

TEST_CASE("cli: on loopback TOLLGATE_ADMIN_KEY is used before any config") {
  Relay relay;
  auto r = run({TOLLGATE_BIN, "tenants", "list", "--url", relay.url(), "--config", "/nonexistent/tollgate.yaml"},
               clean_env({{"TOLLGATE_ADMIN_KEY", relay.admin_key()}}));
  CHECK(r.status == 0);
  CHECK(r.err == "");
}

TEST_CASE("cli: without --config the admin key comes from config/tollgate.yaml under the current directory") {
  Relay relay;
  TempDir work;
  work.write("config/tollgate.yaml",
             "admin:\n  key_file: " + relay.admin_key_file().string() + "\nproviders: {}\n");
  Process cli({TOLLGATE_BIN, "tenants", "list", "--url", relay.url()}, work / "logs", clean_env(), work.path());
  CHECK(cli.wait() == 0);
  CHECK(cli.out().rfind("ID", 0) == 0);
  CHECK(cli.err() == "");
}

TEST_CASE("cli: a wrong key exits 1 with unauthenticated on one line, never echoing the key") {
  Relay relay;
  auto r = relay.cli({"tenants", "list", "--key", "tg_live_wrongwrongwrong"});
  CHECK(r.status == 1);
  CHECK(r.out == "");
  CHECK(std::regex_match(r.err, std::regex(R"(tollgate: unauthenticated: [^\n]+ \(request req_\w+\)\n)")));
  CHECK_FALSE(contains(r.err, "wrongwrongwrong"));
}

TEST_CASE("cli: an unreachable relay exits 1 with one clear line") {
  std::string url = "http://127.0.0.1:" + std::to_string(free_port());
  auto r = run({TOLLGATE_BIN, "tenants", "list", "--url", url, "--key", "tg_live_x"}, clean_env());
  CHECK(r.status == 1);
  CHECK(r.err == "tollgate: cannot reach " + url +
                     ": connection refused (is tollgate serve running? set --url or TOLLGATE_URL)\n");
}

TEST_CASE("cli: no key for a relay elsewhere is a usage error saying how to give one") {
  auto r = run({TOLLGATE_BIN, "tenants", "list", "--url", "https://relay.example.com"}, clean_env());
  CHECK(r.status == 2);
  CHECK(r.err.rfind("tollgate tenants list: no API key for https://relay.example.com: pass --key KEY or set "
                    "TOLLGATE_KEY",
                    0) == 0);
}

TEST_CASE("cli: usage errors exit 2 with one line on stderr") {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"tenants", "create"},
           {"tenants", "list", "extra"},
           {"keys", "list"},
           {"keys", "revoke", "a", "b"},
           {"tenants", "list", "--bogus"},
           {"keys"},
           {"keys", "rotate", "key_1"},
       }) {
    CAPTURE(args);
    std::vector<std::string> argv{TOLLGATE_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--key", "tg_live_neverprinted"});
    auto r = run(argv, clean_env());
    CHECK(r.status == 2);
    CHECK(r.out == "");
    CHECK(r.err.rfind("tollgate " + args[0], 0) == 0);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK_FALSE(contains(r.err, "neverprinted"));
  }
}

TEST_CASE("cli: help lists the client verbs") {
  auto r = run({TOLLGATE_BIN, "help"});
  CHECK(r.status == 0);
  for (const char* verb : {"tenants create NAME", "tenants list", "keys create TENANT", "keys list TENANT",
                           "keys revoke KEY_ID", "TOLLGATE_URL", "TOLLGATE_KEY"})
    CHECK(contains(r.out, verb));
}
