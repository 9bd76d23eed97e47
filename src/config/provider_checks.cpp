// Checks across an entry's keys: what its auth mode needs, where its
// credential goes, which parameters its templates name, and whether its
// managed app and deployment credentials are complete.
#include <algorithm>

#include "provider_schema.hpp"

namespace tollgate::config::detail {
namespace {

bool is_oauth(AuthMode mode) { return mode == AuthMode::oauth2 || mode == AuthMode::oauth2_client_credentials; }

std::string_view mode_name(AuthMode mode) {
  switch (mode) {
    case AuthMode::oauth2: return "oauth2";
    case AuthMode::oauth2_client_credentials: return "oauth2_client_credentials";
    case AuthMode::api_key: return "api_key";
    case AuthMode::basic: return "basic";
  }
  return "oauth2";
}

// The placeholder credentials use for the stored secret.
std::string_view credential_placeholder(AuthMode mode) { return is_oauth(mode) ? "access_token" : "api_key"; }

std::string path_of(const ProviderDraft& d, std::string_view relative) { return child_path(d.entry.path, relative); }

// At the key's value when it was written (perhaps empty), else at the entry's key.
void report_at(Reader& r, const ProviderDraft& d, std::string_view relative, std::string message) {
  const auto it = d.at.find(std::string(relative));
  r.error(it != d.at.end() ? it->second.pos : d.entry.key_pos, path_of(d, relative), std::move(message));
}

void report_written(Reader& r, const ProviderDraft& d, std::string_view relative, const std::string& message) {
  if (const auto it = d.at.find(std::string(relative)); it != d.at.end()) r.error(it->second, message);
}

// For a block (managed, deployment_credentials): at its key, where its warnings are too.
void report_block(Reader& r, const ProviderDraft& d, std::string_view relative, const std::string& message) {
  if (const auto it = d.at.find(std::string(relative)); it != d.at.end()) {
    r.error(it->second.key_pos, it->second.path, message);
  }
}

void check_mode(Reader& r, const ProviderDraft& d) {
  const Provider& p = d.provider;
  const std::string mode(mode_name(p.auth_mode));
  auto need = [&](const std::string& url, std::string_view key) {
    if (url.empty() && !d.was_refused(key)) report_at(r, d, key, "auth_mode " + mode + " needs " + std::string(key));
  };
  if (p.auth_mode == AuthMode::oauth2) need(p.authorization_url, "authorization_url");
  if (is_oauth(p.auth_mode)) need(p.token_url, "token_url");
  if (p.api.base_url.empty() && !d.was_refused("api.base_url") && !d.was_refused("api")) {
    report_at(r, d, d.has("api.base_url") || !d.has("api") ? "api.base_url" : "api",
              "every provider needs api.base_url: the relay forwards calls to api.base_url + \"/\" + path");
  }
  if (!is_oauth(p.auth_mode) && p.managed) {
    report_block(r, d, "managed",
                 "a managed OAuth app needs auth_mode oauth2 or oauth2_client_credentials; an operator's API key "
                   "goes in deployment_credentials");
  }
  if (is_oauth(p.auth_mode) && p.deployment_credentials) {
    report_block(r, d, "deployment_credentials",
                 "deployment_credentials are for auth_mode api_key and basic; OAuth providers use managed");
  }
}

void check_credentials(Reader& r, const ProviderDraft& d) {
  const Provider& p = d.provider;
  const Credentials& c = p.credentials;
  const std::string mode(mode_name(p.auth_mode));
  if (d.was_refused("credentials")) return;
  if (p.auth_mode == AuthMode::basic) {
    for (std::string_view key : {"credentials.header", "credentials.format", "credentials.query"}) {
      report_written(r, d, key, "auth_mode basic sends username and password; header, format and query are for "
                                "api_key and oauth modes");
    }
    if (!d.has("credentials.username")) {
      report_at(r, d, d.has("credentials") ? "credentials" : "credentials.username",
                "auth_mode basic needs credentials.username (\"{api_key}\" puts the stored key there)");
    } else if (c.username.find("{api_key}") == std::string::npos &&
               c.password.find("{api_key}") == std::string::npos) {
      report_written(r, d, "credentials.username",
                     "neither username nor password uses {api_key}, so the stored key would never be sent");
    }
    return;
  }
  for (std::string_view key : {"credentials.username", "credentials.password"}) {
    report_written(r, d, key, "username and password are for auth_mode basic");
  }
  const bool header = d.has("credentials.header");
  const bool query = d.has("credentials.query");
  if (header && query) report_written(r, d, "credentials.query", "set credentials.header or credentials.query, not both");
  if (p.auth_mode == AuthMode::api_key && !header && !query) {
    report_at(r, d, "credentials",
              "auth_mode api_key needs credentials.header (with a format such as \"Bearer {api_key}\") or "
              "credentials.query");
  }
  if (d.has("credentials.format")) {
    const std::string placeholder = "{" + std::string(credential_placeholder(p.auth_mode)) + "}";
    // The other mode's placeholder is reported by check_templates, which says which one to use.
    const std::string other = is_oauth(p.auth_mode) ? "{api_key}" : "{access_token}";
    if (!header && !query) {
      report_written(r, d, "credentials.format", "a format needs credentials.header or credentials.query");
    } else if (c.format.find(placeholder) == std::string::npos && c.format.find(other) == std::string::npos) {
      report_written(r, d, "credentials.format",
                     "must contain " + placeholder + " where auth_mode " + mode + " puts the credential");
    }
  }
}

// Quotes a template's name only when it was written literally: a value from
// ${VAR} may be a secret.
std::string describe_template(const Value& where, const std::string& name, std::size_t index) {
  if (where.node.IsScalar() && where.node.Scalar().find('$') == std::string::npos) return "{" + name + "}";
  return "template number " + std::to_string(index) + " in this value";
}

void check_templates(Reader& r, const ProviderDraft& d) {
  const std::string_view own = credential_placeholder(d.provider.auth_mode);
  for (const ProviderDraft::Templated& t : d.templated) {
    const auto names = template_names(t.text);
    if (!names) {
      r.error(t.where, "has a { or } that is not part of a {name} template (names are lower-case letters, digits "
                       "and _)");
      continue;
    }
    std::size_t index = 0;
    for (const std::string& name : *names) {
      ++index;
      if (t.credential && name == own) continue;
      if (d.declared.count(name) != 0) continue;
      const std::string what = describe_template(t.where, name, index);
      if (name == "api_key" || name == "access_token") {
        r.error(t.where, what + (t.credential ? " is not this auth mode's credential: use {api_key} for api_key and "
                                                "basic, {access_token} for oauth modes"
                                              : " is reserved for credentials"));
      } else {
        r.error(t.where, what + " names no declared connection parameter (declare it under connection_params, or "
                                "token_response.connection_params for a value from the token response)");
      }
    }
  }
}

void check_scope_param(Reader& r, const ProviderDraft& d) {
  const Provider& p = d.provider;
  for (std::string_view reserved : {"response_type", "client_id", "redirect_uri", "state", "code_challenge",
                                    "code_challenge_method"}) {
    if (p.scope_param == reserved) {
      report_written(r, d, "scope_param", "is a parameter tollgate sets itself; scopes need their own parameter");
    }
  }
  if (p.authorization_params.count(p.scope_param) != 0) {
    report_written(r, d, "authorization_params." + p.scope_param,
                   "carries the scopes (scope_param); list them in default_scopes instead");
  }
}

void fill_credential_defaults(Provider& p) {
  Credentials& c = p.credentials;
  if (p.auth_mode == AuthMode::basic) return;
  if (p.auth_mode == AuthMode::api_key) {
    if (c.format.empty()) c.format = "{api_key}";
    return;
  }
  if (c.header.empty() && c.query.empty()) c.header = "Authorization";
  if (c.format.empty()) c.format = equals_ignoring_case(c.header, "Authorization") ? "Bearer {access_token}" : "{access_token}";
}

void check_fixed_headers(Reader& r, const ProviderDraft& d) {
  const std::string& credential_header = d.provider.credentials.header;
  if (credential_header.empty()) return;
  for (const auto& [name, value] : d.provider.api.headers) {
    if (equals_ignoring_case(name, credential_header)) {
      report_written(r, d, "api.headers." + name,
                     "is where the credential goes (credentials.header); it cannot also be a fixed header");
    }
  }
}

// "google-calendar" → "GOOGLE_CALENDAR"
std::string variable_stem(std::string_view key) {
  std::string out;
  for (char c : key) out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// How to set an empty secret: the variable the file already names, else a conventional one.
std::string variable_hint(const ProviderDraft& d, std::string_view relative, std::string_view suffix) {
  std::string name;
  if (const auto it = d.at.find(std::string(relative)); it != d.at.end() && it->second.node.IsScalar()) {
    name = first_variable(it->second.node.Scalar());
  }
  if (name.empty()) name = variable_stem(d.provider.key) + std::string(suffix);
  return "${" + name + "}";
}

std::string unset_or_empty(const ProviderDraft& d, std::string_view relative) {
  return d.has(relative) ? "is empty" : "is not set";
}

void finish_managed(Reader& r, ProviderDraft& d, bool warn) {
  if (!d.provider.managed) return;
  ManagedApp& app = *d.provider.managed;
  const bool no_id = app.client_id.empty();
  const bool no_secret = app.client_secret.empty();
  app.enabled = is_oauth(d.provider.auth_mode) && !app.service_config_key.empty() && !no_id && !no_secret;
  if (!warn || (!no_id && !no_secret)) return;
  std::string message = "managed app disabled: ";
  if (no_id && no_secret) {
    message += "client_id and client_secret are empty (set them, e.g. via " +
               variable_hint(d, "managed.client_id", "_CLIENT_ID") + " and " +
               variable_hint(d, "managed.client_secret", "_CLIENT_SECRET") + ")";
  } else if (no_id) {
    message += "client_id " + unset_or_empty(d, "managed.client_id") + " (set it, e.g. via " +
               variable_hint(d, "managed.client_id", "_CLIENT_ID") + ")";
  } else {
    message += "client_secret " + unset_or_empty(d, "managed.client_secret") + " (set it, e.g. via " +
               variable_hint(d, "managed.client_secret", "_CLIENT_SECRET") + ")";
  }
  const Value& at = d.at.at("managed");
  r.warning(at.key_pos, at.path, message);
}

void finish_deployment(Reader& r, ProviderDraft& d, bool warn) {
  if (!d.provider.deployment_credentials) return;
  DeploymentCredentials& credentials = *d.provider.deployment_credentials;
  credentials.enabled = !is_oauth(d.provider.auth_mode) && !credentials.api_key.empty();
  if (!warn || !credentials.api_key.empty()) return;
  const Value& at = d.at.at("deployment_credentials");
  r.warning(at.key_pos, at.path,
            "deployment credentials disabled: api_key " + unset_or_empty(d, "deployment_credentials.api_key") +
                " (set it, e.g. via " + variable_hint(d, "deployment_credentials.api_key", "_API_KEY") +
                "); until then each connection needs its own API key");
}

}  // namespace

void check_provider(Reader& r, ProviderDraft& d, const CheckScope& scope) {
  if (scope.complete) {
    check_mode(r, d);
    check_credentials(r, d);
    check_templates(r, d);
    check_scope_param(r, d);
  }
  fill_credential_defaults(d.provider);
  if (scope.complete) check_fixed_headers(r, d);
  finish_managed(r, d, scope.complete && scope.warn_managed);
  finish_deployment(r, d, scope.complete && scope.warn_deployment);
}

}  // namespace tollgate::config::detail
