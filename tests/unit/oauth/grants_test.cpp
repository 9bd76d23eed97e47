// Token requests (RFC 6749 §4.1.3, §6, §4.4) against a scripted token endpoint:
// what is sent, how each kind of answer is read, and which failures may be retried.
#include <doctest/doctest.h>

#include <chrono>
#include <exception>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include "raw_http.hpp"
#include "script_server.hpp"
#include "tollgate/crypto/encoding.hpp"
#include "tollgate/oauth/grants.hpp"
#include "tollgate/upstream/client.hpp"

namespace tollgate::oauth {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using config::Provider;
using test::reply;
using test::ScriptServer;

const std::string kRedirect = "https://relay.example/oauth/callback?tenant=a%2Fb&x=1";

upstream::Options options() {
  upstream::Options o;
  o.connect = 5s;
  o.first_byte = 5s;
  o.idle = 5s;
  return o;
}

// Runs the awaitable that start(client) returns on a fresh io_context until it finishes.
template <class Start>
auto run(Start start) {
  asio::io_context io;
  upstream::Client client(io.get_executor(), options());
  auto task = start(client);
  using T = typename decltype(task)::value_type;
  std::optional<T> out;
  std::exception_ptr failure;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { out.emplace(co_await std::move(task)); },
      [&](std::exception_ptr e) { failure = e; });
  io.run();
  if (failure) std::rethrow_exception(failure);
  REQUIRE(out.has_value());
  return std::move(*out);
}

std::string http(std::string_view status_line, std::string_view body, std::string_view content_type = "application/json",
                 std::string_view extra = "") {
  std::string out = std::string(status_line) + "\r\n";
  if (!content_type.empty()) out += "Content-Type: " + std::string(content_type) + "\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n" + std::string(extra) + "\r\n";
  out += body;
  return out;
}

std::string ok_json(std::string_view body) { return http("HTTP/1.1 200 OK", body); }

