#include "tollgate/http/server.hpp"

#include <sys/socket.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <future>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "tollgate/crypto/random.hpp"
#include "tollgate/http/exchange.hpp"
#include "tollgate/http/head_check.hpp"
#include "tollgate/ops/instruments.hpp"
#include "tollgate/ops/log.hpp"
#include "tollgate/upstream/readiness.hpp"

namespace tollgate::http {

namespace http = beast::http;
using asio::ip::tcp;
using errors::Code;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

struct Connection {
  explicit Connection(tcp::socket s) : stream(std::move(s)) {
    boost::system::error_code ec;
    auto endpoint = stream.socket().remote_endpoint(ec);
    if (!ec) peer = endpoint.address().to_string();
  }
  beast::tcp_stream stream;
  std::string peer;  // the client's address, read once per connection
  crypto::KeyHashMemo key_memo;  // the hash of the API key this client sends
  RequestHead head;              // the request being served (its storage reused by the next)
  // Waiting for the first byte of a request: a graceful shutdown may close it at
  // once, and the worker's sweep closes it when idle_until has passed.
  bool idle = false;
  std::chrono::steady_clock::time_point idle_until{};
};

struct Worker {
  std::list<Connection*> connections;  // worker-local: touched only on this worker's thread
  asio::io_context ctx{1};
  std::optional<tcp::acceptor> acceptor;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard;
  std::optional<asio::steady_timer> sweep_timer;  // ticks sweep_idle
  std::thread thread;
  // The config snapshot this worker's requests take, behind a control block of
  // the worker's own: copying it per request touches no cache line that the
  // other workers write (the shared snapshot's count would bounce between cores).
  std::shared_ptr<const config::Config> config;
  std::uint64_t config_generation = ~std::uint64_t{0};

  std::shared_ptr<const config::Config> snapshot(const config::LiveConfig& live) {
    const auto generation = live.generation();
    if (generation != config_generation) {
      auto holder = std::make_shared<std::shared_ptr<const config::Config>>(live.get());
      config = std::shared_ptr<const config::Config>(holder, holder->get());
      config_generation = generation;
    }
    return config;
  }
};

tcp::endpoint resolve_listen(const config::Listen& listen, std::uint16_t port) {
  std::string host = listen.host == "localhost" ? "127.0.0.1" : listen.host;
  return {asio::ip::make_address(host), port};
}

std::string_view strip_query(std::string_view target) { return target.substr(0, target.find('?')); }

}  // namespace

struct Server::Impl {
  std::shared_ptr<config::LiveConfig> config;
  std::shared_ptr<const Router> router;
  std::atomic<bool> draining{false};
  std::atomic<std::size_t> open_connections{0};
  std::mutex mutex;
  std::condition_variable all_closed;
  bool stopped = false;
  std::uint16_t port = 0;
  std::vector<std::unique_ptr<Worker>> workers;  // last: destroyed first, while the rest is alive

  asio::awaitable<void> accept_loop(Worker& w);
  asio::awaitable<void> sweep_idle(Worker& w);
  asio::awaitable<void> session(Worker& w, tcp::socket socket);
  asio::awaitable<void> linger_close(Connection& conn);
  asio::awaitable<void> early_error(Connection& conn, Code code, std::string_view message, std::string_view path,
                                    std::chrono::steady_clock::time_point started);
  void connection_closed() {
    if (open_connections.fetch_sub(1) == 1) {
      std::lock_guard lock(mutex);
      all_closed.notify_all();
    }
  }
};

Server::Server(std::shared_ptr<config::LiveConfig> config, std::shared_ptr<const Router> router)
    : impl_(std::make_unique<Impl>()) {
  impl_->config = std::move(config);
  impl_->router = std::move(router);
}

Server::~Server() { shutdown(std::chrono::milliseconds(0)); }

unsigned Server::workers() const noexcept { return static_cast<unsigned>(impl_->workers.size()); }

std::size_t Server::connections() const noexcept { return impl_->open_connections.load(); }

