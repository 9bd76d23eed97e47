#pragma once
// tollgate's configuration (SPEC §3) as plain structs. Defaults here are the
// defaults of SPEC §3; load() fills them from YAML and reports every problem.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
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

// A provider catalog entry. The catalog issue defines the full schema; until
// then an entry may only carry `display_name`, and any other key is an error.
struct Provider {
  std::string key;
  std::string display_name;
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
