// `tollgate oauth status|token|disconnect|request`: a tenant's connections
// (GET /v1/auth-configs), a your-own connection's access token
// (GET …/{id}/token), revoking one (DELETE …/{id}), and a call through the
// relay with one (…/v1/proxy/{provider}/{path}).
#include <boost/json.hpp>

#include <cctype>
#include <fstream>
#include <iostream>
#include <iterator>
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

namespace {

// --data: literal text, @FILE, or @- for standard input; read whole, as bytes.
std::optional<std::string> request_body(const Args& args) {
  auto data = args.get("data");
  if (!data) return std::nullopt;
  if (data->empty() || data->front() != '@') return *data;
  std::string path = data->substr(1);
  if (path == "-") return std::string(std::istreambuf_iterator<char>(std::cin), {});
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CommandError("cannot read " + path + " (from --data @" + path + ")");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

bool is_method(const std::string& m) {
  if (m.empty()) return false;
  for (unsigned char c : m)
    if (!std::isupper(c)) return false;
  return true;
}

}  // namespace

void oauth_request(Session& session, const Args& args) {
  const std::string& id = auth_config_argument(args);
  const std::string& method = args.positionals().at(1);
  std::string path = args.positionals().at(2);
  if (!is_method(method)) throw UsageError("METHOD must be an upper-case HTTP method such as GET or POST");
  RestClient::Headers headers;
  for (const auto& line : args.all("header")) {
    auto colon = line.find(':');
    if (colon == std::string::npos || colon == 0) throw UsageError("a header must look like 'Name: value'");
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    headers.emplace_back(line.substr(0, colon), value);
  }
  headers.emplace_back("Tollgate-Auth-Config", id);
  auto body = request_body(args);

  auto config = session.call("GET", "/v1/auth-configs/" + percent_encode(id));
  if (!config || !config->is_object() || !config->as_object().if_contains("provider"))
    throw CommandError("the relay's answer holds no auth config");
  std::string provider(config->at("provider").as_string());
  while (!path.empty() && path.front() == '/') path.erase(0, 1);
  auto response = session.send(method, "/v1/proxy/" + percent_encode(provider) + "/" + path, headers, body);
  if (args.flag("include")) {
    session.out() << "HTTP " << response.status << "\r\n";
    for (const auto& [name, value] : response.headers) session.out() << name << ": " << value << "\r\n";
    session.out() << "\r\n";
  }
  session.out() << response.body;
  session.out().flush();
  if (response.status >= 400) {
    auto code = response.header("Tollgate-Error");
    throw CommandError(code.empty() ? "the provider answered HTTP " + std::to_string(response.status)
                                    : "tollgate refused the call: HTTP " + std::to_string(response.status) + " " + code);
  }
}

}  // namespace tollgate::cli::verbs
