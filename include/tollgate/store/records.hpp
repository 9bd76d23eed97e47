#pragma once
// The records tollgate keeps, as plain values. Every record carries a version
// that the store increments on each write; updates are compare-and-set on it.
// Times are milliseconds since the Unix epoch (UTC).
#include <cstdint>
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

// One page of a list, in creation order (then id). `next_cursor` is opaque to
// callers and empty on the last page.
template <typename T>
struct Page {
  std::vector<T> items;
  std::string next_cursor;
};

}  // namespace tollgate::store
