#pragma once
// The client verbs (`tollgate tenants …`, `tollgate keys …`, `tollgate oauth …`):
// each calls a running relay's REST API and prints a table, or the REST JSON with --json.
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "tollgate/config/load.hpp"

namespace tollgate::cli {

// True when `group` ("tenants", "keys", "oauth", …) names client verbs.
bool is_client_group(std::string_view group);

// Runs one client verb; `args` is the command line after "tollgate", e.g.
// {"keys", "list", "tnt_…", "--json"} or {"oauth", "providers", "get", "github"}. Exit status: 0 done, 1 the call
// failed (one line on `err`), 2 a usage error (one line on `err`).
int run_client_verb(const std::vector<std::string>& args, const config::EnvLookup& env, std::ostream& out,
                    std::ostream& err);

// The client verbs' part of `tollgate help`.
std::string client_usage();

}  // namespace tollgate::cli
