#pragma once
// Who a relay call is for and what it goes out with (SPEC §5): the tenant from
// its key, the provider from the catalog, the auth config named by
// Tollgate-Auth-Config or found by Tollgate-External-User (or the operator's
// deployment credentials), and the credential unsealed — refreshed first when
// the access token is missing or inside relay.refresh_margin. Connections come
// from the in-process cache when it has them, so a steady stream of calls makes
// no store round trip, and calls keep working while the store is down.
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "tollgate/config/config.hpp"
#include "tollgate/crypto/secret.hpp"
#include "tollgate/http/exchange.hpp"
#include "tollgate/oauth/connection_cache.hpp"
#include "tollgate/relay/relay.hpp"
#include "tollgate/store/records.hpp"

namespace tollgate::relay {

struct CallIdentity {
  const config::Provider* provider = nullptr;
  std::string tenant_id;
  std::shared_ptr<const oauth::CachedConnection> connection;  // null with deployment credentials
  std::string mode;        // managed | your-own (deployment credentials: managed)
  bool refreshed = false;  // a token request was made for this call

  const store::AuthConfig* auth_config() const { return connection ? &connection->record : nullptr; }
  // The access token or API key the call carries.
  const crypto::Secret& credential() const {
    return connection ? connection->credential : provider->deployment_credentials->api_key;
  }
};

// Answers the error itself and returns nullopt when the call cannot go out.
boost::asio::awaitable<std::optional<CallIdentity>> resolve_identity(http::Exchange& ex, RelayServices& s,
                                                                     std::string_view provider_key);

// An auth config as the cache keeps it: the record and its credential unsealed
// (the access token for oauth modes, the API key otherwise; empty when none).
// nullopt when the stored secret cannot be decrypted (logged).
std::shared_ptr<const oauth::CachedConnection> unsealed(const crypto::Keyring& keyring, const config::Provider& p,
                                                        store::AuthConfig record);

bool is_oauth(const config::Provider& p);

}  // namespace tollgate::relay
