#include "tollgate/metering/reports.hpp"

#include <algorithm>
#include <map>
#include <tuple>

#include "tollgate/metering/days.hpp"
#include "tollgate/metering/money.hpp"

namespace tollgate::metering {

std::string_view to_string(GroupKey key) {
  switch (key) {
    case GroupKey::tenant: return "tenant";
    case GroupKey::provider: return "provider";
    case GroupKey::auth_config: return "auth_config";
    case GroupKey::day: return "day";
  }
  return "";
}

std::variant<std::vector<GroupKey>, std::string> parse_group_by(std::string_view text) {
  std::vector<GroupKey> out;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const std::string_view word = text.substr(0, comma);
    std::optional<GroupKey> key;
    for (GroupKey k : {GroupKey::tenant, GroupKey::provider, GroupKey::auth_config, GroupKey::day}) {
      if (to_string(k) == word) key = k;
    }
    if (!key) {
      return "group_by: \"" + std::string(word) + "\" is not one of tenant, provider, auth_config, day";
    }
    if (std::find(out.begin(), out.end(), *key) != out.end()) {
      return "group_by: \"" + std::string(word) + "\" is named twice";
    }
    out.push_back(*key);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
    if (text.empty()) return std::string("group_by: a trailing comma");
  }
  return out;
}

UsageReport group_usage(const std::vector<store::UsageRow>& rows, store::Day from, store::Day to,
                        std::vector<GroupKey> group_by) {
  UsageReport report;
  report.from = from;
  report.to = to;
  report.group_by = std::move(group_by);
  auto has = [&](GroupKey k) {
    return std::find(report.group_by.begin(), report.group_by.end(), k) != report.group_by.end();
  };
  // The key of a row in group_by order, for sorting: day as a zero-padded number sorts like a date.
  auto sort_key = [&](const UsageReportRow& r) {
    std::vector<std::string> parts;
    for (GroupKey k : report.group_by) {
      switch (k) {
        case GroupKey::tenant: parts.push_back(r.tenant_id); break;
        case GroupKey::provider: parts.push_back(r.provider); break;
        case GroupKey::auth_config: parts.push_back(r.auth_config_id); break;
        case GroupKey::day: parts.push_back(format_day(r.day)); break;
      }
    }
    return parts;
  };
  std::map<std::tuple<std::string, std::string, std::string, store::Day>, UsageReportRow> groups;
  for (const auto& row : rows) {
    if (row.day < from || row.day >= to) continue;
    UsageReportRow g;
    if (has(GroupKey::tenant)) g.tenant_id = row.tenant_id;
    if (has(GroupKey::provider)) g.provider = row.provider;
    if (has(GroupKey::auth_config)) g.auth_config_id = row.auth_config_id;
    if (has(GroupKey::day)) g.day = row.day;
    auto [it, fresh] = groups.try_emplace({g.tenant_id, g.provider, g.auth_config_id, g.day}, g);
    it->second.counts += row.counts;
    report.totals += row.counts;
  }
  for (auto& [k, g] : groups) report.rows.push_back(std::move(g));
  std::stable_sort(report.rows.begin(), report.rows.end(),
                   [&](const UsageReportRow& a, const UsageReportRow& b) { return sort_key(a) < sort_key(b); });
  return report;
}

std::string csv_record(const std::vector<std::string>& fields) {
  std::string out;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out += ',';
    std::string f = fields[i];
    if (!f.empty() && (f[0] == '=' || f[0] == '+' || f[0] == '-' || f[0] == '@')) f.insert(0, 1, '\'');
    if (f.find_first_of(",\"\r\n") == std::string::npos) {
      out += f;
      continue;
    }
    out += '"';
    for (char c : f) {
      if (c == '"') out += '"';
      out += c;
    }
    out += '"';
  }
  out += "\r\n";
  return out;
}

std::string usage_csv(const UsageReport& report) {
  std::vector<std::string> header;
  for (GroupKey k : report.group_by) header.emplace_back(to_string(k));
  for (const char* c : {"calls", "errors", "refreshes", "request_bytes", "response_bytes"}) header.emplace_back(c);
  std::string out = csv_record(header);
  for (const auto& r : report.rows) {
    std::vector<std::string> fields;
    for (GroupKey k : report.group_by) {
      switch (k) {
        case GroupKey::tenant: fields.push_back(r.tenant_id); break;
        case GroupKey::provider: fields.push_back(r.provider); break;
        case GroupKey::auth_config: fields.push_back(r.auth_config_id); break;
        case GroupKey::day: fields.push_back(format_day(r.day)); break;
      }
    }
    for (std::uint64_t n : {r.counts.calls, r.counts.errors, r.counts.refreshes, r.counts.request_bytes,
                            r.counts.response_bytes}) {
      fields.push_back(std::to_string(n));
    }
    out += csv_record(fields);
  }
  return out;
}

std::variant<BillingReport, std::string> price_month(const config::Billing& billing, std::string tenant_id,
                                                     std::string period, const std::vector<store::UsageRow>& rows) {
  BillingReport report;
  report.tenant_id = std::move(tenant_id);
  report.period = std::move(period);
  report.currency = billing.currency;
  const unsigned places = minor_units(billing.currency);
  std::map<std::pair<std::string, std::string>, std::uint64_t> calls;
  for (const auto& r : rows) {
    if (r.tenant_id == report.tenant_id) calls[{r.provider, r.mode}] += r.counts.calls;
  }
  Decimal total = Decimal().rounded(places);
  for (const auto& [key, n] : calls) {
    BillingLine line;
    line.provider = key.first;
    line.mode = key.second;
    line.calls = n;
    const bool billable =
        std::find(billing.billable_modes.begin(), billing.billable_modes.end(), line.mode) != billing.billable_modes.end();
    line.billable_calls = billable ? n : 0;
    auto price_it = billing.prices.find(line.provider);
    if (price_it == billing.prices.end()) price_it = billing.prices.find("default");
    line.price_per_1000 = price_it == billing.prices.end() ? "0" : price_it->second;
    const auto price = Decimal::parse(line.price_per_1000);
    if (!price) {
      return "billing.prices: \"" + line.price_per_1000 +
             "\" has more digits than billing computes with (at most 19 significant digits and 18 places)";
    }
    const Decimal amount = Decimal::per_thousand(*price, line.billable_calls, places);
    line.amount = amount.to_string();
    total = total + amount;
    report.lines.push_back(std::move(line));
  }
  report.total = total.to_string();
  return report;
}

std::string billing_csv(const BillingReport& report) {
  std::string out = csv_record({"tenant_id", "period", "currency", "provider", "mode", "calls", "billable_calls",
                                "price_per_1000", "amount"});
  std::uint64_t calls = 0, billable = 0;
  for (const auto& l : report.lines) {
    out += csv_record({report.tenant_id, report.period, report.currency, l.provider, l.mode, std::to_string(l.calls),
                       std::to_string(l.billable_calls), l.price_per_1000, l.amount});
    calls += l.calls;
    billable += l.billable_calls;
  }
  out += csv_record({report.tenant_id, report.period, report.currency, "total", "", std::to_string(calls),
                     std::to_string(billable), "", report.total});
  return out;
}

}  // namespace tollgate::metering
