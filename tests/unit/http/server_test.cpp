#include <doctest/doctest.h>

#include <thread>

#include "raw_http.hpp"
#include "test_server.hpp"
#include "process.hpp"

using namespace tollgate;
using namespace tollgate::test;
using namespace std::chrono_literals;

namespace {

std::string get(std::string_view target, std::string_view extra = "") {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: t\r\n" + std::string(extra) + "\r\n";
}

void check_error(const HttpResponse& r, int status, std::string_view code) {
  CHECK(r.status == status);
  CHECK(r.header("Tollgate-Error") == code);
  CHECK(r.header("Content-Type") == "application/json");
  CHECK(r.body.find("\"code\":\"" + std::string(code) + "\"") != std::string::npos);
  CHECK(r.body.find("\"request_id\":\"req_") != std::string::npos);
  CHECK(r.header("Tollgate-Request-Id").rfind("req_", 0) == 0);
  CHECK(r.body.find(r.header("Tollgate-Request-Id")) != std::string::npos);
}

}  // namespace

TEST_CASE("every response carries a Tollgate-Request-Id, and ids differ") {
  TestServer s;
  auto a = http_request(s.port, "GET", "/echo/a");
  auto b = http_request(s.port, "GET", "/echo/b");
  CHECK(a.status == 200);
  CHECK(a.body == R"({"word":"a"})");
  CHECK(a.header("Tollgate-Request-Id").size() > 20);
  CHECK(a.header("Tollgate-Request-Id") != b.header("Tollgate-Request-Id"));
}

TEST_CASE("an unknown path answers 404 not_found as SPEC's JSON error") {
  TestServer s;
  check_error(http_request(s.port, "GET", "/nowhere"), 404, "not_found");
}

TEST_CASE("a known path with the wrong method answers 405 with Allow") {
  TestServer s;
  auto r = http_request(s.port, "DELETE", "/echo/x");
  check_error(r, 405, "method_not_allowed");
  CHECK(r.header("Allow") == "GET");
}

TEST_CASE("pipelined keep-alive requests are answered in order on one connection") {
  TestServer s;
  RawConnection c(s.port);
  REQUIRE(c.send(get("/echo/one") + get("/echo/two") + get("/echo/three")));
  for (auto word : {"one", "two", "three"}) {
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == "{\"word\":\"" + std::string(word) + "\"}");
  }
  // Still open for a fourth.
  REQUIRE(c.send(get("/echo/four")));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->body == R"({"word":"four"})");
}

TEST_CASE("a head larger than max_header_bytes answers 431 headers_too_large and closes") {
  TestServer s([](config::Config& c) { c.server.limits.max_header_bytes = 1024; });
  RawConnection c(s.port);
  c.send(get("/echo/x", "X-Big: " + std::string(2000, 'a') + "\r\n"));
  auto r = c.read_response();
  REQUIRE(r);
  check_error(*r, 431, "headers_too_large");
  CHECK(c.wait_closed());
}

TEST_CASE("a head just under max_header_bytes is served") {
  TestServer s([](config::Config& c) { c.server.limits.max_header_bytes = 1024; });
  RawConnection c(s.port);
  c.send(get("/echo/x", "X-Big: " + std::string(900, 'a') + "\r\n"));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("a target longer than max_uri_bytes answers 414 uri_too_long") {
  TestServer s([](config::Config& c) { c.server.limits.max_uri_bytes = 256; });
  SUBCASE("while the request line is still arriving") {
    RawConnection c(s.port);
    c.send("GET /echo/" + std::string(600, 'a'));  // no CRLF yet
    auto r = c.read_response();
    REQUIRE(r);
    check_error(*r, 414, "uri_too_long");
  }
  SUBCASE("in a complete head") {
    check_error(http_request(s.port, "GET", "/echo/" + std::string(300, 'b')), 414, "uri_too_long");
  }
  SUBCASE("at the limit it is served") {
    auto r = http_request(s.port, "GET", "/echo/" + std::string(250, 'c'));
    CHECK(r.status == 200);
  }
}

TEST_CASE("a body over max_body_bytes answers 413 payload_too_large") {
  TestServer s([](config::Config& c) { c.server.limits.max_body_bytes = 1000; });
  SUBCASE("declared by Content-Length") {
    check_error(http_request(s.port, "POST", "/body", {}, std::string(1001, 'x')), 413, "payload_too_large");
  }
  SUBCASE("streamed in chunks") {
    RawConnection c(s.port);
    std::string req = "POST /body HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 5; ++i) req += "1f4\r\n" + std::string(500, 'y') + "\r\n";
    req += "0\r\n\r\n";
    c.send(req);
    auto r = c.read_response();
    REQUIRE(r);
    check_error(*r, 413, "payload_too_large");
  }
  SUBCASE("at the limit it is read whole") {
    auto r = http_request(s.port, "POST", "/body", {}, std::string(1000, 'x'));
    CHECK(r.status == 200);
    CHECK(r.body == R"({"bytes":1000})");
  }
}

TEST_CASE("ambiguous framing answers 400 bad_request and closes the connection") {
  TestServer s;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"TE and CL", "POST /body HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"},
      {"TE not ending in chunked", "POST /body HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"},
      {"TE on HTTP/1.0", "POST /body HTTP/1.0\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"},
      {"differing Content-Lengths", "POST /body HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello"},
      {"missing Host", "GET /echo/x HTTP/1.1\r\n\r\n"},
      {"repeated Host", "GET /echo/x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"},
      {"obs-fold", "GET /echo/x HTTP/1.1\r\nHost: t\r\nX-A: one\r\n two\r\n\r\n"},
      {"space before colon", "GET /echo/x HTTP/1.1\r\nHost : t\r\n\r\n"},
  };
  for (const auto& [name, raw] : cases) {
    CAPTURE(name);
    RawConnection c(s.port);
    c.send(raw);
    auto r = c.read_response();
    REQUIRE(r);
    check_error(*r, 400, "bad_request");
    CHECK(c.wait_closed());
  }
}

