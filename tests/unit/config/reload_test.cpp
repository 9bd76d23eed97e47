#include <doctest/doctest.h>

#include "tollgate/config/load.hpp"

namespace tollgate::config {
namespace {

TEST_CASE("a reload that changes server.listen, store or secrets is blocked, one sentence each") {
  const Config current;
  SUBCASE("listen") {
    Config next;
    next.server.listen.port = 9090;
    const auto blockers = reload_blockers(current, next);
    REQUIRE(blockers.size() == 1);
    CHECK(blockers[0].find("server.listen changed from 127.0.0.1:8080 to 127.0.0.1:9090") != std::string::npos);
  }
  SUBCASE("store") {
    Config next;
    next.store.kind = StoreKind::redis;
    const auto blockers = reload_blockers(current, next);
    REQUIRE(blockers.size() == 1);
    CHECK(blockers[0].starts_with("store changed"));
  }
  SUBCASE("secrets") {
    Config next;
    next.secrets.keys.push_back({"k1", crypto::Secret{"c2VjcmV0"}});
    const auto blockers = reload_blockers(current, next);
    REQUIRE(blockers.size() == 1);
    CHECK(blockers[0].starts_with("secrets changed"));
    CHECK(blockers[0].find("c2VjcmV0") == std::string::npos);
  }
  SUBCASE("all three") {
    Config next;
    next.server.listen.host = "::1";
    next.store.redis.url = "redis://:password@cache:6379/0";
    next.secrets.keys_file = "/elsewhere/master.keys";
    const auto blockers = reload_blockers(current, next);
    REQUIRE(blockers.size() == 3);
    CHECK(blockers[0].find("to [::1]:8080") != std::string::npos);
    for (const std::string& sentence : blockers) CHECK(sentence.find("password") == std::string::npos);
  }
}

TEST_CASE("a reload that changes what SPEC §3 lets change in place is not blocked") {
  const Config current;
  Config next;
  next.logging.level = LogLevel::debug;
  next.server.limits.max_body_bytes = 1;
  next.server.timeouts.idle = std::chrono::seconds(5);
  next.server.public_url = "https://relay.example.com";
  next.billing.prices = {{"default", "1"}};
  next.quotas.default_quota.burst = 3;
  next.providers["github"] = Provider{"github", "GitHub"};
  CHECK(reload_blockers(current, next).empty());
}

}  // namespace
}  // namespace tollgate::config
