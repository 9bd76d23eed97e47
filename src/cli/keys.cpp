// `tollgate keys create|list|revoke`: a tenant's API keys.
#include <boost/json.hpp>

#include <ostream>

#include "verbs.hpp"

namespace tollgate::cli::verbs {

namespace json = boost::json;

namespace {

const std::string& non_empty_argument(const Args& args, const char* what) {
  const std::string& value = args.positionals().at(0);
  if (value.empty()) throw UsageError(std::string(what) + " is empty");
  return value;
}

}  // namespace

void keys_create(Session& session, const Args& args) {
  const std::string& tenant = non_empty_argument(args, "TENANT");
  auto key = session.call("POST", "/v1/tenants/" + percent_encode(tenant) + "/api-keys", json::value(json::object()));
  const json::object* object = key ? key->if_object() : nullptr;
  const json::value* secret = object ? object->if_contains("key") : nullptr;
  if (!secret || !secret->is_string()) throw CommandError("the relay's answer to keys create holds no key");
  // The one place a key is ever printed: the relay keeps only its hash.
  session.err() << "store this key now: it is shown only once\n";
  json::object shown;
  shown["id"] = object->contains("id") ? object->at("id") : json::value(nullptr);
  shown["key"] = *secret;
  session.print(*key, render_object(shown));
}

void keys_list(Session& session, const Args& args) {
  const std::string& tenant = non_empty_argument(args, "TENANT");
  auto all = session.list_all("/v1/tenants/" + percent_encode(tenant) + "/api-keys?limit=500");
  session.print(all, render_items(all.at("data").as_array(), {{"ID", "id"},
                                                              {"PREFIX", "prefix"},
                                                              {"STATUS", "status"},
                                                              {"CREATED", "created_at"},
                                                              {"REVOKED", "revoked_at"}}));
}

void keys_revoke(Session& session, const Args& args) {
  const std::string& id = non_empty_argument(args, "KEY_ID");
  // A key pasted by mistake would travel in the URL path, into access logs.
  if (id.rfind("tg_", 0) == 0)
    throw UsageError("KEY_ID is the key's id (key_…, see `tollgate keys list TENANT`), not the key itself");
  auto key = session.call("DELETE", "/v1/api-keys/" + percent_encode(id));
  if (!key) {  // a relay that answers 204
    if (!session.json()) session.out() << "revoked " << id << '\n';
    return;
  }
  session.print(*key, key->is_object() ? render_object(key->get_object()) : cell_text(*key) + "\n");
}

}  // namespace tollgate::cli::verbs
