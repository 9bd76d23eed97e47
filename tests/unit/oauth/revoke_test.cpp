// Revocation (RFC 7009) at disconnect: what is sent, and how the answer is reported.
#include <doctest/doctest.h>

#include <chrono>
#include <exception>
#include <map>
#include <optional>
#include <string>

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

RevocationResult revoke_now(const Provider& p, const AppCredentials& app, const crypto::Secret& token,
                            std::string_view hint, const ParamValues& params = {}) {
  asio::io_context io;
  upstream::Options o;
  o.connect = 5s;
  o.first_byte = 5s;
  o.idle = 5s;
  upstream::Client client(io.get_executor(), o);
  std::optional<RevocationResult> out;
  std::exception_ptr failure;
  auto task = revoke(client, p, params, app, token, hint);
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { out.emplace(co_await std::move(task)); },
      [&](std::exception_ptr e) { failure = e; });
  io.run();
  if (failure) std::rethrow_exception(failure);
  REQUIRE(out.has_value());
  return std::move(*out);
}

std::string answer(std::string_view status_line, std::string_view body = "", std::string_view type = "application/json") {
  std::string out = std::string(status_line) + "\r\n";
  if (!body.empty()) out += "Content-Type: " + std::string(type) + "\r\n";
  return out + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

Provider with_revocation(const ScriptServer& server) {
  Provider p;
  p.key = "gitlab";
  p.token_url = server.url("/oauth/token");
  p.revocation_url = server.url("/oauth/revoke");
  return p;
}

const AppCredentials kApp{crypto::Secret("client-id-1"), crypto::Secret("client-secret-1"), "managed:gitlab"};

TEST_CASE("a provider without a revocation endpoint is not attempted") {
  Provider p;
  p.key = "github";
  p.token_url = "https://github.com/login/oauth/access_token";
  const RevocationResult result = revoke_now(p, kApp, crypto::Secret("at-1"), "access_token");
  CHECK_FALSE(result.attempted);
  CHECK_FALSE(result.ok);
  CHECK(result.status == 0);
  CHECK_FALSE(result.detail.empty());
}

TEST_CASE("revocation sends token, token_type_hint and client_secret_post credentials — 200 is done") {
  ScriptServer server({reply(answer("HTTP/1.1 200 OK"))});
  Provider p = with_revocation(server);
  p.token_headers = {{"X-Extra", "1"}};
  const RevocationResult result = revoke_now(p, kApp, crypto::Secret("rt-1/+"), "refresh_token");
  CHECK(result.attempted);
  CHECK(result.ok);
  CHECK(result.status == 200);

  REQUIRE(server.requests().size() == 1);
  const auto r = server.requests()[0];
  CHECK(r.method == "POST");
  CHECK(r.target == "/oauth/revoke");
  CHECK(r.header("Content-Type") == "application/x-www-form-urlencoded");
  CHECK(r.header("Accept") == "application/json");
  CHECK(r.header("X-Extra") == "1");
  CHECK(r.body == "token=rt-1%2F%2B&token_type_hint=refresh_token&client_id=client-id-1&client_secret=client-secret-1");
}

TEST_CASE("revocation with client_secret_basic and no hint") {
  ScriptServer server({reply(answer("HTTP/1.1 200 OK", "{}"))});
  Provider p = with_revocation(server);
  p.token_endpoint_auth = config::TokenEndpointAuth::client_secret_basic;
  CHECK(revoke_now(p, kApp, crypto::Secret("at-1"), "").ok);
  REQUIRE(server.requests().size() == 1);
  const auto r = server.requests()[0];
  CHECK(r.header("Authorization") == "Basic " + crypto::base64_encode("client-id-1:client-secret-1"));
  CHECK(r.body == "token=at-1");
}

TEST_CASE("revocation with a JSON token body format sends JSON") {
  ScriptServer server({reply(answer("HTTP/1.1 200 OK", "{}"))});
  Provider p = with_revocation(server);
  p.token_body_format = config::TokenBodyFormat::json;
  CHECK(revoke_now(p, kApp, crypto::Secret("at-1"), "access_token").ok);
  const auto body = boost::json::parse(server.requests().at(0).body).as_object();
  CHECK(body.at("token").as_string() == "at-1");
  CHECK(body.at("token_type_hint").as_string() == "access_token");
  CHECK(body.at("client_id").as_string() == "client-id-1");
}

TEST_CASE("a 503 is attempted but not ok, and says the status") {
  ScriptServer server({reply(answer("HTTP/1.1 503 Service Unavailable", "down", "text/plain"))});
  const RevocationResult result = revoke_now(with_revocation(server), kApp, crypto::Secret("at-1"), "access_token");
  CHECK(result.attempted);
  CHECK_FALSE(result.ok);
  CHECK(result.status == 503);
  CHECK(result.detail.find("503") != std::string::npos);
  CHECK(result.detail.find("down") == std::string::npos);
}

TEST_CASE("an OAuth error answer is reported by its code — the token is never quoted") {
  ScriptServer server({reply(answer("HTTP/1.1 400 Bad Request",
                                    R"({"error":"unsupported_token_type","error_description":"token at-secret-1 is odd"})"))});
  const RevocationResult result =
      revoke_now(with_revocation(server), kApp, crypto::Secret("at-secret-1"), "access_token");
  CHECK_FALSE(result.ok);
  CHECK(result.status == 400);
  CHECK(result.detail.find("unsupported_token_type") != std::string::npos);
  CHECK(result.detail.find("at-secret-1") == std::string::npos);
}

TEST_CASE("a Slack-style 200 with ok: false is not ok") {
  ScriptServer server({reply(answer("HTTP/1.1 200 OK", R"({"ok":false,"error":"invalid_auth"})"))});
  const RevocationResult result = revoke_now(with_revocation(server), kApp, crypto::Secret("at-1"), "");
  CHECK(result.attempted);
  CHECK_FALSE(result.ok);
  CHECK(result.detail.find("invalid_auth") != std::string::npos);
}

TEST_CASE("an unreachable revocation endpoint is attempted, not ok, with no status") {
  Provider p;
  p.key = "gitlab";
  p.revocation_url = "http://127.0.0.1:" + std::to_string(test::free_port()) + "/oauth/revoke";
  const RevocationResult result = revoke_now(p, kApp, crypto::Secret("at-1"), "access_token");
  CHECK(result.attempted);
  CHECK_FALSE(result.ok);
  CHECK(result.status == 0);
  CHECK_FALSE(result.detail.empty());
}

TEST_CASE("a revocation URL whose parameter is missing sends nothing") {
  Provider p;
  p.key = "zendesk";
  p.connection_params["subdomain"] = {"^[a-z0-9][a-z0-9-]{0,62}$", ""};
  p.revocation_url = "https://{subdomain}.zendesk.com/oauth/revoke";
  const RevocationResult result = revoke_now(p, kApp, crypto::Secret("at-1"), "access_token");
  CHECK(result.attempted);
  CHECK_FALSE(result.ok);
  CHECK(result.status == 0);
  CHECK(result.detail.find("subdomain") != std::string::npos);
}

}  // namespace
}  // namespace tollgate::oauth
