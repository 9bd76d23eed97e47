// `tollgate oauth apps set`: a tenant's own OAuth app for a provider
// (PUT /v1/providers/{key}/app). The client secret comes from a file and is
// write-only: it is sent once and never printed, not even inside an error.
#include <boost/json.hpp>

#include <ostream>

#include "tollgate/cli/secret_file.hpp"
#include "verbs.hpp"

namespace tollgate::cli::verbs {

namespace json = boost::json;

namespace {

// Every occurrence of the secret in text replaced by "***". The relay never
// echoes it; this keeps a relay that did from putting it on a terminal.
std::string redacted(std::string text, const crypto::Secret& secret) {
  const std::string& s = secret.reveal();
  if (s.empty()) return text;
  for (auto at = text.find(s); at != std::string::npos; at = text.find(s, at + 3)) text.replace(at, s.size(), "***");
  return text;
}

}  // namespace

void apps_set(Session& session, const Args& args) {
  const std::string& key = args.positionals().at(0);
  if (key.empty())
    throw UsageError("PROVIDER is empty; give a provider key such as github (see `tollgate oauth providers list`)");
  std::string client_id = args.get("client-id").value_or("");
  if (client_id.empty()) throw UsageError("--client-id is empty; give the client id of your OAuth app");
  crypto::Secret secret = read_secret_file(args.get("client-secret-file").value_or(""), "--client-secret-file");

  json::object body;
  body["client_id"] = client_id;
  body["client_secret"] = secret.reveal();
  std::optional<json::value> app;
  try {
    app = session.call("PUT", "/v1/providers/" + percent_encode(key) + "/app", json::value(std::move(body)));
  } catch (const CommandError& e) {
    throw CommandError(redacted(e.what(), secret));
  }
  json::object* object = app ? app->if_object() : nullptr;
  if (!object) throw CommandError("the relay's answer to apps set holds no app");
  object->erase("client_secret");  // write-only, whatever the relay says
  json::object shown;
  for (const char* field : {"provider", "client_id", "client_secret_set"})
    shown[field] = object->contains(field) ? object->at(field) : json::value(nullptr);
  session.out() << redacted(session.json() ? pretty_json(*app) : render_object(shown), secret);
}

}  // namespace tollgate::cli::verbs
