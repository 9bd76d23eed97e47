#pragma once
// Which relay a client verb talks to and with which key (SPEC §2):
//   URL: --url, else TOLLGATE_URL, else http://127.0.0.1:8080.
//   Key: --key, else TOLLGATE_KEY, else — only when the URL's host is
//   loopback — TOLLGATE_ADMIN_KEY, else the admin.key_file of the config named
//   by --config (default config/tollgate.yaml, relative to the current directory).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tollgate/config/load.hpp"
#include "tollgate/crypto/secret.hpp"

namespace tollgate::cli {

inline constexpr std::string_view kDefaultUrl = "http://127.0.0.1:8080";
inline constexpr std::string_view kDefaultConfig = "config/tollgate.yaml";

// A relay's base URL, e.g. https://relay.example.com:8443/tollgate.
struct BaseUrl {
  std::string text;    // as given, without a trailing slash; what error messages show
  bool tls = false;    // https
  std::string host;    // a name or an IP literal, IPv6 without brackets
  std::uint16_t port = 0;
  std::string prefix;  // path before /v1/…, "" or "/something" (no trailing slash)
  bool ip_literal = false;

  // "host[:port]" for the Host header (the port left out when it is the scheme's default).
  std::string authority() const;
};

// Parses an http:// or https:// base URL; throws UsageError naming `source`
// (e.g. "--url" or "TOLLGATE_URL") when it is not one.
BaseUrl parse_base_url(std::string_view text, std::string_view source);

// 127.0.0.0/8, ::1 (also as ::ffff:127.x.y.z) and "localhost".
bool is_loopback(const BaseUrl& url);

// What the verb was given on its command line.
struct TargetOptions {
  std::optional<std::string> url;
  std::optional<std::string> key;
  std::optional<std::string> config;  // --config FILE
  std::optional<std::string> tenant;  // --tenant T → Tollgate-Tenant
};

struct Target {
  BaseUrl url;
  crypto::Secret key;
  std::string key_source;  // "--key", "TOLLGATE_KEY", "TOLLGATE_ADMIN_KEY" or the key file's path; never the key
  std::optional<std::string> tenant;
};

// Resolves URL and key. An empty environment variable counts as unset. Throws
// UsageError (one line saying how to give a key) when no key can be found or
// the config holding the admin key file cannot be used.
Target resolve_target(const TargetOptions& options, const config::EnvLookup& env);

}  // namespace tollgate::cli
