#include <doctest/doctest.h>

#include "load_support.hpp"

namespace tollgate::config {
namespace {

using test::check_at;
using test::ConfigDir;
using test::environment;
using test::single_error;

// base64 of 32 bytes (0..31 and 1..32).
constexpr std::string_view kKey1 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
constexpr std::string_view kKey2 = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";

// Replaces each @NAME@ in `yaml`; keeps the YAML readable line by line in the tests.
std::string fill(std::string yaml, const std::map<std::string, std::string_view>& values = {}) {
  std::map<std::string, std::string_view> all{{"K1", kKey1}, {"K2", kKey2}};
  all.insert(values.begin(), values.end());
  for (const auto& [name, value] : all) {
    const std::string placeholder = "@" + name + "@";
    for (std::size_t at = yaml.find(placeholder); at != std::string::npos; at = yaml.find(placeholder, at)) {
      yaml.replace(at, placeholder.size(), value);
      at += value.size();
    }
  }
  return yaml;
}

TEST_CASE("inline keys are read, and primary defaults to the first") {
  ConfigDir dir;
  const auto result = dir.load(fill("secrets:\n"
                                    "  keys:\n"
                                    "    - {id: k2, value: \"${K2}\"}\n"
                                    "    - {id: k1, value: @K1@}\n"),
                               environment({{"K2", std::string(kKey2)}}));
  INFO(test::dump(result));
  REQUIRE(result.ok());
  const Secrets& s = result.config->secrets;
  REQUIRE(s.keys.size() == 2);
  CHECK(s.keys[0].id == "k2");
  CHECK(s.keys[0].value.reveal() == kKey2);
  CHECK(s.keys[1].id == "k1");
  CHECK(s.primary == "k2");
  CHECK(s.keys_file.empty());
}

TEST_CASE("primary picks the sealing key") {
  ConfigDir dir;
  const auto result = dir.load(fill("secrets:\n"
                                    "  primary: k1\n"
                                    "  keys:\n"
                                    "    - {id: k2, value: @K2@}\n"
                                    "    - {id: k1, value: @K1@}\n"));
  INFO(test::dump(result));
  REQUIRE(result.ok());
  CHECK(result.config->secrets.primary == "k1");
}

TEST_CASE("keys_file and keys together are an error at keys") {
  ConfigDir dir;
  const auto d = single_error(dir.load(fill("secrets:\n"
                                            "  keys_file: master.keys\n"
                                            "  keys: [{id: k1, value: @K1@}]\n")));
  check_at(d, 3, 3, "secrets.keys", "set either secrets.keys_file or secrets.keys, not both");
}

TEST_CASE("a key that does not decode to 32 bytes is an error at its value") {
  ConfigDir dir;
  SUBCASE("too short") {
    const auto d = single_error(dir.load("secrets:\n"
                                         "  keys:\n"
                                         "    - id: k1\n"
                                         "      value: AAECAwQFBgcICQoLDA0ODw==\n"));
    check_at(d, 4, 14, "secrets.keys[0].value", "expected the base64 of exactly 32 random bytes");
    CHECK(d.message.find("decodes to 16 bytes") != std::string::npos);
  }
  SUBCASE("not base64") {
    const auto d = single_error(dir.load("secrets:\n"
                                         "  keys:\n"
                                         "    - {id: k1, value: \"not base64!\"}\n"));
    check_at(d, 3, 23, "secrets.keys[0].value", "not valid base64");
  }
}

TEST_CASE("a duplicate key id is an error at the second id") {
  ConfigDir dir;
  const auto d = single_error(dir.load(fill("secrets:\n"
                                            "  keys:\n"
                                            "    - {id: k1, value: @K1@}\n"
                                            "    - {id: k1, value: @K2@}\n")));
  check_at(d, 4, 12, "secrets.keys[1].id", "duplicate key id \"k1\" (first used at line 3)");
}

TEST_CASE("an empty or overlong key id is an error") {
  ConfigDir dir;
  for (const std::string& id : {std::string("\"\""), std::string(256, 'k'), std::string("\"a b\"")}) {
    INFO(id);
    const auto d = single_error(dir.load(fill("secrets:\n  keys:\n    - {id: @ID@, value: @K1@}\n", {{"ID", id}})));
    check_at(d, 3, 12, "secrets.keys[0].id", "1 to 255 visible ASCII characters");
  }
}

TEST_CASE("a key entry without a value is an error at the entry") {
  ConfigDir dir;
  const auto d = single_error(dir.load("secrets:\n  keys:\n    - {id: k1}\n"));
  check_at(d, 3, 7, "secrets.keys[0].value", "missing");
}

TEST_CASE("a primary that names no key is an error listing the ids") {
  ConfigDir dir;
  const auto d = single_error(dir.load(fill("secrets:\n"
                                            "  keys: [{id: k1, value: @K1@}]\n"
                                            "  primary: k9\n")));
  check_at(d, 3, 12, "secrets.primary", "names no key in secrets.keys (ids: k1)");
}

TEST_CASE("primary without inline keys is an error") {
  ConfigDir dir;
  const auto d = single_error(dir.load("secrets:\n  keys_file: m.keys\n  primary: k1\n"));
  check_at(d, 3, 3, "secrets.primary", "only applies to inline keys");
}

TEST_CASE("no key value or other secret ever appears in a diagnostic") {
  ConfigDir dir;
  constexpr std::string_view kMarker = "TWFya2VyU2VjcmV0VmFsdWU=";  // valid base64, 17 bytes
  constexpr std::string_view kBadMarker = "MARKER-SECRET-NOT-BASE64";
  constexpr std::string_view kPassword = "MARKERPASSWORD";
  const auto result = dir.load(fill("secrets:\n"
                                    "  keys:\n"
                                    "    - {id: k1, value: \"@MARKER@\"}\n"
                                    "    - {id: k2, value: \"${BAD_KEY}\"}\n"
                                    "    - {id: k3, value: [\"@MARKER@\"]}\n"
                                    "  primary: \"${BAD_KEY}\"\n"
                                    "store:\n"
                                    "  redis: {url: \"${REDIS_URL}\", master_name: {x: \"@MARKER@\"}}\n",
                                    {{"MARKER", kMarker}}),
                               environment({{"BAD_KEY", std::string(kBadMarker)},
                                            {"REDIS_URL", "http://:" + std::string(kPassword) + "@cache:6379"}}));
  INFO(test::dump(result));
  CHECK_FALSE(result.ok());
  CHECK(result.diagnostics.size() >= 5);
  for (const Diagnostic& d : result.diagnostics) {
    const std::string text = d.format();
    CHECK(text.find(kMarker) == std::string::npos);
    CHECK(text.find(kBadMarker) == std::string::npos);
    CHECK(text.find(kPassword) == std::string::npos);
  }
}

}  // namespace
}  // namespace tollgate::config
