// The journal file: a header page, then `slots` fixed-size slots. Fields that
// two threads share (a slot's state and counters, the header's seqs) are read
// and written through std::atomic_ref; everything else in a slot is written
// once, before its state is published.
#include "tollgate/metering/journal.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <map>
#include <stdexcept>
#include <tuple>

#include "tollgate/crypto/encoding.hpp"
#include "tollgate/crypto/random.hpp"

namespace tollgate::metering {

namespace {

constexpr std::array<char, 8> kMagic = {'T', 'G', 'J', 'R', 'N', 'L', '0', '1'};
constexpr std::size_t kCounters = 5;
constexpr std::uint32_t kEmpty = 0;
constexpr std::uint32_t kLive = 1;

std::runtime_error failure(const std::filesystem::path& path, const std::string& what) {
  return std::runtime_error("metering journal " + path.string() + ": " + what + ": " + std::strerror(errno));
}

std::array<std::uint64_t, kCounters> as_array(const store::UsageCounts& c) {
  return {c.calls, c.errors, c.refreshes, c.request_bytes, c.response_bytes};
}
store::UsageCounts as_counts(const std::array<std::uint64_t, kCounters>& a) {
  store::UsageCounts c;
  c.calls = a[0];
  c.errors = a[1];
  c.refreshes = a[2];
  c.request_bytes = a[3];
  c.response_bytes = a[4];
  return c;
}

template <typename T>
T load(const T& field) noexcept {
  return std::atomic_ref<T>(const_cast<T&>(field)).load(std::memory_order_acquire);
}
template <typename T>
void store_release(T& field, T value) noexcept {
  std::atomic_ref<T>(field).store(value, std::memory_order_release);
}

std::uint64_t fnv1a(std::string_view bytes, std::uint64_t h = 1469598103934665603ull) noexcept {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

struct JournalShard::Header {
  std::array<char, 8> magic;
  std::uint64_t slot_count;
  std::array<char, 32> shard_id;   // hex
  std::uint64_t pending_seq;       // 0: no batch in flight
  std::uint64_t flushed_seq;       // the last batch the store acknowledged
  std::array<char, 4096 - 8 - 8 - 32 - 8 - 8> reserved;
};

struct JournalShard::Slot {
  std::uint32_t state;
  std::uint32_t key_length;
  std::int64_t day;
  std::uint64_t hash;
  std::int64_t last_used;
  std::array<std::uint64_t, kCounters> recorded;
  std::array<std::uint64_t, kCounters> pending;
  std::array<std::uint64_t, kCounters> flushed;
  std::array<char, kMaxKeyBytes> key;  // tenant \0 provider \0 auth config \0 mode
};

JournalShard::JournalShard(std::filesystem::path path, int fd, void* map, std::size_t bytes)
    : path_(std::move(path)), fd_(fd), map_(map), bytes_(bytes) {
  static_assert(sizeof(Header) == 4096, "the header is one page");
  static_assert(sizeof(Slot) == 384, "the file layout is fixed: a change needs a new magic");
  slots_ = static_cast<std::size_t>(header().slot_count);
  id_.assign(header().shard_id.data(), header().shard_id.size());
  for (std::size_t i = 0; i < slots_; ++i) {
    if (slot(i).state == kLive) ++live_;
  }
}

JournalShard::~JournalShard() {
  ::munmap(map_, bytes_);
  ::close(fd_);  // releases the flock
}

JournalShard::Header& JournalShard::header() const noexcept { return *static_cast<Header*>(map_); }
JournalShard::Slot& JournalShard::slot(std::size_t i) const noexcept {
  return reinterpret_cast<Slot*>(static_cast<char*>(map_) + sizeof(Header))[i];
}

std::unique_ptr<JournalShard> JournalShard::create(const std::filesystem::path& path, std::size_t slots) {
  // Made under a temporary name that no scan for leftovers looks at, then
  // linked to `path` already locked and whole: another instance sharing the
  // directory can never lock it before its creator does, nor find it half-made.
  const std::filesystem::path temp = path.string() + kTemporarySuffix;
  const int fd = ::open(temp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw failure(temp, "cannot create");
  auto give_up = [&](const char* what) {
    const auto error = failure(temp, what);
    ::unlink(temp.c_str());
    ::close(fd);
    return error;
  };
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) throw give_up("cannot lock");
  const std::size_t bytes = sizeof(Header) + slots * sizeof(Slot);
  // The file is all zeros (every slot empty) until written: ftruncate makes a sparse file.
  if (::ftruncate(fd, static_cast<off_t>(bytes)) != 0) throw give_up("cannot size");
  void* map = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) throw give_up("cannot map");
  auto* h = static_cast<Header*>(map);
  const std::string id = crypto::hex_encode(crypto::random_bytes(16));
  std::memcpy(h->shard_id.data(), id.data(), h->shard_id.size());
  h->slot_count = slots;
  // The magic last: a file without it was never a complete journal (a crash while creating it).
  std::memcpy(h->magic.data(), kMagic.data(), kMagic.size());
  // link, not rename: an existing `path` is an error, never replaced. The lock
  // belongs to the file, so it holds under the new name.
  if (::link(temp.c_str(), path.c_str()) != 0) {
    const auto error = failure(path, "cannot create");
    ::munmap(map, bytes);
    ::unlink(temp.c_str());
    ::close(fd);
    throw error;
  }
  ::unlink(temp.c_str());
  return std::unique_ptr<JournalShard>(new JournalShard(path, fd, map, bytes));
}

std::unique_ptr<JournalShard> JournalShard::adopt(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) throw failure(path, "cannot open");
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const bool busy = errno == EWOULDBLOCK;
    ::close(fd);
    if (busy) return nullptr;  // a live process owns it
    throw failure(path, "cannot lock");
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    throw failure(path, "cannot stat");
  }
  const auto bytes = static_cast<std::size_t>(st.st_size);
  if (bytes < sizeof(Header)) {
    ::close(fd);
    errno = 0;
    throw std::runtime_error("metering journal " + path.string() + ": too short to be a journal");
  }
  void* map = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) {
    ::close(fd);
    throw failure(path, "cannot map");
  }
  const auto* h = static_cast<const Header*>(map);
  if (h->magic != kMagic || bytes != sizeof(Header) + h->slot_count * sizeof(Slot)) {
    ::munmap(map, bytes);
    ::close(fd);
    throw std::runtime_error("metering journal " + path.string() + ": not a journal this tollgate wrote");
  }
  auto shard = std::unique_ptr<JournalShard>(new JournalShard(path, fd, map, bytes));
  shard->retire();  // nobody writes to an adopted shard
  return shard;
}

