#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace tollgate::crypto {

std::string base64_encode(std::string_view bytes);                   // standard alphabet, padded
std::optional<std::string> base64_decode(std::string_view text);     // strict: nullopt on any bad char/padding
std::string base64url_encode(std::string_view bytes);                // RFC 4648 §5, no padding
std::optional<std::string> base64url_decode(std::string_view text);  // accepts with or without padding
std::string hex_encode(std::string_view bytes);                      // lower case
// RFC 3986: every byte but the unreserved A-Z a-z 0-9 - . _ ~ as %XX (upper-case hex),
// so a value can be one path segment or query value.
std::string percent_encode(std::string_view text);

}  // namespace tollgate::crypto
