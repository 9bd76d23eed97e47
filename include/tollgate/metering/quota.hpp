#pragma once
// Quotas and rate limits (SPEC §6) decided before a call is forwarded.
//
// Monthly quota: the calls the store holds for the tenant's UTC month (read
// after each metering flush) plus the calls this process admitted since.
// Rate limit: a token bucket per tenant of `burst` tokens (when burst is 0:
// one second's worth, at least 1) refilled at rate_per_second, kept by the
// store (Redis: shared by every instance; SQLite: this process's memory) and
// leased in blocks, so most calls take a token from a local pool with no
// store round trip. The README's "Quotas and rate limits" has the exact rules.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "tollgate/config/config.hpp"
#include "tollgate/store/records.hpp"

namespace tollgate::store {
class Store;
}

namespace tollgate::metering {

struct Admission {
  enum class Verdict { admitted, quota_exceeded, rate_limited };
  Verdict verdict = Verdict::admitted;
  // rate_limited: when a token will be there, in whole seconds (at least 1),
  // for Retry-After; quota_exceeded: until the next UTC month begins.
  std::chrono::seconds retry_after{0};
  bool admitted() const { return verdict == Verdict::admitted; }
};

// quotas.default with the tenant's overrides (an unset override keeps the default).
config::Quota effective_quota(const config::Quota& defaults, const store::QuotaOverride& overrides);
// The bucket's size: burst, or when burst is 0 one second's worth (at least 1).
std::uint64_t bucket_capacity(const config::Quota& quota);
// Tokens leased at a time: an eighth of the bucket, at least 1, at most 1000.
std::uint64_t lease_block(std::uint64_t capacity);

class QuotaGate {
 public:
  explicit QuotaGate(store::Store& store);
  ~QuotaGate();
  QuotaGate(const QuotaGate&) = delete;
  QuotaGate& operator=(const QuotaGate&) = delete;

  // Decides one call of `tenant_id` under `defaults` (quotas.default of the
  // config in force) and the tenant's overrides (read from the store on its
  // first call and after each flush). Suspends only to read the store: a
  // tenant's first call, and a lease when its local pool is empty. When the
  // store cannot answer, admits (the relay keeps serving; SPEC §5) with a
  // local bucket for the rate.
  boost::asio::awaitable<Admission> admit(std::string tenant_id, config::Quota defaults, store::Millis now_ms);
  // admit's decision as a plain function when it needs no store (the tenant's
  // overrides loaded, no token lease due): the hot path's steady state. nullopt,
  // with nothing reserved, when admit must run.
  std::optional<Admission> try_admit(const std::string& tenant_id, const config::Quota& defaults,
                                     store::Millis now_ms);

  // For Meter::observe_flushes: before() marks what was admitted before the
  // flush; after() reads the store's counts (and the tenants' overrides) and
  // keeps only the admissions made since the mark.
  void before_flush();
  boost::asio::awaitable<void> after_flush();

  // Exact counting with the meter: `flushed_calls(tenant)` is how many of this
  // process's calls of the tenant the meter has put in the store so far
  // (Meter::flushed_calls). After a flush the gate then keeps exactly the
  // admissions not yet in the store — a call admitted but still on its way to
  // the journal is not lost from the count. Without it, after() keeps the
  // admissions since the mark (exact only if every earlier admission was in the batch).
  void count_flushed_with(std::function<std::uint64_t(std::string_view tenant_id)> flushed_calls);
  // An admitted call that was not forwarded after all (so not counted): it no
  // longer counts against the month.
  void release(std::string_view tenant_id);

  // The calls counted against the tenant's current month, as this gate sees them.
  std::uint64_t month_calls(std::string_view tenant_id) const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tollgate::metering
