#include "tollgate/upstream/error.hpp"

namespace tollgate::upstream {

std::string_view to_string(Failure failure) noexcept {
  switch (failure) {
    case Failure::bad_url: return "bad_url";
    case Failure::bad_request: return "bad_request";
    case Failure::resolve_failed: return "resolve_failed";
    case Failure::connect_failed: return "connect_failed";
    case Failure::tls_failed: return "tls_failed";
    case Failure::connect_timeout: return "connect_timeout";
    case Failure::first_byte_timeout: return "first_byte_timeout";
    case Failure::idle_timeout: return "idle_timeout";
    case Failure::connection_lost: return "connection_lost";
    case Failure::protocol_error: return "protocol_error";
    case Failure::response_too_large: return "response_too_large";
  }
  return "unknown";
}

errors::Code to_code(const Error& error) noexcept {
  switch (error.failure) {
    case Failure::connect_timeout:
    case Failure::first_byte_timeout:
    case Failure::idle_timeout:
      return errors::Code::upstream_timeout;
    default:
      return errors::Code::upstream_unreachable;
  }
}

}  // namespace tollgate::upstream
