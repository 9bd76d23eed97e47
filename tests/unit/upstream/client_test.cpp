#include <doctest/doctest.h>

#include <filesystem>
#include <stdexcept>

#include "raw_http.hpp"
#include "script_server.hpp"
#include "temp_dir.hpp"
#include "test_pki.hpp"
#include "tollgate/upstream/client.hpp"

using namespace tollgate;
using namespace tollgate::test;
using namespace std::chrono_literals;
using upstream::Failure;
using upstream::Options;
using upstream::Request;
using upstream::Response;

namespace {

// One trusted CA (given to the client as ca_file) and one nobody trusts.
struct Pki {
  TestCa ca{"tollgate test CA"};
  TestCa rogue{"untrusted test CA"};
  Identity local = ca.issue("localhost", {"localhost"}, {"127.0.0.1"});
  Identity other_host = ca.issue("other.example", {"other.example"}, {});
  Identity untrusted = rogue.issue("localhost", {"localhost"}, {"127.0.0.1"});
  TempDir dir;
  std::filesystem::path ca_file = dir.write("ca.pem", ca.cert_pem());
};

const Pki& pki() {
  static const Pki instance;
  return instance;
}

// Generous, so a loaded machine does not fail the tests that expect success.
Options options() {
  Options o;
  o.ca_file = pki().ca_file;
  o.connect = 5s;
  o.first_byte = 5s;
  o.idle = 5s;
  return o;
}

// Short response timeouts; connecting keeps its generous limit, so a TLS
// handshake on a loaded machine does not turn into a connect_timeout.
Options quick() {
  Options o = options();
  o.first_byte = 250ms;
  o.idle = 250ms;
  return o;
}

ServerOptions https(const Identity& identity, bool close_notify = true) {
  ServerOptions o;
  o.tls = identity;
  o.close_notify = close_notify;
  return o;
}

Request get(std::string url, std::vector<std::pair<std::string, std::string>> headers = {}) {
  return Request{"GET", std::move(url), std::move(headers), {}};
}

Request post(std::string url, std::string body, std::vector<std::pair<std::string, std::string>> headers = {}) {
  return Request{"POST", std::move(url), std::move(headers), std::move(body)};
}

Response succeeded(std::variant<Response, upstream::Error> result) {
  if (auto* error = std::get_if<upstream::Error>(&result))
    FAIL("unexpected " << upstream::to_string(error->failure) << ": " << error->message);
  return std::get<Response>(std::move(result));
}

upstream::Error failed(std::variant<Response, upstream::Error> result) {
  if (auto* response = std::get_if<Response>(&result)) FAIL("unexpected response with status " << response->status);
  return std::get<upstream::Error>(std::move(result));
}

std::string with_length(std::string_view status_line, std::string_view body, std::string_view extra = "") {
  return std::string(status_line) + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + std::string(extra) +
         "\r\n" + std::string(body);
}

const std::string kChunked =
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n"
    "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n";
const std::string kUntilClose = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the close";

}  // namespace

TEST_CASE("GET over http reads status and headers and a Content-Length body and sends Host and User-Agent") {
  ScriptServer server({reply(with_length("HTTP/1.1 200 OK", R"({"ok":true})",
                                         "Content-Type: application/json\r\nX-Multi: a\r\nX-Multi: b\r\n"))});
  auto response = succeeded(send_now(options(), get(server.url("/userinfo"), {{"Accept", "application/json"}})));
  CHECK(response.status == 200);
  CHECK(response.body == R"({"ok":true})");
  CHECK(response.header("content-type") == "application/json");
  CHECK(response.header("X-MULTI") == "a");
  CHECK(response.header("Missing") == "");

  auto requests = server.requests();
  REQUIRE(requests.size() == 1);
  const auto& r = requests[0];
  CHECK(r.method == "GET");
  CHECK(r.target == "/userinfo");
  CHECK(r.header("Host") == "127.0.0.1:" + std::to_string(server.port()));
  CHECK(r.header("User-Agent") == "tollgate/0.1");
  CHECK(r.header("Connection") == "close");
  CHECK(r.header("Accept") == "application/json");
  CHECK(r.count("Content-Length") == 0);
  CHECK(r.body.empty());
}

