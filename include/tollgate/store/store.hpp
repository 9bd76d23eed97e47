#pragma once
// The Store: everything tollgate persists, behind one asynchronous interface
// with a SQLite backend (embedded, one process) and a Redis backend (shared by
// instances). Operations never block the calling io_context; they resume the
// calling coroutine on its own executor. Each issue adds its records'
// operations here, to both backends and to the contract suite in
// tests/unit/store/ that runs unchanged against every backend.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "tollgate/store/records.hpp"

namespace tollgate::store {

enum class Errc {
  not_found,    // no such record
  conflict,     // a create whose id exists, or a compare-and-set whose version no longer matches
  unavailable,  // the backend cannot be reached or timed out; nothing is known to have been written
  corrupt,      // a stored record could not be decoded
  bad_cursor,   // a list cursor that this store did not hand out (or that was altered)
};
std::string_view to_string(Errc e) noexcept;

struct Error {
  Errc code;
  std::string message;  // for logs; never contains a secret
};

template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit on purpose, like std::optional
  Result(Error error) : v_(std::move(error)) {}
  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  const Error& error() const { return std::get<1>(v_); }
  bool is(Errc code) const noexcept { return !ok() && std::get<1>(v_).code == code; }

 private:
  std::variant<T, Error> v_;
};

struct Unit {};  // the value of an operation that returns nothing

// status → number of records with that status (statuses with none are absent).
using StatusCounts = std::map<std::string, std::uint64_t>;

template <typename T>
using Task = boost::asio::awaitable<Result<T>>;

// A write that instances sharing the store must hear of (Store::watch_changes).
struct Change {
  enum class Kind {
    auth_config,  // `id` was written at `version`; `lookups` when it was created or changed status
    api_key,      // API key `id` was written (revoked)
    resync,       // changes may have been missed: whatever is cached may be out of date
  };
  Kind kind = Kind::resync;
  std::string id;
  std::uint64_t version = 0;
  bool lookups = false;
};
using ChangeHandler = std::function<void(const Change&)>;

class Store {
 public:
  virtual ~Store() = default;

  // Reachable and usable (for /readyz).
  virtual Task<Unit> ping() = 0;

  // Tenants. create sets version = 1 and fails with conflict if the id exists.
  virtual Task<Tenant> create_tenant(Tenant tenant) = 0;
  virtual Task<Tenant> get_tenant(std::string id) = 0;
  virtual Task<Page<Tenant>> list_tenants(std::string cursor, std::size_t limit) = 0;
  // Writes `tenant` if the stored version equals tenant.version; the result has version + 1.
  virtual Task<Tenant> update_tenant(Tenant tenant) = 0;

  // API keys (hashes only). find_api_key_by_hash finds revoked keys too: the caller decides.
  virtual Task<ApiKey> create_api_key(ApiKey key) = 0;
  virtual Task<ApiKey> get_api_key(std::string id) = 0;
  virtual Task<ApiKey> find_api_key_by_hash(std::string hash) = 0;
  virtual Task<Page<ApiKey>> list_api_keys(std::string tenant_id, std::string cursor, std::size_t limit) = 0;
  // Sets revoked_at (once; revoking a revoked key keeps the first time) and returns the key.
  virtual Task<ApiKey> revoke_api_key(std::string id, Millis at) = 0;

  // Provider settings. put with version 0 creates (conflict if one exists; not_found
  // if the tenant does not); with version n it is compare-and-set (not_found if
  // none exists). The result has the new version. get of none → not_found.
  virtual Task<ProviderSetting> get_provider_setting(std::string tenant_id, std::string provider) = 0;
  virtual Task<std::vector<ProviderSetting>> list_provider_settings(std::string tenant_id) = 0;
  virtual Task<ProviderSetting> put_provider_setting(ProviderSetting setting) = 0;

