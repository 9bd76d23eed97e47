#pragma once
// The meter: every call forwarded upstream is counted here before its
// response head is sent (SPEC §6), into a journal shard of the calling thread,
// and a flusher thread moves the counts to the store in idempotent batches.
//
// Hot path: record() and add_response_bytes() find the thread's shard with a
// thread_local lookup and add to counters in mapped memory — no lock, no
// allocation and no system call after a thread's first call (which creates its
// shard file). See the README's "Metering" for what survives what.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "tollgate/store/records.hpp"

namespace tollgate::store {
class Store;
}

namespace tollgate::metering {

// One call forwarded upstream. Views: the caller keeps the strings alive for
// the duration of the call to record().
struct CallRecord {
  std::string_view tenant_id;
  std::string_view provider;
  std::string_view auth_config_id;  // "" for a provider's deployment credentials
  std::string_view mode;            // "managed" | "your-own"; deployment credentials count as "managed"
  std::string_view method;          // for logs and metrics; not kept in the store
  unsigned status = 0;              // the upstream's final status; 0 when the call failed after forwarding
  std::uint64_t request_bytes = 0;  // body bytes sent upstream
  std::uint64_t response_bytes = 0; // body bytes sent to the client, when known at record() time
  std::chrono::microseconds upstream_latency{0};  // for logs and metrics; not kept in the store
  bool refreshed = false;           // a token refresh happened for this call (before it, or on a 401 and replay)
  std::chrono::system_clock::time_point time;     // when the call started: picks its UTC day
};

// An error, for the `errors` counter: a 5xx from upstream, or no answer after forwarding.
inline bool is_error(const CallRecord& call) { return call.status == 0 || call.status >= 500; }

struct MeterOptions {
  bool enabled = true;
  std::chrono::milliseconds flush_interval{1000};
  std::filesystem::path journal_dir;
  std::string instance_id = "tollgate";  // names this process's shard files
  std::size_t slots_per_shard = 0;       // 0: JournalShard::kDefaultSlots
};

struct MeterStats {
  std::uint64_t shards = 0;          // shard files held (live and retired)
  std::uint64_t batches_applied = 0; // batches the store took as new
  std::uint64_t batches_repeated = 0;// batches the store had already (a retry, a replay)
  std::uint64_t flush_failures = 0;  // flush attempts the store refused or did not answer
  std::uint64_t dropped = 0;         // records that could not be journaled (a key too long, a full disk)
  std::uint64_t waiting_shards = 0;  // shards holding usage not yet in the store (a batch waiting to go)
  std::uint64_t journal_bytes = 0;   // the journal files' size
};

class Meter {
 public:
  // Replays journals left in journal_dir by processes that are gone (any
  // instance id: a journal_dir belongs to one host) and starts the flusher.
  // Throws std::runtime_error when journal_dir cannot be made or read.
  Meter(store::Store& store, MeterOptions options);
  // stop(), when not done yet.
  ~Meter();
  Meter(const Meter&) = delete;
  Meter& operator=(const Meter&) = delete;

  // Counts one call: calls +1, errors +1 if is_error, refreshes +1 if
  // refreshed, the bytes. Callable from any thread.
  void record(const CallRecord& call) noexcept;
  // The response bytes of a call recorded earlier with response_bytes 0, once
  // the body has ended: `call` as given to record() (the same day and key). A
  // crash in between loses these bytes, never the call.
  void add_response_bytes(const CallRecord& call, std::uint64_t bytes) noexcept;

  // Runs a flush round now and waits for it: true when everything recorded
  // before the call is in the store.
  bool flush_now();
  // Flushes everything, stops the flusher (graceful shutdown). Idempotent.
  bool stop();

  // Runs on the flusher's thread around each flush round: `before` just before
  // the round, `after` once it is done (the quota gate reads the store's counts then).
  void observe_flushes(std::function<void()> before, std::function<boost::asio::awaitable<void>()> after);

  MeterStats stats() const;
  // How many of this process's calls of `tenant_id` are in the store (batches
  // the store took from this process's own shards). The quota gate counts the
  // rest as not yet flushed.
  std::uint64_t flushed_calls(std::string_view tenant_id) const;
  const MeterOptions& options() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tollgate::metering
