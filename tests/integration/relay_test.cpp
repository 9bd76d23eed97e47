// The relay's hot path against real upstream peers on loopback (SPEC §5):
// credential injection per auth mode, header hygiene both ways, targets that
// cannot be escaped, streaming with flat memory, and every way an upstream fails.
#include <doctest/doctest.h>

#include <thread>

#include "relay_world.hpp"

namespace tollgate::test {
namespace {

using namespace relay_world;
using namespace std::chrono_literals;

bool contains(const std::string& text, std::string_view what) { return text.find(what) != std::string::npos; }

std::vector<std::pair<std::string, std::string>> with_config(const std::string& pac) {
  return {{"Tollgate-Auth-Config", pac}};
}

TEST_CASE("relay: a bearer connection reaches the upstream with its token and none of the client's forbidden headers") {
  World w;
  w.plain.on([](const PeerRequest&) {
    return Reply::json(201, R"({"made":true})")
        .with_header("X-Upstream", "yes")
        .with_header("Set-Cookie", "session=abc; HttpOnly")
        .with_header("Connection", "X-Up-Hop")
        .with_header("X-Up-Hop", "drop-me")
        .with_header("Keep-Alive", "timeout=5")
        .with_header("Proxy-Authenticate", "Basic")
        .with_header("Tollgate-Error", "forged")
        .with_header("Retry-After", "7");
  });
  auto r = w.call("POST", "/v1/proxy/bearer/repos/group%2Fproject/items?x=1&y=%2F&z=a+b",
                  {{"Tollgate-Auth-Config", w.bearer_pac},
                   {"Cookie", "client=1"},
                   {"Forwarded", "for=6.6.6.6"},
                   {"X-Forwarded-For", "6.6.6.6"},
                   {"X-Forwarded-Host", "evil.example"},
                   {"Proxy-Authorization", "Basic Zm9v"},
                   {"Connection", "X-Client-Hop"},
                   {"X-Client-Hop", "1"},
                   {"TE", "trailers"},
                   {"Tollgate-Something", "x"},
                   {"X-Custom", "kept"},
                   {"Content-Type", "application/json"}},
                  R"({"name":"x"})");
  REQUIRE_MESSAGE(r.status == 201, r.body);
  CHECK(r.body == R"({"made":true})");
  CHECK(r.header("x-upstream") == "yes");
  CHECK(r.header("set-cookie") == "session=abc; HttpOnly");
  CHECK(r.header("retry-after") == "7");
  CHECK_FALSE(r.has_header("x-up-hop"));
  CHECK_FALSE(r.has_header("keep-alive"));
  CHECK_FALSE(r.has_header("proxy-authenticate"));
  CHECK_FALSE(r.has_header("tollgate-error"));
  CHECK(r.has_header("tollgate-request-id"));

  REQUIRE(w.plain.wait_for_requests(1));
  auto got = w.plain.requests().at(0);
  CHECK(got.method == "POST");
  CHECK(got.target == "/v3/repos/group%2Fproject/items?x=1&y=%2F&z=a+b");
  CHECK(got.header("Authorization") == "Bearer " + kAccessToken);
  CHECK(got.count("Authorization") == 1);
  CHECK(got.header("Host") == "127.0.0.1:" + std::to_string(w.plain.port()));
  CHECK(got.header("X-Forwarded-For") == "127.0.0.1");
  CHECK(got.count("X-Forwarded-For") == 1);
  CHECK(got.header("X-Api-Version") == "2");
  CHECK(got.header("Accept") == "application/vnd.test+json");
  CHECK(got.header("X-Custom") == "kept");
  CHECK(got.body_prefix == R"({"name":"x"})");
  for (const char* gone : {"Cookie", "Forwarded", "X-Forwarded-Host", "Proxy-Authorization", "X-Client-Hop", "TE",
                           "Tollgate-Something", "Tollgate-Auth-Config", "Connection"})
    CHECK_MESSAGE(got.count(gone) == 0, gone);
  CHECK_FALSE(contains(got.head, w.key));
  CHECK_FALSE(contains(w.tg->logs(), kAccessToken));
}

TEST_CASE("relay: api-key, query, basic, deployment and per-connection providers each get their credential") {
  World w;
  CHECK(w.call("GET", "/v1/proxy/keyed/models", {{"Tollgate-External-User", "u1"}}).status == 200);
  CHECK(w.call("GET", "/v1/proxy/queried/search?q=1", with_config(w.queried_pac)).status == 200);
  CHECK(w.call("GET", "/v1/proxy/basic/charges", with_config(w.basic_pac)).status == 200);
  CHECK(w.call("GET", "/v1/proxy/deploy/answer").status == 200);
  CHECK(w.call("GET", "/v1/proxy/team/tickets", with_config(w.team_pac)).status == 200);
  // A client-chosen Accept overrides the provider's default; the credential header cannot be overridden.
  CHECK(w.call("GET", "/v1/proxy/keyed/raw", {{"Tollgate-Auth-Config", w.keyed_pac}, {"Accept", "text/plain"},
                                              {"X-Api-Key", "client-forged"}}).status == 200);
  REQUIRE(w.plain.wait_for_requests(6));
  auto got = w.plain.requests();
  CHECK(got[0].target == "/keyed/models");
  CHECK(got[0].header("X-Api-Key") == "Key " + kApiKey);
  CHECK(got[1].target == "/q/search?q=1&api_key=a%20b%26c%3Dd");
  CHECK(got[1].count("Authorization") == 0);
  CHECK(got[2].target == "/basic/charges");
  CHECK(got[2].header("Authorization") == "Basic " + std::string("QkFTSUNVU0VSLU1BUktFUi05ZDFlOnB3"));
  CHECK(got[3].target == "/deploy/answer");
  CHECK(got[3].header("Authorization") == "Bearer " + kDeployKey);
  CHECK(got[4].target == "/teams/blue/tickets");
  CHECK(got[4].header("X-Api-Key") == "team-key");
  CHECK(got[5].header("X-Api-Key") == "Key " + kApiKey);
  CHECK(got[5].count("X-Api-Key") == 1);
  CHECK(got[5].header("Accept") == "text/plain");
  auto logs = w.tg->logs();
  for (const auto& marker : {kApiKey, kDeployKey, kBasicKey, kAccessToken}) CHECK_FALSE(contains(logs, marker));
}

TEST_CASE("relay: a TLS upstream verified against relay.ca_file, with redirects passed through untouched") {
  World w;
  w.tls.on([](const PeerRequest&) {
    return Reply::fixed(302).with_header("Location", "https://elsewhere.example/next?a=1");
  });
  auto r = w.call("GET", "/v1/proxy/bearer-tls/user", with_config(w.bearer_pac));
  REQUIRE_MESSAGE(r.status == 302, r.body);
  CHECK(r.header("location") == "https://elsewhere.example/next?a=1");
  REQUIRE(w.tls.wait_for_requests(1));
  auto got = w.tls.requests().at(0);
  CHECK(got.target == "/secure/user");
  CHECK(got.header("Authorization") == "Bearer " + kAccessToken);
}

TEST_CASE("relay: keep-alive upstream connections are reused, and one the upstream closed while idle is not") {
  World w("server:\n  listen: 127.0.0.1:0\n  workers: 1\n");  // one worker, one pool
  for (int i = 0; i < 3; ++i) CHECK(w.call("GET", "/v1/proxy/deploy/a").status == 200);
  REQUIRE(w.plain.wait_for_requests(3));
  CHECK(w.plain.connections() == 1);
  REQUIRE(w.plain.close_idle() == 1);
  // The pooled connection is closed now: the next calls (a GET and a POST) still succeed.
  CHECK(w.call("GET", "/v1/proxy/deploy/b").status == 200);
  CHECK(w.call("POST", "/v1/proxy/deploy/c", {}, "body").status == 200);
  REQUIRE(w.plain.wait_for_requests(5));
  CHECK(w.plain.connections() == 2);
}

TEST_CASE("relay: an upstream that never answers is 504 upstream_timeout") {
  World w;
  w.plain.on([](const PeerRequest&) { return Reply::stall(); });
  auto r = w.call("GET", "/v1/proxy/deploy/slow");
  CHECK(r.status == 504);
  CHECK(r.header("tollgate-error") == "upstream_timeout");
  CHECK(contains(r.body, "relay.upstream_timeouts.first_byte"));
}

TEST_CASE("relay: an upstream that resets or is not listening is 502 upstream_unreachable") {
  World w;
  w.plain.on([](const PeerRequest&) { return Reply::reset(); });
  auto r = w.call("POST", "/v1/proxy/deploy/reset", {}, "x");
  CHECK(r.status == 502);
  CHECK(r.header("tollgate-error") == "upstream_unreachable");
  // An idempotent call is tried once more on a fresh connection, then given up.
  auto g = w.call("GET", "/v1/proxy/deploy/reset");
  CHECK(g.status == 502);
  CHECK(w.plain.wait_until([](const PeerState& s) { return s.requests.size() == 3; }));
}

TEST_CASE("relay: a response with broken framing is 502 and its connection is dropped") {
  World w;
  int n = 0;
  w.plain.on([&n](const PeerRequest&) {
    if (n++ == 0)
      return Reply::raw("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
    return Reply::json(200, "{}");
  });
  auto r = w.call("GET", "/v1/proxy/deploy/broken");
  CHECK(r.status == 502);
  CHECK(contains(r.body, "broken response framing"));
  for (std::string raw : {std::string("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"),
                          std::string("HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 2\r\n\r\nok"),
                          std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxx")}) {
    w.plain.on([raw](const PeerRequest&) { return Reply::raw(raw); });
    auto b = w.call("GET", "/v1/proxy/deploy/broken");
    CHECK_MESSAGE(b.status == 502, raw);
  }
  w.plain.on([](const PeerRequest&) { return Reply::json(200, "{}"); });
  CHECK(w.call("GET", "/v1/proxy/deploy/fine").status == 200);
}

// A GET through the relay whose answer the upstream cuts: the head tollgate
// sent, and how many body bytes reached the client before the connection ended.
struct CutAnswer {
  std::string head;
  std::chrono::steady_clock::duration head_after{};  // from the request sent to its head read
  std::uint64_t body_bytes = 0;
};
CutAnswer read_cut_answer(World& w, std::string_view path) {
  Stream s(w.tg->port());
  CutAnswer a;
  const auto sent = std::chrono::steady_clock::now();
  REQUIRE(s.send("GET /v1/proxy/deploy/" + std::string(path) + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                 w.key + "\r\n\r\n"));
  a.head = s.read_head();
  a.head_after = std::chrono::steady_clock::now() - sent;
  for (auto piece = s.read_some(); !piece.empty(); piece = s.read_some()) a.body_bytes += piece.size();
  return a;
}

TEST_CASE("relay: a failure after the response head resets the client connection") {
  World w;
  w.plain.on([](const PeerRequest&) { return Reply::generated(1 << 20).reset_after(1000); });
  auto a = read_cut_answer(w, "cut");
  REQUIRE(contains(a.head, "200 OK"));
  CHECK(contains(a.head, "Content-Length: 1048576"));
  CHECK(a.body_bytes < (1u << 20));
}

TEST_CASE("relay: a small body that breaks off while it is held still reaches the client as head, part, reset") {
  World w;
  // 4 KiB fits one piece, so tollgate holds the head until the body is in.
  w.plain.on([](const PeerRequest&) { return Reply::generated(4096).reset_after(1000); });
  auto a = read_cut_answer(w, "cut");
  REQUIRE(contains(a.head, "200 OK"));
  CHECK(contains(a.head, "Content-Length: 4096"));
  CHECK(a.body_bytes < 4096);
}

TEST_CASE("relay: the head of a small answer waits for its body") {
  World w;
  // The peer sends the head and 1000 bytes, waits 300 ms and closes: the head
  // comes after the wait, with what arrived, and the cut body ends the connection.
  w.plain.on([](const PeerRequest&) { return Reply::generated(4096).stall_after(1000, 300ms); });
  auto a = read_cut_answer(w, "slow");
  CHECK(a.head_after >= 250ms);
  REQUIRE(contains(a.head, "200 OK"));
  CHECK(contains(a.head, "Content-Length: 4096"));
  CHECK(a.body_bytes < 4096);
}

TEST_CASE("relay: a 1 GiB response streams through with flat memory") {
  World w;
  constexpr std::uint64_t kSize = 1ull << 30;
  w.plain.on([](const PeerRequest&) { return Reply::generated(kSize); });
  Stream s(w.tg->port());
  REQUIRE(s.send("GET /v1/proxy/deploy/big HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + w.key + "\r\n\r\n"));
  auto head = s.read_head();
  REQUIRE(contains(head, "Content-Length: 1073741824"));
  const auto before = rss_bytes(w.tg->process().pid());
  std::uint64_t got = 0, peak = before;
  bool pattern_ok = true;
  while (got < kSize) {
    auto piece = s.read_some(1 << 20);
    if (piece.empty()) break;
    for (std::size_t i = 0; i < piece.size(); i += 4093)
      pattern_ok = pattern_ok && piece[i] == static_cast<char>('a' + (got + i) % 26);
    got += piece.size();
    if ((got & ((64u << 20) - 1)) < piece.size()) peak = std::max(peak, rss_bytes(w.tg->process().pid()));
  }
  CHECK(got == kSize);
  CHECK(pattern_ok);
  MESSAGE("tollgate RSS before " << before / 1024 << " KiB, peak " << peak / 1024 << " KiB");
  CHECK(peak - before < (64ull << 20));
}

TEST_CASE("relay: a 256 MiB upload streams through intact with flat memory") {
  World w;
  constexpr std::uint64_t kSize = 256ull << 20;
  Stream s(w.tg->port());
  REQUIRE(s.send("PUT /v1/proxy/deploy/upload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + w.key +
                 "\r\nContent-Length: " + std::to_string(kSize) + "\r\n\r\n"));
  const auto before = rss_bytes(w.tg->process().pid());
  std::uint64_t peak = before;
  for (std::uint64_t sent = 0; sent < kSize; sent += 1 << 20) {
    REQUIRE_MESSAGE(s.send(pattern_bytes(sent, 1 << 20)), w.tg->logs());
    if ((sent & ((32u << 20) - 1)) == 0) peak = std::max(peak, rss_bytes(w.tg->process().pid()));
  }
  auto head = s.read_head(30s);
  CHECK(contains(head, "200 OK"));
  REQUIRE(w.plain.wait_for_requests(1, 30s));
  auto got = w.plain.requests().at(0);
  CHECK(got.body_bytes == kSize);
  CHECK(got.header("Content-Length") == std::to_string(kSize));
  CHECK(got.body_sha256 == pattern_sha256(kSize));
  MESSAGE("tollgate RSS before " << before / 1024 << " KiB, peak " << peak / 1024 << " KiB");
  CHECK(peak - before < (64ull << 20));
}

TEST_CASE("relay: a chunked upload arrives chunked and whole") {
  World w;
  Stream s(w.tg->port());
  REQUIRE(s.send("POST /v1/proxy/deploy/chunks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + w.key +
                 "\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n"));
  auto interim = s.read_head();
  CHECK(contains(interim, "100 Continue"));
  REQUIRE(s.send("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"));
  auto head = s.read_head();
  CHECK(contains(head, "200 OK"));
  REQUIRE(w.plain.wait_for_requests(1));
  auto got = w.plain.requests().at(0);
  CHECK(got.chunked);
  CHECK(got.body_prefix == "hello world");
  CHECK(got.count("Expect") == 0);
}

TEST_CASE("relay: an event stream outlives the request deadline") {
  World w("server:\n  listen: 127.0.0.1:0\n  workers: 2\n  timeouts: {request: 1s}\n");
  // Five events 400 ms apart: the stream lasts twice the request deadline.
  w.plain.on([](const PeerRequest&) { return Reply::events(5, 400ms); });
  Stream s(w.tg->port());
  REQUIRE(s.send("GET /v1/proxy/deploy/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + w.key + "\r\n\r\n"));
  auto head = s.read_head();
  REQUIRE(contains(head, "200 OK"));
  CHECK(contains(head, "text/event-stream"));
  CHECK(contains(head, "Transfer-Encoding: chunked"));
  std::string body;
  const auto start = std::chrono::steady_clock::now();
  while (!contains(body, "0\r\n\r\n") || !contains(body, "data: 4")) {
    auto piece = s.read_some();
    if (piece.empty()) break;
    body += piece;
  }
  CHECK(contains(body, "data: 0"));
  CHECK(contains(body, "data: 4"));
  CHECK(std::chrono::steady_clock::now() - start > 1s);
}

TEST_CASE("relay: a client that goes away mid-stream ends the upstream request") {
  World w;
  w.plain.on([](const PeerRequest&) { return Reply::events(100000, 20ms); });
  {
    Stream s(w.tg->port());
    REQUIRE(s.send("GET /v1/proxy/deploy/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + w.key + "\r\n\r\n"));
    REQUIRE(contains(s.read_head(), "200 OK"));
    REQUIRE(!s.read_some().empty());
    REQUIRE(w.plain.wait_until([](const PeerState& st) { return st.open_connections == 1; }));
  }
  CHECK(w.plain.wait_until([](const PeerState& st) { return st.open_connections == 0; }));
}

TEST_CASE("relay: unsafe targets are 400 and nothing reaches any upstream") {
  World w;
  UpstreamPeer elsewhere;  // stands in for another host an attacker would like to reach
  const std::string other = "127.0.0.1:" + std::to_string(elsewhere.port());
  const std::vector<std::string> targets{
      "http://" + other + "/v1/proxy/deploy/x",
      "/v1/proxy/deploy//" + other + "/x",
      "/v1/proxy/deploy/../../v1/tenants",
      "/v1/proxy/deploy/a/%2e%2e/b",
      "/v1/proxy/deploy/a/%2E./b",
      "/v1/proxy/deploy/a/.%2e",
      "/v1/proxy/deploy/a%2F..%2Fb",
      "/v1/proxy/deploy/a/./b",
      "/v1/proxy/deploy/a\\b",
      "/v1/proxy/deploy/a%5Cb",
      "/v1/proxy/deploy/a%5cb",
      "/v1/proxy/deploy/a%00b",
      "/v1/proxy/deploy/a%0d%0aX-Injected:%201",
      "/v1/proxy/deploy/a\x01" "b",
      "/v1/proxy/deploy/http:/" + other + "/x",
  };
  for (const auto& target : targets) {
    RawConnection c(w.tg->port());
    REQUIRE(c.send("GET " + target + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + w.key + "\r\n\r\n"));
    auto r = c.read_response();
    REQUIRE_MESSAGE(r, target);
    CHECK_MESSAGE(r->status == 400, target);
    CHECK_MESSAGE(r->header("tollgate-error") == "bad_request", target);
  }
  // A GitLab-style encoded slash is a plain path byte: forwarded undecoded.
  CHECK(w.call("GET", "/v1/proxy/deploy/projects/group%2Fsub%2Fproj/issues").status == 200);
  REQUIRE(w.plain.wait_for_requests(1));
  CHECK(w.plain.requests().size() == 1);
  CHECK(w.plain.requests().at(0).target == "/deploy/projects/group%2Fsub%2Fproj/issues");
  CHECK(elsewhere.connections() == 0);
}

TEST_CASE("relay: ambiguous framing is 400 and closes the connection") {
  World w;
  const std::string auth = "Authorization: Bearer " + w.key + "\r\n";
  const std::vector<std::string> requests{
      "POST /v1/proxy/deploy/x HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
      "POST /v1/proxy/deploy/x HTTP/1.1\r\nHost: x\r\n" + auth + "Transfer-Encoding: chunked, identity\r\n\r\n",
      "POST /v1/proxy/deploy/x HTTP/1.1\r\nHost: x\r\n" + auth + "Transfer-Encoding: gzip\r\n\r\n",
      "POST /v1/proxy/deploy/x HTTP/1.0\r\nHost: x\r\n" + auth + "Transfer-Encoding: chunked\r\n\r\n",
      "POST /v1/proxy/deploy/x HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n",
      "GET /v1/proxy/deploy/x HTTP/1.1\r\n" + auth + "\r\n",
      "GET /v1/proxy/deploy/x HTTP/1.1\r\nHost: x\r\nHost: y\r\n" + auth + "\r\n",
      "GET /v1/proxy/deploy/x HTTP/1.1\r\nHost: x\r\n" + auth + "X-A: 1\r\n folded\r\n\r\n",
  };
  for (const auto& request : requests) {
    RawConnection c(w.tg->port());
    REQUIRE(c.send(request + "GET /v1/proxy/deploy/smuggled HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n"));
    auto r = c.read_response();
    REQUIRE_MESSAGE(r, request);
    CHECK_MESSAGE(r->status == 400, request);
    CHECK_MESSAGE(c.wait_closed(), request);
  }
  CHECK(w.plain.connections() == 0);
}

TEST_CASE("relay: another tenant's connection is 404 and one needing re-auth or revoked is 424") {
  World w;
  auto foreign = http_request(w.tg->port(), "GET", "/v1/proxy/bearer/user",
                              {{"Authorization", "Bearer " + w.other_key}, {"Tollgate-Auth-Config", w.bearer_pac}});
  CHECK(foreign.status == 404);
  CHECK(foreign.header("tollgate-error") == "auth_config_not_found");
  auto unknown = w.call("GET", "/v1/proxy/bearer/user", with_config("pac_doesnotexist"));
  CHECK(unknown.status == 404);
  auto nobody = w.call("GET", "/v1/proxy/keyed/user", {{"Tollgate-External-User", "nobody"}});
  CHECK(nobody.status == 404);
  CHECK(w.call("GET", "/v1/proxy/nosuch/user").header("tollgate-error") == "provider_not_found");
  CHECK(w.call("GET", "/v1/proxy/keyed/user").status == 400);  // no connection named, no deployment key
  CHECK(w.call("GET", "/v1/proxy/keyed/user", {{"Tollgate-Auth-Config", w.bearer_pac}}).status == 400);

  // The token endpoint answers invalid_grant: the connection needs re-auth.
  auto refreshed = http_request(w.tg->port(), "POST", "/v1/auth-configs/" + w.bearer_pac + "/refresh",
                                {{"Authorization", "Bearer " + w.key}});
  CHECK(refreshed.status == 424);
  auto reauth = w.call("GET", "/v1/proxy/bearer/user", with_config(w.bearer_pac));
  CHECK(reauth.status == 424);
  CHECK(reauth.header("tollgate-error") == "reauth_required");

  CHECK(http_request(w.tg->port(), "DELETE", "/v1/auth-configs/" + w.keyed_pac, {{"Authorization", "Bearer " + w.key}})
            .status == 200);
  auto revoked = w.call("GET", "/v1/proxy/keyed/user", {{"Tollgate-External-User", "u1"}});
  CHECK(revoked.status == 424);
  CHECK(w.plain.connections() == 0);
}

TEST_CASE("relay: several active connections of one external user are 409") {
  World w;
  w.import(R"({"provider":"keyed","external_user_id":"u1","credentials":{"api_key":"second"}})");
  auto r = w.call("GET", "/v1/proxy/keyed/user", {{"Tollgate-External-User", "u1"}});
  CHECK(r.status == 409);
  CHECK(r.header("tollgate-error") == "conflict");
}

}  // namespace
}  // namespace tollgate::test

namespace tollgate::test {
namespace {

using namespace relay_world;

TEST_CASE("relay: tollgate oauth request calls the provider through the relay with one connection") {
  World w;
  w.plain.on([](const PeerRequest&) { return Reply::json(200, R"({"items":[1,2]})"); });
  auto body_file = w.files.write("body.json", R"({"title":"from a file"})");
  const std::string url = "http://127.0.0.1:" + std::to_string(w.tg->port());
  auto r = run({TOLLGATE_BIN, "oauth", "request", w.bearer_pac, "POST", "/items?x=1", "--data", "@" + body_file.string(),
                "-H", "Content-Type: application/json", "--header", "X-Trace: t1", "--url", url, "--key", w.key},
               {{"HOME", w.files.path().string()}, {"TOLLGATE_URL", std::nullopt}, {"TOLLGATE_KEY", std::nullopt}});
  CHECK_MESSAGE(r.status == 0, r.err);
  CHECK(r.out == R"({"items":[1,2]})");
  REQUIRE(w.plain.wait_for_requests(1));
  auto got = w.plain.requests().at(0);
  CHECK(got.method == "POST");
  CHECK(got.target == "/v3/items?x=1");
  CHECK(got.header("Authorization") == "Bearer " + kAccessToken);
  CHECK(got.header("X-Trace") == "t1");
  CHECK(got.header("Content-Type") == "application/json");
  CHECK(got.body_prefix == R"({"title":"from a file"})");
  CHECK_FALSE(contains(r.out + r.err, kAccessToken));

  w.plain.on([](const PeerRequest&) { return Reply::json(404, R"({"message":"Not Found"})"); });
  auto missing = run({TOLLGATE_BIN, "oauth", "request", w.bearer_pac, "GET", "nope", "--include", "--url", url, "--key",
                      w.key},
                     {{"HOME", w.files.path().string()}, {"TOLLGATE_URL", std::nullopt}, {"TOLLGATE_KEY", std::nullopt}});
  CHECK(missing.status == 1);
  CHECK(contains(missing.out, "HTTP 404"));
  CHECK(contains(missing.out, R"({"message":"Not Found"})"));
  CHECK(contains(missing.err, "the provider answered HTTP 404"));
}

}  // namespace
}  // namespace tollgate::test
