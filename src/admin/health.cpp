#include "tollgate/admin/health.hpp"

#include "tollgate/http/exchange.hpp"

namespace tollgate::admin {

void add_health_routes(http::Router& router, store::Store& store) {
  router.add("GET", "/healthz", [](http::Exchange& ex) -> boost::asio::awaitable<void> {
    co_await ex.respond_json(200, R"({"status":"ok"})");
  });
  router.add("GET", "/readyz", [&store](http::Exchange& ex) -> boost::asio::awaitable<void> {
    // Reaching a handler means a validated config snapshot is in force.
    auto ping = co_await store.ping();
    if (!ping) {
      co_await ex.respond_error(errors::Code::store_unavailable, "not ready: the store does not answer");
      co_return;
    }
    co_await ex.respond_json(200, R"({"status":"ready","checks":{"config":"ok","store":"ok"}})");
  });
}

}  // namespace tollgate::admin