TEST_CASE("POST over http delivers headers and body intact and reads a chunked response whole") {
  ScriptServer server({reply(kChunked)});
  std::string body = "grant_type=refresh_token&refresh_token=r%2Bx&client_id=abc";
  auto response = succeeded(send_now(options(), post(server.url("/oauth/token"), body,
                                                     {{"Content-Type", "application/x-www-form-urlencoded"},
                                                      {"Authorization", "Basic YWJjOmRlZg=="},
                                                      {"X-Spaced", "a  b\tc"},
                                                      {"User-Agent", "custom/1.0"}})));
  CHECK(response.status == 200);
  CHECK(response.body == "hello, world");

  auto requests = server.requests();
  REQUIRE(requests.size() == 1);
  const auto& r = requests[0];
  CHECK(r.method == "POST");
  CHECK(r.body == body);
  CHECK(r.header("Content-Length") == std::to_string(body.size()));
  CHECK(r.header("Content-Type") == "application/x-www-form-urlencoded");
  CHECK(r.header("Authorization") == "Basic YWJjOmRlZg==");
  CHECK(r.header("X-Spaced") == "a  b\tc");
  CHECK(r.header("User-Agent") == "custom/1.0");
  CHECK(r.count("User-Agent") == 1);
}

TEST_CASE("a POST without a body says Content-Length: 0") {
  ScriptServer server({reply(with_length("HTTP/1.1 204 No Content", ""))});
  auto response = succeeded(send_now(options(), post(server.url("/revoke"), "")));
  CHECK(response.status == 204);
  REQUIRE(server.requests().size() == 1);
  CHECK(server.requests()[0].header("Content-Length") == "0");
}

TEST_CASE("the client replaces the caller's Host and Content-Length and Connection with its own") {
  ScriptServer server({reply(with_length("HTTP/1.1 200 OK", "ok"))});
  succeeded(send_now(options(), post(server.url("/x"), "four",
                                     {{"Host", "evil.example"}, {"Content-Length", "99"}, {"Connection", "keep-alive"}})));
  auto requests = server.requests();
  REQUIRE(requests.size() == 1);
  const auto& r = requests[0];
  CHECK(r.header("Host") == "127.0.0.1:" + std::to_string(server.port()));
  CHECK(r.count("Host") == 1);
  CHECK(r.header("Content-Length") == "4");
  CHECK(r.count("Content-Length") == 1);
  CHECK(r.header("Connection") == "close");
  CHECK(r.body == "four");
}

TEST_CASE("a body delimited by the close of the connection is read to the end over http") {
  ScriptServer server({reply(kUntilClose)});
  auto response = succeeded(send_now(options(), get(server.url("/"))));
  CHECK(response.body == "until the close");
}

TEST_CASE("the path and query reach the server exactly as written") {
  ScriptServer server({reply(with_length("HTTP/1.1 200 OK", ""))});
  succeeded(send_now(options(), get(server.url("/api/v4/projects/group%2Fproj?code=a%20b&state=x%2Fy"))));
  REQUIRE(server.requests().size() == 1);
  CHECK(server.requests()[0].target == "/api/v4/projects/group%2Fproj?code=a%20b&state=x%2Fy");
}

TEST_CASE("an interim 1xx response is skipped and the final one returned") {
  ScriptServer server({reply("HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n" +
                             with_length("HTTP/1.1 201 Created", "made"))});
  auto response = succeeded(send_now(options(), post(server.url("/x"), "{}")));
  CHECK(response.status == 201);
  CHECK(response.body == "made");
}

