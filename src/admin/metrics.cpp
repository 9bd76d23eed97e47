// GET /metrics and the store-backed gauges.
#include <boost/beast/http/field.hpp>

#include "tollgate/admin/ops.hpp"
#include "tollgate/http/exchange.hpp"
#include "tollgate/ops/instruments.hpp"
#include "tollgate/ops/log.hpp"

namespace tollgate::admin {

void add_metrics_route(http::Router& router) {
  ops::declare_tollgate_metrics();
  router.add("GET", "/metrics", [](http::Exchange& ex) -> boost::asio::awaitable<void> {
    http::Response res{boost::beast::http::status::ok, 11};
    res.set(boost::beast::http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res.set(boost::beast::http::field::cache_control, "no-store");
    res.body() = ops::Registry::global().render();
    res.prepare_payload();
    co_await ex.respond(std::move(res));
  });
}

struct StoreStatusGauges::Counts {
  std::mutex mu;
  std::optional<store::StatusCounts> sessions, auth_configs;
};

namespace {

// Every status of the contract is a series (0 when there is none), so a
// dashboard can chart needs_reauth before the first one appears.
void write(ops::GaugeSink& sink, const store::StatusCounts& counts, std::initializer_list<std::string_view> known) {
  for (auto status : known)
    if (!counts.count(std::string(status))) sink.set({status}, 0);
  for (const auto& [status, n] : counts) sink.set({status}, static_cast<double>(n));
}

}  // namespace

StoreStatusGauges::StoreStatusGauges(ops::Registry& registry) : counts_(std::make_shared<Counts>()) {
  ops::declare_tollgate_metrics();
  sessions_ = registry.register_gauge_callback(ops::metric::setup_sessions, [c = counts_](ops::GaugeSink& sink) {
    std::lock_guard lock(c->mu);
    if (c->sessions) write(sink, *c->sessions, {"pending", "completed", "failed", "expired", "archived"});
  });
  auth_configs_ = registry.register_gauge_callback(ops::metric::auth_configs, [c = counts_](ops::GaugeSink& sink) {
    std::lock_guard lock(c->mu);
    if (c->auth_configs) write(sink, *c->auth_configs, {"active", "needs_reauth", "revoked"});
  });
}

boost::asio::awaitable<void> StoreStatusGauges::refresh(store::Store& store) {
  auto sessions = co_await store.count_setup_sessions_by_status();
  auto auth_configs = co_await store.count_auth_configs_by_status();
  std::lock_guard lock(counts_->mu);
  if (sessions) counts_->sessions = std::move(sessions).value();
  if (auth_configs) counts_->auth_configs = std::move(auth_configs).value();
  if (!sessions || !auth_configs)
    ops::log_warn("metrics: could not count setup sessions and auth configs; the gauges keep their last values",
                  {{"error", !sessions ? sessions.error().message : auth_configs.error().message}});
}

}  // namespace tollgate::admin
