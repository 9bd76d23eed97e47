// Self-test of the UpstreamPeer test support: every feature is driven by a
// plain blocking client (a socket, or OpenSSL over one for https) so what the
// peer sends and records is checked byte by byte.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>

#include "script_server.hpp"
#include "temp_dir.hpp"
#include "test_pki.hpp"
#include "upstream_peer.hpp"

using namespace tollgate;
using namespace tollgate::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kMiB = 1024 * 1024;
const std::string kEmptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// How the server ended the connection, as the client sees it.
enum class End { open, eof, reset };

// A blocking client connection; the plain and the TLS one differ only in how
// bytes move.
class Wire {
 public:
  virtual ~Wire() {
    if (fd_ >= 0) ::close(fd_);
  }
  virtual bool send(std::string_view bytes) = 0;

  // Appends what arrives within `timeout` to `data`; false if nothing did
  // (timeout, or the connection ended: see `end`).
  bool read_some(std::chrono::milliseconds timeout) {
    if (end != End::open) return false;
    if (!pending()) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
    }
    std::string buffer(256 * 1024, '\0');
    long n = receive(buffer.data(), buffer.size());
    if (n <= 0) return false;
    data.append(buffer, 0, static_cast<std::size_t>(n));
    return true;
  }

  bool read_until(std::string_view needle, std::chrono::milliseconds timeout = 10s) {
    auto deadline = Clock::now() + timeout;
    while (data.find(needle) == std::string::npos) {
      if (Clock::now() > deadline) return false;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (!read_some(left) && end != End::open) return false;
    }
    return true;
  }

  bool read_at_least(std::size_t size, std::chrono::milliseconds timeout = 10s) {
    auto deadline = Clock::now() + timeout;
    while (data.size() < size) {
      if (Clock::now() > deadline) return false;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (!read_some(left) && end != End::open) return false;
    }
    return true;
  }

  // Reads and keeps everything until the server ends the connection.
  End wait_end(std::chrono::milliseconds timeout = 10s) {
    auto deadline = Clock::now() + timeout;
    while (end == End::open && Clock::now() < deadline)
      read_some(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
    return end;
  }

  // Takes the first `size` bytes of `data`.
  std::string take(std::size_t size) {
    std::string out = data.substr(0, size);
    data.erase(0, size);
    return out;
  }

  std::string data;  // received, not yet taken
  End end = End::open;

 protected:
  virtual long receive(char* buffer, std::size_t size) = 0;  // sets `end` when <= 0
  virtual bool pending() const { return false; }

  void connect_to(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
      throw std::runtime_error("connect to the upstream peer failed");
  }
  int fd_ = -1;
};

class Plain : public Wire {
 public:
  explicit Plain(std::uint16_t port) { connect_to(port); }
  bool send(std::string_view bytes) override {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

 protected:
  long receive(char* buffer, std::size_t size) override {
    ssize_t n = ::recv(fd_, buffer, size, 0);
    if (n == 0) end = End::eof;
    if (n < 0) end = errno == ECONNRESET ? End::reset : End::eof;
    return n;
  }
};

// OpenSSL over a blocking socket, verifying the peer against `ca_pem` for 127.0.0.1.
class Tls : public Wire {
 public:
  Tls(std::uint16_t port, const std::string& ca_pem) {
    connect_to(port);
    ctx_ = SSL_CTX_new(TLS_client_method());
    BIO* bio = BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size()));
    X509* ca = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx_), ca);
    X509_free(ca);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    ssl_ = SSL_new(ctx_);
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), "127.0.0.1");
    SSL_set_fd(ssl_, fd_);
    if (SSL_connect(ssl_) != 1) throw std::runtime_error("TLS handshake with the upstream peer failed");
  }
  ~Tls() override {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
  }
  bool send(std::string_view bytes) override {
    return SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size())) == static_cast<int>(bytes.size());
  }
  bool close_notify_received() const { return (SSL_get_shutdown(ssl_) & SSL_RECEIVED_SHUTDOWN) != 0; }

 protected:
  long receive(char* buffer, std::size_t size) override {
    int n = SSL_read(ssl_, buffer, static_cast<int>(size));
    if (n <= 0) end = SSL_get_error(ssl_, n) == SSL_ERROR_SYSCALL && errno == ECONNRESET ? End::reset : End::eof;
    return n;
  }
  bool pending() const override { return SSL_pending(ssl_) > 0; }

 private:
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
};

