#pragma once
// The request head, checked and parsed on its raw bytes by tollgate itself.
// Beast 1.81 accepts ambiguous framing (TE with CL, TE not ending in chunked,
// obs-fold it silently unfolds, missing or repeated Host), so tollgate decides
// these itself (SPEC §5 "Safety"); and the head it keeps is a list of views into
// one copy of the bytes, not Beast's sorted, allocated field set, which cost more
// than the rest of reading a request. Pure functions: unit-tested without sockets.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tollgate/errors/error.hpp"

namespace tollgate::http {

struct HeadProblem {
  errors::Code code;
  std::string message;
};

// A request head that passed the checks: the request line's parts and the
// fields in the order sent, as views into the head's own copy of the bytes.
class RequestHead {
 public:
  using Field = std::pair<std::string_view, std::string_view>;  // name as sent, value without OWS

  std::string_view method() const noexcept { return method_; }
  std::string_view target() const noexcept { return target_; }
  unsigned version() const noexcept { return version_; }  // 10 or 11
  const std::vector<Field>& fields() const noexcept { return fields_; }
  auto begin() const noexcept { return fields_.begin(); }
  auto end() const noexcept { return fields_.end(); }
  // The first field of that name (case-insensitive), or "" when there is none.
  std::string_view operator[](std::string_view name) const noexcept;
  // RFC 9112 §9.3: HTTP/1.1 persists unless Connection lists close; HTTP/1.0
  // only when it lists keep-alive (and not close).
  bool keep_alive() const noexcept { return keep_alive_; }
  std::optional<std::uint64_t> content_length() const noexcept { return content_length_; }
  bool chunked() const noexcept { return chunked_; }
  // The head as received (request line to the empty line).
  std::string_view raw() const noexcept { return raw_; }

 private:
  friend std::optional<HeadProblem> parse_head(std::string_view, std::uint64_t, RequestHead&);
  std::string raw_;
  std::string_view method_, target_;
  unsigned version_ = 11;
  std::vector<Field> fields_;
  std::optional<std::uint64_t> content_length_;
  bool chunked_ = false;
  bool keep_alive_ = true;
};

// `head` is the request line and header fields up to and including the empty
// line (CRLF CRLF). Returns the first problem found, or nullopt and `out`
// holding the parsed head (its storage is reused, so a connection's heads
// after the first allocate nothing).
std::optional<HeadProblem> parse_head(std::string_view head, std::uint64_t max_uri_bytes, RequestHead& out);
// The same checks without keeping the result.
std::optional<HeadProblem> check_head(std::string_view head, std::uint64_t max_uri_bytes);

// Where the head ends (the index just past CRLF CRLF), or npos.
std::size_t find_head_end(std::string_view bytes, std::size_t from = 0) noexcept;

}  // namespace tollgate::http