TEST_CASE("a Transfer-Encoding other than chunked answers 501 not_implemented") {
  TestServer s;
  RawConnection c(s.port);
  c.send("POST /body HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
  auto r = c.read_response();
  REQUIRE(r);
  check_error(*r, 501, "not_implemented");
}

TEST_CASE("a client sending its head a byte at a time is cut off at header_read") {
  TestServer s([](config::Config& c) { c.server.timeouts.header_read = 400ms; });
  RawConnection c(s.port);
  std::string head = get("/echo/slow", "X-Padding: " + std::string(60, 'p') + "\r\n");
  auto start = std::chrono::steady_clock::now();
  bool cut = false;
  for (char ch : head) {
    if (!c.send(std::string(1, ch)) || c.wait_closed(50ms)) {
      cut = true;
      break;
    }
  }
  // The whole head would take ~head.size() * 50ms ≈ 4 s to send; the server must cut it well before.
  CHECK(cut);
  CHECK(std::chrono::steady_clock::now() - start < 3s);
  CHECK(c.read_response(100ms) == std::nullopt);
}

TEST_CASE("an idle keep-alive connection is closed after the idle timeout") {
  TestServer s([](config::Config& c) { c.server.timeouts.idle = 300ms; });
  RawConnection c(s.port);
  c.send(get("/echo/x"));
  REQUIRE(c.read_response());
  CHECK(c.wait_closed(5s));
}

// The idle wait is timed by each worker's sweep, not a timer per wait: it must
// neither close early nor forget a connection, on the first request or a later one.
TEST_CASE("an idle keep-alive connection stays usable until the idle timeout") {
  TestServer s([](config::Config& c) {
    c.server.timeouts.idle = 900ms;
    c.server.timeouts.header_read = 60s;
  });
  RawConnection c(s.port);
  c.send(get("/echo/x"));
  REQUIRE(c.read_response());
  CHECK_FALSE(c.wait_closed(450ms));
  c.send(get("/echo/y"));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(c.wait_closed(5s));
}

TEST_CASE("a connection that never sends a byte is closed at header_read, not at idle") {
  TestServer s([](config::Config& c) {
    c.server.timeouts.idle = 60s;
    c.server.timeouts.header_read = 300ms;
  });
  RawConnection c(s.port);
  CHECK(c.wait_closed(5s));
}

TEST_CASE("graceful shutdown finishes the request in flight and refuses new connections") {
  auto s = std::make_unique<TestServer>();
  RawConnection c(s->port);
  c.send(get("/hold"));
  REQUIRE(eventually([&] { return s->held.load(); }));
  std::thread stopper([&] { s->server->shutdown(10s); });
  // New connections are refused once the acceptors are closed.
  CHECK(eventually([&] {
    try {
      RawConnection probe(s->port);
      return false;
    } catch (const std::exception&) {
      return true;
    }
  }));
  s->release = true;
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == R"({"held":true})");
  CHECK(r->header("Connection") == "close");
  stopper.join();
  CHECK(s->server->connections() == 0);
}

TEST_CASE("graceful shutdown closes idle keep-alive connections at once") {
  TestServer s;
  RawConnection c(s.port);
  c.send(get("/echo/x"));
  REQUIRE(c.read_response());
  auto start = std::chrono::steady_clock::now();
  s.server->shutdown(10s);
  CHECK(std::chrono::steady_clock::now() - start < 5s);
  CHECK(c.wait_closed(1s));
}

TEST_CASE("graceful shutdown gives up on a stuck request after the grace period") {
  TestServer s;
  RawConnection c(s.port);
  c.send(get("/hold"));
  REQUIRE(eventually([&] { return s.held.load(); }));
  auto start = std::chrono::steady_clock::now();
  s.server->shutdown(300ms);
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(took >= 300ms);
  CHECK(took < 5s);
  CHECK(c.wait_closed(2s));
}

TEST_CASE("limits follow the live config: a published change applies to the next request") {
  TestServer s;
  CHECK(http_request(s.port, "GET", "/echo/" + std::string(300, 'a')).status == 200);
  auto next = std::make_shared<config::Config>(*s.live->get());
  next->server.limits.max_uri_bytes = 100;
  s.live->publish(next);
  check_error(http_request(s.port, "GET", "/echo/" + std::string(300, 'a')), 414, "uri_too_long");
}

TEST_CASE("all workers share one port when port 0 is asked for") {
  TestServer s([](config::Config& c) { c.server.workers = 4; });
  CHECK(s.server->workers() == 4);
  for (int i = 0; i < 40; ++i) CHECK(http_request(s.port, "GET", "/echo/w").status == 200);
}
