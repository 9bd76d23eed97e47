#pragma once
// One relayed exchange on the wire: the request (head and streamed body) sent
// through the worker's pool, the response streamed back, with SPEC §5's time
// rules, the retry rule of DESIGN "Upstream pool", and memory bounded by one
// read buffer per direction however large a body is.
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "tollgate/http/exchange.hpp"
#include "tollgate/metering/meter.hpp"
#include "tollgate/relay/headers.hpp"
#include "tollgate/upstream/pool.hpp"

namespace tollgate::relay {

struct OutgoingRequest {
  upstream::Url url;        // where to; url.target is the origin-form target sent
  std::string base_target;  // url.target without a credential query parameter
  std::string method;
  Headers headers;    // already filtered, with the credential and Host; no framing headers
  // Idempotent by method or by an Idempotency-Key header: may be sent again on a
  // fresh connection when the first try failed before any response byte.
  bool retryable = false;
};

struct ForwardResult {
  bool forwarded = false;     // a request went upstream and an answer (or a failure after sending) came back
  bool counted = false;       // the call was recorded as a usage event
  unsigned status = 0;        // the upstream's status, when a response head arrived
  std::uint64_t request_bytes = 0;
  std::uint64_t response_bytes = 0;
  std::chrono::microseconds upstream_latency{0};  // request sent → response head
};

// The usage event of the call (SPEC §6): recorded once, when the response head
// is in hand and before it is written to the client — or, when the request went
// upstream and no head came back, with status 0 as the call is answered. The
// response bytes are added when the body ends. A call that never left (a
// refused connect) is not counted. `call`'s views must outlive forward().
struct Metered {
  metering::Meter* meter = nullptr;  // null: not metered
  metering::CallRecord call;
};

// The reactive refresh of SPEC §5: when the upstream answers one of `statuses`,
// `refresh` renews the credential and puts it into the request. Once per call:
// the request is then sent again when its whole body is held (up to
// relay.replay_limit), else the upstream's answer goes to the client; either
// way with `Tollgate-Refreshed: true`. A failed refresh is answered with its
// error (424 reauth_required, 502 refresh_failed …).
struct RefreshHook {
  const std::vector<int>* statuses = nullptr;  // null: no reactive refresh
  std::function<boost::asio::awaitable<std::optional<errors::Error>>(OutgoingRequest&)> refresh;
};

// Relays `request` for `ex` and answers the client (the upstream's response, or
// SPEC §4's 502/504). Never throws for I/O failures.
boost::asio::awaitable<ForwardResult> forward(http::Exchange& ex, upstream::Pool& pool, OutgoingRequest request,
                                              std::chrono::steady_clock::time_point deadline, Metered& metered,
                                              RefreshHook& hook);

}  // namespace tollgate::relay
