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

std::string random_id(std::string_view prefix) {
  // 20 bytes are exactly 32 base32 characters, so there is no padding and every
  // character carries a full 5 bits.
  constexpr std::string_view alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  const std::string bytes = random_bytes(20);
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

std::string random_token(std::string_view prefix, std::size_t bytes) {
  std::string out(prefix);
  out += base64url_encode(random_bytes(bytes));
  return out;
}

}  // namespace tollgate::crypto
