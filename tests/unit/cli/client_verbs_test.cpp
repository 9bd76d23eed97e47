// Client verbs against a scripted relay, for answers a real relay never gives (repeated
// cursors, non-JSON bodies) and for proving no request is made on usage errors.
// Normal behaviour is tested against a real `tollgate serve` in tests/integration/cli_test.cpp.
#include <doctest/doctest.h>

#include <sstream>

#include "fake_relay.hpp"
#include "raw_http.hpp"
#include "tollgate/cli/client.hpp"

using namespace tollgate;
using namespace tollgate::cli;
using namespace tollgate::test;

namespace {

struct Result {
  int status;
  std::string out;
  std::string err;
};

config::EnvLookup no_env() {
  return [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
}

Result verb(std::vector<std::string> args, const config::EnvLookup& env = no_env()) {
  std::ostringstream out, err;
  int status = run_client_verb(args, env, out, err);
  return {status, out.str(), err.str()};
}

std::vector<std::string> with(std::vector<std::string> args, const FakeRelay& relay) {
  args.insert(args.end(), {"--url", relay.url(), "--key", "tg_live_topsecret"});
  return args;
}

const std::string kTenant =
    R"({"id":"tnt_1","name":"acme","allowed_redirect_origins":["https://app.example.com"],)"
    R"("quotas":{"monthly_calls":null,"rate_per_second":null,"burst":null},)"
    R"("created_at":"2026-11-22T01:02:03Z","updated_at":"2026-11-22T01:02:03Z"})";

const std::string kUnauthenticated =
    R"({"error":{"code":"unauthenticated","message":"unknown or revoked API key","request_id":"req_77"}})";

}  // namespace

TEST_CASE("tenants list follows next_cursor until null and prints one table") {
  FakeRelay relay([](const ReceivedRequest& q) {
    if (q.target == "/v1/tenants?limit=500")
      return http_answer(200, R"({"data":[{"id":"tnt_1","name":"acme","created_at":"2026-01-01T00:00:00Z"}],"next_cursor":"c/1+"})");
    if (q.target == "/v1/tenants?limit=500&cursor=c%2F1%2B")
      return http_answer(200, R"({"data":[{"id":"tnt_2","name":"globex corp","created_at":"2026-01-02T00:00:00Z"}],"next_cursor":null})");
    return http_answer(404, "{}");
  });
  auto r = verb(with({"tenants", "list"}, relay));
  CHECK(r.status == 0);
  CHECK(r.err == "");
  CHECK(r.out ==
        "ID     NAME         CREATED\n"
        "tnt_1  acme         2026-01-01T00:00:00Z\n"
        "tnt_2  globex corp  2026-01-02T00:00:00Z\n");
  CHECK(relay.requests().size() == 2);

  auto j = verb(with({"tenants", "list", "--json"}, relay));
  CHECK(j.status == 0);
  CHECK(j.out.find("\"id\": \"tnt_1\"") != std::string::npos);
  CHECK(j.out.find("\"id\": \"tnt_2\"") != std::string::npos);
  CHECK(j.out.find("\"next_cursor\": null") != std::string::npos);
}

TEST_CASE("a relay that repeats a cursor ends the list with an error instead of looping") {
  FakeRelay relay([](const ReceivedRequest&) { return http_answer(200, R"({"data":[],"next_cursor":"same"})"); });
  auto r = verb(with({"tenants", "list"}, relay));
  CHECK(r.status == 1);
  CHECK(r.err == "tollgate: the relay answered the same next_cursor twice; the list is incomplete\n");
}

TEST_CASE("keys revoke refuses a key in place of its id, without sending or showing it") {
  FakeRelay relay([](const ReceivedRequest&) { return http_answer(200, "{}"); });
  auto r = verb(with({"keys", "revoke", "tg_live_pastedbymistake"}, relay));
  CHECK(r.status == 2);
  CHECK(r.err.find("tollgate keys revoke: KEY_ID is the key's id") == 0);
  CHECK(r.err.find("pastedbymistake") == std::string::npos);
  CHECK(relay.requests().empty());
}

TEST_CASE("an error answer is one line on stderr with code, message and request id, exit 1") {
  FakeRelay relay([](const ReceivedRequest&) {
    return http_answer(401, kUnauthenticated, "Tollgate-Error: unauthenticated\r\n");
  });
  auto r = verb(with({"tenants", "list"}, relay));
  CHECK(r.status == 1);
  CHECK(r.out == "");
  CHECK(r.err == "tollgate: unauthenticated: unknown or revoked API key (request req_77)\n");
}

TEST_CASE("an error answer that is not tollgate's JSON: HTTP status from URL, exit 1") {
  FakeRelay relay([](const ReceivedRequest&) { return http_answer(502, "<h1>bad gateway</h1>", "", "text/html"); });
  auto r = verb(with({"keys", "list", "tnt_1"}, relay));
  CHECK(r.status == 1);
  CHECK(r.err == "tollgate: HTTP 502 from " + relay.url() + "/v1/tenants/tnt_1/api-keys\n");
}

TEST_CASE("usage errors: one line naming the problem and the usage, exit 2, no request made") {
  FakeRelay relay([](const ReceivedRequest&) { return http_answer(200, "{}"); });
  struct Case {
    std::vector<std::string> args;
    std::string starts;
  };
  for (const auto& c : std::vector<Case>{
           {{"tenants", "create"}, "tollgate tenants create: missing NAME; usage: tollgate tenants create NAME"},
           {{"tenants", "list", "extra"}, "tollgate tenants list: takes no arguments, got 1 arguments; usage:"},
           {{"keys", "create", "a", "b"}, "tollgate keys create: expects TENANT, got 2 arguments; usage:"},
           {{"keys", "list", "tnt_1", "--frobnicate"}, "tollgate keys list: unknown option --frobnicate (accepted:"},
           {{"keys", "list", "tnt_1", "--url"}, "tollgate keys list: option --url needs a value"},
           {{"keys"}, "tollgate keys: missing subcommand; expected one of: create, list, revoke"},
           {{"tenants", "delete", "x"}, "tollgate tenants: unknown subcommand \"delete\"; expected one of: create, list"},
       }) {
    CAPTURE(c.args);
    auto args = c.args;
    args.insert(args.end(), {"--key", "tg_live_neverprinted"});
    if (c.args.back() == "--url") args = c.args;
    auto r = verb(args);
    CHECK(r.status == 2);
    CHECK(r.out == "");
    CHECK(r.err.find(c.starts) == 0);
    CHECK(r.err.find('\n') == r.err.size() - 1);
    CHECK(r.err.find("neverprinted") == std::string::npos);
  }
  CHECK(relay.requests().empty());
}

TEST_CASE("--help on a verb prints its usage and exits 0") {
  auto r = verb({"keys", "create", "--help"});
  CHECK(r.status == 0);
  CHECK(r.out.find("usage: tollgate keys create TENANT [--url URL] [--key KEY] [--config FILE] [--json]\n") == 0);
}

TEST_CASE("a 2xx answer that is not JSON is an error, not a crash") {
  FakeRelay relay([](const ReceivedRequest&) { return http_answer(200, "<html>", "", "text/html"); });
  auto r = verb(with({"tenants", "list"}, relay));
  CHECK(r.status == 1);
  CHECK(r.err == "tollgate: unexpected answer from " + relay.url() + "/v1/tenants: HTTP 200 with a body that is not JSON\n");
}

TEST_CASE("the key never appears in any output of a failing call") {
  FakeRelay relay([](const ReceivedRequest&) { return http_answer(401, kUnauthenticated); });
  auto r = verb(with({"keys", "revoke", "key_1"}, relay));
  CHECK(r.status == 1);
  CHECK((r.out + r.err).find("topsecret") == std::string::npos);
}
