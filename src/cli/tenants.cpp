// `tollgate tenants create|list` (admin key): POST and GET /v1/tenants.
#include <boost/json.hpp>

#include <ostream>

#include "verbs.hpp"

namespace tollgate::cli::verbs {

namespace json = boost::json;

void tenants_create(Session& session, const Args& args) {
  const std::string& name = args.positionals().at(0);
  if (name.empty()) throw UsageError("NAME is empty; give the tenant a name");
  json::array origins;
  for (const auto& origin : args.all("allowed-redirect-origin")) origins.emplace_back(origin);
  json::object body;
  body["name"] = name;
  body["allowed_redirect_origins"] = std::move(origins);
  auto tenant = session.call("POST", "/v1/tenants", json::value(std::move(body)));
  if (!tenant || !tenant->is_object()) throw CommandError("the relay created the tenant but answered no tenant");
  session.print(*tenant, render_object(tenant->get_object()));
}

void tenants_list(Session& session, const Args&) {
  auto all = session.list_all("/v1/tenants?limit=500");
  session.print(all, render_items(all.at("data").as_array(),
                                  {{"ID", "id"}, {"NAME", "name"}, {"CREATED", "created_at"}}));
}

}  // namespace tollgate::cli::verbs
