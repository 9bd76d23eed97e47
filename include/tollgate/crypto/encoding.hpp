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

}  // namespace tollgate::crypto
