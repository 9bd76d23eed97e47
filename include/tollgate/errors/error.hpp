#pragma once
// The closed set of error codes tollgate itself answers with (SPEC §4), in one
// place: every layer names an error by its Code; the HTTP status, the
// `Tollgate-Error` header and the JSON body all come from here.
#include <cstring>
#include <string>
#include <string_view>
#include <optional>

namespace tollgate::errors {

enum class Code {
  bad_request,
  unauthenticated,
  quota_exceeded,
  forbidden,
  not_found,
  provider_not_found,
  auth_config_not_found,
  setup_session_not_found,
  method_not_allowed,
  conflict,
  payload_too_large,
  uri_too_long,
  reauth_required,
  rate_limited,
  headers_too_large,
  internal,
  not_implemented,
  upstream_unreachable,
  refresh_failed,
  store_unavailable,
  upstream_timeout,
};

inline constexpr int kCodeCount = static_cast<int>(Code::upstream_timeout) + 1;

// The wire name, e.g. "reauth_required".
std::string_view name(Code code) noexcept;
// The HTTP status SPEC §4 assigns to the code.
int status(Code code) noexcept;
// The inverse of name(); nullopt for a name outside the closed set.
std::optional<Code> from_name(std::string_view name) noexcept;

// {"error":{"code":…,"message":…,"request_id":…}}
std::string json_body(Code code, std::string_view message, std::string_view request_id);

// A JSON string literal (with quotes) for any UTF-8 text; control characters escaped.
std::string json_quote(std::string_view text);
// The same, appended to `out` (no allocation of its own on a hot path).
void append_json_quoted(std::string& out, std::string_view text);
// The most bytes write_json_quoted writes for a text of n bytes (every byte
// a \u00XX escape, and the quotes).
constexpr std::size_t json_quoted_bound(std::size_t n) noexcept { return 6 * n + 2; }
// json_quote() into `out`, which has room for json_quoted_bound(text.size())
// bytes; returns the end of what it wrote. For builders that reserve once.
char* write_json_quoted(char* out, std::string_view text) noexcept;
// `text` as it is into `out`, which has room for it; returns the end. The
// other half of such builders.
inline char* write_raw(char* out, std::string_view text) noexcept {
  std::memcpy(out, text.data(), text.size());
  return out + text.size();
}

// An error as a value: what a data-path function returns instead of throwing.
struct Error {
  Code code;
  std::string message;
};

}  // namespace tollgate::errors