bool JournalShard::add(const UsageKeyView& key, const store::UsageCounts& delta, store::Millis used_at) noexcept {
  const std::size_t length =
      key.tenant_id.size() + key.provider.size() + key.auth_config_id.size() + key.mode.size() + 3;
  if (length > kMaxKeyBytes || slots_ == 0) return false;
  auto same_key = [&](const Slot& s) {
    if (s.day != key.day || s.key_length != length) return false;
    const char* p = s.key.data();
    for (std::string_view part : {key.tenant_id, key.provider, key.auth_config_id, key.mode}) {
      if (std::memcmp(p, part.data(), part.size()) != 0 || p[part.size()] != '\0') return false;
      p += part.size() + 1;
    }
    return true;
  };
  auto count = [&](Slot& s) {
    const auto add = as_array(delta);
    for (std::size_t c = 0; c < kCounters; ++c) {
      if (add[c] != 0) store_release(s.recorded[c], s.recorded[c] + add[c]);
    }
    if (used_at > s.last_used) store_release(s.last_used, used_at);
    last_ = &s;
    return true;
  };
  // A worker's calls mostly repeat the key of the one before (the same tenant,
  // provider and auth config): its slot is tried before hashing and probing.
  // Slots stay live once claimed, so the pointer stays good.
  if (last_ && same_key(*last_)) return count(*last_);

  std::uint64_t h = fnv1a(key.tenant_id);
  h = fnv1a(std::string_view("\0", 1), h);
  h = fnv1a(key.provider, h);
  h = fnv1a(std::string_view("\0", 1), h);
  h = fnv1a(key.auth_config_id, h);
  h = fnv1a(std::string_view("\0", 1), h);
  h = fnv1a(key.mode, h);
  h ^= static_cast<std::uint64_t>(key.day) * 0x9E3779B97F4A7C15ull;

  auto matches = [&](const Slot& s) { return s.hash == h && same_key(s); };

  for (std::size_t probe = 0; probe < slots_; ++probe) {
    Slot& s = slot((h + probe) % slots_);
    if (s.state == kLive) {  // only this thread writes state: a plain read is its own
      if (!matches(s)) continue;
    } else {
      // Claim: write the key, then publish. A crash before the publish leaves an empty slot and no counts.
      if (live_ * 4 >= slots_ * 3) return false;  // keep a quarter free: probes stay short
      char* p = s.key.data();
      for (std::string_view part : {key.tenant_id, key.provider, key.auth_config_id, key.mode}) {
        std::memcpy(p, part.data(), part.size());
        p[part.size()] = '\0';
        p += part.size() + 1;
      }
      s.key_length = static_cast<std::uint32_t>(length);
      s.day = key.day;
      s.hash = h;
      store_release(s.state, kLive);
      ++live_;
    }
    return count(s);
  }
  return false;
}

