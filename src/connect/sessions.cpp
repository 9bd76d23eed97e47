// POST/GET /v1/setup-sessions, GET/DELETE /v1/setup-sessions/{id} (SPEC §4).
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/url/parse.hpp>

#include "flow.hpp"
#include "tollgate/crypto/hash.hpp"
#include "tollgate/crypto/keyring.hpp"
#include "tollgate/crypto/random.hpp"
#include "tollgate/http/query.hpp"
#include "tollgate/oauth/templates.hpp"

namespace tollgate::connect {
namespace {

using errors::Code;
using admin::FieldReader;

// The origin of an absolute http(s) URL ("https://app.example.com[:port]"), or nullopt.
std::optional<std::string> origin_of(const std::string& url) {
  auto u = boost::urls::parse_absolute_uri(url);
  if (!u) return std::nullopt;
  auto scheme = u->scheme();
  if ((scheme != "http" && scheme != "https") || !u->has_authority() || u->host().empty() || u->has_userinfo())
    return std::nullopt;
  std::string origin = std::string(scheme) + "://" + std::string(u->encoded_host());
  if (u->has_port()) origin += ":" + std::string(u->port());
  return origin;
}

awaitable<void> create_session(http::Exchange& ex, ConnectServices& cs) {
  auto& s = cs.base;
  auto sc = co_await admin::tenant_scope(ex, s, true);
  if (!sc) co_return;
  auto body = co_await admin::read_json_object(ex);
  if (!body) co_return;
  FieldReader in(*body, {"provider", "auth_method", "scopes", "redirect_url", "external_user_id", "connection_params",
                         "auth_config", "metadata"});
  auto provider_key = in.string("provider", true, 100);
  auto auth_method = in.string("auth_method", false, 20);
  auto scopes = in.strings("scopes", 100);
  auto redirect_url = in.string("redirect_url", false, 2000);
  auto external_user_id = in.string("external_user_id", false, 255);
  auto reconnect = in.string("auth_config", false, 100);
  oauth::ParamValues params;
  std::string metadata_json;
  read_params_and_metadata(in, *body, params, metadata_json);
  if (in.problem()) co_return co_await ex.respond_error(Code::bad_request, *in.problem());

  const auto& cfg = ex.config();
  const auto* p = admin::find_provider(cfg, *provider_key);
  if (!p) co_return co_await ex.respond_error(Code::provider_not_found, "no provider with that key in the catalog");
  ex.set_provider(p->key);
  const bool oauth_provider = p->auth_mode == config::AuthMode::oauth2;
  const bool key_provider = p->auth_mode == config::AuthMode::api_key || p->auth_mode == config::AuthMode::basic;
  std::string method = auth_method.value_or(oauth_provider ? "oauth" : "api_key");
  if (method != "oauth" && method != "api_key")
    co_return co_await ex.respond_error(Code::bad_request, "auth_method must be \"oauth\" or \"api_key\"");
  if ((method == "oauth" && !oauth_provider) || (method == "api_key" && !key_provider))
    co_return co_await ex.respond_error(
        Code::bad_request, p->key + " does not connect with auth_method " + method +
                               (p->auth_mode == config::AuthMode::oauth2_client_credentials
                                    ? "; import its client credentials with POST /v1/auth-configs"
                                    : ""));
  if (auto problem = oauth::validate_connection_params(*p, params))
    co_return co_await ex.respond_error(problem->code, problem->message);
  for (const auto& [name, value] : params)
    if (!p->connection_params.count(name))
      co_return co_await ex.respond_error(Code::bad_request, "connection parameter " + name +
                                                                 " comes from the token response, not the session");
  if (redirect_url) {
    auto origin = origin_of(*redirect_url);
    if (!origin) co_return co_await ex.respond_error(Code::bad_request, "redirect_url must be an absolute http(s) URL");
    auto tenant = co_await s.store.get_tenant(sc->tenant_id);
    if (!tenant) co_return co_await admin::respond_store_error(ex, tenant.error());
    const auto& allowed = tenant->allowed_redirect_origins;
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), *origin) == allowed.end())
      co_return co_await ex.respond_error(Code::bad_request,
                                          "redirect_url's origin is not one of the tenant's allowed_redirect_origins");
  }
  if (reconnect) {
    auto existing = co_await s.store.get_auth_config(*reconnect);
    if (!existing && !existing.is(store::Errc::not_found))
      co_return co_await admin::respond_store_error(ex, existing.error());
    if (!existing || existing->tenant_id != sc->tenant_id)
      co_return co_await ex.respond_error(Code::auth_config_not_found, "no such auth config");
    if (existing->provider != p->key)
      co_return co_await ex.respond_error(Code::bad_request, "auth_config belongs to another provider");
  }
  auto mode = co_await oauth::tenant_mode(s.store, *p, sc->tenant_id);
  if (!mode) co_return co_await admin::respond_store_error(ex, mode.error());
  if (method == "oauth") {
    auto app = co_await oauth::resolve_app(s.store, s.keyring, *p, sc->tenant_id, mode.value());
    if (auto* e = std::get_if<errors::Error>(&app)) co_return co_await ex.respond_error(e->code, e->message);
  }

  store::SetupSession session;
  session.id = crypto::random_id("pss");
  session.tenant_id = sc->tenant_id;
  session.provider = p->key;
  session.auth_method = method;
  session.status = std::string(kPending);
  session.mode = mode.value();
  session.external_user_id = external_user_id.value_or("");
  session.scopes = scopes.value_or(p->default_scopes);
  session.redirect_url = redirect_url.value_or("");
  session.connection_params = params;
  session.metadata_json = metadata_json;
  session.auth_config_id = reconnect.value_or("");
  crypto::Secret token(crypto::random_token("", 32));
  session.connect_token_hash = crypto::hash_key(token.reveal());
  session.connect_token_sealed = seal(s.keyring, session.tenant_id, session.id, "connect_token", token.reveal());
  session.created_at = session.updated_at = now_ms();
  session.expires_at = session.created_at + cfg.setup_sessions.ttl.count();
  auto created = co_await s.store.create_setup_session(std::move(session));
  if (!created) co_return co_await admin::respond_store_error(ex, created.error());
  auto out = session_json(created.value(), cfg, s.keyring);
  co_await admin::respond_json(ex, 201, out);
}

