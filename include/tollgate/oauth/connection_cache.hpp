#pragma once
// Auth configs with their credential unsealed, kept in memory so the relay's
// hot path makes no store round trip (SPEC §5 "Store outage": calls whose
// credentials are cached keep working while the store is down). Shared by
// every worker: sharded maps, one short lock per lookup.
//
// Coherence in this process: whoever writes an auth config (a refresh, a
// revocation, a reconnect) calls invalidate() with the version it wrote; an
// entry older than that is dropped and a slower reader cannot put one back.
// Other instances' writes arrive through the store's change feed (serve wires
// Store::watch_changes to invalidate, forget_users and expire_all), within a
// second; the time-to-live is only the last line.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <functional>
#include <unordered_map>

#include "tollgate/crypto/secret.hpp"
#include "tollgate/store/records.hpp"

namespace tollgate::oauth {

struct CachedConnection {
  store::AuthConfig record;   // as read or written (secrets sealed, as stored)
  crypto::Secret credential;  // the unsealed access token or API key; empty when it holds none
};

class ConnectionCache {
 public:
  using Clock = std::chrono::steady_clock;
  explicit ConnectionCache(std::chrono::milliseconds ttl = std::chrono::seconds(30), std::size_t capacity = 100000);

  // The entry for `id` if it is younger than the TTL — or, with `stale_ok`
  // (the store cannot answer), of any age.
  std::shared_ptr<const CachedConnection> get(std::string_view id, bool stale_ok = false) const;
  // Keeps `entry` unless a newer version of the record is known.
  void put(std::shared_ptr<const CachedConnection> entry);
  // Version `version` of `id` was just written: older entries go, and are not put back.
  void invalidate(std::string_view id, std::uint64_t version);

  // Tollgate-External-User lookups: (tenant, provider, user) → auth config id.
  std::optional<std::string> find_user(std::string_view tenant, std::string_view provider, std::string_view user,
                                       bool stale_ok = false) const;
  void put_user(std::string_view tenant, std::string_view provider, std::string_view user, std::string id);
  // Any auth config was created, removed or changed status: lookups are done again.
  void forget_users();
  // Changes may have been missed: every entry counts as expired (read again
  // from the store), yet stays usable while the store cannot answer.
  void expire_all();

  std::size_t size() const;

 private:
  struct Entry {
    std::shared_ptr<const CachedConnection> value;  // null: only a version floor
    std::uint64_t floor = 0;                        // versions below this are stale
    Clock::time_point stored;
    bool expired = false;  // expire_all(): read the store again, but usable while it is down
  };
  struct UserEntry {
    std::string id;
    Clock::time_point stored;
    std::uint64_t generation = 0;
  };
  // Looked up by a view of the request's header: no string made per call.
  struct ViewHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, Entry, ViewHash, std::equal_to<>> entries;
    std::unordered_map<std::string, UserEntry> users;
  };
  static constexpr std::size_t kShards = 16;
  Shard& shard_of(std::string_view key) const;
  void make_room(Shard& shard);

  std::chrono::milliseconds ttl_;
  std::size_t per_shard_capacity_;
  std::atomic<std::uint64_t> user_generation_{0};
  mutable std::array<Shard, kShards> shards_;
};

}  // namespace tollgate::oauth
