#include "script_server.hpp"

#include <cctype>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

namespace tollgate::test {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

}  // namespace

Step reply(std::string bytes) { return Step{Step::Kind::send, std::move(bytes), {}}; }
Step stall(std::chrono::milliseconds time) { return Step{Step::Kind::stall, {}, time}; }
Step hang() { return Step{Step::Kind::hang, {}, std::chrono::hours(1)}; }

std::string Received::header(std::string_view name) const {
  for (const auto& [key, value] : headers)
    if (iequals(key, name)) return value;
  return {};
}

std::size_t Received::count(std::string_view name) const {
  std::size_t n = 0;
  for (const auto& [key, value] : headers) n += iequals(key, name) ? 1 : 0;
  return n;
}

struct ScriptServer::Impl {
  std::vector<Step> script;
  ServerOptions options;
  std::optional<asio::ssl::context> tls;  // outlives the io_context: its streams use it
  mutable std::mutex mutex;
  std::vector<Received> requests;
  std::size_t connections = 0;
  std::uint16_t port = 0;
  asio::io_context io{1};  // destroyed first, with every connection still suspended in it
  std::thread thread;

  asio::awaitable<void> accept_loop(tcp::acceptor acceptor) {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(kNoThrow);
      if (ec) co_return;
      asio::co_spawn(io, serve(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> serve(tcp::socket socket) {
    {
      std::lock_guard lock(mutex);
      ++connections;
    }
    boost::system::error_code ignored;
    if (!tls) {
      if (options.read_request && !co_await read_request(socket)) co_return;
      co_await play(socket);
      socket.shutdown(tcp::socket::shutdown_send, ignored);
      socket.close(ignored);
      co_return;
    }
    asio::ssl::stream<tcp::socket> stream(std::move(socket), *tls);
    auto [handshake_ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, kNoThrow);
    if (handshake_ec) co_return;
    if (options.read_request && !co_await read_request(stream)) co_return;
    co_await play(stream);
    if (options.close_notify) co_await stream.async_shutdown(kNoThrow);
    stream.lowest_layer().close(ignored);
  }

  template <typename Stream>
  asio::awaitable<bool> read_request(Stream& stream) {
    boost::beast::flat_buffer buffer;
    http::request_parser<http::string_body> parser;
    parser.header_limit(64 * 1024);
    parser.body_limit(16 * 1024 * 1024);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, kNoThrow);
    if (ec) co_return false;
    auto& message = parser.get();
    Received received;
    received.method = message.method_string();
    received.target = message.target();
    for (const auto& field : message) received.headers.emplace_back(field.name_string(), field.value());
    received.body = message.body();
    std::lock_guard lock(mutex);
    requests.push_back(std::move(received));
    co_return true;
  }

  template <typename Stream>
  asio::awaitable<void> play(Stream& stream) {
    for (const auto& step : script) {
      if (step.kind == Step::Kind::send) {
        auto [ec, n] = co_await asio::async_write(stream, asio::buffer(step.bytes), kNoThrow);
        if (ec) co_return;
      } else {
        asio::steady_timer timer(io, step.duration);
        co_await timer.async_wait(kNoThrow);
      }
    }
  }
};

ScriptServer::ScriptServer(std::vector<Step> script, ServerOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->script = std::move(script);
  impl_->options = std::move(options);
  if (impl_->options.tls) {
    impl_->tls.emplace(asio::ssl::context::tls_server);
    const auto& identity = *impl_->options.tls;
    impl_->tls->use_certificate_chain(asio::buffer(identity.cert_pem));
    impl_->tls->use_private_key(asio::buffer(identity.key_pem), asio::ssl::context::pem);
  }
  tcp::acceptor acceptor(impl_->io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  impl_->port = acceptor.local_endpoint().port();
  asio::co_spawn(impl_->io, impl_->accept_loop(std::move(acceptor)), asio::detached);
  impl_->thread = std::thread([io = &impl_->io] { io->run(); });
}

ScriptServer::~ScriptServer() {
  impl_->io.stop();
  impl_->thread.join();
}

std::uint16_t ScriptServer::port() const { return impl_->port; }

std::string ScriptServer::url(std::string_view path_and_query) const {
  return std::string(impl_->tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(impl_->port) +
         std::string(path_and_query);
}

std::vector<Received> ScriptServer::requests() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->requests;
}

std::size_t ScriptServer::connections() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->connections;
}

std::variant<upstream::Response, upstream::Error> send_now(const upstream::Options& options,
                                                           upstream::Request request) {
  asio::io_context io;
  upstream::Client client(io.get_executor(), options);
  std::optional<std::variant<upstream::Response, upstream::Error>> result;
  std::exception_ptr failure;
  asio::co_spawn(io, client.send(std::move(request)),
                 [&](std::exception_ptr e, std::variant<upstream::Response, upstream::Error> r) {
                   if (e) failure = e;
                   else result.emplace(std::move(r));
                 });
  io.run();
  if (failure) std::rethrow_exception(failure);
  if (!result) throw std::runtime_error("Client::send did not finish");
  return std::move(*result);
}

}  // namespace tollgate::test