struct Response {
  int status = 0;
  std::string head;  // status line and fields, through the empty line
  std::string body;  // de-chunked
  // The value of a field in `head` (name matched case-insensitively), or nullopt.
  std::optional<std::string> field(std::string_view name) const {
    std::string wanted = "\r\n" + lower(name) + ":";
    auto at = lower(head).find(wanted);
    if (at == std::string::npos) return std::nullopt;
    auto start = at + wanted.size();
    auto value = head.substr(start, head.find("\r\n", start) - start);
    value.erase(0, value.find_first_not_of(' '));
    return value;
  }
};

// Reads one response: Content-Length or chunked body (none for 1xx, 204, 304
// or when `head_only`).
std::optional<Response> read_response(Wire& wire, bool head_only = false) {
  if (!wire.read_until("\r\n\r\n")) return std::nullopt;
  Response response;
  response.head = wire.take(wire.data.find("\r\n\r\n") + 4);
  response.status = std::atoi(response.head.c_str() + 9);
  if (head_only || response.status < 200 || response.status == 204 || response.status == 304) return response;
  if (auto length = response.field("Content-Length")) {
    auto size = std::stoul(*length);
    if (!wire.read_at_least(size)) return std::nullopt;
    response.body = wire.take(size);
    return response;
  }
  for (;;) {  // chunked
    if (!wire.read_until("\r\n")) return std::nullopt;
    auto size = std::stoul(wire.take(wire.data.find("\r\n") + 2), nullptr, 16);
    if (!wire.read_at_least(size + 2)) return std::nullopt;
    response.body += wire.take(size);
    wire.take(2);
    if (size == 0) return response;
  }
}

std::string get(std::string_view target, std::string_view extra = {}) {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: upstream.test\r\n" + std::string(extra) + "\r\n";
}

long max_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

// Checks `bytes` against the pattern at body offset `offset`.
bool matches_pattern(std::string_view bytes, std::uint64_t offset) {
  static const std::string block = pattern_bytes(0, 64 * 1024 + 26);
  while (!bytes.empty()) {
    std::size_t n = std::min<std::size_t>(bytes.size(), 64 * 1024);
    if (bytes.substr(0, n) != std::string_view(block).substr(offset % 26, n)) return false;
    bytes.remove_prefix(n);
    offset += n;
  }
  return true;
}

struct Pki {
  TestCa ca{"upstream peer test CA"};
  Identity local = ca.issue("localhost", {"localhost"}, {"127.0.0.1"});
  TempDir dir;
  std::filesystem::path ca_file = dir.write("ca.pem", ca.cert_pem());
};

const Pki& pki() {
  static const Pki instance;
  return instance;
}

}  // namespace

TEST_CASE("upstream peer answers 200 ok json by default and records the request exactly as it arrived") {
  UpstreamPeer peer;
  CHECK(peer.base_url() == "http://127.0.0.1:" + std::to_string(peer.port()));
  const std::string head =
      "GET /v1/a%2Fb/./c?q=%20x&y HTTP/1.1\r\nHost: upstream.test\r\nx-dup: 1\r\nAccept: */*\r\nX-Dup: 2\r\n\r\n";
  Plain wire(peer.port());
  wire.send(head);
  auto response = read_response(wire);
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(response->field("Content-Type") == "application/json");
  CHECK(response->body == R"({"ok":true})");

  REQUIRE(peer.wait_for_requests(1));
  auto request = peer.requests().at(0);
  CHECK(request.method == "GET");
  CHECK(request.target == "/v1/a%2Fb/./c?q=%20x&y");
  CHECK(request.head == head);
  REQUIRE(request.headers.size() == 4);
  CHECK(request.headers[1] == std::pair<std::string, std::string>("x-dup", "1"));
  CHECK(request.headers[3] == std::pair<std::string, std::string>("X-Dup", "2"));
  CHECK(request.header("X-DUP") == "1");
  CHECK(request.count("x-Dup") == 2);
  CHECK(request.count("Authorization") == 0);
  CHECK(request.header("Authorization") == "");
  CHECK(request.connection == 0);
  CHECK_FALSE(request.chunked);
  CHECK(request.body_bytes == 0);
  CHECK(request.body_complete);
  CHECK(request.finished);
  CHECK(request.body_sha256 == kEmptySha256);
}

