// `tollgate serve` on the Redis store: outages and Sentinel failover (SPEC §5
// "Store outage"), against real redis-server and redis-sentinel processes.
#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <regex>
#include <thread>

#include "raw_http.hpp"
#include "redis_process.hpp"
#include "tollgate_process.hpp"

using namespace tollgate::test;

namespace {

const std::string kAdmin = "tg_admin_redis_test_0123456789";

std::string redis_config(const std::string& url, const std::string& extra = "") {
  return "store:\n  kind: redis\n  redis:\n    url: \"" + url + "\"\n    command_timeout: 500ms\n" + extra;
}

HttpResponse admin_call(std::uint16_t port, std::string_view method, std::string_view target, std::string_view body = {}) {
  return http_request(port, method, target, {{"Authorization", "Bearer " + kAdmin}}, body);
}

std::string id_of(const std::string& body) {
  std::smatch m;
  return std::regex_search(body, m, std::regex("\"id\":\"(tnt_[a-z0-9]+)\"")) ? m[1].str() : "";
}

}  // namespace

TEST_CASE("redis outage: requests answer 503 within the timeout, /readyz goes red and back, no acknowledged write is lost") {
  RedisProcess redis({"--appendonly", "yes", "--appendfsync", "always"});
  TollgateProcess tg(redis_config(redis.url()), {{"TOLLGATE_ADMIN_KEY", kAdmin}});
  REQUIRE(admin_call(tg.port(), "GET", "/readyz").status == 200);

  std::mutex mutex;
  std::vector<std::string> acked;
  std::vector<std::pair<int, double>> failures;  // status, seconds taken
  std::atomic<bool> stop{false};
  std::atomic<int> ok_after_restart{0};
  std::atomic<bool> restarted{false};
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      auto start = std::chrono::steady_clock::now();
      auto r = admin_call(tg.port(), "POST", "/v1/tenants", "{\"name\":\"w" + std::to_string(i) + "\"}");
      double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::lock_guard lock(mutex);
      if (r.status == 201) {
        acked.push_back(id_of(r.body));
        if (restarted) ++ok_after_restart;
      } else {
        failures.emplace_back(r.status, took);
        CHECK(r.header("Tollgate-Error") == "store_unavailable");
      }
    }
  });
  REQUIRE(eventually([&] { std::lock_guard lock(mutex); return acked.size() >= 20; }, 20s));
  redis.stop();
  CHECK(eventually([&] { return admin_call(tg.port(), "GET", "/readyz").status == 503; }, 10s));
  REQUIRE(eventually([&] { std::lock_guard lock(mutex); return failures.size() >= 3; }, 20s));
  redis.start();
  restarted = true;
  CHECK(eventually([&] { return admin_call(tg.port(), "GET", "/readyz").status == 200; }, 20s));
  CHECK(eventually([&] { return ok_after_restart >= 5; }, 20s));
  stop = true;
  writer.join();

  for (const auto& [status, took] : failures) {
    CHECK(status == 503);
    CHECK(took < 5.0);  // command_timeout is 500ms; an outage must not hang a request
  }
  auto list = admin_call(tg.port(), "GET", "/v1/tenants?limit=500");
  REQUIRE(list.status == 200);
  for (const auto& id : acked) {
    CAPTURE(id);
    CHECK(list.body.find(id) != std::string::npos);
  }
}

TEST_CASE("serve warns at start when the Redis server keeps no data across a restart") {
  RedisProcess redis;  // --save "" --appendonly no
  TollgateProcess tg(redis_config(redis.url()), {{"TOLLGATE_ADMIN_KEY", kAdmin}});
  CHECK(eventually([&] { return tg.logs().find("persistence") != std::string::npos; }));
  RedisProcess durable({"--appendonly", "yes"});
  TollgateProcess tg2(redis_config(durable.url()), {{"TOLLGATE_ADMIN_KEY", kAdmin}});
  CHECK(admin_call(tg2.port(), "GET", "/readyz").status == 200);
  CHECK(tg2.logs().find("persistence") == std::string::npos);
}

TEST_CASE("sentinel failover: tollgate follows the promoted replica and keeps answering") {
  RedisProcess primary;
  RedisProcess replica({"--replicaof", "127.0.0.1", std::to_string(primary.port())});
  REQUIRE(eventually([&] { return replica.command("INFO replication").find("master_link_status:up") != std::string::npos; }, 20s));
  std::string conf = "sentinel monitor m 127.0.0.1 " + std::to_string(primary.port()) +
                     " 2\nsentinel down-after-milliseconds m 500\nsentinel failover-timeout m 5000\n";
  auto s1 = RedisProcess::sentinel(conf);
  auto s2 = RedisProcess::sentinel(conf);
  auto s3 = RedisProcess::sentinel(conf);
  // Failover needs the sentinels to know each other and the replica.
  for (auto* s : {s1.get(), s2.get(), s3.get()})
    REQUIRE(eventually([&] { return s->command("INFO sentinel").find("slaves=1,sentinels=3") != std::string::npos; }, 30s));
  std::string sentinels = "    sentinels: [\"127.0.0.1:" + std::to_string(s1->port()) + "\", \"127.0.0.1:" +
                          std::to_string(s2->port()) + "\", \"127.0.0.1:" + std::to_string(s3->port()) +
                          "\"]\n    master_name: m\n";
  TollgateProcess tg(redis_config(primary.url(), "") + sentinels, {{"TOLLGATE_ADMIN_KEY", kAdmin}});

  auto before = admin_call(tg.port(), "POST", "/v1/tenants", R"({"name":"before"})");
  REQUIRE(before.status == 201);
  // Make sure the write reached the replica before the primary dies.
  REQUIRE(eventually([&] {
    return replica.command("EXISTS tollgate:{" + id_of(before.body) + "}:tenant").rfind(":1", 0) == 0;
  }, 10s));
  primary.kill();

  CHECK(eventually([&] { return admin_call(tg.port(), "POST", "/v1/tenants", R"({"name":"after"})").status == 201; }, 30s));
  auto got = admin_call(tg.port(), "GET", "/v1/tenants/" + id_of(before.body));
  CHECK(got.status == 200);
  CHECK(replica.command("ROLE").find("master") != std::string::npos);
}
