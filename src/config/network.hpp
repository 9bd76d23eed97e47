#pragma once
// Addresses and URLs as the config writes them.
#include <optional>
#include <string>
#include <string_view>

#include "tollgate/config/config.hpp"

namespace tollgate::config::detail {

// "host:port" with an IPv4 literal or localhost, or "[v6]:port"; port 0..65535.
std::optional<Listen> parse_listen(std::string_view text);
// The inverse of parse_listen.
std::string format_listen(const Listen& listen);
// 127.0.0.0/8, ::1 (also IPv4-mapped) and localhost.
bool is_loopback(std::string_view host);
// "host:port" where host may also be a DNS name; port 1..65535.
bool is_host_port(std::string_view text);

struct CheckedUrl {
  std::string url;    // normalised: no trailing slash
  std::string error;  // empty when the URL is acceptable
};
// An http(s) URL with a host, no user info, query or fragment.
CheckedUrl check_public_url(std::string_view text);

}  // namespace tollgate::config::detail
