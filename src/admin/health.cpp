#include "tollgate/admin/health.hpp"

#include "tollgate/http/exchange.hpp"

namespace tollgate::admin {

void add_health_routes(http::Router& router) {
  router.add("GET", "/healthz", [](http::Exchange& ex) -> boost::asio::awaitable<void> {
    co_await ex.respond_json(200, R"({"status":"ok"})");
  });
  router.add("GET", "/readyz", [](http::Exchange& ex) -> boost::asio::awaitable<void> {
    // Reaching a handler means a validated config snapshot is in force.
    co_await ex.respond_json(200, R"({"status":"ready","checks":{"config":"ok"}})");
  });
}

}  // namespace tollgate::admin
