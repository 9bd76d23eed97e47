#pragma once
// The client verbs, one function each; client.cpp's table says which
// arguments and options each takes. `args.positionals()` holds only the
// verb's own arguments (not "tenants create").
#include "session.hpp"
#include "tollgate/cli/args.hpp"

namespace tollgate::cli::verbs {

void tenants_create(Session& session, const Args& args);
void tenants_list(Session& session, const Args& args);
void keys_create(Session& session, const Args& args);
void keys_list(Session& session, const Args& args);
void keys_revoke(Session& session, const Args& args);

// `tollgate oauth …` (providers.cpp, apps.cpp)
void providers_list(Session& session, const Args& args);
void providers_get(Session& session, const Args& args);
void oauth_mode(Session& session, const Args& args);
void apps_set(Session& session, const Args& args);
void oauth_connect(Session& session, const Args& args);  // connect.cpp
void oauth_status(Session& session, const Args& args);   // auth_configs.cpp
void oauth_token(Session& session, const Args& args);
void oauth_disconnect(Session& session, const Args& args);
void oauth_request(Session& session, const Args& args);

// `tollgate usage report`, `tollgate billing report` (reports.cpp)
void usage_report(Session& session, const Args& args);
void billing_report(Session& session, const Args& args);

}  // namespace tollgate::cli::verbs
