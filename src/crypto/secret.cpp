#include "tollgate/crypto/secret.hpp"

#include <ostream>

#include "tollgate/crypto/hash.hpp"
#include "wipe.hpp"

namespace tollgate::crypto {

Secret::Secret(std::string value) noexcept : value_(std::move(value)) {
  // A short string is copied out of its inline buffer, not stolen, so the
  // argument still holds the characters.
  wipe(value);
}

Secret& Secret::operator=(const Secret& other) {
  if (this != &other) {
    // Wiped first: if the copy needs a bigger buffer, the old one is freed as is.
    wipe(value_);
    value_ = other.value_;
  }
  return *this;
}

Secret& Secret::operator=(Secret&& other) noexcept {
  if (this != &other) {
    wipe(value_);
    value_ = std::move(other.value_);
  }
  return *this;
}

Secret::~Secret() { wipe(value_); }

bool operator==(const Secret& a, const Secret& b) noexcept {
  return constant_time_equal(a.value_, b.value_);
}

std::ostream& operator<<(std::ostream& os, const Secret&) { return os << "***"; }

}  // namespace tollgate::crypto
