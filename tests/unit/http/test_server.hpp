#pragma once
// An in-process http::Server on a kernel-chosen loopback port with routes made
// for tests: echo, body size, and a handler that holds until released.
#include <atomic>
#include <functional>
#include <memory>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "tollgate/http/exchange.hpp"
#include "tollgate/http/server.hpp"
#include "tollgate/ops/log.hpp"

namespace tollgate::test {

struct TestServer {
  std::atomic<bool> held{false};
  std::atomic<bool> release{false};
  std::shared_ptr<config::LiveConfig> live;
  std::unique_ptr<http::Server> server;
  std::uint16_t port = 0;

  explicit TestServer(const std::function<void(config::Config&)>& tweak = {}) {
    ops::configure_logging(ops::Level::error, ops::Format::json);
    auto cfg = std::make_shared<config::Config>();
    cfg->server.listen = {"127.0.0.1", 0};
    cfg->server.workers = 2;
    if (tweak) tweak(*cfg);
    live = std::make_shared<config::LiveConfig>(cfg);
    auto router = std::make_shared<http::Router>();
    router->add("GET", "/echo/{word}", [](http::Exchange& ex) -> boost::asio::awaitable<void> {
      co_await ex.respond_json(200, "{\"word\":\"" + std::string(ex.param("word")) + "\"}");
    });
    router->add("POST", "/body", [](http::Exchange& ex) -> boost::asio::awaitable<void> {
      auto body = co_await ex.read_body();
      if (!body) co_return;
      co_await ex.respond_json(200, "{\"bytes\":" + std::to_string(body->size()) + "}");
    });
    router->add("GET", "/hold", [this](http::Exchange& ex) -> boost::asio::awaitable<void> {
      held = true;
      boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
      while (!release) {
        timer.expires_after(std::chrono::milliseconds(2));
        co_await timer.async_wait(boost::asio::use_awaitable);
      }
      co_await ex.respond_json(200, R"({"held":true})");
    });
    server = std::make_unique<http::Server>(live, router);
    port = server->start();
  }
  ~TestServer() {
    release = true;
    server->shutdown(std::chrono::seconds(5));
  }
};

}  // namespace tollgate::test
