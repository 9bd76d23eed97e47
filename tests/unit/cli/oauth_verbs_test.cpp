// `tollgate oauth providers|mode|apps` argument handling, and what the client does
// with answers a real relay never gives. Normal behaviour is tested against a real
// `tollgate serve` in tests/integration/cli_providers_test.cpp.
#include <doctest/doctest.h>

#include <sstream>

#include "fake_relay.hpp"
#include "temp_dir.hpp"
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

Result verb(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  int status = run_client_verb(args, no_env(), out, err);
  return {status, out.str(), err.str()};
}

std::vector<std::string> with(std::vector<std::string> args, const FakeRelay& relay) {
  args.insert(args.end(), {"--url", relay.url(), "--key", "tg_live_topsecret"});
  return args;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

const std::string kSecret = "cs_9f8e7d6c5b4a_never_shown";

}  // namespace

TEST_CASE("oauth usage errors: one line naming the problem, exit 2, no request made") {
  FakeRelay relay([](const ReceivedRequest&) { return http_answer(200, "{}"); });
  TempDir dir;
  auto secret_file = dir.write("secret", kSecret + "\n");
  auto empty_file = dir.write("empty", "\n");
  const std::string f = secret_file.string();
  struct Case {
    std::vector<std::string> args;
    std::string starts;
  };
  for (const auto& c : std::vector<Case>{
           {{"oauth"}, "tollgate oauth: missing subcommand; expected one of: providers, mode, apps, connect, status, token, disconnect, request (see"},
           {{"oauth", "--json"}, "tollgate oauth: missing subcommand; expected one of: providers, mode, apps"},
           {{"oauth", "frobnicate"}, "tollgate oauth: unknown subcommand \"frobnicate\"; expected one of: providers,"},
           {{"oauth", "providers"}, "tollgate oauth providers: missing subcommand; expected one of: list, get (see"},
           {{"oauth", "providers", "delete", "github"},
            "tollgate oauth providers: unknown subcommand \"delete\"; expected one of: list, get"},
           {{"oauth", "apps"}, "tollgate oauth apps: missing subcommand; expected one of: set (see"},
           {{"oauth", "request", "pac_x", "GET"}, "tollgate oauth request: missing AUTH_CONFIG METHOD PATH; usage:"},
           {{"oauth", "request", "pac_x", "get", "/x"}, "tollgate oauth request: METHOD must be an upper-case HTTP method"},
           {{"oauth", "request", "pac_x", "GET", "/x", "-H", "nocolon"}, "tollgate oauth request: a header must look like"},
           {{"oauth", "providers", "list", "github"},
            "tollgate oauth providers list: takes no arguments, got 1 arguments; usage: tollgate oauth providers "
            "list [--provider-key PROVIDER] [--supports-managed] [--tenant TENANT] [--url URL]"},
           {{"oauth", "providers", "list", "--provider-key"},
            "tollgate oauth providers list: option --provider-key needs a value"},
           {{"oauth", "providers", "list", "--provider-key="},
            "tollgate oauth providers list: --provider-key is empty; give a provider key"},
           {{"oauth", "providers", "list", "--supports-managed=yes"},
            "tollgate oauth providers list: option --supports-managed takes no value"},
           {{"oauth", "providers", "get"},
            "tollgate oauth providers get: missing PROVIDER; usage: tollgate oauth providers get PROVIDER"},
           {{"oauth", "providers", "get", ""}, "tollgate oauth providers get: PROVIDER is empty; give a provider key"},
           {{"oauth", "providers", "get", "github", "--tenant", ""},
            "tollgate oauth providers get: --tenant must be a tenant id"},
           {{"oauth", "mode"}, "tollgate oauth mode: missing PROVIDER; usage: tollgate oauth mode PROVIDER"},
           {{"oauth", "mode", "github", "gitlab"}, "tollgate oauth mode: expects PROVIDER, got 2 arguments; usage:"},
           {{"oauth", "mode", "github", "--set", "shared"},
            "tollgate oauth mode: --set takes managed (the operator's OAuth app) or your-own"},
           {{"oauth", "mode", "github", "--set", "your_own"}, "tollgate oauth mode: --set takes managed"},
           {{"oauth", "apps", "set", "github", "--client-secret-file", f},
            "tollgate oauth apps set: missing --client-id; usage: tollgate oauth apps set PROVIDER --client-id ID "
            "--client-secret-file FILE [--tenant TENANT]"},
           {{"oauth", "apps", "set", "github", "--client-id", "abc"},
            "tollgate oauth apps set: missing --client-secret-file; usage:"},
           {{"oauth", "apps", "set", "--client-id", "abc", "--client-secret-file", f},
            "tollgate oauth apps set: missing PROVIDER; usage:"},
           {{"oauth", "apps", "set", "github", "--client-id", "", "--client-secret-file", f},
            "tollgate oauth apps set: --client-id is empty"},
           {{"oauth", "apps", "set", "github", "--client-id", "abc", "--client-secret-file", (dir / "nope").string()},
            "tollgate oauth apps set: cannot read --client-secret-file " + (dir / "nope").string() +
                ": no such file or directory"},
           {{"oauth", "apps", "set", "github", "--client-id", "abc", "--client-secret-file", empty_file.string()},
            "tollgate oauth apps set: --client-secret-file " + empty_file.string() + " is empty"},
       }) {
    CAPTURE(c.starts);
    // An option left without its value must stay last.
    auto r = verb(c.args.back() == "--provider-key" ? c.args : with(c.args, relay));
    CHECK(r.status == 2);
    CHECK(r.out == "");
    CHECK(r.err.rfind(c.starts, 0) == 0);
    CHECK(r.err.find('\n') == r.err.size() - 1);
    CHECK_FALSE(contains(r.err, "topsecret"));
    CHECK_FALSE(contains(r.err, kSecret));
  }
  CHECK(relay.requests().empty());
}

