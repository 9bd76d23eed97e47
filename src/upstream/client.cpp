#include "tollgate/upstream/client.hpp"

#include <array>
#include <cctype>
#include <optional>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "connect.hpp"

namespace tollgate::upstream {
namespace {

namespace http = beast::http;
using boost::system::error_code;
using OutgoingRequest = http::request<http::string_body>;
using ResponseParser = http::response_parser<http::string_body>;

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr std::uint32_t kMaxHeaderBytes = 64 * 1024;
constexpr std::size_t kReadChunk = 16 * 1024;
constexpr std::string_view kUserAgent = "tollgate/0.1";

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

// RFC 9110 token (method and field names).
bool is_token(std::string_view text) {
  if (text.empty()) return false;
  for (unsigned char c : text) {
    if (std::isalnum(c)) continue;
    if (std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) == std::string_view::npos) return false;
  }
  return true;
}

// RFC 9110 field-value: no control characters but HTAB, so nothing can end the line early.
bool is_field_value(std::string_view text) {
  for (unsigned char c : text)
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  return true;
}

// Framing and routing are the client's: the caller's values for these are dropped.
bool set_by_client(std::string_view name) {
  return iequals(name, "Host") || iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding") ||
         iequals(name, "Connection");
}

bool body_expected(std::string_view method) { return method == "POST" || method == "PUT" || method == "PATCH"; }

std::variant<OutgoingRequest, Error> build(Request& request, const Url& url) {
  auto invalid = [&](std::string reason) {
    return Error{Failure::bad_request, false, "cannot send a request to " + url.redacted() + ": " + std::move(reason)};
  };
  if (!is_token(request.method)) return invalid("the method is not a valid token");
  OutgoingRequest message;
  message.version(11);
  message.method_string(request.method);
  message.target(url.target);
  message.set(http::field::host, url.authority);
  bool has_user_agent = false;
  for (const auto& [name, value] : request.headers) {
    if (!is_token(name)) return invalid("a header name is not a valid token");
    if (!is_field_value(value)) return invalid("the value of " + name + " contains a control character");
    if (set_by_client(name)) continue;
    has_user_agent = has_user_agent || iequals(name, "User-Agent");
    message.insert(name, value);
  }
  if (!has_user_agent) message.set(http::field::user_agent, kUserAgent);
  message.set(http::field::connection, "close");
  if (!request.body.empty() || body_expected(request.method)) message.content_length(request.body.size());
  message.body() = std::move(request.body);
  return message;
}

// One request on one connected stream; every message names the request the
// way it may be logged: method, origin and path, never the query.
struct Call {
  const Url& url;
  const Options& options;
  const std::string& method;

