#pragma once
// How OAuth values are written on the wire: percent-encoding for URLs,
// application/x-www-form-urlencoded for bodies and client_secret_basic.
// Private to the oauth module.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tollgate::oauth::wire {

// RFC 3986: every byte but the unreserved A-Z a-z 0-9 - . _ ~ as %XX (upper-case hex).
std::string percent_encode(std::string_view text);

// application/x-www-form-urlencoded as RFC 6749 Appendix B uses it: unreserved bytes
// kept, space as '+', everything else %XX.
std::string form_encode(std::string_view text);

// The inverse of form_encode ('+' is a space); nullopt on a malformed %-escape.
std::optional<std::string> form_decode(std::string_view text);

using Fields = std::vector<std::pair<std::string, std::string>>;

// name=value&… with both form-encoded.
std::string form_body(const Fields& fields);

// name=value pairs of a form body, decoded; nullopt when an escape is malformed.
std::optional<Fields> parse_form(std::string_view body);

// RFC 6749 §2.3.1: "Basic " + base64(form_encode(id) ":" form_encode(secret)).
std::string basic_authorization(std::string_view client_id, std::string_view client_secret);

}  // namespace tollgate::oauth::wire
