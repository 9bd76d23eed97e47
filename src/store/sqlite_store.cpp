// The SQLite backend. Every call runs on the store's own thread (StoreThread),
// which alone touches the connection; writes are single statements or one
// BEGIN IMMEDIATE transaction, so a failure leaves nothing half-written.
#include "tollgate/store/sqlite.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <utility>

#include "codec.hpp"
#include "cursor.hpp"
#include "lock_file.hpp"
#include "sqlite_db.hpp"
#include "sqlite_schema.hpp"
#include "store_thread.hpp"

namespace tollgate::store {
namespace {

using sqlite::Db;
using sqlite::Query;
using sqlite::Transaction;

template <typename T>
Result<T> decode(std::string_view body);
template <>
Result<Tenant> decode<Tenant>(std::string_view body) {
  return codec::decode_tenant(body);
}
template <>
Result<ApiKey> decode<ApiKey>(std::string_view body) {
  return codec::decode_api_key(body);
}
template <>
Result<ProviderSetting> decode<ProviderSetting>(std::string_view body) {
  return codec::decode_provider_setting(body);
}

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
    return record;
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
      page.items.push_back(std::move(record).value());
    }
    if (page.items.size() > std::max<std::size_t>(limit, 1)) {
      page.items.resize(std::max<std::size_t>(limit, 1));
      page.next_cursor = encode_cursor({page.items.back().created_at, page.items.back().id});
    }
    return page;
  }

  LockFile lock_;
  Db db_;
  StoreThread thread_;  // last: joined before the connection closes and the lock goes
};

}  // namespace

std::unique_ptr<Store> open_sqlite(const std::filesystem::path& path) { return std::make_unique<SqliteStore>(path); }

}  // namespace tollgate::store
