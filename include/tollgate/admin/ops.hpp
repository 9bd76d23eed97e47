#pragma once
// The operator's views of a running tollgate: GET /metrics (Prometheus text),
// the /dashboard (a login form that trades the admin key for a session cookie,
// then a page that polls /dashboard/api/stats), and the gauges of setup
// sessions and auth configs by status, refreshed from the store in the background.
#include <memory>
#include <mutex>
#include <optional>

#include <boost/asio/awaitable.hpp>

#include "tollgate/auth/principal.hpp"
#include "tollgate/crypto/secret.hpp"
#include "tollgate/http/router.hpp"
#include "tollgate/ops/metrics.hpp"
#include "tollgate/store/store.hpp"

namespace tollgate::admin {

// GET /metrics: open to whoever reaches the listener (it holds no secret: ids,
// counts and durations only); see the README's "Metrics" for why and how to
// keep it off a public ingress.
void add_metrics_route(http::Router& router);

struct DashboardOptions {
  auth::Authenticator& auth;  // checks the admin key posted to the login form
  crypto::Secret admin_key;   // the session cookie's MAC key is derived from it
};

// GET /dashboard, POST /dashboard/login, POST /dashboard/logout,
// GET /dashboard/api/stats, GET /dashboard/assets/{name}.
void add_dashboard_routes(http::Router& router, DashboardOptions options);

// tollgate_setup_sessions{status} and tollgate_auth_configs{status}: counts
// kept here and shown at each scrape; refresh() reads them from the store
// (call it every few seconds, off the workers). Until the first refresh the
// families have no samples; after a failed one the last counts stay.
class StoreStatusGauges {
 public:
  explicit StoreStatusGauges(ops::Registry& registry);
  boost::asio::awaitable<void> refresh(store::Store& store);

 private:
  struct Counts;
  std::shared_ptr<Counts> counts_;
  ops::GaugeRegistration sessions_, auth_configs_;
};

}  // namespace tollgate::admin
