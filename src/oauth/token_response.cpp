#include "token_response.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <utility>

#include <boost/json.hpp>

#include "wire.hpp"

namespace tollgate::oauth::detail {
namespace {

namespace json = boost::json;

constexpr std::size_t kMaxDescription = 200;
constexpr std::size_t kMaxErrorCode = 64;
constexpr std::int64_t kMaxRetryAfter = 24 * 60 * 60;

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); });
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// "application/json" from "Application/JSON; charset=utf-8".
std::string media_type(const upstream::Response& response) {
  const std::string value = response.header("Content-Type");
  return lower(trim(std::string_view(value).substr(0, value.find(';'))));
}

// A JSON object, or a form body turned into one (GitHub answers that way when
// it ignores Accept). Anything else — HTML, plain text, a JSON array — is nullopt.
std::optional<json::object> parse_body(const upstream::Response& response) {
  boost::system::error_code ec;
  json::value value = json::parse(response.body, ec);
  if (!ec && value.is_object()) return std::move(value.as_object());
  if (media_type(response) != "application/x-www-form-urlencoded") return std::nullopt;
  auto fields = wire::parse_form(response.body);
  if (!fields || fields->empty()) return std::nullopt;
  json::object object;
  for (auto& [name, value_text] : *fields) {
    if (!object.contains(name)) object[name] = value_text;
  }
  return object;
}

// The value at a dotted path ("authed_user.access_token"); a numeric segment
// indexes an array. Null when any step is missing.
const json::value* at_path(const json::object& doc, std::string_view path) {
  const json::value* current = nullptr;
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t dot = std::min(path.find('.', start), path.size());
    const std::string_view segment = path.substr(start, dot - start);
    if (current == nullptr) {
      current = doc.if_contains(segment);
    } else if (const auto* object = current->if_object()) {
      current = object->if_contains(segment);
    } else if (const auto* array = current->if_array()) {
      std::size_t index = 0;
      const auto [end, ec] = std::from_chars(segment.data(), segment.data() + segment.size(), index);
      current = (ec == std::errc{} && end == segment.data() + segment.size() && index < array->size())
                    ? &(*array)[index]
                    : nullptr;
    } else {
      current = nullptr;
    }
    if (current == nullptr) return nullptr;
    start = dot + 1;
  }
  return current;
}

const json::string* string_at(const json::object& doc, std::string_view path) {
  const json::value* value = at_path(doc, path);
  return value == nullptr ? nullptr : value->if_string();
}

// RFC 6749 §5.2 allows more, but real codes are short identifiers; anything else is
// not trusted to be an error code (it could be a message, or worse).
bool is_error_code(std::string_view code) {
  return !code.empty() && code.size() <= kMaxErrorCode && std::all_of(code.begin(), code.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.' || c == ':';
  });
}

std::optional<std::string> oauth_error_code(const json::object& doc) {
  const json::string* error = string_at(doc, "error");
  if (error == nullptr || !is_error_code(*error)) return std::nullopt;
  return std::string(*error);
}

// Printable ASCII only, every sensitive value masked, then cut to kMaxDescription.
std::string sanitize(std::string_view text, const Sensitive& sensitive) {
  std::string out(text);
  for (const auto& secret : sensitive) {
    const std::string& value = secret.reveal();
    if (value.size() < 4) continue;  // masking a 1–3 byte value would mangle ordinary words
    for (std::size_t at = out.find(value); at != std::string::npos; at = out.find(value, at + 3)) {
      out.replace(at, value.size(), "***");
    }
  }
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) c = u == '\t' || u == '\n' || u == '\r' ? ' ' : '?';
  }
  if (out.size() > kMaxDescription) out.resize(kMaxDescription);
  return out;
}

std::string summary(const json::object& doc, const std::string& code, const Sensitive& sensitive) {
  std::string out = code;
  if (const json::string* description = string_at(doc, "error_description"); description && !description->empty()) {
    out += ": " + sanitize(*description, sensitive);
  }
  return out;
}

// The request's secrets plus any token the answer itself carries, so that an error
// description quoting one of them cannot leak it either.
Sensitive masks(const Sensitive& base, const json::object& doc, const config::TokenResponse& paths) {
  Sensitive out = base;
  for (const std::string& path : {paths.access_token_path, paths.refresh_token_path, std::string("access_token"),
                                  std::string("refresh_token"), std::string("id_token")}) {
    if (const json::string* token = string_at(doc, path)) out.emplace_back(std::string(*token));
  }
  return out;
}

