#include "tollgate/crypto/hash.hpp"

#include <cstdint>
#include <cstring>

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
// The tenant key of every proxied call is hashed here. EVP_Digest with
// EVP_sha256() looks the algorithm up in the provider store (under a lock) and
// makes a context each time; fetched once and with a context per thread, a
// digest costs the hashing alone.
bool sha256_into(std::string_view data, Digest& out) noexcept {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  struct Context {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Context() { EVP_MD_CTX_free(ctx); }
  };
  thread_local Context context;
  unsigned int len = 0;
  EVP_MD_CTX* ctx = context.ctx;
  return md && ctx && EVP_DigestInit_ex2(ctx, md, nullptr) == 1 && EVP_DigestUpdate(ctx, data.data(), data.size()) == 1 &&
         EVP_DigestFinal_ex(ctx, out.data(), &len) == 1 && len == kDigestBytes;
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

std::string sha256_hex(std::string_view data) {
  Digest digest;
  if (!sha256_into(data, digest)) throw std::runtime_error("SHA-256 failed");
  std::array<char, 2 * kDigestBytes> hex;
  hex_into(digest, hex);
  return std::string(hex.data(), hex.size());
}

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
  // Eight bytes at a time (CRYPTO_memcmp goes byte by byte: 800 instructions
  // a call for a key and its hash). The empty asm keeps the compiler from
  // reasoning about the accumulator, so it cannot turn the loop into one that
  // stops at the first difference.
  const std::size_t n = std::min(a.size(), b.size());
  std::uint64_t diff = 0;
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t x = 0, y = 0;
    std::memcpy(&x, a.data() + i, 8);
    std::memcpy(&y, b.data() + i, 8);
    diff |= x ^ y;
    asm volatile("" : "+r"(diff));
  }
  for (; i < n; ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    asm volatile("" : "+r"(diff));
  }
  return static_cast<bool>(static_cast<unsigned>(a.size() == b.size()) & static_cast<unsigned>(diff == 0));
}

// Tenant API keys are long random tokens, so a plain SHA-256 is enough: there is
// no low-entropy password to stretch, and lookups stay cheap on every request.
std::string hash_key(std::string_view key) { return sha256_hex(key); }

const std::string& KeyHashMemo::hash(std::string_view key) {
  if (hash_.empty() || !constant_time_equal(key, key_)) {
    OPENSSL_cleanse(key_.data(), key_.size());
    key_.assign(key);
    hash_ = hash_key(key);
  }
  return hash_;
}

KeyHashMemo::~KeyHashMemo() { OPENSSL_cleanse(key_.data(), key_.size()); }

bool key_matches(std::string_view key, std::string_view stored_hash) noexcept {
  Digest digest;
  if (!sha256_into(key, digest)) return false;
  std::array<char, 2 * kDigestBytes> hex;
  hex_into(digest, hex);
  return constant_time_equal({hex.data(), hex.size()}, stored_hash);
}

}  // namespace tollgate::crypto
