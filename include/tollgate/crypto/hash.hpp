#pragma once
#include <string>
#include <string_view>

namespace tollgate::crypto {

std::string sha256(std::string_view data);      // 32 raw bytes
std::string sha256_hex(std::string_view data);  // 64 lower-case hex characters
std::string hmac_sha256(std::string_view key, std::string_view data);  // 32 raw bytes

// Compares in time that depends only on the lengths, never on the contents.
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

// How tenant API keys and other bearer credentials are stored: a hash, never
// the key. hash_key is SHA-256 hex; key_matches compares in constant time.
std::string hash_key(std::string_view key);
bool key_matches(std::string_view key, std::string_view stored_hash) noexcept;

// hash_key of the last key one client connection sent: a keep-alive client
// sends the same key on every call, and hashing it is most of what checking it
// costs. The key is held wiped-on-release like any Secret, only as long as the
// connection (whose buffer holds it anyway), and compared in constant time.
class KeyHashMemo {
 public:
  KeyHashMemo() = default;
  KeyHashMemo(const KeyHashMemo&) = delete;
  KeyHashMemo& operator=(const KeyHashMemo&) = delete;
  ~KeyHashMemo();
  const std::string& hash(std::string_view key);

 private:
  std::string key_, hash_;
};

}  // namespace tollgate::crypto
