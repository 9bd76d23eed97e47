#include "tollgate/crypto/random.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <stdexcept>

#include "tollgate/crypto/encoding.hpp"

namespace tollgate::crypto {

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  // RAND_bytes takes an int count.
  for (std::size_t done = 0; done < n;) {
    const std::size_t chunk = std::min<std::size_t>(n - done, INT_MAX);
    if (RAND_bytes(p + done, static_cast<int>(chunk)) != 1) {
      throw std::runtime_error("the random number generator failed");
    }
    done += chunk;
  }
  return out;
}

namespace {

// 20 bytes are exactly 32 base32 characters, so there is no padding and every
// character carries a full 5 bits.
std::string base32_id(std::string_view prefix, std::string_view bytes);

}  // namespace

std::string random_id(std::string_view prefix) { return base32_id(prefix, random_bytes(20)); }

std::string unique_id(std::string_view prefix) {
  thread_local std::string seed = random_bytes(12);
  thread_local std::uint64_t counter = 0;
  std::string bytes = seed;
  std::uint64_t n = ++counter;
  for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<char>(n >> (56 - 8 * i)));
  return base32_id(prefix, bytes);
}

namespace {

std::string base32_id(std::string_view prefix, std::string_view bytes) {
  constexpr std::string_view alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  std::string out;
  out.reserve(prefix.size() + 1 + 32);
  out.append(prefix);
  out += '_';
  for (std::size_t i = 0; i < bytes.size(); i += 5) {
    std::uint64_t group = 0;
    for (std::size_t j = 0; j < 5; ++j) group = group << 8 | static_cast<unsigned char>(bytes[i + j]);
    for (int shift = 35; shift >= 0; shift -= 5) out += alphabet[group >> shift & 0x1f];
  }
  return out;
}

}  // namespace

std::string random_token(std::string_view prefix, std::size_t bytes) {
  std::string out(prefix);
  out += base64url_encode(random_bytes(bytes));
  return out;
}

}  // namespace tollgate::crypto
