#include "tollgate/crypto/encoding.hpp"

#include <array>
#include <cstdint>

namespace tollgate::crypto {
namespace {

constexpr std::string_view kStandard =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kUrlSafe =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::uint8_t kInvalid = 0xff;

constexpr std::array<std::uint8_t, 256> reverse_table(std::string_view alphabet) {
  std::array<std::uint8_t, 256> table{};
  table.fill(kInvalid);
  for (std::size_t i = 0; i < alphabet.size(); ++i) {
    table[static_cast<unsigned char>(alphabet[i])] = static_cast<std::uint8_t>(i);
  }
  return table;
}

constexpr auto kStandardReverse = reverse_table(kStandard);
constexpr auto kUrlSafeReverse = reverse_table(kUrlSafe);

std::string encode(std::string_view bytes, std::string_view alphabet, bool pad) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t group = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16 |
                                static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8 |
                                static_cast<unsigned char>(bytes[i + 2]);
    out += alphabet[group >> 18 & 0x3f];
    out += alphabet[group >> 12 & 0x3f];
    out += alphabet[group >> 6 & 0x3f];
    out += alphabet[group & 0x3f];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 0) return out;
  std::uint32_t group = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
  if (rest == 2) group |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
  out += alphabet[group >> 18 & 0x3f];
  out += alphabet[group >> 12 & 0x3f];
  if (rest == 2) out += alphabet[group >> 6 & 0x3f];
  if (pad) out.append(3 - rest, '=');
  return out;
}

// Decodes unpadded text. Rejects a dangling single character and non-zero
// leftover bits, so that every byte string has exactly one accepted encoding
// (a value that compares or hashes differently but decodes the same is a trap).
std::optional<std::string> decode_unpadded(std::string_view text,
                                           const std::array<std::uint8_t, 256>& table) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3 + 2);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const std::uint8_t v = table[static_cast<unsigned char>(c)];
    if (v == kInvalid) return std::nullopt;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>(acc >> bits & 0xff);
    }
  }
  if ((acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

// Strips correct padding (a multiple of 4 characters, at most two '=' at the
// end); anything else is nullopt.
std::optional<std::string_view> strip_padding(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::size_t pad = 0;
  while (pad < 2 && pad < text.size() && text[text.size() - 1 - pad] == '=') ++pad;
  text.remove_suffix(pad);
  // A third '=' (or "x===") is left in place and rejected as an invalid character.
  return text;
}

}  // namespace

std::string base64_encode(std::string_view bytes) { return encode(bytes, kStandard, true); }

std::optional<std::string> base64_decode(std::string_view text) {
  const auto body = strip_padding(text);
  if (!body) return std::nullopt;
  return decode_unpadded(*body, kStandardReverse);
}

std::string base64url_encode(std::string_view bytes) { return encode(bytes, kUrlSafe, false); }

std::optional<std::string> base64url_decode(std::string_view text) {
  if (text.find('=') == std::string_view::npos) return decode_unpadded(text, kUrlSafeReverse);
  const auto body = strip_padding(text);
  if (!body) return std::nullopt;
  return decode_unpadded(*body, kUrlSafeReverse);
}

std::string hex_encode(std::string_view bytes) {
  constexpr std::string_view digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out += digits[b >> 4];
    out += digits[b & 0x0f];
  }
  return out;
}

std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0x0f];
    }
  }
  return out;
}

}  // namespace tollgate::crypto
