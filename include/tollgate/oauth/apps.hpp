#pragma once
// Which OAuth app runs a flow or a refresh: the operator's managed app, or
// the tenant's own (its secret unsealed from the provider setting).
#include <string>
#include <variant>

#include <boost/asio/awaitable.hpp>

#include "tollgate/config/config.hpp"
#include "tollgate/crypto/keyring.hpp"
#include "tollgate/errors/error.hpp"
#include "tollgate/oauth/app_credentials.hpp"
#include "tollgate/store/store.hpp"
#include "tollgate/upstream/client.hpp"

namespace tollgate::oauth {

using AppResult = std::variant<AppCredentials, errors::Error>;

// The operator's app for `p` (conflict when managed mode is unavailable).
AppResult managed_app(const config::Provider& p);

// The app for a new flow of this tenant in `mode` ("managed" | "your-own").
// Your-own without an app is conflict (app_not_configured).
boost::asio::awaitable<AppResult> resolve_app(store::Store& store, const crypto::Keyring& keyring,
                                              const config::Provider& p, const std::string& tenant_id,
                                              const std::string& mode);

// The app that issued an auth config's tokens, from its `app` label
// ("managed:<service_config_key>" or "your-own"): refreshes use the same app.
boost::asio::awaitable<AppResult> issuing_app(store::Store& store, const crypto::Keyring& keyring,
                                              const config::Config& cfg, const config::Provider& p,
                                              const store::AuthConfig& ac);

// The mode a new session of this tenant gets for this provider.
boost::asio::awaitable<store::Result<std::string>> tenant_mode(store::Store& store, const config::Provider& p,
                                                               const std::string& tenant_id);
bool managed_available(const config::Provider& p);

// relay.ca_file and relay.upstream_timeouts as upstream::Options.
upstream::Options upstream_options(const config::Config& cfg);

}  // namespace tollgate::oauth
