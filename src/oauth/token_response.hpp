#pragma once
// Reading what a token or revocation endpoint answered (RFC 6749 §5.1, §5.2;
// RFC 7009 §2.2) into values that carry no secret. Private to the oauth module.
#include <string>
#include <string_view>
#include <vector>

#include "tollgate/config/config.hpp"
#include "tollgate/crypto/secret.hpp"
#include "tollgate/oauth/grants.hpp"
#include "tollgate/upstream/client.hpp"
#include "tollgate/upstream/error.hpp"

namespace tollgate::oauth::detail {

enum class Grant { authorization_code, refresh_token, client_credentials };

// Values of the request (client secret, code, verifier, tokens) that are masked
// out of anything quoted from an answer, in case a provider echoes one back.
using Sensitive = std::vector<crypto::Secret>;

// A 2xx with the access token → TokenSet; every other answer → GrantError.
GrantResult read_token_response(const config::Provider& provider, const upstream::Response& response, Grant grant,
                                const Sensitive& sensitive);

// The request did not get an answer. `endpoint` names it for the message ("token endpoint").
GrantError unanswered(const upstream::Error& error, std::string_view endpoint);

// "invalid_request: <description>" from an RFC 6749 §5.2 error body, sanitized and
// at most about 250 characters; "" when the body holds no OAuth error.
std::string oauth_error_summary(const upstream::Response& response, const Sensitive& sensitive);

// A 2xx body that says {"ok": false, …} (Slack's way of failing with 200).
bool says_not_ok(const upstream::Response& response);

}  // namespace tollgate::oauth::detail
