#include "identity.hpp"

#include <chrono>

#include "tollgate/admin/rest.hpp"
#include "tollgate/crypto/keyring.hpp"
#include "tollgate/ops/log.hpp"

namespace tollgate::relay {
namespace {

using boost::asio::awaitable;
using errors::Code;
using Connection = std::shared_ptr<const oauth::CachedConnection>;
using Found = std::variant<Connection, errors::Error>;

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

store::Millis now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

errors::Error store_failure(const store::Error& e) {
  return errors::Error{e.code == store::Errc::unavailable ? Code::store_unavailable : Code::internal,
                       "cannot read the auth config: " + e.message};
}

const config::Provider& provider_of(const config::Config& cfg, const config::Provider& fallback,
                                    const store::AuthConfig& ac) {
  auto* own = admin::find_provider(cfg, ac.provider);
  return own ? *own : fallback;
}

// Auth config `id`: the cached one while it is fresh, else the store's (then
// cached); a cached one of any age when the store cannot answer.
awaitable<Found> connection_by_id(RelayServices& s, const config::Config& cfg, const config::Provider& p,
                                  const std::string& id) {
  if (auto cached = s.connections.get(id)) co_return cached;
  auto read = co_await s.base.store.get_auth_config(id);
  if (!read) {
    if (read.is(store::Errc::not_found)) co_return errors::Error{Code::auth_config_not_found, "no such auth config"};
    if (auto stale = s.connections.get(id, true)) co_return stale;
    co_return store_failure(read.error());
  }
  auto entry = unsealed(s.base.keyring, provider_of(cfg, p, read.value()), std::move(read).value());
  if (!entry) co_return errors::Error{Code::internal, "the stored credential cannot be decrypted; the log has details"};
  s.connections.put(entry);
  co_return entry;
}

// The tenant's single active auth config of `external_user` for the provider (or
// its alias target). Several active → conflict; none active but one needing
// re-auth or revoked → that one (the caller answers 424); none → not found.
awaitable<std::variant<std::string, errors::Error>> find_by_external_user(store::Store& store, const config::Provider& p,
                                                                         const std::string& tenant_id,
                                                                         std::string_view external_user) {
  std::vector<std::string> keys{p.key};
  if (!p.alias.empty()) keys.push_back(p.alias);
  std::optional<std::string> active, inactive;
  for (const auto& key : keys) {
    store::AuthConfigFilter filter;
    filter.provider = key;
    filter.external_user_id = std::string(external_user);
    std::string cursor;
    do {
      auto page = co_await store.list_auth_configs(tenant_id, filter, cursor, 100);
      if (!page) co_return store_failure(page.error());
      for (auto& ac : page->items) {
        if (ac.status == "active") {
          if (active)
            co_return errors::Error{Code::conflict, "external user has several active auth configs for provider " +
                                                        p.key + "; name one with Tollgate-Auth-Config"};
          active = ac.id;
        } else if (!inactive) {
          inactive = ac.id;
        }
      }
      cursor = page->next_cursor;
    } while (!cursor.empty());
    if (active) co_return *active;
  }
  if (inactive) co_return *inactive;
  co_return errors::Error{Code::auth_config_not_found, "no auth config of this external user for provider " + p.key};
}

awaitable<Found> connection_by_user(RelayServices& s, const config::Config& cfg, const config::Provider& p,
                                    const std::string& tenant_id, std::string_view user) {
  auto id = s.connections.find_user(tenant_id, p.key, user);
  if (!id) {
    auto found = co_await find_by_external_user(s.base.store, p, tenant_id, user);
    if (auto* e = std::get_if<errors::Error>(&found)) {
      if (e->code != Code::store_unavailable) co_return std::move(*e);
      id = s.connections.find_user(tenant_id, p.key, user, true);
      if (!id) co_return std::move(*e);
    } else {
      id = std::get<std::string>(found);
      s.connections.put_user(tenant_id, p.key, user, *id);
    }
  }
  co_return co_await connection_by_id(s, cfg, p, *id);
}

}  // namespace

bool is_oauth(const config::Provider& p) {
  return p.auth_mode == config::AuthMode::oauth2 || p.auth_mode == config::AuthMode::oauth2_client_credentials;
}

std::shared_ptr<const oauth::CachedConnection> unsealed(const crypto::Keyring& keyring, const config::Provider& p,
                                                        store::AuthConfig record) {
  auto entry = std::make_shared<oauth::CachedConnection>();
  const std::string_view field = is_oauth(p) ? "access_token" : "api_key";
  const std::string& sealed = is_oauth(p) ? record.access_token_sealed : record.api_key_sealed;
  if (!sealed.empty()) {
    auto opened = keyring.unseal(sealed, {record.tenant_id, record.id, field});
    if (!opened) {
      ops::log_error("cannot unseal a stored credential", {{"auth_config", record.id},
                                                           {"field", field},
                                                           {"reason", crypto::to_string(opened.error)}});
      return nullptr;
    }
    entry->credential = std::move(*opened.value);
  }
  entry->record = std::move(record);
  return entry;
}

awaitable<std::optional<CallIdentity>> resolve_identity(http::Exchange& ex, RelayServices& s,
                                                        std::string_view provider_key) {
  auto scope = admin::known_tenant_scope(ex, s.base);
  if (!scope) scope = co_await admin::tenant_scope(ex, s.base, true);
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
    id.mode = "managed";
    co_return id;
  }

