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

}  // namespace tollgate::crypto
