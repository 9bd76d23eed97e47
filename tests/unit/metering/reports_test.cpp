// Usage grouping, billing of a month of known traffic, and RFC 4180 CSV.
#include <doctest/doctest.h>

#include <map>
#include <random>
#include <variant>

#include "tollgate/metering/days.hpp"
#include "tollgate/metering/reports.hpp"

using namespace tollgate;
using namespace tollgate::metering;

namespace {

store::UsageRow row(std::string tenant, std::string provider, std::string auth, std::string mode, store::Day day,
                    std::uint64_t calls) {
  store::UsageRow r;
  r.tenant_id = std::move(tenant);
  r.provider = std::move(provider);
  r.auth_config_id = std::move(auth);
  r.mode = std::move(mode);
  r.day = day;
  r.counts = {calls, calls / 10, calls / 20, calls * 2, calls * 3};
  return r;
}

}  // namespace

TEST_CASE("group_by reads the four keys in the order given and refuses unknown or repeated ones") {
  auto keys = std::get<std::vector<GroupKey>>(parse_group_by("day,tenant"));
  CHECK(keys == std::vector<GroupKey>{GroupKey::day, GroupKey::tenant});
  CHECK(std::get<std::vector<GroupKey>>(parse_group_by("")).empty());
  CHECK(std::holds_alternative<std::string>(parse_group_by("tenant,tenant")));
  CHECK(std::holds_alternative<std::string>(parse_group_by("mode")));
  CHECK(std::holds_alternative<std::string>(parse_group_by("tenant,")));
}

TEST_CASE("usage groups sum the finest rows, keep only grouped fields and total everything in range") {
  const store::Day d = *parse_day("2026-03-01");
  const std::vector<store::UsageRow> rows = {
      row("tnt_a", "github", "pac_1", "managed", d, 10),   row("tnt_a", "github", "pac_2", "managed", d, 5),
      row("tnt_a", "slack", "pac_3", "your-own", d + 1, 7), row("tnt_b", "github", "pac_9", "managed", d + 1, 100),
      row("tnt_b", "github", "pac_9", "managed", d + 40, 1000),  // out of range
  };
  auto report = group_usage(rows, d, d + 31, {GroupKey::provider});
  REQUIRE(report.rows.size() == 2);
  CHECK(report.rows[0].provider == "github");
  CHECK(report.rows[0].counts.calls == 115);
  CHECK(report.rows[0].tenant_id.empty());
  CHECK(report.rows[1].provider == "slack");
  CHECK(report.totals.calls == 122);
  CHECK(report.totals.response_bytes == 366);

  auto by_day_tenant = group_usage(rows, d, d + 31, {GroupKey::day, GroupKey::tenant});
  REQUIRE(by_day_tenant.rows.size() == 3);
  CHECK(by_day_tenant.rows[0].day == d);
  CHECK(by_day_tenant.rows[1].day == d + 1);
  CHECK(by_day_tenant.rows[1].tenant_id == "tnt_a");
  CHECK(by_day_tenant.rows[2].tenant_id == "tnt_b");

  auto none = group_usage(rows, d, d + 31, {});
  REQUIRE(none.rows.size() == 1);
  CHECK(none.rows[0].counts == none.totals);
}

TEST_CASE("usage CSV has a header of the group keys and counters, CRLF lines and quoted fields") {
  const store::Day d = *parse_day("2026-03-01");
  auto report = group_usage({row("tnt_a", "git,hub", "", "managed", d, 2)}, d, d + 1,
                            {GroupKey::tenant, GroupKey::provider, GroupKey::auth_config, GroupKey::day});
  CHECK(usage_csv(report) ==
        "tenant,provider,auth_config,day,calls,errors,refreshes,request_bytes,response_bytes\r\n"
        "tnt_a,\"git,hub\",,2026-03-01,2,0,0,4,6\r\n");
  CHECK(csv_record({"a\"b", "line\nbreak", "=SUM(A1)", "-1", "plain"}) ==
        "\"a\"\"b\",\"line\nbreak\",'=SUM(A1),'-1,plain\r\n");
}

