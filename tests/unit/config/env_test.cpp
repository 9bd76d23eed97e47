#include <doctest/doctest.h>

#include "load_support.hpp"

namespace tollgate::config {
namespace {

using test::check_at;
using test::ConfigDir;
using test::environment;
using test::single_error;

TEST_CASE("${VAR} that is unset is an error at the value naming the variable") {
  ConfigDir dir;
  const auto d = single_error(dir.load("server:\n"
                                       "  public_url: \"https://${RELAY_HOST}\"\n"));
  check_at(d, 2, 15, "server.public_url", "environment variable RELAY_HOST is not set");
}

TEST_CASE("every unset variable in one value is reported") {
  ConfigDir dir;
  const auto result = dir.load("store: {redis: {url: \"redis://${HOST}:${PORT}/0\"}}\n");
  INFO(test::dump(result));
  REQUIRE(result.diagnostics.size() == 2);
  check_at(result.diagnostics[0], 1, 22, "store.redis.url", "HOST is not set");
  check_at(result.diagnostics[1], 1, 22, "store.redis.url", "PORT is not set");
}

TEST_CASE("${VAR} substitutes a set variable before the value is converted") {
  ConfigDir dir;
  const auto result = dir.load("server:\n"
                               "  listen: \"${ADDR}:${PORT}\"\n"
                               "  timeouts: {idle: \"${IDLE}\"}\n",
                               environment({{"ADDR", "0.0.0.0"}, {"PORT", "9090"}, {"IDLE", "90s"}}));
  INFO(test::dump(result));
  REQUIRE(result.ok());
  CHECK(result.config->server.listen == Listen{"0.0.0.0", 9090});
  CHECK(result.config->server.timeouts.idle == std::chrono::seconds(90));
}

TEST_CASE("${VAR:-default} falls back when the variable is unset or empty, inside other text") {
  ConfigDir dir;
  const std::string yaml = "store:\n  redis: {url: \"redis://${HOST:-127.0.0.1}:${PORT:-6379}/${DB:-0}\"}\n";
  SUBCASE("unset") {
    const auto result = dir.load(yaml, environment({{"PORT", ""}}));
    INFO(test::dump(result));
    REQUIRE(result.ok());
    CHECK(result.config->store.redis.url == "redis://127.0.0.1:6379/0");
  }
  SUBCASE("set") {
    const auto result = dir.load(yaml, environment({{"HOST", "cache"}, {"PORT", "6380"}}));
    INFO(test::dump(result));
    REQUIRE(result.ok());
    CHECK(result.config->store.redis.url == "redis://cache:6380/0");
  }
}

TEST_CASE("$$ is a literal $ and a lone $ stays as it is") {
  ConfigDir dir;
  const auto result = dir.load("store:\n  redis: {master_name: \"a$${X}b$c$\"}\n", environment({{"X", "no"}}));
  INFO(test::dump(result));
  REQUIRE(result.ok());
  CHECK(result.config->store.redis.master_name == "a${X}b$c$");
}

TEST_CASE("an unclosed or malformed ${ is an error") {
  ConfigDir dir;
  SUBCASE("unclosed") {
    const auto d = single_error(dir.load("store: {redis: {master_name: \"${NAME\"}}\n"));
    check_at(d, 1, 30, "store.redis.master_name", "is not closed");
  }
  SUBCASE("not a name") {
    const auto d = single_error(dir.load("store: {redis: {master_name: \"${1X}\"}}\n"));
    check_at(d, 1, 30, "store.redis.master_name", "is not a valid variable reference");
  }
}

TEST_CASE("the process environment is read by default") {
  const auto env = process_environment();
  CHECK(env("PATH").has_value());
  CHECK_FALSE(env("TOLLGATE_SURELY_UNSET_VARIABLE_42").has_value());
}

}  // namespace
}  // namespace tollgate::config
