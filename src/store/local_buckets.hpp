#pragma once
// Token buckets in this process's memory, for a backend that serves one
// process (SQLite): Store::take_rate_tokens without a shared server.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "tollgate/store/records.hpp"

namespace tollgate::store {

class LocalBuckets {
 public:
  RateGrant take(const std::string& tenant_id, double rate_per_second, std::uint64_t capacity, std::uint64_t want) {
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mutex_);
    auto [it, fresh] = buckets_.try_emplace(tenant_id, Bucket{static_cast<double>(capacity), now});
    Bucket& b = it->second;
    const double seconds = std::chrono::duration<double>(now - b.at).count();
    b.tokens = std::min(static_cast<double>(capacity), b.tokens + std::max(0.0, seconds) * rate_per_second);
    b.at = now;
    RateGrant grant;
    grant.granted = std::min<std::uint64_t>(want, static_cast<std::uint64_t>(std::floor(b.tokens)));
    b.tokens -= static_cast<double>(grant.granted);
    if (grant.granted == 0 && rate_per_second > 0)
      grant.retry_after_ms = static_cast<Millis>(std::ceil((1.0 - b.tokens) * 1000.0 / rate_per_second));
    return grant;
  }

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point at;
  };
  std::mutex mutex_;
  std::map<std::string, Bucket, std::less<>> buckets_;
};

}  // namespace tollgate::store
