// The end user's side (SPEC §4 "Connect-link safety"): GET /connect/{id}
// (the one-time link), POST /connect/{id} (the form for an API key or missing
// connection parameters), GET /oauth/callback.
#include <boost/beast/http/field.hpp>

#include "flow.hpp"
#include "tollgate/upstream/clients.hpp"
#include "tollgate/crypto/encoding.hpp"
#include "tollgate/crypto/hash.hpp"
#include "tollgate/crypto/keyring.hpp"
#include "tollgate/crypto/random.hpp"
#include "tollgate/http/query.hpp"
#include "tollgate/oauth/authorize.hpp"
#include "tollgate/oauth/pkce.hpp"
#include "tollgate/oauth/templates.hpp"
#include "tollgate/ops/log.hpp"

namespace tollgate::connect {
namespace {

using errors::Code;
namespace bhttp = boost::beast::http;

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}


std::string page(std::string_view title, std::string_view body_html) {
  return "<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
         "content=\"width=device-width\"><title>" +
         html_escape(title) +
         "</title><style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}"
         "label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.4rem}button{margin-top:1rem;"
         "padding:.5rem 1rem}.error{color:#a00}</style></head><body><h1>" +
         html_escape(title) + "</h1>" + std::string(body_html) + "</body></html>";
}

// Every page of the flow: never cached, never leaks its URL (which may carry
// a code or a connect token) to another site, never framed.
void harden(http::Response& res) {
  res.set(bhttp::field::cache_control, "no-store");
  res.set("Referrer-Policy", "no-referrer");
  res.set("X-Frame-Options", "DENY");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'");
}

bool wants_json(http::Exchange& ex) {
  auto accept = ex.request()["Accept"];
  std::string_view a(accept.data(), accept.size());
  return a.find("application/json") != std::string_view::npos && a.find("text/html") == std::string_view::npos;
}

// A refused browser request: an HTML page (or SPEC's JSON error for a client
// that asks for JSON), with Tollgate-Error either way.
awaitable<void> error_page(http::Exchange& ex, Code code, std::string_view message) {
  if (wants_json(ex)) co_return co_await ex.respond_error(code, message);
  http::Response res{static_cast<bhttp::status>(errors::status(code)), 11};
  res.set(bhttp::field::content_type, "text/html; charset=utf-8");
  res.set("Tollgate-Error", errors::name(code));
  harden(res);
  res.body() = page("This connection could not be made", "<p class=\"error\">" + html_escape(message) + "</p>");
  res.prepare_payload();
  co_await ex.respond(std::move(res));
}

std::string cookie_name(const store::SetupSession& s) { return "tollgate_connect_" + s.id.substr(4); }

bool browser_matches(http::Exchange& ex, const store::SetupSession& s) {
  auto cookie = ex.cookie(cookie_name(s));
  return cookie && !s.browser_hash.empty() && crypto::key_matches(*cookie, s.browser_hash);
}

std::map<std::string, std::string> parse_form(std::string_view body) {
  std::map<std::string, std::string> out;
  while (!body.empty()) {
    auto amp = body.find('&');
    auto pair = body.substr(0, amp);
    auto eq = pair.find('=');
    if (eq != std::string_view::npos) {
      std::string key(pair.substr(0, eq));
      if (auto v = http::query_param(pair, key)) out.emplace(key, *v);
    }
    if (amp == std::string_view::npos) break;
    body.remove_prefix(amp + 1);
  }
  return out;
}

// A read-modify-write of the session with compare-and-set; `change` returns
// false to give up (the session is no longer what the caller expects).
template <typename Change>
awaitable<std::optional<store::SetupSession>> update_session(store::Store& store, store::SetupSession s,
                                                             Change change) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    store::SetupSession next = s;
    if (!change(next)) co_return std::nullopt;
    next.updated_at = now_ms();
    auto written = co_await store.update_setup_session(next);
    if (written) co_return std::move(written).value();
    if (!written.is(store::Errc::conflict)) co_return std::nullopt;
    auto again = co_await store.get_setup_session(s.id);
    if (!again) co_return std::nullopt;
    s = std::move(again).value();
  }
  co_return std::nullopt;
}

