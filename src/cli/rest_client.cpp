#include "tollgate/cli/rest_client.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <cctype>
#include <exception>

namespace tollgate::cli {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr std::uint64_t kMaxBodyBytes = 256ull * 1024 * 1024;
constexpr std::uint32_t kMaxHeaderBytes = 64 * 1024;

// How far a request got; a failure or a timeout is reported by phase.
enum class Phase { resolve, connect, tls, exchange };

constexpr const char* kHint = " (is tollgate serve running? set --url or TOLLGATE_URL)";

std::string describe(const error_code& ec) {
  if (ec == asio::error::connection_refused) return "connection refused";
  if (ec == asio::error::connection_reset) return "connection reset";
  if (ec == asio::error::timed_out) return "connection timed out";
  if (ec == asio::error::network_unreachable) return "network unreachable";
  if (ec == asio::error::host_unreachable) return "host unreachable";
  if (ec == asio::error::eof || ec == http::error::end_of_stream || ec == http::error::partial_message)
    return "the connection closed before a complete response";
  if (ec == http::error::body_limit) return "the response is larger than the client accepts";
  std::string m = ec.message();
  if (!m.empty()) m[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(m[0])));
  return m;
}

std::string duration_text(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
  return std::to_string(d.count()) + "ms";
}

std::string failure_line(const BaseUrl& url, Phase phase, const std::string& reason) {
  switch (phase) {
    case Phase::resolve:
    case Phase::connect:
      return "cannot reach " + url.text + ": " + reason + kHint;
    case Phase::tls:
      return "cannot reach " + url.text + ": TLS handshake failed: " + reason;
    case Phase::exchange:
      break;
  }
  return "no answer from " + url.text + ": " + reason;
}

struct Exchange {
  const BaseUrl& url;
  http::request<http::string_body> request;
  asio::ssl::context* tls = nullptr;
  Phase phase = Phase::resolve;

  [[noreturn]] void fail(const std::string& reason) const { throw ConnectionError(failure_line(url, phase, reason)); }

  asio::awaitable<RestResponse> run() {
    auto executor = co_await asio::this_coro::executor;
    tcp::resolver resolver(executor);
    auto flags = url.ip_literal ? tcp::resolver::numeric_host : tcp::resolver::flags();
    auto [resolve_ec, endpoints] =
        co_await resolver.async_resolve(url.host, std::to_string(url.port), flags | tcp::resolver::numeric_service, kNoThrow);
    if (resolve_ec) fail("cannot resolve " + url.host + ": " + describe(resolve_ec));

    phase = Phase::connect;
    if (!tls) {
      tcp::socket socket(executor);
      auto [connect_ec, endpoint] = co_await asio::async_connect(socket, endpoints, kNoThrow);
      if (connect_ec) fail(describe(connect_ec));
      phase = Phase::exchange;
      co_return co_await exchange(socket);
    }

    asio::ssl::stream<tcp::socket> stream(executor, *tls);
    auto [connect_ec, endpoint] = co_await asio::async_connect(stream.next_layer(), endpoints, kNoThrow);
    if (connect_ec) fail(describe(connect_ec));
    phase = Phase::tls;
    // SNI carries names only (RFC 6066); host-name verification covers IP literals too.
    if (!url.ip_literal && SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str()) != 1)
      fail("cannot set the server name");
    bool wrong_host = false;
    stream.set_verify_callback([&wrong_host, check = asio::ssl::host_name_verification(url.host)](
                                   bool preverified, asio::ssl::verify_context& context) mutable {
      if (!preverified) return false;
      bool ok = check(preverified, context);
      if (!ok) wrong_host = true;
      return ok;
    });
    auto [handshake_ec] = co_await stream.async_handshake(asio::ssl::stream_base::client, kNoThrow);
    if (handshake_ec) {
      if (wrong_host) fail("the certificate is not valid for " + url.host);
      long verify = SSL_get_verify_result(stream.native_handle());
      if (verify != X509_V_OK) fail(std::string("certificate rejected: ") + X509_verify_cert_error_string(verify));
      fail(describe(handshake_ec));
    }
    phase = Phase::exchange;
    co_return co_await exchange(stream);
  }

  template <typename Stream>
  asio::awaitable<RestResponse> exchange(Stream& stream) {
    auto [write_ec, written] = co_await http::async_write(stream, request, kNoThrow);
    if (write_ec) fail(describe(write_ec));

    boost::beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxBodyBytes);
    parser.header_limit(kMaxHeaderBytes);
    auto [read_ec, read] = co_await http::async_read(stream, buffer, parser, kNoThrow);
    if (read_ec == asio::ssl::error::stream_truncated && parser.is_header_done()) {
      // A TLS peer that closes without close_notify ends an EOF-delimited body.
      error_code eof_ec;
      parser.put_eof(eof_ec);
      read_ec = eof_ec;
    }
    if (read_ec) fail(describe(read_ec));

    auto& message = parser.get();
    RestResponse response;
    response.status = static_cast<int>(message.result_int());
    for (const auto& field : message) response.headers.emplace_back(field.name_string(), field.value());
    response.body = std::move(message.body());
    co_return response;
  }
};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

}  // namespace

std::string RestResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return v;
  return {};
}

RestClient::RestClient(Target target, std::chrono::milliseconds timeout)
    : target_(std::move(target)), timeout_(timeout) {}

RestResponse RestClient::send(std::string_view method, std::string_view target,
                              const std::optional<std::string>& json_body) const {
  Headers headers;
  if (json_body) headers.emplace_back("Content-Type", "application/json");
  return send(method, target, headers, json_body);
}

RestResponse RestClient::send(std::string_view method, std::string_view target, const Headers& headers,
                              const std::optional<std::string>& body) const {
  const BaseUrl& url = target_.url;
  http::request<http::string_body> request;
  request.version(11);
  request.method_string(method);
  request.target(url.prefix + std::string(target));
  request.set(http::field::host, url.authority());
  request.set(http::field::user_agent, "tollgate-cli");
  request.set(http::field::accept, "application/json");
  request.set(http::field::authorization, "Bearer " + target_.key.reveal());
  if (target_.tenant) request.set("Tollgate-Tenant", *target_.tenant);
  request.set(http::field::connection, "close");
  for (const auto& [name, value] : headers) {
    if (iequals(name, "Host") || iequals(name, "Authorization") || iequals(name, "Connection") ||
        iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding"))
      continue;
    request.set(name, value);
  }
  if (body) request.body() = *body;
  request.prepare_payload();

  // Declared before the io_context: a coroutine still pending at the deadline
  // is destroyed with the io_context, and these must outlive it.
  std::optional<asio::ssl::context> tls;
  if (url.tls) {
    tls.emplace(asio::ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(tls->native_handle(), TLS1_2_VERSION);
    tls->set_default_verify_paths();  // the system store; SSL_CERT_FILE / SSL_CERT_DIR also apply
    tls->set_verify_mode(asio::ssl::verify_peer);
  }
  Exchange exchange{url, std::move(request), tls ? &*tls : nullptr};
  std::optional<RestResponse> response;
  std::exception_ptr error;

  asio::io_context io;
  asio::co_spawn(io, exchange.run(), [&](std::exception_ptr e, RestResponse r) {
    if (e) error = e;
    else response = std::move(r);
  });
  io.run_for(timeout_);
  if (error) std::rethrow_exception(error);
  if (!response) {
    throw ConnectionError(failure_line(url, exchange.phase, "timed out after " + duration_text(timeout_)));
  }
  return std::move(*response);
}

}  // namespace tollgate::cli
