#include <doctest/doctest.h>

#include "tollgate/upstream/url.hpp"

using namespace tollgate;
using upstream::Failure;
using upstream::Url;

namespace {

Url parse(std::string_view text) {
  auto parsed = upstream::parse_url(text);
  if (auto* error = std::get_if<upstream::Error>(&parsed)) FAIL("unexpected error: " << error->message);
  return std::get<Url>(parsed);
}

upstream::Error reject(std::string_view text) {
  auto parsed = upstream::parse_url(text);
  REQUIRE(std::holds_alternative<upstream::Error>(parsed));
  return std::get<upstream::Error>(parsed);
}

}  // namespace

TEST_CASE("an https URL gives the host and default port and Host header and the target as written") {
  Url url = parse("https://Auth.Example.com/oauth/token?a=1%20b&c=%2F#frag");
  CHECK(url.tls);
  CHECK(url.host == "auth.example.com");
  CHECK_FALSE(url.ip_literal);
  CHECK(url.port == 443);
  CHECK(url.authority == "auth.example.com");
  CHECK(url.target == "/oauth/token?a=1%20b&c=%2F");
  CHECK(url.origin() == "https://auth.example.com:443");
  CHECK(url.redacted() == "https://auth.example.com:443/oauth/token");
}

TEST_CASE("a non-default port goes into the Host header and an empty path is sent as /") {
  Url url = parse("http://127.0.0.1:8080?x=1");
  CHECK_FALSE(url.tls);
  CHECK(url.ip_literal);
  CHECK(url.host == "127.0.0.1");
  CHECK(url.port == 8080);
  CHECK(url.authority == "127.0.0.1:8080");
  CHECK(url.target == "/?x=1");
  CHECK(parse("http://example.com").target == "/");
  CHECK(parse("http://example.com:80/").authority == "example.com");
}

TEST_CASE("encoded path segments are not re-encoded or decoded") {
  CHECK(parse("https://gitlab.example.com/api/v4/projects/group%2Fproject/issues").target ==
        "/api/v4/projects/group%2Fproject/issues");
}

TEST_CASE("an IPv6 literal is used without brackets and bracketed in the Host header") {
  Url url = parse("https://[::1]:8443/x");
  CHECK(url.ip_literal);
  CHECK(url.host == "::1");
  CHECK(url.authority == "[::1]:8443");
  CHECK(url.origin() == "https://[::1]:8443");
}

TEST_CASE("only absolute http and https URLs with a host and no userinfo are accepted") {
  CHECK(reject("ftp://example.com/file").failure == Failure::bad_url);
  CHECK(reject("/relative/path").failure == Failure::bad_url);
  CHECK(reject("example.com/path").failure == Failure::bad_url);
  CHECK(reject("http:///path").failure == Failure::bad_url);
  CHECK(reject("https://user:pass@example.com/").failure == Failure::bad_url);
  CHECK(reject("https://example.com:0/").failure == Failure::bad_url);
  CHECK(reject("https://example.com:65536/").failure == Failure::bad_url);
  CHECK(reject("https://exa%41mple.com/").failure == Failure::bad_url);
  CHECK_FALSE(reject("https://example.com:0/").request_sent);
}

TEST_CASE("a rejected URL is not repeated in the message") {
  auto error = reject("https://user:hunter2@example.com/path?token=s3cr3t");
  CHECK(error.message.find("hunter2") == std::string::npos);
  CHECK(error.message.find("s3cr3t") == std::string::npos);
  CHECK(reject("ftp://x/?token=s3cr3t").message.find("s3cr3t") == std::string::npos);
}

TEST_CASE("timeouts map to upstream_timeout and every other failure to upstream_unreachable") {
  using errors::Code;
  auto code = [](Failure f) { return upstream::to_code(upstream::Error{f, false, ""}); };
  CHECK(code(Failure::connect_timeout) == Code::upstream_timeout);
  CHECK(code(Failure::first_byte_timeout) == Code::upstream_timeout);
  CHECK(code(Failure::idle_timeout) == Code::upstream_timeout);
  for (auto f : {Failure::bad_url, Failure::bad_request, Failure::resolve_failed, Failure::connect_failed,
                 Failure::tls_failed, Failure::connection_lost, Failure::protocol_error, Failure::response_too_large})
    CHECK(code(f) == Code::upstream_unreachable);
  CHECK(upstream::to_string(Failure::first_byte_timeout) == "first_byte_timeout");
  CHECK(upstream::to_string(Failure::response_too_large) == "response_too_large");
}