awaitable<store::SetupSession> fail_session(store::Store& store, store::SetupSession s, std::string code,
                                            std::string message) {
  auto done = co_await update_session(store, s, [&](store::SetupSession& n) {
    if (n.status != kPending) return false;
    n.status = "failed";
    n.error_code = code;
    n.error_message = message;
    n.connect_token_hash.clear();
    n.connect_token_sealed.clear();
    n.state_hash.clear();
    n.pkce_verifier_sealed.clear();
    return true;
  });
  if (done) co_return *done;
  s.status = "failed";
  s.error_code = code;
  s.error_message = message;
  co_return s;
}

// Where the session ends in the browser: 303 to redirect_url with the outcome
// in the query, or a page saying it.
awaitable<void> finish(http::Exchange& ex, const store::SetupSession& s) {
  ops::log_info("setup session ended", {{"setup_session", s.id},
                                         {"tenant", s.tenant_id},
                                         {"provider", s.provider},
                                         {"status", s.status},
                                         {"error", s.error_code}});
  if (!s.redirect_url.empty()) {
    std::string url = s.redirect_url;
    url += url.find('?') == std::string::npos ? '?' : '&';
    url += "setup_session=" + crypto::percent_encode(s.id) + "&status=" + crypto::percent_encode(s.status);
    if (s.status == "completed") url += "&auth_config=" + crypto::percent_encode(s.auth_config_id);
    else if (!s.error_code.empty()) url += "&error=" + crypto::percent_encode(s.error_code);
    http::Response res{bhttp::status::see_other, 11};
    res.set(bhttp::field::location, url);
    harden(res);
    res.prepare_payload();
    co_return co_await ex.respond(std::move(res));
  }
  if (s.status == "completed") {
    http::Response res{bhttp::status::ok, 11};
    res.set(bhttp::field::content_type, "text/html; charset=utf-8");
    harden(res);
    res.body() = page("Connected", "<p>Your account is connected. You can close this window.</p>");
    res.prepare_payload();
    co_return co_await ex.respond(std::move(res));
  }
  co_await error_page(ex, Code::bad_request, "The connection failed (" + s.error_code + "): " + s.error_message);
}

// Creates the auth config, or replaces the one a reconnect names in place
// (same id), with the new credentials sealed; completes the session.
struct NewCredentials {
  std::optional<oauth::TokenSet> tokens;
  std::optional<crypto::Secret> api_key;
  std::string app;
};

