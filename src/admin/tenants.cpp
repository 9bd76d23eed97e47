// Tenants and their API keys (SPEC §4).
#include <boost/url/parse.hpp>

#include "tollgate/admin/rest.hpp"
#include "tollgate/crypto/hash.hpp"
#include "tollgate/crypto/random.hpp"

namespace tollgate::admin {
namespace {

using errors::Code;
namespace beast_http = boost::beast::http;

json::value optional_json(const std::optional<std::uint64_t>& v) { return v ? json::value(*v) : json::value(nullptr); }
json::value optional_json(const std::optional<double>& v) { return v ? json::value(*v) : json::value(nullptr); }

json::object tenant_json(const store::Tenant& t) {
  json::array origins;
  for (const auto& o : t.allowed_redirect_origins) origins.emplace_back(o);
  return {{"id", t.id},
          {"name", t.name},
          {"allowed_redirect_origins", std::move(origins)},
          {"quotas",
           {{"monthly_calls", optional_json(t.quotas.monthly_calls)},
            {"rate_per_second", optional_json(t.quotas.rate_per_second)},
            {"burst", optional_json(t.quotas.burst)}}},
          {"created_at", format_time(t.created_at)},
          {"updated_at", format_time(t.updated_at)}};
}

json::object key_json(const store::ApiKey& k) {
  return {{"id", k.id},
          {"tenant_id", k.tenant_id},
          {"prefix", k.prefix},
          {"status", k.revoked_at ? "revoked" : "active"},
          {"created_at", format_time(k.created_at)},
          {"revoked_at", k.revoked_at ? json::value(format_time(*k.revoked_at)) : json::value(nullptr)}};
}

// An origin is scheme://host[:port] with nothing after it, as browsers send it.
bool valid_origin(const std::string& origin) {
  auto u = boost::urls::parse_absolute_uri(origin);
  if (!u) return false;
  auto scheme = u->scheme();
  return (scheme == "http" || scheme == "https") && u->has_authority() && !u->host().empty() &&
         !u->has_userinfo() && u->path().empty() && !u->has_query() && !u->has_fragment();
}

// Reads the mutable fields of a tenant from a create or patch body into `t`.
void read_tenant_fields(FieldReader& in, const json::object& body, store::Tenant& t, bool create) {
  if (auto name = in.string("name", create, 200)) {
    if (name->find_first_not_of(" \t") == std::string::npos) in.fail("field \"name\" must not be empty");
    t.name = *name;
  }
  if (auto origins = in.strings("allowed_redirect_origins")) {
    for (const auto& o : *origins)
      if (!valid_origin(o))
        in.fail("allowed_redirect_origins: \"" + o + "\" is not an origin like https://app.example.com");
    t.allowed_redirect_origins = *origins;
  }
  if (const auto* q = in.object("quotas", {"monthly_calls", "rate_per_second", "burst"})) {
    if (auto v = in.count_or_null(*q, "quotas", "monthly_calls")) t.quotas.monthly_calls = *v;
    if (auto v = in.number_or_null(*q, "quotas", "rate_per_second")) t.quotas.rate_per_second = *v;
    if (auto v = in.count_or_null(*q, "quotas", "burst")) t.quotas.burst = *v;
  }
}

// The tenant a route's {id} names, as this caller may see it: the admin sees
// every tenant, a tenant key only its own (another tenant's id is 404).
bool may_see(const auth::Principal& who, std::string_view tenant_id) {
  return who.is_admin() || who.tenant_id == tenant_id;
}

awaitable<void> create_tenant(http::Exchange& ex, Services& s) {
  if (!co_await require_admin(ex, s)) co_return;
  auto body = co_await read_json_object(ex);
  if (!body) co_return;
  FieldReader in(*body, {"name", "allowed_redirect_origins", "quotas"});
  store::Tenant t;
  read_tenant_fields(in, *body, t, true);
  if (in.problem()) {
    co_await ex.respond_error(Code::bad_request, *in.problem());
    co_return;
  }
  t.id = crypto::random_id("tnt");
  t.created_at = t.updated_at = now_millis();
  auto created = co_await s.store.create_tenant(std::move(t));
  if (!created) co_return co_await respond_store_error(ex, created.error());
  co_await respond_json(ex, 201, tenant_json(created.value()));
}

awaitable<void> list_tenants(http::Exchange& ex, Services& s) {
  if (!co_await require_admin(ex, s)) co_return;
  auto page = co_await page_request(ex);
  if (!page) co_return;
  auto result = co_await s.store.list_tenants(page->cursor, page->limit);
  if (!result) co_return co_await respond_store_error(ex, result.error());
  json::array data;
  for (const auto& t : result->items) data.push_back(tenant_json(t));
  co_await respond_json(ex, 200, page_json(std::move(data), result->next_cursor));
}

awaitable<void> get_tenant(http::Exchange& ex, Services& s) {
  auto who = co_await authenticate(ex, s);
  if (!who) co_return;
  std::string id(ex.param("id"));
  if (!may_see(*who, id)) co_return co_await ex.respond_error(Code::not_found, "no such tenant");
  auto t = co_await s.store.get_tenant(id);
  if (!t) co_return co_await respond_store_error(ex, t.error());
  co_await respond_json(ex, 200, tenant_json(t.value()));
}

awaitable<void> patch_tenant(http::Exchange& ex, Services& s) {
  if (!co_await require_admin(ex, s)) co_return;
  auto body = co_await read_json_object(ex);
  if (!body) co_return;
  std::string id(ex.param("id"));
  // Read-modify-write with compare-and-set, retried when another writer got there first.
  for (int attempt = 0; attempt < 8; ++attempt) {
    auto current = co_await s.store.get_tenant(id);
    if (!current) co_return co_await respond_store_error(ex, current.error());
    store::Tenant t = current.value();
    FieldReader in(*body, {"name", "allowed_redirect_origins", "quotas"});
    read_tenant_fields(in, *body, t, false);
    if (in.problem()) co_return co_await ex.respond_error(Code::bad_request, *in.problem());
    t.updated_at = now_millis();
    auto updated = co_await s.store.update_tenant(std::move(t));
    if (updated) co_return co_await respond_json(ex, 200, tenant_json(updated.value()));
    if (!updated.is(store::Errc::conflict)) co_return co_await respond_store_error(ex, updated.error());
  }
  co_await ex.respond_error(Code::conflict, "the tenant kept changing while being updated; retry");
}

awaitable<void> create_key(http::Exchange& ex, Services& s) {
  if (!co_await require_admin(ex, s)) co_return;
  auto body = co_await read_json_object(ex);
  if (!body) co_return;
  FieldReader in(*body, {});
  if (in.problem()) co_return co_await ex.respond_error(Code::bad_request, *in.problem());
  std::string tenant_id(ex.param("id"));
  auto tenant = co_await s.store.get_tenant(tenant_id);
  if (!tenant) co_return co_await respond_store_error(ex, tenant.error());
  // The key exists only in this response; the store keeps its hash.
  crypto::Secret key(crypto::random_token("tg_live_", 32));
  store::ApiKey k;
  k.id = crypto::random_id("key");
  k.tenant_id = tenant_id;
  k.hash = crypto::hash_key(key.reveal());
  k.prefix = key.reveal().substr(0, 12);
  k.created_at = now_millis();
  auto created = co_await s.store.create_api_key(std::move(k));
  if (!created) co_return co_await respond_store_error(ex, created.error());
  auto out = key_json(created.value());
  out["key"] = key.reveal();
  http::Response res{beast_http::status::created, 11};
  res.set(beast_http::field::content_type, "application/json");
  res.set(beast_http::field::cache_control, "no-store");
  res.body() = json::serialize(out);
  res.prepare_payload();
  co_await ex.respond(std::move(res));
}

awaitable<void> list_keys(http::Exchange& ex, Services& s) {
  auto who = co_await authenticate(ex, s);
  if (!who) co_return;
  std::string tenant_id(ex.param("id"));
  if (!may_see(*who, tenant_id)) co_return co_await ex.respond_error(Code::not_found, "no such tenant");
  auto page = co_await page_request(ex);
  if (!page) co_return;
  auto tenant = co_await s.store.get_tenant(tenant_id);
  if (!tenant) co_return co_await respond_store_error(ex, tenant.error());
  auto result = co_await s.store.list_api_keys(tenant_id, page->cursor, page->limit);
  if (!result) co_return co_await respond_store_error(ex, result.error());
  json::array data;
  for (const auto& k : result->items) data.push_back(key_json(k));
  co_await respond_json(ex, 200, page_json(std::move(data), result->next_cursor));
}

awaitable<void> revoke_key(http::Exchange& ex, Services& s) {
  auto who = co_await authenticate(ex, s);
  if (!who) co_return;
  std::string id(ex.param("id"));
  auto key = co_await s.store.get_api_key(id);
  if (!key) co_return co_await respond_store_error(ex, key.error());
  if (!may_see(*who, key->tenant_id)) co_return co_await ex.respond_error(Code::not_found, "no such record");
  auto revoked = co_await s.store.revoke_api_key(id, now_millis());
  if (!revoked) co_return co_await respond_store_error(ex, revoked.error());
  s.auth.forget_key(id);
  co_await respond_json(ex, 200, key_json(revoked.value()));
}

}  // namespace

void add_tenant_routes(http::Router& router, Services& s) {
  router.add("POST", "/v1/tenants", handler(s, create_tenant));
  router.add("GET", "/v1/tenants", handler(s, list_tenants));
  router.add("GET", "/v1/tenants/{id}", handler(s, get_tenant));
  router.add("PATCH", "/v1/tenants/{id}", handler(s, patch_tenant));
  router.add("POST", "/v1/tenants/{id}/api-keys", handler(s, create_key));
  router.add("GET", "/v1/tenants/{id}/api-keys", handler(s, list_keys));
  router.add("DELETE", "/v1/api-keys/{id}", handler(s, revoke_key));
}

}  // namespace tollgate::admin
