// One test per kind of problem, each pinning line, column and key path.
#include <doctest/doctest.h>

#include "load_support.hpp"

namespace tollgate::config {
namespace {

using test::check_at;
using test::ConfigDir;
using test::single_error;

TEST_CASE("an unknown top-level key is an error at the key, listing the accepted keys") {
  ConfigDir dir;
  const auto d = single_error(dir.load("server:\n"
                                       "  workers: 2\n"
                                       "sever:\n"
                                       "  workers: 2\n"));
  check_at(d, 3, 1, "sever", "unknown key \"sever\" (expected one of: server, store, secrets, admin,");
  CHECK(d.file == dir.config_file());
}

TEST_CASE("an unknown nested key is an error at the key, listing that section's keys") {
  ConfigDir dir;
  const auto d = single_error(dir.load("server:\n"
                                       "  listn: 127.0.0.1:9000\n"));
  check_at(d, 2, 3, "server.listn",
           "unknown key \"listn\" (expected one of: listen, public_url, workers, limits, timeouts)");
}

TEST_CASE("a key given twice in one map is an error at the second") {
  ConfigDir dir;
  const auto d = single_error(dir.load("logging:\n"
                                       "  level: info\n"
                                       "  level: debug\n"));
  check_at(d, 3, 3, "logging.level", "duplicate key \"level\" (first set at line 2)");
}

TEST_CASE("a value of the wrong type is an error at the value") {
  ConfigDir dir;
  SUBCASE("a map where a size is expected") {
    const auto d = single_error(dir.load("server:\n"
                                         "  limits:\n"
                                         "    max_body_bytes: {a: 1}\n"));
    check_at(d, 3, 21, "server.limits.max_body_bytes", "expected a size like 16KiB, 10MiB or 512");
    CHECK(d.message.find("got a map") != std::string::npos);
  }
  SUBCASE("a single value where a map is expected") {
    const auto d = single_error(dir.load("server: 8080\n"));
    check_at(d, 1, 9, "server", "expected a map of key: value pairs, got a single value");
  }
  SUBCASE("a list where a string is expected") {
    const auto d = single_error(dir.load("store:\n"
                                         "  redis:\n"
                                         "    master_name: [a, b]\n"));
    check_at(d, 3, 18, "store.redis.master_name", "expected a string, got a list");
  }
  SUBCASE("an empty value where a number is expected is reported at its key") {
    const auto d = single_error(dir.load("server:\n"
                                         "  workers:\n"
                                         "logging: {level: info}\n"));
    check_at(d, 2, 3, "server.workers", "expected a whole number from 0 to 1024, got nothing");
  }
  SUBCASE("a whole number out of range") {
    const auto d = single_error(dir.load("server: {workers: 1025}\n"));
    check_at(d, 1, 19, "server.workers", "expected a whole number from 0 to 1024");
  }
  SUBCASE("a boolean that is not true or false") {
    const auto d = single_error(dir.load("metering:\n"
                                         "  enabled: maybe\n"));
    check_at(d, 2, 12, "metering.enabled", "expected true or false");
  }
}

TEST_CASE("a bad duration is an error that shows the accepted form") {
  ConfigDir dir;
  SUBCASE("a bare number needs a unit") {
    const auto d = single_error(dir.load("server:\n"
                                         "  timeouts:\n"
                                         "    idle: 60\n"));
    check_at(d, 3, 11, "server.timeouts.idle", "a duration needs a unit, e.g. 30s");
  }
  SUBCASE("garbage") {
    const auto d = single_error(dir.load("relay:\n"
                                         "  upstream_timeouts: {connect: soon}\n"));
    check_at(d, 2, 32, "relay.upstream_timeouts.connect", "expected a duration like 30s, 5m, 1h");
  }
  SUBCASE("zero where a positive duration is needed") {
    const auto d = single_error(dir.load("setup_sessions: {ttl: 0s}\n"));
    check_at(d, 1, 23, "setup_sessions.ttl", "must be longer than 0");
  }
  SUBCASE("zero where zero makes sense is fine") {
    const auto result = dir.load("relay: {refresh_margin: 0}\nserver: {timeouts: {shutdown_grace: 0s}}\n");
    INFO(test::dump(result));
    REQUIRE(result.ok());
    CHECK(result.config->relay.refresh_margin == Duration::zero());
    CHECK(result.config->server.timeouts.shutdown_grace == Duration::zero());
  }
}

TEST_CASE("a bad size is an error that shows the accepted units") {
  ConfigDir dir;
  SUBCASE("a fraction") {
    const auto d = single_error(dir.load("relay:\n"
                                         "  replay_limit: 1.5MiB\n"));
    check_at(d, 2, 17, "relay.replay_limit",
             "expected a size like 16KiB, 10MiB or 512 (bytes; units: B, KiB, MiB, GiB, KB, MB, GB)");
  }
  SUBCASE("a negative") {
    const auto d = single_error(dir.load("server: {limits: {max_uri_bytes: -8KiB}}\n"));
    check_at(d, 1, 34, "server.limits.max_uri_bytes", "expected a size");
  }
  SUBCASE("zero for a limit") {
    const auto d = single_error(dir.load("server: {limits: {max_header_bytes: 0}}\n"));
    check_at(d, 1, 37, "server.limits.max_header_bytes", "must be larger than 0");
  }
}

TEST_CASE("a bad listen address is an error at the value") {
  ConfigDir dir;
  for (const char* listen : {"example.com:8080", "127.0.0.1", "127.0.0.1:65536", "127.0.0.1:http", "::1:8080",
                             "[::1]", "[nope]:8080", "256.0.0.1:80", ":8080"}) {
    INFO(listen);
    const auto d = single_error(dir.load(std::string("server:\n  listen: \"") + listen + "\"\n"));
    check_at(d, 2, 11, "server.listen", "expected host:port with an IPv4 address, [IPv6 address] or localhost");
  }
}

TEST_CASE("listen accepts IPv4, bracketed IPv6 and localhost with ports 0 to 65535") {
  ConfigDir dir;
  const struct {
    const char* text;
    const char* host;
    std::uint16_t port;
  } cases[] = {{"0.0.0.0:0", "0.0.0.0", 0}, {"[::1]:65535", "::1", 65535}, {"localhost:9000", "localhost", 9000}};
  for (const auto& c : cases) {
    INFO(c.text);
    const auto result = dir.load(std::string("server:\n  listen: \"") + c.text + "\"\n");
    INFO(test::dump(result));
    REQUIRE(result.ok());
    CHECK(result.config->server.listen.host == c.host);
    CHECK(result.config->server.listen.port == c.port);
  }
}

TEST_CASE("a bad URL is an error at the value") {
  ConfigDir dir;
  SUBCASE("public_url with a query") {
    const auto d = single_error(dir.load("server:\n"
                                         "  public_url: https://relay.example.com/?x=1\n"));
    check_at(d, 2, 15, "server.public_url", "must not have a query");
  }
  SUBCASE("public_url that is not http(s)") {
    const auto d = single_error(dir.load("server:\n"
                                         "  public_url: ftp://relay.example.com\n"));
    check_at(d, 2, 15, "server.public_url", "expected an http:// or https:// URL");
  }
  SUBCASE("public_url with user info") {
    const auto d = single_error(dir.load("server: {public_url: \"https://u@relay.example.com\"}\n"));
    check_at(d, 1, 22, "server.public_url", "user info");
  }
  SUBCASE("a redis URL with another scheme") {
    const auto d = single_error(dir.load("store:\n"
                                         "  redis:\n"
                                         "    url: http://127.0.0.1:6379\n"));
    check_at(d, 3, 10, "store.redis.url", "expected a redis:// or rediss:// URL");
  }
}

TEST_CASE("public_url loses a trailing slash and keeps a path") {
  ConfigDir dir;
  const auto result = dir.load("server: {public_url: \"https://relay.example.com:8443/tg/\"}\n");
  INFO(test::dump(result));
  REQUIRE(result.ok());
  CHECK(result.config->server.public_url == "https://relay.example.com:8443/tg");
}

TEST_CASE("a value outside an enumeration is an error listing the choices") {
  ConfigDir dir;
  SUBCASE("logging.level") {
    const auto d = single_error(dir.load("logging:\n"
                                         "  level: verbose\n"));
    check_at(d, 2, 10, "logging.level", "expected one of: debug, info, warn, error");
  }
  SUBCASE("store.kind") {
    const auto d = single_error(dir.load("store: {kind: mysql}\n"));
    check_at(d, 1, 15, "store.kind", "expected one of: sqlite, redis");
  }
  SUBCASE("billing.billable_modes") {
    const auto d = single_error(dir.load("billing:\n"
                                         "  billable_modes: [managed, free]\n"));
    check_at(d, 2, 29, "billing.billable_modes[1]", "expected managed or your-own");
  }
}

TEST_CASE("redis sentinels need host:port entries and a master_name") {
  ConfigDir dir;
  SUBCASE("master_name missing is reported at the redis map") {
    const auto d = single_error(dir.load("store:\n"
                                         "  kind: redis\n"
                                         "  redis:\n"
                                         "    sentinels: [\"10.0.0.5:26379\", \"sentinel-1:26379\"]\n"));
    check_at(d, 4, 5, "store.redis.master_name", "is required when sentinels are listed");
  }
  SUBCASE("a sentinel without a port") {
    const auto d = single_error(dir.load("store:\n"
                                         "  redis:\n"
                                         "    master_name: mymaster\n"
                                         "    sentinels:\n"
                                         "      - 10.0.0.5:26379\n"
                                         "      - sentinel-1\n"));
    check_at(d, 6, 9, "store.redis.sentinels[1]", "expected host:port");
  }
}

TEST_CASE("a ca_file that does not exist is an error naming the file") {
  ConfigDir dir;
  const auto d = single_error(dir.load("relay:\n"
                                       "  ca_file: certs/ca.pem\n"));
  check_at(d, 2, 12, "relay.ca_file", (dir.dir / "certs/ca.pem").string() + " does not exist");
}

TEST_CASE("a ca_file that exists is made absolute") {
  ConfigDir dir;
  const auto ca = dir.dir.write("certs/ca.pem", "x");
  const auto result = dir.load("relay: {ca_file: ./certs/../certs/ca.pem}\n");
  INFO(test::dump(result));
  REQUIRE(result.ok());
  CHECK(result.config->relay.ca_file == ca);
}

TEST_CASE("a bad price is an error at the price") {
  ConfigDir dir;
  for (const char* price : {"-0.10", "abc", "1e3", ".5", "1.", "\"\""}) {
    INFO(price);
    const auto d = single_error(dir.load(std::string("billing:\n  prices:\n    github: ") + price + "\n"));
    check_at(d, 3, 13, "billing.prices.github", "expected a decimal price per 1,000 calls");
  }
}

TEST_CASE("an unquoted YAML number is taken as the price's exact text") {
  ConfigDir dir;
  const auto result = dir.load("billing:\n  prices: {default: 0.10, github: 2}\n");
  INFO(test::dump(result));
  REQUIRE(result.ok());
  const std::map<std::string, std::string> expected{{"default", "0.10"}, {"github", "2"}};
  CHECK(result.config->billing.prices == expected);
}

TEST_CASE("a price for something that is not a provider key is an error at the key") {
  ConfigDir dir;
  const auto d = single_error(dir.load("billing:\n  prices: {GitHub: \"0.05\"}\n"));
  check_at(d, 2, 12, "billing.prices.GitHub", "expected `default` or a provider key");
}

TEST_CASE("a bad currency is an error at the value") {
  ConfigDir dir;
  for (const char* currency : {"usd", "US", "EURO", "U5D"}) {
    INFO(currency);
    const auto d = single_error(dir.load(std::string("billing:\n  currency: ") + currency + "\n"));
    check_at(d, 2, 13, "billing.currency", "three-letter ISO 4217 currency code in upper case");
  }
}

TEST_CASE("a negative or fractional quota is an error") {
  ConfigDir dir;
  SUBCASE("monthly_calls") {
    const auto d = single_error(dir.load("quotas:\n  default: {monthly_calls: -1}\n"));
    check_at(d, 2, 28, "quotas.default.monthly_calls", "expected a whole number, 0 or more");
  }
  SUBCASE("rate_per_second") {
    const auto d = single_error(dir.load("quotas:\n  default: {rate_per_second: -0.5}\n"));
    check_at(d, 2, 30, "quotas.default.rate_per_second", "expected a number, 0 or more");
  }
  SUBCASE("a fractional rate is fine") {
    const auto result = dir.load("quotas:\n  default: {rate_per_second: 0.5, burst: 10, monthly_calls: 1000}\n");
    INFO(test::dump(result));
    REQUIRE(result.ok());
    CHECK(result.config->quotas.default_quota == Quota{1000, 0.5, 10});
  }
}

TEST_CASE("a YAML syntax error is reported with its position and no key path") {
  ConfigDir dir;
  const auto result = dir.load("server:\n"
                               "  listen: [127.0.0.1:8080\n"
                               "logging: {level: info}\n");
  const auto d = single_error(result);
  CHECK(d.key_path.empty());
  CHECK(d.line == 3);
  CHECK(d.column == 8);
  CHECK(d.message.find("YAML syntax error") != std::string::npos);
  CHECK(d.format().starts_with(dir.config_file() + ":3:8: YAML syntax error: "));
}

TEST_CASE("a config file that does not exist is one error without a position") {
  tollgate::test::TempDir dir;
  const auto result = load(dir / "nope.yaml", test::environment());
  const auto d = single_error(result);
  CHECK(d.line == 0);
  CHECK(d.format() == (dir / "nope.yaml").string() + ": the config file does not exist");
}

TEST_CASE("every problem is reported at once, sorted by position") {
  ConfigDir dir;
  const auto result = dir.load("server:\n"                       // 1
                               "  listen: nowhere\n"             // 2  bad listen
                               "  workers: many\n"               // 3  bad number
                               "  timeouts: {idle: 60}\n"        // 4  duration without unit
                               "store: {kind: mysql}\n"          // 5  bad enum
                               "colour: blue\n"                  // 6  unknown key
                               "billing:\n"                      // 7
                               "  currency: euro\n"              // 8  bad currency
                               "  prices: {default: free}\n"     // 9  bad price
                               "logging: {level: loud, format: text}\n");  // 10 bad enum
  INFO(test::dump(result));
  CHECK_FALSE(result.ok());
  REQUIRE(result.diagnostics.size() == 8);
  const std::vector<std::pair<int, std::string>> expected{
      {2, "server.listen"},  {3, "server.workers"},   {4, "server.timeouts.idle"},   {5, "store.kind"},
      {6, "colour"},         {8, "billing.currency"}, {9, "billing.prices.default"}, {10, "logging.level"}};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CHECK(result.diagnostics[i].line == expected[i].first);
    CHECK(result.diagnostics[i].key_path == expected[i].second);
  }
}

}  // namespace
}  // namespace tollgate::config
