#pragma once
// `<database>.lock`, held with flock for as long as a store has the database
// open, so a second tollgate process on the same file is refused instead of
// sharing it behind the first one's back. The kernel drops the lock when the
// process dies, however it dies.
#include <filesystem>

namespace tollgate::store {

class LockFile {
 public:
  // Takes the lock and writes our pid into the file. Throws std::runtime_error
  // saying who holds it when another process (or another store in this one) does.
  LockFile(const std::filesystem::path& lock_path, const std::filesystem::path& database);
  ~LockFile();
  LockFile(const LockFile&) = delete;
  LockFile& operator=(const LockFile&) = delete;

 private:
  int fd_ = -1;
};

// Creates the missing directories above `file`, each 0700 (they hold secrets).
void create_private_parents(const std::filesystem::path& file);

}  // namespace tollgate::store
