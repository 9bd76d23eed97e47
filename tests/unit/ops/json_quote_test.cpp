#include <doctest/doctest.h>

#include <string>

#include "tollgate/errors/error.hpp"

namespace {

// JSON string escaping one byte at a time, as RFC 8259 §7 and the log format want it.
std::string reference(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"') out += "\\\"";
    else if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7f) out += std::string("\\u00") + kHex[c >> 4] + kHex[c & 0xf];
    else out.push_back(static_cast<char>(c));
  }
  return out + "\"";
}

}  // namespace

// append_json_quoted appends runs of plain bytes whole: every byte value must
// still be escaped right wherever it falls, at a run's start, middle or end.
TEST_CASE("json_quote escapes every byte value at every position") {
  int mismatches = 0;
  for (std::size_t length : {1u, 7u, 8u, 9u, 15u, 16u, 17u, 24u}) {
    for (std::size_t at = 0; at < length; ++at) {
      for (int b = 0; b < 256; ++b) {
        std::string text(length, 'a');
        text[at] = static_cast<char>(b);
        if (tollgate::errors::json_quote(text) != reference(text)) ++mismatches;
      }
    }
  }
  CHECK(mismatches == 0);
  CHECK(tollgate::errors::json_quote("plain text of more than eight bytes\x7f\"\\\x01 and more é") ==
        reference("plain text of more than eight bytes\x7f\"\\\x01 and more é"));
}
