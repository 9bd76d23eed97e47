// `tollgate oauth providers list|get` and `tollgate oauth mode`: the provider
// catalog as the caller sees it (GET /v1/providers…), and which OAuth app a
// tenant's connections use for a provider (GET/PUT /v1/providers/{key}/mode).
#include <boost/json.hpp>

#include <ostream>

#include "verbs.hpp"

namespace tollgate::cli::verbs {

namespace json = boost::json;

namespace {

const std::string& provider_argument(const Args& args) {
  const std::string& key = args.positionals().at(0);
  if (key.empty())
    throw UsageError("PROVIDER is empty; give a provider key such as github (see `tollgate oauth providers list`)");
  return key;
}

std::string provider_path(const std::string& key) { return "/v1/providers/" + percent_encode(key); }

// The text view of a provider: a string that would print as blank (scope_separator " ")
// shows quoted, and connection_params [{name, …}] becomes {name: {…}}, so that each
// parameter flattens to lines such as "connection_params.subdomain.pattern".
json::value readable(const json::value& value, std::string_view field) {
  if (value.is_string()) {
    const auto& s = value.get_string();
    if (s.empty() || s.find_first_not_of(" \t") == json::string::npos) return json::value(json::serialize(s));
    return value;
  }
  if (value.is_object()) {
    json::object out;
    for (const auto& kv : value.get_object()) out[kv.key()] = readable(kv.value(), kv.key());
    return out;
  }
  if (field == "connection_params" && value.is_array() && !value.get_array().empty()) {
    json::object by_name;
    for (const auto& item : value.get_array()) {
      const json::object* param = item.if_object();
      const json::value* name = param ? param->if_contains("name") : nullptr;
      if (!name || !name->is_string() || name->get_string().empty() || by_name.contains(name->get_string()))
        return value;  // not the shape expected: shown as it is
      json::object rest;
      for (const auto& kv : *param)
        if (kv.key() != "name") rest[kv.key()] = readable(kv.value(), kv.key());
      by_name[name->get_string()] = std::move(rest);
    }
    return by_name;
  }
  return value;
}

}  // namespace

void providers_list(Session& session, const Args& args) {
  // The filters are the server's, so --json shows exactly what the relay answered.
  std::string target = "/v1/providers?limit=500";
  if (auto key = args.get("provider-key")) {
    if (key->empty()) throw UsageError("--provider-key is empty; give a provider key such as github");
    target += "&provider_key=" + percent_encode(*key);
  }
  if (args.flag("supports-managed")) target += "&supports_managed=true";
  auto all = session.list_all(target);
  session.print(all, render_items(all.at("data").as_array(), {{"KEY", "key"},
                                                              {"NAME", "display_name"},
                                                              {"AUTH", "auth_mode"},
                                                              {"MANAGED", "managed_service_config_key"},
                                                              {"MODE", "mode"}}));
}

void providers_get(Session& session, const Args& args) {
  const std::string& key = provider_argument(args);
  auto provider = session.call("GET", provider_path(key));
  if (!provider || !provider->is_object()) throw CommandError("the relay's answer to providers get holds no provider");
  // managed_service_config_key null shows as "-": managed mode is unavailable.
  session.print(*provider, render_object(readable(*provider, "").get_object()));
}

void oauth_mode(Session& session, const Args& args) {
  const std::string& key = provider_argument(args);
  std::optional<json::value> answer;
  if (auto mode = args.get("set")) {
    if (*mode != "managed" && *mode != "your-own")
      throw UsageError("--set takes managed (the operator's OAuth app) or your-own (the app set with "
                       "`tollgate oauth apps set`)");
    json::object body;
    body["mode"] = *mode;
    answer = session.call("PUT", provider_path(key) + "/mode", json::value(std::move(body)));
  } else {
    answer = session.call("GET", provider_path(key) + "/mode");
  }
  const json::object* object = answer ? answer->if_object() : nullptr;
  const json::value* mode = object ? object->if_contains("mode") : nullptr;
  if (!mode || !mode->is_string()) throw CommandError("the relay's answer to oauth mode holds no mode");
  const json::value* provider = object->if_contains("provider");
  std::string name = provider && provider->is_string() ? cell_text(*provider) : cell_text(json::value(key));
  session.print(*answer, name + "  " + cell_text(*mode) + "\n");
}

}  // namespace tollgate::cli::verbs
