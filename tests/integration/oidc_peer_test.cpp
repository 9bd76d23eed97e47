// The OAuth test peer (tests/peers/oidc_server.mjs) and the test browser that
// drives it, proven on their own, without tollgate: what later tests rely on
// (code + state + iss at the redirect URI, PKCE, refresh rotation and the grant
// revocation on reuse, introspection, revocation, consent denial).
#include <doctest/doctest.h>

#include "browser.hpp"
#include "oidc_peer.hpp"
#include "raw_http.hpp"

using namespace tollgate::test;

namespace {

// RFC 7636 Appendix B's verifier and its S256 challenge, BASE64URL(SHA-256(verifier)).
const std::string kVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const std::string kChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

struct Fixture {
  // Nothing listens there: the browser stops at this prefix.
  std::string redirect_uri = "http://127.0.0.1:" + std::to_string(free_port()) + "/cb";
  OidcPeer peer{{redirect_uri}};
  Browser browser;

  // `prompt` empty: no prompt parameter.
  std::string authorization_url(const OidcClient& client, const std::string& state,
                                const std::string& scope = "openid offline_access api:read",
                                const std::string& prompt = "consent") const {
    FormFields query{{"client_id", client.id},
                     {"redirect_uri", redirect_uri},
                     {"response_type", "code"},
                     {"scope", scope},
                     {"state", state},
                     {"code_challenge", kChallenge},
                     {"code_challenge_method", "S256"}};
    if (!prompt.empty()) query.emplace_back("prompt", prompt);
    return peer.authorization_endpoint() + "?" + form_encode(query);
  }

