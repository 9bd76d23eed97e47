#pragma once
// tollgate's configuration (SPEC §3) as plain structs. Defaults here are the
// defaults of SPEC §3; load() fills them from YAML and reports every problem.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tollgate/crypto/secret.hpp"

namespace tollgate::config {

using Duration = std::chrono::milliseconds;
using namespace std::chrono_literals;

inline constexpr std::uint64_t KiB = 1024;
inline constexpr std::uint64_t MiB = 1024 * KiB;

struct Listen {
  std::string host = "127.0.0.1";  // an IPv4/IPv6 literal or "localhost"
  std::uint16_t port = 8080;       // 0 = any free port
  bool operator==(const Listen&) const = default;
};

struct Limits {
  std::uint64_t max_header_bytes = 16 * KiB;
  std::uint64_t max_uri_bytes = 8 * KiB;
  std::uint64_t max_body_bytes = 10 * MiB;
  bool operator==(const Limits&) const = default;
};

struct Timeouts {
  Duration header_read = 10s;
  Duration idle = 60s;
  Duration request = 60s;
  Duration shutdown_grace = 20s;
  bool operator==(const Timeouts&) const = default;
};

struct Server {
  Listen listen;
  std::string public_url = "http://127.0.0.1:8080";  // no trailing slash
  unsigned workers = 0;                               // 0 = one per core
  Limits limits;
  Timeouts timeouts;
  bool operator==(const Server&) const = default;
};

enum class StoreKind { sqlite, redis };

struct SqliteStore {
  std::filesystem::path path;  // absolute after load
  bool operator==(const SqliteStore&) const = default;
};

struct RedisStore {
  std::string url = "redis://127.0.0.1:6379/0";
  std::vector<std::string> sentinels;  // "host:port"
  std::string master_name;
  Duration command_timeout = 2s;
  bool operator==(const RedisStore&) const = default;
};

struct Store {
  StoreKind kind = StoreKind::sqlite;
  SqliteStore sqlite;
  RedisStore redis;
  bool operator==(const Store&) const = default;
};

struct InlineKey {
  std::string id;
  crypto::Secret value;  // base64 of 32 bytes (validated by load)
  bool operator==(const InlineKey&) const = default;
};

struct Secrets {
  std::filesystem::path keys_file;  // absolute after load; empty when `keys` is used
  std::vector<InlineKey> keys;
  std::string primary;              // with `keys`: which id seals new values (default: the first)
  bool operator==(const Secrets&) const = default;
};

struct Admin {
  std::filesystem::path key_file;  // absolute after load
  bool operator==(const Admin&) const = default;
};

// ---- The provider catalog (SPEC §3 "Provider catalog") ----
//
// Templates: authorization_url, token_url, refresh_url, revocation_url, issuer,
// api.base_url, api.headers values and credentials may hold `{name}`, which
// oauth/templates.hpp replaces with the connection's value for parameter
// `name` after checking it against the parameter's pattern. Credentials also
// take `{api_key}` (api_key, basic) or `{access_token}` (oauth modes).

enum class AuthMode { oauth2, oauth2_client_credentials, api_key, basic };
enum class TokenEndpointAuth { client_secret_post, client_secret_basic };
enum class TokenBodyFormat { form, json };

using StringMap = std::map<std::string, std::string>;

// A value the connection supplies (setup session, connect page or import).
struct ConnectionParam {
  std::string pattern;      // ECMAScript regex, anchored ^…$; a value must match it whole
  std::string description;  // for humans (the connect page)
  bool operator==(const ConnectionParam&) const = default;
};

// A value captured from the token response (e.g. Salesforce's instance_url).
struct ResponseParam {
  std::string path;         // dotted path into the token response JSON
  std::string pattern;      // as ConnectionParam::pattern
  std::string description;
  bool operator==(const ResponseParam&) const = default;
};

// Where the fields of a token response are (dotted paths into its JSON).
struct TokenResponse {
  std::string access_token_path = "access_token";
  std::string refresh_token_path = "refresh_token";
  std::string expires_in_path = "expires_in";
  std::string scope_path = "scope";
  std::optional<std::chrono::seconds> expires_in_default;  // for providers that omit expires_in; none = no expiry
  std::map<std::string, ResponseParam> connection_params;
  bool operator==(const TokenResponse&) const = default;
};

struct ProviderApi {
  std::string base_url;            // templated; the relay forwards to base_url + "/" + path
  StringMap headers;               // fixed headers on every proxied call; values templated
  std::vector<int> refresh_on_status{401};
  bool operator==(const ProviderApi&) const = default;
};

// Where the credential goes on a proxied call. The loader fills the defaults:
// oauth modes without a `credentials` block get header Authorization with
// "Bearer {access_token}"; a header without `format` gets "{api_key}"
// ("{access_token}" in oauth modes, "Bearer {access_token}" for Authorization).
struct Credentials {
  std::string header;    // header name; empty when `query` is used, and for basic
  std::string format;    // the header's (or query parameter's) value, templated
  std::string query;     // query parameter name instead of a header
  std::string username;  // basic
  std::string password;  // basic; may be empty
  bool operator==(const Credentials&) const = default;
};

// A request that tries a pasted API key before it is stored.
struct Verification {
  std::string method = "GET";  // GET, HEAD or POST
  std::string path;            // joined to api.base_url
  bool operator==(const Verification&) const = default;
};

// The operator's OAuth app. Disabled (with a warning) when client_id or
// client_secret comes out empty; only an enabled app makes managed mode available.
struct ManagedApp {
  std::string service_config_key;
  crypto::Secret client_id;
  crypto::Secret client_secret;
  bool enabled = false;  // computed by the loader
  bool operator==(const ManagedApp&) const = default;
};

// An API key held by the operator, so calls need no auth config.
struct DeploymentCredentials {
  crypto::Secret api_key;
  bool enabled = false;  // computed by the loader: false when api_key is empty
  bool operator==(const DeploymentCredentials&) const = default;
};

// A provider catalog entry. An alias has been merged with its target by the
// loader, so every field is complete; `alias` names the target for humans.
struct Provider {
  // Every member has an initializer, so `Provider{"github", "GitHub"}` names the rest by default.
  std::string key{};
  std::string display_name{};  // default: the alias target's, else the key
  std::string alias{};         // the provider this one inherits from; empty when none
  std::string docs_url{};      // for humans; may be empty
  AuthMode auth_mode = AuthMode::oauth2;
  std::string authorization_url{};
  std::string token_url{};
  std::string refresh_url{};     // empty = token_url
  std::string revocation_url{};  // RFC 7009; empty = none
  TokenEndpointAuth token_endpoint_auth = TokenEndpointAuth::client_secret_post;
  TokenBodyFormat token_body_format = TokenBodyFormat::form;
  StringMap token_headers{};  // extra headers on token requests (not templated)
  bool pkce = true;           // S256
  std::string scope_param = "scope";  // the authorization query parameter that carries scopes
  std::string scope_separator = " ";
  std::vector<std::string> default_scopes{};
  StringMap authorization_params{};
  StringMap token_params{};
  StringMap refresh_params{};
  TokenResponse token_response{};
  std::string issuer{};  // RFC 9207; empty = not checked
  ProviderApi api{};
  Credentials credentials{};
  std::optional<Verification> verification{};
  std::optional<ManagedApp> managed{};
  std::optional<DeploymentCredentials> deployment_credentials{};
  std::map<std::string, ConnectionParam> connection_params{};