awaitable<store::Result<store::SetupSession>> complete(ConnectServices& cs, store::SetupSession s,
                                                       NewCredentials creds, oauth::ParamValues params) {
  auto& store = cs.base.store;
  auto& keyring = cs.base.keyring;
  const bool reconnect = !s.auth_config_id.empty();
  const std::string id = reconnect ? s.auth_config_id : crypto::random_id("pac");
  const auto now = now_ms();
  auto fill = [&](store::AuthConfig& ac) {
    ac.id = id;
    ac.tenant_id = s.tenant_id;
    ac.provider = s.provider;
    if (!s.external_user_id.empty() || !reconnect) ac.external_user_id = s.external_user_id;
    if (!s.metadata_json.empty() || !reconnect) ac.metadata_json = s.metadata_json;
    ac.status = "active";
    ac.mode = s.mode;
    ac.app = creds.app;
    ac.connection_params = params;
    ac.access_token_sealed.clear();
    ac.refresh_token_sealed.clear();
    ac.api_key_sealed.clear();
    ac.expires_at.reset();
    // New tokens: no refresh of the old ones is in flight or failing any more.
    ac.refresh_owner.clear();
    ac.refresh_started_at.reset();
    ac.last_refresh_error.clear();
    ac.last_refresh_failed_at.reset();
    if (creds.tokens) {
      const auto& t = *creds.tokens;
      ac.scopes_granted = t.scopes.empty() ? s.scopes : t.scopes;
      ac.access_token_sealed = seal(keyring, s.tenant_id, id, "access_token", t.access_token.reveal());
      if (!t.refresh_token.empty())
        ac.refresh_token_sealed = seal(keyring, s.tenant_id, id, "refresh_token", t.refresh_token.reveal());
      if (t.expires_in) ac.expires_at = now + std::chrono::duration_cast<std::chrono::milliseconds>(*t.expires_in).count();
    } else if (creds.api_key) {
      ac.scopes_granted.clear();
      ac.api_key_sealed = seal(keyring, s.tenant_id, id, "api_key", creds.api_key->reveal());
    }
    ac.updated_at = now;
  };
  std::optional<store::AuthConfig> stored;
  for (int attempt = 0; attempt < 5 && !stored; ++attempt) {
    if (reconnect) {
      auto current = co_await store.get_auth_config(id);
      if (!current) co_return current.error();
      store::AuthConfig ac = current.value();
      fill(ac);
      auto written = co_await store.update_auth_config(ac);
      if (written) stored = std::move(written).value();
      else if (!written.is(store::Errc::conflict)) co_return written.error();
    } else {
      store::AuthConfig ac;
      fill(ac);
      ac.created_at = now;
      auto written = co_await store.create_auth_config(ac);
      if (!written) co_return written.error();
      stored = std::move(written).value();
    }
  }
  if (!stored) co_return store::Error{store::Errc::conflict, "the auth config kept changing"};
  cs.connections.invalidate(stored->id, stored->version);
  cs.connections.forget_users();
  auto done = co_await update_session(store, s, [&](store::SetupSession& n) {
    if (n.status != kPending) return false;
    n.status = "completed";
    n.auth_config_id = id;
    n.connection_params = params;
    n.error_code.clear();
    n.error_message.clear();
    n.state_hash.clear();
    n.pkce_verifier_sealed.clear();
    n.connect_token_hash.clear();
    n.connect_token_sealed.clear();
    return true;
  });
  if (!done) co_return store::Error{store::Errc::conflict, "the setup session is no longer pending"};
  co_return std::move(*done);
}

// Sends the browser to the provider's authorize URL with a fresh state and
// PKCE verifier bound to this session.
awaitable<void> start_oauth(http::Exchange& ex, ConnectServices& cs, store::SetupSession s,
                            const config::Provider& p, std::optional<std::string> set_cookie) {
  auto app = co_await oauth::resolve_app(cs.base.store, cs.base.keyring, p, s.tenant_id, s.mode);
  if (auto* e = std::get_if<errors::Error>(&app)) co_return co_await error_page(ex, e->code, e->message);
  crypto::Secret state(crypto::random_token("", 32));
  std::optional<oauth::Pkce> pkce;
  if (p.pkce) pkce = oauth::make_pkce();
  auto url = oauth::authorization_url(p, s.connection_params, std::get<oauth::AppCredentials>(app), s.scopes,
                                      state.reveal(), pkce ? pkce->challenge : std::string(),
                                      redirect_uri(ex.config()));
  if (auto* e = std::get_if<errors::Error>(&url)) co_return co_await error_page(ex, e->code, e->message);
  auto updated = co_await update_session(cs.base.store, s, [&](store::SetupSession& n) {
    if (n.status != kPending) return false;
    n.state_hash = crypto::hash_key(state.reveal());
    n.pkce_verifier_sealed =
        pkce ? seal(cs.base.keyring, n.tenant_id, n.id, "pkce_verifier", pkce->verifier.reveal()) : std::string();
    return true;
  });
  if (!updated) co_return co_await error_page(ex, Code::bad_request, "this connection is no longer pending");
  http::Response res{ex.method() == "POST" ? bhttp::status::see_other : bhttp::status::found, 11};
  res.set(bhttp::field::location, std::get<std::string>(url));
  if (set_cookie) res.set(bhttp::field::set_cookie, *set_cookie);
  harden(res);
  res.prepare_payload();
  co_await ex.respond(std::move(res));
}

