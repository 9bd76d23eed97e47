// Templates, URLs and header names as the catalog writes them.
#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

#include "network.hpp"
#include "provider_schema.hpp"

namespace tollgate::config::detail {
namespace {

bool is_dns_label_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool is_host_name(std::string_view host) {
  if (host.empty() || host.size() > 253 || host.front() == '.' || host.front() == '-' || host.back() == '.') {
    return false;
  }
  return std::all_of(host.begin(), host.end(), [](char c) { return is_dns_label_char(c) || c == '.'; });
}

bool is_port(std::string_view text) {
  if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != std::string_view::npos) return false;
  const int port = std::stoi(std::string(text));
  return port >= 1 && port <= 65535;
}

// Replaces each {name} with a label that is valid wherever a template may stand.
std::string with_probe_labels(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '{') {
      const std::size_t close = text.find('}', i);
      out += "x";
      i = close;
      continue;
    }
    out += text[i];
  }
  return out;
}

}  // namespace

bool is_param_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || !(name.front() >= 'a' && name.front() <= 'z')) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

std::optional<std::vector<std::string>> template_names(std::string_view text) {
  std::vector<std::string> names;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t brace = text.find_first_of("{}", i);
    if (brace == std::string_view::npos) break;
    if (text[brace] == '}') return std::nullopt;
    const std::size_t close = text.find_first_of("{}", brace + 1);
    if (close == std::string_view::npos || text[close] != '}') return std::nullopt;
    const std::string_view name = text.substr(brace + 1, close - brace - 1);
    if (!is_param_name(name)) return std::nullopt;
    names.emplace_back(name);
    i = close + 1;
  }
  return names;
}

std::string check_catalog_url(std::string_view text) {
  if (!template_names(text)) {
    return "has a { or } that is not part of a {name} template (names are lower-case letters, digits and _)";
  }
  for (char c : text) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      return "must not contain spaces, control characters or non-ASCII characters";
    }
  }
  // "{instance_url}/services": scheme and host come from a checked value when the URL is used.
  if (!text.empty() && text.front() == '{') return "";

  const std::string url = with_probe_labels(text);
  const std::string_view view(url);
  bool https = false;
  std::string_view rest;
  if (view.starts_with("https://")) {
    https = true;
    rest = view.substr(8);
  } else if (view.starts_with("http://")) {
    rest = view.substr(7);
  } else {
    return "expected an absolute https:// URL, like https://api.example.com";
  }
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return "must not have a query (?…) or fragment (#…); put extra parameters in authorization_params, "
           "token_params or refresh_params";
  }
  const std::string_view authority = rest.substr(0, rest.find('/'));
  if (authority.find('@') != std::string_view::npos) return "must not carry user info (user@host)";

  std::string host;
  std::string_view port;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return "has an unclosed [ in its host";
    host = std::string(authority.substr(1, close - 1));
    in6_addr v6{};
    if (inet_pton(AF_INET6, host.c_str(), &v6) != 1) {
      return "has a bracketed host that is not an IPv6 address";
    }
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return "has something after its [IPv6] host that is not :port";
      port = after.substr(1);
      has_port = true;
    }
  } else {
    const std::size_t colon = authority.find(':');
    host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      has_port = true;
    }
    if (host.empty()) return "has no host, expected e.g. https://api.example.com";
    if (!is_host_name(host)) return "has a host that is not a DNS name or IP address";
  }
  if (has_port && !is_port(port)) return "has a port that is not a number from 1 to 65535";
  if (!https && !is_loopback(host)) {
    return "must be https:// (http:// is allowed only for a loopback host such as 127.0.0.1 or localhost)";
  }
  return "";
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool is_header_name(std::string_view name) {
  constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  return !name.empty() && std::all_of(name.begin(), name.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           kSpecials.find(c) != std::string_view::npos;
  });
}

bool is_header_value(std::string_view value) {
  return std::all_of(value.begin(), value.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u == '\t' || (u >= 0x20 && u < 0x7f);
  });
}

bool is_json_path(std::string_view path) {
  if (path.empty() || path.front() == '.' || path.back() == '.') return false;
  if (path.find("..") != std::string_view::npos) return false;
  return std::all_of(path.begin(), path.end(), [](char c) { return is_dns_label_char(c) || c == '.'; });
}

std::string first_variable(std::string_view raw) {
  const std::size_t start = raw.find("${");
  if (start == std::string_view::npos) return "";
  std::size_t end = start + 2;
  while (end < raw.size() && (is_dns_label_char(raw[end]) && raw[end] != '-')) ++end;
  return std::string(raw.substr(start + 2, end - start - 2));
}

}  // namespace tollgate::config::detail
