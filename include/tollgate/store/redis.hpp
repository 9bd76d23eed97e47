#pragma once
// The Redis backend: several tollgate instances share one Redis (or a
// Sentinel-managed primary). See the README's "Redis store" section for the key
// layout.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tollgate/store/store.hpp"

namespace tollgate::store {

struct RedisOptions {
  std::string url = "redis://127.0.0.1:6379/0";  // redis://[[user]:password@]host:port[/db]
  std::vector<std::string> sentinels;            // "host:port"; when set, the primary is discovered through them
                                                 // (and url gives only the credentials and db)
  std::string master_name;
  std::chrono::milliseconds command_timeout{2000};
  std::string key_prefix = "tollgate:";
};

// Counters of the store's connection since it opened, for metrics and tests.
struct RedisStats {
  std::uint64_t commands = 0;       // commands sent to a server, resends included
  std::uint64_t write_batches = 0;  // socket writes that carried them: commands / write_batches is the pipelining
  std::uint64_t max_in_flight = 0;  // the most commands ever awaiting replies at once (above 1: pipelined)
  std::uint64_t connections = 0;    // connections that got through AUTH/SELECT (reconnects = connections - 1)
  std::uint64_t timeouts = 0;       // operations that answered unavailable for want of a reply in time
};

class RedisStore : public Store {
 public:
  // A sentence for the operator when the server keeps no data across a
  // restart (no AOF and no RDB `save` rules), or "" when it does or cannot tell.
  virtual Task<std::string> persistence_warning() = 0;
  virtual RedisStats stats() const = 0;
};

// Starts connecting in the background and returns at once: until a connection
// is up, operations answer Errc::unavailable within the command timeout.
// Throws std::invalid_argument for options that can never work (bad URL,
// rediss:// which hiredis 0.14 cannot speak).
std::unique_ptr<RedisStore> open_redis(const RedisOptions& options);

}  // namespace tollgate::store
