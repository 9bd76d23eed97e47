#include "sqlite_db.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace tollgate::store::sqlite {
namespace {

constexpr int kBusyTimeoutMs = 5000;

// SQLite takes the mode of the WAL and shared-memory files from the database
// file, so creating it 0600 first keeps all three private.
void create_private_file(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw std::runtime_error("cannot open the database " + path.string() + ": " + std::strerror(errno));
  }
  (void)::fchmod(fd, 0600);  // best effort on a file someone else made
  ::close(fd);
}

}  // namespace

Query::~Query() {
  if (stmt_) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

Query& Query::bind(int index, std::string_view text) {
  if (rc_ == SQLITE_OK) {
    rc_ = sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  }
  return *this;
}

Query& Query::bind(int index, std::int64_t number) {
  if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_int64(stmt_, index, number);
  return *this;
}

int Query::step() {
  if (rc_ != SQLITE_OK) return rc_;
  return sqlite3_step(stmt_);
}

std::string_view Query::text(int column) const {
  const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  if (!data) return {};
  return {data, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column))};
}

std::int64_t Query::integer(int column) const { return sqlite3_column_int64(stmt_, column); }

Db::Db(const std::filesystem::path& path) {
  create_private_file(path);
  const int rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  const auto fail = [&](const std::string& why) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error("cannot open the database " + path.string() + ": " + why);
  };
  if (rc != SQLITE_OK) fail(db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);

  // journal_mode answers the mode it ended up in rather than failing.
  sqlite3_stmt* stmt = nullptr;
  std::string mode;
  int mode_rc = sqlite3_prepare_v2(db_, "PRAGMA journal_mode=WAL", -1, &stmt, nullptr);
  if (mode_rc == SQLITE_OK && (mode_rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    if (const auto* text = sqlite3_column_text(stmt, 0)) mode = reinterpret_cast<const char*>(text);
    mode_rc = SQLITE_OK;
  }
  sqlite3_finalize(stmt);
  if (mode_rc != SQLITE_OK) fail(sqlite3_errmsg(db_));
  if (mode != "wal") fail("cannot switch to WAL mode (journal mode is " + mode + ")");

  if (exec("PRAGMA synchronous=FULL") != SQLITE_OK || exec("PRAGMA foreign_keys=ON") != SQLITE_OK) {
    fail(sqlite3_errmsg(db_));
  }
}

Db::~Db() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  sqlite3_close(db_);
}

Query Db::query(std::string_view sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt,
                                      nullptr);
    if (rc != SQLITE_OK) return Query(nullptr, rc);
    it = statements_.emplace(std::string(sql), stmt).first;
  }
  return Query(it->second, SQLITE_OK);
}

int Db::exec(const char* sql) { return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr); }

int Db::changes() const { return sqlite3_changes(db_); }

std::string Db::message() const { return sqlite3_errmsg(db_); }

Error Db::failure(std::string_view operation, int rc) const {
  return Error{Errc::unavailable,
               std::string(operation) + ": sqlite: " + sqlite3_errmsg(db_) + " (" + sqlite3_errstr(rc) + ")"};
}

Transaction::Transaction(Db& db) : db_(db), begin_rc_(db.exec("BEGIN IMMEDIATE")), open_(begin_rc_ == SQLITE_OK) {}

Transaction::~Transaction() {
  if (open_) db_.exec("ROLLBACK");
}

int Transaction::commit() {
  const int rc = db_.exec("COMMIT");
  if (rc == SQLITE_OK) open_ = false;
  return rc;
}

}  // namespace tollgate::store::sqlite
