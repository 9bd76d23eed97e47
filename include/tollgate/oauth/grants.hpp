#pragma once
// Token-endpoint calls (RFC 6749 §4.1.3 code exchange, §6 refresh, §4.4 client
// credentials) and revocation (RFC 7009), made through upstream::Client. Failures
// are values that say whether a retry is safe (SPEC §5); none of them carries a
// token, code, verifier, secret or response body. This layer never retries.
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "tollgate/config/config.hpp"
#include "tollgate/crypto/secret.hpp"
#include "tollgate/oauth/app_credentials.hpp"
#include "tollgate/oauth/templates.hpp"

namespace tollgate::upstream {
class Client;
}

namespace tollgate::oauth {

// Longest lifetime taken from a token response; longer ones are clamped to it, so
// that now + expires_in cannot overflow a clock.
inline constexpr std::chrono::seconds kMaxExpiresIn{std::chrono::hours(24 * 365 * 100)};

struct TokenSet {
  crypto::Secret access_token;
  crypto::Secret refresh_token;  // empty when the response has none (keep the old one)
  // From expires_in (a number or a numeric string; ≤ 0 or unreadable counts as absent),
  // else token_response.expires_in_default; nullopt = no known expiry.
  std::optional<std::chrono::seconds> expires_in;
  std::vector<std::string> scopes;  // granted; empty when the response names none
  // Values captured per token_response.connection_params, each checked against its
  // pattern; a parameter the response does not carry is absent.
  std::map<std::string, std::string> connection_params;
  std::string token_type;  // as sent ("Bearer", "bearer", "user" …); empty when absent
};

struct GrantError {
  // The provider's OAuth `error` ("invalid_grant", "invalid_client" …) when the token
  // endpoint answered an RFC 6749 §5.2 error (a 4xx with `error`, or a 2xx with
  // `error` and no access token, including Slack's {"ok":false,"error":…});
  // "token_exchange_failed" when it could not be reached, answered 429 or 5xx, or
  // answered another status without an OAuth error; "invalid_token_response" when a
  // 2xx answer has no usable access token or a captured parameter fails its pattern.
  std::string code;
  std::string message;  // for logs and the setup session's error: never a secret or a body
  bool request_sent = false;  // the provider may have acted on the request
  // SPEC §5: true only when the request never left (unreachable) or the endpoint
  // answered 429 or 5xx; never when an answer was lost after sending, nor for OAuth errors.
  bool retryable = false;
  int http_status = 0;  // 0 when there was no answer
  std::optional<std::chrono::seconds> retry_after;  // Retry-After (delta-seconds) of a 429/5xx
};

using GrantResult = std::variant<TokenSet, GrantError>;

// Each function below reads its arguments before it returns and the awaitable keeps
// copies of what it needs: only `client` must outlive the awaitable.
//
// Token requests are POSTs to the provider's endpoint (templated, via expand_url) with
// `Accept: application/json`, the body in token_body_format (form or JSON), client
// authentication per token_endpoint_auth (client_secret_post: client_id and
// client_secret in the body; client_secret_basic: RFC 6749 §2.3.1 Basic, and neither in
// the body), then provider.token_headers (tollgate's own Accept, Content-Type and
// Authorization win). Extra parameters never replace those tollgate sets.

// grant_type=authorization_code with code, redirect_uri (byte for byte as given),
// code_verifier when not empty, and token_params; to token_url.
boost::asio::awaitable<GrantResult> exchange_code(upstream::Client& client, const config::Provider& provider,
                                                  const ParamValues& params, const AppCredentials& app,
                                                  std::string_view code, std::string_view redirect_uri,
                                                  std::string_view code_verifier);

// grant_type=refresh_token with refresh_token, `scope` when scopes is not empty, and
// refresh_params; to provider.effective_refresh_url(). When the access token is not at
// a nested access_token_path but at the top level (Slack answers a user-token refresh
// that way), the standard top-level fields are read instead.
boost::asio::awaitable<GrantResult> refresh(upstream::Client& client, const config::Provider& provider,
                                            const ParamValues& params, const AppCredentials& app,
                                            const crypto::Secret& refresh_token,
                                            const std::vector<std::string>& scopes);

// grant_type=client_credentials with `scope` (scopes, or default_scopes when empty;
// left out when both are) and token_params; to token_url.
boost::asio::awaitable<GrantResult> client_credentials(upstream::Client& client, const config::Provider& provider,
                                                       const ParamValues& params, const AppCredentials& app,
                                                       const std::vector<std::string>& scopes);

struct RevocationResult {
  bool attempted = false;  // false: the provider has no revocation_url, nothing was sent
  bool ok = false;         // the endpoint answered 2xx (RFC 7009: done, even for an unknown token)
  int status = 0;          // the HTTP status; 0 when there was no answer
  std::string detail;      // a short, secret-free description for the API's `revocation`
};

// RFC 7009: token and token_type_hint (left out when empty) to revocation_url, with
// client authentication, headers and body format as for token requests.
boost::asio::awaitable<RevocationResult> revoke(upstream::Client& client, const config::Provider& provider,
                                                const ParamValues& params, const AppCredentials& app,
                                                const crypto::Secret& token, std::string_view token_type_hint);

}  // namespace tollgate::oauth
