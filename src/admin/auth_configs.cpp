// GET /v1/auth-configs and GET /v1/auth-configs/{id}: connections, metadata
// only — never a secret (SPEC §4 "Auth config").
#include "tollgate/admin/rest.hpp"
#include "tollgate/http/query.hpp"

namespace tollgate::admin {
namespace {

using errors::Code;

json::value time_or_null(const std::optional<store::Millis>& t) {
  return t ? json::value(format_time(*t)) : json::value(nullptr);
}

}  // namespace

json::object auth_config_json(const store::AuthConfig& a) {
  json::array scopes;
  for (const auto& s : a.scopes_granted) scopes.emplace_back(s);
  json::object params;
  for (const auto& [k, v] : a.connection_params) params[k] = v;
  json::value metadata = nullptr;
  if (!a.metadata_json.empty()) {
    boost::system::error_code ec;
    metadata = json::parse(a.metadata_json, ec);
    if (ec) metadata = nullptr;
  }
  return {{"id", a.id},
          {"tenant_id", a.tenant_id},
          {"provider", a.provider},
          {"external_user_id", a.external_user_id.empty() ? json::value(nullptr) : json::value(a.external_user_id)},
          {"status", a.status},
          {"mode", a.mode},
          {"scopes_granted", std::move(scopes)},
          {"connection_params", std::move(params)},
          {"metadata", metadata},
          {"created_at", format_time(a.created_at)},
          {"updated_at", format_time(a.updated_at)},
          {"expires_at", time_or_null(a.expires_at)},
          {"last_refreshed_at", time_or_null(a.last_refreshed_at)},
          {"last_used_at", time_or_null(a.last_used_at)},
          // The last failed refresh (null once one succeeds): refreshes wait out a cooldown after it.
          {"last_refresh_error", a.last_refresh_error.empty() ? json::value(nullptr) : json::value(a.last_refresh_error)},
          {"last_refresh_failed_at", time_or_null(a.last_refresh_failed_at)}};
}

namespace {

awaitable<void> list_auth_configs(http::Exchange& ex, Services& s) {
  auto sc = co_await tenant_scope(ex, s, true);
  if (!sc) co_return;
  auto page = co_await page_request(ex);
  if (!page) co_return;
  store::AuthConfigFilter filter;
  filter.status = http::query_param(ex.query(), "status").value_or("");
  filter.provider = http::query_param(ex.query(), "provider").value_or("");
  filter.external_user_id = http::query_param(ex.query(), "external_user_id").value_or("");
  auto result = co_await s.store.list_auth_configs(sc->tenant_id, filter, page->cursor, page->limit);
  if (!result) co_return co_await respond_store_error(ex, result.error());
  json::array data;
  for (const auto& a : result->items) data.push_back(auth_config_json(a));
  auto out = page_json(std::move(data), result->next_cursor);
  co_await respond_json(ex, 200, out);
}

awaitable<void> get_auth_config(http::Exchange& ex, Services& s) {
  auto sc = co_await tenant_scope(ex, s, true);
  if (!sc) co_return;
  auto a = co_await s.store.get_auth_config(std::string(ex.param("id")));
  if (!a && !a.is(store::Errc::not_found)) co_return co_await respond_store_error(ex, a.error());
  if (!a || a->tenant_id != sc->tenant_id)
    co_return co_await ex.respond_error(Code::auth_config_not_found, "no such auth config");
  ex.set_provider(a->provider);
  auto out = auth_config_json(a.value());
  co_await respond_json(ex, 200, out);
}

}  // namespace

void add_auth_config_routes(http::Router& router, Services& s) {
  router.add("GET", "/v1/auth-configs", handler(s, list_auth_configs));
  router.add("GET", "/v1/auth-configs/{id}", handler(s, get_auth_config));
}

}  // namespace tollgate::admin
