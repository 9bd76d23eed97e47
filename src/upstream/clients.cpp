#include "tollgate/upstream/clients.hpp"

#include <atomic>
#include <thread>

namespace tollgate::upstream {

struct UpstreamClients::Entry {
  std::thread::id thread;
  Options options;
  std::unique_ptr<Client> client;
};

struct UpstreamClients::PoolEntry {
  std::thread::id thread;
  std::unique_ptr<Pool> pool;
};

namespace {
std::atomic<std::uint64_t> next_serial{1};
}

UpstreamClients::UpstreamClients() : serial_(next_serial.fetch_add(1)) {}
UpstreamClients::~UpstreamClients() = default;

namespace {

bool same(const Options& a, const Options& b) {
  return a.ca_file == b.ca_file && a.connect == b.connect && a.first_byte == b.first_byte && a.idle == b.idle &&
         a.max_response_bytes == b.max_response_bytes;
}

}  // namespace

Client& UpstreamClients::get(boost::asio::any_io_executor executor, const Options& wanted) {
  const auto me = std::this_thread::get_id();
  std::lock_guard lock(mutex_);
  for (auto& e : entries_) {
    if (e->thread != me) continue;
    // A reload that changed the CA file or timeouts gets a new client; the old
    // one is kept (a request may still be using it) until the store shuts down.
    if (same(e->options, wanted)) return *e->client;
  }
  auto entry = std::make_unique<Entry>();
  entry->thread = me;
  entry->options = wanted;
  entry->client = std::make_unique<Client>(executor, wanted);
  entries_.push_back(std::move(entry));
  return *entries_.back()->client;
}


Pool& UpstreamClients::pool(boost::asio::any_io_executor executor, const PoolOptions& wanted) {
  // The thread's last answer, checked before taking the lock.
  // Keyed by the instance's serial, not its address, which a later instance may reuse.
  thread_local std::uint64_t cached_owner = 0;
  thread_local Pool* cached_pool = nullptr;
  if (cached_owner == serial_ && cached_pool->options() == wanted) return *cached_pool;
  Pool& found = find_pool(std::move(executor), wanted);
  cached_owner = serial_;
  cached_pool = &found;
  return found;
}

Pool& UpstreamClients::find_pool(boost::asio::any_io_executor executor, const PoolOptions& wanted) {
  const auto me = std::this_thread::get_id();
  std::lock_guard lock(mutex_);
  for (auto& e : pools_)
    if (e->thread == me && e->pool->options() == wanted) return *e->pool;
  // Like clients, a pool made for older options stays until shutdown: leases may still use it.
  auto entry = std::make_unique<PoolEntry>();
  entry->thread = me;
  entry->pool = std::make_unique<Pool>(std::move(executor), wanted);
  pools_.push_back(std::move(entry));
  return *pools_.back()->pool;
}

void UpstreamClients::close_all() {
  std::lock_guard lock(mutex_);
  pools_.clear();
  entries_.clear();
  serial_ = next_serial.fetch_add(1);  // threads' cached pools are stale now
}

PoolStats UpstreamClients::pool_stats() {
  PoolStats sum;
  std::lock_guard lock(mutex_);
  for (auto& e : pools_) {
    auto s = e->pool->stats();
    sum.idle += s.idle;
    sum.active += s.active;
    sum.opened += s.opened;
    sum.reused += s.reused;
    sum.stale += s.stale;
  }
  return sum;
}

}  // namespace tollgate::upstream
