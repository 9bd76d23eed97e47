#pragma once
// A connected upstream stream: plain for http://, TLS for https://. Callers that
// stream bodies themselves (the relay) read and write it directly; timeouts are
// set on its TCP layer (tcp_layer(stream).expires_after(…)) and apply to the TLS
// records read and written through it as well. Pulls in Beast and Asio.SSL:
// include it only where the stream is used.
#include <variant>

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

namespace tollgate::upstream {

using PlainStream = boost::beast::tcp_stream;
using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;
using Stream = std::variant<PlainStream, TlsStream>;

boost::beast::tcp_stream& tcp_layer(Stream& stream) noexcept;

}  // namespace tollgate::upstream
