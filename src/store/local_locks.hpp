#pragma once
// Refresh locks of a store that one process owns (SQLite): a map in memory
// with the same rules as Redis' (owner token, time-to-live, compare-and-delete),
// so the refresh coordinator runs the same code on either store.
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace tollgate::store {

class LocalLocks {
 public:
  using Clock = std::chrono::steady_clock;

  bool acquire(const std::string& name, const std::string& owner, std::chrono::milliseconds ttl) {
    std::lock_guard lock(mutex_);
    auto& held = locks_[name];
    const auto now = Clock::now();
    if (!held.owner.empty() && held.owner != owner && held.until > now) return false;
    held = Held{owner, now + ttl};
    return true;
  }
  bool renew(const std::string& name, const std::string& owner, std::chrono::milliseconds ttl) {
    std::lock_guard lock(mutex_);
    auto it = locks_.find(name);
    if (it == locks_.end() || it->second.owner != owner || it->second.until <= Clock::now()) return false;
    it->second.until = Clock::now() + ttl;
    return true;
  }
  bool release(const std::string& name, const std::string& owner) {
    std::lock_guard lock(mutex_);
    auto it = locks_.find(name);
    if (it == locks_.end() || it->second.owner != owner) return false;
    const bool live = it->second.until > Clock::now();
    locks_.erase(it);
    return live;
  }

 private:
  struct Held {
    std::string owner;
    Clock::time_point until;
  };
  std::mutex mutex_;
  std::map<std::string, Held> locks_;
};

}  // namespace tollgate::store
