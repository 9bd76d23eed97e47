#include <algorithm>

#include "scalars.hpp"
#include "sections.hpp"

namespace tollgate::config::detail {
namespace {

bool is_currency_code(std::string_view text) {
  return text.size() == 3 && std::all_of(text.begin(), text.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

std::vector<std::string> read_billable_modes(Reader& r, const Value& v) {
  std::vector<std::string> out;
  r.read_list(v, [&](const Value& item) {
    const auto text = r.text(item, "managed or your-own");
    if (!text) return;
    if (*text != "managed" && *text != "your-own") {
      r.error(item, "expected managed or your-own");
      return;
    }
    if (std::find(out.begin(), out.end(), *text) == out.end()) out.push_back(*text);
  });
  return out;
}

// A YAML number such as 0.10 is read through its source text, so "0.10" and
// 0.10 mean the same and no binary rounding creeps into money.
std::map<std::string, std::string> read_prices(Reader& r, const Value& v) {
  constexpr std::string_view kExpected = "a decimal price per 1,000 calls, like \"0.10\"";
  std::map<std::string, std::string> out;
  r.read_entries(v, [&](const std::string& key, const Value& price) {
    if (key != "default" && !is_provider_key(key)) {
      r.error(price.key_pos, price.path, "expected `default` or a provider key (^[a-z0-9][a-z0-9_-]*$)");
      return;
    }
    const auto text = r.text(price, kExpected);
    if (!text) return;
    if (!is_decimal(*text)) {
      r.error(price, "expected " + std::string(kExpected) + " (digits, optionally a point and more digits)");
      return;
    }
    out[key] = *text;
  });
  return out;
}

void read_quota(Reader& r, const Value& v, Quota& out) {
  r.read_map(v, {
      {"monthly_calls", [&](const Value& x) { set(out.monthly_calls, read_count(r, x)); }},
      {"rate_per_second", [&](const Value& x) { set(out.rate_per_second, read_rate(r, x)); }},
      {"burst", [&](const Value& x) { set(out.burst, read_count(r, x)); }},
  });
}

}  // namespace

void read_billing(Reader& r, const Value& v, Billing& out) {
  r.read_map(v, {
      {"currency",
       [&](const Value& x) {
         const auto text = r.text(x, "a currency code");
         if (!text) return;
         if (is_currency_code(*text)) {
           out.currency = *text;
         } else {
           r.error(x, "expected a three-letter ISO 4217 currency code in upper case, like USD or EUR");
         }
       }},
      {"billable_modes", [&](const Value& x) { out.billable_modes = read_billable_modes(r, x); }},
      {"prices", [&](const Value& x) { out.prices = read_prices(r, x); }},
  });
}

void read_quotas(Reader& r, const Value& v, Quotas& out) {
  r.read_map(v, {{"default", [&](const Value& x) { read_quota(r, x, out.default_quota); }}});
}

}  // namespace tollgate::config::detail
