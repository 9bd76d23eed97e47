// `tollgate check-config`: every problem at once, as FILE:LINE:COL: key.path: message.
#include <iostream>

#include "serve.hpp"
#include "tollgate/config/load.hpp"

namespace tollgate::cli {

int check_config(const std::filesystem::path& config_file) {
  auto result = config::load(config_file);
  std::size_t errors = 0, warnings = 0;
  for (const auto& d : result.diagnostics) {
    std::cout << d.format() << '\n';
    (d.severity == config::Diagnostic::Severity::error ? errors : warnings)++;
  }
  if (!result.ok()) {
    std::cout << config_file.string() << ": " << errors << " error(s), " << warnings << " warning(s)\n";
    return 1;
  }
  std::cout << result.config->file.string() << ": OK (" << warnings << " warning(s))\n";
  return 0;
}

}  // namespace tollgate::cli
