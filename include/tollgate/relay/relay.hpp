#pragma once
// The relay (SPEC §5): `{ANY} /v1/proxy/{provider}/{path…}` — who is calling,
// which connection, the credential put in, and the exchange streamed both ways
// through the worker's keep-alive pool.
#include "tollgate/admin/api.hpp"
#include "tollgate/http/router.hpp"
#include "tollgate/metering/meter.hpp"
#include "tollgate/metering/quota.hpp"
#include "tollgate/oauth/refresh.hpp"
#include "tollgate/upstream/clients.hpp"

namespace tollgate::relay {

struct RelayServices {
  admin::Services& base;
  upstream::UpstreamClients& upstream;
  oauth::RefreshCoordinator& refresh;
  oauth::ConnectionCache& connections;  // auth configs with their credential, for the hot path
  metering::Meter& meter;      // one usage event per forwarded call
  metering::QuotaGate& quota;  // monthly quota and rate limit, asked before forwarding
};

// `*` /v1/proxy/{provider}/{path*}
void add_relay_routes(http::Router& router, RelayServices& services);

}  // namespace tollgate::relay