TEST_CASE("a HEAD response's Content-Length does not make the client wait for a body") {
  ScriptServer server({reply("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"), hang()});
  auto response = succeeded(send_now(quick(), Request{"HEAD", server.url("/file"), {}, {}}));
  CHECK(response.status == 200);
  CHECK(response.header("Content-Length") == "1000");
  CHECK(response.body.empty());
}

TEST_CASE("redirects are returned and not followed") {
  ScriptServer server({reply(with_length("HTTP/1.1 302 Found", "", "Location: https://elsewhere.example/\r\n"))});
  auto response = succeeded(send_now(options(), get(server.url("/"))));
  CHECK(response.status == 302);
  CHECK(response.header("Location") == "https://elsewhere.example/");
  CHECK(server.connections() == 1);
}

TEST_CASE("GET and POST over https with the test CA given as ca_file") {
  SUBCASE("Content-Length") {
    ScriptServer server({reply(with_length("HTTP/1.1 200 OK", "secure"))}, https(pki().local));
    auto response = succeeded(send_now(options(), get(server.url("/a?x=1"))));
    CHECK(response.body == "secure");
    REQUIRE(server.requests().size() == 1);
    CHECK(server.requests()[0].target == "/a?x=1");
  }
  SUBCASE("chunked with a POST body") {
    ScriptServer server({reply(kChunked)}, https(pki().local));
    auto response = succeeded(send_now(options(), post(server.url("/token"), "a=1&b=2",
                                                       {{"Content-Type", "application/x-www-form-urlencoded"}})));
    CHECK(response.body == "hello, world");
    REQUIRE(server.requests().size() == 1);
    CHECK(server.requests()[0].body == "a=1&b=2");
    CHECK(server.requests()[0].header("Content-Type") == "application/x-www-form-urlencoded");
  }
  SUBCASE("until the close ended with close_notify") {
    ScriptServer server({reply(kUntilClose)}, https(pki().local));
    CHECK(succeeded(send_now(options(), get(server.url("/")))).body == "until the close");
  }
  SUBCASE("until the close without close_notify") {
    ScriptServer server({reply(kUntilClose)}, https(pki().local, false));
    CHECK(succeeded(send_now(options(), get(server.url("/")))).body == "until the close");
  }
}

TEST_CASE("https to a host name: SNI and name verification succeed for a certificate naming it") {
  ScriptServer server({reply(with_length("HTTP/1.1 200 OK", "named"))}, https(pki().local));
  auto url = "https://localhost:" + std::to_string(server.port()) + "/x";
  CHECK(succeeded(send_now(options(), get(url))).body == "named");
  REQUIRE(server.requests().size() == 1);
  CHECK(server.requests()[0].header("Host") == "localhost:" + std::to_string(server.port()));
}

TEST_CASE("a certificate for another host name is tls_failed before anything is sent") {
  ScriptServer server({reply(with_length("HTTP/1.1 200 OK", ""))}, https(pki().other_host));
  SUBCASE("by name") {
    auto error = failed(send_now(options(), get("https://localhost:" + std::to_string(server.port()) + "/")));
    CHECK(error.failure == Failure::tls_failed);
    CHECK_FALSE(error.request_sent);
    CHECK(error.message.find("hostname mismatch") != std::string::npos);
  }
  SUBCASE("by IP address") {
    auto error = failed(send_now(options(), get(server.url("/"))));
    CHECK(error.failure == Failure::tls_failed);
    CHECK(error.message.find("IP address mismatch") != std::string::npos);
  }
  CHECK(server.requests().empty());
}

TEST_CASE("a certificate from an untrusted CA is tls_failed") {
  ScriptServer server({reply(with_length("HTTP/1.1 200 OK", ""))}, https(pki().untrusted));
  auto error = failed(send_now(options(), get(server.url("/"))));
  CHECK(error.failure == Failure::tls_failed);
  CHECK_FALSE(error.request_sent);
  CHECK(error.message.find("certificate verify failed: unable to get local issuer certificate") != std::string::npos);
  CHECK(upstream::to_code(error) == errors::Code::upstream_unreachable);
  CHECK(server.requests().empty());
}

