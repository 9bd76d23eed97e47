#pragma once
// Shared by the config tests: write a config beside an empty catalog, load it
// with a controlled environment, and pin diagnostics precisely.
#include <doctest/doctest.h>

#include <map>
#include <string>
#include <string_view>

#include "temp_dir.hpp"
#include "tollgate/config/load.hpp"

namespace tollgate::config::test {

inline EnvLookup environment(std::map<std::string, std::string> vars = {}) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    const auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

inline std::string dump(const LoadResult& result) {
  std::string out;
  for (const Diagnostic& d : result.diagnostics) out += d.format() + "\n";
  return out;
}

// A config directory with tollgate.yaml and, unless the test replaces it, an empty providers.yaml.
struct ConfigDir {
  tollgate::test::TempDir dir;

  ConfigDir() { dir.write("providers.yaml", "{}\n"); }

  LoadResult load(std::string_view yaml, const EnvLookup& env = environment()) const {
    return config::load(dir.write("tollgate.yaml", yaml), env);
  }
  std::string config_file() const { return (dir / "tollgate.yaml").string(); }
};

// A config with one mistake yields exactly one diagnostic, and no config.
inline Diagnostic single_error(const LoadResult& result) {
  INFO(dump(result));
  REQUIRE(result.diagnostics.size() == 1);
  CHECK_FALSE(result.ok());
  CHECK(result.diagnostics[0].severity == Diagnostic::Severity::error);
  return result.diagnostics[0];
}

inline void check_at(const Diagnostic& d, int line, int column, std::string_view key_path,
                     std::string_view message_part) {
  INFO(d.format());
  CHECK(d.line == line);
  CHECK(d.column == column);
  CHECK(d.key_path == key_path);
  CHECK(d.message.find(message_part) != std::string::npos);
}

}  // namespace tollgate::config::test
