#include "connect.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>

namespace tollgate::upstream {
namespace {

using tcp = asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;
using Endpoints = std::vector<tcp::endpoint>;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

std::string describe(const error_code& ec) {
  if (ec == asio::error::connection_refused) return "connection refused";
  if (ec == asio::error::connection_reset) return "connection reset";
  if (ec == asio::error::network_unreachable) return "network unreachable";
  if (ec == asio::error::host_unreachable) return "host unreachable";
  if (ec == asio::error::timed_out) return "connection timed out";
  if (ec == asio::error::host_not_found || ec == asio::error::host_not_found_try_again) return "host not found";
  if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) return "the connection was closed";
  return ec.message();
}

Error timed_out(const Url& url, std::chrono::milliseconds timeout, std::string_view phase) {
  return Error{Failure::connect_timeout, false,
               "no connection to " + url.origin() + " within " + duration_text(timeout) + " (" + std::string(phase) + ")"};
}

// getaddrinfo runs on Asio's resolver thread and cannot be interrupted, so the
// answer lands in state that lives until it arrives, while the caller stops
// waiting at the deadline. The timer doubles as the wake-up: the answer cancels it.
struct PendingResolve {
  explicit PendingResolve(const asio::any_io_executor& executor) : resolver(executor), wake(executor) {}
  tcp::resolver resolver;
  asio::steady_timer wake;
  bool answered = false;
  error_code ec;
  tcp::resolver::results_type results;
};

asio::awaitable<std::variant<Endpoints, Error>> resolve(asio::any_io_executor executor, const Url& url,
                                                        Clock::time_point deadline, std::chrono::milliseconds timeout) {
  Endpoints endpoints;
  if (url.ip_literal) {
    error_code ec;
    auto address = asio::ip::make_address(url.host, ec);
    if (ec) co_return Error{Failure::bad_url, false, "bad upstream URL: the host is not an IP address"};
    endpoints.emplace_back(address, url.port);
    co_return endpoints;
  }

  auto pending = std::make_shared<PendingResolve>(executor);
  pending->wake.expires_at(deadline);
  pending->resolver.async_resolve(url.host, std::to_string(url.port), tcp::resolver::numeric_service,
                                  [pending](error_code ec, tcp::resolver::results_type results) {
                                    pending->answered = true;
                                    pending->ec = ec;
                                    pending->results = std::move(results);
                                    pending->wake.cancel();
                                  });
  co_await pending->wake.async_wait(kNoThrow);
  if (!pending->answered) {
    pending->resolver.cancel();
    co_return timed_out(url, timeout, "resolving the host");
  }
  if (pending->ec) co_return Error{Failure::resolve_failed, false, "cannot resolve " + url.host + ": " + describe(pending->ec)};
  for (const auto& entry : pending->results) endpoints.push_back(entry.endpoint());
  if (endpoints.empty()) co_return Error{Failure::resolve_failed, false, "cannot resolve " + url.host + ": no addresses"};
  co_return endpoints;
}

// SNI for names only (RFC 6066); the certificate is checked against the name or
// the IP literal by OpenSSL's own chain verification, so a mismatch shows up in
// the verify result like any other certificate problem.
bool expect_peer(SSL* ssl, const Url& url) {
  if (url.ip_literal) return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), url.host.c_str()) == 1;
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  return SSL_set_tlsext_host_name(ssl, url.host.c_str()) == 1 && SSL_set1_host(ssl, url.host.c_str()) == 1;
}

asio::awaitable<std::optional<Error>> handshake(TlsStream& stream, const Url& url, std::chrono::milliseconds timeout) {
  auto failed = [&](std::string reason) {
    return Error{Failure::tls_failed, false, "TLS handshake with " + url.origin() + " failed: " + std::move(reason)};
  };
  if (!expect_peer(stream.native_handle(), url)) co_return failed("cannot set the expected host");
  auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::client, kNoThrow);
  if (!ec) co_return std::nullopt;
  if (ec == beast::error::timeout) co_return timed_out(url, timeout, "TLS handshake");
  long verify = SSL_get_verify_result(stream.native_handle());
  if (verify != X509_V_OK)
    co_return failed(std::string("certificate verify failed: ") + X509_verify_cert_error_string(verify));
  co_return failed(describe(ec));
}

}  // namespace

std::string duration_text(std::chrono::milliseconds duration) {
  if (duration.count() != 0 && duration.count() % 1000 == 0) return std::to_string(duration.count() / 1000) + "s";
  return std::to_string(duration.count()) + "ms";
}

beast::tcp_stream& tcp_layer(Stream& stream) noexcept {
  if (auto* tls = std::get_if<TlsStream>(&stream)) return tls->next_layer();
  return std::get<PlainStream>(stream);
}

asio::ssl::context make_tls_context(const std::filesystem::path& ca_file) {
  asio::ssl::context context(asio::ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_2_VERSION);
  error_code ec;
  // A machine without a system store still works with ca_file alone.
  context.set_default_verify_paths(ec);
  if (!ca_file.empty()) {
    std::error_code fs_ec;
    if (!std::filesystem::is_regular_file(ca_file, fs_ec))
      throw std::runtime_error("cannot load the CA file " + ca_file.string() + ": no such file");
    context.load_verify_file(ca_file.string(), ec);
    if (ec) throw std::runtime_error("cannot load the CA file " + ca_file.string() + ": " + ec.message());
  }
  context.set_verify_mode(asio::ssl::verify_peer);
  return context;
}

asio::awaitable<std::variant<Stream, Error>> connect(asio::any_io_executor executor, const Url& url,
                                                    asio::ssl::context& tls, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  auto resolved = co_await resolve(executor, url, deadline, timeout);
  if (auto* error = std::get_if<Error>(&resolved)) co_return std::move(*error);
  const auto& endpoints = std::get<Endpoints>(resolved);

  Stream stream = url.tls ? Stream(std::in_place_type<TlsStream>, executor, tls)
                          : Stream(std::in_place_type<PlainStream>, executor);
  auto& transport = tcp_layer(stream);
  transport.expires_at(deadline);
  auto [ec, endpoint] = co_await transport.async_connect(endpoints, kNoThrow);
  if (ec == beast::error::timeout) co_return timed_out(url, timeout, "connecting");
  if (ec) co_return Error{Failure::connect_failed, false, "cannot connect to " + url.origin() + ": " + describe(ec)};
  error_code ignored;
  transport.socket().set_option(tcp::no_delay(true), ignored);

  if (auto* tls_stream = std::get_if<TlsStream>(&stream)) {
    auto failure = co_await handshake(*tls_stream, url, timeout);
    if (failure) co_return std::move(*failure);
  }
  transport.expires_never();
  co_return std::move(stream);
}

}  // namespace tollgate::upstream
