#pragma once
// A real OAuth 2.0 / OIDC authorization server for integration tests:
// tests/peers/oidc_server.mjs (oidc-provider) on a free loopback port, issuer
// http://127.0.0.1:<port>, ready once it has printed READY and answered its
// discovery document; stopped by its pid when the object dies.
//
// What it does (see oidc_server.mjs): authorization code + PKCE S256 (required),
// refresh tokens on every code grant, rotated on each refresh (reusing a
// rotated-out one answers invalid_grant and revokes the whole grant), opaque
// access tokens carrying the granted scopes (openid, offline_access, api:read,
// api:write), `iss` in every authorization response (RFC 9207), introspection,
// revocation (of a refresh or an access token: either drops all the grant's
// tokens), client credentials. A client must authenticate with its registered
// method (basic or post; the other is 401 invalid_client). Users sign in through
// devInteractions: any login, any password (Browser::authorize_through_oidc).
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "process.hpp"
#include "temp_dir.hpp"

namespace tollgate::test {

struct OidcClient {
  std::string id;
  std::string secret;
  std::string auth_method;  // token_endpoint_auth_method: client_secret_post or client_secret_basic
};

class OidcPeer {
 public:
  struct Options {
    // Registered for the managed and your-own clients, e.g. tollgate's {public_url}/oauth/callback.
    std::vector<std::string> redirect_uris;
    std::chrono::seconds access_token_ttl{60};
    std::chrono::seconds refresh_token_ttl{86400};
  };

  explicit OidcPeer(Options options);
  explicit OidcPeer(std::vector<std::string> redirect_uris) : OidcPeer(Options{std::move(redirect_uris)}) {}
  ~OidcPeer();
  OidcPeer(const OidcPeer&) = delete;
  OidcPeer& operator=(const OidcPeer&) = delete;

  std::uint16_t port() const { return port_; }
  const std::string& issuer() const { return issuer_; }
  // From the discovery document.
  const std::string& authorization_endpoint() const { return authorization_endpoint_; }
  const std::string& token_endpoint() const { return token_endpoint_; }
  const std::string& introspection_endpoint() const { return introspection_endpoint_; }
  const std::string& revocation_endpoint() const { return revocation_endpoint_; }
  const std::string& jwks_uri() const { return jwks_uri_; }

  // The operator's app (managed mode): authorization_code + refresh_token, client_secret_post.
  static const OidcClient& managed_client();
  // A tenant's app (your-own mode): authorization_code + refresh_token, client_secret_basic.
  static const OidcClient& own_client();
  // A machine client: client_credentials only, client_secret_basic, scope "api:read api:write".
  static const OidcClient& service_client();

  // The target (path and query) of one of this peer's absolute URLs, for http_request(port(), ...).
  std::string target_of(const std::string& url) const;
  std::string logs() const;
  // SIGTERM, then wait for the exit; the exit status (nullopt if it had to be killed).
  std::optional<int> stop();

 private:
  bool start(const Options& options);  // false when the port was taken
  TempDir dir_;
  std::unique_ptr<Process> process_;
  std::uint16_t port_ = 0;
  std::string issuer_, authorization_endpoint_, token_endpoint_, introspection_endpoint_, revocation_endpoint_,
      jwks_uri_;
};

// The value of the top-level member `name` of a flat JSON object: a string
// unescaped, or a number/true/false/null as written; nullopt when absent.
// Enough for token, introspection and discovery responses.
std::optional<std::string> json_member(const std::string& json, const std::string& name);

// "Basic base64(form_encode(id):form_encode(secret))" (RFC 6749 §2.3.1).
std::string basic_authorization(const OidcClient& client);

}  // namespace tollgate::test
