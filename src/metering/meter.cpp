// The meter's writers (one journal shard per thread, found through a
// thread_local) and its flusher (a thread with an io_context of its own, like
// serve's Housekeeping, so no worker ever waits on the store for metering).
#include "tollgate/metering/meter.hpp"

#include <atomic>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "tollgate/crypto/encoding.hpp"
#include "tollgate/crypto/random.hpp"
#include "tollgate/metering/days.hpp"
#include "tollgate/metering/journal.hpp"
#include "tollgate/ops/log.hpp"
#include "tollgate/store/store.hpp"

namespace tollgate::metering {

namespace asio = boost::asio;

namespace {

std::atomic<std::uint64_t> next_meter_id{1};

// Batches one shard may send in one round, so a busy shard cannot hold the round up.
constexpr int kBatchesPerRound = 8;

struct ThreadLocalWriter {
  std::uint64_t meter_id = 0;
  void* writer = nullptr;
};
thread_local ThreadLocalWriter tls_writer;

store::Millis to_millis(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

class Meter::Impl {
 public:
  Impl(store::Store& store, MeterOptions options)
      : store_(store), options_(std::move(options)), id_(next_meter_id.fetch_add(1)) {
    if (options_.slots_per_shard == 0) options_.slots_per_shard = JournalShard::kDefaultSlots;
    if (options_.flush_interval <= std::chrono::milliseconds::zero()) options_.flush_interval = std::chrono::seconds(1);
    std::error_code ec;
    std::filesystem::create_directories(options_.journal_dir, ec);
    if (ec) {
      throw std::runtime_error("metering.journal_dir " + options_.journal_dir.string() + ": cannot create: " +
                               ec.message());
    }
    std::filesystem::permissions(options_.journal_dir, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, ec);
    adopt_leftovers();
    asio::co_spawn(ctx_, flush_loop(), asio::detached);
    thread_ = std::thread([this] { ctx_.run(); });
  }

  ~Impl() { stop(); }

  void record(const CallRecord& call) noexcept {
    if (!options_.enabled) return;
    store::UsageCounts delta;
    delta.calls = 1;
    delta.errors = is_error(call) ? 1 : 0;
    delta.refreshes = call.refreshed ? 1 : 0;
    delta.request_bytes = call.request_bytes;
    delta.response_bytes = call.response_bytes;
    add(call, delta);
  }

  void add_response_bytes(const CallRecord& call, std::uint64_t bytes) noexcept {
    if (!options_.enabled || bytes == 0) return;
    store::UsageCounts delta;
    delta.response_bytes = bytes;
    add(call, delta);
  }

  bool flush_now() {
    if (stopped_.load()) return false;
    std::promise<bool> done;
    auto result = done.get_future();
    asio::post(ctx_, [this, done = std::move(done)]() mutable {
      waiters_.push_back(std::move(done));
      timer_.cancel();
    });
    return result.get();
  }

  bool stop() {
    if (stopped_.load()) return last_stop_result_;
    bool drained = flush_now();
    if (!drained) drained = flush_now();  // a writer may have raced the first round
    stopped_.store(true);
    // The loop ends at its next turn and the io_context runs out of work.
    asio::post(ctx_, [this] {
      stopping_ = true;
      timer_.cancel();
    });
    if (thread_.joinable()) thread_.join();
    last_stop_result_ = drained;
    return drained;
  }

  void observe(std::function<void()> before, std::function<asio::awaitable<void>()> after) {
    asio::post(ctx_, [this, before = std::move(before), after = std::move(after)]() mutable {
      before_.push_back(std::move(before));
      after_.push_back(std::move(after));
    });
  }

  MeterStats stats() const {
    MeterStats s;
    {
      std::lock_guard lock(mutex_);
      s.shards = shards_.size();
      for (const auto& shard : shards_) {
        s.journal_bytes += shard->file_bytes();
        if (!shard->drained()) ++s.waiting_shards;
      }
    }
    s.batches_applied = applied_.load();
    s.batches_repeated = repeated_.load();
    s.flush_failures = failures_.load();
    s.dropped = dropped_.load();
    return s;
  }

  const MeterOptions& options() const { return options_; }

  std::uint64_t flushed_calls(std::string_view tenant) const {
    std::lock_guard lock(mutex_);
    auto it = flushed_by_tenant_.find(std::string(tenant));
    return it == flushed_by_tenant_.end() ? 0 : it->second;
  }

 private:
  struct Writer {
    std::thread::id thread;
    unsigned worker = 0;
    JournalShard* shard = nullptr;
  };

  void add(const CallRecord& call, const store::UsageCounts& delta) noexcept {
    Writer* w = writer();
    if (w == nullptr) {
      dropped_.fetch_add(1);
      return;
    }
    const store::Millis at = to_millis(call.time);
    const UsageKeyView key{call.tenant_id, call.provider, call.auth_config_id, call.mode, day_of(at)};
    if (!w->shard->add(key, delta, at)) {
      if (!rotate(*w) || !w->shard->add(key, delta, at)) {
        dropped_.fetch_add(1);
        ops::log_error("metering: a call could not be journaled", {{"tenant", call.tenant_id},
                                                                     {"provider", call.provider}});
        return;
      }
    }
    if (w->shard->nearly_full()) rotate(*w);
  }

  // The calling thread's writer: one thread_local compare after the first call.
  Writer* writer() noexcept {
    if (tls_writer.meter_id == id_) return static_cast<Writer*>(tls_writer.writer);
    try {
      std::lock_guard lock(mutex_);
      const auto me = std::this_thread::get_id();
      Writer* found = nullptr;
      for (auto& w : writers_) {
        if (w->thread == me) found = w.get();
      }
      if (found == nullptr) {
        auto w = std::make_unique<Writer>();
        w->thread = me;
        w->worker = static_cast<unsigned>(writers_.size());
        auto shard = new_shard(w->worker);
        w->shard = shard.get();
        shards_.push_back(std::move(shard));
        found = w.get();
        writers_.push_back(std::move(w));
      }
      tls_writer = {id_, found};
      return found;
    } catch (const std::exception& e) {
      ops::log_error("metering: cannot create a journal shard", {{"error", e.what()}});
      return nullptr;
    }
  }

  std::unique_ptr<JournalShard> new_shard(unsigned worker) {
    const std::string name = options_.instance_id + "-w" + std::to_string(worker) + "-" +
                             crypto::hex_encode(crypto::random_bytes(6)) + ".journal";
    return JournalShard::create(options_.journal_dir / name, options_.slots_per_shard);
  }

  // The writer moves to a fresh shard; the flusher drains the old one and deletes it.
  bool rotate(Writer& w) noexcept {
    try {
      auto next = new_shard(w.worker);
      JournalShard* old = w.shard;
      {
        std::lock_guard lock(mutex_);
        w.shard = next.get();
        shards_.push_back(std::move(next));
      }
      old->retire();
      return true;
    } catch (const std::exception& e) {
      ops::log_error("metering: cannot create a journal shard", {{"error", e.what()}});
      return false;
    }
  }

  void adopt_leftovers() {
    std::error_code ec;
    std::size_t adopted = 0;
    const std::string temporary = std::string(".journal") + JournalShard::kTemporarySuffix;
    for (const auto& entry : std::filesystem::directory_iterator(options_.journal_dir, ec)) {
      const std::string name = entry.path().filename().string();
      if (name.size() > temporary.size() && name.ends_with(temporary)) {
        // A shard whose creator died before it was whole: no counts in it. A
        // live creator takes microseconds, so only an old one is removed.
        std::error_code age_ec;
        const auto written = std::filesystem::last_write_time(entry.path(), age_ec);
        if (!age_ec && std::filesystem::file_time_type::clock::now() - written > std::chrono::minutes(1))
          std::filesystem::remove(entry.path(), age_ec);
        continue;
      }
      if (entry.path().extension() != ".journal") continue;
      try {
        auto shard = JournalShard::adopt(entry.path());
        if (!shard) continue;  // a live process's
        adopted_.insert(shard.get());
        shards_.push_back(std::move(shard));
        ++adopted;
      } catch (const std::exception& e) {
        ops::log_error("metering: a file in the journal directory is not a journal; left as is",
                       {{"error", e.what()}});
      }
    }
    if (ec) throw std::runtime_error("metering.journal_dir " + options_.journal_dir.string() + ": " + ec.message());
    if (adopted > 0) ops::log_info("metering: replaying journals left by an earlier run", {{"files", adopted}});
  }

  asio::awaitable<void> flush_loop() {
    for (;;) {
      if (waiters_.empty()) {
        timer_.expires_after(options_.flush_interval);
        co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
      }
      if (stopping_) co_return;
      auto waiting = std::move(waiters_);
      waiters_.clear();
      for (auto& f : before_) f();
      const bool drained = co_await flush_round();
      for (auto& f : after_) co_await f();
      for (auto& w : waiting) w.set_value(drained);
    }
  }

  // One pass over every shard; true when nothing is left unflushed.
  asio::awaitable<bool> flush_round() {
    std::vector<JournalShard*> shards;
    {
      std::lock_guard lock(mutex_);
      for (auto& s : shards_) shards.push_back(s.get());
    }
    bool drained = true;
    for (JournalShard* shard : shards) {
      bool shard_done = false;
      for (int i = 0; i < kBatchesPerRound; ++i) {
        auto batch = shard->next_batch();
        if (!batch) {
          shard_done = true;
          break;
        }
        const std::uint64_t seq = batch->seq;
        // This process's calls, by tenant, that the store will hold once the batch is in.
        std::vector<std::pair<std::string, std::uint64_t>> own_calls;
        if (!adopted_.count(shard))
          for (const auto& row : batch->rows) own_calls.emplace_back(row.tenant_id, row.counts.calls);
        auto applied = co_await store_.apply_usage_batch(std::move(*batch));
        if (!applied) {
          failures_.fetch_add(1);
          if (!failing_) {
            ops::log_warn("metering: the store did not take a usage batch; kept in the journal and retried",
                          {{"error", applied.error().message}});
          }
          failing_ = true;
          co_return false;  // the store is down or refusing: the next round retries the same batch
        }
        if (failing_) ops::log_info("metering: the store takes usage batches again", {});
        failing_ = false;
        (applied.value() ? applied_ : repeated_).fetch_add(1);
        shard->commit(seq);
        if (!own_calls.empty()) {
          std::lock_guard lock(mutex_);
          for (const auto& [tenant, calls] : own_calls) flushed_by_tenant_[tenant] += calls;
        }
      }
      if (!shard_done) {
        drained = false;
        continue;
      }
      if (shard->retired() && shard->drained()) forget(shard);
    }
    co_return drained;
  }

  void forget(JournalShard* shard) {
    std::unique_ptr<JournalShard> gone;
    std::lock_guard lock(mutex_);
    for (auto it = shards_.begin(); it != shards_.end(); ++it) {
      if (it->get() != shard) continue;
      std::error_code ec;
      std::filesystem::remove(shard->path(), ec);  // while still locked: nobody adopts it half-deleted
      gone = std::move(*it);
      shards_.erase(it);
      break;
    }
  }

  store::Store& store_;
  MeterOptions options_;
  const std::uint64_t id_;

  mutable std::mutex mutex_;  // shards_ and writers_; never taken on the hot path after a thread's first call
  std::vector<std::unique_ptr<JournalShard>> shards_;
  std::vector<std::unique_ptr<Writer>> writers_;
  std::unordered_set<const JournalShard*> adopted_;  // replayed from gone processes (set at start)
  std::unordered_map<std::string, std::uint64_t> flushed_by_tenant_;  // this process's calls now in the store

  std::atomic<std::uint64_t> applied_{0}, repeated_{0}, failures_{0}, dropped_{0};
  std::atomic<bool> stopped_{false};
  bool last_stop_result_ = false;

  // The flusher's own; touched only on its thread.
  asio::io_context ctx_{1};
  asio::steady_timer timer_{ctx_};
  std::vector<std::promise<bool>> waiters_;
  std::vector<std::function<void()>> before_;
  std::vector<std::function<asio::awaitable<void>()>> after_;
  bool failing_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

Meter::Meter(store::Store& store, MeterOptions options) : impl_(std::make_unique<Impl>(store, std::move(options))) {}
Meter::~Meter() = default;
void Meter::record(const CallRecord& call) noexcept { impl_->record(call); }
void Meter::add_response_bytes(const CallRecord& call, std::uint64_t bytes) noexcept {
  impl_->add_response_bytes(call, bytes);
}
bool Meter::flush_now() { return impl_->flush_now(); }
bool Meter::stop() { return impl_->stop(); }
void Meter::observe_flushes(std::function<void()> before, std::function<boost::asio::awaitable<void>()> after) {
  impl_->observe(std::move(before), std::move(after));
}
MeterStats Meter::stats() const { return impl_->stats(); }
std::uint64_t Meter::flushed_calls(std::string_view tenant_id) const { return impl_->flushed_calls(tenant_id); }
const MeterOptions& Meter::options() const { return impl_->options(); }

}  // namespace tollgate::metering
