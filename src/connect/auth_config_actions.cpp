// What a tenant does with a connection (SPEC §4 "Auth config", "Import"):
// POST /v1/auth-configs (import), GET …/{id}/token, POST …/{id}/refresh,
// DELETE …/{id} (revoke at the provider, erase the secrets).
#include <ctime>

#include "flow.hpp"
#include "tollgate/crypto/keyring.hpp"
#include "tollgate/crypto/random.hpp"
#include "tollgate/oauth/refresh.hpp"
#include "tollgate/oauth/templates.hpp"

namespace tollgate::connect {
namespace {

using errors::Code;
using admin::FieldReader;

// "2026-11-22T01:02:03Z" (or with fractional seconds) → ms since the epoch.
std::optional<store::Millis> parse_time(const std::string& text) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!end) return std::nullopt;
  if (*end == '.')
    for (++end; *end >= '0' && *end <= '9'; ++end) {
    }
  if (std::string_view(end) != "Z" && std::string_view(end) != "+00:00") return std::nullopt;
  return static_cast<store::Millis>(timegm(&tm)) * 1000;
}

awaitable<std::optional<store::AuthConfig>> own_auth_config(http::Exchange& ex, ConnectServices& cs,
                                                            const admin::Scope& sc) {
  auto a = co_await cs.base.store.get_auth_config(std::string(ex.param("id")));
  if (!a && !a.is(store::Errc::not_found)) {
    co_await admin::respond_store_error(ex, a.error());
    co_return std::nullopt;
  }
  if (!a || a->tenant_id != sc.tenant_id) {
    co_await ex.respond_error(Code::auth_config_not_found, "no such auth config");
    co_return std::nullopt;
  }
  ex.set_provider(a->provider);
  co_return std::move(a).value();
}

