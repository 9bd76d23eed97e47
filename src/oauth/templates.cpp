#include "tollgate/oauth/templates.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <regex>
#include <unordered_map>

namespace tollgate::oauth {
namespace {

using errors::Code;
using errors::Error;

// Patterns come only from the catalog, so the cache stays small; compiling a
// std::regex costs far more than a lookup. A compiled regex is used through
// const member functions only, which is safe from several threads.
class PatternCache {
 public:
  std::shared_ptr<const std::regex> get(const std::string& pattern) {
    std::lock_guard lock(mutex_);
    if (const auto it = compiled_.find(pattern); it != compiled_.end()) return it->second;
    std::shared_ptr<const std::regex> regex;
    try {
      regex = std::make_shared<const std::regex>(pattern, std::regex::ECMAScript);
    } catch (const std::regex_error&) {
      return nullptr;  // the loader refuses such patterns; refuse every value if one slips through
    }
    if (compiled_.size() >= kMaxEntries) compiled_.clear();  // reloads may retire patterns
    compiled_.emplace(pattern, regex);
    return regex;
  }

 private:
  static constexpr std::size_t kMaxEntries = 1024;
  std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<const std::regex>> compiled_;
};

PatternCache& pattern_cache() {
  static PatternCache cache;
  return cache;
}

bool is_visible_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f;
  });
}

bool has_control_characters(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

// ^[a-z][a-z0-9_]{0,63}$, as the loader requires of parameter names.
bool is_param_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || !(name.front() >= 'a' && name.front() <= 'z')) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

// A name from a request is quoted only when it has the shape of a parameter name.
std::string describe_name(std::string_view name) {
  return is_param_name(name) ? std::string(name) : std::string("(a name that is not a parameter name)");
}

Error bad_request(std::string message) { return Error{Code::bad_request, std::move(message)}; }

// Appends tmpl to out, calling resolve(name, out) for each {name}.
template <class Resolve>
std::optional<Error> expand(std::string_view tmpl, const config::Provider& provider, std::string& out,
                            Resolve&& resolve) {
  std::size_t i = 0;
  while (i < tmpl.size()) {
    const std::size_t open = tmpl.find_first_of("{}", i);
    if (open == std::string_view::npos) {
      out.append(tmpl.substr(i));
      break;
    }
    const std::size_t close = tmpl[open] == '{' ? tmpl.find('}', open + 1) : std::string_view::npos;
    const std::string_view name =
        close == std::string_view::npos ? std::string_view{} : tmpl.substr(open + 1, close - open - 1);
    if (!is_param_name(name)) {
      return Error{Code::internal, "provider " + provider.key + " has a malformed {…} template in its catalog entry"};
    }
    out.append(tmpl.substr(i, open - i));
    if (auto error = resolve(name, out)) return error;
    i = close + 1;
  }
  return std::nullopt;
}

std::optional<Error> append_param(std::string_view name, const ParamValues& values,
                                  const config::Provider& provider, std::string& out) {
  if (param_pattern(provider, name) == nullptr) {
    return Error{Code::internal, "provider " + provider.key + " has a template naming " + std::string(name) +
                                     ", which it does not declare as a connection parameter"};
  }
  const auto it = values.find(std::string(name));
  if (it == values.end()) {
    return bad_request("connection parameter " + std::string(name) + " is missing (provider " + provider.key +
                       " needs it)");
  }
  if (auto error = check_param(provider, name, it->second)) return error;
  out += it->second;
  return std::nullopt;
}

bool is_loopback(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) != 1) return false;
  return IN6_IS_ADDR_LOOPBACK(&v6) || (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
}

bool is_host(const std::string& host, bool bracketed) {
  if (bracketed) {
    in6_addr v6{};
    return inet_pton(AF_INET6, host.c_str(), &v6) == 1;
  }
  if (host.empty() || host.size() > 253 || host.front() == '.' || host.front() == '-' || host.back() == '.') {
    return false;
  }
  return std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
           c == '_';
  });
}