// The form for what the session still needs: missing connection parameters,
// and the API key for api_key sessions.
awaitable<void> form_page(http::Exchange& ex, const store::SetupSession& s, const config::Provider& p,
                          std::optional<std::string> set_cookie, std::string_view problem) {
  std::string fields;
  for (const auto& name : oauth::missing_connection_params(p, s.connection_params)) {
    const auto& decl = p.connection_params.at(name);
    fields += "<label for=\"" + html_escape(name) + "\">" +
              html_escape(decl.description.empty() ? name : decl.description) + "</label><input id=\"" +
              html_escape(name) + "\" name=\"" + html_escape(name) + "\" required pattern=\"" +
              html_escape(decl.pattern.size() > 2 ? decl.pattern.substr(1, decl.pattern.size() - 2) : decl.pattern) +
              "\">";
  }
  if (s.auth_method == "api_key")
    fields += "<label for=\"api_key\">API key</label><input id=\"api_key\" name=\"api_key\" type=\"password\" "
              "autocomplete=\"off\" required>";
  std::string body = "<p>Connect your " + html_escape(p.display_name) + " account.</p>";
  if (!problem.empty()) body += "<p class=\"error\">" + html_escape(problem) + "</p>";
  body += "<form method=\"post\" action=\"/connect/" + html_escape(s.id) + "\">" + fields +
          "<button type=\"submit\">Connect</button></form>";
  http::Response res{problem.empty() ? bhttp::status::ok : bhttp::status::bad_request, 11};
  res.set(bhttp::field::content_type, "text/html; charset=utf-8");
  if (set_cookie) res.set(bhttp::field::set_cookie, *set_cookie);
  harden(res);
  res.body() = page("Connect " + p.display_name, body);
  res.prepare_payload();
  co_await ex.respond(std::move(res));
}

awaitable<std::optional<store::SetupSession>> pending_session(http::Exchange& ex, ConnectServices& cs) {
  auto got = co_await cs.base.store.get_setup_session(std::string(ex.param("id")));
  if (!got) {
    if (got.is(store::Errc::not_found)) co_await error_page(ex, Code::setup_session_not_found, "This connect link is not valid.");
    else co_await error_page(ex, Code::store_unavailable, "tollgate cannot reach its store; try again shortly.");
    co_return std::nullopt;
  }
  auto current = co_await expire_if_due(cs.base.store, std::move(got).value());
  if (!current || current->status != kPending) {
    co_await error_page(ex, Code::bad_request,
                        current && current->status == "expired" ? "This connect link has expired."
                                                                : "This connect link was already used.");
    co_return std::nullopt;
  }
  co_return std::move(current).value();
}

awaitable<void> connect_get(http::Exchange& ex, ConnectServices& cs) {
  auto session = co_await pending_session(ex, cs);
  if (!session) co_return;
  const auto* p = admin::find_provider(ex.config(), session->provider);
  if (!p) co_return co_await error_page(ex, Code::provider_not_found, "The provider is no longer in the catalog.");
  auto token = http::query_param(ex.query(), "t");
  if (!token || session->connect_token_hash.empty() || !crypto::key_matches(*token, session->connect_token_hash))
    co_return co_await error_page(ex, Code::bad_request, "This connect link is not valid or was already used.");
  // One-time: the token is spent, and the session is bound to this browser.
  crypto::Secret cookie(crypto::random_token("", 32));
  auto claimed = co_await update_session(cs.base.store, *session, [&](store::SetupSession& n) {
    if (n.status != kPending || n.connect_token_hash != session->connect_token_hash) return false;
    n.connect_token_hash.clear();
    n.connect_token_sealed.clear();
    n.browser_hash = crypto::hash_key(cookie.reveal());
    return true;
  });
  if (!claimed) co_return co_await error_page(ex, Code::bad_request, "This connect link was already used.");
  const auto& cfg = ex.config();
  auto max_age = std::max<store::Millis>(1, (claimed->expires_at - now_ms()) / 1000);
  std::string set_cookie = cookie_name(*claimed) + "=" + cookie.reveal() + "; Path=/; Max-Age=" +
                           std::to_string(max_age) + "; HttpOnly; SameSite=Lax";
  if (cfg.server.public_url.rfind("https://", 0) == 0) set_cookie += "; Secure";
  if (claimed->auth_method == "oauth" && oauth::missing_connection_params(*p, claimed->connection_params).empty())
    co_return co_await start_oauth(ex, cs, std::move(*claimed), *p, set_cookie);
  co_await form_page(ex, *claimed, *p, set_cookie, "");
}