TEST_CASE("upstream peer keeps obs-fold in the raw head that the parsed headers unfold") {
  UpstreamPeer peer;
  Plain wire(peer.port());
  wire.send("GET / HTTP/1.1\r\nHost: upstream.test\r\nX-Folded: first\r\n  second\r\n\r\n");
  REQUIRE(read_response(wire));
  auto request = peer.requests().at(0);
  CHECK(request.head.find("X-Folded: first\r\n  second\r\n") != std::string::npos);
  CHECK(request.header("X-Folded") == "first second");
}

TEST_CASE("upstream peer records a head it cannot parse with no method and closes the connection") {
  UpstreamPeer peer;
  Plain wire(peer.port());
  wire.send("NOT HTTP AT ALL\r\nX: 1\r\n\r\n");
  CHECK(wire.wait_end() != End::open);
  CHECK(wire.data.empty());
  REQUIRE(peer.wait_for_requests(1));
  auto request = peer.requests().at(0);
  CHECK(request.method.empty());
  CHECK(request.head == "NOT HTTP AT ALL\r\nX: 1\r\n\r\n");
  CHECK(request.finished);
}

TEST_CASE("upstream peer handler chooses the reply from the request head and a throwing handler answers 500") {
  UpstreamPeer peer;
  peer.on([](const PeerRequest& request) {
    if (request.header("X-Mode") == "throw") throw std::runtime_error("boom");
    return Reply::json(201, R"({"target":")" + request.target + R"("})");
  });
  Plain wire(peer.port());
  wire.send(get("/made", "X-Mode: echo\r\n"));
  auto made = read_response(wire);
  REQUIRE(made);
  CHECK(made->status == 201);
  CHECK(made->body == R"({"target":"/made"})");
  wire.send(get("/boom", "X-Mode: throw\r\n"));
  auto failed = read_response(wire);
  REQUIRE(failed);
  CHECK(failed->status == 500);
}

TEST_CASE("upstream peer serves many requests per keep-alive connection and counts connections") {
  UpstreamPeer peer;
  {
    Plain first(peer.port());
    for (int i = 0; i < 3; ++i) {
      first.send(get("/first/" + std::to_string(i)));
      REQUIRE(read_response(first));
    }
    // Pipelined: two requests in one write, two responses in order.
    first.send(get("/first/3") + get("/first/4"));
    REQUIRE(read_response(first));
    REQUIRE(read_response(first));

    Plain second(peer.port());
    second.send(get("/second"));
    REQUIRE(read_response(second));
    CHECK(peer.connections() == 2);
    CHECK(peer.open_connections() == 2);
    auto requests = peer.requests();
    REQUIRE(requests.size() == 6);
    for (int i = 0; i < 5; ++i) {
      CHECK(requests[i].connection == 0);
      CHECK(requests[i].target == "/first/" + std::to_string(i));
    }
    CHECK(requests[5].connection == 1);
  }
  CHECK(peer.wait_until([](const PeerState& state) { return state.open_connections == 0; }));
  CHECK(peer.connections() == 2);
}

TEST_CASE("upstream peer closes after answering a request that says Connection close") {
  UpstreamPeer peer;
  Plain wire(peer.port());
  wire.send(get("/", "Connection: close\r\n"));
  REQUIRE(read_response(wire));
  CHECK(wire.wait_end() == End::eof);
}

