#include <doctest/doctest.h>

#include "process.hpp"

#include "tollgate/oauth/connection_cache.hpp"

using namespace tollgate;
using oauth::CachedConnection;
using oauth::ConnectionCache;
using namespace std::chrono_literals;
using tollgate::test::eventually;

namespace {

std::shared_ptr<const CachedConnection> entry(const std::string& id, std::uint64_t version, std::string token) {
  auto e = std::make_shared<CachedConnection>();
  e->record.id = id;
  e->record.version = version;
  e->credential = crypto::Secret(std::move(token));
  return e;
}

}  // namespace

TEST_CASE("connection cache: an entry is served while fresh, and any age when the store is down") {
  ConnectionCache cache(50ms);
  cache.put(entry("pac_a", 1, "t1"));
  REQUIRE(cache.get("pac_a"));
  CHECK(cache.get("pac_a")->credential.reveal() == "t1");
  CHECK_FALSE(cache.get("pac_b"));
  CHECK(eventually([&] { return !cache.get("pac_a"); }, 2s));
  REQUIRE(cache.get("pac_a", true));
  CHECK(cache.get("pac_a", true)->credential.reveal() == "t1");
}

TEST_CASE("connection cache: a write's version drops older entries and a slow reader cannot put one back") {
  ConnectionCache cache;
  cache.put(entry("pac_a", 3, "old"));
  cache.invalidate("pac_a", 4);
  CHECK_FALSE(cache.get("pac_a"));
  CHECK_FALSE(cache.get("pac_a", true));
  cache.put(entry("pac_a", 3, "old"));  // read before the write, put after it
  CHECK_FALSE(cache.get("pac_a"));
  cache.put(entry("pac_a", 4, "new"));
  REQUIRE(cache.get("pac_a"));
  CHECK(cache.get("pac_a")->credential.reveal() == "new");
  cache.put(entry("pac_a", 3, "old"));  // never replaces a newer one
  CHECK(cache.get("pac_a")->credential.reveal() == "new");
  cache.invalidate("pac_a", 4);  // the same version stays
  CHECK(cache.get("pac_a"));
}

TEST_CASE("connection cache: external-user lookups are forgotten when any connection changes") {
  ConnectionCache cache;
  cache.put_user("tnt_1", "github", "u1", "pac_a");
  CHECK(cache.find_user("tnt_1", "github", "u1") == "pac_a");
  CHECK_FALSE(cache.find_user("tnt_2", "github", "u1"));
  CHECK_FALSE(cache.find_user("tnt_1", "gitlab", "u1"));
  cache.forget_users();
  CHECK_FALSE(cache.find_user("tnt_1", "github", "u1"));
  CHECK(cache.find_user("tnt_1", "github", "u1", true) == "pac_a");  // still there for an outage
}

TEST_CASE("connection cache: memory is bounded") {
  ConnectionCache cache(30s, 160);
  for (int i = 0; i < 1000; ++i) cache.put(entry("pac_" + std::to_string(i), 1, "t"));
  CHECK(cache.size() <= 160);
  CHECK(cache.size() > 0);
}
