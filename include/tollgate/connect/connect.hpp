#pragma once
// How an end user's account gets connected (SPEC §4 "Setup session",
// "Connect-link safety"): the setup-session REST routes, the connect page, the
// API-key form and the OAuth callback.
#include <memory>

#include "tollgate/admin/api.hpp"
#include "tollgate/http/router.hpp"
#include "tollgate/oauth/refresh.hpp"
#include "tollgate/upstream/clients.hpp"

namespace tollgate::connect {


struct ConnectServices {
  admin::Services& base;
  upstream::UpstreamClients& upstream;
  oauth::RefreshCoordinator& refresh;
  oauth::ConnectionCache& connections;  // told of every auth config written here
};

// POST /v1/auth-configs (import), GET …/{id}/token, POST …/{id}/refresh,
// DELETE …/{id}; and POST/GET /v1/setup-sessions, GET/DELETE /v1/setup-sessions/{id},
// GET/POST /connect/{id}, GET /oauth/callback.
void add_connect_routes(http::Router& router, ConnectServices& services);

// Marks pending sessions past their TTL `expired` (a sweep run periodically by
// serve; reads also expire a session they find overdue). Returns how many changed.
boost::asio::awaitable<std::size_t> sweep_expired_sessions(store::Store& store);

}  // namespace tollgate::connect
