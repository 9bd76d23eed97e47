#pragma once
// An absolute http(s) URL taken apart for sending a request to it.
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "tollgate/upstream/error.hpp"

namespace tollgate::upstream {

struct Url {
  bool tls = false;         // https
  std::string host;         // for DNS, SNI and the certificate check; an IPv6 literal without brackets
  bool ip_literal = false;  // host is an IPv4 or IPv6 address
  std::uint16_t port = 0;   // explicit or the scheme's default
  std::string authority;    // the Host header: host (IPv6 in brackets), ":port" unless the default
  std::string target;       // path and query exactly as written (no re-encoding); "/" for an empty path

  // "https://host:port" — safe to log.
  std::string origin() const;
  // origin() + path, without the query — safe to log.
  std::string redacted() const;
};

// Fails with Failure::bad_url for anything but http:// and https:// with a host,
// for userinfo, and for a port outside 1–65535. The message never repeats the URL.
std::variant<Url, Error> parse_url(std::string_view text);

}  // namespace tollgate::upstream
