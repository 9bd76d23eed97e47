#include "tollgate/oauth/apps.hpp"

namespace tollgate::oauth {

using errors::Code;

bool managed_available(const config::Provider& p) {
  return p.managed_service_config_key() != nullptr || p.has_deployment_credentials();
}

upstream::Options upstream_options(const config::Config& cfg) {
  upstream::Options o;
  o.ca_file = cfg.relay.ca_file;
  o.connect = cfg.relay.upstream_timeouts.connect;
  o.first_byte = cfg.relay.upstream_timeouts.first_byte;
  o.idle = cfg.relay.upstream_timeouts.idle;
  return o;
}

AppResult managed_app(const config::Provider& p) {
  if (!p.managed || !p.managed->enabled)
    return errors::Error{Code::conflict, "managed mode is not available for " + p.key};
  AppCredentials app;
  app.client_id = p.managed->client_id;
  app.client_secret = p.managed->client_secret;
  app.label = "managed:" + p.managed->service_config_key;
  return app;
}

namespace {

errors::Error no_app(const config::Provider& p) {
  return errors::Error{Code::conflict, "app_not_configured: set your own app for " + p.key + " with PUT /v1/providers/" +
                                           p.key + "/app first"};
}

}  // namespace

boost::asio::awaitable<AppResult> resolve_app(store::Store& store, const crypto::Keyring& keyring,
                                              const config::Provider& p, const std::string& tenant_id,
                                              const std::string& mode) {
  if (mode == "managed") co_return managed_app(p);
  auto setting = co_await store.get_provider_setting(tenant_id, p.key);
  if (!setting) {
    if (setting.is(store::Errc::not_found)) co_return no_app(p);
    co_return errors::Error{Code::store_unavailable, "the store is unavailable; retry shortly"};
  }
  if (setting->client_id.empty() || setting->client_secret_sealed.empty()) co_return no_app(p);
  auto secret = keyring.unseal(setting->client_secret_sealed, {tenant_id, "app:" + p.key, "client_secret"});
  if (!secret) co_return errors::Error{Code::internal, "the stored app secret does not decrypt"};
  AppCredentials app;
  app.client_id = crypto::Secret(setting->client_id);
  app.client_secret = std::move(*secret.value);
  app.label = "your-own";
  co_return app;
}

boost::asio::awaitable<AppResult> issuing_app(store::Store& store, const crypto::Keyring& keyring,
                                              const config::Config& cfg, const config::Provider& p,
                                              const store::AuthConfig& ac) {
  if (ac.app.rfind("managed:", 0) == 0) {
    const std::string key = ac.app.substr(8);
    if (p.managed && p.managed->service_config_key == key) co_return managed_app(p);
    for (const auto& [name, other] : cfg.providers)
      if (other.managed && other.managed->service_config_key == key) co_return managed_app(other);
    co_return errors::Error{Code::conflict, "the managed app that issued this connection's tokens is gone"};
  }
  co_return co_await resolve_app(store, keyring, p, ac.tenant_id, "your-own");
}

boost::asio::awaitable<store::Result<std::string>> tenant_mode(store::Store& store, const config::Provider& p,
                                                               const std::string& tenant_id) {
  auto setting = co_await store.get_provider_setting(tenant_id, p.key);
  if (setting && setting->mode) co_return *setting->mode;
  if (setting || setting.is(store::Errc::not_found))
    co_return std::string(managed_available(p) ? "managed" : "your-own");
  co_return setting.error();
}

}  // namespace tollgate::oauth
