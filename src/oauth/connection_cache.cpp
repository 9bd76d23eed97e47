#include "tollgate/oauth/connection_cache.hpp"

#include <functional>

namespace tollgate::oauth {
namespace {

std::string user_key(std::string_view tenant, std::string_view provider, std::string_view user) {
  std::string key;
  key.reserve(tenant.size() + provider.size() + user.size() + 2);
  key.append(tenant).push_back('\0');
  key.append(provider).push_back('\0');
  key.append(user);
  return key;
}

}  // namespace

ConnectionCache::ConnectionCache(std::chrono::milliseconds ttl, std::size_t capacity)
    : ttl_(ttl), per_shard_capacity_(std::max<std::size_t>(1, capacity / kShards)) {}

ConnectionCache::Shard& ConnectionCache::shard_of(std::string_view key) const {
  return shards_[std::hash<std::string_view>{}(key) % kShards];
}

void ConnectionCache::make_room(Shard& shard) {
  // Bounded memory: a full shard drops entries in no particular order (a
  // dropped entry costs one store read).
  while (shard.entries.size() >= per_shard_capacity_) shard.entries.erase(shard.entries.begin());
  while (shard.users.size() >= per_shard_capacity_) shard.users.erase(shard.users.begin());
}

std::shared_ptr<const CachedConnection> ConnectionCache::get(std::string_view id, bool stale_ok) const {
  auto& shard = shard_of(id);
  std::lock_guard lock(shard.mutex);
  auto it = shard.entries.find(id);
  if (it == shard.entries.end() || !it->second.value) return nullptr;
  if (!stale_ok && (it->second.expired || Clock::now() - it->second.stored > ttl_)) return nullptr;
  return it->second.value;
}

void ConnectionCache::put(std::shared_ptr<const CachedConnection> entry) {
  if (!entry) return;
  const auto& id = entry->record.id;
  auto& shard = shard_of(id);
  std::lock_guard lock(shard.mutex);
  auto it = shard.entries.find(id);
  if (it != shard.entries.end()) {
    auto& e = it->second;
    if (entry->record.version < e.floor) return;
    if (e.value && entry->record.version < e.value->record.version) return;
    e.value = std::move(entry);
    e.stored = Clock::now();
    e.expired = false;
    return;
  }
  make_room(shard);
  std::string key = id;
  shard.entries.emplace(std::move(key), Entry{std::move(entry), 0, Clock::now(), false});
}

void ConnectionCache::invalidate(std::string_view id, std::uint64_t version) {
  auto& shard = shard_of(id);
  std::lock_guard lock(shard.mutex);
  auto [it, inserted] = shard.entries.try_emplace(std::string(id));
  auto& e = it->second;
  e.floor = std::max(e.floor, version);
  if (e.value && e.value->record.version < e.floor) e.value.reset();
  e.stored = Clock::now();
  if (inserted && shard.entries.size() > per_shard_capacity_) {
    // Keep the floor just written; drop another.
    for (auto other = shard.entries.begin(); other != shard.entries.end(); ++other)
      if (other != it) {
        shard.entries.erase(other);
        break;
      }
  }
}

std::optional<std::string> ConnectionCache::find_user(std::string_view tenant, std::string_view provider,
                                                      std::string_view user, bool stale_ok) const {
  auto key = user_key(tenant, provider, user);
  auto& shard = shard_of(key);
  std::lock_guard lock(shard.mutex);
  auto it = shard.users.find(key);
  if (it == shard.users.end()) return std::nullopt;
  if (!stale_ok && (it->second.generation != user_generation_.load() || Clock::now() - it->second.stored > ttl_))
    return std::nullopt;
  return it->second.id;
}

void ConnectionCache::put_user(std::string_view tenant, std::string_view provider, std::string_view user,
                               std::string id) {
  auto key = user_key(tenant, provider, user);
  auto& shard = shard_of(key);
  std::lock_guard lock(shard.mutex);
  make_room(shard);
  shard.users[std::move(key)] = UserEntry{std::move(id), Clock::now(), user_generation_.load()};
}

void ConnectionCache::forget_users() { user_generation_.fetch_add(1); }

void ConnectionCache::expire_all() {
  forget_users();
  for (auto& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    for (auto& [id, e] : shard.entries) e.expired = true;
  }
}

std::size_t ConnectionCache::size() const {
  std::size_t n = 0;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    for (const auto& [id, e] : shard.entries) n += e.value ? 1 : 0;
  }
  return n;
}

}  // namespace tollgate::oauth