std::string decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size()) {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::map<std::string, std::string> form(std::string_view body) {
  std::map<std::string, std::string> out;
  std::size_t start = 0;
  while (start < body.size()) {
    const auto end = std::min(body.find('&', start), body.size());
    const auto pair = body.substr(start, end - start);
    const auto eq = pair.find('=');
    const auto name = decode(pair.substr(0, eq));
    CHECK_MESSAGE(out.count(name) == 0, "repeated field " << name);
    out[name] = eq == std::string_view::npos ? "" : decode(pair.substr(eq + 1));
    start = end + 1;
  }
  return out;
}

Provider github(const ScriptServer& server) {
  Provider p;
  p.key = "github";
  p.authorization_url = "https://github.com/login/oauth/authorize";
  p.token_url = server.url("/login/oauth/access_token");
  p.default_scopes = {"read:user"};
  return p;
}

Provider slack(const ScriptServer& server) {
  Provider p;
  p.key = "slack";
  p.token_url = server.url("/api/oauth.v2.access");
  p.pkce = false;
  p.scope_param = "user_scope";
  p.scope_separator = ",";
  p.token_response.access_token_path = "authed_user.access_token";
  p.token_response.refresh_token_path = "authed_user.refresh_token";
  p.token_response.expires_in_path = "authed_user.expires_in";
  p.token_response.scope_path = "authed_user.scope";
  return p;
}

Provider salesforce(const ScriptServer& server) {
  Provider p;
  p.key = "salesforce";
  p.token_url = server.url("/services/oauth2/token");
  p.token_response.connection_params["instance_url"] = {
      "instance_url", "^https://[a-z0-9-]+(\\.[a-z0-9-]+)*\\.(salesforce|force)\\.com$", ""};
  return p;
}

AppCredentials app() {
  return AppCredentials{crypto::Secret("client-id-1"), crypto::Secret("client-secret-1"), "managed:github"};
}

TokenSet succeeded(GrantResult result) {
  if (const auto* error = std::get_if<GrantError>(&result)) FAIL("unexpected " << error->code << ": " << error->message);
  return std::get<TokenSet>(std::move(result));
}

GrantError failed(GrantResult result) {
  if (std::holds_alternative<TokenSet>(result)) FAIL("unexpected token set");
  return std::get<GrantError>(std::move(result));
}

GrantResult exchange(const Provider& p, const AppCredentials& a = app(), std::string_view verifier = "verifier-1",
                     const ParamValues& params = {}) {
  return run([&](upstream::Client& c) { return exchange_code(c, p, params, a, "code-1", kRedirect, verifier); });
}

// ---- what is sent ----

TEST_CASE("code exchange, form body with client_secret_post: the exact fields, Accept and token_headers") {
  ScriptServer server({reply(ok_json(R"({"access_token":"at-1","token_type":"bearer"})"))});
  Provider p = github(server);
  p.token_params = {{"audience", "api x"}};
  p.token_headers = {{"X-Provider-Version", "2"}, {"Accept", "text/html"}};
  succeeded(exchange(p));

  const auto requests = server.requests();
  REQUIRE(requests.size() == 1);
  const auto& r = requests[0];
  CHECK(r.method == "POST");
  CHECK(r.target == "/login/oauth/access_token");
  CHECK(r.header("Content-Type") == "application/x-www-form-urlencoded");
  CHECK(r.header("Accept") == "application/json");  // tollgate's own Accept wins over token_headers
  CHECK(r.count("Accept") == 1);
  CHECK(r.header("X-Provider-Version") == "2");
  CHECK(r.count("Authorization") == 0);
  CHECK(r.body ==
        "grant_type=authorization_code&code=code-1"
        "&redirect_uri=https%3A%2F%2Frelay.example%2Foauth%2Fcallback%3Ftenant%3Da%252Fb%26x%3D1"
        "&code_verifier=verifier-1&client_id=client-id-1&client_secret=client-secret-1&audience=api+x");
  // Decoded, redirect_uri is byte for byte the one given (its %2F included).
  CHECK(form(r.body)["redirect_uri"] == kRedirect);
}

TEST_CASE("code exchange, JSON body with client_secret_basic: RFC 6749 §2.3.1 credentials, none in the body") {
  ScriptServer server({reply(ok_json(R"({"access_token":"at-1"})"))});
  Provider p = github(server);
  p.token_body_format = config::TokenBodyFormat::json;
  p.token_endpoint_auth = config::TokenEndpointAuth::client_secret_basic;
  p.pkce = false;
  p.token_params = {{"owner", "user"}};
  const AppCredentials odd{crypto::Secret("a b:c"), crypto::Secret("s&e:c+r/t~%"), "your-own"};
  succeeded(exchange(p, odd, ""));

  const auto requests = server.requests();
  REQUIRE(requests.size() == 1);
  const auto& r = requests[0];
  CHECK(r.header("Content-Type") == "application/json");
  CHECK(r.header("Accept") == "application/json");
  // form-encode each, join with ':', then Base64.
  CHECK(r.header("Authorization") == "Basic " + crypto::base64_encode("a+b%3Ac:s%26e%3Ac%2Br%2Ft~%25"));
  CHECK(r.header("Authorization") == "Basic YStiJTNBYzpzJTI2ZSUzQWMlMkJyJTJGdH4lMjU=");

  const auto body = boost::json::parse(r.body).as_object();
  CHECK(body.size() == 4);
  CHECK(body.at("grant_type").as_string() == "authorization_code");
  CHECK(body.at("code").as_string() == "code-1");
  CHECK(body.at("redirect_uri").as_string() == kRedirect);
  CHECK(body.at("owner").as_string() == "user");
  CHECK_FALSE(body.contains("client_id"));
  CHECK_FALSE(body.contains("client_secret"));
  CHECK_FALSE(body.contains("code_verifier"));
}

TEST_CASE("a templated token URL takes the connection's parameter — one outside its pattern sends nothing") {
  ScriptServer server({reply(ok_json(R"({"access_token":"at-1"})"))});
  Provider p = github(server);
  p.connection_params["realm"] = {"^[a-z]+$", "the realm"};
  p.token_url = server.url("/{realm}/token");
  succeeded(exchange(p, app(), "v", {{"realm", "acme"}}));
  REQUIRE(server.requests().size() == 1);
  CHECK(server.requests()[0].target == "/acme/token");

  const GrantError error = failed(exchange(p, app(), "v", {{"realm", "../evil"}}));
  CHECK(error.code == "token_exchange_failed");
  CHECK_FALSE(error.request_sent);
  CHECK_FALSE(error.retryable);
  CHECK(error.http_status == 0);
  CHECK(error.message.find("evil") == std::string::npos);
  CHECK(server.connections() == 1);
}

// ---- how answers are read ----

TEST_CASE("a full token response: access and refresh tokens, expires_in, scopes and token_type") {
  ScriptServer server({reply(ok_json(
      R"({"access_token":"at-1","refresh_token":"rt-1","expires_in":3600,"scope":"repo read:user","token_type":"bearer"})"))});
  const TokenSet set = succeeded(exchange(github(server)));
  CHECK(set.access_token.reveal() == "at-1");
  CHECK(set.refresh_token.reveal() == "rt-1");
  CHECK(set.expires_in == 3600s);
  CHECK(set.scopes == std::vector<std::string>{"repo", "read:user"});
  CHECK(set.token_type == "bearer");
  CHECK(set.connection_params.empty());
}

TEST_CASE("expires_in as a numeric string and scope as a JSON array") {
  ScriptServer server({reply(ok_json(R"({"access_token":"at-1","expires_in":"7200","scope":["a","b","a"]})"))});
  const TokenSet set = succeeded(exchange(github(server)));
  CHECK(set.expires_in == 7200s);
  CHECK(set.scopes == std::vector<std::string>{"a", "b"});
}

TEST_CASE("scopes split on the provider's separator and, defensively, on spaces and commas") {
  ScriptServer server({reply(ok_json(R"({"access_token":"at-1","scope":"a+b c,d"})"))});
  Provider p = github(server);
  p.scope_separator = "+";
  CHECK(succeeded(exchange(p)).scopes == std::vector<std::string>{"a", "b", "c", "d"});
}

TEST_CASE("without expires_in the provider's default applies, and a token without one has no expiry") {
  SUBCASE("default") {
    ScriptServer server({reply(ok_json(R"({"access_token":"at-1"})"))});
    Provider p = github(server);
    p.token_response.expires_in_default = 28800s;
    CHECK(succeeded(exchange(p)).expires_in == 28800s);
  }
  SUBCASE("none") {
    ScriptServer server({reply(ok_json(R"({"access_token":"at-1"})"))});
    CHECK_FALSE(succeeded(exchange(github(server))).expires_in.has_value());
  }
  SUBCASE("zero, negative or garbage count as absent") {
    for (const char* value : {"0", "-5", "\"soon\"", "null", "\"\""}) {
      ScriptServer server({reply(ok_json(std::string(R"({"access_token":"at-1","expires_in":)") + value + "}"))});
      Provider p = github(server);
      p.token_response.expires_in_default = 60s;
      CHECK_MESSAGE(succeeded(exchange(p)).expires_in == 60s, value);
    }
  }
  SUBCASE("an absurd lifetime is clamped") {
    ScriptServer server({reply(ok_json(R"({"access_token":"at-1","expires_in":1e300})"))});
    CHECK(succeeded(exchange(github(server))).expires_in == kMaxExpiresIn);
  }
}

TEST_CASE("a response without refresh_token gives an empty one (the caller keeps the old)") {
  ScriptServer server({reply(ok_json(R"({"access_token":"at-1","expires_in":60})"))});
  const TokenSet set = succeeded(exchange(github(server)));
  CHECK(set.refresh_token.empty());
  CHECK(set.scopes.empty());
  CHECK(set.token_type.empty());
}

TEST_CASE("Slack: the user token is read at authed_user.*, not the bot token at the top") {
  ScriptServer server({reply(ok_json(R"({"ok":true,"access_token":"xoxb-bot","token_type":"bot","scope":"bot:x",
      "authed_user":{"id":"U1","scope":"users:read,chat:write","access_token":"xoxp-user","token_type":"user",
                     "refresh_token":"xoxe-1","expires_in":43200}})"))});
  const TokenSet set = succeeded(exchange(slack(server), app(), ""));
  CHECK(set.access_token.reveal() == "xoxp-user");
  CHECK(set.refresh_token.reveal() == "xoxe-1");
  CHECK(set.expires_in == 43200s);
  CHECK(set.scopes == std::vector<std::string>{"users:read", "chat:write"});
  CHECK(set.token_type == "user");
}

TEST_CASE("GitHub's form-encoded answer (sent when it ignores Accept) is read like JSON") {
  ScriptServer server({reply(http("HTTP/1.1 200 OK", "access_token=gho_x%2By&scope=repo%2Cgist&token_type=bearer",
                                  "application/x-www-form-urlencoded; charset=utf-8"))});
  const TokenSet set = succeeded(exchange(github(server)));
  CHECK(set.access_token.reveal() == "gho_x+y");
  CHECK(set.scopes == std::vector<std::string>{"repo", "gist"});
  CHECK(set.token_type == "bearer");
}

TEST_CASE("a 2xx without the access token is invalid_token_response") {
  SUBCASE("missing") {
    ScriptServer server({reply(ok_json(R"({"refresh_token":"rt-1","token_type":"bearer"})"))});
    const GrantError error = failed(exchange(github(server)));
    CHECK(error.code == "invalid_token_response");
    CHECK(error.http_status == 200);
    CHECK(error.request_sent);
    CHECK_FALSE(error.retryable);
    CHECK(error.message.find("rt-1") == std::string::npos);
  }
  SUBCASE("empty or not a string") {
    for (const char* body : {R"({"access_token":""})", R"({"access_token":42})", R"({"access_token":null})"}) {
      ScriptServer server({reply(ok_json(body))});
      CHECK_MESSAGE(failed(exchange(github(server))).code == "invalid_token_response", body);
    }
  }
  SUBCASE("Slack: a bot token at the top does not stand in for the missing user token") {
    ScriptServer server({reply(ok_json(R"({"ok":true,"access_token":"xoxb-bot"})"))});
    CHECK(failed(exchange(slack(server), app(), "")).code == "invalid_token_response");
  }
}

TEST_CASE("a 2xx that is not a JSON object or a form is invalid_token_response") {
  for (const auto& [type, body] : std::vector<std::pair<std::string, std::string>>{
           {"text/html", "<html><body>Sign in</body></html>"},
           {"application/json", "[\"access_token\"]"},
           {"application/json", ""},
           {"", "access_token=x"}}) {
    ScriptServer server({reply(http("HTTP/1.1 200 OK", body, type))});
    const GrantError error = failed(exchange(github(server)));
    CHECK_MESSAGE(error.code == "invalid_token_response", body);
    CHECK_FALSE(error.retryable);
    CHECK(error.message.find("Sign in") == std::string::npos);
  }
}

TEST_CASE("an RFC 6749 §5.2 error is reported by its own code and is not retryable") {
  SUBCASE("400 invalid_grant") {
    ScriptServer server({reply(http("HTTP/1.1 400 Bad Request",
                                    R"({"error":"invalid_grant","error_description":"The code has expired."})"))});
    const GrantError error = failed(exchange(github(server)));
    CHECK(error.code == "invalid_grant");
    CHECK(error.http_status == 400);
    CHECK(error.request_sent);
    CHECK_FALSE(error.retryable);
    CHECK(error.message.find("invalid_grant") != std::string::npos);
    CHECK(error.message.find("The code has expired.") != std::string::npos);
  }
  SUBCASE("401 invalid_client") {
    ScriptServer server({reply(http("HTTP/1.1 401 Unauthorized", R"({"error":"invalid_client"})"))});
    CHECK(failed(exchange(github(server))).code == "invalid_client");
  }
  SUBCASE("GitHub's 200 with an error") {
    ScriptServer server({reply(ok_json(R"({"error":"bad_verification_code","error_description":"bad code"})"))});
    const GrantError error = failed(exchange(github(server)));
    CHECK(error.code == "bad_verification_code");
    CHECK_FALSE(error.retryable);
  }
  SUBCASE("Slack's 200 with ok: false") {
    ScriptServer server({reply(ok_json(R"({"ok":false,"error":"invalid_code"})"))});
    const GrantError error = failed(exchange(slack(server), app(), ""));
    CHECK(error.code == "invalid_code");
    CHECK(error.http_status == 200);
    CHECK_FALSE(error.retryable);
  }
  SUBCASE("a long description is cut to 200 characters") {
    const std::string description(1000, 'x');
    ScriptServer server({reply(http("HTTP/1.1 400 Bad Request",
                                    R"({"error":"invalid_request","error_description":")" + description + "\"}"))});
    const GrantError error = failed(exchange(github(server)));
    CHECK(error.message.find(std::string(200, 'x')) != std::string::npos);
    CHECK(error.message.find(std::string(201, 'x')) == std::string::npos);
  }
}

TEST_CASE("a 4xx without an OAuth error is token_exchange_failed and not retryable") {
  for (const auto& [status, body] : std::vector<std::pair<std::string, std::string>>{
           {"HTTP/1.1 404 Not Found", "<html>no</html>"},
           {"HTTP/1.1 401 Unauthorized", ""},
           {"HTTP/1.1 400 Bad Request", R"({"error":{"message":"nested, not OAuth"}})"},
           {"HTTP/1.1 400 Bad Request", R"({"error":"a sentence, not a code"})"}}) {
    ScriptServer server({reply(http(status, body))});
    const GrantError error = failed(exchange(github(server)));
    CHECK_MESSAGE(error.code == "token_exchange_failed", status);
    CHECK_FALSE(error.retryable);
    CHECK(error.request_sent);
    CHECK(error.message.find("nested") == std::string::npos);
  }
}

TEST_CASE("a redirect from the token endpoint is token_exchange_failed") {
  ScriptServer server({reply(http("HTTP/1.1 302 Found", "", "", "Location: https://elsewhere.example/\r\n"))});
  const GrantError error = failed(exchange(github(server)));
  CHECK(error.code == "token_exchange_failed");
  CHECK(error.http_status == 302);
  CHECK_FALSE(error.retryable);
}

TEST_CASE("5xx and 429 are token_exchange_failed and retryable") {
  SUBCASE("500") {
    ScriptServer server({reply(http("HTTP/1.1 500 Internal Server Error", "oops", "text/plain"))});
    const GrantError error = failed(exchange(github(server)));
    CHECK(error.code == "token_exchange_failed");
    CHECK(error.retryable);
    CHECK(error.request_sent);
    CHECK(error.http_status == 500);
    CHECK(error.message.find("oops") == std::string::npos);
  }
  SUBCASE("503 with an OAuth error body is still retryable") {
    ScriptServer server({reply(http("HTTP/1.1 503 Service Unavailable", R"({"error":"temporarily_unavailable"})",
                                    "application/json", "Retry-After: 30\r\n"))});
    const GrantError error = failed(exchange(github(server)));
    CHECK(error.code == "token_exchange_failed");
    CHECK(error.retryable);
    CHECK(error.retry_after == 30s);
  }
  SUBCASE("429 with Retry-After") {
    ScriptServer server({reply(http("HTTP/1.1 429 Too Many Requests", "slow down", "text/plain", "Retry-After: 7\r\n"))});
    const GrantError error = failed(exchange(github(server)));
    CHECK(error.code == "token_exchange_failed");
    CHECK(error.retryable);
    CHECK(error.http_status == 429);
    CHECK(error.retry_after == 7s);
  }
  SUBCASE("a Retry-After date is not read") {
    ScriptServer server({reply(http("HTTP/1.1 429 Too Many Requests", "", "",
                                    "Retry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n"))});
    const GrantError error = failed(exchange(github(server)));
    CHECK(error.retryable);
    CHECK_FALSE(error.retry_after.has_value());
  }
}

TEST_CASE("an endpoint that cannot be reached is retryable: nothing was sent") {
  Provider p;
  p.key = "github";
  p.token_url = "http://127.0.0.1:" + std::to_string(test::free_port()) + "/token";
  const GrantError error = failed(exchange(p));
  CHECK(error.code == "token_exchange_failed");
  CHECK_FALSE(error.request_sent);
  CHECK(error.retryable);
  CHECK(error.http_status == 0);
}

TEST_CASE("an answer lost after the request was sent is not retryable") {
  ScriptServer server({});  // reads the request, then closes without a word
  const GrantError error = failed(exchange(github(server)));
  CHECK(error.code == "token_exchange_failed");
  CHECK(error.request_sent);
  CHECK_FALSE(error.retryable);
  CHECK(error.http_status == 0);
  CHECK(server.requests().size() == 1);
}

TEST_CASE("a connection parameter captured from the response is checked against its pattern") {
  SUBCASE("matching") {
    ScriptServer server({reply(ok_json(
        R"({"access_token":"00D!x","instance_url":"https://acme.my.salesforce.com","token_type":"Bearer"})"))});
    const TokenSet set = succeeded(exchange(salesforce(server)));
    CHECK(set.connection_params == std::map<std::string, std::string>{{"instance_url", "https://acme.my.salesforce.com"}});
  }
  SUBCASE("not matching: invalid_token_response, and the value is never quoted") {
    ScriptServer server({reply(ok_json(R"({"access_token":"00D!x","instance_url":"https://evil.example.com"})"))});
    const GrantError error = failed(exchange(salesforce(server)));
    CHECK(error.code == "invalid_token_response");
    CHECK_FALSE(error.retryable);
    CHECK(error.message.find("instance_url") != std::string::npos);
    CHECK(error.message.find("evil") == std::string::npos);
  }
  SUBCASE("not a string") {
    ScriptServer server({reply(ok_json(R"({"access_token":"00D!x","instance_url":{"host":"x"}})"))});
    CHECK(failed(exchange(salesforce(server))).code == "invalid_token_response");
  }
  SUBCASE("absent: nothing captured") {
    ScriptServer server({reply(ok_json(R"({"access_token":"00D!x"})"))});
    CHECK(succeeded(exchange(salesforce(server))).connection_params.empty());
  }
}

// ---- refresh and client credentials ----

TEST_CASE("refresh: grant_type=refresh_token with refresh_params, to the refresh URL when there is one") {
  ScriptServer server({reply(ok_json(R"({"access_token":"at-2","refresh_token":"rt-2","expires_in":"3600"})"))});
  Provider p = github(server);
  p.refresh_url = server.url("/v1/oauth/refresh");
  p.token_params = {{"only_on_exchange", "1"}};
  p.refresh_params = {{"access_type", "offline"}};
  const crypto::Secret old_refresh("rt-1 +/");
  const TokenSet set = succeeded(run([&](upstream::Client& c) { return refresh(c, p, {}, app(), old_refresh, {}); }));
  CHECK(set.access_token.reveal() == "at-2");
  CHECK(set.refresh_token.reveal() == "rt-2");
  CHECK(set.expires_in == 3600s);

  const auto requests = server.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].target == "/v1/oauth/refresh");
  CHECK(requests[0].header("Accept") == "application/json");
  CHECK(requests[0].body ==
        "grant_type=refresh_token&refresh_token=rt-1+%2B%2F&client_id=client-id-1&client_secret=client-secret-1"
        "&access_type=offline");
}

TEST_CASE("refresh goes to token_url without a refresh_url, and sends scope only when asked") {
  ScriptServer server({reply(ok_json(R"({"access_token":"at-2"})"))});
  Provider p = github(server);
  p.scope_separator = ",";
  const crypto::Secret token("rt-1");
  const std::vector<std::string> scopes{"a", "b"};
  succeeded(run([&](upstream::Client& c) { return refresh(c, p, {}, app(), token, scopes); }));
  REQUIRE(server.requests().size() == 1);
  CHECK(server.requests()[0].target == "/login/oauth/access_token");
  auto fields = form(server.requests()[0].body);
  CHECK(fields["grant_type"] == "refresh_token");
  CHECK(fields["scope"] == "a,b");
}

TEST_CASE("refresh: invalid_grant is reported as such and is not retryable") {
  ScriptServer server({reply(http("HTTP/1.1 400 Bad Request", R"({"error":"invalid_grant"})"))});
  Provider p = github(server);
  const crypto::Secret token("rt-1");
  const GrantError error = failed(run([&](upstream::Client& c) { return refresh(c, p, {}, app(), token, {}); }));
  CHECK(error.code == "invalid_grant");
  CHECK_FALSE(error.retryable);
}

TEST_CASE("Slack: a refreshed user token comes back at the top level and is read there") {
  ScriptServer server({reply(ok_json(
      R"({"ok":true,"access_token":"xoxe.xoxp-2","refresh_token":"xoxe-2","expires_in":43200,"token_type":"user","scope":"users:read"})"))});
  Provider p = slack(server);
  const crypto::Secret token("xoxe-1");
  const TokenSet set = succeeded(run([&](upstream::Client& c) { return refresh(c, p, {}, app(), token, {}); }));
  CHECK(set.access_token.reveal() == "xoxe.xoxp-2");
  CHECK(set.refresh_token.reveal() == "xoxe-2");
  CHECK(set.expires_in == 43200s);
  CHECK(set.token_type == "user");
  CHECK(set.scopes == std::vector<std::string>{"users:read"});
}

TEST_CASE("client credentials: grant_type, the default scopes and client_secret_basic") {
  ScriptServer server({reply(ok_json(R"({"access_token":"cc-1","expires_in":600,"token_type":"Bearer"})"))});
  Provider p = github(server);
  p.auth_mode = config::AuthMode::oauth2_client_credentials;
  p.token_endpoint_auth = config::TokenEndpointAuth::client_secret_basic;
  p.default_scopes = {"read", "write"};
  p.token_params = {{"audience", "https://api.example"}};
  const TokenSet set = succeeded(run([&](upstream::Client& c) { return client_credentials(c, p, {}, app(), {}); }));
  CHECK(set.access_token.reveal() == "cc-1");
  CHECK(set.expires_in == 600s);

  REQUIRE(server.requests().size() == 1);
  const auto r = server.requests()[0];
  CHECK(r.header("Authorization") == "Basic " + crypto::base64_encode("client-id-1:client-secret-1"));
  CHECK(r.body == "grant_type=client_credentials&scope=read+write&audience=https%3A%2F%2Fapi.example");
}

TEST_CASE("client credentials: asked-for scopes replace the defaults") {
  ScriptServer server({reply(ok_json(R"({"access_token":"cc-1"})"))});
  Provider p = github(server);
  const std::vector<std::string> scopes{"admin"};
  succeeded(run([&](upstream::Client& c) { return client_credentials(c, p, {}, app(), scopes); }));
  CHECK(form(server.requests()[0].body)["scope"] == "admin");
}

// ---- secrets never leak into errors ----

// The failing answers a provider could give, each quoting `echo` (what it was sent)
// and, where an answer carries tokens, quoting those too.
std::vector<std::string> hostile_answers(const std::string& echo) {
  const std::string tokens = R"("access_token":"MARKER-ACCESS-e1e1","refresh_token":"MARKER-REFRESH-NEW-0f0f")";
  const std::string quoted = echo + ", access MARKER-ACCESS-e1e1, new refresh MARKER-REFRESH-NEW-0f0f";
  return {
      http("HTTP/1.1 400 Bad Request", R"({"error":"invalid_grant","error_description":")" + echo + "\"}"),
      http("HTTP/1.1 400 Bad Request", "{" + tokens + R"(,"error":"invalid_request","error_description":")" + quoted + "\"}"),
      http("HTTP/1.1 400 Bad Request", quoted, "text/plain"),
      http("HTTP/1.1 401 Unauthorized", R"({"error":"invalid_client","error_description":")" + echo + "\"}"),
      http("HTTP/1.1 500 Internal Server Error", "{" + tokens + R"(,"error":"server_error","error_description":")" + quoted + "\"}"),
      http("HTTP/1.1 429 Too Many Requests", "{" + tokens + "}"),
      ok_json("{" + tokens + R"(,"ok":false,"error":"invalid_code","error_description":")" + quoted + "\"}"),
      ok_json(R"({"error":"bad_verification_code","error_description":")" + echo + "\"}"),
      ok_json(R"({"refresh_token":"MARKER-REFRESH-NEW-0f0f","token":"MARKER-ACCESS-e1e1","note":")" + quoted + "\"}"),
      http("HTTP/1.1 200 OK", "<html>" + quoted + "</html>", "text/html"),
      ok_json("{" + tokens + R"(,"instance_url":"https://MARKER-ACCESS-e1e1.evil.example"})"),
      ok_json("{" + tokens + R"(,"instance_url":{"MARKER-ACCESS-e1e1":1}})"),
      http("HTTP/1.1 302 Found", quoted, "text/plain", "Location: https://x.example/?MARKER-CODE-91bd\r\n"),
  };
}

TEST_CASE("no GrantError message ever holds a client secret, code, verifier, refresh token or returned token") {
  const std::vector<std::string> markers{"MARKER-CLIENT-SECRET-7f3a", "MARKER-CODE-91bd", "MARKER-VERIFIER-c0de",
                                         "MARKER-REFRESH-55aa", "MARKER-ACCESS-e1e1", "MARKER-REFRESH-NEW-0f0f"};
  const AppCredentials marked{crypto::Secret("client-id-1"), crypto::Secret(markers[0]), "your-own"};
  const crypto::Secret refresh_token(markers[3]);
  std::vector<std::string> messages;

  // Code exchange: a provider that echoes the code, verifier and client secret it was sent.
  for (const auto& answer : hostile_answers("code MARKER-CODE-91bd, verifier MARKER-VERIFIER-c0de, secret "
                                            "MARKER-CLIENT-SECRET-7f3a")) {
    ScriptServer server({reply(answer)});
    Provider p = salesforce(server);
    messages.push_back(failed(run([&](upstream::Client& c) {
                         return exchange_code(c, p, {}, marked, markers[1], kRedirect, markers[2]);
                       })).message);
  }
  // Refresh: one that echoes the refresh token and client secret.
  for (const auto& answer : hostile_answers("refresh MARKER-REFRESH-55aa, secret MARKER-CLIENT-SECRET-7f3a")) {
    ScriptServer server({reply(answer)});
    Provider p = salesforce(server);
    messages.push_back(
        failed(run([&](upstream::Client& c) { return refresh(c, p, {}, marked, refresh_token, {}); })).message);
  }
  // Client credentials: one that echoes the client secret.
  for (const auto& answer : hostile_answers("secret MARKER-CLIENT-SECRET-7f3a")) {
    ScriptServer server({reply(answer)});
    Provider p = salesforce(server);
    messages.push_back(
        failed(run([&](upstream::Client& c) { return client_credentials(c, p, {}, marked, {}); })).message);
  }
  // Revocation: one that echoes the token and client secret (its 2xx answers are successes).
  for (const auto& answer : hostile_answers("token MARKER-REFRESH-55aa, secret MARKER-CLIENT-SECRET-7f3a")) {
    ScriptServer server({reply(answer)});
    Provider p = salesforce(server);
    p.revocation_url = server.url("/revoke");
    messages.push_back(
        run([&](upstream::Client& c) { return revoke(c, p, {}, marked, refresh_token, "refresh_token"); }).detail);
  }
  {
    ScriptServer server({});  // the answer is lost
    Provider p = salesforce(server);
    messages.push_back(failed(exchange(p, marked, markers[2])).message);
  }
  {
    Provider p;
    p.key = "unreachable";
    p.token_url = "http://127.0.0.1:" + std::to_string(test::free_port()) + "/token?x=MARKER-CODE-91bd";
    messages.push_back(failed(exchange(p, marked, markers[2])).message);
  }
  for (const auto& message : messages) {
    CHECK(!message.empty());
    for (const auto& marker : markers) CHECK_MESSAGE(message.find(marker) == std::string::npos, message);
    CHECK_MESSAGE(message.find("MARKER") == std::string::npos, message);
  }
}

}  // namespace
}  // namespace tollgate::oauth
