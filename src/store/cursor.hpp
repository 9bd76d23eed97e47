#pragma once
// List cursors: the (created_at, id) of the last item of a page, which the
// next page starts after. Opaque to callers: base64url (no padding) of
// "<created_at decimal>:<id>". Shared by every backend.
#include <optional>
#include <string>
#include <string_view>

#include "tollgate/store/records.hpp"

namespace tollgate::store {

struct CursorPosition {
  Millis created_at = 0;
  std::string id;
};

std::string encode_cursor(const CursorPosition& last);
// nullopt for anything encode_cursor cannot have produced (the caller answers bad_cursor).
std::optional<CursorPosition> decode_cursor(std::string_view cursor);

}  // namespace tollgate::store
