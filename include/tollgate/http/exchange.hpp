#pragma once
// One request and its response on a connection, as a handler sees it. The
// session owns the connection; an Exchange lends the handler what it needs:
// the parsed head, the body (read on demand, within the configured limit), and
// ways to answer. A streaming handler (the relay) takes the stream itself.
#include <atomic>
#include <chrono>
#include <vector>
#include <utility>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "tollgate/config/config.hpp"
#include "tollgate/crypto/hash.hpp"
#include "tollgate/errors/error.hpp"
#include "tollgate/http/head_check.hpp"
#include "tollgate/http/router.hpp"

namespace tollgate::http {

namespace beast = boost::beast;
namespace asio = boost::asio;

using Response = beast::http::response<beast::http::string_body>;
using StringParser = beast::http::request_parser<beast::http::string_body>;
using StreamParser = beast::http::request_parser<beast::http::buffer_body>;

class Exchange {
 public:
  Exchange(beast::tcp_stream& stream, beast::flat_buffer& buffer, const RequestHead& head,
           std::shared_ptr<const config::Config> config, std::string request_id, Params params,
           const std::atomic<bool>* draining = nullptr);

  const RequestHead& request() const noexcept;
  std::string_view method() const noexcept;
  std::string_view target() const noexcept;
  std::string_view path() const noexcept;   // the target up to '?'
  std::string_view query() const noexcept;  // after '?', without it; "" when none
  std::string_view param(std::string_view name) const noexcept;
  const std::string& request_id() const noexcept { return request_id_; }
  const config::Config& config() const noexcept { return *config_; }
  std::shared_ptr<const config::Config> config_snapshot() const noexcept { return config_; }

  // Reads the whole body (up to server.limits.max_body_bytes). On a body that
  // is too large or malformed it answers the error itself and returns nullopt.
  asio::awaitable<std::optional<std::string>> read_body();

  // Answers. Each adds Tollgate-Request-Id and the connection's keep-alive.
  asio::awaitable<void> respond(Response response);
  asio::awaitable<void> respond_json(unsigned status, std::string body);
  // (A vector, not an initializer_list: g++ 12 miscompiles initializer_list arguments of co_await.)
  asio::awaitable<void> respond_error(
      errors::Code code, std::string_view message,
      std::vector<std::pair<std::string, std::string>> extra_headers = {});

  bool responded() const noexcept { return responded_; }
  unsigned status() const noexcept { return status_; }
  std::uint64_t bytes_out() const noexcept { return bytes_out_; }
  std::uint64_t body_bytes_in() const noexcept { return body_bytes_in_; }
  std::optional<errors::Code> error_code() const noexcept { return error_code_; }
  // The body was read to its end (or there was none), so the connection can be reused.
  bool body_done() const noexcept;
  // False after a write failed or the handler asked to close.
  bool keep_alive() const noexcept { return keep_alive_; }
  void close_after_response() noexcept { keep_alive_ = false; }

  // The value of cookie `name` in the request's Cookie header, if sent.
  std::optional<std::string_view> cookie(std::string_view name) const;

  // The client's IP address (read once per connection), "" when unknown.
  std::string_view remote_address() const noexcept { return remote_address_; }
  void set_remote_address(std::string_view address) noexcept { remote_address_ = address; }

  // The connection's memo of its client's API key hash (crypto::KeyHashMemo); null when there is none.
  crypto::KeyHashMemo* key_memo() const noexcept { return key_memo_; }
  void set_key_memo(crypto::KeyHashMemo* memo) noexcept { key_memo_ = memo; }

  // Fields for the request's log line.
  void set_tenant(std::string tenant) { tenant_ = std::move(tenant); }
  void set_provider(std::string provider) { provider_ = std::move(provider); }
  const std::string& tenant() const noexcept { return tenant_; }
  const std::string& provider() const noexcept { return provider_; }

  // Moves the request deadline (e.g. a long-poll that may legitimately take longer).
  void extend_deadline(std::chrono::steady_clock::duration d) { stream_.expires_after(d); }

  // For streaming handlers (the relay). The request has a body to read.
  bool has_body() const noexcept { return has_body_; }
  // A parser that reads the body in pieces from stream() and buffer(), given
  // the head's framing (once). Tell the exchange how the body ended with body_streamed().
  StreamParser& body_stream();
  // The body was read to its end (`complete`), so the connection can carry the next request.
  void body_streamed(std::uint64_t bytes, bool complete);
  beast::tcp_stream& stream() noexcept { return stream_; }
  beast::flat_buffer& buffer() noexcept { return buffer_; }
  // The server is shutting down: a streamed response should end with Connection: close.
  bool draining() const noexcept { return draining_ && draining_->load(); }
  void mark_responded(unsigned status, std::uint64_t bytes_out);

 private:
  beast::tcp_stream& stream_;
  beast::flat_buffer& buffer_;
  const RequestHead& head_;
  const std::atomic<bool>* draining_;  // the server is shutting down: answer with Connection: close
  std::optional<StringParser> body_parser_;
  std::optional<StreamParser> stream_parser_;
  // Gives a body parser the head's framing (Content-Length or chunked), so it reads the body after it.
  template <typename Parser>
  void frame(Parser& parser);
  std::shared_ptr<const config::Config> config_;
  std::string request_id_;
  Params params_;
  std::string tenant_, provider_;
  std::string_view remote_address_;
  crypto::KeyHashMemo* key_memo_ = nullptr;
  bool responded_ = false;
  bool keep_alive_ = true;
  bool body_read_ = false;
  bool has_body_ = false;
  unsigned status_ = 0;
  std::uint64_t bytes_out_ = 0;
  std::uint64_t body_bytes_in_ = 0;
  std::optional<errors::Code> error_code_;
};

// A response carrying SPEC §4's JSON error, with Tollgate-Error and Tollgate-Request-Id.
Response make_error_response(errors::Code code, std::string_view message, std::string_view request_id,
                             unsigned version = 11);

}  // namespace tollgate::http
