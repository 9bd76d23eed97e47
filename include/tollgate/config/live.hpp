#pragma once
// The configuration in force. Readers take a snapshot per request; a SIGHUP
// reload publishes a new one atomically, and requests already running keep
// the snapshot they started with.
#include <atomic>
#include <cstdint>
#include <memory>

#include "tollgate/config/config.hpp"

namespace tollgate::config {

class LiveConfig {
 public:
  explicit LiveConfig(std::shared_ptr<const Config> initial) : current_(std::move(initial)) {}
  std::shared_ptr<const Config> get() const noexcept { return current_.load(std::memory_order_acquire); }
  void publish(std::shared_ptr<const Config> next) noexcept {
    current_.store(std::move(next), std::memory_order_release);
    generation_.fetch_add(1, std::memory_order_release);
  }
  // Changes with every publish(): a reader that keeps a snapshot of its own
  // checks this plain counter instead of loading the shared pointer each time.
  std::uint64_t generation() const noexcept { return generation_.load(std::memory_order_acquire); }

 private:
  std::atomic<std::shared_ptr<const Config>> current_;
  std::atomic<std::uint64_t> generation_{0};
};

}  // namespace tollgate::config
