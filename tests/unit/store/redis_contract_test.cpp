// The Store contract (contract.hpp) against the Redis backend, each store on a
// throwaway redis-server of its own, so every open() starts empty.
#include <memory>

#include "contract.hpp"
#include "redis_process.hpp"
#include "tollgate/store/redis.hpp"

namespace {

struct RedisBackend {
  tollgate::test::RedisProcess server;
  std::unique_ptr<tollgate::store::Store> open() {
    tollgate::store::RedisOptions options;
    options.url = server.url();
    return tollgate::store::open_redis(options);
  }
};

}  // namespace

TYPE_TO_STRING_AS("redis", RedisBackend);
TOLLGATE_STORE_CONTRACT(RedisBackend);
