#pragma once
// The usage and billing reports (SPEC §4) computed from the store's rows at
// the finest grain, and their CSV (RFC 4180: a header row, CRLF line ends,
// fields quoted when they need it).
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tollgate/config/config.hpp"
#include "tollgate/store/records.hpp"

namespace tollgate::metering {

// ---- usage ----------------------------------------------------------------------

enum class GroupKey { tenant, provider, auth_config, day };
std::string_view to_string(GroupKey key);  // "tenant", "provider", "auth_config", "day"

// "tenant,provider" → the keys in the order given; "" → none (one row of
// everything). An error sentence for an unknown or repeated key.
std::variant<std::vector<GroupKey>, std::string> parse_group_by(std::string_view text);

struct UsageReportRow {
  // Only the grouped fields are set; the others stay empty / 0.
  std::string tenant_id;
  std::string provider;
  std::string auth_config_id;
  store::Day day = 0;
  store::UsageCounts counts;
};

struct UsageReport {
  store::Day from = 0;  // inclusive
  store::Day to = 0;    // exclusive
  std::vector<GroupKey> group_by;
  std::vector<UsageReportRow> rows;  // sorted by the group keys in group_by order
  store::UsageCounts totals;
};

UsageReport group_usage(const std::vector<store::UsageRow>& rows, store::Day from, store::Day to,
                        std::vector<GroupKey> group_by);

// Columns: the group keys, then calls, errors, refreshes, request_bytes, response_bytes.
std::string usage_csv(const UsageReport& report);

// ---- billing ----------------------------------------------------------------------

struct BillingLine {
  std::string provider;
  std::string mode;
  std::uint64_t calls = 0;
  std::uint64_t billable_calls = 0;  // calls when the mode is in billing.billable_modes, else 0
  std::string price_per_1000;        // the configured price ("0.10"), or "0" when none applies
  std::string amount;                // rounded half-even to the currency's minor unit
};

struct BillingReport {
  std::string tenant_id;
  std::string period;  // YYYY-MM
  std::string currency;
  std::vector<BillingLine> lines;  // by provider, then mode
  std::string total;               // the sum of the lines' amounts
};

// A tenant's month priced per provider and mode: billing.prices[provider],
// else billing.prices.default, else 0. An error sentence when a configured
// price is not one Decimal can hold.
std::variant<BillingReport, std::string> price_month(const config::Billing& billing, std::string tenant_id,
                                                     std::string period, const std::vector<store::UsageRow>& rows);

// Columns: tenant_id, period, currency, provider, mode, calls, billable_calls,
// price_per_1000, amount; then a "total" line.
std::string billing_csv(const BillingReport& report);

// One CSV record (RFC 4180) ending in CRLF. A field that starts like a
// spreadsheet formula (=, +, -, @) is prefixed with ' so it opens as text.
std::string csv_record(const std::vector<std::string>& fields);

}  // namespace tollgate::metering
