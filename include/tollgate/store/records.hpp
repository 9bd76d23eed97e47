#pragma once
// The records tollgate keeps, as plain values. Every record carries a version
// that the store increments on each write; updates are compare-and-set on it.
// Times are milliseconds since the Unix epoch (UTC).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tollgate::store {

using Millis = std::int64_t;

// Per-tenant overrides of quotas.default; an unset field uses the default.
struct QuotaOverride {
  std::optional<std::uint64_t> monthly_calls;
  std::optional<double> rate_per_second;
  std::optional<std::uint64_t> burst;
  bool operator==(const QuotaOverride&) const = default;
};

struct Tenant {
  std::string id;  // tnt_…
  std::string name;
  std::vector<std::string> allowed_redirect_origins;
  QuotaOverride quotas;
  Millis created_at = 0;
  Millis updated_at = 0;
  std::uint64_t version = 0;  // set by the store: 1 on create, +1 on each update
  bool operator==(const Tenant&) const = default;
};

struct ApiKey {
  std::string id;         // key_…
  std::string tenant_id;  // tnt_…
  std::string hash;       // crypto::hash_key of the key; the key itself is never stored
  std::string prefix;     // the key's first characters, to tell keys apart in a list
  Millis created_at = 0;
  std::optional<Millis> revoked_at;
  std::uint64_t version = 0;
  bool operator==(const ApiKey&) const = default;
};

// A tenant's choices for one provider (SPEC §4 /v1/providers/{key}/mode and
// /app): its mode, and its own OAuth app. One record per (tenant, provider).
struct ProviderSetting {
  std::string tenant_id;
  std::string provider;
  std::optional<std::string> mode;   // "managed" | "your-own"; unset: the provider's default
  std::string client_id;             // the tenant's own app; empty when none
  std::string client_secret_sealed;  // crypto::Keyring::seal output (bytes); empty when none
  Millis updated_at = 0;
  std::uint64_t version = 0;         // 0 = not stored yet
  bool operator==(const ProviderSetting&) const = default;
};

// One attempt to connect an end user's account (SPEC §4 "Setup session").
// The browser cookie and the OAuth state are stored only as SHA-256 hashes; the
// connect token as a hash (to check it) and sealed (to show the link again); the
// PKCE verifier sealed.
struct SetupSession {
  std::string id;           // pss_…
  std::string tenant_id;
  std::string provider;
  std::string auth_method;  // "oauth" | "api_key"
  std::string status;       // pending | completed | failed | expired | archived
  std::string mode;         // managed | your-own, fixed when the session is created
  std::string external_user_id;
  std::vector<std::string> scopes;
  std::string redirect_url;
  std::map<std::string, std::string> connection_params;
  std::string metadata_json;   // the tenant's free-form metadata, as JSON text ("" = none)
  std::string auth_config_id;  // reconnect target on create; the resulting auth config when completed
  std::string error_code;      // set when failed
  std::string error_message;
  std::string connect_token_hash;    // one-time: cleared when /connect uses it
  std::string connect_token_sealed;  // so GET can show `url` while the link is unused; cleared with the hash
  std::string browser_hash;        // hash of the cookie /connect set
  std::string state_hash;          // hash of the OAuth state sent to the provider
  std::string pkce_verifier_sealed;
  Millis expires_at = 0;
  Millis created_at = 0;
  Millis updated_at = 0;
  std::uint64_t version = 0;
  bool operator==(const SetupSession&) const = default;
};

