// The SQLite backend. Every call runs on the store's own thread (StoreThread),
// which alone touches the connection; writes are single statements or one
// BEGIN IMMEDIATE transaction, so a failure leaves nothing half-written.
#include "tollgate/store/sqlite.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <type_traits>
#include <string>
#include <utility>

#include "codec.hpp"
#include "cursor.hpp"
#include "local_buckets.hpp"
#include "local_locks.hpp"
#include "lock_file.hpp"
#include "sqlite_db.hpp"
#include "sqlite_schema.hpp"
#include "store_thread.hpp"

namespace tollgate::store {
namespace {

using sqlite::Db;
using sqlite::Query;
using sqlite::Transaction;

using codec::decode;

Error with_context(Error error, std::string_view operation) {
  error.message = std::string(operation) + ": " + error.message;
  return error;
}

std::int64_t as_column(std::uint64_t version) { return static_cast<std::int64_t>(version); }

// Rows asked for: one more than the page, to know whether another page follows.
std::int64_t rows_for(std::size_t limit) {
  constexpr auto kMax = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max() - 1);
  return static_cast<std::int64_t>(std::clamp<std::size_t>(limit, 1, kMax)) + 1;
}

// The columns a read of T selects: the body, then what overlay() adds to it.
template <typename T>
constexpr std::string_view columns_of() {
  if constexpr (std::is_same_v<T, AuthConfig>) return "body, last_used_at";
  return "body";
}

// Fields kept beside the body (see the "usage counters" migration): the later
// of the two last_used_at wins, so the record's own value never moves it back.
template <typename T>
void overlay(T&, Query&) {}
inline void overlay(AuthConfig& config, Query& q) {
  const std::int64_t used = q.integer(1);
  if (used > 0 && (!config.last_used_at || *config.last_used_at < used)) config.last_used_at = used;
}

std::int64_t as_count(std::uint64_t n) { return static_cast<std::int64_t>(n); }
std::uint64_t from_count(std::int64_t n) { return n < 0 ? 0 : static_cast<std::uint64_t>(n); }

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(const std::filesystem::path& path)
      : lock_(lock_path_in_private_dir(path), path), db_(path), thread_("tollgate-store") {
    sqlite::migrate(db_, path);  // before any job can reach the thread
  }

  Task<Unit> ping() override {
    return thread_.run<Unit>("ping", [this]() -> Result<Unit> {
      auto q = db_.query("SELECT 1");
      const int rc = q.step();
      if (rc != SQLITE_ROW) return db_.failure("ping", rc);
      return Unit{};
    });
  }

