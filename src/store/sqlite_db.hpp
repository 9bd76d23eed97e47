#pragma once
// A thin owner of one sqlite3 connection: statements prepared once and kept,
// transactions that roll back unless committed, and SQLite failures turned into
// store Errors. Not thread-safe: one thread (the store thread) uses it at a time.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "tollgate/store/store.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace tollgate::store::sqlite {

// One use of a cached prepared statement; resets it (and its bindings) when it
// dies. A failure to prepare or bind is kept and returned by step(), so callers
// check one result code.
class Query {
 public:
  Query(sqlite3_stmt* stmt, int rc) : stmt_(stmt), rc_(rc) {}
  ~Query();
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  Query& bind(int index, std::string_view text);
  Query& bind(int index, std::int64_t number);
  // SQLITE_ROW, SQLITE_DONE or an (extended) error code.
  int step();

  std::string_view text(int column) const;
  std::int64_t integer(int column) const;

 private:
  sqlite3_stmt* stmt_;
  int rc_;
};

class Db {
 public:
  // Opens (creating when absent) in WAL mode with synchronous=FULL, a busy
  // timeout and foreign keys on. Throws std::runtime_error naming the path.
  explicit Db(const std::filesystem::path& path);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  Query query(std::string_view sql);
  // Runs statements that return no rows; returns the result code.
  int exec(const char* sql);
  int changes() const;
  std::string message() const;  // sqlite3_errmsg of the last failure

  // Errc::unavailable naming the operation and SQLite's reason.
  Error failure(std::string_view operation, int rc) const;

 private:
  sqlite3* db_ = nullptr;
  std::map<std::string, sqlite3_stmt*, std::less<>> statements_;
};

// BEGIN IMMEDIATE (the write lock up front, so it never fails half-way on an
// upgrade); rolls back when it dies uncommitted.
class Transaction {
 public:
  explicit Transaction(Db& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  int begin_result() const { return begin_rc_; }
  int commit();

 private:
  Db& db_;
  int begin_rc_;
  bool open_;
};

}  // namespace tollgate::store::sqlite
