#include "tollgate/crypto/hash.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <climits>
#include <stdexcept>

#include "tollgate/crypto/encoding.hpp"

namespace tollgate::crypto {
namespace {

constexpr std::size_t kDigestBytes = 32;
using Digest = std::array<unsigned char, kDigestBytes>;

// Fills `out` without allocating, so key_matches can stay noexcept.
bool sha256_into(std::string_view data, Digest& out) noexcept {
  unsigned int len = 0;
  return EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) == 1 &&
         len == kDigestBytes;
}

void hex_into(const Digest& digest, std::array<char, 2 * kDigestBytes>& out) noexcept {
  constexpr char digits[] = "0123456789abcdef";
  for (std::size_t i = 0; i < digest.size(); ++i) {
    out[2 * i] = digits[digest[i] >> 4];
    out[2 * i + 1] = digits[digest[i] & 0x0f];
  }
}

}  // namespace

std::string sha256(std::string_view data) {
  Digest digest;
  if (!sha256_into(data, digest)) throw std::runtime_error("SHA-256 failed");
  return {reinterpret_cast<const char*>(digest.data()), digest.size()};
}

std::string sha256_hex(std::string_view data) { return hex_encode(sha256(data)); }

std::string hmac_sha256(std::string_view key, std::string_view data) {
  // HMAC() takes the key length as int; keys longer than that are not keys.
  if (key.size() > static_cast<std::size_t>(INT_MAX)) throw std::length_error("HMAC key too long");
  // An empty string_view may carry a null pointer, which HMAC() reads as "no key".
  static const unsigned char empty = 0;
  const void* key_ptr = key.empty() ? static_cast<const void*>(&empty) : key.data();
  const auto* data_ptr = data.empty() ? &empty : reinterpret_cast<const unsigned char*>(data.data());
  Digest mac;
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key_ptr, static_cast<int>(key.size()), data_ptr, data.size(), mac.data(),
            &len) ||
      len != kDigestBytes) {
    throw std::runtime_error("HMAC-SHA256 failed");
  }
  return {reinterpret_cast<const char*>(mac.data()), mac.size()};
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  // Comparing the common prefix even when the lengths differ keeps the time a
  // function of the lengths alone; the result is combined without branching on it.
  const std::size_t n = std::min(a.size(), b.size());
  const int diff = n == 0 ? 0 : CRYPTO_memcmp(a.data(), b.data(), n);
  return static_cast<bool>(static_cast<unsigned>(a.size() == b.size()) & static_cast<unsigned>(diff == 0));
}

// Tenant API keys are long random tokens, so a plain SHA-256 is enough: there is
// no low-entropy password to stretch, and lookups stay cheap on every request.
std::string hash_key(std::string_view key) { return sha256_hex(key); }

bool key_matches(std::string_view key, std::string_view stored_hash) noexcept {
  Digest digest;
  if (!sha256_into(key, digest)) return false;
  std::array<char, 2 * kDigestBytes> hex;
  hex_into(digest, hex);
  return constant_time_equal({hex.data(), hex.size()}, stored_hash);
}

}  // namespace tollgate::crypto
