#pragma once
// Reading and validating the YAML configuration. Every problem is collected
// (not just the first) and names the file, line, column and key path.
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tollgate/config/config.hpp"

namespace tollgate::config {

struct Diagnostic {
  enum class Severity { error, warning };
  Severity severity = Severity::error;
  std::string file;      // as given / resolved for display
  int line = 0;          // 1-based; 0 when unknown
  int column = 0;        // 1-based; 0 when unknown
  std::string key_path;  // e.g. "server.limits.max_body_bytes", "secrets.keys[1].value"
  std::string message;

  // "FILE:LINE:COL: key.path: message" for errors,
  // "FILE:LINE:COL: warning: key.path: message" for warnings.
  std::string format() const;
};

struct LoadResult {
  std::shared_ptr<const Config> config;  // null when there is any error
  std::vector<Diagnostic> diagnostics;   // errors and warnings, in file order
  bool ok() const noexcept { return config != nullptr; }
};

// Looks up an environment variable for ${VAR}; nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(std::string_view)>;
EnvLookup process_environment();

LoadResult load(const std::filesystem::path& file, const EnvLookup& env = process_environment());

// Why a reload may not apply a new config: SPEC §3 refuses a change of
// server.listen, store or secrets. Empty when the reload may proceed.
std::vector<std::string> reload_blockers(const Config& current, const Config& next);

// Parses "30s", "5m", "1h", "250ms", "1h30m"-style values; nullopt on anything else.
std::optional<Duration> parse_duration(std::string_view text);
// Parses "16KiB", "10MiB", "1GiB", "512B", "1024" (bytes), also "KB"/"MB" as 1000-multiples;
// nullopt on anything else.
std::optional<std::uint64_t> parse_size(std::string_view text);

}  // namespace tollgate::config
