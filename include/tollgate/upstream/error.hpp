#pragma once
// How an upstream call failed, in the terms its callers decide on: the refresh
// logic retries a request that never left us, but never one whose answer was
// lost after it was sent (the provider may already have acted on it).
#include <string>
#include <string_view>

#include "tollgate/errors/error.hpp"

namespace tollgate::upstream {

enum class Failure {
  bad_url,             // not an absolute http(s) URL, has userinfo, or a bad port
  bad_request,         // a method or header that is not valid HTTP; nothing was sent
  resolve_failed,      // the host name does not resolve
  connect_failed,      // every resolved address refused or could not be reached
  tls_failed,          // the TLS handshake or the certificate check failed
  connect_timeout,     // resolve + connect + TLS handshake took longer than Options::connect
  first_byte_timeout,  // no response byte within Options::first_byte of sending the request
  idle_timeout,        // the request write or a response read stalled longer than Options::idle
  connection_lost,     // closed or reset before a complete response
  protocol_error,      // the response is not valid HTTP/1.1
  response_too_large,  // a response head over 64 KiB or a body over Options::max_response_bytes
};

struct Error {
  Failure failure;
  // The whole request left us, so the upstream may have acted on it.
  bool request_sent = false;
  // Names the method, scheme, host, port and path at most: never a query,
  // a header value or a body (they carry secrets).
  std::string message;
};

// The enumerator's name, e.g. "first_byte_timeout".
std::string_view to_string(Failure failure) noexcept;

// The SPEC §4 code a failure answers with: timeouts are upstream_timeout (504),
// the rest upstream_unreachable (502).
errors::Code to_code(const Error& error) noexcept;

}  // namespace tollgate::upstream
