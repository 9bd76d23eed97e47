#pragma once
// Who a relay call is for and what it goes out with (SPEC §5): the tenant from
// its key, the provider from the catalog, the auth config named by
// Tollgate-Auth-Config or found by Tollgate-External-User (or the operator's
// deployment credentials), and the credential unsealed — refreshed first when
// the access token is missing or inside relay.refresh_margin.
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "tollgate/config/config.hpp"
#include "tollgate/crypto/secret.hpp"
#include "tollgate/http/exchange.hpp"
#include "tollgate/relay/relay.hpp"
#include "tollgate/store/records.hpp"

namespace tollgate::relay {

struct CallIdentity {
  const config::Provider* provider = nullptr;
  std::string tenant_id;
  std::optional<store::AuthConfig> auth_config;  // none with deployment credentials
  crypto::Secret credential;                     // access token, API key or deployment key
  std::string mode;                              // managed | your-own (deployment credentials: managed)
  bool refreshed = false;                        // a token request was made for this call
};

// Answers the error itself and returns nullopt when the call cannot go out.
boost::asio::awaitable<std::optional<CallIdentity>> resolve_identity(http::Exchange& ex, RelayServices& s,
                                                                     std::string_view provider_key);

}  // namespace tollgate::relay