TEST_CASE("a client secret given on the command line is refused without echoing it, and nothing is sent") {
  FakeRelay relay([](const ReceivedRequest&) { return http_answer(200, "{}"); });
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"oauth", "apps", "set", "github", "--client-id", "abc", "--client-secret", kSecret},
           {"oauth", "apps", "set", "github", "--client-id", "abc", "--client-secret=" + kSecret},
           {"oauth", "apps", "set", "github", "--client-id", "abc", "--client-secret-file", kSecret},
       }) {
    CAPTURE(args[6]);
    auto r = verb(with(args, relay));
    CHECK(r.status == 2);
    CHECK(r.out == "");
    CHECK(r.err.rfind("tollgate oauth apps set: ", 0) == 0);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    if (args[6] != "--client-secret-file") {
      CHECK_FALSE(contains(r.err, kSecret));
      CHECK(contains(r.err, "--client-secret-file VALUE"));  // the option to use instead
    }
  }
  CHECK(relay.requests().empty());
}

TEST_CASE("--help of an oauth verb prints its usage — providers get explains a null managed_service_config_key") {
  auto get = verb({"oauth", "providers", "get", "--help"});
  CHECK(get.status == 0);
  CHECK(get.out.rfind("usage: tollgate oauth providers get PROVIDER [--tenant TENANT] [--url URL] [--key KEY] "
                      "[--config FILE] [--json]\n",
                      0) == 0);
  CHECK(contains(get.out, "managed_service_config_key - (null) means managed mode is unavailable"));
  auto apps = verb({"oauth", "apps", "set", "-h"});
  CHECK(apps.status == 0);
  CHECK(contains(apps.out, "--client-secret-file FILE"));
  CHECK(contains(apps.out, "never the command line"));
}

TEST_CASE("tollgate help lists the oauth verbs and --tenant") {
  auto usage = client_usage();
  for (const char* line :
       {"oauth providers list [--provider-key PROVIDER] [--supports-managed]", "oauth providers get PROVIDER",
        "oauth mode PROVIDER [--set managed|your-own]",
        "oauth apps set PROVIDER --client-id ID --client-secret-file FILE", "--tenant T", "keys revoke KEY_ID"})
    CHECK(contains(usage, line));
}

TEST_CASE("the client secret never reaches stdout or stderr, even from a relay that echoes it") {
  TempDir dir;
  auto file = dir.write("secret", kSecret + "\r\n");
  const std::string echoed_error = R"({"error":{"code":"bad_request","message":"client_secret )" + kSecret +
                                   R"( is not valid","request_id":"req_9"}})";
  FakeRelay failing([&](const ReceivedRequest&) { return http_answer(400, echoed_error, "Tollgate-Error: bad_request\r\n"); });
  auto r = verb(with({"oauth", "apps", "set", "github", "--client-id", "abc", "--client-secret-file", file.string()}, failing));
  CHECK(r.status == 1);
  CHECK(r.out == "");
  CHECK(r.err == "tollgate: bad_request: client_secret *** is not valid (request req_9)\n");
  REQUIRE(failing.requests().size() == 1);

  const std::string echoed_app = R"({"provider":"github","client_id":"abc","client_secret":")" + kSecret +
                                 R"(","client_secret_set":true,"note":")" + kSecret + R"("})";
  FakeRelay echoing([&](const ReceivedRequest&) { return http_answer(200, echoed_app); });
  for (bool json : {false, true}) {
    CAPTURE(json);
    std::vector<std::string> args{"oauth", "apps", "set", "github", "--client-id", "abc", "--client-secret-file",
                                  file.string()};
    if (json) args.push_back("--json");
    auto ok = verb(with(args, echoing));
    CHECK(ok.status == 0);
    CHECK(ok.err == "");
    CHECK_FALSE(contains(ok.out, kSecret));
    CHECK_FALSE(contains(ok.out, "\"client_secret\""));
    CHECK(contains(ok.out, "abc"));
  }
}

TEST_CASE("oauth answers of an unexpected shape are one error line, not a crash") {
  FakeRelay relay([](const ReceivedRequest& q) {
    if (q.target.rfind("/v1/providers?", 0) == 0) return http_answer(200, R"({"providers":[]})");
    return http_answer(200, R"(["not","an","object"])");
  });
  auto list = verb(with({"oauth", "providers", "list"}, relay));
  CHECK(list.status == 1);
  CHECK(list.err == "tollgate: unexpected answer from " + relay.url() + "/v1/providers: no \"data\" list\n");
  auto get = verb(with({"oauth", "providers", "get", "github"}, relay));
  CHECK(get.status == 1);
  CHECK(get.err == "tollgate: the relay's answer to providers get holds no provider\n");
  auto mode = verb(with({"oauth", "mode", "github"}, relay));
  CHECK(mode.status == 1);
  CHECK(mode.err == "tollgate: the relay's answer to oauth mode holds no mode\n");
}
