#pragma once
#include <filesystem>

#include "sqlite_db.hpp"

namespace tollgate::store::sqlite {

// The schema version this build writes (PRAGMA user_version after migrate).
int schema_version();

// Brings the database up to schema_version(), one transaction per migration.
// Throws std::runtime_error naming `path` when a migration fails or the
// database was written by a newer tollgate.
void migrate(Db& db, const std::filesystem::path& path);

}  // namespace tollgate::store::sqlite
