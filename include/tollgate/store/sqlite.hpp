#pragma once
#include <filesystem>
#include <memory>

#include "tollgate/store/store.hpp"

namespace tollgate::store {

// Opens (creating when absent) the SQLite database in WAL mode with
// synchronous=FULL, and takes `<path>.lock` with flock so a second process on
// the same database is refused. All SQLite calls run on the store's own thread.
// Throws std::runtime_error with a message a person can act on.
std::unique_ptr<Store> open_sqlite(const std::filesystem::path& path);

}  // namespace tollgate::store
