#include "tollgate/oauth/authorize.hpp"

#include <utility>

#include "wire.hpp"

namespace tollgate::oauth {
namespace {

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

}  // namespace

std::variant<std::string, errors::Error> authorization_url(const config::Provider& provider,
                                                           const ParamValues& params,
                                                           const AppCredentials& app,
                                                           const std::vector<std::string>& scopes,
                                                           std::string_view state,
                                                           std::string_view code_challenge,
                                                           std::string_view redirect_uri) {
  if (provider.pkce && code_challenge.empty()) {
    return errors::Error{errors::Code::internal,
                         "provider " + provider.key + " uses PKCE but no code challenge was given"};
  }
  auto base = expand_url(provider.authorization_url, params, provider);
  if (auto* error = std::get_if<errors::Error>(&base)) return std::move(*error);
  std::string url = std::get<std::string>(std::move(base));

  wire::Fields query;
  query.emplace_back("response_type", "code");
  query.emplace_back("client_id", app.client_id.reveal());
  query.emplace_back("redirect_uri", std::string(redirect_uri));
  query.emplace_back("state", std::string(state));
  const auto& chosen = scopes.empty() ? provider.default_scopes : scopes;
  if (!chosen.empty()) query.emplace_back(provider.scope_param, join(chosen, provider.scope_separator));
  if (provider.pkce) {
    query.emplace_back("code_challenge", std::string(code_challenge));
    query.emplace_back("code_challenge_method", "S256");
  }
  for (const auto& [name, value] : provider.authorization_params) {
    bool taken = false;  // the loader refuses these names; never let one replace tollgate's own
    for (const auto& field : query) taken = taken || field.first == name;
    if (!taken) query.emplace_back(name, value);
  }

  const std::size_t mark = url.find('?');
  if (mark == std::string::npos) {
    url += '?';
  } else if (url.back() != '?' && url.back() != '&') {
    url += '&';
  }
  bool first = true;
  for (const auto& [name, value] : query) {
    if (!first) url += '&';
    first = false;
    url += wire::percent_encode(name);
    url += '=';
    url += wire::percent_encode(value);
  }
  return url;
}

bool issuer_matches(const config::Provider& provider, const ParamValues& params, std::optional<std::string_view> iss) {
  if (provider.issuer.empty()) return true;
  if (!iss) return false;
  const auto expected = substitute(provider.issuer, params, provider);
  const auto* text = std::get_if<std::string>(&expected);
  return text != nullptr && *text == *iss;
}

}  // namespace tollgate::oauth