  // A client-authenticated form POST to one of the peer's endpoints, as the client's auth method says.
  HttpResponse post(const std::string& endpoint, const OidcClient& client, FormFields form) const {
    std::vector<std::pair<std::string, std::string>> headers{
        {"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "application/json"}};
    if (client.auth_method == "client_secret_post") {
      form.emplace_back("client_id", client.id);
      form.emplace_back("client_secret", client.secret);
    } else {
      headers.emplace_back("Authorization", basic_authorization(client));
    }
    return http_request(peer.port(), "POST", peer.target_of(endpoint), headers, form_encode(form));
  }

  HttpResponse exchange(const OidcClient& client, const std::string& code) const {
    return post(peer.token_endpoint(), client,
                {{"grant_type", "authorization_code"},
                 {"code", code},
                 {"redirect_uri", redirect_uri},
                 {"code_verifier", kVerifier}});
  }

  HttpResponse refresh(const OidcClient& client, const std::string& refresh_token) const {
    return post(peer.token_endpoint(), client, {{"grant_type", "refresh_token"}, {"refresh_token", refresh_token}});
  }

  bool active(const OidcClient& client, const std::string& token) const {
    auto r = post(peer.introspection_endpoint(), client, {{"token", token}});
    REQUIRE(r.status == 200);
    return json_member(r.body, "active") == "true";
  }

  // Signs alice in, consents, and exchanges the code: the token response.
  HttpResponse connect(const OidcClient& client) {
    auto callback = browser.authorize_through_oidc(authorization_url(client, "state-" + client.id), "alice", true,
                                                   redirect_uri);
    auto code = query_param(callback, "code");
    REQUIRE(code);
    auto tokens = exchange(client, *code);
    REQUIRE_MESSAGE(tokens.status == 200, (tokens.body + peer.logs()));
    return tokens;
  }

  std::string member(const HttpResponse& r, const std::string& name) const {
    auto v = json_member(r.body, name);
    REQUIRE_MESSAGE(v, (name + " missing from " + r.body));
    return *v;
  }
};

}  // namespace

TEST_CASE("oidc peer: login and consent end at the redirect URI with code, the same state and iss") {
  Fixture f;
  CHECK(f.peer.issuer() == "http://127.0.0.1:" + std::to_string(f.peer.port()));
  CHECK(f.peer.authorization_endpoint() == f.peer.issuer() + "/auth");
  CHECK(f.peer.token_endpoint() == f.peer.issuer() + "/token");
  CHECK(f.peer.introspection_endpoint() == f.peer.issuer() + "/token/introspection");
  CHECK(f.peer.revocation_endpoint() == f.peer.issuer() + "/token/revocation");

  const std::string state = "Zk9mQ2xhc3NpYy1zdGF0ZS0xMjM0NTY3ODkw";
  auto callback = f.browser.authorize_through_oidc(f.authorization_url(OidcPeer::managed_client(), state), "alice",
                                                   true, f.redirect_uri);
  CHECK(callback.rfind(f.redirect_uri + "?", 0) == 0);
  CHECK(query_param(callback, "code").value_or("").size() >= 20);
  CHECK(query_param(callback, "state") == state);
  CHECK(query_param(callback, "iss") == f.peer.issuer());
  CHECK_FALSE(query_param(callback, "error"));
  // The browser kept oidc-provider's session cookie across the chain.
  CHECK(f.browser.cookie(f.peer.issuer() + "/auth", "_session"));
}

TEST_CASE("oidc peer: the code exchange with client_secret_post answers an access token with the API scope and a "
          "refresh token") {
  Fixture f;
  auto tokens = f.connect(OidcPeer::managed_client());
  CHECK(f.member(tokens, "token_type") == "Bearer");
  CHECK(!f.member(tokens, "access_token").empty());
  CHECK(!f.member(tokens, "refresh_token").empty());
  CHECK(f.member(tokens, "expires_in") == "60");
  CHECK(f.member(tokens, "scope").find("api:read") != std::string::npos);
}

TEST_CASE("oidc peer: a refresh token comes without offline_access or prompt, and a signed-in browser skips login") {
  Fixture f;
  const auto& client = OidcPeer::managed_client();
  auto first = f.browser.authorize_through_oidc(f.authorization_url(client, "s1", "api:read api:write", ""), "bob",
                                                true, f.redirect_uri);
  auto tokens = f.exchange(client, query_param(first, "code").value_or(""));
  REQUIRE_MESSAGE(tokens.status == 200, tokens.body);
  CHECK(!f.member(tokens, "refresh_token").empty());
  CHECK(f.member(tokens, "scope") == "api:read api:write");

  // The same browser again, as for a reconnect: the session signs bob in, and
  // the grant already covers the scopes, so no form is shown at all.
  auto again = f.browser.authorize_through_oidc(f.authorization_url(client, "s2", "api:read api:write", ""), "bob",
                                                true, f.redirect_uri);
  CHECK(query_param(again, "state") == "s2");
  auto second = f.exchange(client, query_param(again, "code").value_or(""));
  REQUIRE_MESSAGE(second.status == 200, second.body);
  auto r = f.post(f.peer.introspection_endpoint(), client, {{"token", f.member(second, "access_token")}});
  CHECK(json_member(r.body, "sub") == "bob");
}

TEST_CASE("oidc peer: the code exchange needs the PKCE verifier and is single-use") {
  Fixture f;
  const auto& client = OidcPeer::managed_client();
  auto callback = f.browser.authorize_through_oidc(f.authorization_url(client, "s1"), "alice", true, f.redirect_uri);
  auto code = *query_param(callback, "code");
  auto wrong = f.post(f.peer.token_endpoint(), client,
                      {{"grant_type", "authorization_code"},
                       {"code", code},
                       {"redirect_uri", f.redirect_uri},
                       {"code_verifier", std::string(43, 'a')}});
  CHECK(wrong.status == 400);
  CHECK(json_member(wrong.body, "error") == "invalid_grant");
  // A failed PKCE check consumes nothing in oidc-provider; a used code is refused.
  auto first = f.exchange(client, code);
  REQUIRE_MESSAGE(first.status == 200, first.body);
  auto again = f.exchange(client, code);
  CHECK(again.status == 400);
  CHECK(json_member(again.body, "error") == "invalid_grant");
}

TEST_CASE("oidc peer: the your-own client authenticates with client_secret_basic") {
  Fixture f;
  auto tokens = f.connect(OidcPeer::own_client());
  CHECK(!f.member(tokens, "refresh_token").empty());
}

TEST_CASE("oidc peer: a client that authenticates with a method other than its registered one is invalid_client") {
  Fixture f;
  auto rt = f.member(f.connect(OidcPeer::own_client()), "refresh_token");
  OidcClient own_as_post = OidcPeer::own_client();
  own_as_post.auth_method = "client_secret_post";
  auto refused = f.refresh(own_as_post, rt);
  CHECK(refused.status == 401);
  CHECK(json_member(refused.body, "error") == "invalid_client");

  OidcClient managed_as_basic = OidcPeer::managed_client();
  managed_as_basic.auth_method = "client_secret_basic";
  refused = f.post(f.peer.introspection_endpoint(), managed_as_basic, {{"token", rt}});
  CHECK(refused.status == 401);
  CHECK(json_member(refused.body, "error") == "invalid_client");

  // Refused before oidc-provider saw it: the refresh token still works.
  CHECK(f.refresh(OidcPeer::own_client(), rt).status == 200);
}

TEST_CASE("oidc peer: a refresh rotates the refresh token, and reusing the old one revokes the whole grant") {
  Fixture f;
  const auto& client = OidcPeer::managed_client();
  auto tokens = f.connect(client);
  auto rt1 = f.member(tokens, "refresh_token");

  auto refreshed = f.refresh(client, rt1);
  REQUIRE_MESSAGE(refreshed.status == 200, refreshed.body);
  auto rt2 = f.member(refreshed, "refresh_token");
  auto at2 = f.member(refreshed, "access_token");
  CHECK(rt2 != rt1);
  CHECK(at2 != f.member(tokens, "access_token"));
  CHECK(f.active(client, at2));
  CHECK(f.active(client, rt2));
  CHECK_FALSE(f.active(client, rt1));

  // What a racy relay does: a second refresh with the rotated-out token.
  auto reuse = f.refresh(client, rt1);
  CHECK(reuse.status == 400);
  CHECK(json_member(reuse.body, "error") == "invalid_grant");
  // ... and the grant is gone: the newest tokens are dead too.
  CHECK_FALSE(f.active(client, at2));
  auto after = f.refresh(client, rt2);
  CHECK(after.status == 400);
  CHECK(json_member(after.body, "error") == "invalid_grant");
}

TEST_CASE("oidc peer: introspection shows the access token active with its scope and client") {
  Fixture f;
  const auto& client = OidcPeer::managed_client();
  auto at = f.member(f.connect(client), "access_token");
  auto r = f.post(f.peer.introspection_endpoint(), client, {{"token", at}});
  REQUIRE(r.status == 200);
  CHECK(json_member(r.body, "active") == "true");
  CHECK(json_member(r.body, "client_id") == client.id);
  CHECK(json_member(r.body, "sub") == "alice");
  CHECK(json_member(r.body, "scope").value_or("").find("api:read") != std::string::npos);
  CHECK(json_member(r.body, "token_type") == "Bearer");
  CHECK_FALSE(f.active(client, "not-a-token"));
}

TEST_CASE("oidc peer: revoking the refresh token ends the grant") {
  Fixture f;
  const auto& client = OidcPeer::managed_client();
  auto tokens = f.connect(client);
  auto at = f.member(tokens, "access_token");
  auto rt = f.member(tokens, "refresh_token");
  REQUIRE(f.active(client, at));

  auto r = f.post(f.peer.revocation_endpoint(), client, {{"token", rt}, {"token_type_hint", "refresh_token"}});
  CHECK(r.status == 200);
  auto refused = f.refresh(client, rt);
  CHECK(refused.status == 400);
  CHECK(json_member(refused.body, "error") == "invalid_grant");
  CHECK_FALSE(f.active(client, at));
}

TEST_CASE("oidc peer: revoking the access token deactivates it and, in oidc-provider, the grant's other tokens") {
  Fixture f;
  const auto& client = OidcPeer::own_client();
  auto tokens = f.connect(client);
  auto at = f.member(tokens, "access_token");
  auto rt = f.member(tokens, "refresh_token");

  auto r = f.post(f.peer.revocation_endpoint(), client, {{"token", at}, {"token_type_hint", "access_token"}});
  CHECK(r.status == 200);
  CHECK_FALSE(f.active(client, at));
  CHECK_FALSE(f.active(client, rt));
  // Revoking an unknown token is not an error (RFC 7009 §2.2).
  CHECK(f.post(f.peer.revocation_endpoint(), client, {{"token", "no-such-token"}}).status == 200);
}

TEST_CASE("oidc peer: a user who cancels consent sends the client error=access_denied with state and iss") {
  Fixture f;
  auto callback = f.browser.authorize_through_oidc(f.authorization_url(OidcPeer::managed_client(), "deny-me"),
                                                   "alice", false, f.redirect_uri);
  CHECK(query_param(callback, "error") == "access_denied");
  CHECK(query_param(callback, "state") == "deny-me");
  CHECK(query_param(callback, "iss") == f.peer.issuer());
  CHECK_FALSE(query_param(callback, "code"));
}

TEST_CASE("oidc peer: the service client gets an access token by client credentials") {
  Fixture f;
  const auto& client = OidcPeer::service_client();
  auto r = f.post(f.peer.token_endpoint(), client, {{"grant_type", "client_credentials"}, {"scope", "api:read"}});
  REQUIRE_MESSAGE(r.status == 200, r.body);
  CHECK(!f.member(r, "access_token").empty());
  CHECK(f.member(r, "scope") == "api:read");
  CHECK_FALSE(json_member(r.body, "refresh_token"));
}

TEST_CASE("oidc peer: access tokens expire after the configured ttl") {
  auto redirect_uri = "http://127.0.0.1:" + std::to_string(free_port()) + "/cb";
  OidcPeer peer({.redirect_uris = {redirect_uri}, .access_token_ttl = std::chrono::seconds(7)});
  auto r = http_request(peer.port(), "POST", "/token",
                        {{"Content-Type", "application/x-www-form-urlencoded"},
                         {"Authorization", basic_authorization(OidcPeer::service_client())}},
                        "grant_type=client_credentials");
  REQUIRE_MESSAGE(r.status == 200, r.body);
  CHECK(json_member(r.body, "expires_in") == "7");
}

TEST_CASE("oidc peer: stop ends the server cleanly on SIGTERM") {
  auto redirect_uri = "http://127.0.0.1:" + std::to_string(free_port()) + "/cb";
  OidcPeer peer({redirect_uri});
  CHECK(peer.stop() == 0);
  CHECK_THROWS(http_request(peer.port(), "GET", "/.well-known/openid-configuration"));
}

TEST_CASE("oidc peer browser: URLs, forms, query parameters and JSON members") {
  CHECK(resolve_url("http://127.0.0.1:5/a/b?x=1", "/c?d=2") == "http://127.0.0.1:5/c?d=2");
  CHECK(resolve_url("http://127.0.0.1:5/a/b?x=1", "c") == "http://127.0.0.1:5/a/c");
  CHECK(resolve_url("http://127.0.0.1:5/a/b", "../c/./d") == "http://127.0.0.1:5/c/d");
  CHECK(resolve_url("http://127.0.0.1:5/a/b", "?q=1") == "http://127.0.0.1:5/a/b?q=1");
  CHECK(resolve_url("http://127.0.0.1:5/a", "https://app.example/done?x=1#f") == "https://app.example/done?x=1");
  CHECK(resolve_url("http://127.0.0.1:5/a", "//localhost:6/z") == "http://localhost:6/z");
  CHECK_THROWS_AS(HttpUrl::parse("http://example.com/"), std::invalid_argument);
  CHECK_THROWS_AS(HttpUrl::parse("https://127.0.0.1/"), std::invalid_argument);
  CHECK(HttpUrl::parse("http://localhost:8080?a=b").target == "/?a=b");

  CHECK(form_encode("a b&c=d/é") == "a+b%26c%3Dd%2F%C3%A9");
  CHECK(query_param("http://h/cb?code=a%2Bb&state=x+y&iss=http%3A%2F%2F127.0.0.1%3A9#frag", "state") == "x y");
  CHECK(query_param("http://h/cb?code=a%2Bb&iss=http%3A%2F%2F127.0.0.1%3A9", "iss") == "http://127.0.0.1:9");
  CHECK(query_param("http://h/cb?code=a%2Bb", "code") == "a+b");
  CHECK_FALSE(query_param("http://h/cb?code=1", "error"));

  auto forms = html_forms(R"(<p><form autocomplete="off" action="/interaction/u&#x2F;1" method="post">
      <input type="hidden" name="prompt" value="login"/><input required type="text" name="login">
      <button type="submit" class="login">Sign-in</button></form><a href="/interaction/u/abort">Cancel</a>)",
                          "http://127.0.0.1:7/interaction/u");
  REQUIRE(forms.size() == 1);
  CHECK(forms[0].action == "http://127.0.0.1:7/interaction/u/1");
  CHECK(forms[0].method == "post");
  CHECK(forms[0].fields == FormFields{{"prompt", "login"}});

  CHECK(json_member(R"({"a":{"active":false},"active" : true,"s":"x\"y\u00e9"})", "active") == "true");
  CHECK(json_member(R"({"a":[1,{"s":"}"}],"s":"x\"y\/\u00e9"})", "s") == "x\"y/\xC3\xA9");
  CHECK_FALSE(json_member(R"({"a":1})", "b"));
}
