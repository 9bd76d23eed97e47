#pragma once
// Checks of a request head made on its raw bytes, before Beast parses it.
// Beast 1.81 accepts ambiguous framing (TE with CL, TE not ending in chunked,
// obs-fold it silently unfolds, missing or repeated Host), so tollgate decides
// these itself (SPEC §5 "Safety"). Pure functions: unit-tested without sockets.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tollgate/errors/error.hpp"

namespace tollgate::http {

struct HeadProblem {
  errors::Code code;
  std::string message;
};

// `head` is the request line and header fields up to and including the empty
// line (CRLF CRLF). Returns the first problem found, or nullopt.
std::optional<HeadProblem> check_head(std::string_view head, std::uint64_t max_uri_bytes);

// Where the head ends (the index just past CRLF CRLF), or npos.
std::size_t find_head_end(std::string_view bytes, std::size_t from = 0) noexcept;

}  // namespace tollgate::http