std::optional<std::chrono::seconds> retry_after(const upstream::Response& response) {
  const std::string value = response.header("Retry-After");
  const std::string_view text = trim(value);
  std::int64_t seconds = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || seconds < 0) return std::nullopt;
  return std::chrono::seconds(std::min(seconds, kMaxRetryAfter));
}

// A lifetime in seconds from a JSON number or a numeric string; nullopt when it is
// neither or not positive.
std::optional<std::chrono::seconds> lifetime(const json::value* value) {
  if (value == nullptr) return std::nullopt;
  double seconds = 0;
  if (const auto* i = value->if_int64()) {
    seconds = static_cast<double>(*i);
  } else if (const auto* u = value->if_uint64()) {
    seconds = static_cast<double>(*u);
  } else if (const auto* d = value->if_double()) {
    seconds = *d;
  } else if (const auto* s = value->if_string()) {
    const std::string_view text = trim(*s);
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  } else {
    return std::nullopt;
  }
  if (!std::isfinite(seconds) || seconds < 1) return std::nullopt;
  if (seconds >= static_cast<double>(kMaxExpiresIn.count())) return kMaxExpiresIn;
  return std::chrono::seconds(static_cast<std::int64_t>(seconds));
}

void add_scope(std::vector<std::string>& scopes, std::string_view scope) {
  scope = trim(scope);
  if (scope.empty()) return;
  if (std::find(scopes.begin(), scopes.end(), scope) == scopes.end()) scopes.emplace_back(scope);
}

// A string split on the provider's separator — and, defensively, on spaces and
// commas, which some providers use whatever they document — or a JSON array.
std::vector<std::string> granted_scopes(const json::value* value, const std::string& separator) {
  std::vector<std::string> scopes;
  if (value == nullptr) return scopes;
  if (const auto* array = value->if_array()) {
    for (const auto& item : *array) {
      if (const auto* s = item.if_string()) add_scope(scopes, *s);
    }
    return scopes;
  }
  const auto* text = value->if_string();
  if (text == nullptr) return scopes;
  std::string spaced(*text);
  if (!separator.empty() && separator != " " && separator != ",") {
    for (std::size_t at = spaced.find(separator); at != std::string::npos; at = spaced.find(separator, at + 1)) {
      spaced.replace(at, separator.size(), " ");
    }
  }
  std::size_t start = 0;
  while (start <= spaced.size()) {
    const std::size_t end = std::min(spaced.find_first_of(" ,", start), spaced.size());
    add_scope(scopes, std::string_view(spaced).substr(start, end - start));
    start = end + 1;
  }
  return scopes;
}

std::string status_text(unsigned status) { return "HTTP " + std::to_string(status); }

GrantError answered(std::string code, std::string message, unsigned status, bool retryable) {
  return GrantError{std::move(code), std::move(message), true, retryable, static_cast<int>(status), std::nullopt};
}

GrantError oauth_error(const config::Provider& provider, const json::object& doc, const std::string& code,
                       unsigned status, const Sensitive& sensitive) {
  return answered(code, "the token endpoint answered " + status_text(status) + " with OAuth error " +
                            summary(doc, code, masks(sensitive, doc, provider.token_response)),
                  status, false);
}

GrantError invalid_response(std::string message, unsigned status) {
  return answered("invalid_token_response", std::move(message), status, false);
}

// The token set of a 2xx answer whose access token is at `paths.access_token_path`.
GrantResult token_set(const config::Provider& provider, const json::object& doc, const config::TokenResponse& paths,
                      unsigned status) {
  TokenSet set;
  set.access_token = crypto::Secret(std::string(*string_at(doc, paths.access_token_path)));
  if (const json::string* refresh = string_at(doc, paths.refresh_token_path)) {
    set.refresh_token = crypto::Secret(std::string(*refresh));
  }
  set.expires_in = lifetime(at_path(doc, paths.expires_in_path));
  if (!set.expires_in) set.expires_in = provider.token_response.expires_in_default;
  set.scopes = granted_scopes(at_path(doc, paths.scope_path), provider.scope_separator);

  // token_type beside the access token (Slack: authed_user.token_type), else at the top.
  const std::string& access_path = paths.access_token_path;
  const std::size_t dot = access_path.rfind('.');
  const json::string* type =
      dot == std::string::npos ? nullptr : string_at(doc, access_path.substr(0, dot + 1) + "token_type");
  if (type == nullptr) type = string_at(doc, "token_type");
  if (type != nullptr) set.token_type = sanitize(*type, {});

  for (const auto& [name, captured] : provider.token_response.connection_params) {
    const json::value* value = at_path(doc, captured.path);
    if (value == nullptr) continue;
    const json::string* text = value->if_string();
    if (text == nullptr) {
      return invalid_response("the token response's " + name + " (at " + captured.path + ") is not a string", status);
    }
    if (auto error = check_param(provider, name, *text)) {
      return invalid_response("the token response's " + name + " was refused: " + error->message, status);
    }
    set.connection_params.emplace(name, std::string(*text));
  }
  return set;
}

