#pragma once
// One metering journal shard: a fixed-size file mapped MAP_SHARED, written by
// one thread (its worker) and flushed by another (the flusher).
//
// The file is a header and a table of slots, one per (tenant, provider, auth
// config, mode, UTC day). Each slot holds three sets of cumulative counters:
//   recorded  what the worker counted (only the worker writes them);
//   pending   what the batch in flight brings the store to (the flusher);
//   flushed   what the store is known to hold (the flusher).
// Recording a call is a probe of the table and a few stores to mapped memory:
// no lock, no allocation, no system call. A process killed with SIGKILL keeps
// every store it made (the pages belong to the kernel's page cache), so a
// restart finds each recorded call in the file. See the README's "Metering".
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "tollgate/store/records.hpp"

namespace tollgate::metering {

// What a usage slot is about. Views: nothing is copied to record a call.
struct UsageKeyView {
  std::string_view tenant_id;
  std::string_view provider;
  std::string_view auth_config_id;  // "" for deployment credentials
  std::string_view mode;
  store::Day day = 0;
};

class JournalShard {
 public:
  static constexpr std::size_t kDefaultSlots = 4096;
  // The longest key a slot holds: tenant + provider + auth config + mode + 3.
  static constexpr std::size_t kMaxKeyBytes = 232;

  // A shard being created is named <path> + this until it is locked and whole.
  // A file left under such a name (a crash in between) holds no counts.
  static constexpr const char* kTemporarySuffix = ".new";

  // A new, empty shard file at `path` (which must not exist) with a fresh
  // random shard id, locked (flock) for the life of this object. It appears
  // under `path` already locked and complete (made under a temporary name,
  // then linked), so a scan for leftovers never takes it from its creator.
  // Throws std::runtime_error naming the path.
  static std::unique_ptr<JournalShard> create(const std::filesystem::path& path, std::size_t slots = kDefaultSlots);
  // A shard file left by a process that is gone: nullptr when another live
  // process holds its lock. Throws std::runtime_error when it is not a journal.
  static std::unique_ptr<JournalShard> adopt(const std::filesystem::path& path);
  ~JournalShard();
  JournalShard(const JournalShard&) = delete;
  JournalShard& operator=(const JournalShard&) = delete;

  // ---- the writer (one thread) ----
  // Adds `delta` to the key's counters and moves its last use to `used_at`.
  // False when the key is too long or the table has no free slot (nothing is
  // written then; the caller moves on to a new shard).
  bool add(const UsageKeyView& key, const store::UsageCounts& delta, store::Millis used_at) noexcept;
  // More than half the slots are taken: time for the writer to move on (probes stay short).
  bool nearly_full() const noexcept;

  // ---- the flusher (one thread) ----
  // The batch in flight (rebuilt from the file: the same seq and rows as
  // before), else a new one of everything recorded and not yet flushed (made
  // pending before it is returned), else nullopt.
  std::optional<store::UsageBatch> next_batch();
  // The store holds batch `seq`: its counts become flushed. Ignored unless seq is the pending one.
  void commit(std::uint64_t seq) noexcept;
  // Nothing recorded is unflushed and no batch is pending.
  bool drained() const noexcept;
  // Sum of everything recorded (for tests and stats).
  store::UsageCounts recorded_total() const noexcept;

  // The writer will write no more (it moved to another shard): release/acquire.
  void retire() noexcept;
  bool retired() const noexcept;

  const std::string& id() const noexcept { return id_; }
  const std::filesystem::path& path() const noexcept { return path_; }
  std::size_t slots() const noexcept { return slots_; }
  std::size_t file_bytes() const noexcept { return bytes_; }

 private:
  struct Header;
  struct Slot;
  JournalShard(std::filesystem::path path, int fd, void* map, std::size_t bytes);
  Header& header() const noexcept;
  Slot& slot(std::size_t i) const noexcept;

  std::filesystem::path path_;
  int fd_;
  void* map_;
  std::size_t bytes_;
  std::size_t slots_ = 0;
  std::string id_;
  std::size_t live_ = 0;  // the writer's count of taken slots
  Slot* last_ = nullptr;  // the writer's last slot added to
  std::atomic<bool> retired_flag_{false};
};

}  // namespace tollgate::metering