awaitable<void> connect_post(http::Exchange& ex, ConnectServices& cs) {
  auto session = co_await pending_session(ex, cs);
  if (!session) co_return;
  if (!browser_matches(ex, *session))
    co_return co_await error_page(ex, Code::bad_request, "Open the connect link in this browser first.");
  const auto* p = admin::find_provider(ex.config(), session->provider);
  if (!p) co_return co_await error_page(ex, Code::provider_not_found, "The provider is no longer in the catalog.");
  auto body = co_await ex.read_body();
  if (!body) co_return;
  auto form = parse_form(*body);
  oauth::ParamValues params = session->connection_params;
  for (const auto& name : oauth::missing_connection_params(*p, session->connection_params)) {
    auto it = form.find(name);
    if (it == form.end() || it->second.empty())
      co_return co_await form_page(ex, *session, *p, std::nullopt, "Please fill in every field.");
    params[name] = it->second;
  }
  if (auto problem = oauth::validate_connection_params(*p, params))
    co_return co_await form_page(ex, *session, *p, std::nullopt, problem->message);
  if (session->auth_method == "oauth") {
    auto updated = co_await update_session(cs.base.store, *session, [&](store::SetupSession& n) {
      if (n.status != kPending) return false;
      n.connection_params = params;
      return true;
    });
    if (!updated) co_return co_await error_page(ex, Code::bad_request, "This connection is no longer pending.");
    co_return co_await start_oauth(ex, cs, std::move(*updated), *p, std::nullopt);
  }
  auto key_field = form.find("api_key");
  if (key_field == form.end() || key_field->second.empty())
    co_return co_await form_page(ex, *session, *p, std::nullopt, "Please paste your API key.");
  crypto::Secret key(std::move(key_field->second));
  if (!co_await verify_credential(cs, ex.config(), *p, params, key)) {
    auto failed = co_await fail_session(cs.base.store, *session, "verification_failed",
                                        p->display_name + " did not accept the API key");
    co_return co_await finish(ex, failed);
  }
  NewCredentials creds;
  creds.api_key = std::move(key);
  auto done = co_await complete(cs, *session, std::move(creds), params);
  if (!done) co_return co_await error_page(ex, Code::store_unavailable, "tollgate could not store the connection; try again.");
  co_await finish(ex, done.value());
}

