#include "identity.hpp"

#include <chrono>

#include "tollgate/admin/rest.hpp"
#include "tollgate/crypto/keyring.hpp"
#include "tollgate/ops/log.hpp"

namespace tollgate::relay {
namespace {

using boost::asio::awaitable;
using errors::Code;

constexpr std::string_view kAuthConfigHeader = "Tollgate-Auth-Config";
constexpr std::string_view kExternalUserHeader = "Tollgate-External-User";

std::string_view header(http::Exchange& ex, std::string_view name) {
  auto value = ex.request()[name];
  return {value.data(), value.size()};
}

// The provider whose OAuth app and tokens an entry uses: an alias shares its target's.
std::string_view token_family(const config::Provider& p) { return p.alias.empty() ? p.key : p.alias; }

bool usable_with(const store::AuthConfig& ac, const config::Config& cfg, const config::Provider& p) {
  if (ac.provider == p.key) return true;
  auto* own = admin::find_provider(cfg, ac.provider);
  return own && token_family(*own) == token_family(p);
}

bool is_oauth(const config::Provider& p) {
  return p.auth_mode == config::AuthMode::oauth2 || p.auth_mode == config::AuthMode::oauth2_client_credentials;
}

store::Millis now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The tenant's single active auth config of `external_user` for the provider (or
// its alias target). Several active → conflict; none active but one needing
// re-auth or revoked → that one (the caller answers 424); none → not found.
awaitable<std::variant<store::AuthConfig, errors::Error>> find_by_external_user(store::Store& store,
                                                                             const config::Provider& p,
                                                                             const std::string& tenant_id,
                                                                             std::string_view external_user) {
  std::vector<std::string> keys{p.key};
  if (!p.alias.empty()) keys.push_back(p.alias);
  std::optional<store::AuthConfig> active, inactive;
  for (const auto& key : keys) {
    store::AuthConfigFilter filter;
    filter.provider = key;
    filter.external_user_id = std::string(external_user);
    std::string cursor;
    do {
      auto page = co_await store.list_auth_configs(tenant_id, filter, cursor, 100);
      if (!page) {
        co_return errors::Error{page.is(store::Errc::unavailable) ? Code::store_unavailable : Code::internal,
                                "cannot read the auth configs: " + page.error().message};
      }
      for (auto& ac : page->items) {
        if (ac.status == "active") {
          if (active)
            co_return errors::Error{Code::conflict, "external user has several active auth configs for provider " +
                                                        p.key + "; name one with Tollgate-Auth-Config"};
          active = std::move(ac);
        } else if (!inactive) {
          inactive = std::move(ac);
        }
      }
      cursor = page->next_cursor;
    } while (!cursor.empty());
    if (active) co_return std::move(*active);
  }
  if (inactive) co_return std::move(*inactive);
  co_return errors::Error{Code::auth_config_not_found,
                          "no auth config of this external user for provider " + p.key};
}

}  // namespace

awaitable<std::optional<CallIdentity>> resolve_identity(http::Exchange& ex, RelayServices& s,
                                                        std::string_view provider_key) {
  auto scope = co_await admin::tenant_scope(ex, s.base, true);
  if (!scope) co_return std::nullopt;
  ex.set_tenant(scope->tenant_id);
  const auto cfg = ex.config_snapshot();

  CallIdentity id;
  id.tenant_id = scope->tenant_id;
  id.provider = admin::find_provider(*cfg, provider_key);
  if (!id.provider) {
    co_await ex.respond_error(Code::provider_not_found, "no provider with this key in the catalog");
    co_return std::nullopt;
  }
  const auto& p = *id.provider;
  ex.set_provider(p.key);

  const auto named = header(ex, kAuthConfigHeader);
  const auto external_user = header(ex, kExternalUserHeader);
  if (!named.empty() && !external_user.empty()) {
    co_await ex.respond_error(Code::bad_request, "send Tollgate-Auth-Config or Tollgate-External-User, not both");
    co_return std::nullopt;
  }
  if (named.empty() && external_user.empty()) {
    if (!p.has_deployment_credentials()) {
      co_await ex.respond_error(Code::bad_request, "provider " + p.key +
                                                       " needs a connection: send Tollgate-Auth-Config or "
                                                       "Tollgate-External-User");
      co_return std::nullopt;
    }
    id.credential = p.deployment_credentials->api_key;
    id.mode = "managed";
    co_return id;
  }

  std::optional<errors::Error> failure;
  if (!named.empty()) {
    auto found = co_await s.base.store.get_auth_config(std::string(named));
    if (found && found->tenant_id == id.tenant_id) {
      id.auth_config = std::move(found).value();
    } else if (found || found.is(store::Errc::not_found)) {
      failure = errors::Error{Code::auth_config_not_found, "no such auth config"};
    } else {
      failure = errors::Error{found.is(store::Errc::unavailable) ? Code::store_unavailable : Code::internal,
                              "cannot read the auth config: " + found.error().message};
    }
  } else {
    auto found = co_await find_by_external_user(s.base.store, p, id.tenant_id, external_user);
    if (auto* e = std::get_if<errors::Error>(&found)) failure = std::move(*e);
    else id.auth_config = std::move(std::get<store::AuthConfig>(found));
  }
  if (!failure && !usable_with(*id.auth_config, *cfg, p))
    failure = errors::Error{Code::bad_request, "auth config " + id.auth_config->id + " is a connection to provider " +
                                                   id.auth_config->provider + ", not " + p.key};
  if (!failure && id.auth_config->status != "active")
    failure = errors::Error{Code::reauth_required, "auth config " + id.auth_config->id + " is " +
                                                       id.auth_config->status + "; reconnect it with a setup session"};
  if (failure) {
    co_await ex.respond_error(failure->code, failure->message);
    co_return std::nullopt;
  }

  auto* ac = &*id.auth_config;
  id.mode = ac->mode.empty() ? "managed" : ac->mode;
  if (is_oauth(p)) {
    const auto margin = std::chrono::duration_cast<std::chrono::milliseconds>(cfg->relay.refresh_margin).count();
    const bool due = ac->access_token_sealed.empty() || (ac->expires_at && *ac->expires_at - margin <= now_ms());
    if (due) {
      auto refreshed = co_await s.refresh.refresh(id.tenant_id, ac->id, false, cfg);
      if (refreshed.error) {
        co_await ex.respond_error(refreshed.error->code, refreshed.error->message);
        co_return std::nullopt;
      }
      id.refreshed = refreshed.token_request_made;
      id.auth_config = std::move(*refreshed.config);
      ac = &*id.auth_config;
    }
  }
  const std::string_view field = is_oauth(p) ? "access_token" : "api_key";
  const std::string& sealed = is_oauth(p) ? ac->access_token_sealed : ac->api_key_sealed;
  if (sealed.empty()) {
    co_await ex.respond_error(Code::reauth_required, "auth config " + ac->id + " holds no credential; reconnect it");
    co_return std::nullopt;
  }
  auto opened = s.base.keyring.unseal(sealed, {ac->tenant_id, ac->id, field});
  if (!opened) {
    ops::log_error("cannot unseal a stored credential", {{"auth_config", ac->id},
                                                         {"field", field},
                                                         {"reason", crypto::to_string(opened.error)}});
    co_await ex.respond_error(Code::internal, "the stored credential cannot be decrypted; the log has details");
    co_return std::nullopt;
  }
  id.credential = std::move(*opened.value);
  co_return id;
}

}  // namespace tollgate::relay