std::uint16_t Server::start() {
  auto cfg = impl_->config->get();
  unsigned n = cfg->server.workers ? cfg->server.workers : std::max(1u, std::thread::hardware_concurrency());
  std::uint16_t port = cfg->server.listen.port;
  if (port != 0) {
    // SO_REUSEPORT would let this process silently share the port with another
    // live instance (each getting half the connections). Probe with a plain
    // bind first so an address in use is refused outright.
    asio::io_context probe_ctx;
    tcp::acceptor probe(probe_ctx);
    auto endpoint = resolve_listen(cfg->server.listen, port);
    probe.open(endpoint.protocol());
    probe.set_option(asio::socket_base::reuse_address(true));
    probe.bind(endpoint);
    probe.close();
  }
  for (unsigned i = 0; i < n; ++i) {
    auto w = std::make_unique<Worker>();
    auto endpoint = resolve_listen(cfg->server.listen, port);
    w->acceptor.emplace(w->ctx);
    w->acceptor->open(endpoint.protocol());
    w->acceptor->set_option(asio::socket_base::reuse_address(true));
    w->acceptor->set_option(reuse_port(true));
    w->acceptor->bind(endpoint);
    w->acceptor->listen(asio::socket_base::max_listen_connections);
    // Worker 0 may have been given port 0: the others join the port it got.
    port = w->acceptor->local_endpoint().port();
    impl_->workers.push_back(std::move(w));
  }
  impl_->port = port;
  for (auto& w : impl_->workers) {
    w->guard.emplace(w->ctx.get_executor());
    asio::co_spawn(w->ctx, impl_->accept_loop(*w), asio::detached);
    w->sweep_timer.emplace(w->ctx);
    asio::co_spawn(w->ctx, impl_->sweep_idle(*w), asio::detached);
    w->thread = std::thread([ctx = &w->ctx] { ctx->run(); });
  }
  return port;
}

void Server::shutdown(std::chrono::milliseconds grace) {
  auto& impl = *impl_;
  {
    std::lock_guard lock(impl.mutex);
    if (impl.stopped) return;
    impl.stopped = true;
  }
  impl.draining = true;
  for (auto& w : impl.workers) {
    asio::post(w->ctx, [&w = *w] {
      boost::system::error_code ec;
      if (w.acceptor) w.acceptor->close(ec);
      for (auto* c : w.connections)
        if (c->idle) c->stream.socket().close(ec);
    });
  }
  {
    std::unique_lock lock(impl.mutex);
    impl.all_closed.wait_for(lock, grace, [&] { return impl.open_connections.load() == 0; });
  }
  // Grace is over: close what is left, on each worker's own thread, then stop.
  for (auto& w : impl.workers) {
    auto closed = std::make_shared<std::promise<void>>();
    auto done = closed->get_future();
    asio::post(w->ctx, [&w = *w, closed] {
      boost::system::error_code ec;
      for (auto* c : w.connections) c->stream.socket().close(ec);
      if (w.sweep_timer) w.sweep_timer->cancel();
      closed->set_value();
    });
    done.wait_for(std::chrono::seconds(1));
    w->guard.reset();
    w->ctx.stop();
  }
  for (auto& w : impl.workers)
    if (w->thread.joinable()) w->thread.join();
}