TEST_CASE("without ca_file the test CA is not trusted: only the system store is") {
  ScriptServer server({reply(with_length("HTTP/1.1 200 OK", ""))}, https(pki().local));
  Options o = options();
  o.ca_file.clear();
  CHECK(failed(send_now(o, get(server.url("/")))).failure == Failure::tls_failed);
}

TEST_CASE("https to a plain http server is tls_failed") {
  ScriptServer server({reply(with_length("HTTP/1.1 400 Bad Request", ""))});
  auto error = failed(send_now(options(), get("https://127.0.0.1:" + std::to_string(server.port()) + "/")));
  CHECK(error.failure == Failure::tls_failed);
  CHECK_FALSE(error.request_sent);
}

TEST_CASE("a ca_file that is missing or holds no certificate makes the constructor throw") {
  TempDir dir;
  Options o;
  o.ca_file = dir / "missing.pem";
  CHECK_THROWS_AS(send_now(o, get("http://127.0.0.1:1/")), std::runtime_error);
  o.ca_file = dir.write("junk.pem", "not a certificate\n");
  CHECK_THROWS_AS(send_now(o, get("http://127.0.0.1:1/")), std::runtime_error);
}

TEST_CASE("a refused connection is connect_failed and nothing was sent") {
  auto port = free_port();
  auto error = failed(send_now(quick(), get("http://127.0.0.1:" + std::to_string(port) + "/token")));
  CHECK(error.failure == Failure::connect_failed);
  CHECK_FALSE(error.request_sent);
  CHECK(error.message.find("connection refused") != std::string::npos);
  CHECK(upstream::to_code(error) == errors::Code::upstream_unreachable);
}

TEST_CASE("a TLS handshake that never completes is connect_timeout with nothing sent") {
  ServerOptions silent;
  silent.read_request = false;
  ScriptServer server({hang()}, silent);
  Options o = options();
  o.connect = 250ms;
  auto error = failed(send_now(o, get("https://127.0.0.1:" + std::to_string(server.port()) + "/")));
  CHECK(error.failure == Failure::connect_timeout);
  CHECK_FALSE(error.request_sent);
  CHECK(upstream::to_code(error) == errors::Code::upstream_timeout);
}

TEST_CASE("a server that reads the request and never answers is first_byte_timeout with the request sent") {
  SUBCASE("http") {
    ScriptServer server({hang()});
    auto error = failed(send_now(quick(), post(server.url("/token"), "grant_type=x")));
    CHECK(error.failure == Failure::first_byte_timeout);
    CHECK(error.request_sent);
    CHECK(upstream::to_code(error) == errors::Code::upstream_timeout);
    CHECK(server.requests().size() == 1);
  }
  SUBCASE("https") {
    ScriptServer server({hang()}, https(pki().local));
    auto error = failed(send_now(quick(), post(server.url("/token"), "grant_type=x")));
    CHECK(error.failure == Failure::first_byte_timeout);
    CHECK(error.request_sent);
  }
}

TEST_CASE("a slow head within first_byte is waited for") {
  ScriptServer server({stall(100ms), reply(with_length("HTTP/1.1 200 OK", "late"))});
  Options o = options();
  o.idle = 50ms;  // the wait for the first byte is not an idle wait
  CHECK(succeeded(send_now(o, get(server.url("/")))).body == "late");
}

TEST_CASE("a response that stalls mid-body is idle_timeout") {
  SUBCASE("http") {
    ScriptServer server({reply("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nfirst part"), hang()});
    auto error = failed(send_now(quick(), get(server.url("/"))));
    CHECK(error.failure == Failure::idle_timeout);
    CHECK(error.request_sent);
    CHECK(upstream::to_code(error) == errors::Code::upstream_timeout);
  }
  SUBCASE("https") {
    ScriptServer server({reply("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\npart\r\n"), hang()},
                        https(pki().local));
    auto error = failed(send_now(quick(), get(server.url("/"))));
    CHECK(error.failure == Failure::idle_timeout);
    CHECK(error.request_sent);
  }
  SUBCASE("mid-head") {
    ScriptServer server({reply("HTTP/1.1 200 OK\r\nContent-"), hang()});
    CHECK(failed(send_now(quick(), get(server.url("/")))).failure == Failure::idle_timeout);
  }
}