TEST_CASE("upstream peer records a Content-Length body and a chunked body by size hash and prefix") {
  UpstreamPeer peer;
  Plain wire(peer.port());
  const std::string body = pattern_bytes(0, 100'000);
  wire.send("POST /upload HTTP/1.1\r\nHost: upstream.test\r\nContent-Length: 100000\r\n\r\n" + body);
  REQUIRE(read_response(wire));
  wire.send("POST /chunked HTTP/1.1\r\nHost: upstream.test\r\nTransfer-Encoding: chunked\r\n\r\n"
            "a\r\n" + body.substr(0, 10) + "\r\n" +
            "11170;ext=1\r\n" + body.substr(10, 70'000) + "\r\n" +
            "5\r\n" + body.substr(70'010, 5) + "\r\n0\r\nX-Trailer: t\r\n\r\n");
  REQUIRE(read_response(wire));

  REQUIRE(peer.wait_for_requests(2));
  auto requests = peer.requests();
  CHECK(requests[0].body_bytes == 100'000);
  CHECK(requests[0].body_prefix == body.substr(0, PeerRequest::kPrefixLimit));
  CHECK(requests[0].body_sha256 == pattern_sha256(100'000));
  CHECK_FALSE(requests[0].chunked);
  CHECK(requests[1].chunked);
  CHECK(requests[1].body_bytes == 70'015);
  CHECK(requests[1].body_complete);
  CHECK(requests[1].body_sha256 == pattern_sha256(70'015));
  CHECK(requests[1].body_prefix == body.substr(0, PeerRequest::kPrefixLimit));
}

TEST_CASE("upstream peer records a body cut off by the client as finished and incomplete") {
  UpstreamPeer peer;
  {
    Plain wire(peer.port());
    wire.send("POST / HTTP/1.1\r\nHost: upstream.test\r\nContent-Length: 1000\r\n\r\n0123456789");
    CHECK(peer.wait_until([](const PeerState& s) { return !s.requests.empty() && s.requests[0].body_bytes == 10; }));
  }
  REQUIRE(peer.wait_for_requests(1));
  auto request = peer.requests().at(0);
  CHECK(request.finished);
  CHECK_FALSE(request.body_complete);
  CHECK(request.body_bytes == 10);
  CHECK(request.body_prefix == "0123456789");
  CHECK(request.body_sha256.empty());
}

TEST_CASE("upstream peer reads a 256 MiB upload as a stream in bounded memory") {
  UpstreamPeer peer;
  const std::uint64_t size = 256 * kMiB;
  const std::string block = pattern_bytes(0, 64 * 1024 + 26);
  long rss_before = max_rss_kib();
  Plain wire(peer.port());
  wire.send("PUT /big HTTP/1.1\r\nHost: upstream.test\r\nContent-Length: " + std::to_string(size) + "\r\n\r\n");
  std::uint64_t sent = 0;
  auto send_up_to = [&](std::uint64_t limit) {
    while (sent < limit) {
      auto n = static_cast<std::size_t>(std::min<std::uint64_t>(64 * 1024, limit - sent));
      REQUIRE(wire.send(std::string_view(block).substr(sent % 26, n)));
      sent += n;
    }
  };
  send_up_to(kMiB);
  // What arrived so far is visible while the body is still streaming in.
  CHECK(peer.wait_until([](const PeerState& s) {
    return s.requests.size() == 1 && s.requests[0].body_bytes == kMiB && !s.requests[0].finished;
  }));
  send_up_to(size);
  auto response = read_response(wire);
  REQUIRE(response);
  CHECK(response->status == 200);
  REQUIRE(peer.wait_for_requests(1));
  auto request = peer.requests().at(0);
  CHECK(request.body_bytes == size);
  CHECK(request.body_sha256 == pattern_sha256(size));
  CHECK(max_rss_kib() - rss_before < 64 * 1024);
}

TEST_CASE("upstream peer generates a 1 GiB Content-Length body fast in bounded memory") {
  UpstreamPeer peer;
  const std::uint64_t size = 1024 * kMiB;
  peer.on([size](const PeerRequest&) { return Reply::generated(size); });
  long rss_before = max_rss_kib();
  Plain wire(peer.port());
  wire.send(get("/download"));
  REQUIRE(wire.read_until("\r\n\r\n"));
  std::string head = wire.take(wire.data.find("\r\n\r\n") + 4);
  CHECK(head.find("\r\nContent-Length: 1073741824\r\n") != std::string::npos);
  CHECK(head.find("\r\nContent-Type: application/octet-stream\r\n") != std::string::npos);
  std::uint64_t received = 0;
  bool pattern_ok = true;
  while (received < size) {
    if (wire.data.empty() && !wire.read_some(10s)) break;
    pattern_ok = pattern_ok && matches_pattern(wire.data, received);
    received += wire.data.size();
    wire.data.clear();
  }
  CHECK(received == size);
  CHECK(pattern_ok);
  CHECK(max_rss_kib() - rss_before < 64 * 1024);
  // The connection stays usable after the body.
  peer.on([](const PeerRequest&) { return Reply::fixed(204); });
  wire.send(get("/after"));
  auto after = read_response(wire);
  REQUIRE(after);
  CHECK(after->status == 204);
}

TEST_CASE("upstream peer generates a chunked pattern body") {
  UpstreamPeer peer;
  peer.on([](const PeerRequest&) { return Reply::generated(200'001).chunked(); });
  Plain wire(peer.port());
  wire.send(get("/"));
  auto response = read_response(wire);
  REQUIRE(response);
  CHECK(response->field("Transfer-Encoding") == "chunked");
  CHECK_FALSE(response->field("Content-Length"));
  CHECK(response->body == pattern_bytes(0, 200'001));
}

TEST_CASE("upstream peer sends the test's status and headers exactly as given with only the framing added") {
  UpstreamPeer peer;
  Plain wire(peer.port());
  SUBCASE("Content-Length") {
    peer.on([](const PeerRequest&) {
      return Reply::fixed(203, "abc").with_header("Connection", "keep-alive").with_header("Keep-Alive", "timeout=5")
          .with_header("X-a", "1");
    });
    wire.send(get("/"));
    REQUIRE(wire.read_until("\r\n\r\nabc"));
    CHECK(wire.data ==
          "HTTP/1.1 203 Non-Authoritative Information\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n"
          "X-a: 1\r\nContent-Length: 3\r\n\r\nabc");
  }
  SUBCASE("chunked") {
    peer.on([](const PeerRequest&) { return Reply::fixed(200, "abc").chunked(); });
    wire.send(get("/"));
    REQUIRE(wire.read_until("0\r\n\r\n"));
    CHECK(wire.data == "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
  }
  SUBCASE("the test's own Content-Length is not repeated") {
    peer.on([](const PeerRequest&) { return Reply::fixed(200, "abc").with_header("content-length", "3"); });
    wire.send(get("/"));
    REQUIRE(wire.read_until("abc"));
    CHECK(wire.data == "HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nabc");
  }
  SUBCASE("a HEAD response has the framing field and no body") {
    peer.on([](const PeerRequest&) { return Reply::fixed(200, "abc"); });
    wire.send("HEAD / HTTP/1.1\r\nHost: upstream.test\r\n\r\n" + get("/next"));
    auto head = read_response(wire, true);
    REQUIRE(head);
    CHECK(head->head == "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n");
    auto next = read_response(wire);  // would be garbled if a body had followed the HEAD response
    REQUIRE(next);
    CHECK(next->body == "abc");
  }
}

TEST_CASE("upstream peer streams an event stream with events spaced by the interval") {
  UpstreamPeer peer;
  peer.on([](const PeerRequest&) { return Reply::events(3, 100ms); });
  Plain wire(peer.port());
  auto start = Clock::now();
  wire.send(get("/events"));
  REQUIRE(wire.read_until("\r\n\r\n"));
  std::string head = wire.take(wire.data.find("\r\n\r\n") + 4);
  CHECK(head.find("\r\nContent-Type: text/event-stream\r\n") != std::string::npos);
  CHECK(head.find("\r\nTransfer-Encoding: chunked\r\n") != std::string::npos);
  for (int i = 0; i < 3; ++i) {
    std::string event = "data: " + std::to_string(i) + "\n\n";
    std::string chunk = "9\r\n" + event + "\r\n";
    REQUIRE(wire.read_until(chunk));
    CHECK(wire.take(chunk.size()) == chunk);
    CHECK(Clock::now() - start >= i * 100ms);
  }
  REQUIRE(wire.read_until("0\r\n\r\n"));
  CHECK(wire.data == "0\r\n\r\n");
}

TEST_CASE("upstream peer stalls without answering then closes") {
  UpstreamPeer peer;
  SUBCASE("for a duration") {
    peer.on([](const PeerRequest&) { return Reply::stall(300ms); });
    Plain wire(peer.port());
    auto start = Clock::now();
    wire.send(get("/"));
    CHECK_FALSE(wire.read_some(150ms));
    CHECK(wire.wait_end() == End::eof);
    CHECK(Clock::now() - start >= 300ms);
    CHECK(wire.data.empty());
  }
  SUBCASE("until the client gives up") {
    peer.on([](const PeerRequest&) { return Reply::stall(); });
    {
      Plain wire(peer.port());
      wire.send(get("/"));
      REQUIRE(peer.wait_for_requests(1));
      CHECK_FALSE(wire.read_some(200ms));
      CHECK(peer.open_connections() == 1);
    }
    CHECK(peer.wait_until([](const PeerState& s) { return s.open_connections == 0; }));
  }
}

TEST_CASE("upstream peer stalls after sending the head and part of the body") {
  UpstreamPeer peer;
  std::string expected_tail;
  SUBCASE("Content-Length") {
    peer.on([](const PeerRequest&) { return Reply::json(200, "0123456789").stall_after(4); });
    expected_tail = "\r\n\r\n0123";
  }
  SUBCASE("chunked: the bytes sent are one whole chunk") {
    peer.on([](const PeerRequest&) { return Reply::json(200, "0123456789").chunked().stall_after(4); });
    expected_tail = "\r\n\r\n4\r\n0123\r\n";
  }
  Plain wire(peer.port());
  wire.send(get("/"));
  REQUIRE(wire.read_until(expected_tail));
  CHECK_FALSE(wire.read_some(200ms));
  CHECK(wire.data.substr(wire.data.find("\r\n\r\n")) == expected_tail);
  CHECK(wire.end == End::open);
}

TEST_CASE("upstream peer resets the connection with an RST") {
  UpstreamPeer peer;
  SUBCASE("without answering") {
    peer.on([](const PeerRequest&) { return Reply::reset(); });
    Plain wire(peer.port());
    wire.send("POST / HTTP/1.1\r\nHost: upstream.test\r\nContent-Length: 3\r\n\r\nabc");
    CHECK(wire.wait_end() == End::reset);
    CHECK(wire.data.empty());
    REQUIRE(peer.wait_for_requests(1));
    CHECK(peer.requests()[0].body_complete);  // the request was read first
  }
  SUBCASE("after the head and part of the body") {
    peer.on([](const PeerRequest&) { return Reply::generated(1000).reset_after(5); });
    Plain wire(peer.port());
    wire.send(get("/"));
    // Wait for the bytes before the RST can arrive and discard them.
    CHECK(wire.wait_end() == End::reset);
    CHECK(wire.data.find("HTTP/1.1 200 OK\r\n") == 0);
    CHECK(wire.data.substr(wire.data.find("\r\n\r\n")) == "\r\n\r\nabcde");
  }
}

TEST_CASE("upstream peer writes raw bytes exactly then closes with a FIN") {
  UpstreamPeer peer;
  const std::string bytes = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello";
  peer.on([&](const PeerRequest&) { return Reply::raw(bytes); });
  Plain wire(peer.port());
  wire.send(get("/"));
  CHECK(wire.wait_end() == End::eof);
  CHECK(wire.data == bytes);
}

TEST_CASE("upstream peer closes a keep-alive connection after a complete reply when close_after is set") {
  UpstreamPeer peer;
  peer.on([](const PeerRequest&) { return Reply::json(200, "{}").then_close(); });
  {
    Plain wire(peer.port());
    wire.send(get("/"));
    auto response = read_response(wire);
    REQUIRE(response);
    CHECK(response->body == "{}");
    CHECK_FALSE(response->field("Connection"));
    CHECK(wire.wait_end() == End::eof);
    CHECK(wire.data.empty());
  }
  CHECK(peer.wait_until([](const PeerState& s) { return s.open_connections == 0; }));
}

TEST_CASE("upstream peer waits the reply's delay before answering") {
  UpstreamPeer peer;
  peer.on([](const PeerRequest&) { return Reply::json(200, "{}").after(200ms); });
  Plain wire(peer.port());
  auto start = Clock::now();
  wire.send(get("/"));
  REQUIRE(read_response(wire));
  CHECK(Clock::now() - start >= 200ms);
}

TEST_CASE("upstream peer answers early before reading the request body and reads it afterwards") {
  UpstreamPeer peer;
  peer.on([](const PeerRequest& request) {
    if (request.method == "POST") return Reply::json(413, R"({"error":"too big"})").answer_early();
    return Reply::json(200, "{}");
  });
  Plain wire(peer.port());
  wire.send("POST / HTTP/1.1\r\nHost: upstream.test\r\nContent-Length: 100000\r\n\r\n");
  auto early = read_response(wire);  // before a byte of the body was sent
  REQUIRE(early);
  CHECK(early->status == 413);
  CHECK_FALSE(peer.requests().at(0).finished);
  wire.send(pattern_bytes(0, 100'000));
  REQUIRE(peer.wait_for_requests(1));
  CHECK(peer.requests()[0].body_sha256 == pattern_sha256(100'000));
  wire.send(get("/next"));
  auto next = read_response(wire);
  REQUIRE(next);
  CHECK(next->status == 200);
}

TEST_CASE("upstream peer sends 100 Continue to a request that expects it") {
  UpstreamPeer peer;
  Plain wire(peer.port());
  wire.send("POST / HTTP/1.1\r\nHost: upstream.test\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
  REQUIRE(wire.read_until("\r\n\r\n"));
  CHECK(wire.take(wire.data.size()) == "HTTP/1.1 100 Continue\r\n\r\n");
  wire.send("hello");
  auto response = read_response(wire);
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(peer.requests().at(0).body_prefix == "hello");
}

TEST_CASE("upstream peer close_idle closes with a FIN only the connections idle between requests") {
  UpstreamPeer peer;
  CHECK(peer.close_idle() == 0);
  Plain served(peer.port());  // idle after one exchange
  served.send(get("/"));
  REQUIRE(read_response(served));
  Plain fresh(peer.port());  // idle before its first request
  Plain busy(peer.port());   // in the middle of a request body
  busy.send("POST /busy HTTP/1.1\r\nHost: upstream.test\r\nContent-Length: 10\r\n\r\n01234");
  REQUIRE(peer.wait_until([](const PeerState& s) {
    return s.connections == 3 && s.requests.size() == 2 && s.requests[1].body_bytes == 5;
  }));

  CHECK(peer.close_idle() == 2);
  CHECK(served.wait_end() == End::eof);
  CHECK(fresh.wait_end() == End::eof);
  busy.send("56789");
  auto response = read_response(busy);
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(peer.wait_until([](const PeerState& s) { return s.open_connections == 1; }));
}

TEST_CASE("upstream peer wait_for_requests gives up after its timeout") {
  UpstreamPeer peer;
  CHECK_FALSE(peer.wait_for_requests(1, 50ms));
  Plain wire(peer.port());
  wire.send(get("/"));
  CHECK(peer.wait_for_requests(1));
}

TEST_CASE("upstream peer over https handshakes with the test certificate and keeps connections alive") {
  UpstreamPeer peer(UpstreamPeerOptions{pki().local});
  CHECK(peer.base_url() == "https://127.0.0.1:" + std::to_string(peer.port()));

  // As the relay connects: the upstream client, trusting the test CA as relay.ca_file.
  upstream::Options options;
  options.ca_file = pki().ca_file;
  auto result = send_now(options, upstream::Request{"POST", peer.base_url() + "/tls?x=1", {}, "secret-free body"});
  REQUIRE(std::holds_alternative<upstream::Response>(result));
  CHECK(std::get<upstream::Response>(result).body == R"({"ok":true})");
  REQUIRE(peer.wait_for_requests(1));
  CHECK(peer.requests()[0].target == "/tls?x=1");
  CHECK(peer.requests()[0].body_prefix == "secret-free body");

  Tls wire(peer.port(), pki().ca.cert_pem());
  wire.send(get("/one"));
  REQUIRE(read_response(wire));
  wire.send(get("/two"));
  REQUIRE(read_response(wire));
  auto requests = peer.requests();
  REQUIRE(requests.size() == 3);
  CHECK(requests[1].connection == requests[2].connection);
  CHECK(requests[1].connection != requests[0].connection);

  CHECK(peer.close_idle() == 1);
  CHECK(wire.wait_end() == End::eof);
  CHECK(wire.close_notify_received());
}