  Found found;  // (no co_await inside ?: — g++ 12 miscompiles it)
  if (!named.empty()) {
    if (auto cached = s.connections.get(named)) found = std::move(cached);  // without a coroutine
    else found = co_await connection_by_id(s, *cfg, p, std::string(named));
  } else {
    found = co_await connection_by_user(s, *cfg, p, id.tenant_id, external_user);
  }
  std::optional<errors::Error> failure;
  if (auto* e = std::get_if<errors::Error>(&found)) failure = std::move(*e);
  else id.connection = std::move(std::get<Connection>(found));
  // Another tenant's id answers exactly like an unknown one.
  if (!failure && id.connection->record.tenant_id != id.tenant_id)
    failure = errors::Error{Code::auth_config_not_found, "no such auth config"};
  if (!failure && !usable_with(id.connection->record, *cfg, p))
    failure = errors::Error{Code::bad_request, "auth config " + id.connection->record.id +
                                                   " is a connection to provider " + id.connection->record.provider +
                                                   ", not " + p.key};
  if (!failure && id.connection->record.status != "active")
    failure = errors::Error{Code::reauth_required, "auth config " + id.connection->record.id + " is " +
                                                       id.connection->record.status +
                                                       "; reconnect it with a setup session"};
  if (failure) {
    co_await ex.respond_error(failure->code, failure->message);
    co_return std::nullopt;
  }

  const auto& ac = id.connection->record;
  id.mode = ac.mode.empty() ? "managed" : ac.mode;
  if (is_oauth(p)) {
    const auto margin = std::chrono::duration_cast<std::chrono::milliseconds>(cfg->relay.refresh_margin).count();
    const bool due = id.connection->credential.empty() || (ac.expires_at && *ac.expires_at - margin <= now_ms());
    if (due) {
      auto refreshed = co_await s.refresh.refresh(id.tenant_id, ac.id, false, cfg);
      if (refreshed.error) {
        co_await ex.respond_error(refreshed.error->code, refreshed.error->message);
        co_return std::nullopt;
      }
      auto entry = unsealed(s.base.keyring, p, std::move(*refreshed.config));
      if (!entry) {
        co_await ex.respond_error(Code::internal, "the stored credential cannot be decrypted; the log has details");
        co_return std::nullopt;
      }
      s.connections.put(entry);
      id.connection = std::move(entry);
      id.refreshed = refreshed.token_request_made;
    }
  }
  if (id.connection->credential.empty()) {
    co_await ex.respond_error(Code::reauth_required,
                              "auth config " + id.connection->record.id + " holds no credential; reconnect it");
    co_return std::nullopt;
  }
  co_return id;
}

}  // namespace tollgate::relay
