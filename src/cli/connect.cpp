// `tollgate oauth connect`: creates a setup session (POST /v1/setup-sessions),
// prints its connect URL, waits with long polls (GET …?wait=) until the session
// ends, and prints the outcome. Exit status 0 only when it completed.
#include <boost/json.hpp>

#include <ostream>

#include "verbs.hpp"

namespace tollgate::cli::verbs {

namespace json = boost::json;

namespace {

// "a,b c" → ["a", "b", "c"]: scopes may be given comma- or space-separated.
json::array split_scopes(const std::string& text) {
  json::array out;
  std::string word;
  for (char c : text + ",") {
    if (c == ',' || c == ' ') {
      if (!word.empty()) out.emplace_back(word);
      word.clear();
    } else {
      word.push_back(c);
    }
  }
  return out;
}

}  // namespace

void oauth_connect(Session& session, const Args& args) {
  const std::string& provider = args.positionals().at(0);
  if (provider.empty()) throw UsageError("PROVIDER is empty; give a provider key such as github");
  json::object request{{"provider", provider}};
  if (auto scopes = args.get("scopes")) request["scopes"] = split_scopes(*scopes);
  if (auto user = args.get("user")) request["external_user_id"] = *user;
  if (auto url = args.get("redirect-url")) request["redirect_url"] = *url;
  if (auto method = args.get("auth-method")) request["auth_method"] = *method;
  json::object params;
  for (const auto& p : args.all("param")) {
    auto eq = p.find('=');
    if (eq == std::string::npos || eq == 0)
      throw UsageError("--param takes name=value, e.g. --param subdomain=acme");
    params[p.substr(0, eq)] = p.substr(eq + 1);
  }
  if (!params.empty()) request["connection_params"] = std::move(params);

  auto created = session.call("POST", "/v1/setup-sessions", json::value(std::move(request)));
  if (!created || !created->is_object() || !created->as_object().if_contains("id"))
    throw CommandError("the relay's answer to oauth connect holds no setup session");
  const std::string id(created->at("id").as_string());
  const json::value* url = created->as_object().if_contains("url");
  // The URL goes to stderr in --json mode so stdout stays one JSON document.
  (session.json() ? session.err() : session.out())
      << "open this link in a browser to connect " << provider << ":\n  "
      << (url && url->is_string() ? std::string(url->as_string()) : std::string("(no link)")) << "\n"
      << "waiting for the connection to finish (setup session " << id << ")…\n";
  session.out().flush();

  json::value current = *created;
  // Each long poll stays under the client's own 30 s request timeout.
  while (current.at("status").as_string() == "pending")
    current = *session.call("GET", "/v1/setup-sessions/" + percent_encode(id) + "?wait=25");

  const std::string status(current.at("status").as_string());
  std::string text = "setup session  " + id + "\nstatus         " + status + "\n";
  if (status == "completed") {
    text += "auth_config    " + std::string(current.at("auth_config_id").as_string()) + "\n";
  } else if (const auto* error = current.as_object().if_contains("error"); error && error->is_object()) {
    text += "error          " + std::string(error->at("code").as_string()) + ": " +
            std::string(error->at("message").as_string()) + "\n";
  }
  session.print(current, text);
  if (status != "completed") throw CommandError("the connection ended " + status);
}

}  // namespace tollgate::cli::verbs
