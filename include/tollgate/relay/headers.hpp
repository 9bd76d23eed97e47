#pragma once
// The header rules of SPEC §5 "Safety" on a plain (name, value) list, in the
// order received. Names compare case-insensitively. Pure functions, no I/O.
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tollgate::relay {

using Headers = std::vector<std::pair<std::string, std::string>>;

// Connection, Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding,
// Upgrade, Proxy-Authenticate, Proxy-Authorization (any case).
bool is_hop_by_hop(std::string_view name);

// The field names a `Connection` value lists (comma-separated, optional
// whitespace trimmed, empty elements skipped), lowercased.
std::vector<std::string> connection_listed(std::string_view connection_value);
// Whether `name` is one of the `listed` tokens, in any case.
bool listed_in(std::span<const std::string> listed, std::string_view name);

// The rules of the two filters below for one field, for callers that walk a
// message's fields without copying them: `listed` is connection_listed() of
// every Connection field of that message.
bool request_header_dropped(std::string_view name, std::span<const std::string> listed);
bool response_header_dropped(std::string_view name, std::span<const std::string> listed);

// Client → upstream: drops hop-by-hop headers, those named in any `Connection`
// header, `Authorization`, `Cookie`, `Tollgate-*`, `Forwarded`,
// `X-Forwarded-*`, `Host` and `Content-Length` (the relay sets those), and
// `Expect` (the relay answers `100-continue` itself and sends the body whole).
Headers filter_request_headers(const Headers& in);

// Upstream → client: drops hop-by-hop headers, those named in any `Connection`
// header, and `Content-Length` (framing is the server's job); everything else
// (Set-Cookie, Retry-After, Location, …) is kept as is.
Headers filter_response_headers(const Headers& in);

// The `X-Forwarded-For` value tollgate sends: the peer address alone (the
// client's own X-Forwarded-For is never forwarded). IPv6 brackets are removed;
// anything that cannot be part of an IP address is dropped.
std::string x_forwarded_for(std::string_view client_ip);

}  // namespace tollgate::relay
