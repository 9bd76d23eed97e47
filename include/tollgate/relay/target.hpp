#pragma once
// The request-target rules of SPEC §5 "Safety" for the part of a relay call
// after `/v1/proxy/{provider}/`, and how it is joined to the provider's base
// path. Beast passes absolute-form, `//host`, `\` and `..` targets through
// (DESIGN "Beast is permissive"), so the relay checks the bytes itself.
// Pure functions: no I/O, no decoding of what is forwarded.
#include <optional>
#include <string>
#include <string_view>

#include "tollgate/errors/error.hpp"

namespace tollgate::relay {

// Checks `path_and_query` (the upstream path plus an optional `?query`, as it
// arrived on the wire, still percent-encoded). nullopt when it may be forwarded
// as is; otherwise a `bad_request` error whose message names the class of
// problem (never the offending text). Refused:
//  - absolute-form or scheme-relative (`http://host/…`, `//host`, a leading `/`);
//  - a `.` or `..` path segment, literal or with `%2e`/`%2E` in any mix; also
//    when the segment is hidden behind an encoded slash (`a%2F..%2Fb`), since
//    an upstream that decodes `%2F` would see it as a segment;
//  - `\` or `%5C` anywhere;
//  - a control character (0x00–0x1F, 0x7F), literal or percent-encoded, anywhere;
//  - an invalid percent-escape (`%zz`, `%4`);
//  - any other byte outside RFC 3986 path/query characters (space, `"`, `<`,
//    `>`, `#`, `[`, `]`, `{`, `}`, `|`, `^`, backtick, non-ASCII bytes).
// `%2F` is allowed and is forwarded undecoded.
std::optional<errors::Error> check_proxy_path(std::string_view path_and_query);

// The origin-form target sent upstream: `base_path` (the path of api.base_url:
// "", "/", "/api/v2" or "/api/v2/") and `path_and_query` joined by exactly one
// `/`, the query kept byte for byte. Always starts with `/`.
std::string upstream_target(std::string_view base_path, std::string_view path_and_query);

}  // namespace tollgate::relay
