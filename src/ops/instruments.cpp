// tollgate's families, declared once in the global registry, and the hot-path
// recorders with their per-thread label caches.
#include "tollgate/ops/instruments.hpp"

#include <dirent.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <unordered_map>

#include "tollgate/errors/error.hpp"
#include "tollgate/ops/metrics.hpp"

#ifndef TOLLGATE_VERSION
#define TOLLGATE_VERSION "0.1.0"
#endif

namespace tollgate::ops {
namespace {

struct Families {
  CounterFamily& requests;
  HistogramFamily& request_duration;
  CounterFamily& received_bytes;
  CounterFamily& sent_bytes;
  CounterFamily& errors;
  HistogramFamily& upstream_duration;
  CounterFamily& refreshes;
  CounterFamily& refresh_failures;
  HistogramFamily& store_duration;
  CounterFamily& store_errors;
};

std::string_view or_none(std::string_view v) { return v.empty() ? std::string_view("none") : v; }

// Bytes of resident memory, from /proc/self/statm (pages); -1 when unreadable.
double resident_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return -1;
  long size = 0, resident = 0;
  int n = std::fscanf(f, "%ld %ld", &size, &resident);
  std::fclose(f);
  if (n != 2) return -1;
  return static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE));
}

// Entries of /proc/self/fd, less the one opendir itself holds; -1 when unreadable.
double open_fds() {
  DIR* d = ::opendir("/proc/self/fd");
  if (!d) return -1;
  long count = 0;
  while (auto* e = ::readdir(d))
    if (e->d_name[0] != '.') ++count;
  ::closedir(d);
  return static_cast<double>(count - 1);
}

Families& families() {
  static Families* f = [] {
    auto& r = Registry::global();
    // "none" (no tenant or provider) and "admin" (the operator) never fold into "other".
    const LabelSpec provider{"provider", kMaxProviders, {"none"}};
    const LabelSpec tenant{"tenant", kMaxTenants, {"none", "admin"}};
    auto* out = new Families{
        r.counter(metric::http_requests,
                  "Requests answered, by provider (none for tollgate's own API), status class and tenant.",
                  {provider, {"status_class", 8}, tenant}),
        r.histogram(metric::http_request_duration,
                    "Time from a request's first byte to the end of its response, by provider.", {provider},
                    latency_buckets_seconds()),
        r.counter(metric::http_received_bytes, "Request bytes received (head and body), by provider.", {provider}),
        r.counter(metric::http_sent_bytes, "Response bytes sent (head and body), by provider.", {provider}),
        r.counter(metric::errors, "Errors tollgate itself answered (with Tollgate-Error), by code.",
                  {{"code", static_cast<std::size_t>(errors::kCodeCount) + 1}}),
        r.histogram(metric::upstream_duration,
                    "Time from sending a request upstream to the upstream's response head, by provider.",
                    {provider}, latency_buckets_seconds()),
        r.counter(metric::refreshes, "Token refreshes that got new tokens, by provider.", {provider}),
        r.counter(metric::refresh_failures, "Token refreshes that failed, by provider and reason.",
                  {provider, {"reason", 16}}),
        r.histogram(metric::store_duration, "Duration of store operations, by operation.", {{"operation", 64}},
                    latency_buckets_seconds()),
        r.counter(metric::store_errors, "Store operations that failed, by operation and error code.",
                  {{"operation", 64}, {"code", 8}}),
    };
    // Every code of the closed set is a series from the start, so a rate over it needs no special case.
    for (int i = 0; i < errors::kCodeCount; ++i) out->errors.with({errors::name(static_cast<errors::Code>(i))});

    r.gauge(metric::http_connections, "Open client connections.");
    r.gauge(metric::upstream_connections, "Upstream pool connections, by state (idle or active).", {"state"});
    r.gauge(metric::setup_sessions, "Setup sessions in the store, by status (refreshed every few seconds).",
            {"status"});
    r.gauge(metric::auth_configs, "Auth configs in the store, by status (refreshed every few seconds).", {"status"});
    r.gauge(metric::metering_pending_batches, "Metering batches recorded locally and not yet flushed to the store.");
    r.gauge(metric::metering_journal_bytes, "Bytes of the metering journal files.");
    r.gauge(metric::resident_memory, "Resident memory of the process, bytes.");
    r.gauge(metric::open_fds, "Open file descriptors of the process.");
    r.gauge(metric::start_time, "Start time of the process, seconds since the Unix epoch.");
    r.gauge(metric::build_info, "Always 1; the version label says which build runs.", {"version"});

    const double started =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    // Registrations that live as long as the process (the registry is never destroyed).
    static std::vector<GaugeRegistration> process_gauges;
    process_gauges.push_back(r.register_gauge_callback(metric::resident_memory, [](GaugeSink& s) {
      if (auto v = resident_bytes(); v >= 0) s.set({}, v);
    }));
    process_gauges.push_back(r.register_gauge_callback(metric::open_fds, [](GaugeSink& s) {
      if (auto v = open_fds(); v >= 0) s.set({}, v);
    }));
    process_gauges.push_back(
        r.register_gauge_callback(metric::start_time, [started](GaugeSink& s) { s.set({}, started); }));
    process_gauges.push_back(
        r.register_gauge_callback(metric::build_info, [](GaugeSink& s) { s.set({TOLLGATE_VERSION}, 1); }));
    return out;
  }();
  return *f;
}

