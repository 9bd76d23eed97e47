// `tollgate usage report` (GET /v1/usage) and `tollgate billing report`
// (GET /v1/billing/report): a table by default, the REST JSON with --json or
// --format json, the REST CSV as is with --format csv.
#include <boost/json.hpp>

#include <ostream>

#include "verbs.hpp"

namespace tollgate::cli::verbs {

namespace json = boost::json;

namespace {

enum class Format { table, json, csv };

Format format_of(const Session& session, const Args& args) {
  const auto format = args.get("format").value_or(session.json() ? "json" : "table");
  if (format == "table") return Format::table;
  if (format == "json") return Format::json;
  if (format == "csv") return Format::csv;
  throw UsageError("--format must be table, json or csv");
}

// ?tenant= from --tenant (also sent as Tollgate-Tenant), so the query names it either way.
std::string with_tenant(std::string target, const Args& args) {
  if (auto t = args.get("tenant")) target += "&tenant=" + percent_encode(*t);
  return target;
}

const json::object& object_of(const std::optional<json::value>& answer, const char* what) {
  if (!answer || !answer->is_object()) throw CommandError(std::string("the relay's answer to ") + what + " is not an object");
  return answer->as_object();
}

}  // namespace

void usage_report(Session& session, const Args& args) {
  const Format format = format_of(session, args);
  std::string target = "/v1/usage?format=" + std::string(format == Format::csv ? "csv" : "json");
  if (auto v = args.get("from")) target += "&from=" + percent_encode(*v);
  if (auto v = args.get("to")) target += "&to=" + percent_encode(*v);
  if (auto v = args.get("group-by")) target += "&group_by=" + percent_encode(*v);
  target = with_tenant(std::move(target), args);
  if (format == Format::csv) {
    session.out() << session.fetch_text(target);
    return;
  }
  auto answer = session.call("GET", target);
  const auto& report = object_of(answer, "usage report");
  if (format == Format::json) {
    session.out() << pretty_json(report);
    return;
  }
  std::vector<std::string> titles;
  std::vector<std::string> keys;
  for (const auto& k : report.at("group_by").as_array()) {
    keys.emplace_back(k.as_string());
    std::string title(k.as_string());
    for (auto& c : title) c = c == '_' ? ' ' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    titles.push_back(title);
  }
  const std::vector<std::string> counters = {"calls", "errors", "refreshes", "request_bytes", "response_bytes"};
  for (const auto* t : {"CALLS", "ERRORS", "REFRESHES", "REQUEST BYTES", "RESPONSE BYTES"}) titles.emplace_back(t);
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : report.at("rows").as_array()) {
    std::vector<std::string> cells;
    for (const auto& k : keys) cells.push_back(cell_text(r.as_object().at(k)));
    for (const auto& c : counters) cells.push_back(cell_text(r.as_object().at(c)));
    rows.push_back(std::move(cells));
  }
  std::vector<std::string> total(keys.size(), "");
  if (!total.empty()) total[0] = "TOTAL";
  for (const auto& c : counters) total.push_back(cell_text(report.at("totals").as_object().at(c)));
  if (!keys.empty()) rows.push_back(std::move(total));
  session.out() << "usage " << cell_text(report.at("from")) << " to " << cell_text(report.at("to"))
                << " (UTC, to exclusive)\n"
                << render_table(titles, rows);
}

void billing_report(Session& session, const Args& args) {
  const Format format = format_of(session, args);
  std::string target = "/v1/billing/report?format=" + std::string(format == Format::csv ? "csv" : "json") +
                       "&period=" + percent_encode(*args.get("period"));
  target = with_tenant(std::move(target), args);
  if (format == Format::csv) {
    session.out() << session.fetch_text(target);
    return;
  }
  auto answer = session.call("GET", target);
  const auto& report = object_of(answer, "billing report");
  if (format == Format::json) {
    session.out() << pretty_json(report);
    return;
  }
  const std::string currency = cell_text(report.at("currency"));
  std::vector<std::vector<std::string>> rows;
  for (const auto& l : report.at("lines").as_array()) {
    const auto& o = l.as_object();
    rows.push_back({cell_text(o.at("provider")), cell_text(o.at("mode")), cell_text(o.at("calls")),
                    cell_text(o.at("billable_calls")), cell_text(o.at("price_per_1000")), cell_text(o.at("amount"))});
  }
  rows.push_back({"TOTAL", "", "", "", "", cell_text(report.at("total"))});
  session.out() << "billing " << cell_text(report.at("tenant_id")) << " " << cell_text(report.at("period")) << " ("
                << currency << ")\n"
                << render_table({"PROVIDER", "MODE", "CALLS", "BILLABLE", "PRICE/1000", "AMOUNT"}, rows);
}

}  // namespace tollgate::cli::verbs
