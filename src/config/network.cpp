#include "network.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace tollgate::config::detail {
namespace {

bool is_ipv4(const std::string& host) {
  in_addr addr{};
  return inet_pton(AF_INET, host.c_str(), &addr) == 1;
}

bool is_ipv6(const std::string& host) {
  in6_addr addr{};
  return inet_pton(AF_INET6, host.c_str(), &addr) == 1;
}

bool is_dns_name(std::string_view host) {
  if (host.empty() || host.size() > 253 || host.front() == '.' || host.front() == '-') return false;
  for (char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::optional<unsigned> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  unsigned port = 0;
  std::from_chars(text.data(), text.data() + text.size(), port);
  if (port > 65535) return std::nullopt;
  return port;
}

struct HostPort {
  std::string host;  // without brackets
  bool bracketed = false;
  std::string_view port;
};

// Splits at the last colon, honouring "[v6]:port".
std::optional<HostPort> split_host_port(std::string_view text) {
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') return std::nullopt;
    return HostPort{std::string(text.substr(1, close - 1)), true, text.substr(close + 2)};
  }
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const std::string_view host = text.substr(0, colon);
  if (host.find(':') != std::string_view::npos) return std::nullopt;  // an IPv6 literal needs brackets
  return HostPort{std::string(host), false, text.substr(colon + 1)};
}

}  // namespace

std::optional<Listen> parse_listen(std::string_view text) {
  const auto parts = split_host_port(text);
  if (!parts) return std::nullopt;
  const auto port = parse_port(parts->port);
  if (!port) return std::nullopt;
  const bool host_ok = parts->bracketed ? is_ipv6(parts->host) : parts->host == "localhost" || is_ipv4(parts->host);
  if (!host_ok) return std::nullopt;
  return Listen{parts->host, static_cast<std::uint16_t>(*port)};
}

std::string format_listen(const Listen& listen) {
  const bool v6 = listen.host.find(':') != std::string::npos;
  return (v6 ? "[" + listen.host + "]" : listen.host) + ":" + std::to_string(listen.port);
}

bool is_loopback(std::string_view host) {
  if (host == "localhost") return true;
  const std::string h(host);
  in_addr v4{};
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, h.c_str(), &v6) != 1) return false;
  if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
  return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
}

bool is_host_port(std::string_view text) {
  const auto parts = split_host_port(text);
  if (!parts) return false;
  const auto port = parse_port(parts->port);
  if (!port || *port == 0) return false;
  return parts->bracketed ? is_ipv6(parts->host) : is_dns_name(parts->host);
}

CheckedUrl check_public_url(std::string_view text) {
  std::string_view rest;
  std::string_view scheme;
  for (std::string_view candidate : {"http://", "https://"}) {
    if (text.substr(0, candidate.size()) == candidate) {
      scheme = candidate;
      rest = text.substr(candidate.size());
    }
  }
  if (scheme.empty()) return {"", "expected an http:// or https:// URL, like https://relay.example.com"};
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return {"", "must not have a query (?…) or fragment (#…): it is the base of the redirect URI"};
  }
  for (char c : rest) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return {"", "must not contain spaces or control characters"};
    }
  }
  const std::size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  const std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) return {"", "must not carry user info (user@host)"};

  std::string host;
  std::optional<std::string_view> port;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return {"", "has an unclosed [ in its host"};
    host = std::string(authority.substr(1, close - 1));
    if (!is_ipv6(host)) return {"", "has a bracketed host that is not an IPv6 address"};
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return {"", "has something after its [IPv6] host that is not :port"};
      port = after.substr(1);
    }
  } else {
    const std::size_t colon = authority.find(':');
    host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
    if (host.empty()) return {"", "has no host, expected e.g. https://relay.example.com"};
    if (!is_dns_name(host)) return {"", "has a host that is not a DNS name or IP address"};
  }
  if (port) {
    const auto number = parse_port(*port);
    if (!number || *number == 0) return {"", "has a port that is not a number from 1 to 65535"};
  }

  std::string url(scheme);
  url += authority;
  url += path;
  while (url.size() > scheme.size() + authority.size() && url.back() == '/') url.pop_back();
  return {url, ""};
}

}  // namespace tollgate::config::detail