// A stored connection for one end user and provider (SPEC §4 "Auth config").
// Secrets are sealed with the keyring (AD: tenant, auth config id, field).
struct AuthConfig {
  std::string id;  // pac_…
  std::string tenant_id;
  std::string provider;
  std::string external_user_id;
  std::string status;  // active | needs_reauth | revoked
  std::string mode;    // managed | your-own
  std::string app;     // which app issued the tokens: "managed:<service_config_key>", "your-own:<client_id>", "" for keys
  std::vector<std::string> scopes_granted;
  std::map<std::string, std::string> connection_params;
  std::string metadata_json;
  std::string access_token_sealed;
  std::string refresh_token_sealed;
  std::string api_key_sealed;
  std::string client_id;             // oauth2_client_credentials connections
  std::string client_secret_sealed;  // oauth2_client_credentials connections
  std::optional<Millis> expires_at;  // of the access token
  std::optional<Millis> last_refreshed_at;
  std::optional<Millis> last_used_at;
  // The in-flight marker of a refresh (README "Crash windows of a refresh"):
  // written before the token request by the lock's owner and cleared by the
  // write that stores the new tokens. Found set by another refresh, it means
  // the process that made it died (or lost its lock) while its token request
  // may have been answered with a rotated refresh token.
  std::string refresh_owner;  // the owner token of that lock; empty: no refresh in flight
  std::optional<Millis> refresh_started_at;
  // The last failed refresh (cleared by a successful one): why, and when. While
  // it is recent, refreshes wait out a cooldown instead of asking the provider.
  std::string last_refresh_error;  // never holds a secret
  std::optional<Millis> last_refresh_failed_at;
  Millis created_at = 0;
  Millis updated_at = 0;
  std::uint64_t version = 0;
  bool operator==(const AuthConfig&) const = default;
};

// Filters of list operations; an empty string matches everything.
struct SetupSessionFilter {
  std::string status;
  std::string provider;
  std::string external_user_id;
};
struct AuthConfigFilter {
  std::string status;
  std::string provider;
  std::string external_user_id;
};

// ---- metering (SPEC §6) ----------------------------------------------------

// A UTC calendar day as the number of days since 1970-01-01.
using Day = std::int64_t;

// Counters of usage events. `errors` are calls whose upstream answer was a 5xx
// or that failed after being forwarded (metering/README: "What is counted").
struct UsageCounts {
  std::uint64_t calls = 0;
  std::uint64_t errors = 0;
  std::uint64_t refreshes = 0;
  std::uint64_t request_bytes = 0;
  std::uint64_t response_bytes = 0;
  UsageCounts& operator+=(const UsageCounts& o) {
    calls += o.calls;
    errors += o.errors;
    refreshes += o.refreshes;
    request_bytes += o.request_bytes;
    response_bytes += o.response_bytes;
    return *this;
  }
  bool empty() const { return calls == 0 && errors == 0 && refreshes == 0 && request_bytes == 0 && response_bytes == 0; }
  bool operator==(const UsageCounts&) const = default;
};

// Usage at the store's finest grain: one tenant, provider, auth config ("" for
// deployment credentials), mode ("managed" | "your-own") and UTC day.
struct UsageRow {
  std::string tenant_id;
  std::string provider;
  std::string auth_config_id;
  std::string mode;
  Day day = 0;
  UsageCounts counts;
  bool operator==(const UsageRow&) const = default;
};

// An auth config was used at `at` (the flush moves last_used_at forward, never back).
struct AuthConfigUse {
  std::string tenant_id;
  std::string auth_config_id;
  Millis at = 0;
  bool operator==(const AuthConfigUse&) const = default;
};

// What one journal shard adds to the store in one flush. A shard's batches are
// numbered 1, 2, 3… and applied in that order; the store remembers the highest
// `seq` applied per shard, so a batch sent again (a retry after a lost answer, a
// replay after a crash) changes nothing. `shard` is the shard's random
// incarnation id, never reused.
struct UsageBatch {
  std::string shard;
  std::uint64_t seq = 0;
  std::vector<UsageRow> rows;
  std::vector<AuthConfigUse> last_used;
  std::string id() const { return shard + ":" + std::to_string(seq); }
};

// Which usage rows a query returns; an empty field matches everything.
struct UsageFilter {
  std::string tenant_id;
  std::string provider;
  std::string auth_config_id;
};

// The answer of Store::take_rate_tokens.
struct RateGrant {
  std::uint64_t granted = 0;    // tokens taken, 0..want
  Millis retry_after_ms = 0;    // when granted is 0: how long until a token is there
};

// One page of a list, in creation order (then id). `next_cursor` is opaque to
// callers and empty on the last page.
template <typename T>
struct Page {
  std::vector<T> items;
  std::string next_cursor;
};

}  // namespace tollgate::store
