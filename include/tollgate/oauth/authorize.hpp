#pragma once
// The front half of the authorization-code flow (RFC 6749 §4.1): the URL the
// end user's browser is sent to, and the RFC 9207 issuer check of the callback.
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tollgate/config/config.hpp"
#include "tollgate/errors/error.hpp"
#include "tollgate/oauth/app_credentials.hpp"
#include "tollgate/oauth/templates.hpp"

namespace tollgate::oauth {

// provider.authorization_url (its {params} substituted by expand_url) with, in this
// order: response_type=code, client_id, redirect_uri, state, the scope parameter
// (provider.scope_param; scopes joined with provider.scope_separator; `scopes` empty
// means provider.default_scopes; left out when both are empty), code_challenge and
// code_challenge_method=S256 when provider.pkce, then provider.authorization_params.
// Names and values are percent-encoded (RFC 3986 unreserved characters kept); a query
// already on the URL is kept. Nothing secret goes into it: the client secret never does.
// Errors: expand_url's (bad_request for a connection parameter that is missing or
// outside its pattern), internal when provider.pkce is on and code_challenge is empty.
// With provider.pkce off, code_challenge is ignored.
std::variant<std::string, errors::Error> authorization_url(const config::Provider& provider,
                                                           const ParamValues& params,
                                                           const AppCredentials& app,
                                                           const std::vector<std::string>& scopes,
                                                           std::string_view state,
                                                           std::string_view code_challenge,
                                                           std::string_view redirect_uri);

// RFC 9207: whether a callback's `iss` (nullopt when the callback has none) is
// acceptable. A provider without `issuer` accepts anything; one with it requires
// `iss` to equal the issuer (its {params} substituted) exactly.
bool issuer_matches(const config::Provider& provider, const ParamValues& params, std::optional<std::string_view> iss);

}  // namespace tollgate::oauth