// Empty when url is an absolute https URL (http only to loopback) whose host is plain.
bool is_safe_url(std::string_view url) {
  if (!is_visible_ascii(url) || url.find_first_of("#\\") != std::string_view::npos) return false;
  bool https = false;
  std::string_view rest;
  if (url.starts_with("https://")) {
    https = true;
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else {
    return false;
  }
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?"));
  if (authority.find('@') != std::string_view::npos) return false;
  std::string host;
  std::string_view port;
  bool bracketed = false;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return false;
    host = std::string(authority.substr(1, close - 1));
    bracketed = true;
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') return false;
    if (!after.empty()) port = after.substr(1);
    if (!after.empty() && port.empty()) return false;
  } else {
    const std::size_t colon = authority.find(':');
    host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return false;
    }
  }
  if (!is_host(host, bracketed)) return false;
  if (!port.empty() && (port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos ||
                        std::stoi(std::string(port)) < 1 || std::stoi(std::string(port)) > 65535)) {
    return false;
  }
  return https || is_loopback(host);
}

void wipe(std::string& text) {
  std::fill(text.begin(), text.end(), '\0');
  text.clear();
}

}  // namespace

const std::string* param_pattern(const config::Provider& provider, std::string_view name) {
  const std::string key(name);
  if (const auto it = provider.connection_params.find(key); it != provider.connection_params.end()) {
    return &it->second.pattern;
  }
  const auto& captured = provider.token_response.connection_params;
  if (const auto it = captured.find(key); it != captured.end()) return &it->second.pattern;
  return nullptr;
}

std::optional<Error> check_param(const config::Provider& provider, std::string_view name, std::string_view value) {
  const std::string* pattern = param_pattern(provider, name);
  if (pattern == nullptr) {
    return bad_request(describe_name(name) + " is not a connection parameter of provider " + provider.key);
  }
  const std::string refused = "connection parameter " + std::string(name) + " does not match its pattern";
  if (value.empty()) return bad_request(refused);
  if (value.size() > kMaxParamValueBytes) {
    return bad_request("connection parameter " + std::string(name) + " is longer than " +
                       std::to_string(kMaxParamValueBytes) + " bytes");
  }
  // Spaces, control and non-ASCII bytes never belong in a host, path or header
  // value built from a template, whatever the pattern says.
  if (!is_visible_ascii(value)) return bad_request(refused);
  const auto regex = pattern_cache().get(*pattern);
  if (regex == nullptr || !std::regex_match(value.begin(), value.end(), *regex)) return bad_request(refused);
  return std::nullopt;
}

std::optional<Error> validate_connection_params(const config::Provider& provider, const ParamValues& values) {
  for (const auto& [name, value] : values) {
    if (auto error = check_param(provider, name, value)) return error;
  }
  return std::nullopt;
}

std::vector<std::string> missing_connection_params(const config::Provider& provider, const ParamValues& values) {
  std::vector<std::string> missing;
  for (const auto& [name, param] : provider.connection_params) {
    if (values.find(name) == values.end()) missing.push_back(name);
  }
  return missing;
}

std::variant<std::string, Error> substitute(std::string_view tmpl, const ParamValues& values,
                                            const config::Provider& provider) {
  std::string out;
  if (auto error = expand(tmpl, provider, out, [&](std::string_view name, std::string& to) {
        return append_param(name, values, provider, to);
      })) {
    return *std::move(error);
  }
  return out;
}

std::variant<std::string, Error> expand_url(std::string_view tmpl, const ParamValues& values,
                                            const config::Provider& provider) {
  auto result = substitute(tmpl, values, provider);
  if (const auto* url = std::get_if<std::string>(&result); url != nullptr && !is_safe_url(*url)) {
    return bad_request("the connection parameters of provider " + provider.key +
                       " do not make an https URL with a plain host");
  }
  return result;
}

std::string join_url(std::string_view base, std::string_view path) {
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  std::string out;
  out.reserve(base.size() + 1 + path.size());
  out.append(base);
  out += '/';
  out.append(path);
  return out;
}

std::variant<crypto::Secret, Error> render_credential(std::string_view tmpl, const crypto::Secret& secret,
                                                      const ParamValues& values, const config::Provider& provider) {
  const bool oauth = provider.auth_mode == config::AuthMode::oauth2 ||
                     provider.auth_mode == config::AuthMode::oauth2_client_credentials;
  const std::string_view own = oauth ? "access_token" : "api_key";
  if (has_control_characters(secret.reveal())) {
    return bad_request("the stored credential for provider " + provider.key +
                       " contains control characters and cannot be sent");
  }
  std::string out;
  auto error = expand(tmpl, provider, out, [&](std::string_view name, std::string& to) -> std::optional<Error> {
    if (name == own) {
      to += secret.reveal();
      return std::nullopt;
    }
    return append_param(name, values, provider, to);
  });
  if (error) {
    wipe(out);
    return *std::move(error);
  }
  return crypto::Secret(std::move(out));
}

}  // namespace tollgate::oauth
