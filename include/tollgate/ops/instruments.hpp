#pragma once
// tollgate's own metric families (the README's "Metrics" lists them) and the
// calls that record into them. Every family is declared in the global registry
// the first time anything here is used (and by declare_tollgate_metrics(), which
// serve calls at start), so /metrics names all of them from the first scrape,
// with zero or no samples until traffic arrives.
//
// The record_* functions are for hot paths: each keeps a per-thread cache from
// label values to series handles, so a call in the steady state takes no lock
// and allocates nothing.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tollgate::ops {

namespace metric {
// Counters (_total) and histograms (_seconds) recorded through the functions below.
inline constexpr std::string_view http_requests = "tollgate_http_requests_total";                   // provider, status_class, tenant
inline constexpr std::string_view http_request_duration = "tollgate_http_request_duration_seconds";  // provider
inline constexpr std::string_view http_received_bytes = "tollgate_http_received_bytes_total";        // provider
inline constexpr std::string_view http_sent_bytes = "tollgate_http_sent_bytes_total";                // provider
inline constexpr std::string_view errors = "tollgate_errors_total";                                  // code
inline constexpr std::string_view upstream_duration = "tollgate_upstream_request_duration_seconds";  // provider
inline constexpr std::string_view refreshes = "tollgate_token_refreshes_total";                      // provider
inline constexpr std::string_view refresh_failures = "tollgate_token_refresh_failures_total";        // provider, reason
inline constexpr std::string_view store_duration = "tollgate_store_operation_duration_seconds";      // operation
inline constexpr std::string_view store_errors = "tollgate_store_errors_total";                      // operation, code
// Gauges, computed at scrape by callbacks (register_gauge_callback).
inline constexpr std::string_view http_connections = "tollgate_http_connections";                    // (none)
inline constexpr std::string_view upstream_connections = "tollgate_upstream_pool_connections";        // state: idle|active
inline constexpr std::string_view setup_sessions = "tollgate_setup_sessions";                        // status
inline constexpr std::string_view auth_configs = "tollgate_auth_configs";                            // status
inline constexpr std::string_view metering_pending_batches = "tollgate_metering_pending_batches";    // (none)
inline constexpr std::string_view metering_journal_bytes = "tollgate_metering_journal_bytes";        // (none)
inline constexpr std::string_view resident_memory = "tollgate_process_resident_memory_bytes";        // (none)
inline constexpr std::string_view open_fds = "tollgate_process_open_fds";                            // (none)
inline constexpr std::string_view start_time = "tollgate_process_start_time_seconds";                // (none)
inline constexpr std::string_view build_info = "tollgate_build_info";                                // version
}  // namespace metric

// How many distinct values a label keeps before folding the rest into "other".
inline constexpr std::size_t kMaxTenants = 50;
inline constexpr std::size_t kMaxProviders = 100;

// Declares every family above in Registry::global() and registers the process
// gauges (RSS, open fds, start time, build info). Idempotent.
void declare_tollgate_metrics();

// One request as the http server's log line sees it. Empty tenant or provider
// is recorded as "none"; `error_code` is empty unless tollgate made the error.
struct RequestRecord {
  std::string_view tenant;
  std::string_view provider;
  unsigned status = 0;         // 0: no response was sent
  std::string_view error_code; // errors::name(code) of a Tollgate-Error
  double seconds = 0;          // from the first byte of the head to the end of the response
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
};
void record_request(const RequestRecord& request) noexcept;

// The relay: time from sending the request upstream to the upstream's response head.
void record_upstream_latency(std::string_view provider, double seconds) noexcept;
// The refresh coordinator: one refresh grant that got new tokens, or one that
// failed. `reason` is a short fixed word (invalid_grant, unreachable, rejected,
// lost, …) — never text from the provider.
void record_refresh(std::string_view provider) noexcept;
void record_refresh_failure(std::string_view provider, std::string_view reason) noexcept;
// The store decorator: one operation, its duration and, when it failed, the
// store::Errc name.
void record_store_operation(std::string_view operation, double seconds, std::string_view error_code) noexcept;

// "2xx" for 200…299 etc.; "none" for 0 (no response).
std::string_view status_class(unsigned status) noexcept;

}  // namespace tollgate::ops
