#pragma once
// The Redis backend: several tollgate instances share one Redis (or a
// Sentinel-managed primary). See the README's "Redis store" section for the key
// layout.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tollgate/store/store.hpp"

namespace tollgate::store {

struct RedisOptions {
  std::string url = "redis://127.0.0.1:6379/0";  // redis://[[user]:password@]host:port[/db]
  std::vector<std::string> sentinels;            // "host:port"; when set, the primary is discovered through them
  std::string master_name;
  std::chrono::milliseconds command_timeout{2000};
  std::string key_prefix = "tollgate:";
};

class RedisStore : public Store {
 public:
  // A sentence for the operator when the server keeps no data across a
  // restart (no AOF and no RDB `save` rules), or "" when it does or cannot tell.
  virtual Task<std::string> persistence_warning() = 0;
};

// Starts connecting in the background and returns at once: until a connection
// is up, operations answer Errc::unavailable within the command timeout.
// Throws std::invalid_argument for options that can never work (bad URL,
// rediss:// which hiredis 0.14 cannot speak).
std::unique_ptr<RedisStore> open_redis(const RedisOptions& options);

}  // namespace tollgate::store