GrantResult read_success(const config::Provider& provider, const upstream::Response& response, Grant grant,
                         const Sensitive& sensitive) {
  const unsigned status = response.status;
  const auto doc = parse_body(response);
  if (!doc) {
    const std::string type = media_type(response);
    return invalid_response("the token endpoint answered " + status_text(status) +
                                " with a body that is neither a JSON object nor a form (" +
                                (type.empty() ? std::string("no Content-Type") : sanitize(type, sensitive)) + ")",
                            status);
  }
  // Slack answers every call with 200 and says {"ok": false, "error": …} on failure.
  if (const auto* ok = doc->if_contains("ok"); ok && ok->is_bool() && !ok->as_bool()) {
    if (auto code = oauth_error_code(*doc)) return oauth_error(provider, *doc, *code, status, sensitive);
    return answered("token_exchange_failed",
                    "the token endpoint answered " + status_text(status) + " with ok: false and no error code",
                    status, false);
  }

  const config::TokenResponse& configured = provider.token_response;
  const json::string* access = string_at(*doc, configured.access_token_path);
  if (access != nullptr && !access->empty()) return token_set(provider, *doc, configured, status);

  // A refreshed Slack user token comes back at the top level, not under authed_user.
  if (grant == Grant::refresh_token && configured.access_token_path != "access_token") {
    if (const json::string* top = string_at(*doc, "access_token"); top && !top->empty()) {
      config::TokenResponse standard;
      standard.connection_params = configured.connection_params;
      return token_set(provider, *doc, standard, status);
    }
  }
  // GitHub answers a bad code with 200 and {"error": "bad_verification_code", …}.
  if (auto code = oauth_error_code(*doc)) return oauth_error(provider, *doc, *code, status, sensitive);
  return invalid_response("the token response has no access token at " + configured.access_token_path, status);
}

}  // namespace

GrantResult read_token_response(const config::Provider& provider, const upstream::Response& response, Grant grant,
                                const Sensitive& sensitive) {
  const unsigned status = response.status;
  if (status >= 200 && status < 300) return read_success(provider, response, grant, sensitive);

  const auto doc = parse_body(response);
  const auto code = doc ? oauth_error_code(*doc) : std::nullopt;
  if (status == 429 || status >= 500) {
    std::string message = "the token endpoint answered " + status_text(status);
    if (code) message += " (" + summary(*doc, *code, masks(sensitive, *doc, provider.token_response)) + ")";
    GrantError error = answered("token_exchange_failed", std::move(message), status, true);
    error.retry_after = retry_after(response);
    return error;
  }
  if (status >= 400 && code) return oauth_error(provider, *doc, *code, status, sensitive);
  return answered("token_exchange_failed",
                  "the token endpoint answered " + status_text(status) + (status >= 400 ? " without an OAuth error" : ""),
                  status, false);
}

GrantError unanswered(const upstream::Error& error, std::string_view endpoint) {
  GrantError out;
  out.code = "token_exchange_failed";
  out.request_sent = error.request_sent;
  // Unreachable before sending is worth a retry; a URL or request that is not valid is not.
  out.retryable = !error.request_sent && error.failure != upstream::Failure::bad_url &&
                  error.failure != upstream::Failure::bad_request;
  out.message = std::string(error.request_sent ? "the answer of the " : "could not reach the ") +
                std::string(endpoint) +
                (error.request_sent ? " was lost after the request was sent (" : " (") +
                std::string(upstream::to_string(error.failure)) + "): " + error.message;
  return out;
}

std::string oauth_error_summary(const upstream::Response& response, const Sensitive& sensitive) {
  const auto doc = parse_body(response);
  if (!doc) return {};
  const auto code = oauth_error_code(*doc);
  return code ? summary(*doc, *code, masks(sensitive, *doc, config::TokenResponse{})) : std::string{};
}

bool says_not_ok(const upstream::Response& response) {
  const auto doc = parse_body(response);
  if (!doc) return false;
  const auto* ok = doc->if_contains("ok");
  return ok != nullptr && ok->is_bool() && !ok->as_bool();
}

}  // namespace tollgate::oauth::detail