  // The service_config_key when managed mode is available (SPEC's managed_service_config_key), else null.
  const std::string* managed_service_config_key() const {
    return managed && managed->enabled ? &managed->service_config_key : nullptr;
  }
  bool has_deployment_credentials() const { return deployment_credentials && deployment_credentials->enabled; }
  const std::string& effective_refresh_url() const { return refresh_url.empty() ? token_url : refresh_url; }

  bool operator==(const Provider&) const = default;
};

struct UpstreamTimeouts {
  Duration connect = 5s;
  Duration first_byte = 60s;
  Duration idle = 60s;
  bool operator==(const UpstreamTimeouts&) const = default;
};

struct Relay {
  Duration refresh_margin = 5min;
  std::uint64_t replay_limit = 1 * MiB;
  std::filesystem::path ca_file;  // absolute after load; empty = none
  UpstreamTimeouts upstream_timeouts;
  bool operator==(const Relay&) const = default;
};

struct SetupSessions {
  Duration ttl = 30min;
  bool operator==(const SetupSessions&) const = default;
};

struct Metering {
  bool enabled = true;
  Duration flush_interval = 1s;
  std::filesystem::path journal_dir;  // absolute after load
  bool operator==(const Metering&) const = default;
};

struct Billing {
  std::string currency = "USD";                         // ISO 4217, three upper-case letters
  std::vector<std::string> billable_modes{"managed"};  // each "managed" or "your-own"
  std::map<std::string, std::string> prices{{"default", "0.10"}, {"github", "0.05"}};  // decimal strings
  bool operator==(const Billing&) const = default;
};

struct Quota {
  std::uint64_t monthly_calls = 0;  // 0 = unlimited
  double rate_per_second = 0;       // 0 = unlimited
  std::uint64_t burst = 0;
  bool operator==(const Quota&) const = default;
};

struct Quotas {
  Quota default_quota;  // YAML key `default`
  bool operator==(const Quotas&) const = default;
};

enum class LogLevel { debug, info, warn, error };
enum class LogFormat { json, text };

struct Logging {
  LogLevel level = LogLevel::info;
  LogFormat format = LogFormat::json;
  bool operator==(const Logging&) const = default;
};

struct Config {
  std::filesystem::path file;            // the config file, absolute
  Server server;
  Store store;
  Secrets secrets;
  Admin admin;
  std::filesystem::path providers_file;  // absolute; empty when providers are inline
  std::map<std::string, Provider> providers;
  Relay relay;
  SetupSessions setup_sessions;
  Metering metering;
  Billing billing;
  Quotas quotas;
  Logging logging;
};

}  // namespace tollgate::config