bool JournalShard::nearly_full() const noexcept { return live_ * 2 >= slots_; }

std::optional<store::UsageBatch> JournalShard::next_batch() {
  Header& hd = header();
  const std::uint64_t in_flight = load(hd.pending_seq);
  store::UsageBatch batch;
  batch.shard = id_;
  std::map<std::pair<std::string, std::string>, store::Millis> used;
  for (std::size_t i = 0; i < slots_; ++i) {
    Slot& s = slot(i);
    if (load(s.state) != kLive) continue;
    std::array<std::uint64_t, kCounters> delta{};
    bool any = false;
    for (std::size_t c = 0; c < kCounters; ++c) {
      if (in_flight == 0) store_release(s.pending[c], load(s.recorded[c]));
      const std::uint64_t to = load(s.pending[c]);
      const std::uint64_t from = load(s.flushed[c]);
      delta[c] = to > from ? to - from : 0;
      any = any || delta[c] != 0;
    }
    if (!any) continue;
    const char* p = s.key.data();
    store::UsageRow row;
    row.tenant_id = p;
    p += row.tenant_id.size() + 1;
    row.provider = p;
    p += row.provider.size() + 1;
    row.auth_config_id = p;
    p += row.auth_config_id.size() + 1;
    row.mode = p;
    row.day = s.day;
    row.counts = as_counts(delta);
    if (!row.auth_config_id.empty()) {
      auto& at = used[{row.tenant_id, row.auth_config_id}];
      at = std::max(at, load(s.last_used));
    }
    batch.rows.push_back(std::move(row));
  }
  if (in_flight != 0) {
    batch.seq = in_flight;
  } else {
    if (batch.rows.empty()) return std::nullopt;
    batch.seq = load(hd.flushed_seq) + 1;
    store_release(hd.pending_seq, batch.seq);  // after every slot's pending: a crash before this rebuilds afresh
  }
  for (auto& [who, at] : used) batch.last_used.push_back({who.first, who.second, at});
  return batch;
}

void JournalShard::commit(std::uint64_t seq) noexcept {
  Header& hd = header();
  if (seq == 0 || load(hd.pending_seq) != seq) return;
  for (std::size_t i = 0; i < slots_; ++i) {
    Slot& s = slot(i);
    if (load(s.state) != kLive) continue;
    for (std::size_t c = 0; c < kCounters; ++c) store_release(s.flushed[c], load(s.pending[c]));
  }
  store_release(hd.flushed_seq, seq);
  store_release(hd.pending_seq, std::uint64_t{0});
}

bool JournalShard::drained() const noexcept {
  if (load(header().pending_seq) != 0) return false;
  for (std::size_t i = 0; i < slots_; ++i) {
    const Slot& s = slot(i);
    if (load(s.state) != kLive) continue;
    for (std::size_t c = 0; c < kCounters; ++c) {
      if (load(s.recorded[c]) != load(s.flushed[c])) return false;
    }
  }
  return true;
}

store::UsageCounts JournalShard::recorded_total() const noexcept {
  store::UsageCounts total;
  for (std::size_t i = 0; i < slots_; ++i) {
    const Slot& s = slot(i);
    if (load(s.state) != kLive) continue;
    std::array<std::uint64_t, kCounters> a{};
    for (std::size_t c = 0; c < kCounters; ++c) a[c] = load(s.recorded[c]);
    total += as_counts(a);
  }
  return total;
}

void JournalShard::retire() noexcept { retired_flag_.store(true, std::memory_order_release); }
bool JournalShard::retired() const noexcept { return retired_flag_.load(std::memory_order_acquire); }

}  // namespace tollgate::metering