TEST_CASE("a request body the server stops reading is idle_timeout with the request not sent") {
  ServerOptions deaf;
  deaf.read_request = false;
  ScriptServer server({hang()}, deaf);
  // Far more than the loopback socket buffers hold, so the write stalls.
  auto error = failed(send_now(quick(), post(server.url("/upload"), std::string(64 * 1024 * 1024, 'b'))));
  CHECK(error.failure == Failure::idle_timeout);
  CHECK_FALSE(error.request_sent);
}

TEST_CASE("a server that closes after reading the request is connection_lost with the request sent") {
  SUBCASE("http") {
    ScriptServer server({});
    auto error = failed(send_now(options(), post(server.url("/token"), "grant_type=x")));
    CHECK(error.failure == Failure::connection_lost);
    CHECK(error.request_sent);
    CHECK(upstream::to_code(error) == errors::Code::upstream_unreachable);
    CHECK(server.requests().size() == 1);
  }
  SUBCASE("https") {
    ScriptServer server({}, https(pki().local));
    auto error = failed(send_now(options(), post(server.url("/token"), "grant_type=x")));
    CHECK(error.failure == Failure::connection_lost);
    CHECK(error.request_sent);
  }
  SUBCASE("https without close_notify") {
    ScriptServer server({}, https(pki().local, false));
    CHECK(failed(send_now(options(), get(server.url("/")))).failure == Failure::connection_lost);
  }
}

TEST_CASE("a close before the declared body is complete is connection_lost") {
  SUBCASE("Content-Length") {
    ScriptServer server({reply("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")});
    CHECK(failed(send_now(options(), get(server.url("/")))).failure == Failure::connection_lost);
  }
  SUBCASE("chunked") {
    ScriptServer server({reply("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")},
                        https(pki().local, false));
    CHECK(failed(send_now(options(), get(server.url("/")))).failure == Failure::connection_lost);
  }
}

TEST_CASE("a response over max_response_bytes is response_too_large") {
  Options o = options();
  o.max_response_bytes = 1000;
  std::string big(1001, 'x');
  SUBCASE("declared by Content-Length") {
    ScriptServer server({reply(with_length("HTTP/1.1 200 OK", big))});
    auto error = failed(send_now(o, get(server.url("/"))));
    CHECK(error.failure == Failure::response_too_large);
    CHECK(error.request_sent);
  }
  SUBCASE("chunked") {
    ScriptServer server({reply("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3e9\r\n" + big + "\r\n0\r\n\r\n")});
    CHECK(failed(send_now(o, get(server.url("/")))).failure == Failure::response_too_large);
  }
  SUBCASE("until the close") {
    ScriptServer server({reply("HTTP/1.1 200 OK\r\n\r\n" + big)}, https(pki().local));
    CHECK(failed(send_now(o, get(server.url("/")))).failure == Failure::response_too_large);
  }
  SUBCASE("exactly the limit is fine") {
    ScriptServer server({reply(with_length("HTTP/1.1 200 OK", std::string(1000, 'y')))});
    CHECK(succeeded(send_now(o, get(server.url("/")))).body.size() == 1000);
  }
}

TEST_CASE("a response head over 64 KiB is response_too_large") {
  std::string huge = "X-Huge: " + std::string(70 * 1024, 'h') + "\r\n";
  ScriptServer server({reply(with_length("HTTP/1.1 200 OK", "", huge))});
  CHECK(failed(send_now(options(), get(server.url("/")))).failure == Failure::response_too_large);
}

