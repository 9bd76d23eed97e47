#include "tollgate/admin/rest.hpp"

#include <chrono>
#include <ctime>

#include "tollgate/http/query.hpp"
#include "tollgate/oauth/apps.hpp"

namespace tollgate::admin {

using errors::Code;

awaitable<std::optional<auth::Principal>> authenticate(http::Exchange& ex, Services& s) {
  auto header = ex.request()["Authorization"];
  const std::string_view authorization(header.data(), header.size());
  auto known = s.auth.known(authorization, ex.key_memo());
  if (!known) known.emplace(co_await s.auth.authenticate(authorization, ex.key_memo()));
  auto& result = *known;
  if (auto* error = std::get_if<errors::Error>(&result)) {
    co_await ex.respond_error(error->code, error->message);
    co_return std::nullopt;
  }
  auto principal = std::get<auth::Principal>(std::move(result));
  ex.set_tenant(principal.is_admin() ? "admin" : principal.tenant_id);
  co_return principal;
}

awaitable<std::optional<auth::Principal>> require_admin(http::Exchange& ex, Services& s) {
  auto who = co_await authenticate(ex, s);
  if (who && !who->is_admin()) {
    co_await ex.respond_error(Code::forbidden, "this route needs the admin key");
    co_return std::nullopt;
  }
  co_return who;
}

awaitable<std::optional<json::object>> read_json_object(http::Exchange& ex) {
  auto body = co_await ex.read_body();
  if (!body) co_return std::nullopt;
  if (body->find_first_not_of(" \t\r\n") == std::string::npos) co_return json::object{};
  boost::system::error_code ec;
  auto value = json::parse(*body, ec);
  if (ec) {
    co_await ex.respond_error(Code::bad_request, "the body is not valid JSON: " + ec.message());
    co_return std::nullopt;
  }
  if (!value.is_object()) {
    co_await ex.respond_error(Code::bad_request, "the body must be a JSON object");
    co_return std::nullopt;
  }
  co_return std::move(value.as_object());
}

awaitable<void> respond_store_error(http::Exchange& ex, const store::Error& error, Code not_found_code) {
  switch (error.code) {
    case store::Errc::not_found:
      co_await ex.respond_error(not_found_code, "no such record");
      break;
    case store::Errc::conflict:
      co_await ex.respond_error(Code::conflict, "the record changed or already exists; retry");
      break;
    case store::Errc::bad_cursor:
      co_await ex.respond_error(Code::bad_request, "cursor is not one this list handed out");
      break;
    case store::Errc::unavailable:
      co_await ex.respond_error(Code::store_unavailable, "the store is unavailable; retry shortly");
      break;
    default:
      co_await ex.respond_error(Code::internal, "the store failed; the log line with this request id has details");
  }
}

awaitable<void> respond_json(http::Exchange& ex, unsigned status, const json::value& body) {
  co_await ex.respond_json(status, json::serialize(body));
}

awaitable<std::optional<PageRequest>> page_request(http::Exchange& ex) {
  PageRequest page;
  if (auto limit = http::query_param(ex.query(), "limit")) {
    char* end = nullptr;
    long v = std::strtol(limit->c_str(), &end, 10);
    if (limit->empty() || *end != '\0' || v < 1 || v > 500) {
      co_await ex.respond_error(Code::bad_request, "limit must be a whole number from 1 to 500");
      co_return std::nullopt;
    }
    page.limit = static_cast<std::size_t>(v);
  }
  if (auto cursor = http::query_param(ex.query(), "cursor")) page.cursor = *cursor;
  co_return page;
}

json::object page_json(json::array data, const std::string& next_cursor) {
  json::object out;
  out["data"] = std::move(data);
  if (next_cursor.empty()) out["next_cursor"] = nullptr;
  else out["next_cursor"] = next_cursor;
  return out;
}

std::string format_time(store::Millis ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

store::Millis now_millis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool managed_available(const config::Provider& p) { return oauth::managed_available(p); }

std::string_view default_mode(const config::Provider& p) { return managed_available(p) ? "managed" : "your-own"; }

const config::Provider* find_provider(const config::Config& cfg, std::string_view key) {
  auto it = cfg.providers.find(std::string(key));
  return it == cfg.providers.end() ? nullptr : &it->second;
}

std::optional<Scope> known_tenant_scope(http::Exchange& ex, Services& s) {
  auto header = ex.request()["Authorization"];
  auto known = s.auth.known(std::string_view(header.data(), header.size()), ex.key_memo());
  auto* who = known ? std::get_if<auth::Principal>(&*known) : nullptr;
  if (!who || who->is_admin()) return std::nullopt;
  auto tenant = ex.request()["Tollgate-Tenant"];
  if (!tenant.empty() && std::string_view(tenant.data(), tenant.size()) != who->tenant_id) return std::nullopt;
  ex.set_tenant(who->tenant_id);
  std::string tenant_id = who->tenant_id;
  return Scope{std::move(*who), std::move(tenant_id)};
}

awaitable<std::optional<Scope>> tenant_scope(http::Exchange& ex, Services& s, bool tenant_required) {
  auto who = co_await authenticate(ex, s);
  if (!who) co_return std::nullopt;
  auto header = ex.request()["Tollgate-Tenant"];
  std::string_view tenant_header(header.data(), header.size());
  if (who->is_admin() && tenant_header.empty() && !tenant_required) co_return Scope{std::move(*who), {}};
  auto acting = auth::acting_tenant(*who, tenant_header);
  if (auto* e = std::get_if<errors::Error>(&acting)) {
    co_await ex.respond_error(e->code, e->message);
    co_return std::nullopt;
  }
  std::string tenant_id = std::move(std::get<std::string>(acting));
  if (who->is_admin()) {
    auto t = co_await s.store.get_tenant(tenant_id);
    if (!t) {
      co_await respond_store_error(ex, t.error());
      co_return std::nullopt;
    }
  }
  ex.set_tenant(tenant_id);
  co_return Scope{std::move(*who), std::move(tenant_id)};  // moved: ids are longer than a short string
}

FieldReader::FieldReader(const json::object& object, std::vector<std::string_view> known) : object_(object) {
  for (const auto& [key, value] : object) {
    if (std::find(known.begin(), known.end(), std::string_view(key)) == known.end()) {
      std::string list;
      for (auto k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      fail("unknown field \"" + std::string(key) + "\" (accepted: " + list + ")");
    }
  }
}

std::optional<std::string> FieldReader::string(std::string_view name, bool required, std::size_t max_length) {
  auto it = object_.find(name);
  if (it == object_.end() || it->value().is_null()) {
    if (required) fail("field \"" + std::string(name) + "\" is required");
    return std::nullopt;
  }
  if (!it->value().is_string()) {
    fail("field \"" + std::string(name) + "\" must be a string");
    return std::nullopt;
  }
  std::string v(it->value().as_string());
  if (v.size() > max_length) fail("field \"" + std::string(name) + "\" is longer than " + std::to_string(max_length));
  return v;
}

std::optional<std::vector<std::string>> FieldReader::strings(std::string_view name, std::size_t max_items) {
  auto it = object_.find(name);
  if (it == object_.end()) return std::nullopt;
  if (!it->value().is_array()) {
    fail("field \"" + std::string(name) + "\" must be an array of strings");
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (const auto& v : it->value().as_array()) {
    if (!v.is_string()) {
      fail("field \"" + std::string(name) + "\" must be an array of strings");
      return std::nullopt;
    }
    out.emplace_back(v.as_string());
  }
  if (out.size() > max_items) fail("field \"" + std::string(name) + "\" has more than " + std::to_string(max_items) + " items");
  return out;
}

const json::object* FieldReader::object(std::string_view name, std::vector<std::string_view> known) {
  auto it = object_.find(name);
  if (it == object_.end() || it->value().is_null()) return nullptr;
  if (!it->value().is_object()) {
    fail("field \"" + std::string(name) + "\" must be an object");
    return nullptr;
  }
  for (const auto& [key, value] : it->value().as_object()) {
    if (std::find(known.begin(), known.end(), std::string_view(key)) == known.end())
      fail("unknown field \"" + std::string(name) + "." + std::string(key) + "\"");
  }
  return &it->value().as_object();
}

std::optional<std::optional<std::uint64_t>> FieldReader::count_or_null(const json::object& o, std::string_view path,
                                                                      std::string_view name) {
  auto it = o.find(name);
  if (it == o.end()) return std::nullopt;
  if (it->value().is_null()) return std::optional<std::uint64_t>{};
  if (it->value().is_uint64()) return std::optional<std::uint64_t>{it->value().as_uint64()};
  if (it->value().is_int64() && it->value().as_int64() >= 0)
    return std::optional<std::uint64_t>{static_cast<std::uint64_t>(it->value().as_int64())};
  fail("field \"" + std::string(path) + "." + std::string(name) + "\" must be a non-negative whole number or null");
  return std::nullopt;
}

std::optional<std::optional<double>> FieldReader::number_or_null(const json::object& o, std::string_view path,
                                                                std::string_view name) {
  auto it = o.find(name);
  if (it == o.end()) return std::nullopt;
  if (it->value().is_null()) return std::optional<double>{};
  if (it->value().is_number()) {
    double v = it->value().to_number<double>();
    if (v >= 0 && std::isfinite(v)) return std::optional<double>{v};
  }
  fail("field \"" + std::string(path) + "." + std::string(name) + "\" must be a non-negative number or null");
  return std::nullopt;
}

}  // namespace tollgate::admin
