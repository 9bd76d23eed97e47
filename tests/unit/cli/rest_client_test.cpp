// The CLI's HTTP client: what goes on the wire, and failures as one clear line.
#include <doctest/doctest.h>

#include <cstdlib>

#include "fake_relay.hpp"
#include "process.hpp"
#include "raw_http.hpp"
#include "temp_dir.hpp"
#include "tollgate/cli/rest_client.hpp"

using namespace tollgate;
using namespace tollgate::cli;
using namespace tollgate::test;

namespace {

Target target_for(const std::string& url, const std::string& key = "tg_live_secret",
                  std::optional<std::string> tenant = std::nullopt) {
  Target t;
  t.url = parse_base_url(url, "--url");
  t.key = crypto::Secret(key);
  t.key_source = "--key";
  t.tenant = std::move(tenant);
  return t;
}

std::string connection_error(const RestClient& client, std::string_view target = "/v1/tenants") {
  try {
    client.send("GET", target);
  } catch (const ConnectionError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("a request carries the bearer key, Host, the JSON body and its type under the URL's path prefix") {
  FakeRelay relay([](const ReceivedRequest&) { return http_answer(201, R"({"id":"tnt_1"})", "Tollgate-Request-Id: req_9\r\n"); });
  RestClient client(target_for(relay.url() + "/base/"));
  auto r = client.send("POST", "/v1/tenants?x=1", std::string(R"({"name":"acme"})"));
  CHECK(r.status == 201);
  CHECK(r.body == R"({"id":"tnt_1"})");
  CHECK(r.header("tollgate-request-id") == "req_9");
  auto requests = relay.requests();
  REQUIRE(requests.size() == 1);
  const auto& q = requests[0];
  CHECK(q.method == "POST");
  CHECK(q.target == "/base/v1/tenants?x=1");
  CHECK(q.headers.at("authorization") == "Bearer tg_live_secret");
  CHECK(q.headers.at("host") == "127.0.0.1:" + std::to_string(relay.port()));
  CHECK(q.headers.at("content-type") == "application/json");
  CHECK(q.headers.at("accept") == "application/json");
  CHECK(q.body == R"({"name":"acme"})");
  CHECK(q.headers.count("tollgate-tenant") == 0);
}

TEST_CASE("--tenant travels as the Tollgate-Tenant header") {
  FakeRelay relay([](const ReceivedRequest&) { return http_answer(200, "{}"); });
  RestClient client(target_for(relay.url(), "k", "tnt_42"));
  client.send("GET", "/v1/providers");
  REQUIRE(relay.requests().size() == 1);
  CHECK(relay.requests()[0].headers.at("tollgate-tenant") == "tnt_42");
}

TEST_CASE("a GET without a body sends none, and error statuses are responses, not exceptions") {
  FakeRelay relay([](const ReceivedRequest&) {
    return http_answer(401, R"({"error":{"code":"unauthenticated","message":"m","request_id":"req_1"}})",
                       "Tollgate-Error: unauthenticated\r\n");
  });
  auto r = RestClient(target_for(relay.url())).send("GET", "/v1/tenants");
  CHECK(r.status == 401);
  CHECK(r.header("Tollgate-Error") == "unauthenticated");
  REQUIRE(relay.requests().size() == 1);
  CHECK(relay.requests()[0].headers.count("content-type") == 0);
  CHECK(relay.requests()[0].body.empty());
}

TEST_CASE("nothing listening: cannot reach URL: connection refused, with the hint") {
  auto port = free_port();
  std::string url = "http://127.0.0.1:" + std::to_string(port);
  CHECK(connection_error(RestClient(target_for(url))) ==
        "cannot reach " + url + ": connection refused (is tollgate serve running? set --url or TOLLGATE_URL)");
}

TEST_CASE("a relay that never answers times out with the time it waited, and the key is never in the line") {
  FakeRelay relay([](const ReceivedRequest&) { return std::string(); });
  auto line = connection_error(RestClient(target_for(relay.url()), std::chrono::milliseconds(300)));
  CHECK(line == "no answer from " + relay.url() + ": timed out after 300ms");
  CHECK(line.find("tg_live_secret") == std::string::npos);
}

TEST_CASE("a connection closed before the response is a clear failure") {
  FakeRelay relay([](const ReceivedRequest&) { return std::string("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort"); });
  CHECK(connection_error(RestClient(target_for(relay.url()))) ==
        "no answer from " + relay.url() + ": the connection closed before a complete response");
}

TEST_CASE("percent_encode leaves unreserved characters and encodes the rest") {
  CHECK(percent_encode("tnt_AZaz09-._~") == "tnt_AZaz09-._~");
  CHECK(percent_encode("a/b c?&=%") == "a%2Fb%20c%3F%26%3D%25");
  CHECK(percent_encode("ü") == "%C3%BC");
}

// TLS against `openssl s_server`, which answers any GET with a status page.
namespace {

struct TlsServer {
  TempDir dir;
  std::uint16_t port = free_port();
  std::unique_ptr<Process> server;

  explicit TlsServer(const std::string& subject_alt_name) {
    auto r = run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                  "-keyout", (dir / "key.pem").string(), "-out", (dir / "cert.pem").string(), "-days", "2",
                  "-subj", "/CN=tollgate-test", "-addext", "subjectAltName=" + subject_alt_name});
    REQUIRE(r.status == 0);
    server = std::make_unique<Process>(
        std::vector<std::string>{"openssl", "s_server", "-quiet", "-accept", "127.0.0.1:" + std::to_string(port),
                                 "-cert", (dir / "cert.pem").string(), "-key", (dir / "key.pem").string(), "-www"},
        dir / "logs");
    REQUIRE(eventually([&] {
      try {
        RawConnection probe(port);
        return true;
      } catch (const std::exception&) {
        return false;
      }
    }));
  }
  std::string cert() const { return (dir / "cert.pem").string(); }
};

// The TLS tests need the openssl command (Debian's openssl package).
bool have_openssl() {
  try {
    return run({"openssl", "version"}).status == 0;
  } catch (const std::exception&) {
    return false;
  }
}

#define REQUIRE_OPENSSL()                                                  \
  if (!have_openssl()) {                                                   \
    MESSAGE("skipped: the openssl command is not installed");              \
    return;                                                                \
  }

// SSL_CERT_FILE for the length of a test: OpenSSL's default verify paths read it.
struct CertFileEnv {
  explicit CertFileEnv(const std::string& file) { ::setenv("SSL_CERT_FILE", file.c_str(), 1); }
  ~CertFileEnv() { ::unsetenv("SSL_CERT_FILE"); }
};

}  // namespace

TEST_CASE("https: a certificate the trust store vouches for and that names the host is accepted") {
  REQUIRE_OPENSSL();
  TlsServer tls("DNS:localhost,IP:127.0.0.1");
  CertFileEnv trust(tls.cert());
  for (std::string host : {"127.0.0.1", "localhost"}) {
    CAPTURE(host);
    auto r = RestClient(target_for("https://" + host + ":" + std::to_string(tls.port))).send("GET", "/v1/tenants");
    CHECK(r.status == 200);
  }
}

TEST_CASE("https: a certificate outside the trust store is rejected, saying why") {
  REQUIRE_OPENSSL();
  TlsServer tls("IP:127.0.0.1");
  std::string url = "https://127.0.0.1:" + std::to_string(tls.port);
  auto line = connection_error(RestClient(target_for(url)));
  CHECK(line.find("cannot reach " + url + ": TLS handshake failed: certificate rejected: self") == 0);
}

TEST_CASE("https: a trusted certificate for another host name is rejected") {
  REQUIRE_OPENSSL();
  TlsServer tls("DNS:other.example");
  CertFileEnv trust(tls.cert());
  std::string url = "https://localhost:" + std::to_string(tls.port);
  CHECK(connection_error(RestClient(target_for(url))) ==
        "cannot reach " + url + ": TLS handshake failed: the certificate is not valid for localhost");
}
