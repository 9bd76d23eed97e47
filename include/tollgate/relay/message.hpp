#pragma once
// The bytes of a relayed exchange that tollgate writes or judges itself: the
// request head sent upstream, and the upstream's response head, checked on its
// raw bytes before Beast parses it (Beast unfolds obs-fold and accepts
// ambiguous framing; DESIGN "Beast is permissive"). Pure functions, no I/O.
#include <optional>
#include <string>
#include <string_view>

#include "tollgate/http/field_syntax.hpp"
#include "tollgate/relay/headers.hpp"

namespace tollgate::relay {

// "METHOD target HTTP/1.1\r\n" + "Name: value\r\n" for each header + "\r\n".
// The caller has checked every part (method token, target, header values).
std::string request_head(std::string_view method, std::string_view target, const Headers& headers);

// Checks an upstream response head (status line and fields up to and including
// CRLF CRLF). nullopt when it may be relayed; otherwise what is wrong with its
// framing, for the 502 message: obs-fold, a field line without a name, control
// characters, differing or malformed Content-Length values, Transfer-Encoding
// together with Content-Length, or a Transfer-Encoding other than `chunked`.
std::optional<std::string> check_response_head(std::string_view head);

// Calls fn(name, value) for each field line of a head that check_response_head
// accepted (the value without surrounding whitespace), in order.
template <typename F>
void for_each_field(std::string_view head, F&& fn) {
  std::size_t pos = head.find("\r\n");
  if (pos == std::string_view::npos) return;
  pos += 2;
  while (pos < head.size()) {
    const auto end = head.find("\r\n", pos);
    if (end == std::string_view::npos || end == pos) return;
    const std::string_view line = head.substr(pos, end - pos);
    const auto colon = line.find(':');
    fn(line.substr(0, colon), http::trim_ows(line.substr(colon + 1)));
    pos = end + 2;
  }
}

}  // namespace tollgate::relay