awaitable<void> import_auth_config(http::Exchange& ex, ConnectServices& cs) {
  auto& s = cs.base;
  auto sc = co_await admin::tenant_scope(ex, s, true);
  if (!sc) co_return;
  auto body = co_await admin::read_json_object(ex);
  if (!body) co_return;
  FieldReader in(*body, {"provider", "external_user_id", "mode", "credentials", "scopes_granted", "connection_params",
                         "metadata", "verify"});
  auto provider_key = in.string("provider", true, 100);
  auto external_user_id = in.string("external_user_id", false, 255);
  auto mode = in.string("mode", false, 20);
  auto scopes = in.strings("scopes_granted", 100);
  const auto* creds = in.object("credentials", {"access_token", "refresh_token", "expires_at", "api_key", "client_id",
                                                "client_secret"});
  bool verify = true;
  if (auto it = body->find("verify"); it != body->end()) {
    if (!it->value().is_bool()) in.fail("field \"verify\" must be true or false");
    else verify = it->value().as_bool();
  }
  oauth::ParamValues params;
  std::string metadata_json;
  read_params_and_metadata(in, *body, params, metadata_json);
  auto cred = [&](std::string_view name) -> std::optional<std::string> {
    if (!creds) return std::nullopt;
    auto it = creds->find(name);
    if (it == creds->end() || it->value().is_null()) return std::nullopt;
    if (!it->value().is_string() || it->value().as_string().empty()) {
      in.fail("credentials." + std::string(name) + " must be a non-empty string");
      return std::nullopt;
    }
    return std::string(it->value().as_string());
  };
  auto access = cred("access_token"), refresh = cred("refresh_token"), api_key = cred("api_key"),
       client_id = cred("client_id"), client_secret = cred("client_secret"), expires_text = cred("expires_at");
  std::optional<store::Millis> expires_at;
  if (expires_text && !(expires_at = parse_time(*expires_text)))
    in.fail("credentials.expires_at must be an RFC 3339 UTC time like 2026-11-22T01:02:03Z");
  if (mode && *mode != "managed" && *mode != "your-own") in.fail("field \"mode\" must be \"managed\" or \"your-own\"");
  if (in.problem()) co_return co_await ex.respond_error(Code::bad_request, *in.problem());

  const auto cfg = ex.config_snapshot();
  const auto* p = admin::find_provider(*cfg, *provider_key);
  if (!p) co_return co_await ex.respond_error(Code::provider_not_found, "no provider with that key in the catalog");
  ex.set_provider(p->key);
  if (auto problem = oauth::validate_connection_params(*p, params))
    co_return co_await ex.respond_error(problem->code, problem->message);
  if (!oauth::missing_connection_params(*p, params).empty())
    co_return co_await ex.respond_error(Code::bad_request, "connection_params lacks " +
                                                               oauth::missing_connection_params(*p, params).front());

  store::AuthConfig ac;
  ac.id = crypto::random_id("pac");
  ac.tenant_id = sc->tenant_id;
  ac.provider = p->key;
  ac.external_user_id = external_user_id.value_or("");
  ac.status = "active";
  ac.connection_params = params;
  ac.metadata_json = metadata_json;
  ac.scopes_granted = scopes.value_or(std::vector<std::string>{});
  ac.created_at = ac.updated_at = now_ms();
  std::optional<crypto::Secret> to_verify;
  switch (p->auth_mode) {
    case config::AuthMode::oauth2: {
      if (!access && !refresh)
        co_return co_await ex.respond_error(Code::bad_request, "an oauth2 connection needs credentials.access_token "
                                                               "or credentials.refresh_token");
      // (An if, not ?: — g++ 12 miscompiles co_await inside a conditional expression.)
      if (mode) {
        ac.mode = *mode;
      } else {
        auto m = co_await oauth::tenant_mode(s.store, *p, sc->tenant_id);
        if (!m) co_return co_await admin::respond_store_error(ex, m.error());
        ac.mode = m.value();
      }
      if (ac.mode == "managed") {
        if (!p->managed_service_config_key())
          co_return co_await ex.respond_error(Code::conflict, "managed mode is not available for " + p->key);
        ac.app = "managed:" + *p->managed_service_config_key();
      } else {
        ac.app = "your-own";
      }
      if (access) {
        ac.access_token_sealed = seal(s.keyring, ac.tenant_id, ac.id, "access_token", *access);
        to_verify = crypto::Secret(*access);
      }
      if (refresh) ac.refresh_token_sealed = seal(s.keyring, ac.tenant_id, ac.id, "refresh_token", *refresh);
      ac.expires_at = expires_at;
      break;
    }
    case config::AuthMode::oauth2_client_credentials:
      if (!client_id || !client_secret)
        co_return co_await ex.respond_error(Code::bad_request, "a client-credentials connection needs "
                                                               "credentials.client_id and credentials.client_secret");
      ac.mode = "your-own";
      ac.app = "connection";
      ac.client_id = *client_id;
      ac.client_secret_sealed = seal(s.keyring, ac.tenant_id, ac.id, "client_secret", *client_secret);
      break;
    case config::AuthMode::api_key:
    case config::AuthMode::basic:
      if (!api_key) co_return co_await ex.respond_error(Code::bad_request, "this provider needs credentials.api_key");
      ac.mode = mode.value_or("your-own");
      ac.api_key_sealed = seal(s.keyring, ac.tenant_id, ac.id, "api_key", *api_key);
      to_verify = crypto::Secret(*api_key);
      break;
  }
  if (verify && to_verify && !co_await verify_credential(cs, *cfg, *p, params, *to_verify))
    co_return co_await ex.respond_error(Code::bad_request,
                                        p->display_name + " did not accept the credentials (verification failed)");
  auto created = co_await s.store.create_auth_config(ac);
  if (!created) co_return co_await admin::respond_store_error(ex, created.error());
  cs.connections.forget_users();
  store::AuthConfig result = created.value();
  if (p->auth_mode == config::AuthMode::oauth2_client_credentials) {
    // The first token now, so the import proves the client id and secret work.
    auto first = co_await cs.refresh.refresh(ac.tenant_id, ac.id, true, cfg);
    if (first.error) {
      auto gone = result;
      gone.status = "revoked";
      gone.client_secret_sealed.clear();
      gone.updated_at = now_ms();
      auto written = co_await s.store.update_auth_config(gone);
      if (written) cs.connections.invalidate(written->id, written->version);
      co_return co_await ex.respond_error(first.error->code == Code::refresh_failed ? Code::bad_request
                                                                                    : first.error->code,
                                          "the client credentials did not obtain a token: " + first.error->message);
    }
    result = *first.config;
  }
  auto out = admin::auth_config_json(result);
  co_await admin::respond_json(ex, 201, out);
}

awaitable<void> refresh_auth_config(http::Exchange& ex, ConnectServices& cs) {
  auto sc = co_await admin::tenant_scope(ex, cs.base, true);
  if (!sc) co_return;
  auto body = co_await ex.read_body();  // none expected; read so keep-alive works
  if (!body) co_return;
  auto r = co_await cs.refresh.refresh(sc->tenant_id, std::string(ex.param("id")), true, ex.config_snapshot());
  if (r.error) co_return co_await ex.respond_error(r.error->code, r.error->message);
  auto out = admin::auth_config_json(*r.config);
  co_await admin::respond_json(ex, 200, out);
}

