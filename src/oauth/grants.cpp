#include "tollgate/oauth/grants.hpp"

#include <strings.h>

#include <utility>

#include <boost/json.hpp>

#include "token_response.hpp"
#include "tollgate/upstream/client.hpp"
#include "wire.hpp"

namespace tollgate::oauth {
namespace {

using detail::Grant;
using detail::Sensitive;

bool same_name(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

bool has_field(const wire::Fields& fields, std::string_view name) {
  for (const auto& field : fields) {
    if (field.first == name) return true;
  }
  return false;
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

// A POST of `fields` (plus `extra`, where it names nothing tollgate set) to the
// endpoint `url_template`, authenticated as the app per token_endpoint_auth.
std::variant<upstream::Request, errors::Error> endpoint_request(const config::Provider& provider,
                                                                const ParamValues& params, const AppCredentials& app,
                                                                const std::string& url_template, wire::Fields fields,
                                                                const config::StringMap& extra) {
  auto url = expand_url(url_template, params, provider);
  if (auto* error = std::get_if<errors::Error>(&url)) return std::move(*error);

  upstream::Request request;
  request.method = "POST";
  request.url = std::get<std::string>(std::move(url));
  request.headers.emplace_back("Accept", "application/json");
  const bool json = provider.token_body_format == config::TokenBodyFormat::json;
  request.headers.emplace_back("Content-Type", json ? "application/json" : "application/x-www-form-urlencoded");
  if (provider.token_endpoint_auth == config::TokenEndpointAuth::client_secret_basic) {
    request.headers.emplace_back("Authorization",
                                 wire::basic_authorization(app.client_id.reveal(), app.client_secret.reveal()));
  } else {
    fields.emplace_back("client_id", app.client_id.reveal());
    if (!app.client_secret.empty()) fields.emplace_back("client_secret", app.client_secret.reveal());
  }
  for (const auto& [name, value] : extra) {
    if (!has_field(fields, name)) fields.emplace_back(name, value);
  }
  for (const auto& [name, value] : provider.token_headers) {
    bool own = false;
    for (const auto& header : request.headers) own = own || same_name(header.first, name);
    if (!own) request.headers.emplace_back(name, value);
  }

  if (json) {
    boost::json::object body;
    for (const auto& [name, value] : fields) body[name] = value;
    request.body = boost::json::serialize(body);
  } else {
    request.body = wire::form_body(fields);
  }
  for (auto& field : fields) std::fill(field.second.begin(), field.second.end(), '\0');
  return request;
}

std::variant<upstream::Request, GrantError> token_request(const config::Provider& provider, const ParamValues& params,
                                                          const AppCredentials& app, const std::string& url_template,
                                                          wire::Fields fields, const config::StringMap& extra) {
  auto request = endpoint_request(provider, params, app, url_template, std::move(fields), extra);
  if (auto* error = std::get_if<errors::Error>(&request)) {
    // Nothing was sent, and sending again would build the same URL.
    return GrantError{"token_exchange_failed",
                      "the token endpoint URL of provider " + provider.key + " could not be built: " + error->message,
                      false, false, 0, std::nullopt};
  }
  return std::get<upstream::Request>(std::move(request));
}

// Owns copies of everything it reads, so the caller's arguments need not outlive it.
boost::asio::awaitable<GrantResult> send_token_request(upstream::Client& client, config::Provider provider,
                                                       std::variant<upstream::Request, GrantError> prepared,
                                                       Grant grant, Sensitive sensitive) {
  if (auto* error = std::get_if<GrantError>(&prepared)) co_return std::move(*error);
  auto result = co_await client.send(std::get<upstream::Request>(std::move(prepared)));
  if (const auto* error = std::get_if<upstream::Error>(&result)) co_return detail::unanswered(*error, "token endpoint");
  co_return detail::read_token_response(provider, std::get<upstream::Response>(result), grant, sensitive);
}

boost::asio::awaitable<RevocationResult> ready(RevocationResult result) { co_return result; }

boost::asio::awaitable<RevocationResult> send_revocation(upstream::Client& client, upstream::Request request,
                                                         Sensitive sensitive) {
  auto result = co_await client.send(std::move(request));
  RevocationResult out;
  out.attempted = true;
  if (const auto* error = std::get_if<upstream::Error>(&result)) {
    out.detail = detail::unanswered(*error, "revocation endpoint").message;
    co_return out;
  }
  const auto& response = std::get<upstream::Response>(result);
  out.status = static_cast<int>(response.status);
  out.ok = response.status >= 200 && response.status < 300 && !detail::says_not_ok(response);
  if (out.ok) {
    out.detail = "revoked at the provider";
  } else if (response.status >= 200 && response.status < 300) {
    out.detail = "the revocation endpoint answered HTTP " + std::to_string(response.status) + " with ok: false";
    if (auto summary = detail::oauth_error_summary(response, sensitive); !summary.empty()) {
      out.detail += " (" + summary + ")";
    }
  } else {
    out.detail = "the revocation endpoint answered HTTP " + std::to_string(response.status);
    if (auto summary = detail::oauth_error_summary(response, sensitive); !summary.empty()) {
      out.detail += " (" + summary + ")";
    }
  }
  co_return out;
}

}  // namespace

boost::asio::awaitable<GrantResult> exchange_code(upstream::Client& client, const config::Provider& provider,
                                                  const ParamValues& params, const AppCredentials& app,
                                                  std::string_view code, std::string_view redirect_uri,
                                                  std::string_view code_verifier) {
  wire::Fields fields;
  fields.emplace_back("grant_type", "authorization_code");
  fields.emplace_back("code", std::string(code));
  fields.emplace_back("redirect_uri", std::string(redirect_uri));
  if (!code_verifier.empty()) fields.emplace_back("code_verifier", std::string(code_verifier));
  auto prepared = token_request(provider, params, app, provider.token_url, std::move(fields), provider.token_params);
  Sensitive sensitive;
  sensitive.push_back(app.client_secret);
  sensitive.emplace_back(std::string(code));
  sensitive.emplace_back(std::string(code_verifier));
  return send_token_request(client, provider, std::move(prepared), Grant::authorization_code, std::move(sensitive));
}

boost::asio::awaitable<GrantResult> refresh(upstream::Client& client, const config::Provider& provider,
                                            const ParamValues& params, const AppCredentials& app,
                                            const crypto::Secret& refresh_token,
                                            const std::vector<std::string>& scopes) {
  wire::Fields fields;
  fields.emplace_back("grant_type", "refresh_token");
  fields.emplace_back("refresh_token", refresh_token.reveal());
  if (!scopes.empty()) fields.emplace_back("scope", join(scopes, provider.scope_separator));
  auto prepared = token_request(provider, params, app, provider.effective_refresh_url(), std::move(fields),
                                provider.refresh_params);
  Sensitive sensitive;
  sensitive.push_back(app.client_secret);
  sensitive.push_back(refresh_token);
  return send_token_request(client, provider, std::move(prepared), Grant::refresh_token, std::move(sensitive));
}

boost::asio::awaitable<GrantResult> client_credentials(upstream::Client& client, const config::Provider& provider,
                                                       const ParamValues& params, const AppCredentials& app,
                                                       const std::vector<std::string>& scopes) {
  wire::Fields fields;
  fields.emplace_back("grant_type", "client_credentials");
  const auto& chosen = scopes.empty() ? provider.default_scopes : scopes;
  if (!chosen.empty()) fields.emplace_back("scope", join(chosen, provider.scope_separator));
  auto prepared = token_request(provider, params, app, provider.token_url, std::move(fields), provider.token_params);
  Sensitive sensitive;
  sensitive.push_back(app.client_secret);
  return send_token_request(client, provider, std::move(prepared), Grant::client_credentials, std::move(sensitive));
}

boost::asio::awaitable<RevocationResult> revoke(upstream::Client& client, const config::Provider& provider,
                                                const ParamValues& params, const AppCredentials& app,
                                                const crypto::Secret& token, std::string_view token_type_hint) {
  if (provider.revocation_url.empty()) {
    return ready(RevocationResult{false, false, 0, "provider " + provider.key + " has no revocation endpoint"});
  }
  wire::Fields fields;
  fields.emplace_back("token", token.reveal());
  if (!token_type_hint.empty()) fields.emplace_back("token_type_hint", std::string(token_type_hint));
  auto request = endpoint_request(provider, params, app, provider.revocation_url, std::move(fields), {});
  if (auto* error = std::get_if<errors::Error>(&request)) {
    return ready(RevocationResult{true, false, 0,
                                  "the revocation URL of provider " + provider.key +
                                      " could not be built: " + error->message});
  }
  Sensitive sensitive;
  sensitive.push_back(app.client_secret);
  sensitive.push_back(token);
  return send_revocation(client, std::get<upstream::Request>(std::move(request)), std::move(sensitive));
}

}  // namespace tollgate::oauth
