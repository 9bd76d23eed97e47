// `tollgate oauth status|token|disconnect`: a tenant's connections
// (GET /v1/auth-configs), a your-own connection's access token
// (GET …/{id}/token), and revoking one (DELETE …/{id}).
#include <boost/json.hpp>

#include <ostream>

#include "verbs.hpp"

namespace tollgate::cli::verbs {

namespace json = boost::json;

namespace {

const std::string& auth_config_argument(const Args& args) {
  const std::string& id = args.positionals().at(0);
  if (id.rfind("pac_", 0) != 0) throw UsageError("expects an auth config id (pac_…); see `tollgate oauth status`");
  return id;
}

}  // namespace

void oauth_status(Session& session, const Args& args) {
  std::string target = "/v1/auth-configs?limit=500";
  if (auto p = args.get("provider")) target += "&provider=" + percent_encode(*p);
  if (auto u = args.get("user")) target += "&external_user_id=" + percent_encode(*u);
  auto all = session.list_all(target);
  session.print(all, render_items(all.at("data").as_array(), {{"ID", "id"},
                                                              {"PROVIDER", "provider"},
                                                              {"USER", "external_user_id"},
                                                              {"STATUS", "status"},
                                                              {"MODE", "mode"},
                                                              {"SCOPES", "scopes_granted"},
                                                              {"EXPIRES", "expires_at"}}));
}

void oauth_token(Session& session, const Args& args) {
  const std::string& id = auth_config_argument(args);
  auto answer = session.call("GET", "/v1/auth-configs/" + percent_encode(id) + "/token");
  if (!answer || !answer->is_object() || !answer->as_object().if_contains("access_token"))
    throw CommandError("the relay's answer to oauth token holds no token");
  // The token alone on stdout, so `$(tollgate oauth token pac_…)` works.
  session.print(*answer, std::string(answer->at("access_token").as_string()) + "\n");
}

void oauth_disconnect(Session& session, const Args& args) {
  const std::string& id = auth_config_argument(args);
  auto answer = session.call("DELETE", "/v1/auth-configs/" + percent_encode(id));
  if (!answer || !answer->is_object()) throw CommandError("the relay's answer to oauth disconnect holds no auth config");
  session.print(*answer, render_object(answer->as_object()));
}

}  // namespace tollgate::cli::verbs
