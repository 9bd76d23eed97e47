#pragma once
// The bytes of a relayed exchange that tollgate writes or judges itself: the
// request head sent upstream, and the upstream's response head, checked on its
// raw bytes before Beast parses it (Beast unfolds obs-fold and accepts
// ambiguous framing; DESIGN "Beast is permissive"). Pure functions, no I/O.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tollgate/relay/headers.hpp"

namespace tollgate::relay {

// "METHOD target HTTP/1.1\r\n" + "Name: value\r\n" for each header + "\r\n".
// The caller has checked every part (method token, target, header values).
std::string request_head(std::string_view method, std::string_view target, const Headers& headers);

// A field of a response head: views into the head's bytes, the value without
// surrounding whitespace.
using FieldView = std::pair<std::string_view, std::string_view>;

// Checks an upstream response head (status line and fields up to and including
// CRLF CRLF). nullopt when it may be relayed; otherwise what is wrong with its
// framing, for the 502 message: obs-fold, a field line without a name, control
// characters, differing or malformed Content-Length values, Transfer-Encoding
// together with Content-Length, or a Transfer-Encoding other than `chunked`.
// When `fields` is given, the head's fields are appended to it as they are
// checked (so the caller need not walk the head again).
std::optional<std::string> check_response_head(std::string_view head, std::vector<FieldView>* fields = nullptr);

}  // namespace tollgate::relay
