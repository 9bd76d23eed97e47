// The provider catalog as tenants see it, and their choice of mode and app
// (SPEC §4: /v1/providers…).
#include "tollgate/admin/rest.hpp"
#include "tollgate/crypto/keyring.hpp"
#include "tollgate/http/query.hpp"

namespace tollgate::admin {
namespace {

using errors::Code;
using config::AuthMode;

std::string_view auth_mode_name(AuthMode m) {
  switch (m) {
    case AuthMode::oauth2: return "oauth2";
    case AuthMode::oauth2_client_credentials: return "oauth2_client_credentials";
    case AuthMode::api_key: return "api_key";
    case AuthMode::basic: return "basic";
  }
  return "oauth2";
}

json::object string_map_json(const config::StringMap& m) {
  json::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

json::array strings_json(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

// A catalog entry without any secret: managed client ids and secrets, and
// deployment API keys, are never shown; only whether they exist.
json::object provider_json(const config::Provider& p, std::string_view mode,
                           const std::optional<store::ProviderSetting>& setting) {
  json::array params;
  for (const auto& [name, cp] : p.connection_params)
    params.push_back({{"name", name}, {"pattern", cp.pattern}, {"description", cp.description}, {"source", "setup"}});
  for (const auto& [name, rp] : p.token_response.connection_params)
    params.push_back(
        {{"name", name}, {"pattern", rp.pattern}, {"description", rp.description}, {"source", "token_response"}});
  json::array refresh_on;
  for (int s : p.api.refresh_on_status) refresh_on.emplace_back(s);
  json::object credentials;
  if (!p.credentials.header.empty()) credentials["header"] = p.credentials.header;
  if (!p.credentials.query.empty()) credentials["query"] = p.credentials.query;
  if (p.auth_mode == AuthMode::basic) credentials["scheme"] = "basic";
  const std::string* managed_key = p.managed_service_config_key();
  json::object out{
      {"key", p.key},
      {"display_name", p.display_name},
      {"auth_mode", auth_mode_name(p.auth_mode)},
      {"alias", p.alias.empty() ? json::value(nullptr) : json::value(p.alias)},
      {"docs_url", p.docs_url.empty() ? json::value(nullptr) : json::value(p.docs_url)},
      {"authorization_url", p.authorization_url.empty() ? json::value(nullptr) : json::value(p.authorization_url)},
      {"token_url", p.token_url.empty() ? json::value(nullptr) : json::value(p.token_url)},
      {"revocation_url", p.revocation_url.empty() ? json::value(nullptr) : json::value(p.revocation_url)},
      {"issuer", p.issuer.empty() ? json::value(nullptr) : json::value(p.issuer)},
      {"pkce", p.pkce},
      {"scope_separator", p.scope_separator},
      {"default_scopes", strings_json(p.default_scopes)},
      {"connection_params", std::move(params)},
      {"api",
       {{"base_url", p.api.base_url}, {"headers", string_map_json(p.api.headers)}, {"refresh_on_status", refresh_on}}},
      {"credentials", std::move(credentials)},
      {"verification", p.verification ? json::value({{"method", p.verification->method}, {"path", p.verification->path}})
                                      : json::value(nullptr)},
      {"managed_service_config_key", managed_key ? json::value(*managed_key) : json::value(nullptr)},
      {"deployment_credentials", p.has_deployment_credentials()},
      {"mode", mode},
  };
  json::object app{{"configured", false}, {"client_id", nullptr}};
  if (setting && !setting->client_id.empty()) {
    app["configured"] = true;
    app["client_id"] = setting->client_id;
  }
  out["your_own_app"] = std::move(app);
  return out;
}

awaitable<std::optional<store::ProviderSetting>> load_setting(http::Exchange& ex, Services& s, const Scope& sc,
                                                              std::string_view provider, bool& failed) {
  failed = false;
  if (sc.tenant_id.empty()) co_return std::nullopt;
  auto r = co_await s.store.get_provider_setting(sc.tenant_id, std::string(provider));
  if (r) co_return r.value();
  if (r.is(store::Errc::not_found)) co_return std::nullopt;
  failed = true;
  co_await respond_store_error(ex, r.error());
  co_return std::nullopt;
}

std::string_view mode_of(const config::Provider& p, const std::optional<store::ProviderSetting>& setting) {
  if (setting && setting->mode) return *setting->mode;
  return default_mode(p);
}

awaitable<void> list_providers(http::Exchange& ex, Services& s) {
  auto sc = co_await tenant_scope(ex, s, false);
  if (!sc) co_return;
  std::map<std::string, store::ProviderSetting> settings;
  if (!sc->tenant_id.empty()) {
    auto r = co_await s.store.list_provider_settings(sc->tenant_id);
    if (!r) co_return co_await respond_store_error(ex, r.error());
    for (auto& st : r.value()) settings.emplace(st.provider, std::move(st));
  }
  const auto& cfg = ex.config();
  auto only_key = http::query_param(ex.query(), "provider_key");
  auto managed_filter = http::query_param(ex.query(), "supports_managed");
  if (managed_filter && *managed_filter != "true" && *managed_filter != "false")
    co_return co_await ex.respond_error(Code::bad_request, "supports_managed must be true or false");
  json::array data;
  for (const auto& [key, p] : cfg.providers) {
    if (only_key && key != *only_key) continue;
    if (managed_filter && managed_available(p) != (*managed_filter == "true")) continue;
    std::optional<store::ProviderSetting> setting;
    if (auto it = settings.find(key); it != settings.end()) setting = it->second;
    data.push_back(provider_json(p, mode_of(p, setting), setting));
  }
  co_await respond_json(ex, 200, page_json(std::move(data), ""));
}

awaitable<void> get_provider(http::Exchange& ex, Services& s) {
  auto sc = co_await tenant_scope(ex, s, false);
  if (!sc) co_return;
  const auto* p = find_provider(ex.config(), ex.param("key"));
  if (!p) co_return co_await ex.respond_error(Code::provider_not_found, "no provider with that key in the catalog");
  bool failed = false;
  auto setting = co_await load_setting(ex, s, *sc, p->key, failed);
  if (failed) co_return;
  co_await respond_json(ex, 200, provider_json(*p, mode_of(*p, setting), setting));
}

awaitable<void> get_mode(http::Exchange& ex, Services& s) {
  auto sc = co_await tenant_scope(ex, s, true);
  if (!sc) co_return;
  const auto* p = find_provider(ex.config(), ex.param("key"));
  if (!p) co_return co_await ex.respond_error(Code::provider_not_found, "no provider with that key in the catalog");
  bool failed = false;
  auto setting = co_await load_setting(ex, s, *sc, p->key, failed);
  if (failed) co_return;
  json::object out{{"provider", p->key}, {"mode", mode_of(*p, setting)}};
  co_await respond_json(ex, 200, out);
}

// Read-modify-write of a tenant's setting for one provider, with compare-and-set.
template <typename Change>
awaitable<std::optional<store::ProviderSetting>> update_setting(http::Exchange& ex, Services& s, const Scope& sc,
                                                                const std::string& provider, Change change) {
  for (int attempt = 0; attempt < 8; ++attempt) {
    auto current = co_await s.store.get_provider_setting(sc.tenant_id, provider);
    store::ProviderSetting next;
    if (current) next = current.value();
    else if (current.is(store::Errc::not_found)) {
      next.tenant_id = sc.tenant_id;
      next.provider = provider;
    }
    else {
      co_await respond_store_error(ex, current.error());
      co_return std::nullopt;
    }
    change(next);
    next.updated_at = now_millis();
    auto written = co_await s.store.put_provider_setting(next);
    if (written) co_return written.value();
    if (!written.is(store::Errc::conflict)) {
      co_await respond_store_error(ex, written.error());
      co_return std::nullopt;
    }
  }
  co_await ex.respond_error(Code::conflict, "the setting kept changing while being updated; retry");
  co_return std::nullopt;
}

awaitable<void> put_mode(http::Exchange& ex, Services& s) {
  auto sc = co_await tenant_scope(ex, s, true);
  if (!sc) co_return;
  auto body = co_await read_json_object(ex);
  if (!body) co_return;
  const auto* p = find_provider(ex.config(), ex.param("key"));
  if (!p) co_return co_await ex.respond_error(Code::provider_not_found, "no provider with that key in the catalog");
  FieldReader in(*body, {"mode"});
  auto mode = in.string("mode", true, 20);
  if (mode && *mode != "managed" && *mode != "your-own") in.fail("field \"mode\" must be \"managed\" or \"your-own\"");
  if (in.problem()) co_return co_await ex.respond_error(Code::bad_request, *in.problem());
  if (*mode == "managed" && !managed_available(*p))
    co_return co_await ex.respond_error(
        Code::conflict, "managed mode is not available for " + p->key + ": the operator has no app for it");
  auto written = co_await update_setting(ex, s, *sc, p->key, [&](store::ProviderSetting& st) { st.mode = *mode; });
  if (!written) co_return;
  json::object out{{"provider", p->key}, {"mode", *written->mode}};
  co_await respond_json(ex, 200, out);
}

awaitable<void> put_app(http::Exchange& ex, Services& s) {
  auto sc = co_await tenant_scope(ex, s, true);
  if (!sc) co_return;
  auto body = co_await read_json_object(ex);
  if (!body) co_return;
  const auto* p = find_provider(ex.config(), ex.param("key"));
  if (!p) co_return co_await ex.respond_error(Code::provider_not_found, "no provider with that key in the catalog");
  if (p->auth_mode != AuthMode::oauth2)
    co_return co_await ex.respond_error(Code::bad_request,
                                        "only oauth2 providers take an app; " + p->key + " is " +
                                            std::string(auth_mode_name(p->auth_mode)));
  FieldReader in(*body, {"client_id", "client_secret"});
  auto client_id = in.string("client_id", true, 500);
  auto secret_text = in.string("client_secret", true, 2000);
  if (client_id && client_id->empty()) in.fail("field \"client_id\" must not be empty");
  if (secret_text && secret_text->empty()) in.fail("field \"client_secret\" must not be empty");
  if (in.problem()) co_return co_await ex.respond_error(Code::bad_request, *in.problem());
  crypto::Secret secret(std::move(*secret_text));
  // Bound to this tenant, this record and this field (SPEC §7).
  std::string record = "app:" + p->key;
  auto sealed = s.keyring.seal(secret.reveal(), {sc->tenant_id, record, "client_secret"});
  auto written = co_await update_setting(ex, s, *sc, p->key, [&](store::ProviderSetting& st) {
    st.client_id = *client_id;
    st.client_secret_sealed = sealed;
  });
  if (!written) co_return;
  // (Built before the co_await: g++ 12 cannot keep an initializer_list across one.)
  json::object out{{"provider", p->key},
                   {"client_id", written->client_id},
                   {"client_secret_set", true},
                   {"updated_at", format_time(written->updated_at)}};
  co_await respond_json(ex, 200, out);
}

}  // namespace

void add_provider_routes(http::Router& router, Services& s) {
  router.add("GET", "/v1/providers", handler(s, list_providers));
  router.add("GET", "/v1/providers/{key}", handler(s, get_provider));
  router.add("GET", "/v1/providers/{key}/mode", handler(s, get_mode));
  router.add("PUT", "/v1/providers/{key}/mode", handler(s, put_mode));
  router.add("PUT", "/v1/providers/{key}/app", handler(s, put_app));
}

}  // namespace tollgate::admin
