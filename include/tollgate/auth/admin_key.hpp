#pragma once
#include <filesystem>
#include <optional>
#include <string>

#include "tollgate/crypto/secret.hpp"

namespace tollgate::auth {

struct AdminKey {
  crypto::Secret key;
  std::string source;  // the key file's path, or "TOLLGATE_ADMIN_KEY"
  bool created = false;
};

// The operator's admin key: `from_env` (TOLLGATE_ADMIN_KEY) when set and not
// empty; else the key file, created (mode 0600, parent directories 0700) with
// a fresh random key on first run. Throws std::runtime_error naming the file.
AdminKey load_or_create_admin_key(const std::filesystem::path& key_file, const std::optional<std::string>& from_env);

}  // namespace tollgate::auth
