#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <string_view>

#include "tollgate/relay/headers.hpp"

using namespace tollgate;
using relay::Headers;

namespace {

bool has(const Headers& headers, std::string_view name) {
  return std::any_of(headers.begin(), headers.end(), [&](const auto& h) { return h.first == name; });
}

}  // namespace

TEST_CASE("hop-by-hop names are recognised in any case") {
  for (std::string_view name : {"Connection", "keep-alive", "PROXY-CONNECTION", "te", "TE", "Trailer",
                                "transfer-encoding", "Upgrade", "Proxy-Authenticate", "proxy-authorization"}) {
    CAPTURE(name);
    CHECK(relay::is_hop_by_hop(name));
  }
  for (std::string_view name : {"Content-Type", "Trailers", "Authorization", "Tee", "", "Connections"}) {
    CAPTURE(name);
    CHECK_FALSE(relay::is_hop_by_hop(name));
  }
}

TEST_CASE("Connection lists tokens, trimmed and lowercased, skipping empty elements") {
  CHECK(relay::connection_listed("close, X-Custom") == std::vector<std::string>{"close", "x-custom"});
  CHECK(relay::connection_listed(" ,keep-alive ,\tX-A\t,,x-b , ") ==
        std::vector<std::string>{"keep-alive", "x-a", "x-b"});
  CHECK(relay::connection_listed("").empty());
  CHECK(relay::connection_listed(" , ").empty());
}

TEST_CASE("request headers lose hop-by-hop, Connection-named, credentials, Tollgate-*, forwarding and framing") {
  Headers in{
      {"HOST", "tollgate.example"},
      {"Connection", "close, X-Custom"},
      {"x-custom", "secret-hop"},
      {"Keep-Alive", "timeout=5"},
      {"TE", "trailers"},
      {"Transfer-Encoding", "chunked"},
      {"Upgrade", "websocket"},
      {"Proxy-Authorization", "Basic x"},
      {"authorization", "Bearer tk_tenant"},
      {"COOKIE", "session=1"},
      {"Tollgate-Auth-Config", "pac_1"},
      {"tollgate-external-user", "u1"},
      {"Forwarded", "for=1.2.3.4"},
      {"X-Forwarded-For", "1.2.3.4"},
      {"x-forwarded-host", "evil.com"},
      {"X-Forwarded-Proto", "http"},
      {"content-length", "12"},
      {"Content-Type", "application/json"},
      {"Accept", "application/vnd.github+json"},
      {"X-GitHub-Api-Version", "2022-11-28"},
      {"If-None-Match", "\"abc\""},
      {"X-Forwarded", "kept: not X-Forwarded-*"},
  };
  Headers out = relay::filter_request_headers(in);
  CHECK(out == Headers{
                   {"Content-Type", "application/json"},
                   {"Accept", "application/vnd.github+json"},
                   {"X-GitHub-Api-Version", "2022-11-28"},
                   {"If-None-Match", "\"abc\""},
                   {"X-Forwarded", "kept: not X-Forwarded-*"},
               });
}

TEST_CASE("names listed across several Connection headers are all removed, in any case") {
  Headers in{{"connection", "X-A"}, {"CONNECTION", "x-b"}, {"x-a", "1"}, {"X-B", "2"}, {"X-C", "3"}};
  CHECK(relay::filter_request_headers(in) == Headers{{"X-C", "3"}});
  CHECK(relay::filter_response_headers(in) == Headers{{"X-C", "3"}});
}

TEST_CASE("response headers lose hop-by-hop, Connection-named and framing, and keep the rest in order") {
  Headers in{
      {"Connection", "close, X-Custom"},
      {"X-Custom", "hop"},
      {"keep-alive", "timeout=5"},
      {"Transfer-Encoding", "chunked"},
      {"Content-Length", "42"},
      {"Proxy-Authenticate", "Basic"},
      {"Trailer", "X-Checksum"},
      {"Upgrade", "h2c"},
      {"Content-Type", "application/json"},
      {"Set-Cookie", "a=1"},
      {"set-cookie", "b=2"},
      {"Retry-After", "30"},
      {"Location", "https://api.example.com/next"},
      {"X-RateLimit-Remaining", "0"},
      {"Authorization", "kept on responses"},
  };
  Headers out = relay::filter_response_headers(in);
  CHECK(out == Headers{
                   {"Content-Type", "application/json"},
                   {"Set-Cookie", "a=1"},
                   {"set-cookie", "b=2"},
                   {"Retry-After", "30"},
                   {"Location", "https://api.example.com/next"},
                   {"X-RateLimit-Remaining", "0"},
                   {"Authorization", "kept on responses"},
                            });
  CHECK_FALSE(has(out, "X-Custom"));
}

TEST_CASE("X-Forwarded-For is the peer address alone") {
  CHECK(relay::x_forwarded_for("203.0.113.7") == "203.0.113.7");
  CHECK(relay::x_forwarded_for("2001:db8::1") == "2001:db8::1");
  CHECK(relay::x_forwarded_for("[2001:db8::1]") == "2001:db8::1");
  CHECK(relay::x_forwarded_for("fe80::1%eth0") == "fe80::1%eth0");
  CHECK(relay::x_forwarded_for("1.2.3.4\r\nX-Evil: 1").find_first_of("\r\n ") == std::string::npos);
}

TEST_CASE("an upstream's own Tollgate-* response headers never reach the client") {
  using tollgate::relay::filter_response_headers;
  const tollgate::relay::Headers in{{"Tollgate-Error", "fake"}, {"tollgate-refreshed", "true"}, {"X-Ok", "1"}};
  const auto out = filter_response_headers(in);
  REQUIRE(out.size() == 1);
  CHECK(out[0].first == "X-Ok");
}

TEST_CASE("a name is dropped only when it is one of the fixed names, not when it merely shares its length or start") {
  // The classification compares a name with the fixed names of its own length:
  // near misses of every such length stay, in any case.
  for (std::string_view name : {"EXPECT", "Host", "cookie", "FORWARDED", "Authorization", "Content-Length",
                                "Tollgate-Anything", "x-forwarded-port", "TE", "Keep-Alive"}) {
    CAPTURE(name);
    CHECK(relay::request_header_dropped(name, {}));
  }
  for (std::string_view name : {"Accept", "Hosts", "Cookies", "Origin", "Forwarder", "authorisation", "Content-Lengths",
                                "Tollgate", "X-Forwarded", "Te-", "Keep-Alives", "Date", "ETag", "Via", "x"}) {
    CAPTURE(name);
    CHECK_FALSE(relay::request_header_dropped(name, {}));
  }
  CHECK(relay::response_header_dropped("CONTENT-LENGTH", {}));
  CHECK(relay::response_header_dropped("tollgate-x", {}));
  CHECK_FALSE(relay::response_header_dropped("Content-Type", {}));
  CHECK_FALSE(relay::response_header_dropped("Authorization", {}));
  CHECK_FALSE(relay::response_header_dropped("Cookie", {}));
  const std::vector<std::string> mine{"x-mine"};
  CHECK(relay::response_header_dropped("X-Mine", mine));
}
