#include "tollgate/crypto/random.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
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
void append_base32(std::string& out, std::string_view bytes);

}  // namespace

std::string random_id(std::string_view prefix) { return base32_id(prefix, random_bytes(20)); }

std::string unique_id(std::string_view prefix) {
  // 12 random bytes per thread, then a counter: base32 of the first 10 never
  // changes on a thread, so it is encoded once per prefix; only the last 10
  // bytes (2 seed bytes and the counter) are encoded per id.
  thread_local const std::string seed = random_bytes(12);
  thread_local std::uint64_t counter = 0;
  thread_local std::string head_prefix, head;
  if (head.empty() || head_prefix != prefix) {
    head = base32_id(prefix, std::string_view(seed).substr(0, 10));
    head_prefix = prefix;
  }
  std::array<char, 10> tail{seed[10], seed[11]};
  const std::uint64_t n = ++counter;
  for (int i = 0; i < 8; ++i) tail[2 + i] = static_cast<char>(n >> (56 - 8 * i));
  std::string out;
  out.reserve(head.size() + 16);
  out = head;
  append_base32(out, {tail.data(), tail.size()});
  return out;
}

namespace {

std::string base32_id(std::string_view prefix, std::string_view bytes) {
  std::string out;
  out.reserve(prefix.size() + 1 + 32);
  out.append(prefix);
  out += '_';
  append_base32(out, bytes);
  return out;
}

// Lower-case RFC 4648 base32 without padding of `bytes` (a multiple of 5 long).
void append_base32(std::string& out, std::string_view bytes) {
  constexpr std::string_view alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  for (std::size_t i = 0; i + 5 <= bytes.size(); i += 5) {
    std::uint64_t group = 0;
    for (std::size_t j = 0; j < 5; ++j) group = group << 8 | static_cast<unsigned char>(bytes[i + j]);
    char chars[8];
    for (int k = 0; k < 8; ++k) chars[k] = alphabet[group >> (35 - 5 * k) & 0x1f];
    out.append(chars, 8);
  }
}

}  // namespace

std::string random_token(std::string_view prefix, std::size_t bytes) {
  std::string out(prefix);
  out += base64url_encode(random_bytes(bytes));
  return out;
}

}  // namespace tollgate::crypto