// The OAuth redirect URI.
awaitable<void> callback(http::Exchange& ex, ConnectServices& cs) {
  auto q = ex.query();
  auto state = http::query_param(q, "state");
  if (!state || state->empty()) co_return co_await error_page(ex, Code::bad_request, "The callback has no state.");
  auto found = co_await cs.base.store.find_setup_session_by_state(crypto::hash_key(*state));
  if (!found) {
    if (found.is(store::Errc::not_found))
      co_return co_await error_page(ex, Code::bad_request, "Unknown or already used state.");
    co_return co_await error_page(ex, Code::store_unavailable, "tollgate cannot reach its store; try again shortly.");
  }
  ex.set_tenant(found->tenant_id);
  ex.set_provider(found->provider);
  auto current = co_await expire_if_due(cs.base.store, std::move(found).value());
  if (!current || current->status != kPending)
    co_return co_await error_page(ex, Code::bad_request, "This connection is no longer pending.");
  store::SetupSession s = std::move(current).value();
  if (!browser_matches(ex, s)) {
    // The state names a live session, but this is not the browser that started it.
    co_await fail_session(cs.base.store, s, "invalid_state", "the callback came without the browser's cookie");
    co_return co_await error_page(ex, Code::bad_request, "This callback did not come from the browser that started the connection.");
  }
  // Single use: claim the state before anything is exchanged.
  const std::string expected_state = s.state_hash;
  auto claimed = co_await update_session(cs.base.store, s, [&](store::SetupSession& n) {
    if (n.status != kPending || n.state_hash != expected_state) return false;
    n.state_hash.clear();
    return true;
  });
  if (!claimed) co_return co_await error_page(ex, Code::bad_request, "Unknown or already used state.");
  s = std::move(*claimed);
  const auto* p = admin::find_provider(ex.config(), s.provider);
  if (!p) co_return co_await finish(ex, co_await fail_session(cs.base.store, s, "token_exchange_failed", "the provider is no longer in the catalog"));
  auto iss = http::query_param(q, "iss");
  if (!oauth::issuer_matches(*p, s.connection_params,
                             iss ? std::optional<std::string_view>(*iss) : std::optional<std::string_view>()))
    co_return co_await finish(ex, co_await fail_session(cs.base.store, s, "invalid_issuer",
                                                        "the authorization response did not come from " + p->issuer));
  if (auto error = http::query_param(q, "error")) {
    std::string code;
    for (char c : error->substr(0, 64))
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') code.push_back(c);
    if (code.empty()) code = "access_denied";
    std::string description = http::query_param(q, "error_description").value_or("the provider refused the request");
    for (auto& c : description)
      if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    co_return co_await finish(ex, co_await fail_session(cs.base.store, s, code, description.substr(0, 200)));
  }
  auto code = http::query_param(q, "code");
  if (!code || code->empty())
    co_return co_await finish(ex, co_await fail_session(cs.base.store, s, "token_exchange_failed", "the callback carried no code"));
  auto app = co_await oauth::resolve_app(cs.base.store, cs.base.keyring, *p, s.tenant_id, s.mode);
  if (auto* e = std::get_if<errors::Error>(&app))
    co_return co_await finish(ex, co_await fail_session(cs.base.store, s, "token_exchange_failed", e->message));
  std::string verifier;
  if (!s.pkce_verifier_sealed.empty()) {
    auto v = cs.base.keyring.unseal(s.pkce_verifier_sealed, {s.tenant_id, s.id, "pkce_verifier"});
    if (!v) co_return co_await finish(ex, co_await fail_session(cs.base.store, s, "token_exchange_failed", "the PKCE verifier does not decrypt"));
    verifier = v.value->reveal();
  }
  auto executor = co_await boost::asio::this_coro::executor;
  auto& client = cs.upstream.get(executor, oauth::upstream_options(ex.config()));
  auto tokens = co_await oauth::exchange_code(client, *p, s.connection_params, std::get<oauth::AppCredentials>(app),
                                              *code, redirect_uri(ex.config()), verifier);
  if (auto* e = std::get_if<oauth::GrantError>(&tokens)) {
    std::string failure = e->code == "invalid_token_response" ? "invalid_token_response" : "token_exchange_failed";
    std::string message = e->code == failure ? e->message : e->code + ": " + e->message;
    co_return co_await finish(ex, co_await fail_session(cs.base.store, s, failure, message));
  }
  auto& set = std::get<oauth::TokenSet>(tokens);
  oauth::ParamValues params = s.connection_params;
  for (const auto& [k, v] : set.connection_params) params[k] = v;
  NewCredentials creds;
  creds.app = std::get<oauth::AppCredentials>(app).label;
  creds.tokens = std::move(set);
  auto done = co_await complete(cs, s, std::move(creds), params);
  if (!done) co_return co_await error_page(ex, Code::store_unavailable, "tollgate could not store the connection; try again.");
  co_await finish(ex, done.value());
}

}  // namespace

void add_session_routes(http::Router& router, ConnectServices& cs);

void add_auth_config_action_routes(http::Router& router, ConnectServices& cs);

void add_connect_routes(http::Router& router, ConnectServices& cs) {
  add_session_routes(router, cs);
  add_auth_config_action_routes(router, cs);
  router.add("GET", "/connect/{id}", admin::handler(cs, connect_get));
  router.add("POST", "/connect/{id}", admin::handler(cs, connect_post));
  router.add("GET", "/oauth/callback", admin::handler(cs, callback));
}

}  // namespace tollgate::connect