// The session as this caller may see it (another tenant's id is 404).
awaitable<std::optional<store::SetupSession>> load_session(http::Exchange& ex, ConnectServices& cs,
                                                           const admin::Scope& sc) {
  auto got = co_await cs.base.store.get_setup_session(std::string(ex.param("id")));
  if (!got && !got.is(store::Errc::not_found)) {
    co_await admin::respond_store_error(ex, got.error());
    co_return std::nullopt;
  }
  if (!got || got->tenant_id != sc.tenant_id) {
    co_await ex.respond_error(Code::setup_session_not_found, "no such setup session");
    co_return std::nullopt;
  }
  auto current = co_await expire_if_due(cs.base.store, std::move(got).value());
  if (!current) {
    co_await admin::respond_store_error(ex, current.error());
    co_return std::nullopt;
  }
  co_return std::move(current).value();
}

awaitable<void> get_session(http::Exchange& ex, ConnectServices& cs) {
  auto sc = co_await admin::tenant_scope(ex, cs.base, true);
  if (!sc) co_return;
  int wait_seconds = 0;
  if (auto w = http::query_param(ex.query(), "wait")) {
    char* end = nullptr;
    long v = std::strtol(w->c_str(), &end, 10);
    if (w->empty() || *end != '\0' || v < 0 || v > 60)
      co_return co_await ex.respond_error(Code::bad_request, "wait must be a whole number of seconds from 0 to 60");
    wait_seconds = static_cast<int>(v);
  }
  auto session = co_await load_session(ex, cs, *sc);
  if (!session) co_return;
  if (wait_seconds > 0 && session->status == kPending) {
    // A long poll: exempt from server.timeouts.request (SPEC §4). Polls the
    // store, so a callback handled by another instance is seen too.
    ex.extend_deadline(std::chrono::seconds(wait_seconds + 10));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_seconds);
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
    auto pause = std::chrono::milliseconds(50);
    while (session->status == kPending && std::chrono::steady_clock::now() < deadline) {
      timer.expires_after(std::min<std::chrono::steady_clock::duration>(pause, deadline - std::chrono::steady_clock::now()));
      co_await timer.async_wait(boost::asio::use_awaitable);
      pause = std::min(pause * 2, std::chrono::milliseconds(500));
      auto again = co_await load_session(ex, cs, *sc);
      if (!again) co_return;
      session = std::move(again);
    }
  }
  auto out = session_json(*session, ex.config(), cs.base.keyring);
  co_await admin::respond_json(ex, 200, out);
}

