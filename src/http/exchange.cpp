#include "tollgate/http/exchange.hpp"

#include <stdexcept>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

namespace tollgate::http {

namespace http = beast::http;
using errors::Code;

Response make_error_response(Code code, std::string_view message, std::string_view request_id, unsigned version) {
  Response res{static_cast<http::status>(errors::status(code)), version};
  res.set(http::field::content_type, "application/json");
  res.set("Tollgate-Error", errors::name(code));
  res.set("Tollgate-Request-Id", request_id);
  res.set(http::field::cache_control, "no-store");
  res.body() = errors::json_body(code, message, request_id);
  res.prepare_payload();
  return res;
}

Exchange::Exchange(beast::tcp_stream& stream, beast::flat_buffer& buffer, const RequestHead& head,
                   std::shared_ptr<const config::Config> config, std::string request_id, Params params,
                   const std::atomic<bool>* draining)
    : stream_(stream),
      buffer_(buffer),
      head_(head),
      draining_(draining),
      config_(std::move(config)),
      request_id_(std::move(request_id)),
      params_(std::move(params)) {
  keep_alive_ = head_.keep_alive();
  auto len = head_.content_length();
  has_body_ = head_.chunked() || (len && *len > 0);
}

const RequestHead& Exchange::request() const noexcept { return head_; }

template <typename Parser>
void Exchange::frame(Parser& parser) {
  // Beast reads the body: it is told only what frames it, the head having
  // been checked and parsed already (parse_head).
  std::string framing(head_.method());
  framing += " / HTTP/1.1\r\n";
  if (head_.chunked()) framing += "Transfer-Encoding: chunked\r\n";
  else framing += "Content-Length: " + std::to_string(head_.content_length().value_or(0)) + "\r\n";
  framing += "\r\n";
  parser.eager(false);
  boost::system::error_code ec;
  parser.put(asio::buffer(framing), ec);
  if (ec || !parser.is_header_done()) throw std::logic_error("the body framing was refused: " + ec.message());
}

StreamParser& Exchange::body_stream() {
  if (body_parser_ || stream_parser_) throw std::logic_error("the request body is already being read");
  stream_parser_.emplace();
  stream_parser_->body_limit(boost::none);  // proxied bodies stream uncapped (SPEC §3 server.limits)
  frame(*stream_parser_);
  return *stream_parser_;
}

void Exchange::body_streamed(std::uint64_t bytes, bool complete) {
  body_bytes_in_ = bytes;
  body_read_ = complete;
  if (!complete) keep_alive_ = false;
}

std::string_view Exchange::method() const noexcept { return request().method(); }
std::string_view Exchange::target() const noexcept { return request().target(); }

std::string_view Exchange::path() const noexcept {
  auto t = target();
  return t.substr(0, t.find('?'));
}

std::string_view Exchange::query() const noexcept {
  auto t = target();
  auto q = t.find('?');
  return q == std::string_view::npos ? std::string_view{} : t.substr(q + 1);
}

std::string_view Exchange::param(std::string_view name) const noexcept {
  for (const auto& [k, v] : params_)
    if (k == name) return v;
  return {};
}

std::optional<std::string_view> Exchange::cookie(std::string_view name) const {
  std::string_view rest = request()["Cookie"];
  while (!rest.empty()) {
    auto semi = rest.find(';');
    auto pair = rest.substr(0, semi);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) return pair.substr(eq + 1);
    if (semi == std::string_view::npos) break;
    rest.remove_prefix(semi + 1);
  }
  return std::nullopt;
}

bool Exchange::body_done() const noexcept { return !has_body_ || body_read_; }

asio::awaitable<std::optional<std::string>> Exchange::read_body() {
  const auto limit = config_->server.limits.max_body_bytes;
  if (body_parser_ || stream_parser_) throw std::logic_error("read_body called twice");
  if (!has_body_) {
    body_read_ = true;
    co_return std::string{};
  }
  if (auto len = head_.content_length(); len && *len > limit) {
    close_after_response();
    co_await respond_error(Code::payload_too_large,
                           "the request body is larger than server.limits.max_body_bytes (" + std::to_string(limit) +
                               " bytes)");
    co_return std::nullopt;
  }
  body_parser_.emplace();
  body_parser_->body_limit(limit);
  frame(*body_parser_);
  auto [ec, n] = co_await http::async_read(stream_, buffer_, *body_parser_, asio::as_tuple(asio::use_awaitable));
  if (ec) {
    close_after_response();
    if (ec == http::error::body_limit) {
      co_await respond_error(Code::payload_too_large, "the request body is larger than server.limits.max_body_bytes (" +
                                                          std::to_string(limit) + " bytes)");
    } else if (ec == beast::error::timeout || ec == asio::error::eof || ec == http::error::partial_message ||
               ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
      // The client went away or was too slow: nobody to answer.
      responded_ = true;
      status_ = 0;
    } else {
      co_await respond_error(Code::bad_request, "the request body is malformed: " + ec.message());
    }
    co_return std::nullopt;
  }
  body_read_ = true;
  body_bytes_in_ = body_parser_->get().body().size();
  co_return std::move(body_parser_->get().body());
}

asio::awaitable<void> Exchange::respond(Response response) {
  response.version(request().version());
  response.set("Tollgate-Request-Id", request_id_);
  if (!body_done() || (draining_ && draining_->load())) keep_alive_ = false;
  response.keep_alive(keep_alive_);
  if (!response.has_content_length() && !response.chunked()) response.prepare_payload();
  responded_ = true;
  status_ = response.result_int();
  auto [ec, n] = co_await http::async_write(stream_, response, asio::as_tuple(asio::use_awaitable));
  bytes_out_ += n;
  if (ec) keep_alive_ = false;
}

asio::awaitable<void> Exchange::respond_json(unsigned status, std::string body) {
  Response res{static_cast<http::status>(status), request().version()};
  res.set(http::field::content_type, "application/json");
  res.body() = std::move(body);
  res.prepare_payload();
  co_await respond(std::move(res));
}

asio::awaitable<void> Exchange::respond_error(
    Code code, std::string_view message,
    std::vector<std::pair<std::string, std::string>> extra_headers) {
  error_code_ = code;
  auto res = make_error_response(code, message, request_id_, request().version());
  for (const auto& [name, value] : extra_headers) res.set(name, value);
  co_await respond(std::move(res));
}

void Exchange::mark_responded(unsigned status, std::uint64_t bytes_out) {
  responded_ = true;
  status_ = status;
  bytes_out_ += bytes_out;
}

}  // namespace tollgate::http
