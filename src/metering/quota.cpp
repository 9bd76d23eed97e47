#include "tollgate/metering/quota.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <vector>

#include "tollgate/metering/days.hpp"
#include "tollgate/ops/log.hpp"
#include "tollgate/store/store.hpp"

namespace tollgate::metering {

namespace {

constexpr store::Millis kDayMs = 86'400'000;
// A tenant not seen for this long is forgotten (its state is read again on its next call).
constexpr auto kIdle = std::chrono::hours(1);

std::chrono::seconds whole_seconds(store::Millis ms) {
  return std::chrono::seconds(std::max<store::Millis>(1, (ms + 999) / 1000));
}

}  // namespace

config::Quota effective_quota(const config::Quota& defaults, const store::QuotaOverride& overrides) {
  config::Quota q = defaults;
  if (overrides.monthly_calls) q.monthly_calls = *overrides.monthly_calls;
  if (overrides.rate_per_second) q.rate_per_second = *overrides.rate_per_second;
  if (overrides.burst) q.burst = *overrides.burst;
  return q;
}

std::uint64_t bucket_capacity(const config::Quota& quota) {
  if (quota.burst > 0) return quota.burst;
  return std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(quota.rate_per_second)));
}

std::uint64_t lease_block(std::uint64_t capacity) { return std::clamp<std::uint64_t>(capacity / 8, 1, 1000); }

class QuotaGate::Impl {
 public:
  explicit Impl(store::Store& store) : store_(store) {}

  struct Tenant {
    std::mutex m;
    bool loaded = false;
    store::QuotaOverride overrides;
    store::Day month = 0;          // the first day of the month base and since count
    std::uint64_t base = 0;        // the store's calls of that month at the last read
    std::uint64_t since = 0;       // admitted since that read's mark
    std::uint64_t marked = 0;      // `since` when before_flush() ran
    std::uint64_t flushed_seen = 0;  // flushed_calls() of the tenant when `base` was read
    std::uint64_t tokens = 0;      // leased from the store's bucket, not spent yet
    bool leasing = false;          // a block lease is in flight
    double local_tokens = -1;      // the fallback bucket while the store cannot lease (-1: full)
    std::chrono::steady_clock::time_point local_at{};
    std::chrono::steady_clock::time_point seen{};
  };

  std::shared_ptr<Tenant> tenant(const std::string& id) {
    std::lock_guard lock(mutex_);
    auto& t = tenants_[id];
    if (!t) t = std::make_shared<Tenant>();
    t->seen = std::chrono::steady_clock::now();
    return t;
  }

  std::vector<std::pair<std::string, std::shared_ptr<Tenant>>> active() {
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    std::vector<std::pair<std::string, std::shared_ptr<Tenant>>> out;
    for (auto it = tenants_.begin(); it != tenants_.end();) {
      if (now - it->second->seen > kIdle) {
        it = tenants_.erase(it);
        continue;
      }
      out.emplace_back(it->first, it->second);
      ++it;
    }
    return out;
  }

  // The store's calls of the tenant in `month`; nullopt when it cannot tell.
  boost::asio::awaitable<std::optional<std::uint64_t>> stored_calls(std::string tenant_id, Month month) {
    store::UsageFilter filter;
    filter.tenant_id = std::move(tenant_id);
    auto rows = co_await store_.query_usage(std::move(filter), month.first, month.end);
    if (!rows) co_return std::nullopt;
    std::uint64_t sum = 0;
    for (const auto& r : rows.value()) sum += r.counts.calls;
    co_return sum;
  }

  // Reads the tenant's overrides and month; leaves what it cannot read as it was.
  boost::asio::awaitable<void> refresh(std::string tenant_id, Tenant& t, Month month, bool from_mark) {
    // Read before the store: every call in `flushed` is then in `calls` too.
    const std::uint64_t flushed = flushed_calls_ ? flushed_calls_(tenant_id) : 0;
    auto record = co_await store_.get_tenant(tenant_id);
    auto calls = co_await stored_calls(tenant_id, month);
    std::lock_guard lock(t.m);
    if (record) t.overrides = record->quotas;
    if (record || record.is(store::Errc::not_found)) t.loaded = true;
    if (!calls) co_return;
    if (t.month != month.first) {
      t.month = month.first;
      t.since = 0;
      t.marked = 0;
      t.flushed_seen = flushed;
    } else if (flushed_calls_) {
      t.since -= std::min(t.since, flushed - std::min(flushed, t.flushed_seen));
      t.flushed_seen = flushed;
      t.marked = 0;
    } else if (from_mark) {
      t.since -= std::min(t.since, t.marked);
      t.marked = 0;
    }
    t.base = *calls;
  }

  // admit's decision when it needs no store (the tenant's overrides are
  // loaded and no token lease is due); nullopt, with nothing reserved, else.
  std::optional<Admission> try_admit(const std::string& tenant_id, const config::Quota& defaults,
                                     store::Millis now_ms) {
    auto t = tenant(tenant_id);
    const Month month = month_of(day_of(now_ms));
    std::lock_guard lock(t->m);
    if (!t->loaded) return std::nullopt;
    const config::Quota quota = effective_quota(defaults, t->overrides);
    const bool new_month = t->month != month.first;
    const std::uint64_t used = new_month ? 0 : t->base + t->since;
    if (quota.monthly_calls > 0 && used >= quota.monthly_calls) {
      Admission no;
      no.verdict = Admission::Verdict::quota_exceeded;
      no.retry_after = whole_seconds(month.end * kDayMs - now_ms);
      return no;
    }
    if (quota.rate_per_second > 0 && t->tokens == 0) return std::nullopt;  // a lease: admit asks the store
    if (new_month) {  // nothing counted yet
      t->month = month.first;
      t->base = 0;
      t->since = 0;
      t->marked = 0;
    }
    ++t->since;
    if (quota.rate_per_second > 0) --t->tokens;
    return Admission{};
  }