awaitable<void> token(http::Exchange& ex, ConnectServices& cs) {
  auto sc = co_await admin::tenant_scope(ex, cs.base, true);
  if (!sc) co_return;
  auto ac = co_await own_auth_config(ex, cs, *sc);
  if (!ac) co_return;
  if (ac->mode == "managed")
    co_return co_await ex.respond_error(Code::forbidden, "a managed connection's token stays inside tollgate; "
                                                         "call the API through /v1/proxy instead");
  if (ac->status != "active")
    co_return co_await ex.respond_error(Code::reauth_required, "the connection is " + ac->status + "; reconnect it");
  if (ac->access_token_sealed.empty() && ac->refresh_token_sealed.empty() && ac->client_secret_sealed.empty())
    co_return co_await ex.respond_error(Code::bad_request, "this connection holds an API key, not an access token");
  // A token about to expire is refreshed first (shared with any concurrent refresh).
  auto r = co_await cs.refresh.refresh(sc->tenant_id, ac->id, false, ex.config_snapshot());
  if (r.error) co_return co_await ex.respond_error(r.error->code, r.error->message);
  const auto& fresh = *r.config;
  auto access = cs.base.keyring.unseal(fresh.access_token_sealed, {fresh.tenant_id, fresh.id, "access_token"});
  if (!access) co_return co_await ex.respond_error(Code::internal, "the stored token does not decrypt");
  json::object out{{"access_token", access.value->reveal()},
                   {"expires_at", fresh.expires_at ? json::value(admin::format_time(*fresh.expires_at))
                                                   : json::value(nullptr)}};
  http::Response res{boost::beast::http::status::ok, 11};
  res.set(boost::beast::http::field::content_type, "application/json");
  res.set(boost::beast::http::field::cache_control, "no-store");
  res.body() = json::serialize(out);
  res.prepare_payload();
  co_await ex.respond(std::move(res));
}

awaitable<void> revoke(http::Exchange& ex, ConnectServices& cs) {
  auto& s = cs.base;
  auto sc = co_await admin::tenant_scope(ex, s, true);
  if (!sc) co_return;
  auto ac = co_await own_auth_config(ex, cs, *sc);
  if (!ac) co_return;
  const auto cfg = ex.config_snapshot();
  json::object revocation{{"attempted", false}, {"ok", false}, {"status", nullptr}, {"detail", "nothing to revoke"}};
  const auto* p = admin::find_provider(*cfg, ac->provider);
  if (ac->status != "revoked" && p && !p->revocation_url.empty()) {
    // RFC 7009: revoking the refresh token ends the grant; without one, the access token.
    const bool has_refresh = !ac->refresh_token_sealed.empty();
    const std::string field = has_refresh ? "refresh_token" : "access_token";
    const std::string& sealed = has_refresh ? ac->refresh_token_sealed : ac->access_token_sealed;
    auto app = co_await oauth::issuing_app(s.store, s.keyring, *cfg, *p, *ac);
    auto token = sealed.empty() ? std::nullopt
                                : s.keyring.unseal(sealed, {ac->tenant_id, ac->id, field}).value;
    if (token && std::holds_alternative<oauth::AppCredentials>(app)) {
      auto executor = co_await boost::asio::this_coro::executor;
      auto& client = cs.upstream.get(executor, oauth::upstream_options(*cfg));
      auto result = co_await oauth::revoke(client, *p, ac->connection_params, std::get<oauth::AppCredentials>(app),
                                           *token, field);
      revocation = {{"attempted", result.attempted},
                    {"ok", result.ok},
                    {"status", result.status ? json::value(result.status) : json::value(nullptr)},
                    {"detail", result.detail}};
    }
  }
  // Erase the secrets whatever the provider said: the record stays readable.
  std::optional<store::AuthConfig> done;
  for (int attempt = 0; attempt < 5 && !done; ++attempt) {
    store::AuthConfig next = *ac;
    next.status = "revoked";
    next.access_token_sealed.clear();
    next.refresh_token_sealed.clear();
    next.api_key_sealed.clear();
    next.client_secret_sealed.clear();
    next.expires_at.reset();
    next.updated_at = now_ms();
    auto written = co_await s.store.update_auth_config(next);
    if (written) {
      done = std::move(written).value();
      cs.connections.invalidate(done->id, done->version);
      cs.connections.forget_users();
    }
    else if (!written.is(store::Errc::conflict)) co_return co_await admin::respond_store_error(ex, written.error());
    else {
      auto again = co_await s.store.get_auth_config(ac->id);
      if (!again) co_return co_await admin::respond_store_error(ex, again.error());
      ac = std::move(again).value();
    }
  }
  if (!done) co_return co_await ex.respond_error(Code::conflict, "the auth config kept changing; retry");
  auto out = admin::auth_config_json(*done);
  out["revocation"] = std::move(revocation);
  co_await admin::respond_json(ex, 200, out);
}

}  // namespace

void add_auth_config_action_routes(http::Router& router, ConnectServices& cs) {
  router.add("POST", "/v1/auth-configs", admin::handler(cs, import_auth_config));
  router.add("POST", "/v1/auth-configs/{id}/refresh", admin::handler(cs, refresh_auth_config));
  router.add("GET", "/v1/auth-configs/{id}/token", admin::handler(cs, token));
  router.add("DELETE", "/v1/auth-configs/{id}", admin::handler(cs, revoke));
}

}  // namespace tollgate::connect
