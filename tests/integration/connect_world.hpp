#pragma once
// A tollgate wired to a real authorization server (oidc-provider) for the
// connect-flow and auth-config tests.
#include <doctest/doctest.h>

#include <functional>
#include <memory>
#include <regex>

#include "browser.hpp"
#include "oidc_peer.hpp"
#include "raw_http.hpp"
#include "tollgate_process.hpp"

namespace tollgate::test::connect_world {

inline const std::string kAdmin = "tg_admin_connect_test_0123456789";

inline std::string field(const std::string& json, const std::string& name) {
  std::smatch m;
  return std::regex_search(json, m, std::regex("\"" + name + "\":\"([^\"]*)\"")) ? m[1].str() : "";
}

// A tollgate on a port chosen before it starts (the authorization server must
// know the redirect URI), with providers pointing at `peer`:
//   acme      managed mode, the peer's client_secret_post app
//   acme-own  your-own mode (alias), the peer's client_secret_basic app
struct World {
  std::uint16_t port = free_port();
  std::string public_url = "http://127.0.0.1:" + std::to_string(port);
  std::string callback = public_url + "/oauth/callback";
  std::string done = "http://127.0.0.1:9/done";  // the tenant's redirect_url; nothing is fetched there
  OidcPeer peer;
  std::unique_ptr<TollgateProcess> tg;
  std::string tenant, key;

  using Extra = std::function<std::string(World&)>;
  explicit World(const std::string& extra_provider_yaml = "", const std::string& extra_config = "",
                 const std::string& issuer = "")
      : World(Extra([extra_provider_yaml](World&) { return extra_provider_yaml; }), extra_config, issuer) {}

  // `extra` adds provider entries once the peer runs (so they can name its endpoints);
  // the peer's access tokens live `access_ttl`.
  explicit World(const Extra& extra, const std::string& extra_config = "", const std::string& issuer = "",
                 std::chrono::seconds access_ttl = std::chrono::seconds(60))
      : peer(OidcPeer::Options{{callback}, access_ttl}) {
    std::string yaml = "server:\n  listen: 127.0.0.1:" + std::to_string(port) + "\n  public_url: " + public_url +
                       "\n  workers: 2\n" + extra_config + "providers:\n" + provider("acme", issuer) +
                       "    managed: {service_config_key: acme, client_id: " + OidcPeer::managed_client().id +
                       ", client_secret: " + OidcPeer::managed_client().secret + "}\n" +
                       "  acme-own:\n    alias: acme\n    token_endpoint_auth: client_secret_basic\n"
                       "    managed: {service_config_key: acme-own, client_id: \"\", client_secret: \"\"}\n" +
                       extra(*this);
    tg = std::make_unique<TollgateProcess>(yaml, std::map<std::string, std::optional<std::string>>{
                                                     {"TOLLGATE_ADMIN_KEY", kAdmin}});
    tenant = field(call("POST", "/v1/tenants", R"({"name":"Acme","allowed_redirect_origins":["http://127.0.0.1:9"]})", kAdmin).body, "id");
    key = field(call("POST", "/v1/tenants/" + tenant + "/api-keys", "{}", kAdmin).body, "key");
  }

  std::string provider(const std::string& name, const std::string& issuer) const {
    return "  " + name + ":\n    authorization_url: " + peer.authorization_endpoint() + "\n    token_url: " +
           peer.token_endpoint() + "\n    revocation_url: " + peer.revocation_endpoint() + "\n    issuer: " +
           (issuer.empty() ? peer.issuer() : issuer) +
           "\n    default_scopes: [openid, offline_access, \"api:read\"]\n"
           "    authorization_params: {prompt: consent}\n    api: {base_url: \"" + peer.issuer() + "\"}\n";
  }

  HttpResponse call(std::string_view method, const std::string& target, std::string_view body = {},
                    const std::string& auth = "") {
    return http_request(tg->port(), method, target, {{"Authorization", "Bearer " + (auth.empty() ? key : auth)}}, body);
  }

  // Creates a session and returns its JSON.
  std::string session(const std::string& body) {
    auto r = call("POST", "/v1/setup-sessions", body);
    REQUIRE_MESSAGE(r.status == 201, r.body);
    return r.body;
  }

  // Opens the connect link in `browser`, logs in and consents (or denies) at
  // the peer, and follows tollgate's callback to the tenant's redirect_url;
  // returns where the browser ended.
  Browser::Landing run_oauth(Browser& browser, const std::string& connect_url, bool consent = true) {
    auto at_peer = browser.follow(connect_url, {peer.authorization_endpoint(), false, 20});
    REQUIRE_MESSAGE(at_peer.at_stop, at_peer.url);
    auto callback_url = browser.authorize_through_oidc(at_peer.url, "alice", consent, callback);
    return browser.follow(callback_url, {done, false, 20});
  }
};

// Whether the authorization server still takes `token` (RFC 7662 introspection
// at `target` on `port`, as the managed client): how a test API checks tokens.
inline bool token_active(std::uint16_t port, const std::string& target, const std::string& token) {
  const auto& c = OidcPeer::managed_client();
  auto answer = http_request(port, "POST", target, {{"Content-Type", "application/x-www-form-urlencoded"}},
                             "token=" + form_encode(token) + "&client_id=" + form_encode(c.id) +
                                 "&client_secret=" + form_encode(c.secret));
  return answer.status == 200 && answer.body.find("\"active\":true") != std::string::npos;
}

// Connects `provider` through the whole browser flow; the auth config id.
inline std::string connect_account(World& w, const std::string& provider) {
  auto created = w.session("{\"provider\":\"" + provider + "\",\"redirect_url\":\"http://127.0.0.1:9/done\"}");
  Browser browser;
  auto end = w.run_oauth(browser, field(created, "url"));
  REQUIRE(query_param(end.url, "status") == "completed");
  return query_param(end.url, "auth_config").value_or("");
}

}  // namespace tollgate::test::connect_world
