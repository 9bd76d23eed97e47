#include <doctest/doctest.h>

#include "load_support.hpp"

namespace tollgate::config {
namespace {

const std::filesystem::path kSource = TOLLGATE_SOURCE_DIR;

TEST_CASE("the shipped config loads with no environment: no errors, only disabled-app warnings") {
  const auto result = load(kSource / "config/tollgate.yaml", test::environment());
  INFO(test::dump(result));
  REQUIRE(result.ok());
  for (const auto& d : result.diagnostics) {
    CAPTURE(d.format());
    CHECK(d.severity == Diagnostic::Severity::warning);
    CHECK(d.message.find("disabled") != std::string::npos);
  }
}

TEST_CASE("the shipped config states SPEC §3's defaults") {
  const auto result = load(kSource / "config/tollgate.yaml", test::environment());
  REQUIRE(result.ok());
  const Config& c = *result.config;
  // Everything but the paths equals the struct defaults.
  Config defaults;
  CHECK(c.server == defaults.server);
  CHECK(c.store.kind == defaults.store.kind);
  CHECK(c.store.redis == defaults.store.redis);
  CHECK(c.relay.refresh_margin == defaults.relay.refresh_margin);
  CHECK(c.relay.replay_limit == defaults.relay.replay_limit);
  CHECK(c.relay.upstream_timeouts == defaults.relay.upstream_timeouts);
  CHECK(c.setup_sessions == defaults.setup_sessions);
  CHECK(c.metering.enabled == defaults.metering.enabled);
  CHECK(c.metering.flush_interval == defaults.metering.flush_interval);
  CHECK(c.billing == defaults.billing);
  CHECK(c.quotas == defaults.quotas);
  CHECK(c.logging == defaults.logging);
  CHECK(c.secrets.keys.empty());
  CHECK(c.providers.size() >= 28);  // SPEC §3's list plus aliases
}

TEST_CASE("relative paths resolve against the config file's directory") {
  const auto result = load(kSource / "config/tollgate.yaml", test::environment());
  REQUIRE(result.ok());
  const Config& c = *result.config;
  const auto root = kSource.lexically_normal();
  CHECK(c.file == root / "config/tollgate.yaml");
  CHECK(c.store.sqlite.path == root / "data/tollgate.db");
  CHECK(c.secrets.keys_file == root / "data/master.keys");
  CHECK(c.admin.key_file == root / "data/admin.key");
  CHECK(c.providers_file == root / "config/providers.yaml");
  CHECK(c.metering.journal_dir == root / "data/journal");
  CHECK(c.relay.ca_file.empty());
}

TEST_CASE("an empty config takes every default, with paths beside the config") {
  test::ConfigDir dir;
  const auto result = dir.load("");
  INFO(test::dump(result));
  REQUIRE(result.ok());
  const Config& c = *result.config;
  const auto base = dir.dir.path().lexically_normal();
  CHECK(c.store.sqlite.path == (base / "../data/tollgate.db").lexically_normal());
  CHECK(c.secrets.keys_file == (base / "../data/master.keys").lexically_normal());
  CHECK(c.admin.key_file == (base / "../data/admin.key").lexically_normal());
  CHECK(c.providers_file == base / "providers.yaml");
  CHECK(c.metering.journal_dir == (base / "../data/journal").lexically_normal());
  CHECK(c.server == Server{});
  CHECK(c.billing == Billing{});
}

TEST_CASE("a relative config path keeps diagnostics relative and paths absolute") {
  test::ConfigDir dir;
  dir.dir.write("tollgate.yaml", "logging: {level: loud}\nproviders_file: sub/p.yaml\n");
  const auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir.dir.path());
  const auto result = load("tollgate.yaml", test::environment());
  std::filesystem::current_path(cwd);
  INFO(test::dump(result));
  REQUIRE(result.diagnostics.size() == 2);
  CHECK(result.diagnostics[0].format() ==
        "tollgate.yaml:1:18: logging.level: expected one of: debug, info, warn, error");
  CHECK(result.diagnostics[1].message.find("the providers file sub/p.yaml does not exist") != std::string::npos);
}

}  // namespace
}  // namespace tollgate::config
