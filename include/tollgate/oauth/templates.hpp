#pragma once
// Per-connection parameters (SPEC §3): a provider on a per-customer host
// declares each parameter with an anchored pattern; a value is checked against
// it before it is substituted into a `{name}` template of the catalog
// (authorization_url, token_url, api.base_url, api.headers, credentials …).
// A value outside its pattern is the only way a request could be steered to
// another host, so it is refused with 400 bad_request. No error message ever
// quotes a value.
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tollgate/config/config.hpp"
#include "tollgate/crypto/secret.hpp"
#include "tollgate/errors/error.hpp"

namespace tollgate::oauth {

// Parameter name → value, as stored with a setup session or auth config.
using ParamValues = std::map<std::string, std::string>;

// Longer values are refused before the pattern is tried.
inline constexpr std::size_t kMaxParamValueBytes = 1024;

// The pattern declared for `name` in connection_params or
// token_response.connection_params; null when the provider declares no such parameter.
const std::string* param_pattern(const config::Provider& provider, std::string_view name);

// Whether `value` may be used for the declared parameter `name`: not empty, at most
// kMaxParamValueBytes of visible ASCII (no spaces, control or non-ASCII bytes), and
// matching the whole pattern. bad_request naming the parameter otherwise.
std::optional<errors::Error> check_param(const config::Provider& provider, std::string_view name,
                                         std::string_view value);

// Every supplied value passes check_param, and every name is declared by the provider.
std::optional<errors::Error> validate_connection_params(const config::Provider& provider,
                                                        const ParamValues& values);

// The provider's connection_params (those a setup session supplies) that `values` lacks,
// in name order; a connect page asks the end user for these.
std::vector<std::string> missing_connection_params(const config::Provider& provider, const ParamValues& values);

// Replaces each `{name}` in tmpl with values[name] after check_param. A missing
// value or one outside its pattern is bad_request; a template naming no declared
// parameter (the loader refuses those) is internal.
std::variant<std::string, errors::Error> substitute(std::string_view tmpl, const ParamValues& values,
                                                    const config::Provider& provider);

// substitute(), then the result must be an absolute https:// URL (http:// only to a
// loopback host) with a host and no user info, fragment, spaces or backslashes —
// checked again here because a template may supply the scheme and host (Salesforce's
// "{instance_url}").
std::variant<std::string, errors::Error> expand_url(std::string_view tmpl, const ParamValues& values,
                                                    const config::Provider& provider);

// base + "/" + path with exactly one slash between them: trailing slashes of base and
// leading slashes of path are dropped. path may carry a query; it is not decoded or
// otherwise changed (the relay checks request targets before they get here).
std::string join_url(std::string_view base, std::string_view path);

// A credential template (credentials.format, username or password) with the stored
// secret put where `{api_key}` (api_key, basic) or `{access_token}` (oauth modes)
// stands, and connection parameters substituted as above. A secret holding control
// characters is refused (it would break the header it goes into).
std::variant<crypto::Secret, errors::Error> render_credential(std::string_view tmpl, const crypto::Secret& secret,
                                                              const ParamValues& values,
                                                              const config::Provider& provider);

}  // namespace tollgate::oauth
