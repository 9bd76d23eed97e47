#include "tollgate/store/store.hpp"

namespace tollgate::store {

std::string_view to_string(Errc e) noexcept {
  switch (e) {
    case Errc::not_found: return "not_found";
    case Errc::conflict: return "conflict";
    case Errc::unavailable: return "unavailable";
    case Errc::corrupt: return "corrupt";
    case Errc::bad_cursor: return "bad_cursor";
  }
  return "unknown";
}

}  // namespace tollgate::store