  boost::asio::awaitable<Admission> admit(std::string tenant_id, config::Quota defaults, store::Millis now_ms) {
    auto t = tenant(tenant_id);
    const Month month = month_of(day_of(now_ms));
    bool loaded = false;
    {
      std::lock_guard lock(t->m);
      loaded = t->loaded;
    }
    if (!loaded) co_await refresh(tenant_id, *t, month, false);

    config::Quota quota;
    {
      std::lock_guard lock(t->m);
      quota = effective_quota(defaults, t->overrides);
      if (t->month != month.first) {  // a new month: nothing counted yet
        t->month = month.first;
        t->base = 0;
        t->since = 0;
        t->marked = 0;
      }
      if (quota.monthly_calls > 0 && t->base + t->since >= quota.monthly_calls) {
        Admission no;
        no.verdict = Admission::Verdict::quota_exceeded;
        no.retry_after = whole_seconds(month.end * kDayMs - now_ms);
        co_return no;
      }
      ++t->since;  // reserved now, so concurrent calls cannot all take the last one
      if (quota.rate_per_second <= 0) co_return Admission{};
      if (t->tokens > 0) {
        --t->tokens;
        co_return Admission{};
      }
    }

    const std::uint64_t capacity = bucket_capacity(quota);
    bool block = false;
    {
      std::lock_guard lock(t->m);
      block = !t->leasing;  // one block lease at a time; others take a single token
      if (block) t->leasing = true;
    }
    const std::uint64_t want = block ? lease_block(capacity) : 1;
    auto grant = co_await store_.take_rate_tokens(tenant_id, quota.rate_per_second, capacity, want);

    std::lock_guard lock(t->m);
    if (block) t->leasing = false;
    Admission out;
    if (!grant) {
      if (!local_take(*t, quota, capacity, out)) --t->since;
      co_return out;
    }
    t->local_tokens = -1;
    if (grant->granted == 0) {
      --t->since;
      out.verdict = Admission::Verdict::rate_limited;
      out.retry_after = whole_seconds(grant->retry_after_ms);
      co_return out;
    }
    t->tokens += grant->granted - 1;
    co_return out;
  }

  // The bucket this process keeps while the store cannot lease.
  static bool local_take(Tenant& t, const config::Quota& quota, std::uint64_t capacity, Admission& out) {
    const auto now = std::chrono::steady_clock::now();
    if (t.local_tokens < 0) {
      t.local_tokens = static_cast<double>(capacity);
      t.local_at = now;
    }
    const double seconds = std::chrono::duration<double>(now - t.local_at).count();
    t.local_tokens = std::min(static_cast<double>(capacity), t.local_tokens + seconds * quota.rate_per_second);
    t.local_at = now;
    if (t.local_tokens >= 1) {
      t.local_tokens -= 1;
      return true;
    }
    out.verdict = Admission::Verdict::rate_limited;
    out.retry_after = whole_seconds(static_cast<store::Millis>(std::ceil((1 - t.local_tokens) * 1000 / quota.rate_per_second)));
    return false;
  }

  void release(std::string_view tenant_id) {
    auto t = tenant(std::string(tenant_id));
    std::lock_guard lock(t->m);
    if (t->since > 0) --t->since;
  }

  std::function<std::uint64_t(std::string_view)> flushed_calls_;  // set before serving

  void before_flush() {
    for (auto& [id, t] : active()) {
      std::lock_guard lock(t->m);
      t->marked = t->since;
    }
  }

  boost::asio::awaitable<void> after_flush(store::Millis now_ms) {
    const Month month = month_of(day_of(now_ms));
    for (auto& [id, t] : active()) co_await refresh(id, *t, month, true);
  }

  std::uint64_t month_calls(std::string_view tenant_id) const {
    std::lock_guard lock(mutex_);
    auto it = tenants_.find(std::string(tenant_id));
    if (it == tenants_.end()) return 0;
    std::lock_guard inner(it->second->m);
    return it->second->base + it->second->since;
  }

 private:
  store::Store& store_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Tenant>, std::less<>> tenants_;
};

QuotaGate::QuotaGate(store::Store& store) : impl_(std::make_unique<Impl>(store)) {}
QuotaGate::~QuotaGate() = default;

std::optional<Admission> QuotaGate::try_admit(const std::string& tenant_id, const config::Quota& defaults,
                                              store::Millis now_ms) {
  return impl_->try_admit(tenant_id, defaults, now_ms);
}

boost::asio::awaitable<Admission> QuotaGate::admit(std::string tenant_id, config::Quota defaults, store::Millis now_ms) {
  return impl_->admit(std::move(tenant_id), defaults, now_ms);
}

void QuotaGate::before_flush() { impl_->before_flush(); }

void QuotaGate::count_flushed_with(std::function<std::uint64_t(std::string_view)> flushed_calls) {
  impl_->flushed_calls_ = std::move(flushed_calls);
}

void QuotaGate::release(std::string_view tenant_id) { impl_->release(tenant_id); }

boost::asio::awaitable<void> QuotaGate::after_flush() {
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  return impl_->after_flush(now);
}

std::uint64_t QuotaGate::month_calls(std::string_view tenant_id) const { return impl_->month_calls(tenant_id); }

}  // namespace tollgate::metering