awaitable<void> list_sessions(http::Exchange& ex, ConnectServices& cs) {
  auto sc = co_await admin::tenant_scope(ex, cs.base, true);
  if (!sc) co_return;
  auto page = co_await admin::page_request(ex);
  if (!page) co_return;
  store::SetupSessionFilter filter;
  filter.status = http::query_param(ex.query(), "status").value_or("");
  filter.provider = http::query_param(ex.query(), "provider").value_or("");
  filter.external_user_id = http::query_param(ex.query(), "external_user_id").value_or("");
  auto result = co_await cs.base.store.list_setup_sessions(sc->tenant_id, filter, page->cursor, page->limit);
  if (!result) co_return co_await admin::respond_store_error(ex, result.error());
  json::array data;
  for (const auto& s : result->items) data.push_back(session_json(s, ex.config(), cs.base.keyring));
  auto out = admin::page_json(std::move(data), result->next_cursor);
  co_await admin::respond_json(ex, 200, out);
}

awaitable<void> archive_session(http::Exchange& ex, ConnectServices& cs) {
  auto sc = co_await admin::tenant_scope(ex, cs.base, true);
  if (!sc) co_return;
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto session = co_await load_session(ex, cs, *sc);
    if (!session) co_return;
    if (session->status != kPending)
      co_return co_await ex.respond_error(Code::conflict, "only a pending setup session can be archived; this one is " +
                                                              session->status);
    store::SetupSession next = *session;
    next.status = "archived";
    next.connect_token_hash.clear();
    next.connect_token_sealed.clear();
    next.state_hash.clear();
    next.pkce_verifier_sealed.clear();
    next.updated_at = now_ms();
    auto written = co_await cs.base.store.update_setup_session(next);
    if (written) {
      auto out = session_json(written.value(), ex.config(), cs.base.keyring);
      co_return co_await admin::respond_json(ex, 200, out);
    }
    if (!written.is(store::Errc::conflict)) co_return co_await admin::respond_store_error(ex, written.error());
  }
  co_await ex.respond_error(Code::conflict, "the setup session kept changing; retry");
}

}  // namespace

void add_session_routes(http::Router& router, ConnectServices& cs) {
  router.add("POST", "/v1/setup-sessions", admin::handler(cs, create_session));
  router.add("GET", "/v1/setup-sessions", admin::handler(cs, list_sessions));
  router.add("GET", "/v1/setup-sessions/{id}", admin::handler(cs, get_session));
  router.add("DELETE", "/v1/setup-sessions/{id}", admin::handler(cs, archive_session));
}

awaitable<std::size_t> sweep_expired_sessions(store::Store& store) {
  auto due = co_await store.list_expired_setup_sessions(now_ms(), 500);
  if (!due) co_return 0;
  std::size_t changed = 0;
  for (auto& s : due.value()) {
    auto r = co_await expire_if_due(store, std::move(s));
    if (r && r->status == "expired") ++changed;
  }
  co_return changed;
}

}  // namespace tollgate::connect
