#include <array>
#include <functional>
#include <mutex>
#include <unordered_map>

#include <boost/asio/use_awaitable.hpp>

#include "tollgate/auth/principal.hpp"
#include "tollgate/crypto/hash.hpp"

namespace tollgate::auth {

using errors::Code;

// Sharded so that workers checking different keys rarely meet on one lock.
struct Authenticator::Cache {
  using Clock = std::chrono::steady_clock;
  struct Entry {
    Principal who;
    Clock::time_point stored;
    bool expired = false;  // expire_all(): read the store again, but usable while it is down
  };
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, Entry> by_hash;
  };
  static constexpr std::size_t kShards = 16;
  static constexpr std::size_t kPerShard = 8192;
  std::chrono::milliseconds ttl;
  std::array<Shard, kShards> shards;

  Shard& shard_of(std::string_view hash) { return shards[std::hash<std::string_view>{}(hash) % kShards]; }

  std::optional<Principal> find(const std::string& hash, bool stale_ok) {
    auto& shard = shard_of(hash);
    std::lock_guard lock(shard.mutex);
    auto it = shard.by_hash.find(hash);
    if (it == shard.by_hash.end()) return std::nullopt;
    if (!stale_ok && (it->second.expired || Clock::now() - it->second.stored > ttl)) return std::nullopt;
    return it->second.who;
  }
  void put(const std::string& hash, const Principal& who) {
    auto& shard = shard_of(hash);
    std::lock_guard lock(shard.mutex);
    if (shard.by_hash.size() >= kPerShard) shard.by_hash.erase(shard.by_hash.begin());
    shard.by_hash[hash] = Entry{who, Clock::now()};
  }
  void drop(const std::string& hash) {
    auto& shard = shard_of(hash);
    std::lock_guard lock(shard.mutex);
    shard.by_hash.erase(hash);
  }
  void expire_all() {
    for (auto& shard : shards) {
      std::lock_guard lock(shard.mutex);
      for (auto& [hash, e] : shard.by_hash) e.expired = true;
    }
  }
  void forget_key(std::string_view key_id) {
    for (auto& shard : shards) {
      std::lock_guard lock(shard.mutex);
      std::erase_if(shard.by_hash, [&](const auto& e) { return e.second.who.key_id == key_id; });
    }
  }
};

Authenticator::Authenticator(store::Store& store, crypto::Secret admin_key, std::chrono::milliseconds ttl)
    : store_(store), admin_key_hash_(crypto::hash_key(admin_key.reveal())), cache_(std::make_unique<Cache>()) {
  cache_->ttl = ttl;
}

Authenticator::~Authenticator() = default;

void Authenticator::forget_key(std::string_view key_id) { cache_->forget_key(key_id); }

void Authenticator::expire_all() { cache_->expire_all(); }

namespace {

constexpr std::string_view kBearer = "Bearer ";

// Made only when a key is refused: a known key's call builds no message.
errors::Error denied() {
  return errors::Error{Code::unauthenticated, "a valid API key is required: send Authorization: Bearer <key>"};
}

// The key of `Authorization: Bearer <key>`, or nullopt for any other header.
std::optional<std::string_view> bearer_key(std::string_view header) {
  if (header.size() <= kBearer.size() || header.substr(0, kBearer.size()) != kBearer) return std::nullopt;
  return header.substr(kBearer.size());
}

// Hashing first makes the comparisons constant-time in the key's contents. (The
// memo's hash outlives a call: its connection carries one request at a time.)
const std::string& key_hash(std::string_view key, crypto::KeyHashMemo* memo, std::string& owned) {
  return memo ? memo->hash(key) : (owned = crypto::hash_key(key));
}

}  // namespace

std::optional<AuthResult> Authenticator::known_by_hash(const std::string& hash) {
  if (crypto::constant_time_equal(hash, admin_key_hash_)) return Principal{Principal::Kind::admin, {}, {}};
  if (auto cached = cache_->find(hash, false)) return std::move(*cached);
  return std::nullopt;
}

std::optional<AuthResult> Authenticator::known(std::string_view header, crypto::KeyHashMemo* memo) {
  auto key = bearer_key(header);
  if (!key) return denied();
  std::string owned;
  return known_by_hash(key_hash(*key, memo, owned));
}

boost::asio::awaitable<AuthResult> Authenticator::authenticate(std::string_view header, crypto::KeyHashMemo* memo) {
  auto key = bearer_key(header);
  if (!key) co_return denied();
  std::string owned;
  const std::string& hash = key_hash(*key, memo, owned);
  if (auto answer = known_by_hash(hash)) co_return std::move(*answer);
  auto found = co_await store_.find_api_key_by_hash(hash);
  if (!found) {
    if (found.is(store::Errc::not_found)) {
      cache_->drop(hash);
      co_return denied();
    }
    // The store is down: a key known to be valid keeps working.
    if (auto stale = cache_->find(hash, true)) co_return *stale;
    co_return errors::Error{Code::store_unavailable, "the store cannot be reached to check the API key"};
  }
  if (found->revoked_at) {
    cache_->drop(hash);
    co_return denied();
  }
  Principal who{Principal::Kind::tenant, found->tenant_id, found->id};
  cache_->put(hash, who);
  co_return who;
}

std::variant<std::string, errors::Error> acting_tenant(const Principal& who, std::string_view tenant_header) {
  if (!who.is_admin()) {
    if (!tenant_header.empty() && tenant_header != who.tenant_id)
      return errors::Error{Code::forbidden, "a tenant key acts only for its own tenant; drop Tollgate-Tenant"};
    return who.tenant_id;
  }
  if (tenant_header.empty())
    return errors::Error{Code::bad_request, "the admin key must name the tenant with the Tollgate-Tenant header"};
  return std::string(tenant_header);
}

}  // namespace tollgate::auth
