// The SQLite schema as an append-only list of migrations; PRAGMA user_version
// counts how many have run. To change the schema, append a migration (new
// tables, ALTER TABLE … ADD COLUMN, new indexes); never edit one that has
// shipped, because databases out there have already run it.
//
// Each record table has the columns its lookups and list order need and a
// `body` holding the whole record as JSON (codec.hpp), so a new record field
// needs no migration unless something is looked up or ordered by it.
#include "sqlite_schema.hpp"

#include <sqlite3.h>

#include <array>
#include <stdexcept>
#include <string>

namespace tollgate::store::sqlite {
namespace {

struct Migration {
  const char* what;  // for the error message when it fails
  const char* sql;
};

constexpr std::array kMigrations = {
    Migration{"tenants and api keys", R"sql(
      CREATE TABLE tenants (
        id         TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL,
        version    INTEGER NOT NULL,
        body       TEXT NOT NULL
      );
      CREATE INDEX tenants_by_creation ON tenants (created_at, id);

      CREATE TABLE api_keys (
        id         TEXT PRIMARY KEY,
        tenant_id  TEXT NOT NULL REFERENCES tenants (id),
        hash       TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        version    INTEGER NOT NULL,
        body       TEXT NOT NULL
      );
      CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id, created_at, id);
    )sql"},
    Migration{"provider settings", R"sql(
      CREATE TABLE provider_settings (
        tenant_id  TEXT NOT NULL REFERENCES tenants (id),
        provider   TEXT NOT NULL,
        version    INTEGER NOT NULL,
        body       TEXT NOT NULL,
        PRIMARY KEY (tenant_id, provider)
      );
    )sql"},
    Migration{"setup sessions and auth configs", R"sql(
      CREATE TABLE setup_sessions (
        id               TEXT PRIMARY KEY,
        tenant_id        TEXT NOT NULL REFERENCES tenants (id),
        status           TEXT NOT NULL,
        provider         TEXT NOT NULL,
        external_user_id TEXT NOT NULL,
        state_hash       TEXT NOT NULL,
        expires_at       INTEGER NOT NULL,
        created_at       INTEGER NOT NULL,
        version          INTEGER NOT NULL,
        body             TEXT NOT NULL
      );
      CREATE INDEX setup_sessions_by_tenant ON setup_sessions (tenant_id, created_at, id);
      CREATE INDEX setup_sessions_by_status ON setup_sessions (tenant_id, status, created_at, id);
      CREATE INDEX setup_sessions_by_provider ON setup_sessions (tenant_id, provider, created_at, id);
      CREATE INDEX setup_sessions_by_user ON setup_sessions (tenant_id, external_user_id, created_at, id);
      -- A session has a state only once /connect sent the end user to the provider.
      CREATE UNIQUE INDEX setup_sessions_by_state ON setup_sessions (state_hash) WHERE state_hash <> '';
      -- The expiry sweep: only pending sessions.
      CREATE INDEX setup_sessions_pending_by_expiry ON setup_sessions (expires_at, id) WHERE status = 'pending';

      CREATE TABLE auth_configs (
        id               TEXT PRIMARY KEY,
        tenant_id        TEXT NOT NULL REFERENCES tenants (id),
        status           TEXT NOT NULL,
        provider         TEXT NOT NULL,
        external_user_id TEXT NOT NULL,
        created_at       INTEGER NOT NULL,
        version          INTEGER NOT NULL,
        body             TEXT NOT NULL
      );
      CREATE INDEX auth_configs_by_tenant ON auth_configs (tenant_id, created_at, id);
      CREATE INDEX auth_configs_by_status ON auth_configs (tenant_id, status, created_at, id);
      CREATE INDEX auth_configs_by_provider ON auth_configs (tenant_id, provider, created_at, id);
      CREATE INDEX auth_configs_by_user ON auth_configs (tenant_id, external_user_id, created_at, id);
    )sql"},
    Migration{"usage counters", R"sql(
      -- Usage at the finest grain; reports group it. auth_config_id is '' for
      -- deployment credentials. No foreign keys: usage is history.
      CREATE TABLE usage_daily (
        day            INTEGER NOT NULL,
        tenant_id      TEXT NOT NULL,
        provider       TEXT NOT NULL,
        auth_config_id TEXT NOT NULL,
        mode           TEXT NOT NULL,
        calls          INTEGER NOT NULL,
        errors         INTEGER NOT NULL,
        refreshes      INTEGER NOT NULL,
        request_bytes  INTEGER NOT NULL,
        response_bytes INTEGER NOT NULL,
        PRIMARY KEY (day, tenant_id, provider, auth_config_id, mode)
      ) WITHOUT ROWID;
      CREATE INDEX usage_daily_by_tenant ON usage_daily (tenant_id, day);
      -- The highest batch seq applied per journal shard: a batch sent again is a no-op.
      CREATE TABLE usage_shards (
        shard TEXT PRIMARY KEY,
        seq   INTEGER NOT NULL
      );
      -- Written by the metering flush only, apart from body and version, so a
      -- flush never makes an auth config's compare-and-set conflict.
      ALTER TABLE auth_configs ADD COLUMN last_used_at INTEGER;
    )sql"},
};

int read_user_version(Db& db) {
  auto q = db.query("PRAGMA user_version");
  const int rc = q.step();
  if (rc != SQLITE_ROW) return -1;
  return static_cast<int>(q.integer(0));
}

}  // namespace

int schema_version() { return static_cast<int>(kMigrations.size()); }

void migrate(Db& db, const std::filesystem::path& path) {
  const auto fail = [&](const std::string& why) {
    throw std::runtime_error("cannot prepare the database " + path.string() + ": " + why);
  };
  const int current = read_user_version(db);
  if (current < 0) fail("cannot read its schema version: " + db.message());
  if (current > schema_version()) {
    fail("its schema version is " + std::to_string(current) + " but this tollgate knows only up to " +
         std::to_string(schema_version()) + "; it was written by a newer tollgate");
  }
  for (int version = current + 1; version <= schema_version(); ++version) {
    const Migration& m = kMigrations[static_cast<std::size_t>(version - 1)];
    Transaction tx(db);
    if (tx.begin_result() != SQLITE_OK) fail("cannot start migration " + std::to_string(version) + ": " + db.message());
    // user_version is written inside the transaction, so a failed migration leaves it unchanged.
    const std::string set_version = "PRAGMA user_version = " + std::to_string(version);
    if (db.exec(m.sql) != SQLITE_OK || db.exec(set_version.c_str()) != SQLITE_OK || tx.commit() != SQLITE_OK) {
      fail("migration " + std::to_string(version) + " (" + m.what + ") failed: " + db.message());
    }
  }
}

}  // namespace tollgate::store::sqlite