  // Setup sessions. create sets version 1 (conflict if the id exists; not_found if
  // the tenant does not); update is compare-and-set like update_tenant.
  // find_setup_session_by_state finds the session whose state_hash is `state_hash`.
  // list_setup_sessions is one tenant's, newest last, filtered.
  virtual Task<SetupSession> create_setup_session(SetupSession session) = 0;
  virtual Task<SetupSession> get_setup_session(std::string id) = 0;
  virtual Task<SetupSession> find_setup_session_by_state(std::string state_hash) = 0;
  virtual Task<SetupSession> update_setup_session(SetupSession session) = 0;
  virtual Task<Page<SetupSession>> list_setup_sessions(std::string tenant_id, SetupSessionFilter filter,
                                                        std::string cursor, std::size_t limit) = 0;
  // Pending sessions whose expires_at is before `now`, any tenant, at most `limit` (for the sweep).
  virtual Task<std::vector<SetupSession>> list_expired_setup_sessions(Millis now, std::size_t limit) = 0;

  // Auth configs: same create/get/update rules; lists are one tenant's, filtered.
  virtual Task<AuthConfig> create_auth_config(AuthConfig config) = 0;
  virtual Task<AuthConfig> get_auth_config(std::string id) = 0;
  virtual Task<AuthConfig> update_auth_config(AuthConfig config) = 0;
  virtual Task<Page<AuthConfig>> list_auth_configs(std::string tenant_id, AuthConfigFilter filter,
                                                    std::string cursor, std::size_t limit) = 0;

  // Metering (SPEC §6). Applies a usage batch all at once: adds its rows to the
  // counters and moves each named auth config's last_used_at forward (auth
  // configs that do not exist are skipped; last_used_at is kept apart from the
  // record's version, so it never makes a compare-and-set conflict). Answers
  // true when applied now, false when a batch of the same shard with this seq or
  // a later one was applied already (nothing changes).
  virtual Task<bool> apply_usage_batch(UsageBatch batch) = 0;
  // Rows with from_day <= day < to_day matching `filter`, at the finest grain,
  // ordered by (day, tenant, provider, auth config, mode).
  virtual Task<std::vector<UsageRow>> query_usage(UsageFilter filter, Day from_day, Day to_day) = 0;
  // Takes up to `want` tokens from the tenant's token bucket shared by every
  // instance on this store: it holds at most `capacity` tokens (full at first)
  // and gains `rate_per_second`. SQLite keeps it in memory (one process).
  virtual Task<RateGrant> take_rate_tokens(std::string tenant_id, double rate_per_second, std::uint64_t capacity,
                                           std::uint64_t want) = 0;

  // Cross-instance refresh (DESIGN "Distributed refresh"): a short lock on
  // refreshing one auth config, held by `owner` (a random token) for `ttl`
  // unless renewed. acquire answers true when `owner` holds it now (a resend
  // after a lost answer too); renew extends it only while `owner` still holds
  // it (false: it expired, maybe another took it); release removes it only while
  // `owner` holds it, never another owner's. SQLite keeps them in memory (one
  // process owns the database); Redis shares them between instances.
  virtual Task<bool> acquire_refresh_lock(std::string tenant_id, std::string auth_config_id, std::string owner,
                                          std::chrono::milliseconds ttl) = 0;
  virtual Task<bool> renew_refresh_lock(std::string tenant_id, std::string auth_config_id, std::string owner,
                                        std::chrono::milliseconds ttl) = 0;
  virtual Task<bool> release_refresh_lock(std::string tenant_id, std::string auth_config_id, std::string owner) = 0;

  // Starts telling `handler` of every write to an auth config or API key made
  // through any store that shares this one's data, within a second (and
  // Change::Kind::resync when some may have been missed). `handler` runs on a
  // thread of the store's, one call at a time, and must not block. The default
  // tells nothing: one process owns the data, and its writers update their
  // caches themselves (SQLite). Called once, before serving.
  virtual void watch_changes(ChangeHandler handler);

  // Counts by status over every tenant (for the metrics gauges, refreshed every
  // few seconds, not per request). The default walks every tenant's lists page
  // by page; a backend with an index on status answers from it.
  virtual Task<StatusCounts> count_setup_sessions_by_status();
  virtual Task<StatusCounts> count_auth_configs_by_status();
};

}  // namespace tollgate::store