struct KeyHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

// Label values → handles, per thread. The key is built in a reused buffer and
// looked up without a temporary string, so a hit allocates nothing. A thread
// that sees very many distinct raw values (folded into "other" by the
// registry) starts its cache over rather than growing without bound.
template <typename Entry>
class LabelCache {
 public:
  template <typename Make>
  const Entry& get(std::initializer_list<std::string_view> parts, Make&& make) {
    key_.clear();
    for (auto p : parts) {
      key_.append(p);
      key_.push_back('\x1f');
    }
    if (auto it = map_.find(std::string_view(key_)); it != map_.end()) return it->second;
    if (map_.size() >= 4096) map_.clear();
    return map_.emplace(key_, make()).first->second;
  }

 private:
  std::string key_;
  std::unordered_map<std::string, Entry, KeyHash, std::equal_to<>> map_;
};

struct RequestSeries {
  Counter requests;
  Histogram duration;
  Counter received, sent;
};

}  // namespace

void declare_tollgate_metrics() { (void)families(); }

std::string_view status_class(unsigned status) noexcept {
  switch (status / 100) {
    case 1: return "1xx";
    case 2: return "2xx";
    case 3: return "3xx";
    case 4: return "4xx";
    case 5: return "5xx";
    default: return "none";
  }
}

void record_request(const RequestRecord& r) noexcept {
  try {
    auto& f = families();
    thread_local LabelCache<RequestSeries> cache;
    auto provider = or_none(r.provider);
    auto klass = status_class(r.status);
    auto tenant = or_none(r.tenant);
    const auto& s = cache.get({provider, klass, tenant}, [&] {
      return RequestSeries{f.requests.with({provider, klass, tenant}), f.request_duration.with({provider}),
                           f.received_bytes.with({provider}), f.sent_bytes.with({provider})};
    });
    s.requests.inc();
    s.duration.observe(r.seconds);
    s.received.inc(r.bytes_in);
    s.sent.inc(r.bytes_out);
    if (!r.error_code.empty()) {
      thread_local LabelCache<Counter> errors_cache;
      errors_cache.get({r.error_code}, [&] { return f.errors.with({r.error_code}); }).inc();
    }
  } catch (...) {
    // Metrics never fail a request (only the first use of a series can throw: bad_alloc).
  }
}

void record_upstream_latency(std::string_view provider, double seconds) noexcept {
  try {
    thread_local LabelCache<Histogram> cache;
    provider = or_none(provider);
    cache.get({provider}, [&] { return families().upstream_duration.with({provider}); }).observe(seconds);
  } catch (...) {
  }
}

void record_refresh(std::string_view provider) noexcept {
  try {
    thread_local LabelCache<Counter> cache;
    provider = or_none(provider);
    cache.get({provider}, [&] { return families().refreshes.with({provider}); }).inc();
  } catch (...) {
  }
}

void record_refresh_failure(std::string_view provider, std::string_view reason) noexcept {
  try {
    thread_local LabelCache<Counter> cache;
    provider = or_none(provider);
    reason = or_none(reason);
    cache.get({provider, reason}, [&] { return families().refresh_failures.with({provider, reason}); }).inc();
  } catch (...) {
  }
}

void record_store_operation(std::string_view operation, double seconds, std::string_view error_code) noexcept {
  try {
    thread_local LabelCache<Histogram> cache;
    cache.get({operation}, [&] { return families().store_duration.with({operation}); }).observe(seconds);
    if (!error_code.empty()) {
      thread_local LabelCache<Counter> errors_cache;
      errors_cache.get({operation, error_code}, [&] { return families().store_errors.with({operation, error_code}); })
          .inc();
    }
  } catch (...) {
  }
}

}  // namespace tollgate::ops
