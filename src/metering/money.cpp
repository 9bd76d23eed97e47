#include "tollgate/metering/money.hpp"

#include <algorithm>
#include <array>

namespace tollgate::metering {
namespace {

using u128 = unsigned __int128;

constexpr unsigned kMaxDigits = 19;
constexpr unsigned kMaxPlaces = 18;

u128 pow10(unsigned n) {
  u128 out = 1;
  for (unsigned i = 0; i < n; ++i) out *= 10;
  return out;
}

// mantissa / 10^drop, rounded half to even.
u128 divide_half_even(u128 mantissa, unsigned drop) {
  if (drop == 0) return mantissa;
  const u128 divisor = pow10(drop);
  u128 q = mantissa / divisor;
  const u128 r = mantissa % divisor;
  const u128 twice = r * 2;
  if (twice > divisor || (twice == divisor && (q % 2) == 1)) ++q;
  return q;
}

}  // namespace

std::optional<Decimal> Decimal::parse(std::string_view text) {
  if (text.empty()) return std::nullopt;
  u128 mantissa = 0;
  unsigned places = 0;
  unsigned significant = 0;
  bool point = false;
  bool any_digit = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '.') {
      if (point || !any_digit || i + 1 == text.size()) return std::nullopt;  // "1." and ".5" are not prices
      point = true;
      continue;
    }
    if (c < '0' || c > '9') return std::nullopt;
    any_digit = true;
    mantissa = mantissa * 10 + static_cast<unsigned>(c - '0');
    if (mantissa != 0) ++significant;
    if (point) ++places;
    if (significant > kMaxDigits || places > kMaxPlaces) return std::nullopt;
  }
  return Decimal(mantissa, places);
}

Decimal Decimal::per_thousand(const Decimal& price, std::uint64_t calls, unsigned places) {
  // price < 10^19 and calls < 2^64: the product stays below 2^128.
  const Decimal exact(price.mantissa_ * static_cast<u128>(calls), price.places_ + 3);
  return exact.rounded(places);
}

Decimal Decimal::rounded(unsigned places) const {
  if (places >= places_) return Decimal(mantissa_ * pow10(places - places_), places);
  return Decimal(divide_half_even(mantissa_, places_ - places), places);
}

Decimal Decimal::operator+(const Decimal& other) const {
  const unsigned places = std::max(places_, other.places_);
  return Decimal(rounded(places).mantissa_ + other.rounded(places).mantissa_, places);
}

bool Decimal::operator==(const Decimal& other) const {
  const unsigned places = std::max(places_, other.places_);
  return rounded(places).mantissa_ == other.rounded(places).mantissa_;
}

std::string Decimal::to_string() const {
  std::string digits;
  u128 m = mantissa_;
  do {
    digits.push_back(static_cast<char>('0' + static_cast<unsigned>(m % 10)));
    m /= 10;
  } while (m != 0);
  while (digits.size() <= places_) digits.push_back('0');  // at least one digit before the point
  std::reverse(digits.begin(), digits.end());
  if (places_ > 0) digits.insert(digits.size() - places_, 1, '.');
  return digits;
}

unsigned minor_units(std::string_view currency) {
  static constexpr std::array<std::string_view, 16> kZero = {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW",
                                                             "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF"};
  static constexpr std::array<std::string_view, 7> kThree = {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"};
  if (std::find(kZero.begin(), kZero.end(), currency) != kZero.end()) return 0;
  if (currency == "XPF") return 0;
  if (std::find(kThree.begin(), kThree.end(), currency) != kThree.end()) return 3;
  if (currency == "CLF" || currency == "UYW") return 4;
  return 2;
}

}  // namespace tollgate::metering