asio::awaitable<void> Server::Impl::accept_loop(Worker& w) {
  for (;;) {
    auto [ec, socket] = co_await w.acceptor->async_accept(kTuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || !w.acceptor->is_open()) co_return;
      // EMFILE and friends: back off briefly instead of spinning.
      ops::log_warn("accept failed", {{"error", ec.message()}});
      asio::steady_timer t(w.ctx, std::chrono::milliseconds(50));
      co_await t.async_wait(kTuple);
      continue;
    }
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    open_connections.fetch_add(1);
    asio::co_spawn(w.ctx, session(w, std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> Server::Impl::linger_close(Connection& conn) {
  // Half-close and read what the client is still sending for a moment, so the
  // kernel does not answer its unread bytes with a reset that destroys our
  // response before the client has read it.
  boost::system::error_code ec;
  conn.stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (!ec) {
    conn.stream.expires_after(std::chrono::seconds(2));
    // A std::array, not a C array: g++ 12 cannot keep C arrays in a coroutine frame.
    std::array<char, 4096> sink;
    std::size_t total = 0;
    while (total < 1024 * 1024) {
      auto [rec, n] = co_await conn.stream.async_read_some(asio::buffer(sink), kTuple);
      if (rec) break;
      total += n;
    }
  }
  conn.stream.socket().close(ec);
}

asio::awaitable<void> Server::Impl::early_error(Connection& conn, Code code, std::string_view message,
                                                std::string_view path,
                                                std::chrono::steady_clock::time_point started) {
  auto request_id = crypto::unique_id("req");
  auto res = make_error_response(code, message, request_id);
  res.keep_alive(false);
  auto [ec, n] = co_await http::async_write(conn.stream, res, kTuple);
  auto latency = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  ops::log_info("request", {{"request_id", request_id},
                            {"path", path},
                            {"status", errors::status(code)},
                            {"error", errors::name(code)},
                            {"latency_ms", latency},
                            {"bytes_out", n}});
  ops::record_request({{}, {}, static_cast<unsigned>(errors::status(code)), errors::name(code), latency / 1000, 0, n});
}

// The wait for a request's first byte has no timer of its own: a timer armed
// and cancelled around every keep-alive wait cost more than the rest of the
// wait. Each worker instead sweeps its connections a few times per timeout and
// closes the idle ones whose time is up (at most one tick, 1/16 of the shorter
// of server.timeouts.idle and header_read and never over 250 ms, late).
asio::awaitable<void> Server::Impl::sweep_idle(Worker& w) {
  using namespace std::chrono_literals;
  for (;;) {
    const auto cfg = w.snapshot(*config);
    const auto shortest = std::min(cfg->server.timeouts.idle, cfg->server.timeouts.header_read);
    w.sweep_timer->expires_after(std::clamp<std::chrono::steady_clock::duration>(shortest / 16, 5ms, 250ms));
    auto [ec] = co_await w.sweep_timer->async_wait(kTuple);
    if (ec || draining) co_return;
    const auto now = std::chrono::steady_clock::now();
    for (auto* c : w.connections)
      if (c->idle && c->idle_until <= now) c->stream.socket().close(ec);
  }
}

asio::awaitable<void> Server::Impl::session(Worker& w, tcp::socket socket) {
  Connection conn(std::move(socket));
  w.connections.push_front(&conn);
  auto self = w.connections.begin();
  struct Cleanup {
    Impl& impl;
    Worker& w;
    std::list<Connection*>::iterator it;
    ~Cleanup() {
      w.connections.erase(it);
      impl.connection_closed();
    }
  } cleanup{*this, w, self};

  beast::flat_buffer buffer;
  bool first = true;
  bool linger = false;
  for (;;) {
    auto cfg = w.snapshot(*config);
    const auto& limits = cfg->server.limits;
    const auto& timeouts = cfg->server.timeouts;

    if (buffer.size() == 0) {
      if (draining) break;
      conn.idle = true;
      conn.idle_until = std::chrono::steady_clock::now() + (first ? timeouts.header_read : timeouts.idle);
      // Straight on the socket: the timeout is the sweep's (sweep_idle). The
      // read waits first when the last one emptied the socket (start_read).
      auto& socket = conn.stream.socket();
      const auto space = buffer.prepare(4096);
      auto read = upstream::start_read(socket, space);
      if (!read.done) {
        auto [wec, wn] = co_await socket.async_read_some(space, kTuple);
        read.waited(socket, space.size(), wec, wn);
      }
      conn.idle = false;
      if (read.done->first) break;
      buffer.commit(read.done->second);
    }
    first = false;
    const auto started = std::chrono::steady_clock::now();
    // The whole head must arrive within header_read: a client dribbling bytes is cut off.
    conn.stream.expires_after(timeouts.header_read);

    std::size_t head_end = std::string_view::npos;
    std::size_t scanned = 0;
    bool cut = false;
    for (;;) {
      std::string_view data(static_cast<const char*>(buffer.data().data()), buffer.size());
      // RFC 9112 §2.2: ignore empty lines before the request line.
      std::size_t lead = 0;
      while (data.size() - lead >= 2 && data.compare(lead, 2, "\r\n") == 0) lead += 2;
      if (lead) {
        buffer.consume(lead);
        scanned = 0;
        continue;
      }
      head_end = find_head_end(data, scanned > 3 ? scanned - 3 : 0);
      if (head_end != std::string_view::npos) break;
      scanned = data.size();
      auto line_end = data.find("\r\n");
      if ((line_end == std::string_view::npos && data.size() > limits.max_uri_bytes + 32) ||
          (line_end != std::string_view::npos && line_end > limits.max_uri_bytes + 32)) {
        co_await early_error(conn, Code::uri_too_long,
                             "the request target is longer than server.limits.max_uri_bytes (" +
                                 std::to_string(limits.max_uri_bytes) + " bytes)",
                             "", started);
        cut = linger = true;
        break;
      }
      if (data.size() > limits.max_header_bytes) {
        co_await early_error(conn, Code::headers_too_large,
                             "the request head is larger than server.limits.max_header_bytes (" +
                                 std::to_string(limits.max_header_bytes) + " bytes)",
                             "", started);
        cut = linger = true;
        break;
      }
      std::size_t want = std::min<std::size_t>(8192, limits.max_header_bytes + 4 - data.size() + 1);
      auto [ec, n] = co_await conn.stream.async_read_some(buffer.prepare(want), kTuple);
      if (ec) {
        cut = true;  // timeout or the client went away: nobody to answer
        break;
      }
      buffer.commit(n);
    }
    if (cut) break;

    std::string_view head(static_cast<const char*>(buffer.data().data()), head_end);
    std::string_view path = strip_query(head.substr(head.find(' ') + 1, head.find(' ', head.find(' ') + 1) - head.find(' ') - 1));
    if (head_end > limits.max_header_bytes + 4) {
      co_await early_error(conn, Code::headers_too_large,
                           "the request head is larger than server.limits.max_header_bytes (" +
                               std::to_string(limits.max_header_bytes) + " bytes)",
                           path, started);
      linger = true;
      break;
    }
    if (auto problem = parse_head(head, limits.max_uri_bytes, conn.head)) {
      co_await early_error(conn, problem->code, problem->message, path, started);
      linger = true;
      break;
    }
    buffer.consume(head_end);

    auto match = router->match(conn.head.method(), strip_query(conn.head.target()));
    Exchange ex(conn.stream, buffer, conn.head, cfg, crypto::unique_id("req"), std::move(match.params),
                &draining);
    ex.set_remote_address(conn.peer);
    ex.set_key_memo(&conn.key_memo);
    conn.stream.expires_after(timeouts.request);
    if (match.kind == Router::Match::Kind::not_found) {
      co_await ex.respond_error(Code::not_found, "no such route: " + std::string(ex.path()));
    } else if (match.kind == Router::Match::Kind::method_not_allowed) {
      std::vector<std::pair<std::string, std::string>> allow;
      allow.emplace_back("Allow", match.allow);
      co_await ex.respond_error(Code::method_not_allowed,
                                std::string(ex.method()) + " is not allowed here; allowed: " + match.allow,
                                std::move(allow));
    } else {
      std::optional<std::string> failure;  // co_await is not allowed inside a catch block
      try {
        co_await (*match.handler)(ex);
      } catch (const std::exception& e) {
        failure = e.what();
      }
      if (failure) {
        ops::log_error("handler failed", {{"request_id", ex.request_id()}, {"error", *failure}});
        if (ex.responded()) ex.close_after_response();
        else co_await ex.respond_error(Code::internal, "internal error; the log line with this request id has details");
      }
      if (!ex.responded())
        co_await ex.respond_error(Code::internal, "internal error: the handler did not answer");
    }

    auto latency = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    std::string_view error = ex.error_code() ? errors::name(*ex.error_code()) : std::string_view{};
    ops::log_info("request", {{"request_id", ex.request_id()},
                              {"method", ex.method()},
                              {"path", ex.path()},
                              {"status", ex.status()},
                              {"error", error},
                              {"tenant", ex.tenant()},
                              {"provider", ex.provider()},
                              {"latency_ms", latency},
                              {"bytes_in", head_end + ex.body_bytes_in()},
                              {"bytes_out", ex.bytes_out()}});
    ops::record_request(
        {ex.tenant(), ex.provider(), ex.status(), error, latency / 1000, head_end + ex.body_bytes_in(), ex.bytes_out()});
    if (!ex.keep_alive() || !ex.body_done()) {
      linger = ex.status() != 0;
      break;
    }
    if (draining) break;
  }
  if (linger) co_await linger_close(conn);
  boost::system::error_code ec;
  conn.stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  conn.stream.socket().close(ec);
}

}  // namespace tollgate::http
