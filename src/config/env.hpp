#pragma once
// ${VAR} expansion inside scalar values (SPEC §3).
#include <string>
#include <string_view>
#include <vector>

#include "tollgate/config/load.hpp"

namespace tollgate::config::detail {

struct Expansion {
  std::string text;
  std::vector<std::string> errors;  // one per problem; never quotes the value itself
};

// Replaces ${VAR} and ${VAR:-default}; "$$" is a literal "$", and a "$" not
// followed by "{" or "$" stays as it is.
Expansion expand_env(std::string_view text, const EnvLookup& env);

}  // namespace tollgate::config::detail
