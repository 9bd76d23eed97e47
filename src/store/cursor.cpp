#include "cursor.hpp"

#include <charconv>

#include "tollgate/crypto/encoding.hpp"

namespace tollgate::store {

std::string encode_cursor(const CursorPosition& last) {
  return crypto::base64url_encode(std::to_string(last.created_at) + ":" + last.id);
}

std::optional<CursorPosition> decode_cursor(std::string_view cursor) {
  // Only the canonical, unpadded form: a cursor is never typed by hand.
  if (cursor.empty() || cursor.find('=') != std::string_view::npos) return std::nullopt;
  const auto text = crypto::base64url_decode(cursor);
  if (!text) return std::nullopt;
  const auto colon = text->find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text->size()) return std::nullopt;
  CursorPosition out;
  const char* first = text->data();
  const char* last = text->data() + colon;
  const auto [end, ec] = std::from_chars(first, last, out.created_at);
  if (ec != std::errc{} || end != last) return std::nullopt;
  out.id = text->substr(colon + 1);
  return out;
}

}  // namespace tollgate::store
