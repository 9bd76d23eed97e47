#include <doctest/doctest.h>

#include "load_support.hpp"

namespace tollgate::config {
namespace {

using test::ConfigDir;

TEST_CASE("listening off loopback with an http public_url warns but loads") {
  ConfigDir dir;
  const auto result = dir.load("server:\n"
                               "  public_url: http://relay.internal:8080\n"
                               "  listen: 0.0.0.0:8080\n");
  INFO(test::dump(result));
  REQUIRE(result.ok());
  REQUIRE(result.diagnostics.size() == 1);
  const Diagnostic& d = result.diagnostics[0];
  CHECK(d.severity == Diagnostic::Severity::warning);
  CHECK(d.line == 3);
  CHECK(d.column == 11);
  CHECK(d.key_path == "server.listen");
  CHECK(d.message.find("clear text") != std::string::npos);
  CHECK(d.format().starts_with(dir.config_file() + ":3:11: warning: server.listen: "));
}

TEST_CASE("no clear-text warning on loopback, or with an https public_url") {
  ConfigDir dir;
  for (const char* yaml : {"server: {listen: \"[::1]:8080\"}\n", "server: {listen: \"localhost:8080\"}\n",
                           "server: {listen: 127.0.0.2:8080, public_url: http://tollgate.example.com}\n",
                           "server: {listen: 0.0.0.0:8080, public_url: https://relay.example.com}\n"}) {
    INFO(yaml);
    const auto result = dir.load(yaml);
    INFO(test::dump(result));
    CHECK(result.ok());
    CHECK(result.diagnostics.empty());
  }
}

TEST_CASE("warnings are sorted in among errors by position") {
  ConfigDir dir;
  const auto result = dir.load("logging: {level: loud}\n"
                               "server: {listen: \"[::]:80\"}\n"
                               "relay: {replay_limit: big}\n");
  INFO(test::dump(result));
  CHECK_FALSE(result.ok());
  REQUIRE(result.diagnostics.size() == 3);
  CHECK(result.diagnostics[0].line == 1);
  CHECK(result.diagnostics[1].severity == Diagnostic::Severity::warning);
  CHECK(result.diagnostics[1].line == 2);
  CHECK(result.diagnostics[2].line == 3);
}

}  // namespace
}  // namespace tollgate::config
