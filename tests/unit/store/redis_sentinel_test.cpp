// The Redis store behind Sentinel: it finds the primary through the Sentinels
// and follows a failover by itself. A primary, one replica and three Sentinels,
// all throwaway processes on loopback.
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "process.hpp"
#include "raw_http.hpp"
#include "redis_process.hpp"
#include "run_sync.hpp"
#include "tollgate/store/redis.hpp"

using namespace tollgate::store;
using namespace std::chrono_literals;
using tollgate::test::eventually;
using tollgate::test::RedisProcess;
using tollgate::test::run_sync;

namespace {

// The value of `field` in a RESP reply that lists field/value pairs (SENTINEL master).
std::string field_of(const std::string& reply, const std::string& field) {
  const auto at = reply.find("\r\n" + field + "\r\n");
  if (at == std::string::npos) return "";
  const auto length_end = reply.find("\r\n", at + field.size() + 4);  // after "$<n>"
  if (length_end == std::string::npos) return "";
  const auto value_end = reply.find("\r\n", length_end + 2);
  return value_end == std::string::npos ? "" : reply.substr(length_end + 2, value_end - length_end - 2);
}

Tenant tenant(std::string id) {
  Tenant t;
  t.id = std::move(id);
  t.name = "Acme";
  t.created_at = 1000;
  t.updated_at = 1000;
  return t;
}

}  // namespace

TEST_CASE("through Sentinel the store writes to the primary, and after kill -9 to the replica promoted in its place") {
  RedisProcess primary;
  RedisProcess replica({"--replicaof", "127.0.0.1", std::to_string(primary.port())});
  const std::string conf = "sentinel monitor m 127.0.0.1 " + std::to_string(primary.port()) +
                           " 2\n"
                           "sentinel down-after-milliseconds m 500\n"
                           "sentinel failover-timeout m 5000\n";
  std::vector<std::unique_ptr<RedisProcess>> sentinels;
  for (int i = 0; i < 3; ++i) sentinels.push_back(RedisProcess::sentinel(conf));

  // Ready for a failover: the replica follows the primary, and every Sentinel
  // knows the replica and the two other Sentinels (they meet through hello
  // messages every two seconds).
  REQUIRE(eventually([&] { return replica.command("INFO replication").find("master_link_status:up") != std::string::npos; },
                     30s));
  REQUIRE(eventually(
      [&] {
        for (const auto& s : sentinels) {
          const std::string master = s->command("SENTINEL master m");
          if (field_of(master, "num-other-sentinels") != "2" || field_of(master, "num-slaves") != "1") return false;
        }
        return true;
      },
      30s));

  RedisOptions options;
  // A Sentinel that is not running comes first: it is skipped.
  options.sentinels.push_back("127.0.0.1:" + std::to_string(tollgate::test::free_port()));
  for (const auto& s : sentinels) options.sentinels.push_back("127.0.0.1:" + std::to_string(s->port()));
  options.master_name = "m";
  options.command_timeout = 1000ms;
  auto store = open_redis(options);
  boost::asio::io_context ctx;

  REQUIRE(run_sync(ctx, store->create_tenant(tenant("tnt_before"))).ok());
  CHECK(primary.command("EXISTS tollgate:{tnt_before}:tenant") == ":1\r\n");
  // Replicated before the primary dies (replication is asynchronous).
  REQUIRE(eventually([&] { return replica.command("EXISTS tollgate:{tnt_before}:tenant") == ":1\r\n"; }, 10s));
  const RedisStats before = store->stats();

  primary.kill();

  // Each attempt waits up to the command timeout; the Sentinels need a few
  // seconds to agree and promote the replica.
  const Tenant after = tenant("tnt_after");
  CHECK(eventually([&] { return run_sync(ctx, store->create_tenant(after)).ok(); }, 20s));
  CHECK(replica.command("ROLE").find("master") != std::string::npos);
  CHECK(replica.command("EXISTS tollgate:{tnt_after}:tenant") == ":1\r\n");
  auto earlier = run_sync(ctx, store->get_tenant("tnt_before"));
  REQUIRE(earlier.ok());
  CHECK(earlier->name == "Acme");
  auto page = run_sync(ctx, store->list_tenants("", 10));
  REQUIRE(page.ok());
  CHECK(page->items.size() == 2);
  CHECK(store->stats().connections > before.connections);
}
