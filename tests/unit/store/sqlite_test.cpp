// What only the SQLite backend does: the lock file, the files on disk, WAL,
// schema versions, and SQLite failures as store errors.
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "run_sync.hpp"
#include "temp_dir.hpp"
#include "tollgate/store/sqlite.hpp"

using namespace tollgate::store;
using tollgate::test::run_sync;
using tollgate::test::TempDir;

namespace {

// A plain connection beside the store's, to look at and meddle with the file.
class RawDb {
 public:
  explicit RawDb(const std::filesystem::path& path) {
    REQUIRE(sqlite3_open(path.c_str(), &db_) == SQLITE_OK);
    sqlite3_busy_timeout(db_, 5000);
  }
  ~RawDb() { sqlite3_close(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  void exec(const std::string& sql) {
    char* error = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
    const std::string message = error ? error : "";
    sqlite3_free(error);
    REQUIRE_MESSAGE(rc == SQLITE_OK, sql << ": " << message);
  }

  // The query plan of `sql`, its steps' details joined by "; ".
  std::string plan(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    REQUIRE(sqlite3_prepare_v2(db_, ("EXPLAIN QUERY PLAN " + sql).c_str(), -1, &stmt, nullptr) == SQLITE_OK);
    std::string out;
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      if (const auto* detail = sqlite3_column_text(stmt, 3)) {
        if (!out.empty()) out += "; ";
        out += reinterpret_cast<const char*>(detail);
      }
    }
    sqlite3_finalize(stmt);
    return out;
  }

  std::string text(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    REQUIRE(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
    std::string out;
    if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0)) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

Tenant tenant(std::string id, Millis at) {
  Tenant t;
  t.id = std::move(id);
  t.name = "name of " + t.id;
  t.allowed_redirect_origins = {"https://a.example"};
  t.quotas.burst = 3;
  t.created_at = at;
  t.updated_at = at;
  return t;
}

std::string open_failure(const std::filesystem::path& path) {
  try {
    open_sqlite(path);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

unsigned mode_of(const std::filesystem::path& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("a second store on the same database is refused, naming the lock file and the holder's pid") {
  TempDir dir;
  const auto db = dir / "tollgate.db";
  auto first = open_sqlite(db);
  const std::string message = open_failure(db);
  CHECK(message.find("is in use by another tollgate process") != std::string::npos);
  CHECK(message.find(db.string() + ".lock") != std::string::npos);
  CHECK(message.find("pid " + std::to_string(::getpid())) != std::string::npos);
  CHECK(message.find("store.sqlite.path") != std::string::npos);
}

TEST_CASE("the database opens again once the store holding it is gone") {
  TempDir dir;
  const auto db = dir / "tollgate.db";
  open_sqlite(db).reset();
  auto again = open_sqlite(db);
  boost::asio::io_context ctx;
  CHECK(run_sync(ctx, again->ping()).ok());
}

TEST_CASE("records survive closing and reopening the database") {
  TempDir dir;
  const auto db = dir / "tollgate.db";
  boost::asio::io_context ctx;
  ApiKey key;
  key.id = "key_1";
  key.tenant_id = "tnt_1";
  key.hash = "h1";
  key.prefix = "tg_live_x";
  key.created_at = 20;
  Tenant updated;
  {
    auto store = open_sqlite(db);
    auto created = run_sync(ctx, store->create_tenant(tenant("tnt_1", 10)));
    REQUIRE(created.ok());
    Tenant change = created.value();
    change.name = "changed";
    auto written = run_sync(ctx, store->update_tenant(change));
    REQUIRE(written.ok());
    updated = written.value();
    REQUIRE(run_sync(ctx, store->create_api_key(key)).ok());
    REQUIRE(run_sync(ctx, store->revoke_api_key("key_1", 30)).ok());
  }
  auto store = open_sqlite(db);
  auto read = run_sync(ctx, store->get_tenant("tnt_1"));
  REQUIRE(read.ok());
  CHECK(read.value() == updated);
  auto read_key = run_sync(ctx, store->find_api_key_by_hash("h1"));
  REQUIRE(read_key.ok());
  CHECK(read_key->revoked_at == Millis{30});
  CHECK(read_key->version == 2);
}

TEST_CASE("the database, its WAL and its lock file are the owner's alone, in a created 0700 directory") {
  TempDir dir;
  const auto db = dir / "a" / "b" / "tollgate.db";
  auto store = open_sqlite(db);
  boost::asio::io_context ctx;
  REQUIRE(run_sync(ctx, store->create_tenant(tenant("tnt_1", 1))).ok());
  CHECK(mode_of(dir / "a") == 0700);
  CHECK(mode_of(dir / "a" / "b") == 0700);
  CHECK(mode_of(db) == 0600);
  CHECK(mode_of(db.string() + "-wal") == 0600);
  CHECK(mode_of(db.string() + ".lock") == 0600);
  CHECK(tollgate::test::read_file(db.string() + ".lock") == std::to_string(::getpid()) + "\n");
}

TEST_CASE("an existing database file is made private when opened") {
  TempDir dir;
  const auto db = dir / "tollgate.db";
  { RawDb raw(db); }
  REQUIRE(::chmod(db.c_str(), 0644) == 0);
  auto store = open_sqlite(db);
  CHECK(mode_of(db) == 0600);
}

TEST_CASE("the database is in WAL mode and at a schema version") {
  TempDir dir;
  const auto db = dir / "tollgate.db";
  auto store = open_sqlite(db);
  RawDb raw(db);
  CHECK(raw.text("PRAGMA journal_mode") == "wal");
  CHECK(std::stoi(raw.text("PRAGMA user_version")) >= 1);
  CHECK(raw.text("SELECT name FROM sqlite_master WHERE name = 'tenants'") == "tenants");
  CHECK(raw.text("SELECT name FROM sqlite_master WHERE name = 'api_keys'") == "api_keys");
}

TEST_CASE("reopening a database at the current schema version changes nothing") {
  TempDir dir;
  const auto db = dir / "tollgate.db";
  open_sqlite(db).reset();
  std::string version;
  {
    RawDb raw(db);
    version = raw.text("PRAGMA user_version");
  }
  open_sqlite(db).reset();
  RawDb raw(db);
  CHECK(raw.text("PRAGMA user_version") == version);
}

TEST_CASE("a database at schema version 2 gains setup sessions and auth configs and keeps its records") {
  TempDir dir;
  const auto db = dir / "tollgate.db";
  boost::asio::io_context ctx;
  {
    auto store = open_sqlite(db);
    REQUIRE(run_sync(ctx, store->create_tenant(tenant("tnt_old", 1))).ok());
  }
  {
    // Back to what a tollgate of schema 2 left: migration 3 has not run.
    RawDb raw(db);
    raw.exec("DROP TABLE usage_daily; DROP TABLE usage_shards; DROP TABLE setup_sessions; DROP TABLE auth_configs; "
             "PRAGMA user_version = 2");
  }
  auto store = open_sqlite(db);
  {
    RawDb raw(db);
    CHECK(raw.text("PRAGMA user_version") == "4");
  }
  CHECK(run_sync(ctx, store->get_tenant("tnt_old")).ok());
  SetupSession session;
  session.id = "pss_1";
  session.tenant_id = "tnt_old";
  session.status = "pending";
  session.state_hash = "st";
  REQUIRE(run_sync(ctx, store->create_setup_session(session)).ok());
  CHECK(run_sync(ctx, store->find_setup_session_by_state("st")).ok());
  AuthConfig config;
  config.id = "pac_1";
  config.tenant_id = "tnt_old";
  REQUIRE(run_sync(ctx, store->create_auth_config(config)).ok());
  CHECK(run_sync(ctx, store->get_auth_config("pac_1")).ok());
}

TEST_CASE("a database at schema version 3 gains usage counters and its auth configs read as before") {
  TempDir dir;
  const auto db = dir / "tollgate.db";
  boost::asio::io_context ctx;
  AuthConfig config;
  config.id = "pac_1";
  config.tenant_id = "tnt_old";
  config.last_used_at = 77;
  {
    auto store = open_sqlite(db);
    REQUIRE(run_sync(ctx, store->create_tenant(tenant("tnt_old", 1))).ok());
  }
  {
    // What a tollgate of schema 3 left: no usage tables, no last_used_at column.
    RawDb raw(db);
    raw.exec("DROP TABLE usage_daily; DROP TABLE usage_shards; ALTER TABLE auth_configs DROP COLUMN last_used_at; "
             "PRAGMA user_version = 3");
    raw.exec("INSERT INTO auth_configs (id, tenant_id, status, provider, external_user_id, created_at, version, body) "
             "VALUES ('pac_1', 'tnt_old', 'active', 'github', '', 5, 1, "
             "'{\"id\":\"pac_1\",\"tenant_id\":\"tnt_old\",\"last_used_at\":77}')");
  }
  auto store = open_sqlite(db);
  {
    RawDb raw(db);
    CHECK(raw.text("PRAGMA user_version") == "4");
  }
  auto read = run_sync(ctx, store->get_auth_config("pac_1"));
  REQUIRE(read.ok());
  CHECK(read->last_used_at == std::optional<Millis>(77));
  UsageBatch batch;
  batch.shard = "s";
  batch.seq = 1;
  batch.rows.push_back(UsageRow{"tnt_old", "github", "pac_1", "managed", 3, UsageCounts{1, 0, 0, 10, 20}});
  CHECK(run_sync(ctx, store->apply_usage_batch(batch)).ok());
  auto rows = run_sync(ctx, store->query_usage({}, 0, 10));
  REQUIRE(rows.ok());
  CHECK(rows->size() == 1);
}

TEST_CASE("usage queries by tenant and day range use their indexes") {
  TempDir dir;
  const auto db = dir / "tollgate.db";
  auto store = open_sqlite(db);
  RawDb raw(db);
  const std::string by_tenant = raw.plan(
      "SELECT day FROM usage_daily WHERE day >= ?1 AND day < ?2 AND tenant_id = ?3 AND ?4 = ?4 AND ?5 = ?5 "
      "ORDER BY day, tenant_id, provider, auth_config_id, mode");
  CHECK(by_tenant.find("usage_daily_by_tenant") != std::string::npos);
  const std::string all = raw.plan(
      "SELECT day FROM usage_daily WHERE day >= ?1 AND day < ?2 AND ?3 = ?3 AND ?4 = ?4 AND ?5 = ?5 "
      "ORDER BY day, tenant_id, provider, auth_config_id, mode");
  CHECK(all.find("SEARCH") != std::string::npos);
  CHECK(all.find("TEMP B-TREE") == std::string::npos);
}

TEST_CASE("setup session and auth config lookups use their indexes, the partial ones included") {
  TempDir dir;
  const auto db = dir / "tollgate.db";
  auto store = open_sqlite(db);
  RawDb raw(db);
  // The statements as sqlite_store.cpp writes them.
  CHECK(raw.plan("SELECT body FROM setup_sessions WHERE state_hash = ?1 AND state_hash <> ''")
            .find("setup_sessions_by_state") != std::string::npos);
  const std::string expired = raw.plan(
      "SELECT body FROM setup_sessions WHERE status = 'pending' AND expires_at < ?1 ORDER BY expires_at, id LIMIT ?2");
  CHECK(expired.find("setup_sessions_pending_by_expiry") != std::string::npos);
  CHECK(expired.find("TEMP B-TREE") == std::string::npos);
  for (const std::string table : {"setup_sessions", "auth_configs"}) {
    CAPTURE(table);
    const std::string plain = raw.plan("SELECT body FROM " + table +
                                       " WHERE tenant_id = ?1 AND (created_at, id) > (?5, ?6) "
                                       "ORDER BY created_at, id LIMIT ?7");
    CHECK(plain.find(table + "_by_tenant") != std::string::npos);
    CHECK(plain.find("TEMP B-TREE") == std::string::npos);
    const std::string by_status =
        raw.plan("SELECT body FROM " + table + " WHERE tenant_id = ?1 AND status = ?2 ORDER BY created_at, id LIMIT ?7");
    CHECK(by_status.find(table + "_by_status") != std::string::npos);
    CHECK(by_status.find("TEMP B-TREE") == std::string::npos);
    const std::string by_user = raw.plan("SELECT body FROM " + table +
                                         " WHERE tenant_id = ?1 AND external_user_id = ?4 ORDER BY created_at, id LIMIT ?7");
    CHECK(by_user.find(table + "_by_user") != std::string::npos);
  }
}

TEST_CASE("a database written by a newer tollgate is refused, saying so") {
  TempDir dir;
  const auto db = dir / "tollgate.db";
  {
    RawDb raw(db);
    raw.exec("PRAGMA user_version = 999");
  }
  const std::string message = open_failure(db);
  CHECK(message.find(db.string()) != std::string::npos);
  CHECK(message.find("newer tollgate") != std::string::npos);
}

TEST_CASE("a file that is not a database is refused at open, naming it") {
  TempDir dir;
  const auto db = dir.write("tollgate.db", std::string(4096, 'x'));
  const std::string message = open_failure(db);
  CHECK(message.find(db.string()) != std::string::npos);
  // The lock went with the failed store: a fixed file can be opened at once.
  std::filesystem::remove(db);
  CHECK_NOTHROW(open_sqlite(db));
}

TEST_CASE("a stored record that does not decode is corrupt, and the rest still reads") {
  TempDir dir;
  const auto db = dir / "tollgate.db";
  boost::asio::io_context ctx;
  {
    auto store = open_sqlite(db);
    REQUIRE(run_sync(ctx, store->create_tenant(tenant("tnt_bad_json", 1))).ok());
    REQUIRE(run_sync(ctx, store->create_tenant(tenant("tnt_bad_type", 2))).ok());
    REQUIRE(run_sync(ctx, store->create_tenant(tenant("tnt_good", 3))).ok());
  }
  {
    RawDb raw(db);
    raw.exec("UPDATE tenants SET body = '{not json' WHERE id = 'tnt_bad_json'");
    raw.exec("UPDATE tenants SET body = '{\"id\":\"tnt_bad_type\",\"name\":5}' WHERE id = 'tnt_bad_type'");
  }
  auto store = open_sqlite(db);
  auto bad_json = run_sync(ctx, store->get_tenant("tnt_bad_json"));
  CHECK(bad_json.is(Errc::corrupt));
  auto bad_type = run_sync(ctx, store->get_tenant("tnt_bad_type"));
  REQUIRE(bad_type.is(Errc::corrupt));
  CHECK(bad_type.error().message.find("name") != std::string::npos);
  CHECK(run_sync(ctx, store->list_tenants("", 10)).is(Errc::corrupt));
  CHECK(run_sync(ctx, store->get_tenant("tnt_good")).ok());
}

TEST_CASE("a write held up past the busy timeout is unavailable, and the caller's io_context keeps running") {
  TempDir dir;
  const auto db = dir / "tollgate.db";
  auto store = open_sqlite(db);
  boost::asio::io_context ctx;
  REQUIRE(run_sync(ctx, store->ping()).ok());

  RawDb other(db);  // another writer that ignores tollgate's lock file
  other.exec("BEGIN IMMEDIATE");

  std::optional<Result<Tenant>> outcome;
  int ticks = 0;
  boost::asio::co_spawn(
      ctx,
      [&]() -> boost::asio::awaitable<void> {
        outcome.emplace(co_await store->create_tenant(tenant("tnt_blocked", 1)));
      },
      boost::asio::detached);
  boost::asio::co_spawn(
      ctx,
      [&]() -> boost::asio::awaitable<void> {
        boost::asio::steady_timer timer(ctx);
        while (!outcome) {
          timer.expires_after(std::chrono::milliseconds(50));
          co_await timer.async_wait(boost::asio::use_awaitable);
          ++ticks;
        }
      },
      boost::asio::detached);
  ctx.restart();
  ctx.run();

  REQUIRE(outcome.has_value());
  REQUIRE(outcome->is(Errc::unavailable));
  CHECK(outcome->error().message.find("create_tenant") != std::string::npos);
  CHECK(ticks > 20);  // the busy timeout is seconds: the timer kept firing meanwhile

  other.exec("ROLLBACK");
  CHECK(run_sync(ctx, store->create_tenant(tenant("tnt_blocked", 1))).ok());
  CHECK(run_sync(ctx, store->get_tenant("tnt_blocked")).ok());
}