TEST_CASE("a month of known traffic is billed per provider and mode with totals computed independently") {
  config::Billing billing;
  billing.currency = "USD";
  billing.billable_modes = {"managed"};
  billing.prices = {{"default", "0.10"}, {"github", "0.05"}, {"exa", "0.333"}};
  const auto month = *parse_month("2026-02");
  // Random traffic over the month; the expected bill is computed here in integer tenths of a cent.
  std::mt19937_64 rng(42);
  std::vector<store::UsageRow> rows;
  std::map<std::pair<std::string, std::string>, std::uint64_t> calls;
  for (store::Day day = month.first; day < month.end; ++day) {
    for (const char* provider : {"github", "slack", "exa"}) {
      for (const char* mode : {"managed", "your-own"}) {
        const std::uint64_t n = rng() % 5000;
        rows.push_back(row("tnt_a", provider, "pac_" + std::string(provider), mode, day, n));
        calls[{provider, mode}] += n;
        rows.push_back(row("tnt_other", provider, "pac_x", mode, day, 999));  // another tenant's: not billed
      }
    }
  }
  auto result = price_month(billing, "tnt_a", "2026-02", rows);
  REQUIRE(std::holds_alternative<BillingReport>(result));
  const auto& report = std::get<BillingReport>(result);
  CHECK(report.currency == "USD");
  REQUIRE(report.lines.size() == 6);
  // Independent arithmetic: amount in micro-dollars = price_micro × calls / 1000, then half-even to cents.
  auto expect_cents = [](std::uint64_t price_micro, std::uint64_t n) {
    const unsigned __int128 nano = static_cast<unsigned __int128>(price_micro) * n;  // 1e-9 dollars
    std::uint64_t cents = static_cast<std::uint64_t>(nano / 10'000'000);
    const std::uint64_t rest = static_cast<std::uint64_t>(nano % 10'000'000);
    if (rest > 5'000'000 || (rest == 5'000'000 && cents % 2 == 1)) ++cents;
    return cents;
  };
  auto as_money = [](std::uint64_t cents) {
    std::string c = std::to_string(cents % 100);
    return std::to_string(cents / 100) + "." + (c.size() == 1 ? "0" + c : c);
  };
  const std::map<std::string, std::uint64_t> price_micro = {{"github", 50'000}, {"slack", 100'000}, {"exa", 333'000}};
  std::uint64_t total_cents = 0;
  for (const auto& line : report.lines) {
    CAPTURE(line.provider);
    CAPTURE(line.mode);
    const std::uint64_t n = calls[{line.provider, line.mode}];
    CHECK(line.calls == n);
    const bool billable = line.mode == "managed";
    CHECK(line.billable_calls == (billable ? n : 0));
    const std::uint64_t cents = billable ? expect_cents(price_micro.at(line.provider), n) : 0;
    CHECK(line.amount == as_money(cents));
    total_cents += cents;
  }
  CHECK(report.lines[0].provider == "exa");
  CHECK(report.lines[2].price_per_1000 == "0.05");
  CHECK(report.lines[4].price_per_1000 == "0.10");  // slack: the default
  CHECK(report.total == as_money(total_cents));

  const std::string csv = billing_csv(report);
  CHECK(csv.rfind("tenant_id,period,currency,provider,mode,calls,billable_calls,price_per_1000,amount\r\n", 0) == 0);
  CHECK(csv.find("\r\ntnt_a,2026-02,USD,total,,") != std::string::npos);
  CHECK(csv.size() > 2);
  CHECK(csv.substr(csv.size() - 2) == "\r\n");
}

TEST_CASE("a zero-decimal currency bills whole units and an unpriced provider with no default costs nothing") {
  config::Billing billing;
  billing.currency = "JPY";
  billing.billable_modes = {"managed", "your-own"};
  billing.prices = {{"github", "15"}};
  const auto d = *parse_day("2026-01-10");
  auto result = price_month(billing, "tnt_a", "2026-01",
                            {row("tnt_a", "github", "", "managed", d, 1100), row("tnt_a", "slack", "", "your-own", d, 50)});
  const auto& report = std::get<BillingReport>(result);
  REQUIRE(report.lines.size() == 2);
  CHECK(report.lines[0].amount == "16");  // 16.5 → 16 (half to even)
  CHECK(report.lines[1].price_per_1000 == "0");
  CHECK(report.lines[1].amount == "0");
  CHECK(report.total == "16");
}

TEST_CASE("an empty month bills nothing at the currency's minor unit") {
  config::Billing billing;
  billing.currency = "KWD";
  auto result = price_month(billing, "tnt_a", "2026-01", {});
  const auto& report = std::get<BillingReport>(result);
  CHECK(report.lines.empty());
  CHECK(report.total == "0.000");
}
