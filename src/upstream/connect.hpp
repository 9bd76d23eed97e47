#pragma once
// The connection half of an upstream request, shared by the one-shot client and
// the pool: a TLS context that trusts the system store plus
// relay.ca_file, and connect(), which hands back a ready stream — TCP connected
// and, for https, the handshake done with the certificate verified for the host.
// Private to the module: it pulls in Asio, Beast and Asio.SSL.
#include <chrono>
#include <filesystem>
#include <string>
#include <variant>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "tollgate/upstream/error.hpp"
#include "tollgate/upstream/stream.hpp"
#include "tollgate/upstream/url.hpp"

namespace tollgate::upstream {

namespace asio = boost::asio;
namespace beast = boost::beast;

// tls_client, TLS 1.2 or later, verify_peer, the system store plus `ca_file`
// when it is not empty. Throws std::runtime_error if ca_file cannot be loaded.
asio::ssl::context make_tls_context(const std::filesystem::path& ca_file);

// Resolves url.host, tries each address in turn and, for https, completes the
// TLS handshake (SNI for names; the certificate checked against the host name
// or IP literal) — all within `timeout`. `tls` must outlive the stream.
// Failures: resolve_failed, connect_failed, tls_failed, connect_timeout; never request_sent.
asio::awaitable<std::variant<Stream, Error>> connect(asio::any_io_executor executor, const Url& url,
                                                    asio::ssl::context& tls, std::chrono::milliseconds timeout);

// "250ms", "5s": durations in messages.
std::string duration_text(std::chrono::milliseconds duration);

}  // namespace tollgate::upstream
