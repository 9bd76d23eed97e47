#pragma once
// What every REST handler shares (admin and connect): authentication, strict JSON input,
// store errors mapped to SPEC §4 codes, pagination, JSON output.
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "tollgate/admin/api.hpp"
#include "tollgate/http/exchange.hpp"

namespace tollgate::admin {

namespace json = boost::json;
using boost::asio::awaitable;

// A route handler from a function of the request and the services it needs.
template <typename S>
http::Handler handler(S& services, awaitable<void> (*fn)(http::Exchange&, S&)) {
  return [&services, fn](http::Exchange& ex) { return fn(ex, services); };
}

// Authenticates the request; on failure answers the error and returns nullopt.
awaitable<std::optional<auth::Principal>> authenticate(http::Exchange& ex, Services& s);

// Authenticates and requires the admin key (forbidden otherwise).
awaitable<std::optional<auth::Principal>> require_admin(http::Exchange& ex, Services& s);

// Reads the body as one JSON object (an empty body is {}); answers 400 and
// returns nullopt when it is not.
awaitable<std::optional<json::object>> read_json_object(http::Exchange& ex);

// Answers a store failure: not_found → `not_found_code`, conflict → 409,
// unavailable → 503 store_unavailable, the rest → 500.
awaitable<void> respond_store_error(http::Exchange& ex, const store::Error& error,
                                    errors::Code not_found_code = errors::Code::not_found);

awaitable<void> respond_json(http::Exchange& ex, unsigned status, const json::value& body);

struct PageRequest {
  std::string cursor;
  std::size_t limit = 50;
};
// ?limit= (1..500, default 50) and ?cursor=; answers 400 and returns nullopt when malformed.
awaitable<std::optional<PageRequest>> page_request(http::Exchange& ex);

// {"data": [...], "next_cursor": "…" | null}
json::object page_json(json::array data, const std::string& next_cursor);

// An auth config as SPEC §4 shows it: metadata only, never a secret.
json::object auth_config_json(const store::AuthConfig& a);

// RFC 3339 UTC, seconds precision: 2026-11-22T01:02:03Z
std::string format_time(store::Millis ms);
store::Millis now_millis();

// Whether the operator offers managed mode for the provider (an enabled app
// or deployment credentials), and the mode a tenant gets when it has not chosen.
bool managed_available(const config::Provider& p);
std::string_view default_mode(const config::Provider& p);
const config::Provider* find_provider(const config::Config& cfg, std::string_view key);

// The tenant a tenant-scoped route acts for: a tenant key's own; the admin
// key's Tollgate-Tenant (checked to exist). With tenant_required false the admin
// may omit it (tenant_id is then empty). On failure answers and returns nullopt.
struct Scope {
  auth::Principal who;
  std::string tenant_id;
};
awaitable<std::optional<Scope>> tenant_scope(http::Exchange& ex, Services& s, bool tenant_required);
// tenant_scope's answer, as a plain function, for the hot path's case: a tenant
// key known without the store, acting for its own tenant. Anything else is
// nullopt, answers nothing, and is left to tenant_scope.
std::optional<Scope> known_tenant_scope(http::Exchange& ex, Services& s);

// Strict reading of a request object: every field must be known and of the
// right type. Collects the first problem; callers check problem() once.
class FieldReader {
 public:
  FieldReader(const json::object& object, std::vector<std::string_view> known);
  std::optional<std::string> string(std::string_view name, bool required, std::size_t max_length = 1000);
  std::optional<std::vector<std::string>> strings(std::string_view name, std::size_t max_items = 100);
  const json::object* object(std::string_view name, std::vector<std::string_view> known);
  // A non-negative integer, or null (→ an engaged optional holding nullopt).
  std::optional<std::optional<std::uint64_t>> count_or_null(const json::object& o, std::string_view path,
                                                          std::string_view name);
  std::optional<std::optional<double>> number_or_null(const json::object& o, std::string_view path,
                                                     std::string_view name);
  bool has(std::string_view name) const { return object_.contains(name); }
  const std::optional<std::string>& problem() const { return problem_; }
  void fail(std::string message) {
    if (!problem_) problem_ = std::move(message);
  }

 private:
  const json::object& object_;
  std::optional<std::string> problem_;
};

}  // namespace tollgate::admin
