// One catalog entry's keys, each read and checked on its own. Checks that
// span keys (what an auth mode needs, which parameters templates name) are in
// provider_checks.cpp. No message quotes a value: any may come from ${VAR}.
#include <algorithm>
#include <regex>

#include "provider_schema.hpp"
#include "scalars.hpp"
#include "sections.hpp"

namespace tollgate::config::detail {
namespace {

using Names = std::initializer_list<std::string_view>;

bool contains(Names names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

bool has_control_characters(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

// A URL key. Empty means "not set"; the auth mode check says whether it is needed.
void read_url(Reader& r, ProviderDraft& d, const Value& v, std::string& out) {
  d.note(v);
  const auto text = read_string(r, v);
  if (!text) {
    d.refuse(v);
    return;
  }
  if (text->empty()) return;
  if (const std::string problem = check_catalog_url(*text); !problem.empty()) {
    r.error(v, problem);
    d.refuse(v);
    return;
  }
  out = *text;
  d.templated.push_back({v, *text, false});
}

// A link for humans: any http(s) URL, query and fragment included; never requested.
std::optional<std::string> read_docs_url(Reader& r, const Value& v) {
  const auto text = read_string(r, v);
  if (!text || text->empty()) return text;
  const bool scheme = text->starts_with("https://") || text->starts_with("http://");
  const bool plain = std::all_of(text->begin(), text->end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f;
  });
  const std::size_t host = text->find("//") + 2;
  if (!scheme || !plain || host >= text->size() || std::string_view("/?#").find((*text)[host]) != std::string::npos) {
    r.error(v, "expected an http(s) URL without spaces, like https://docs.example.com/oauth");
    return std::nullopt;
  }
  return text;
}

std::optional<std::string> read_nonempty(Reader& r, const Value& v, std::string_view what) {
  auto text = read_string(r, v);
  if (text && text->empty()) {
    r.error(v, "expected " + std::string(what) + ", got an empty string");
    return std::nullopt;
  }
  return text;
}

// Fixed headers: on token requests (literal) or on proxied calls (templated).
StringMap read_headers(Reader& r, ProviderDraft& d, const Value& v, bool templated) {
  StringMap out;
  r.read_entries(v, [&](const std::string& name, const Value& x) {
    if (!is_header_name(name)) {
      r.error(x.key_pos, x.path, "expected an HTTP header name (letters, digits and !#$%&'*+-.^_`|~)");
      return;
    }
    for (std::string_view reserved : {"Host", "Content-Length", "Transfer-Encoding", "Connection", "Upgrade", "TE",
                                      "Trailer", "Keep-Alive", "Proxy-Connection"}) {
      if (equals_ignoring_case(name, reserved)) {
        r.error(x.key_pos, x.path, "is a header tollgate sets itself; it cannot be fixed in the catalog");
        return;
      }
    }
    if (name.size() >= 9 && equals_ignoring_case(std::string_view(name).substr(0, 9), "Tollgate-")) {
      r.error(x.key_pos, x.path, "Tollgate-* headers are tollgate's own and are never sent upstream");
      return;
    }
    const auto text = read_string(r, x);
    if (!text) return;
    if (!is_header_value(*text)) {
      r.error(x, "a header value is visible ASCII, spaces and tabs (no line breaks or control characters)");
      return;
    }
    d.note(x);
    if (templated) d.templated.push_back({x, *text, false});
    out[name] = *text;
  });
  return out;
}

// Extra OAuth parameters. Those tollgate sets itself (state, PKCE, …) cannot be overridden.
StringMap read_params(Reader& r, ProviderDraft& d, const Value& v, Names reserved) {
  StringMap out;
  d.note(v);
  r.read_entries(v, [&](const std::string& name, const Value& x) {
    if (name.empty() || has_control_characters(name)) {
      r.error(x.key_pos, x.path, "expected a parameter name without control characters");
      return;
    }
    if (contains(reserved, name)) {
      r.error(x.key_pos, x.path, "is a parameter tollgate sets itself; it cannot be set in the catalog");
      return;
    }
    const auto text = read_string(r, x);
    if (!text) return;
    if (has_control_characters(*text)) {
      r.error(x, "must not contain control characters");
      return;
    }
    d.note(x);
    out[name] = *text;
  });
  return out;
}

bool is_scope(std::string_view scope) {
  // RFC 6749 §3.3: %x21 / %x23-5B / %x5D-7E
  return !scope.empty() && std::all_of(scope.begin(), scope.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x21 && u <= 0x7e && c != '"' && c != '\\';
  });
}

std::vector<std::string> read_scopes(Reader& r, const Value& v) {
  std::vector<std::string> out;
  r.read_list(v, [&](const Value& item) {
    const auto text = read_string(r, item);
    if (!text) return;
    if (!is_scope(*text)) {
      r.error(item, "a scope is visible ASCII without spaces, \" or \\ (RFC 6749 §3.3), and not empty");
      return;
    }
    out.push_back(*text);
  });
  return out;
}

std::optional<std::string> read_json_path(Reader& r, const Value& v) {
  const auto text = read_string(r, v);
  if (!text) return std::nullopt;
  if (!is_json_path(*text)) {
    r.error(v, "expected a dotted path into the token response, like access_token or authed_user.access_token");
    return std::nullopt;
  }
  return text;
}

bool ends_with_unescaped_dollar(std::string_view pattern) {
  if (pattern.empty() || pattern.back() != '$') return false;
  std::size_t backslashes = 0;
  for (std::size_t i = pattern.size() - 1; i > 0 && pattern[i - 1] == '\\'; --i) ++backslashes;
  return backslashes % 2 == 0;
}

// A value is checked against the whole pattern; anchors make that visible in
// the catalog, and a pattern that cannot compile would refuse every value.
std::optional<std::string> read_pattern(Reader& r, const Value& v) {
  const auto text = read_string(r, v);
  if (!text) return std::nullopt;
  try {
    const std::regex compiled(*text, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    r.error(v, std::string("does not compile as an ECMAScript regular expression: ") + e.what());
    return std::nullopt;
  }
  if (text->size() < 2 || text->front() != '^' || !ends_with_unescaped_dollar(*text)) {
    r.error(v, "a pattern must be anchored: start with ^ and end with $, so that it checks the whole value "
               "(an unanchored pattern would let a value steer requests to another host)");
    return std::nullopt;
  }
  return text;
}

// Checks a parameter's name and notes it as declared; false when the name is unusable.
bool declare_param(Reader& r, ProviderDraft& d, const std::string& name, const Value& spec) {
  if (!is_param_name(name)) {
    r.error(spec.key_pos, spec.path,
            "a connection parameter name is lower-case letters, digits and _, starting with a letter, "
            "at most 64 characters (^[a-z][a-z0-9_]*$)");
    return false;
  }
  if (name == "api_key" || name == "access_token") {
    r.error(spec.key_pos, spec.path, "is reserved for the credential itself; choose another name");
    return false;
  }
  if (const auto first = d.declared.find(name); first != d.declared.end()) {
    r.error(spec.key_pos, spec.path,
            "is already declared at line " + std::to_string(first->second.key_pos.line) +
                " (a parameter is declared once, in connection_params or token_response.connection_params)");
    return false;
  }
  d.declared.emplace(name, spec);
  return true;
}

void require(Reader& r, const Value& map, bool present, std::string_view key, std::string_view why) {
  if (present) return;
  r.error(map.key_pos, child_path(map.path, key), "required: " + std::string(why));
}

std::map<std::string, ConnectionParam> read_connection_params(Reader& r, ProviderDraft& d, const Value& v) {
  std::map<std::string, ConnectionParam> out;
  r.read_entries(v, [&](const std::string& name, const Value& spec) {
    if (!declare_param(r, d, name, spec)) return;
    ConnectionParam param;
    bool has_pattern = false;
    const bool is_map = r.read_map(spec, {
        {"pattern", [&](const Value& x) { has_pattern = true; set(param.pattern, read_pattern(r, x)); }},
        {"description", [&](const Value& x) { set(param.description, read_string(r, x)); }},
    });
    if (is_map) require(r, spec, has_pattern, "pattern", "the anchored pattern (^…$) every value must match");
    out[name] = std::move(param);
  });
  return out;
}

std::map<std::string, ResponseParam> read_response_params(Reader& r, ProviderDraft& d, const Value& v) {
  std::map<std::string, ResponseParam> out;
  r.read_entries(v, [&](const std::string& name, const Value& spec) {
    if (!declare_param(r, d, name, spec)) return;
    ResponseParam param;
    bool has_pattern = false;
    bool has_path = false;
    const bool is_map = r.read_map(spec, {
        {"path", [&](const Value& x) { has_path = true; set(param.path, read_json_path(r, x)); }},
        {"pattern", [&](const Value& x) { has_pattern = true; set(param.pattern, read_pattern(r, x)); }},
        {"description", [&](const Value& x) { set(param.description, read_string(r, x)); }},
    });
    if (is_map) {
      require(r, spec, has_path, "path", "where the value is in the token response, e.g. instance_url");
      require(r, spec, has_pattern, "pattern", "the anchored pattern (^…$) every value must match");
    }
    out[name] = std::move(param);
  });
  return out;
}

std::optional<std::chrono::seconds> read_expires_in_default(Reader& r, const Value& v) {
  if (v.node.IsNull()) return std::nullopt;
  const auto seconds = read_count(r, v);
  if (!seconds) return std::nullopt;
  if (*seconds == 0) {
    r.error(v, "expected a number of seconds, 1 or more, or null (the token does not expire)");
    return std::nullopt;
  }
  return std::chrono::seconds(*seconds);
}

void read_token_response(Reader& r, ProviderDraft& d, const Value& v, TokenResponse& out) {
  r.read_map(v, {
      {"access_token_path", [&](const Value& x) { set(out.access_token_path, read_json_path(r, x)); }},
      {"refresh_token_path", [&](const Value& x) { set(out.refresh_token_path, read_json_path(r, x)); }},
      {"expires_in_path", [&](const Value& x) { set(out.expires_in_path, read_json_path(r, x)); }},
      {"scope_path", [&](const Value& x) { set(out.scope_path, read_json_path(r, x)); }},
      {"expires_in_default", [&](const Value& x) { out.expires_in_default = read_expires_in_default(r, x); }},
      {"connection_params", [&](const Value& x) { out.connection_params = read_response_params(r, d, x); }},
  });
}

std::vector<int> read_statuses(Reader& r, const Value& v) {
  std::vector<int> out;
  r.read_list(v, [&](const Value& item) {
    const auto status = read_count(r, item, 599);
    if (!status) return;
    if (*status < 100) {
      r.error(item, "expected an HTTP status from 100 to 599");
      return;
    }
    out.push_back(static_cast<int>(*status));
  });
  return out;
}

void read_api(Reader& r, ProviderDraft& d, const Value& v, ProviderApi& out) {
  const bool is_map = r.read_map(v, {
      {"base_url", [&](const Value& x) { read_url(r, d, x, out.base_url); }},
      {"headers", [&](const Value& x) { out.headers = read_headers(r, d, x, true); }},
      {"refresh_on_status", [&](const Value& x) { out.refresh_on_status = read_statuses(r, x); }},
  });
  if (!is_map) d.refuse(v);
}

// A credential part: templated, checked against the auth mode once it is known.
void read_credential_text(Reader& r, ProviderDraft& d, const Value& v, std::string& out) {
  const auto text = read_string(r, v);
  if (!text) return;
  if (!is_header_value(*text)) {
    r.error(v, "must be visible ASCII, spaces and tabs (no line breaks or control characters)");
    return;
  }
  d.note(v);
  out = *text;
  d.templated.push_back({v, *text, true});
}

void read_credentials(Reader& r, ProviderDraft& d, const Value& v, Credentials& out) {
  const bool is_map = r.read_map(v, {
      {"header",
       [&](const Value& x) {
         const auto text = read_string(r, x);
         if (!text) return;
         d.note(x);
         if (!is_header_name(*text)) {
           r.error(x, "expected an HTTP header name (letters, digits and !#$%&'*+-.^_`|~)");
           return;
         }
         out.header = *text;
       }},
      {"format", [&](const Value& x) { read_credential_text(r, d, x, out.format); }},
      {"query",
       [&](const Value& x) {
         const auto text = read_string(r, x);
         if (!text) return;
         d.note(x);
         if (!is_header_name(*text)) {
           r.error(x, "expected a query parameter name (letters, digits and !#$%&'*+-.^_`|~)");
           return;
         }
         out.query = *text;
       }},
      {"username", [&](const Value& x) { read_credential_text(r, d, x, out.username); }},
      {"password",
       [&](const Value& x) {
         if (x.node.IsNull()) {  // `password:` alone means an empty password, as Stripe's is
           d.note(x);
           return;
         }
         read_credential_text(r, d, x, out.password);
       }},
  });
  if (!is_map) d.refuse(v);
}

std::optional<std::string> read_verification_path(Reader& r, const Value& v) {
  const auto text = read_string(r, v);
  if (!text) return std::nullopt;
  const bool shaped = !text->empty() && text->front() == '/' && is_header_value(*text) &&
                      text->find_first_of(" \t#\\") == std::string::npos;
  const std::string padded = *text + "/";
  if (!shaped || padded.find("/../") != std::string::npos || padded.find("/./") != std::string::npos) {
    r.error(v, "expected a path starting with /, relative to api.base_url, without spaces, #, \\, . or .. segments");
    return std::nullopt;
  }
  return text;
}

void read_verification(Reader& r, const Value& v, std::optional<Verification>& out) {
  Verification verification;
  bool has_path = false;
  const bool is_map = r.read_map(v, {
      {"method",
       [&](const Value& x) {
         set(verification.method,
             read_choice<std::string>(r, x, {{"GET", "GET"}, {"HEAD", "HEAD"}, {"POST", "POST"}}));
       }},
      {"path", [&](const Value& x) { has_path = true; set(verification.path, read_verification_path(r, x)); }},
  });
  if (!is_map) return;
  require(r, v, has_path, "path", "the path (under api.base_url) that a pasted key is tried on");
  out = std::move(verification);
}

// A secret may be empty (the managed app is then disabled, with a warning).
crypto::Secret read_secret(Reader& r, ProviderDraft& d, const Value& v) {
  d.note(v);
  if (v.node.IsNull()) return {};
  auto text = read_string(r, v);
  return crypto::Secret(text ? std::move(*text) : std::string());
}

void read_managed(Reader& r, ProviderDraft& d, const Value& v, std::optional<ManagedApp>& out) {
  ManagedApp app;
  bool has_key = false;
  const bool is_map = r.read_map(v, {
      {"service_config_key",
       [&](const Value& x) {
         has_key = true;
         const auto text = read_string(r, x);
         if (!text) return;
         if (!is_provider_key(*text)) {
           r.error(x, "expected a key of lower-case letters, digits, _ and -, starting with a letter or digit");
           return;
         }
         app.service_config_key = *text;
       }},
      {"client_id", [&](const Value& x) { app.client_id = read_secret(r, d, x); }},
      {"client_secret", [&](const Value& x) { app.client_secret = read_secret(r, d, x); }},
  });
  if (!is_map) return;
  require(r, v, has_key, "service_config_key", "the key under which the managed app is known (e.g. the provider key)");
  out = std::move(app);
}

void read_deployment_credentials(Reader& r, ProviderDraft& d, const Value& v,
                                 std::optional<DeploymentCredentials>& out) {
  DeploymentCredentials credentials;
  if (!r.read_map(v, {{"api_key", [&](const Value& x) { credentials.api_key = read_secret(r, d, x); }}})) return;
  out = std::move(credentials);
}

}  // namespace

std::string ProviderDraft::relative(const Value& v) const {
  const std::size_t skip = entry.path.empty() ? 0 : entry.path.size() + 1;
  return v.path.substr(std::min(skip, v.path.size()));
}

void read_provider_fields(Reader& r, ProviderDraft& d) {
  Provider& p = d.provider;
  // Keys tollgate sets on its own requests: overriding them would break state, PKCE or client auth.
  const Names kAuthorizationReserved{"response_type", "client_id", "redirect_uri", "state",
                                         "code_challenge", "code_challenge_method"};
  const Names kTokenReserved{"grant_type", "code", "redirect_uri", "code_verifier",
                                 "client_id", "client_secret", "refresh_token"};
  const Names kRefreshReserved{"grant_type", "refresh_token", "client_id", "client_secret"};
  auto noted = [&](const Value& x) {
    d.note(x);
    return x;
  };
  r.read_map(d.entry, {
      {"display_name", [&](const Value& x) { set(p.display_name, read_string(r, noted(x))); }},
      {"alias", [&](const Value& x) { set(p.alias, read_string(r, noted(x))); }},
      {"docs_url", [&](const Value& x) { set(p.docs_url, read_docs_url(r, x)); }},
      {"auth_mode",
       [&](const Value& x) {
         set(p.auth_mode, read_choice<AuthMode>(r, noted(x),
                                                {{"oauth2", AuthMode::oauth2},
                                                 {"oauth2_client_credentials", AuthMode::oauth2_client_credentials},
                                                 {"api_key", AuthMode::api_key},
                                                 {"basic", AuthMode::basic}}));
       }},
      {"authorization_url", [&](const Value& x) { read_url(r, d, x, p.authorization_url); }},
      {"token_url", [&](const Value& x) { read_url(r, d, x, p.token_url); }},
      {"refresh_url", [&](const Value& x) { read_url(r, d, x, p.refresh_url); }},
      {"revocation_url", [&](const Value& x) { read_url(r, d, x, p.revocation_url); }},
      {"token_endpoint_auth",
       [&](const Value& x) {
         set(p.token_endpoint_auth,
             read_choice<TokenEndpointAuth>(r, x,
                                            {{"client_secret_post", TokenEndpointAuth::client_secret_post},
                                             {"client_secret_basic", TokenEndpointAuth::client_secret_basic}}));
       }},
      {"token_body_format",
       [&](const Value& x) {
         set(p.token_body_format,
             read_choice<TokenBodyFormat>(r, x, {{"form", TokenBodyFormat::form}, {"json", TokenBodyFormat::json}}));
       }},
      {"token_headers", [&](const Value& x) { p.token_headers = read_headers(r, d, x, false); }},
      {"pkce", [&](const Value& x) { set(p.pkce, read_bool(r, x)); }},
      {"scope_param",
       [&](const Value& x) {
         const auto text = read_string(r, noted(x));
         if (!text) return;
         if (!is_header_name(*text)) {
           r.error(x, "expected a query parameter name (letters, digits and !#$%&'*+-.^_`|~)");
           return;
         }
         p.scope_param = *text;
       }},
      {"scope_separator", [&](const Value& x) { set(p.scope_separator, read_nonempty(r, x, "a separator like \" \" or \",\"")); }},
      {"default_scopes", [&](const Value& x) { p.default_scopes = read_scopes(r, x); }},
      {"authorization_params",
       [&](const Value& x) { p.authorization_params = read_params(r, d, x, kAuthorizationReserved); }},
      {"token_params", [&](const Value& x) { p.token_params = read_params(r, d, x, kTokenReserved); }},
      {"refresh_params", [&](const Value& x) { p.refresh_params = read_params(r, d, x, kRefreshReserved); }},
      {"token_response", [&](const Value& x) { read_token_response(r, d, x, p.token_response); }},
      {"issuer", [&](const Value& x) { read_url(r, d, x, p.issuer); }},
      {"api", [&](const Value& x) { read_api(r, d, noted(x), p.api); }},
      {"credentials", [&](const Value& x) { read_credentials(r, d, noted(x), p.credentials); }},
      {"verification", [&](const Value& x) { read_verification(r, noted(x), p.verification); }},
      {"managed", [&](const Value& x) { read_managed(r, d, noted(x), p.managed); }},
      {"deployment_credentials",
       [&](const Value& x) { read_deployment_credentials(r, d, noted(x), p.deployment_credentials); }},
      {"connection_params", [&](const Value& x) { p.connection_params = read_connection_params(r, d, x); }},
  });
}

}  // namespace tollgate::config::detail