TEST_CASE("a response that is not HTTP is protocol_error") {
  ScriptServer server({reply("SSH-2.0-OpenSSH_9.2\r\n\r\n")});
  auto error = failed(send_now(options(), get(server.url("/"))));
  CHECK(error.failure == Failure::protocol_error);
  CHECK(error.request_sent);
}

TEST_CASE("a header that could break the request is bad_request and nothing is sent") {
  ScriptServer server({reply(with_length("HTTP/1.1 200 OK", ""))});
  SUBCASE("CRLF in a value") {
    auto error = failed(send_now(options(), get(server.url("/"), {{"X-Note", "a\r\nX-Injected: 1"}})));
    CHECK(error.failure == Failure::bad_request);
    CHECK_FALSE(error.request_sent);
    CHECK(error.message.find("X-Injected") == std::string::npos);
  }
  SUBCASE("a name that is not a token") {
    CHECK(failed(send_now(options(), get(server.url("/"), {{"Bad Name", "v"}}))).failure == Failure::bad_request);
  }
  SUBCASE("a method that is not a token") {
    CHECK(failed(send_now(options(), Request{"GET /x", server.url("/"), {}, {}})).failure == Failure::bad_request);
  }
  CHECK(server.connections() == 0);
}

TEST_CASE("a URL that is not http(s) is bad_url") {
  auto error = failed(send_now(options(), get("ftp://127.0.0.1/file")));
  CHECK(error.failure == Failure::bad_url);
  CHECK_FALSE(error.request_sent);
}

TEST_CASE("the query reaches the server but no error message names it or a header value or a body") {
  const std::string query = "?code=s3cr3t-code&refresh_token=s3cr3t-rt";
  const std::vector<std::pair<std::string, std::string>> headers{{"Authorization", "Bearer s3cr3t-bearer"}};
  const std::string body = "client_secret=s3cr3t-body";
  auto check_clean = [](const upstream::Error& error) {
    INFO(upstream::to_string(error.failure) << ": " << error.message);
    CHECK(error.message.find("s3cr3t") == std::string::npos);
    CHECK(error.message.find('?') == std::string::npos);
  };

  ScriptServer answering({reply(with_length("HTTP/1.1 200 OK", ""))});
  succeeded(send_now(options(), post(answering.url("/token" + query), body, headers)));
  REQUIRE(answering.requests().size() == 1);
  CHECK(answering.requests()[0].target == "/token" + query);

  auto refused = "http://127.0.0.1:" + std::to_string(free_port()) + "/token" + query;
  check_clean(failed(send_now(quick(), post(refused, body, headers))));

  ScriptServer silent({hang()});
  auto timeout = failed(send_now(quick(), post(silent.url("/token" + query), body, headers)));
  CHECK(timeout.failure == Failure::first_byte_timeout);
  CHECK(timeout.message.find("/token") != std::string::npos);
  check_clean(timeout);

  ScriptServer stalling({reply("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nab"), hang()});
  check_clean(failed(send_now(quick(), post(stalling.url("/token" + query), body, headers))));

  ScriptServer closing({});
  check_clean(failed(send_now(options(), post(closing.url("/token" + query), body, headers))));

  ScriptServer garbage({reply("NOT HTTP s3cr3t\r\n\r\n")});
  check_clean(failed(send_now(options(), post(garbage.url("/token" + query), body, headers))));

  Options small = options();
  small.max_response_bytes = 4;
  ScriptServer large({reply(with_length("HTTP/1.1 200 OK", "s3cr3t-response"))});
  check_clean(failed(send_now(small, post(large.url("/token" + query), body, headers))));

  ScriptServer wrong_name({}, https(pki().other_host));
  check_clean(failed(send_now(options(), post(wrong_name.url("/token" + query), body, headers))));

  check_clean(failed(send_now(options(), post("ftp://127.0.0.1/token" + query, body, headers))));
  auto bad_header = headers;
  bad_header.emplace_back("X-Bad", "s3cr3t\r\n");
  check_clean(failed(send_now(options(), post(answering.url("/token" + query), body, bad_header))));
}
