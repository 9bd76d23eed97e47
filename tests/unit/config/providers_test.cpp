#include <doctest/doctest.h>

#include "load_support.hpp"

namespace tollgate::config {
namespace {

using test::check_at;
using test::ConfigDir;
using test::single_error;

TEST_CASE("the providers file beside the config is loaded by default") {
  ConfigDir dir;
  dir.dir.write("providers.yaml", "github: {display_name: GitHub}\nexa:\n  display_name: Exa\n");
  const auto result = dir.load("logging: {level: info}\n");
  INFO(test::dump(result));
  REQUIRE(result.ok());
  CHECK(result.config->providers_file == dir.dir / "providers.yaml");
  REQUIRE(result.config->providers.size() == 2);
  CHECK(result.config->providers.at("github") == Provider{"github", "GitHub"});
  CHECK(result.config->providers.at("exa").display_name == "Exa");
}

TEST_CASE("an empty providers map is a valid catalog") {
  ConfigDir dir;
  const auto result = dir.load("providers_file: ./providers.yaml\n");
  INFO(test::dump(result));
  REQUIRE(result.ok());
  CHECK(result.config->providers.empty());
}

TEST_CASE("a missing providers file is an error naming the file") {
  ConfigDir dir;
  SUBCASE("named by providers_file") {
    const auto d = single_error(dir.load("logging: {level: info}\n"
                                         "providers_file: catalog/providers.yaml\n"));
    check_at(d, 2, 17, "providers_file", "the providers file " + (dir.dir / "catalog/providers.yaml").string() +
                                             " does not exist");
  }
  SUBCASE("the default, reported where the config starts") {
    std::filesystem::remove(dir.dir / "providers.yaml");
    const auto d = single_error(dir.load("logging: {level: info}\n"));
    check_at(d, 1, 1, "providers_file", (dir.dir / "providers.yaml").string() + " does not exist");
  }
}

TEST_CASE("a problem inside the providers file names that file, its line and a path from its root") {
  ConfigDir dir;
  const auto catalog = dir.dir.write("catalog.yaml", "github:\n"
                                                     "  display_name: GitHub\n"
                                                     "  auth_mode: oauth2\n"
                                                     "slack:\n"
                                                     "  display_name: [Slack]\n");
  const auto result = dir.load("providers_file: catalog.yaml\n");
  INFO(test::dump(result));
  REQUIRE(result.diagnostics.size() == 2);
  CHECK_FALSE(result.ok());
  CHECK(result.diagnostics[0].file == catalog.string());
  check_at(result.diagnostics[0], 3, 3, "github.auth_mode",
           "unknown key \"auth_mode\" (expected one of: display_name)");
  CHECK(result.diagnostics[1].file == catalog.string());
  check_at(result.diagnostics[1], 5, 17, "slack.display_name", "expected a string, got a list");
}

TEST_CASE("a YAML syntax error in the providers file is reported in that file") {
  ConfigDir dir;
  const auto catalog = dir.dir.write("providers.yaml", "github: {display_name: GitHub\n");
  const auto d = single_error(dir.load("{}\n"));
  CHECK(d.file == catalog.string());
  CHECK(d.key_path.empty());
  CHECK(d.line > 0);
  CHECK(d.message.find("YAML syntax error") != std::string::npos);
}

TEST_CASE("a providers file that is not a map is an error") {
  ConfigDir dir;
  dir.dir.write("providers.yaml", "- github\n");
  const auto d = single_error(dir.load("{}\n"));
  check_at(d, 1, 1, "", "expected a map of key: value pairs, got a list");
}

TEST_CASE("inline providers use the providers. key path and clear providers_file") {
  ConfigDir dir;
  SUBCASE("valid") {
    const auto result = dir.load("providers:\n  github: {display_name: GitHub}\n");
    INFO(test::dump(result));
    REQUIRE(result.ok());
    CHECK(result.config->providers_file.empty());
    CHECK(result.config->providers.at("github").display_name == "GitHub");
  }
  SUBCASE("an unknown key") {
    const auto d = single_error(dir.load("providers:\n  github:\n    token_url: https://x\n"));
    check_at(d, 3, 5, "providers.github.token_url", "unknown key \"token_url\"");
  }
}

TEST_CASE("providers_file and an inline providers map together are an error at providers") {
  ConfigDir dir;
  const auto d = single_error(dir.load("providers_file: providers.yaml\n"
                                       "providers: {}\n"));
  check_at(d, 2, 1, "providers", "set either providers_file or an inline providers: map, not both");
}

TEST_CASE("a provider key outside ^[a-z0-9][a-z0-9_-]*$ is an error at the key") {
  ConfigDir dir;
  for (const char* key : {"GitHub", "-x", "_x", "a.b", "\"a b\""}) {
    INFO(key);
    const auto d = single_error(dir.load(std::string("providers:\n  ") + key + ": {display_name: X}\n"));
    check_at(d, 2, 3, std::string("providers.") + (key[0] == '"' ? "a b" : key), "^[a-z0-9][a-z0-9_-]*$");
  }
  const auto result = dir.load("providers:\n  google-calendar: {}\n  x_1: {}\n  0x: {}\n");
  INFO(test::dump(result));
  CHECK(result.ok());
}

}  // namespace
}  // namespace tollgate::config