  Task<Tenant> create_tenant(Tenant tenant) override {
    return thread_.run<Tenant>("create_tenant", [this, tenant = std::move(tenant)]() mutable -> Result<Tenant> {
      tenant.version = 1;
      auto q = db_.query("INSERT INTO tenants (id, created_at, version, body) VALUES (?1, ?2, ?3, ?4)");
      q.bind(1, tenant.id).bind(2, tenant.created_at).bind(3, as_column(tenant.version)).bind(4, codec::encode(tenant));
      const int rc = q.step();
      if (rc == SQLITE_DONE) return tenant;
      if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return Error{Errc::conflict, "create_tenant: tenant " + tenant.id + " already exists"};
      }
      return db_.failure("create_tenant", rc);
    });
  }

  Task<Tenant> get_tenant(std::string id) override {
    return thread_.run<Tenant>("get_tenant", [this, id = std::move(id)]() -> Result<Tenant> {
      return select_one<Tenant>("get_tenant", "SELECT body FROM tenants WHERE id = ?1", id, "no tenant " + id);
    });
  }

  Task<Page<Tenant>> list_tenants(std::string cursor, std::size_t limit) override {
    return thread_.run<Page<Tenant>>("list_tenants", [this, cursor = std::move(cursor), limit]() -> Result<Page<Tenant>> {
      if (cursor.empty()) {
        auto q = db_.query("SELECT body FROM tenants ORDER BY created_at, id LIMIT ?1");
        q.bind(1, rows_for(limit));
        return select_page<Tenant>("list_tenants", q, limit);
      }
      const auto after = decode_cursor(cursor);
      if (!after) return Error{Errc::bad_cursor, "list_tenants: the cursor is not one this store handed out"};
      auto q = db_.query(
          "SELECT body FROM tenants WHERE (created_at, id) > (?1, ?2) ORDER BY created_at, id LIMIT ?3");
      q.bind(1, after->created_at).bind(2, after->id).bind(3, rows_for(limit));
      return select_page<Tenant>("list_tenants", q, limit);
    });
  }

  Task<Tenant> update_tenant(Tenant tenant) override {
    return thread_.run<Tenant>("update_tenant", [this, tenant = std::move(tenant)]() mutable -> Result<Tenant> {
      constexpr std::string_view kOp = "update_tenant";
      Transaction tx(db_);
      if (tx.begin_result() != SQLITE_OK) return db_.failure(kOp, tx.begin_result());
      std::int64_t stored_version = 0;
      {
        auto q = db_.query("SELECT version, created_at FROM tenants WHERE id = ?1");
        q.bind(1, tenant.id);
        const int rc = q.step();
        if (rc == SQLITE_DONE) return Error{Errc::not_found, "update_tenant: no tenant " + tenant.id};
        if (rc != SQLITE_ROW) return db_.failure(kOp, rc);
        stored_version = q.integer(0);
        tenant.created_at = q.integer(1);  // fixed at creation: lists are ordered by it
      }
      if (as_column(tenant.version) != stored_version) {
        return Error{Errc::conflict, "update_tenant: tenant " + tenant.id + " is at version " +
                                         std::to_string(stored_version) + ", not " + std::to_string(tenant.version)};
      }
      tenant.version += 1;
      auto q = db_.query("UPDATE tenants SET version = ?1, body = ?2 WHERE id = ?3 AND version = ?4");
      q.bind(1, as_column(tenant.version)).bind(2, codec::encode(tenant)).bind(3, tenant.id).bind(4, stored_version);
      if (const int rc = q.step(); rc != SQLITE_DONE) return db_.failure(kOp, rc);
      if (const int rc = tx.commit(); rc != SQLITE_OK) return db_.failure(kOp, rc);
      return tenant;
    });
  }

  Task<ApiKey> create_api_key(ApiKey key) override {
    return thread_.run<ApiKey>("create_api_key", [this, key = std::move(key)]() mutable -> Result<ApiKey> {
      key.version = 1;
      auto q = db_.query(
          "INSERT INTO api_keys (id, tenant_id, hash, created_at, version, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
      q.bind(1, key.id).bind(2, key.tenant_id).bind(3, key.hash).bind(4, key.created_at);
      q.bind(5, as_column(key.version)).bind(6, codec::encode(key));
      switch (const int rc = q.step()) {
        case SQLITE_DONE: return key;
        case SQLITE_CONSTRAINT_PRIMARYKEY:
          return Error{Errc::conflict, "create_api_key: api key " + key.id + " already exists"};
        case SQLITE_CONSTRAINT_UNIQUE:
          return Error{Errc::conflict, "create_api_key: an api key with the same hash already exists"};
        case SQLITE_CONSTRAINT_FOREIGNKEY:
          return Error{Errc::not_found, "create_api_key: no tenant " + key.tenant_id};
        default: return db_.failure("create_api_key", rc);
      }
    });
  }

  Task<ApiKey> get_api_key(std::string id) override {
    return thread_.run<ApiKey>("get_api_key", [this, id = std::move(id)]() -> Result<ApiKey> {
      return select_one<ApiKey>("get_api_key", "SELECT body FROM api_keys WHERE id = ?1", id, "no api key " + id);
    });
  }

  Task<ApiKey> find_api_key_by_hash(std::string hash) override {
    return thread_.run<ApiKey>("find_api_key_by_hash", [this, hash = std::move(hash)]() -> Result<ApiKey> {
      return select_one<ApiKey>("find_api_key_by_hash", "SELECT body FROM api_keys WHERE hash = ?1", hash,
                                "no api key with that hash");
    });
  }

  Task<Page<ApiKey>> list_api_keys(std::string tenant_id, std::string cursor, std::size_t limit) override {
    return thread_.run<Page<ApiKey>>(
        "list_api_keys",
        [this, tenant_id = std::move(tenant_id), cursor = std::move(cursor), limit]() -> Result<Page<ApiKey>> {
          if (cursor.empty()) {
            auto q = db_.query("SELECT body FROM api_keys WHERE tenant_id = ?1 ORDER BY created_at, id LIMIT ?2");
            q.bind(1, tenant_id).bind(2, rows_for(limit));
            return select_page<ApiKey>("list_api_keys", q, limit);
          }
          const auto after = decode_cursor(cursor);
          if (!after) return Error{Errc::bad_cursor, "list_api_keys: the cursor is not one this store handed out"};
          auto q = db_.query(
              "SELECT body FROM api_keys WHERE tenant_id = ?1 AND (created_at, id) > (?2, ?3) "
              "ORDER BY created_at, id LIMIT ?4");
          q.bind(1, tenant_id).bind(2, after->created_at).bind(3, after->id).bind(4, rows_for(limit));
          return select_page<ApiKey>("list_api_keys", q, limit);
        });
  }

  Task<ApiKey> revoke_api_key(std::string id, Millis at) override {
    return thread_.run<ApiKey>("revoke_api_key", [this, id = std::move(id), at]() -> Result<ApiKey> {
      constexpr std::string_view kOp = "revoke_api_key";
      Transaction tx(db_);
      if (tx.begin_result() != SQLITE_OK) return db_.failure(kOp, tx.begin_result());
      auto key = select_one<ApiKey>(kOp, "SELECT body FROM api_keys WHERE id = ?1", id, "no api key " + id);
      if (!key || key->revoked_at) return key;  // revoking again changes nothing, so writes nothing
      const auto stored_version = as_column(key->version);
      key->revoked_at = at;
      key->version += 1;
      auto q = db_.query("UPDATE api_keys SET version = ?1, body = ?2 WHERE id = ?3 AND version = ?4");
      q.bind(1, as_column(key->version)).bind(2, codec::encode(key.value())).bind(3, id).bind(4, stored_version);
      if (const int rc = q.step(); rc != SQLITE_DONE) return db_.failure(kOp, rc);
      if (db_.changes() != 1) return Error{Errc::corrupt, "revoke_api_key: api key " + id + " body and row disagree"};
      if (const int rc = tx.commit(); rc != SQLITE_OK) return db_.failure(kOp, rc);
      return key;
    });
  }

  Task<ProviderSetting> get_provider_setting(std::string tenant_id, std::string provider) override {
    return thread_.run<ProviderSetting>(
        "get_provider_setting",
        [this, tenant_id = std::move(tenant_id), provider = std::move(provider)]() -> Result<ProviderSetting> {
          auto q = db_.query("SELECT body FROM provider_settings WHERE tenant_id = ?1 AND provider = ?2");
          q.bind(1, tenant_id).bind(2, provider);
          const int rc = q.step();
          if (rc == SQLITE_DONE) return Error{Errc::not_found, "get_provider_setting: none for " + provider};
          if (rc != SQLITE_ROW) return db_.failure("get_provider_setting", rc);
          auto record = decode<ProviderSetting>(q.text(0));
          if (!record) return with_context(record.error(), "get_provider_setting");
          return record;
        });
  }

  Task<std::vector<ProviderSetting>> list_provider_settings(std::string tenant_id) override {
    return thread_.run<std::vector<ProviderSetting>>(
        "list_provider_settings", [this, tenant_id = std::move(tenant_id)]() -> Result<std::vector<ProviderSetting>> {
          auto q = db_.query("SELECT body FROM provider_settings WHERE tenant_id = ?1 ORDER BY provider");
          q.bind(1, tenant_id);
          std::vector<ProviderSetting> out;
          for (;;) {
            const int rc = q.step();
            if (rc == SQLITE_DONE) break;
            if (rc != SQLITE_ROW) return db_.failure("list_provider_settings", rc);
            auto record = decode<ProviderSetting>(q.text(0));
            if (!record) return with_context(record.error(), "list_provider_settings");
            out.push_back(std::move(record).value());
          }
          return out;
        });
  }

  Task<ProviderSetting> put_provider_setting(ProviderSetting setting) override {
    return thread_.run<ProviderSetting>(
        "put_provider_setting", [this, setting = std::move(setting)]() mutable -> Result<ProviderSetting> {
          constexpr std::string_view kOp = "put_provider_setting";
          const std::uint64_t expected = setting.version;
          setting.version = expected + 1;
          if (expected == 0) {
            auto q = db_.query(
                "INSERT INTO provider_settings (tenant_id, provider, version, body) VALUES (?1, ?2, ?3, ?4)");
            q.bind(1, setting.tenant_id).bind(2, setting.provider).bind(3, as_column(setting.version));
            q.bind(4, codec::encode(setting));
            const int rc = q.step();
            if (rc == SQLITE_DONE) return setting;
            if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
              return Error{Errc::conflict, "put_provider_setting: one exists for " + setting.provider};
            if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
              return Error{Errc::not_found, "put_provider_setting: no tenant " + setting.tenant_id};
            return db_.failure(kOp, rc);
          }
          Transaction tx(db_);
          if (tx.begin_result() != SQLITE_OK) return db_.failure(kOp, tx.begin_result());
          {
            auto q = db_.query("SELECT version FROM provider_settings WHERE tenant_id = ?1 AND provider = ?2");
            q.bind(1, setting.tenant_id).bind(2, setting.provider);
            const int rc = q.step();
            if (rc == SQLITE_DONE) return Error{Errc::not_found, "put_provider_setting: none for " + setting.provider};
            if (rc != SQLITE_ROW) return db_.failure(kOp, rc);
            if (q.integer(0) != as_column(expected))
              return Error{Errc::conflict, "put_provider_setting: the setting for " + setting.provider +
                                               " is at version " + std::to_string(q.integer(0))};
          }
          auto q = db_.query("UPDATE provider_settings SET version = ?1, body = ?2 WHERE tenant_id = ?3 AND provider = ?4");
          q.bind(1, as_column(setting.version)).bind(2, codec::encode(setting)).bind(3, setting.tenant_id);
          q.bind(4, setting.provider);
          if (const int rc = q.step(); rc != SQLITE_DONE) return db_.failure(kOp, rc);
          if (const int rc = tx.commit(); rc != SQLITE_OK) return db_.failure(kOp, rc);
          return setting;
        });
  }

  // ---- setup sessions ----------------------------------------------------------

  Task<SetupSession> create_setup_session(SetupSession session) override {
    return thread_.run<SetupSession>(
        "create_setup_session", [this, session = std::move(session)]() mutable -> Result<SetupSession> {
          session.version = 1;
          auto q = db_.query(
              "INSERT INTO setup_sessions (id, tenant_id, status, provider, external_user_id, state_hash, expires_at, "
              "created_at, version, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
          q.bind(1, session.id).bind(2, session.tenant_id).bind(3, session.status).bind(4, session.provider);
          q.bind(5, session.external_user_id).bind(6, session.state_hash).bind(7, session.expires_at);
          q.bind(8, session.created_at).bind(9, as_column(session.version)).bind(10, codec::encode(session));
          switch (const int rc = q.step()) {
            case SQLITE_DONE: return session;
            case SQLITE_CONSTRAINT_PRIMARYKEY:
              return Error{Errc::conflict, "create_setup_session: setup session " + session.id + " already exists"};
            case SQLITE_CONSTRAINT_UNIQUE:
              return Error{Errc::conflict, "create_setup_session: a setup session with the same state exists"};
            case SQLITE_CONSTRAINT_FOREIGNKEY:
              return Error{Errc::not_found, "create_setup_session: no tenant " + session.tenant_id};
            default: return db_.failure("create_setup_session", rc);
          }
        });
  }

  Task<SetupSession> get_setup_session(std::string id) override {
    return thread_.run<SetupSession>("get_setup_session", [this, id = std::move(id)]() -> Result<SetupSession> {
      return select_one<SetupSession>("get_setup_session", "SELECT body FROM setup_sessions WHERE id = ?1", id,
                                      "no setup session " + id);
    });
  }

  Task<SetupSession> find_setup_session_by_state(std::string state_hash) override {
    return thread_.run<SetupSession>(
        "find_setup_session_by_state", [this, state_hash = std::move(state_hash)]() -> Result<SetupSession> {
          // `state_hash <> ''` lets SQLite use the partial index, and an empty hash finds nothing.
          return select_one<SetupSession>("find_setup_session_by_state",
                                          "SELECT body FROM setup_sessions WHERE state_hash = ?1 AND state_hash <> ''",
                                          state_hash, "no setup session with that state");
        });
  }

  Task<SetupSession> update_setup_session(SetupSession session) override {
    return thread_.run<SetupSession>(
        "update_setup_session", [this, session = std::move(session)]() mutable -> Result<SetupSession> {
          constexpr std::string_view kOp = "update_setup_session";
          Transaction tx(db_);
          if (tx.begin_result() != SQLITE_OK) return db_.failure(kOp, tx.begin_result());
          auto stored = check_version(kOp, "SELECT version, created_at FROM setup_sessions WHERE id = ?1 AND tenant_id = ?2",
                                      "setup session", session.id, session.tenant_id, session.version,
                                      session.created_at);
          if (!stored) return stored.error();
          session.version += 1;
          auto q = db_.query(
              "UPDATE setup_sessions SET status = ?1, provider = ?2, external_user_id = ?3, state_hash = ?4, "
              "expires_at = ?5, version = ?6, body = ?7 WHERE id = ?8 AND version = ?9");
          q.bind(1, session.status).bind(2, session.provider).bind(3, session.external_user_id);
          q.bind(4, session.state_hash).bind(5, session.expires_at).bind(6, as_column(session.version));
          q.bind(7, codec::encode(session)).bind(8, session.id).bind(9, stored.value());
          if (const int rc = q.step(); rc != SQLITE_DONE) {
            if (rc == SQLITE_CONSTRAINT_UNIQUE) {
              return Error{Errc::conflict, "update_setup_session: another setup session has the same state"};
            }
            return db_.failure(kOp, rc);
          }
          if (const int rc = tx.commit(); rc != SQLITE_OK) return db_.failure(kOp, rc);
          return session;
        });
  }

  Task<Page<SetupSession>> list_setup_sessions(std::string tenant_id, SetupSessionFilter filter, std::string cursor,
                                               std::size_t limit) override {
    return thread_.run<Page<SetupSession>>(
        "list_setup_sessions", [this, tenant_id = std::move(tenant_id), filter = std::move(filter),
                                cursor = std::move(cursor), limit]() -> Result<Page<SetupSession>> {
          return select_filtered_page<SetupSession>("list_setup_sessions", "setup_sessions", tenant_id, filter, cursor,
                                                    limit);
        });
  }

  Task<std::vector<SetupSession>> list_expired_setup_sessions(Millis now, std::size_t limit) override {
    return thread_.run<std::vector<SetupSession>>(
        "list_expired_setup_sessions", [this, now, limit]() -> Result<std::vector<SetupSession>> {
          constexpr std::string_view kOp = "list_expired_setup_sessions";
          std::vector<SetupSession> out;
          if (limit == 0) return out;
          // `status = 'pending'` as written in the partial index, so SQLite uses it.
          auto q = db_.query(
              "SELECT body FROM setup_sessions WHERE status = 'pending' AND expires_at < ?1 "
              "ORDER BY expires_at, id LIMIT ?2");
          q.bind(1, now).bind(2, rows_for(limit) - 1);  // exactly `limit` (clamped to what SQLite takes)
          for (;;) {
            const int rc = q.step();
            if (rc == SQLITE_DONE) break;
            if (rc != SQLITE_ROW) return db_.failure(kOp, rc);
            auto record = decode<SetupSession>(q.text(0));
            if (!record) return with_context(record.error(), kOp);
            out.push_back(std::move(record).value());
          }
          return out;
        });
  }

  // ---- auth configs --------------------------------------------------------------

  Task<AuthConfig> create_auth_config(AuthConfig config) override {
    return thread_.run<AuthConfig>("create_auth_config", [this, config = std::move(config)]() mutable -> Result<AuthConfig> {
      config.version = 1;
      auto q = db_.query(
          "INSERT INTO auth_configs (id, tenant_id, status, provider, external_user_id, created_at, version, body) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
      q.bind(1, config.id).bind(2, config.tenant_id).bind(3, config.status).bind(4, config.provider);
      q.bind(5, config.external_user_id).bind(6, config.created_at).bind(7, as_column(config.version));
      q.bind(8, codec::encode(config));
      switch (const int rc = q.step()) {
        case SQLITE_DONE: return config;
        case SQLITE_CONSTRAINT_PRIMARYKEY:
          return Error{Errc::conflict, "create_auth_config: auth config " + config.id + " already exists"};
        case SQLITE_CONSTRAINT_FOREIGNKEY:
          return Error{Errc::not_found, "create_auth_config: no tenant " + config.tenant_id};
        default: return db_.failure("create_auth_config", rc);
      }
    });
  }

  Task<AuthConfig> get_auth_config(std::string id) override {
    return thread_.run<AuthConfig>("get_auth_config", [this, id = std::move(id)]() -> Result<AuthConfig> {
      return select_one<AuthConfig>("get_auth_config", "SELECT body, last_used_at FROM auth_configs WHERE id = ?1",
                                    id, "no auth config " + id);
    });
  }

  Task<AuthConfig> update_auth_config(AuthConfig config) override {
    return thread_.run<AuthConfig>("update_auth_config", [this, config = std::move(config)]() mutable -> Result<AuthConfig> {
      constexpr std::string_view kOp = "update_auth_config";
      Transaction tx(db_);
      if (tx.begin_result() != SQLITE_OK) return db_.failure(kOp, tx.begin_result());
      auto stored = check_version(kOp, "SELECT version, created_at FROM auth_configs WHERE id = ?1 AND tenant_id = ?2",
                                  "auth config", config.id, config.tenant_id, config.version, config.created_at);
      if (!stored) return stored.error();
      config.version += 1;
      auto q = db_.query(
          "UPDATE auth_configs SET status = ?1, provider = ?2, external_user_id = ?3, version = ?4, body = ?5 "
          "WHERE id = ?6 AND version = ?7");
      q.bind(1, config.status).bind(2, config.provider).bind(3, config.external_user_id);
      q.bind(4, as_column(config.version)).bind(5, codec::encode(config)).bind(6, config.id).bind(7, stored.value());
      if (const int rc = q.step(); rc != SQLITE_DONE) return db_.failure(kOp, rc);
      if (const int rc = tx.commit(); rc != SQLITE_OK) return db_.failure(kOp, rc);
      return config;
    });
  }

  // ---- metering ------------------------------------------------------------------

  Task<bool> apply_usage_batch(UsageBatch batch) override {
    return thread_.run<bool>("apply_usage_batch", [this, batch = std::move(batch)]() -> Result<bool> {
      constexpr std::string_view kOp = "apply_usage_batch";
      Transaction tx(db_);
      if (tx.begin_result() != SQLITE_OK) return db_.failure(kOp, tx.begin_result());
      {
        auto q = db_.query("SELECT seq FROM usage_shards WHERE shard = ?1");
        q.bind(1, batch.shard);
        const int rc = q.step();
        if (rc == SQLITE_ROW && from_count(q.integer(0)) >= batch.seq) return false;
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db_.failure(kOp, rc);
      }
      {
        auto q = db_.query(
            "INSERT INTO usage_shards (shard, seq) VALUES (?1, ?2) ON CONFLICT (shard) DO UPDATE SET seq = excluded.seq");
        q.bind(1, batch.shard).bind(2, as_count(batch.seq));
        if (const int rc = q.step(); rc != SQLITE_DONE) return db_.failure(kOp, rc);
      }
      for (const UsageRow& row : batch.rows) {
        auto q = db_.query(
            "INSERT INTO usage_daily (day, tenant_id, provider, auth_config_id, mode, calls, errors, refreshes, "
            "request_bytes, response_bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
            "ON CONFLICT (day, tenant_id, provider, auth_config_id, mode) DO UPDATE SET "
            "calls = calls + excluded.calls, errors = errors + excluded.errors, "
            "refreshes = refreshes + excluded.refreshes, request_bytes = request_bytes + excluded.request_bytes, "
            "response_bytes = response_bytes + excluded.response_bytes");
        q.bind(1, row.day).bind(2, row.tenant_id).bind(3, row.provider).bind(4, row.auth_config_id).bind(5, row.mode);
        q.bind(6, as_count(row.counts.calls)).bind(7, as_count(row.counts.errors));
        q.bind(8, as_count(row.counts.refreshes)).bind(9, as_count(row.counts.request_bytes));
        q.bind(10, as_count(row.counts.response_bytes));
        if (const int rc = q.step(); rc != SQLITE_DONE) return db_.failure(kOp, rc);
      }
      for (const AuthConfigUse& use : batch.last_used) {
        auto q = db_.query(
            "UPDATE auth_configs SET last_used_at = ?1 WHERE id = ?2 AND tenant_id = ?3 "
            "AND (last_used_at IS NULL OR last_used_at < ?1)");
        q.bind(1, use.at).bind(2, use.auth_config_id).bind(3, use.tenant_id);
        if (const int rc = q.step(); rc != SQLITE_DONE) return db_.failure(kOp, rc);
      }
      if (const int rc = tx.commit(); rc != SQLITE_OK) return db_.failure(kOp, rc);
      return true;
    });
  }

  Task<std::vector<UsageRow>> query_usage(UsageFilter filter, Day from_day, Day to_day) override {
    return thread_.run<std::vector<UsageRow>>(
        "query_usage", [this, filter = std::move(filter), from_day, to_day]() -> Result<std::vector<UsageRow>> {
          // Every statement names ?1..?5, so binding all five is in range.
          std::string sql =
              "SELECT day, tenant_id, provider, auth_config_id, mode, calls, errors, refreshes, request_bytes, "
              "response_bytes FROM usage_daily WHERE day >= ?1 AND day < ?2";
          sql += filter.tenant_id.empty() ? " AND ?3 = ?3" : " AND tenant_id = ?3";
          sql += filter.provider.empty() ? " AND ?4 = ?4" : " AND provider = ?4";
          sql += filter.auth_config_id.empty() ? " AND ?5 = ?5" : " AND auth_config_id = ?5";
          sql += " ORDER BY day, tenant_id, provider, auth_config_id, mode";
          auto q = db_.query(sql);
          q.bind(1, from_day).bind(2, to_day).bind(3, filter.tenant_id).bind(4, filter.provider);
          q.bind(5, filter.auth_config_id);
          std::vector<UsageRow> out;
          for (;;) {
            const int rc = q.step();
            if (rc == SQLITE_DONE) break;
            if (rc != SQLITE_ROW) return db_.failure("query_usage", rc);
            UsageRow row;
            row.day = q.integer(0);
            row.tenant_id = q.text(1);
            row.provider = q.text(2);
            row.auth_config_id = q.text(3);
            row.mode = q.text(4);
            row.counts.calls = from_count(q.integer(5));
            row.counts.errors = from_count(q.integer(6));
            row.counts.refreshes = from_count(q.integer(7));
            row.counts.request_bytes = from_count(q.integer(8));
            row.counts.response_bytes = from_count(q.integer(9));
            out.push_back(std::move(row));
          }
          return out;
        });
  }

  // One process owns a SQLite database, so the bucket lives in this process's memory.
  Task<RateGrant> take_rate_tokens(std::string tenant_id, double rate_per_second, std::uint64_t capacity,
                                   std::uint64_t want) override {
    co_return buckets_.take(tenant_id, rate_per_second, capacity, want);
  }

  // One process owns the database, so its refresh locks live in its memory.
  Task<bool> acquire_refresh_lock(std::string tenant_id, std::string auth_config_id, std::string owner,
                                  std::chrono::milliseconds ttl) override {
    co_return locks_.acquire(tenant_id + " " + auth_config_id, owner, ttl);
  }
  Task<bool> renew_refresh_lock(std::string tenant_id, std::string auth_config_id, std::string owner,
                                std::chrono::milliseconds ttl) override {
    co_return locks_.renew(tenant_id + " " + auth_config_id, owner, ttl);
  }
  Task<bool> release_refresh_lock(std::string tenant_id, std::string auth_config_id, std::string owner) override {
    co_return locks_.release(tenant_id + " " + auth_config_id, owner);
  }

  Task<Page<AuthConfig>> list_auth_configs(std::string tenant_id, AuthConfigFilter filter, std::string cursor,
                                           std::size_t limit) override {
    return thread_.run<Page<AuthConfig>>(
        "list_auth_configs", [this, tenant_id = std::move(tenant_id), filter = std::move(filter),
                              cursor = std::move(cursor), limit]() -> Result<Page<AuthConfig>> {
          return select_filtered_page<AuthConfig>("list_auth_configs", "auth_configs", tenant_id, filter, cursor,
                                                  limit);
        });
  }

 private:
  // `<database>.lock`, after creating the directories both live in.
  static std::filesystem::path lock_path_in_private_dir(const std::filesystem::path& database) {
    create_private_parents(database);
    auto lock = database;
    lock += ".lock";
    return lock;
  }

  // The one row `sql` selects by `key`, decoded; not_found when there is none.
  template <typename T>
  Result<T> select_one(std::string_view operation, std::string_view sql, std::string_view key,
                       std::string missing) {
    auto q = db_.query(sql);
    q.bind(1, key);
    const int rc = q.step();
    if (rc == SQLITE_DONE) return Error{Errc::not_found, std::string(operation) + ": " + missing};
    if (rc != SQLITE_ROW) return db_.failure(operation, rc);
    auto record = decode<T>(q.text(0));
    if (!record) return with_context(record.error(), operation);
    overlay(record.value(), q);
    return record;
  }

  // The compare-and-set check of an update, inside its transaction: `sql` selects
  // (version, created_at) of the record by ?1 id and ?2 tenant id. Answers the
  // stored version when it is `expected`, and sets `created_at` to the stored one
  // (fixed at creation: lists are ordered by it). A record of another tenant is
  // not_found, like one that does not exist.
  Result<std::int64_t> check_version(std::string_view operation, std::string_view sql, std::string_view what,
                                     const std::string& id, const std::string& tenant_id, std::uint64_t expected,
                                     Millis& created_at) {
    auto q = db_.query(sql);
    q.bind(1, id).bind(2, tenant_id);
    const int rc = q.step();
    if (rc == SQLITE_DONE) return Error{Errc::not_found, std::string(operation) + ": no " + std::string(what) + " " + id};
    if (rc != SQLITE_ROW) return db_.failure(operation, rc);
    const std::int64_t stored = q.integer(0);
    if (as_column(expected) != stored) {
      return Error{Errc::conflict, std::string(operation) + ": " + std::string(what) + " " + id + " is at version " +
                                       std::to_string(stored) + ", not " + std::to_string(expected)};
    }
    created_at = q.integer(1);
    return stored;
  }

  // One page of `table`'s records of `tenant_id` that match `filter` (each
  // non-empty field an equality), in (created_at, id) order after `cursor`.
  // Parameters: ?1 tenant, ?2 status, ?3 provider, ?4 external user, ?5 and ?6
  // the cursor, ?7 the row count; every statement uses ?7, so binding all seven
  // is in range whichever the statement leaves out.
  template <typename T, typename Filter>
  Result<Page<T>> select_filtered_page(std::string_view operation, std::string_view table, const std::string& tenant_id,
                                       const Filter& filter, const std::string& cursor, std::size_t limit) {
    std::optional<CursorPosition> after;
    if (!cursor.empty()) {
      after = decode_cursor(cursor);
      if (!after) return Error{Errc::bad_cursor, std::string(operation) + ": the cursor is not one this store handed out"};
    }
    std::string sql = "SELECT " + std::string(columns_of<T>()) + " FROM " + std::string(table) + " WHERE tenant_id = ?1";
    if (!filter.status.empty()) sql += " AND status = ?2";
    if (!filter.provider.empty()) sql += " AND provider = ?3";
    if (!filter.external_user_id.empty()) sql += " AND external_user_id = ?4";
    if (after) sql += " AND (created_at, id) > (?5, ?6)";
    sql += " ORDER BY created_at, id LIMIT ?7";
    auto q = db_.query(sql);
    q.bind(1, tenant_id).bind(2, filter.status).bind(3, filter.provider).bind(4, filter.external_user_id);
    q.bind(5, after ? after->created_at : Millis{0}).bind(6, after ? std::string_view(after->id) : std::string_view());
    q.bind(7, rows_for(limit));
    return select_page<T>(operation, q, limit);
  }

  // Up to `limit` rows of `q` (which asks for one more); the cursor names the
  // last one returned when more follow.
  template <typename T>
  Result<Page<T>> select_page(std::string_view operation, Query& q, std::size_t limit) {
    Page<T> page;
    for (;;) {
      const int rc = q.step();
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return db_.failure(operation, rc);
      auto record = decode<T>(q.text(0));
      if (!record) return with_context(record.error(), operation);
      overlay(record.value(), q);
      page.items.push_back(std::move(record).value());
    }
    if (page.items.size() > std::max<std::size_t>(limit, 1)) {
      page.items.resize(std::max<std::size_t>(limit, 1));
      page.next_cursor = encode_cursor({page.items.back().created_at, page.items.back().id});
    }
    return page;
  }

  // ---- counts by status (the metrics gauges) ------------------------------------
 public:
  Task<StatusCounts> count_setup_sessions_by_status() override {
    return thread_.run<StatusCounts>("count_setup_sessions_by_status", [this]() -> Result<StatusCounts> {
      return count_by_status("count_setup_sessions_by_status",
                             "SELECT status, COUNT(*) FROM setup_sessions GROUP BY status");
    });
  }
  Task<StatusCounts> count_auth_configs_by_status() override {
    return thread_.run<StatusCounts>("count_auth_configs_by_status", [this]() -> Result<StatusCounts> {
      return count_by_status("count_auth_configs_by_status", "SELECT status, COUNT(*) FROM auth_configs GROUP BY status");
    });
  }

 private:
  Result<StatusCounts> count_by_status(std::string_view operation, std::string_view sql) {
    StatusCounts out;
    auto q = db_.query(sql);
    for (;;) {
      const int rc = q.step();
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return db_.failure(operation, rc);
      out[std::string(q.text(0))] = static_cast<std::uint64_t>(q.integer(1));
    }
    return out;
  }

  LockFile lock_;
  LocalBuckets buckets_;
  LocalLocks locks_;
  Db db_;
  StoreThread thread_;  // last: joined before the connection closes and the lock goes
};

}  // namespace

std::unique_ptr<Store> open_sqlite(const std::filesystem::path& path) { return std::make_unique<SqliteStore>(path); }

}  // namespace tollgate::store
