// GET /v1/usage and GET /v1/billing/report (SPEC §4): reports over the
// store's usage rows, as JSON or CSV.
#include <variant>

#include "tollgate/admin/rest.hpp"
#include "tollgate/http/query.hpp"
#include "tollgate/metering/days.hpp"
#include "tollgate/metering/reports.hpp"

namespace tollgate::admin {
namespace {

using errors::Code;
namespace beast_http = boost::beast::http;

// The longest range one usage report covers, so a single request stays cheap.
constexpr store::Day kMaxReportDays = 366;

json::value counts_json(const store::UsageCounts& c) {
  return json::object{{"calls", c.calls},
                      {"errors", c.errors},
                      {"refreshes", c.refreshes},
                      {"request_bytes", c.request_bytes},
                      {"response_bytes", c.response_bytes}};
}

json::object usage_json(const metering::UsageReport& report) {
  json::array group_by;
  for (auto k : report.group_by) group_by.emplace_back(metering::to_string(k));
  json::array rows;
  for (const auto& r : report.rows) {
    json::object o;
    for (auto k : report.group_by) {
      switch (k) {
        case metering::GroupKey::tenant: o["tenant"] = r.tenant_id; break;
        case metering::GroupKey::provider: o["provider"] = r.provider; break;
        case metering::GroupKey::auth_config:
          // Deployment credentials have no auth config.
          o["auth_config"] = r.auth_config_id.empty() ? json::value(nullptr) : json::value(r.auth_config_id);
          break;
        case metering::GroupKey::day: o["day"] = metering::format_day(r.day); break;
      }
    }
    const json::value counts = counts_json(r.counts);
    for (const auto& [key, value] : counts.as_object()) o[key] = value;
    rows.push_back(std::move(o));
  }
  return {{"from", metering::format_day(report.from)},
          {"to", metering::format_day(report.to)},
          {"group_by", std::move(group_by)},
          {"rows", std::move(rows)},
          {"totals", counts_json(report.totals)}};
}

json::object billing_json(const metering::BillingReport& report) {
  json::array lines;
  for (const auto& l : report.lines) {
    lines.push_back(json::object{{"provider", l.provider},
                                 {"mode", l.mode},
                                 {"calls", l.calls},
                                 {"billable_calls", l.billable_calls},
                                 {"price_per_1000", l.price_per_1000},
                                 {"amount", l.amount}});
  }
  return {{"tenant_id", report.tenant_id},
          {"period", report.period},
          {"currency", report.currency},
          {"lines", std::move(lines)},
          {"total", report.total}};
}

awaitable<void> respond_csv(http::Exchange& ex, std::string filename, std::string body) {
  http::Response res{beast_http::status::ok, ex.request().version()};
  res.set(beast_http::field::content_type, "text/csv; charset=utf-8; header=present");
  res.set(beast_http::field::content_disposition, "attachment; filename=\"" + filename + "\"");
  res.set(beast_http::field::cache_control, "no-store");
  res.body() = std::move(body);
  res.prepare_payload();
  co_await ex.respond(std::move(res));
}

// ?format=json|csv (json when absent); answers 400 and nullopt otherwise.
awaitable<std::optional<bool>> wants_csv(http::Exchange& ex) {
  const auto format = http::query_param(ex.query(), "format").value_or("json");
  if (format != "json" && format != "csv") {
    co_await ex.respond_error(Code::bad_request, "format must be json or csv");
    co_return std::nullopt;
  }
  co_return format == "csv";
}

// The tenant a report is about: a tenant key's own (naming another is 404, as
// for any other tenant's record); the admin's ?tenant= or Tollgate-Tenant, or
// every tenant when `all_allowed` and neither is given. On failure answers
// and returns nullopt.
awaitable<std::optional<std::string>> report_tenant(http::Exchange& ex, Services& s, bool all_allowed) {
  auto who = co_await authenticate(ex, s);
  if (!who) co_return std::nullopt;
  std::string named = http::query_param(ex.query(), "tenant").value_or("");
  if (named.empty()) {
    auto header = ex.request()["Tollgate-Tenant"];
    named = std::string(header.data(), header.size());
  }
  if (!who->is_admin()) {
    if (!named.empty() && named != who->tenant_id) {
      co_await ex.respond_error(Code::not_found, "no such tenant");
      co_return std::nullopt;
    }
    co_return who->tenant_id;
  }
  if (named.empty()) {
    if (all_allowed) co_return std::string();
    co_await ex.respond_error(Code::bad_request, "name the tenant with ?tenant=tnt_… (or Tollgate-Tenant)");
    co_return std::nullopt;
  }
  auto t = co_await s.store.get_tenant(named);
  if (!t) {
    co_await respond_store_error(ex, t.error());
    co_return std::nullopt;
  }
  ex.set_tenant(named);
  co_return named;
}

awaitable<void> get_usage(http::Exchange& ex, Services& s) {
  auto tenant = co_await report_tenant(ex, s, true);
  if (!tenant) co_return;
  auto csv = co_await wants_csv(ex);
  if (!csv) co_return;
  const store::Day today = metering::day_of(now_millis());
  const auto from_text = http::query_param(ex.query(), "from");
  const auto to_text = http::query_param(ex.query(), "to");
  const auto from = from_text ? metering::parse_day(*from_text) : metering::month_of(today).first;
  const auto to = to_text ? metering::parse_day(*to_text) : today + 1;
  if (!from || !to) {
    co_return co_await ex.respond_error(Code::bad_request, "from and to must be UTC dates written YYYY-MM-DD");
  }
  if (*from >= *to) co_return co_await ex.respond_error(Code::bad_request, "from must be before to (to is exclusive)");
  if (*to - *from > kMaxReportDays) {
    co_return co_await ex.respond_error(Code::bad_request, "a usage report covers at most 366 days; ask for less");
  }
  const auto group_text = http::query_param(ex.query(), "group_by");
  auto group_by = metering::parse_group_by(group_text.value_or("tenant,provider"));
  if (auto* problem = std::get_if<std::string>(&group_by)) {
    co_return co_await ex.respond_error(Code::bad_request, *problem);
  }
  store::UsageFilter filter;
  filter.tenant_id = *tenant;
  auto rows = co_await s.store.query_usage(filter, *from, *to);
  if (!rows) co_return co_await respond_store_error(ex, rows.error());
  const auto report =
      metering::group_usage(rows.value(), *from, *to, std::get<std::vector<metering::GroupKey>>(group_by));
  if (*csv) {
    co_return co_await respond_csv(ex, "usage-" + metering::format_day(*from) + "-" + metering::format_day(*to) + ".csv",
                                   metering::usage_csv(report));
  }
  co_await respond_json(ex, 200, usage_json(report));
}

awaitable<void> get_billing_report(http::Exchange& ex, Services& s) {
  auto tenant = co_await report_tenant(ex, s, false);
  if (!tenant) co_return;
  auto csv = co_await wants_csv(ex);
  if (!csv) co_return;
  const auto period = http::query_param(ex.query(), "period");
  const auto month = period ? metering::parse_month(*period) : std::nullopt;
  if (!month) co_return co_await ex.respond_error(Code::bad_request, "period must be a month written YYYY-MM");
  store::UsageFilter filter;
  filter.tenant_id = *tenant;
  auto rows = co_await s.store.query_usage(filter, month->first, month->end);
  if (!rows) co_return co_await respond_store_error(ex, rows.error());
  auto priced = metering::price_month(ex.config().billing, *tenant, *period, rows.value());
  if (auto* problem = std::get_if<std::string>(&priced)) {
    co_return co_await ex.respond_error(Code::internal, *problem);
  }
  const auto& report = std::get<metering::BillingReport>(priced);
  if (*csv) co_return co_await respond_csv(ex, "billing-" + *tenant + "-" + *period + ".csv", metering::billing_csv(report));
  co_await respond_json(ex, 200, billing_json(report));
}

}  // namespace

void add_usage_routes(http::Router& router, Services& s) {
  router.add("GET", "/v1/usage", handler(s, get_usage));
  router.add("GET", "/v1/billing/report", handler(s, get_billing_report));
}

}  // namespace tollgate::admin
