#pragma once
// Money without floating point: a non-negative decimal held as an integer
// mantissa and a count of decimal places, rounded half-even (banker's
// rounding) to a currency's minor unit.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tollgate::metering {

class Decimal {
 public:
  Decimal() = default;
  // "0.10", "12", "0.000125": digits, optionally a point and more digits; at
  // most 19 significant digits and 18 places. nullopt otherwise.
  static std::optional<Decimal> parse(std::string_view text);

  // price × calls / 1000, rounded half-even to `places` decimal places.
  static Decimal per_thousand(const Decimal& price, std::uint64_t calls, unsigned places);
  // This value rounded half-even to `places` (or padded with zeros when it has fewer).
  Decimal rounded(unsigned places) const;
  // The exact sum, in the larger number of places.
  Decimal operator+(const Decimal& other) const;

  // Exactly `places()` decimals: "0.10", "12", "1.005".
  std::string to_string() const;
  unsigned places() const { return places_; }
  bool operator==(const Decimal& other) const;

 private:
  Decimal(unsigned __int128 mantissa, unsigned places) : mantissa_(mantissa), places_(places) {}
  unsigned __int128 mantissa_ = 0;
  unsigned places_ = 0;
};

// ISO 4217 minor units: 2 for most (USD, EUR, GBP…), 0 for JPY, KRW and the
// like, 3 for BHD, IQD, JOD, KWD, LYD, OMR, TND; 2 for a code it does not know.
unsigned minor_units(std::string_view currency);

}  // namespace tollgate::metering