  Error fail(Failure failure, bool request_sent, std::string_view reason) const {
    return Error{failure, request_sent, method + " " + url.redacted() + ": " + std::string(reason)};
  }
};

std::string describe(const error_code& ec) {
  if (ec == asio::error::connection_reset) return "connection reset";
  if (ec == asio::error::broken_pipe) return "broken pipe";
  return ec.message();
}

Error parse_failure(const Call& call, const error_code& ec) {
  if (ec == http::error::body_limit)
    return call.fail(Failure::response_too_large, true,
                     "the response body exceeds " + std::to_string(call.options.max_response_bytes) + " bytes");
  if (ec == http::error::header_limit)
    return call.fail(Failure::response_too_large, true, "the response head exceeds 64 KiB");
  return call.fail(Failure::protocol_error, true, "malformed response: " + ec.message());
}

void start_response(std::optional<ResponseParser>& parser, const Call& call) {
  parser.emplace();
  parser->header_limit(kMaxHeaderBytes);
  parser->body_limit(call.options.max_response_bytes);
  parser->eager(true);
  if (call.method == "HEAD") parser->skip(true);
}

Response to_response(http::response<http::string_body>&& message) {
  Response response;
  response.status = message.result_int();
  for (const auto& field : message) response.headers.emplace_back(field.name_string(), field.value());
  response.body = std::move(message.body());
  return response;
}

template <typename AnyStream>
asio::awaitable<std::variant<Response, Error>> exchange(AnyStream& stream, beast::tcp_stream& transport,
                                                        OutgoingRequest& request, const Call& call) {
  transport.expires_after(call.options.idle);
  auto [write_ec, written] = co_await http::async_write(stream, request, kNoThrow);
  if (write_ec == beast::error::timeout)
    co_return call.fail(Failure::idle_timeout, false,
                        "sending the request stalled for " + duration_text(call.options.idle));
  if (write_ec)
    co_return call.fail(Failure::connection_lost, false, "the connection was lost while sending the request: " +
                                                             describe(write_ec));

  // The response is read by hand rather than with http::async_read so that the
  // first-byte timeout ends at the first byte and the idle timeout covers each read.
  beast::flat_buffer buffer;
  std::optional<ResponseParser> parser;
  start_response(parser, call);
  bool any_byte = false;
  for (;;) {
    while (buffer.size() != 0 && !parser->is_done()) {
      error_code ec;
      std::size_t used = parser->put(buffer.data(), ec);
      buffer.consume(used);
      if (ec == http::error::need_more) break;
      if (ec) co_return parse_failure(call, ec);
      if (used == 0) break;
    }
    if (parser->is_done()) {
      unsigned status = parser->get().result_int();
      if (status >= 200 || status == 101) break;
      start_response(parser, call);  // an interim 1xx: the real response follows
      continue;
    }

    transport.expires_after(any_byte ? call.options.idle : call.options.first_byte);
    auto [ec, n] = co_await stream.async_read_some(buffer.prepare(kReadChunk), kNoThrow);
    buffer.commit(n);
    if (n != 0) any_byte = true;
    if (!ec) continue;
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
      // The end of a body delimited by the close (a TLS peer may skip close_notify).
      if (parser->got_some()) {  // put_eof() requires it
        error_code eof_ec;
        parser->put_eof(eof_ec);
        if (!eof_ec && parser->is_done()) break;
      }
      co_return call.fail(Failure::connection_lost, true,
                          any_byte ? "the connection closed before the response was complete"
                                   : "the connection closed without a response");
    }
    if (ec == beast::error::timeout) {
      if (!any_byte)
        co_return call.fail(Failure::first_byte_timeout, true,
                            "no response within " + duration_text(call.options.first_byte) + " of sending the request");
      co_return call.fail(Failure::idle_timeout, true,
                          "the response stalled for " + duration_text(call.options.idle));
    }
    co_return call.fail(Failure::connection_lost, true, "reading the response failed: " + describe(ec));
  }
  transport.expires_never();
  co_return to_response(parser->release());
}

asio::awaitable<std::variant<Response, Error>> send_once(asio::any_io_executor executor, Request request,
                                                         const Options& options, asio::ssl::context& tls) {
  auto parsed = parse_url(request.url);
  if (auto* error = std::get_if<Error>(&parsed)) co_return std::move(*error);
  const Url& url = std::get<Url>(parsed);
  auto built = build(request, url);
  if (auto* error = std::get_if<Error>(&built)) co_return std::move(*error);
  auto& message = std::get<OutgoingRequest>(built);

  auto connected = co_await connect(executor, url, tls, options.connect);
  if (auto* error = std::get_if<Error>(&connected)) co_return std::move(*error);
  auto& stream = std::get<Stream>(connected);
  auto& transport = tcp_layer(stream);
  Call call{url, options, request.method};
  auto exchanged = std::visit([&](auto& s) { return exchange(s, transport, message, call); }, stream);
  co_return co_await std::move(exchanged);
}

}  // namespace

std::string Response::header(std::string_view name) const {
  for (const auto& [key, value] : headers)
    if (iequals(key, name)) return value;
  return {};
}

struct Client::Impl {
  asio::any_io_executor executor;
  Options options;
  asio::ssl::context tls;
};

Client::Client(asio::any_io_executor executor, Options options)
    : impl_(std::make_unique<Impl>(Impl{std::move(executor), options, make_tls_context(options.ca_file)})) {}

Client::~Client() = default;

const Options& Client::options() const noexcept { return impl_->options; }

asio::awaitable<std::variant<Response, Error>> Client::send(Request request) {
  return send_once(impl_->executor, std::move(request), impl_->options, impl_->tls);
}

}  // namespace tollgate::upstream
