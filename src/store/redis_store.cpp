// The Redis backend. Records are the codec's JSON, the same text SQLite keeps,
// in hashes laid out as redis_keys.hpp describes; writes are Lua scripts that
// change a record and its indexes at once; reads are plain commands, pipelined.
// The store's logic (encoding, decoding, retry loops) runs on the caller's
// executor; only the Redis I/O goes to the connection's thread.
//
// Every write is safe to send twice, because the connection resends a command
// that was in flight when a connection dropped, and a caller may retry after
// a timeout: a create whose record exists with the same body answers as if it
// had just been written, and so does an update that finds the record already
// at the new version with the same body.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <map>
#include <set>
#include <tuple>
#include <type_traits>
#include <utility>

#include "change_feed.hpp"
#include "codec.hpp"
#include "cursor.hpp"
#include "redis_connection.hpp"
#include "redis_keys.hpp"
#include "redis_url.hpp"
#include "tollgate/store/redis.hpp"

namespace tollgate::store {
namespace {

using redis::Argv;
using redis::Replies;
using redis::Value;

using codec::decode;

// A list filter: each non-empty field must equal the record's.
template <typename Filter, typename T>
bool matches(const Filter& filter, const T& record) {
  return (filter.status.empty() || record.status == filter.status) &&
         (filter.provider.empty() || record.provider == filter.provider) &&
         (filter.external_user_id.empty() || record.external_user_id == filter.external_user_id);
}

// "<tenant id> <record id>", as the state index keeps it; empty parts when malformed.
std::pair<std::string, std::string> split_owner(std::string_view text) {
  const auto space = text.find(' ');
  if (space == std::string_view::npos) return {};
  return {std::string(text.substr(0, space)), std::string(text.substr(space + 1))};
}

Error with_context(Error error, std::string_view operation) {
  error.message = std::string(operation) + ": " + error.message;
  return error;
}

// An error reply as a store error. Redis error texts name commands and types,
// never the arguments, so they are safe to pass on (shortened).
Error from_reply(std::string_view operation, const Value& reply) {
  if (reply.is_error("WRONGTYPE")) {
    return Error{Errc::corrupt, std::string(operation) + ": a stored key holds a type the store did not write"};
  }
  return Error{Errc::unavailable, std::string(operation) + ": redis answered " + reply.text.substr(0, 200)};
}

Error unexpected(std::string_view operation, const Value& reply) {
  if (reply.is_error()) return from_reply(operation, reply);
  return Error{Errc::unavailable, std::string(operation) + ": unexpected answer from redis"};
}

// A script's answer: the first element of the array it returns.
std::string answer_of(const Value& reply) {
  return reply.is_array() && !reply.elements.empty() ? reply.elements[0].text : std::string();
}

std::optional<std::int64_t> parse_int(std::string_view text) {
  std::int64_t out = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return out;
}

// One more than this is asked for, to know whether another page follows.
constexpr std::size_t kMaxPage = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max() - 1);
constexpr int kMaxRevokeRounds = 16;
// Reads and compare-and-set attempts of one update_setup_session that finds the record moving under it.
constexpr int kMaxUpdateRounds = 8;
// Index members read per round trip by a filtered list.
constexpr std::size_t kMinListBatch = 64;
constexpr std::size_t kMaxListBatch = 1000;

class RedisStoreImpl final : public RedisStore {
 public:
  RedisStoreImpl(redis::ConnectionOptions options, std::string key_prefix)
      : keys_(std::move(key_prefix)),
        channel_(keys_.changes_channel(options.server.db)),
        connection_(std::move(options)) {}

  Task<Unit> ping() override {
    Argv argv = {"PING"};
    auto reply = co_await command("ping", std::move(argv));
    if (!reply) co_return reply.error();
    if (reply->is_error()) co_return from_reply("ping", reply.value());
    co_return Unit{};
  }

  Task<std::string> persistence_warning() override {
    constexpr std::string_view op = "persistence_warning";
    std::vector<Argv> commands;
    commands.push_back(Argv{"CONFIG", "GET", "appendonly"});
    commands.push_back(Argv{"CONFIG", "GET", "save"});
    auto replies = co_await pipeline(op, std::move(commands));
    if (!replies) co_return replies.error();
    auto setting = [](const Value& reply) -> std::optional<std::string> {
      if (!reply.is_array() || reply.elements.size() != 2) return std::nullopt;
      return reply.elements[1].text;
    };
    const auto appendonly = setting(replies.value()[0]);
    const auto save = setting(replies.value()[1]);
    if (!appendonly || !save) co_return std::string();  // CONFIG refused: cannot tell
    if (*appendonly == "no" && save->empty()) {
      co_return std::string(
          "the Redis server keeps no data across a restart (appendonly is no and save is empty): "
          "every tenant and key would be lost; set appendonly yes (appendfsync everysec or always) or RDB save rules");
    }
    co_return std::string();
  }

  RedisStats stats() const override { return connection_.stats(); }

  // ---- tenants -------------------------------------------------------------

  Task<Tenant> create_tenant(Tenant tenant) override {
    constexpr std::string_view op = "create_tenant";
    tenant.version = 1;
    Argv keys = {keys_.tenant(tenant.id), keys_.tenants_index()};
    Argv args = {codec::encode(tenant), "1", std::to_string(tenant.created_at),
                 redis::index_member(tenant.created_at, tenant.id)};
    auto reply = co_await eval(op, redis::scripts::create_tenant(), std::move(keys), std::move(args));
    if (!reply) co_return reply.error();
    const std::string answer = answer_of(reply.value());
    if (answer == "OK") co_return tenant;
    if (answer == "CONFLICT") co_return Error{Errc::conflict, "create_tenant: tenant " + tenant.id + " already exists"};
    co_return unexpected(op, reply.value());
  }

  Task<Tenant> get_tenant(std::string id) override {
    std::string missing = "no tenant " + id;
    co_return co_await read_record<Tenant>("get_tenant", keys_.tenant(id), std::move(missing));
  }

  Task<Page<Tenant>> list_tenants(std::string cursor, std::size_t limit) override {
    auto record_key = [this](const std::string& id) { return keys_.tenant(id); };
    co_return co_await list<Tenant>("list_tenants", keys_.tenants_index(), std::move(cursor), limit, record_key);
  }

  Task<Tenant> update_tenant(Tenant tenant) override {
    std::string key = keys_.tenant(tenant.id);
    co_return co_await cas_write<Tenant>("update_tenant", std::move(key), std::move(tenant), "tenant");
  }

  // ---- api keys --------------------------------------------------------------

  Task<ApiKey> create_api_key(ApiKey key) override {
    constexpr std::string_view op = "create_api_key";
    key.version = 1;
    Argv keys = {keys_.tenant(key.tenant_id), keys_.api_key(key.tenant_id, key.id), keys_.tenant_keys(key.tenant_id),
                 keys_.key_by_id(key.id), keys_.key_by_hash(key.hash)};
    Argv args = {codec::encode(key),        "1", std::to_string(key.created_at), redis::index_member(key.created_at, key.id),
                 key.tenant_id, key.tenant_id + " " + key.id};
    auto reply = co_await eval(op, redis::scripts::create_api_key(), std::move(keys), std::move(args));
    if (!reply) co_return reply.error();
    const std::string answer = answer_of(reply.value());
    if (answer == "OK") co_return key;
    if (answer == "NOT_FOUND") co_return Error{Errc::not_found, "create_api_key: no tenant " + key.tenant_id};
    if (answer == "CONFLICT_ID") co_return Error{Errc::conflict, "create_api_key: api key " + key.id + " already exists"};
    if (answer == "CONFLICT_HASH") {
      co_return Error{Errc::conflict, "create_api_key: an api key with the same hash already exists"};
    }
    co_return unexpected(op, reply.value());
  }

  Task<ApiKey> get_api_key(std::string id) override { return read_api_key("get_api_key", std::move(id)); }

  Task<ApiKey> find_api_key_by_hash(std::string hash) override {
    constexpr std::string_view op = "find_api_key_by_hash";
    Argv argv = {"GET", keys_.key_by_hash(hash)};
    auto owner = co_await command(op, std::move(argv));
    if (!owner) co_return owner.error();
    if (owner->is_nil()) co_return Error{Errc::not_found, "find_api_key_by_hash: no api key with that hash"};
    if (!owner->is_string()) co_return unexpected(op, owner.value());
    const std::string& text = owner->text;
    const auto space = text.find(' ');
    if (space == std::string::npos) co_return Error{Errc::corrupt, "find_api_key_by_hash: the hash index entry is malformed"};
    std::string key = keys_.api_key(std::string_view(text).substr(0, space), std::string_view(text).substr(space + 1));
    co_return co_await read_record<ApiKey>(op, std::move(key), "no api key with that hash");
  }

  Task<Page<ApiKey>> list_api_keys(std::string tenant_id, std::string cursor, std::size_t limit) override {
    auto record_key = [this, tenant_id](const std::string& id) { return keys_.api_key(tenant_id, id); };
    std::string index = keys_.tenant_keys(tenant_id);
    co_return co_await list<ApiKey>("list_api_keys", std::move(index), std::move(cursor), limit, record_key);
  }

  // Read, then compare-and-set on the version read: a concurrent revoke makes
  // the write a conflict, and the next read finds the key revoked and answers it.
  Task<ApiKey> revoke_api_key(std::string id, Millis at) override {
    constexpr std::string_view op = "revoke_api_key";
    for (int round = 0; round < kMaxRevokeRounds; ++round) {
      auto key = co_await read_api_key(op, id);
      if (!key || key->revoked_at) co_return key;  // revoking again changes nothing, so writes nothing
      ApiKey next = std::move(key).value();
      next.revoked_at = at;
      std::string record = keys_.api_key(next.tenant_id, next.id);
      auto written = co_await cas_write<ApiKey>(op, std::move(record), std::move(next), "api key", "k");
      if (!written.is(Errc::conflict)) co_return written;
    }
    co_return Error{Errc::conflict, "revoke_api_key: api key " + id + " kept changing"};
  }

  // ---- provider settings -------------------------------------------------------

  Task<ProviderSetting> get_provider_setting(std::string tenant_id, std::string provider) override {
    std::string key = keys_.provider_setting(tenant_id, provider);
    co_return co_await read_record<ProviderSetting>("get_provider_setting", std::move(key), "none for " + provider);
  }

  Task<std::vector<ProviderSetting>> list_provider_settings(std::string tenant_id) override {
    constexpr std::string_view op = "list_provider_settings";
    Argv members = {"SMEMBERS", keys_.provider_settings(tenant_id)};
    auto names = co_await command(op, std::move(members));
    if (!names) co_return names.error();
    if (!names->is_array()) co_return unexpected(op, names.value());
    std::vector<std::string> providers;
    for (const Value& v : names->elements) providers.push_back(v.text);
    std::sort(providers.begin(), providers.end());
    std::vector<Argv> reads;
    for (const auto& p : providers) reads.push_back(Argv{"HGET", keys_.provider_setting(tenant_id, p), "body"});
    auto bodies = co_await pipeline(op, std::move(reads));
    if (!bodies) co_return bodies.error();
    std::vector<ProviderSetting> out;
    for (const Value& body : bodies.value()) {
      auto record = record_from<ProviderSetting>(op, body, "");
      if (record.is(Errc::not_found)) continue;
      if (!record) co_return record.error();
      out.push_back(std::move(record).value());
    }
    co_return out;
  }

  Task<ProviderSetting> put_provider_setting(ProviderSetting setting) override {
    constexpr std::string_view op = "put_provider_setting";
    const std::uint64_t expected = setting.version;
    setting.version = expected + 1;
    Argv keys = {keys_.provider_setting(setting.tenant_id, setting.provider), keys_.provider_settings(setting.tenant_id),
                 keys_.tenant(setting.tenant_id)};
    Argv args = {std::to_string(expected), std::to_string(setting.version), codec::encode(setting), setting.provider};
    auto reply = co_await eval(op, redis::scripts::put_setting(), std::move(keys), std::move(args));
    if (!reply) co_return reply.error();
    const std::string word = answer_of(reply.value());
    if (word == "OK") co_return setting;
    if (word == "NO_TENANT") co_return Error{Errc::not_found, "put_provider_setting: no tenant " + setting.tenant_id};
    if (word == "NOT_FOUND") co_return Error{Errc::not_found, "put_provider_setting: none for " + setting.provider};
    if (word == "CONFLICT")
      co_return Error{Errc::conflict, "put_provider_setting: the setting for " + setting.provider + " changed"};
    co_return unexpected(op, reply.value());
  }

  // ---- setup sessions ------------------------------------------------------------

  Task<SetupSession> create_setup_session(SetupSession session) override {
    constexpr std::string_view op = "create_setup_session";
    session.version = 1;
    Argv keys = {keys_.tenant(session.tenant_id),
                 keys_.setup_session(session.tenant_id, session.id),
                 keys_.setup_sessions(session.tenant_id),
                 keys_.session_by_id(session.id),
                 keys_.session_by_state(session.state_hash),
                 keys_.pending_sessions()};
    Argv args = {codec::encode(session),
                 "1",
                 std::to_string(session.created_at),
                 redis::index_member(session.created_at, session.id),
                 session.tenant_id,
                 session.tenant_id + " " + session.id,
                 session.state_hash,
                 session.status,
                 std::to_string(session.expires_at),
                 session.id};
    auto reply = co_await eval(op, redis::scripts::create_session(), std::move(keys), std::move(args));
    if (!reply) co_return reply.error();
    const std::string word = answer_of(reply.value());
    if (word == "OK") co_return session;
    if (word == "NOT_FOUND") co_return Error{Errc::not_found, "create_setup_session: no tenant " + session.tenant_id};
    if (word == "CONFLICT_ID") {
      co_return Error{Errc::conflict, "create_setup_session: setup session " + session.id + " already exists"};
    }
    if (word == "CONFLICT_STATE") {
      co_return Error{Errc::conflict, "create_setup_session: a setup session with the same state exists"};
    }
    co_return unexpected(op, reply.value());
  }

  Task<SetupSession> get_setup_session(std::string id) override {
    auto record_key = [this, id](const std::string& tenant_id) { return keys_.setup_session(tenant_id, id); };
    std::string owner = keys_.session_by_id(id);
    co_return co_await read_via_owner<SetupSession>("get_setup_session", std::move(owner), record_key,
                                                    "no setup session " + id);
  }

  Task<SetupSession> find_setup_session_by_state(std::string state_hash) override {
    constexpr std::string_view op = "find_setup_session_by_state";
    const std::string missing = "no setup session with that state";
    if (state_hash.empty()) co_return Error{Errc::not_found, std::string(op) + ": " + missing};
    Argv argv = {"GET", keys_.session_by_state(state_hash)};
    auto owner = co_await command(op, std::move(argv));
    if (!owner) co_return owner.error();
    if (owner->is_nil()) co_return Error{Errc::not_found, std::string(op) + ": " + missing};
    if (!owner->is_string()) co_return unexpected(op, owner.value());
    const std::pair<std::string, std::string> tenant_and_id = split_owner(owner->text);
    if (tenant_and_id.first.empty() || tenant_and_id.second.empty()) {
      co_return Error{Errc::corrupt, std::string(op) + ": the state index entry is malformed"};
    }
    std::string key = keys_.setup_session(tenant_and_id.first, tenant_and_id.second);
    auto session = co_await read_record<SetupSession>(op, std::move(key), missing);
    if (session.is(Errc::not_found)) {
      co_return Error{Errc::corrupt, std::string(op) + ": the state index names a setup session that does not exist"};
    }
    if (session && session->state_hash != state_hash) {
      co_return Error{Errc::corrupt, std::string(op) + ": the state index and the setup session disagree"};
    }
    co_return session;
  }

  // Reads the stored created_at and state_hash first, so the script is told
  // (in KEYS) which state mapping to remove; the script refuses with
  // STATE_MOVED if the record changed in between, and this reads again.
  Task<SetupSession> update_setup_session(SetupSession session) override {
    constexpr std::string_view op = "update_setup_session";
    const std::uint64_t expected = session.version;
    const std::string record = keys_.setup_session(session.tenant_id, session.id);
    const std::string not_found = "update_setup_session: no setup session " + session.id;
    for (int round = 0; round < kMaxUpdateRounds; ++round) {
      Argv read = {"HMGET", record, "version", "created_at", "state_hash"};
      auto current = co_await command(op, std::move(read));
      if (!current) co_return current.error();
      if (current->is_error()) co_return from_reply(op, current.value());
      if (!current->is_array() || current->elements.size() != 3) co_return unexpected(op, current.value());
      if (current->elements[0].is_nil()) co_return Error{Errc::not_found, not_found};
      const auto created_at = parse_int(current->elements[1].text);
      if (!created_at) {
        co_return Error{Errc::corrupt, "update_setup_session: setup session " + session.id + " has no valid created_at"};
      }
      const std::string old_state = current->elements[2].is_nil() ? std::string() : current->elements[2].text;

      SetupSession next = session;
      next.created_at = *created_at;  // fixed at creation: lists are ordered by it
      next.version = expected + 1;
      Argv keys = {record, keys_.session_by_state(old_state), keys_.session_by_state(next.state_hash),
                   keys_.pending_sessions()};
      Argv args = {std::to_string(expected),
                   std::to_string(next.version),
                   codec::encode(next),
                   std::to_string(next.created_at),
                   old_state,
                   next.state_hash,
                   next.tenant_id + " " + next.id,
                   next.status,
                   std::to_string(next.expires_at),
                   next.id};
      auto reply = co_await eval(op, redis::scripts::update_session(), std::move(keys), std::move(args));
      if (!reply) co_return reply.error();
      const Value& answer = reply.value();
      const std::string word = answer_of(answer);
      if (word == "OK") co_return next;
      if (word == "NOT_FOUND") co_return Error{Errc::not_found, not_found};
      if (word == "CONFLICT" && answer.elements.size() == 2) {
        co_return Error{Errc::conflict, "update_setup_session: setup session " + next.id + " is at version " +
                                            answer.elements[1].text + ", not " + std::to_string(expected)};
      }
      if (word == "CONFLICT_STATE") {
        co_return Error{Errc::conflict, "update_setup_session: another setup session has the same state"};
      }
      if (word == "STATE_MOVED" || word == "CREATED_AT") continue;  // changed since the read: read again
      co_return unexpected(op, answer);
    }
    co_return Error{Errc::conflict, "update_setup_session: setup session " + session.id + " kept changing"};
  }

  Task<Page<SetupSession>> list_setup_sessions(std::string tenant_id, SetupSessionFilter filter, std::string cursor,
                                               std::size_t limit) override {
    auto record_key = [this, tenant_id](const std::string& id) { return keys_.setup_session(tenant_id, id); };
    auto wanted = [filter = std::move(filter)](const SetupSession& s) { return matches(filter, s); };
    std::string index = keys_.setup_sessions(tenant_id);
    co_return co_await filtered_list<SetupSession>("list_setup_sessions", std::move(index), std::move(cursor), limit,
                                                   record_key, wanted);
  }

  // The pending index in expiry order, then each session's tenant, then the sessions.
  Task<std::vector<SetupSession>> list_expired_setup_sessions(Millis now, std::size_t limit) override {
    constexpr std::string_view op = "list_expired_setup_sessions";
    std::vector<SetupSession> out;
    if (limit == 0) co_return out;
    const std::size_t count = std::min(limit, kMaxPage);
    Argv range = {"ZRANGEBYSCORE", keys_.pending_sessions(), "-inf", "(" + std::to_string(now), "LIMIT", "0",
                  std::to_string(count)};
    auto ids = co_await command(op, std::move(range));
    if (!ids) co_return ids.error();
    if (!ids->is_array()) co_return unexpected(op, ids.value());

    std::vector<Argv> owner_reads;
    owner_reads.reserve(ids->elements.size());
    for (const Value& id : ids->elements) owner_reads.push_back(Argv{"GET", keys_.session_by_id(id.text)});
    auto owners = co_await pipeline(op, std::move(owner_reads));
    if (!owners) co_return owners.error();

    std::vector<Argv> reads;
    reads.reserve(owners->size());
    for (std::size_t i = 0; i < owners->size(); ++i) {
      const Value& owner = owners.value()[i];
      if (owner.is_error()) co_return from_reply(op, owner);
      if (!owner.is_string()) {
        co_return Error{Errc::corrupt, std::string(op) + ": the pending index names a setup session that does not exist"};
      }
      reads.push_back(Argv{"HGET", keys_.setup_session(owner.text, ids->elements[i].text), "body"});
    }
    auto bodies = co_await pipeline(op, std::move(reads));
    if (!bodies) co_return bodies.error();
    out.reserve(bodies->size());
    for (const Value& body : bodies.value()) {
      auto record = record_from<SetupSession>(op, body, "");
      if (record.is(Errc::not_found)) {
        co_return Error{Errc::corrupt, std::string(op) + ": the pending index names a setup session that does not exist"};
      }
      if (!record) co_return record.error();
      out.push_back(std::move(record).value());
    }
    co_return out;
  }

  // ---- auth configs -----------------------------------------------------------------

  Task<AuthConfig> create_auth_config(AuthConfig config) override {
    constexpr std::string_view op = "create_auth_config";
    config.version = 1;
    Argv keys = {keys_.tenant(config.tenant_id), keys_.auth_config(config.tenant_id, config.id),
                 keys_.auth_configs(config.tenant_id), keys_.auth_by_id(config.id)};
    keys.push_back(keys_.changes());
    Argv args = {codec::encode(config), "1", std::to_string(config.created_at),
                 redis::index_member(config.created_at, config.id), config.tenant_id, channel_, config.id};
    auto reply = co_await eval(op, redis::scripts::create_record(), std::move(keys), std::move(args));
    if (!reply) co_return reply.error();
    const std::string word = answer_of(reply.value());
    if (word == "OK") co_return config;
    if (word == "NOT_FOUND") co_return Error{Errc::not_found, "create_auth_config: no tenant " + config.tenant_id};
    if (word == "CONFLICT_ID") {
      co_return Error{Errc::conflict, "create_auth_config: auth config " + config.id + " already exists"};
    }
    co_return unexpected(op, reply.value());
  }

  Task<AuthConfig> get_auth_config(std::string id) override {
    auto record_key = [this, id](const std::string& tenant_id) { return keys_.auth_config(tenant_id, id); };
    std::string owner = keys_.auth_by_id(id);
    co_return co_await read_via_owner<AuthConfig>("get_auth_config", std::move(owner), record_key,
                                                  "no auth config " + id);
  }

  // Nothing global depends on a field an update may change, so the plain
  // compare-and-set of one record does.
  Task<AuthConfig> update_auth_config(AuthConfig config) override {
    std::string record = keys_.auth_config(config.tenant_id, config.id);
    co_return co_await cas_write<AuthConfig>("update_auth_config", std::move(record), std::move(config), "auth config",
                                             "a");
  }

  Task<Page<AuthConfig>> list_auth_configs(std::string tenant_id, AuthConfigFilter filter, std::string cursor,
                                           std::size_t limit) override {
    auto record_key = [this, tenant_id](const std::string& id) { return keys_.auth_config(tenant_id, id); };
    auto wanted = [filter = std::move(filter)](const AuthConfig& c) { return matches(filter, c); };
    std::string index = keys_.auth_configs(tenant_id);
    co_return co_await filtered_list<AuthConfig>("list_auth_configs", std::move(index), std::move(cursor), limit,
                                                 record_key, wanted);
  }

  // ---- cross-instance refresh ---------------------------------------------------------

  Task<bool> acquire_refresh_lock(std::string tenant_id, std::string auth_config_id, std::string owner,
                                  std::chrono::milliseconds ttl) override {
    Argv args = {std::move(owner), std::to_string(ttl.count())};
    co_return co_await lock_script("acquire_refresh_lock", redis::scripts::lock_acquire(),
                                   keys_.refresh_lock(tenant_id, auth_config_id), std::move(args));
  }
  Task<bool> renew_refresh_lock(std::string tenant_id, std::string auth_config_id, std::string owner,
                                std::chrono::milliseconds ttl) override {
    Argv args = {std::move(owner), std::to_string(ttl.count())};
    co_return co_await lock_script("renew_refresh_lock", redis::scripts::lock_renew(),
                                   keys_.refresh_lock(tenant_id, auth_config_id), std::move(args));
  }
  Task<bool> release_refresh_lock(std::string tenant_id, std::string auth_config_id, std::string owner) override {
    Argv args = {std::move(owner)};
    co_return co_await lock_script("release_refresh_lock", redis::scripts::lock_release(),
                                   keys_.refresh_lock(tenant_id, auth_config_id), std::move(args));
  }

  // Pub/sub on the change channel plus a read of the change counter every
  // 250 ms (change_feed.hpp): a change whose message does not come is noticed
  // within two reads and reported as a resync.
  void watch_changes(ChangeHandler handler) override {
    redis::Connection::Watch watch;
    watch.channel = channel_;
    watch.counter_key = keys_.changes();
    auto shared = std::make_shared<ChangeHandler>(std::move(handler));
    watch.on_message = [this, shared](const std::string& payload) {
      auto published = redis::parse_change(payload);
      if (!published) return;
      tracker_.on_message(published->seq);
      (*shared)(published->change);
    };
    watch.on_poll = [this, shared](std::int64_t counter) {
      if (tracker_.on_poll(counter)) (*shared)(Change{Change::Kind::resync, {}, 0, true});
    };
    connection_.watch(std::move(watch));
  }

  // ---- metering ---------------------------------------------------------------------

  Task<bool> apply_usage_batch(UsageBatch batch) override {
    constexpr std::string_view op = "apply_usage_batch";
    Argv keys = {keys_.usage_shard(batch.shard), keys_.usage_tenants()};
    Argv args = {std::to_string(batch.seq), std::to_string(batch.rows.size())};
    for (const UsageRow& row : batch.rows) {
      keys.push_back(keys_.usage_day(row.tenant_id, row.day));
      keys.push_back(keys_.usage_days(row.tenant_id));
      args.push_back(row.tenant_id);
      args.push_back(std::to_string(row.day));
      args.push_back(redis::usage_field(row.provider, row.auth_config_id, row.mode));
      args.push_back(std::to_string(row.counts.calls));
      args.push_back(std::to_string(row.counts.errors));
      args.push_back(std::to_string(row.counts.refreshes));
      args.push_back(std::to_string(row.counts.request_bytes));
      args.push_back(std::to_string(row.counts.response_bytes));
    }
    args.push_back(std::to_string(batch.last_used.size()));
    for (const AuthConfigUse& use : batch.last_used) {
      keys.push_back(keys_.auth_config(use.tenant_id, use.auth_config_id));
      args.push_back(std::to_string(use.at));
    }
    auto reply = co_await eval(op, redis::scripts::apply_usage(), std::move(keys), std::move(args));
    if (!reply) co_return reply.error();
    const std::string word = answer_of(reply.value());
    if (word == "OK") co_return true;
    if (word == "DUPLICATE") co_return false;
    co_return unexpected(op, reply.value());
  }

  Task<std::vector<UsageRow>> query_usage(UsageFilter filter, Day from_day, Day to_day) override {
    constexpr std::string_view op = "query_usage";
    std::vector<UsageRow> out;
    if (from_day >= to_day) co_return out;
    std::vector<std::string> tenants;
    if (!filter.tenant_id.empty()) {
      tenants.push_back(filter.tenant_id);
    } else {
      Argv members = {"SMEMBERS", keys_.usage_tenants()};
      auto names = co_await command(op, std::move(members));
      if (!names) co_return names.error();
      if (!names->is_array()) co_return unexpected(op, names.value());
      for (const Value& v : names->elements) tenants.push_back(v.text);
    }
    // Which days each tenant has usage on, then those days' hashes: two round trips.
    std::vector<Argv> day_reads;
    for (const auto& t : tenants) {
      day_reads.push_back(Argv{"ZRANGEBYSCORE", keys_.usage_days(t), std::to_string(from_day),
                               "(" + std::to_string(to_day)});
    }
    auto days = co_await pipeline(op, std::move(day_reads));
    if (!days) co_return days.error();
    std::vector<std::pair<std::string, Day>> where;
    std::vector<Argv> reads;
    for (std::size_t i = 0; i < tenants.size(); ++i) {
      const Value& list = days.value()[i];
      if (!list.is_array()) co_return unexpected(op, list);
      for (const Value& d : list.elements) {
        const auto day = parse_int(d.text);
        if (!day) co_return Error{Errc::corrupt, "query_usage: a usage day index holds a member the store did not write"};
        where.emplace_back(tenants[i], *day);
        reads.push_back(Argv{"HGETALL", keys_.usage_day(tenants[i], *day)});
      }
    }
    auto hashes = co_await pipeline(op, std::move(reads));
    if (!hashes) co_return hashes.error();
    for (std::size_t i = 0; i < where.size(); ++i) {
      const Value& hash = hashes.value()[i];
      if (!hash.is_array() || hash.elements.size() % 2 != 0) co_return unexpected(op, hash);
      std::map<std::tuple<std::string, std::string, std::string>, UsageCounts> rows;
      for (std::size_t f = 0; f < hash.elements.size(); f += 2) {
        auto field = redis::parse_usage_field(hash.elements[f].text);
        const auto n = parse_int(hash.elements[f + 1].text);
        if (!field || !n || *n < 0) co_return Error{Errc::corrupt, "query_usage: a usage hash holds a field the store did not write"};
        if (!filter.provider.empty() && field->provider != filter.provider) continue;
        if (!filter.auth_config_id.empty() && field->auth_config_id != filter.auth_config_id) continue;
        UsageCounts& c = rows[{field->provider, field->auth_config_id, field->mode}];
        const auto value = static_cast<std::uint64_t>(*n);
        if (field->counter == "calls") c.calls = value;
        else if (field->counter == "errors") c.errors = value;
        else if (field->counter == "refreshes") c.refreshes = value;
        else if (field->counter == "request_bytes") c.request_bytes = value;
        else if (field->counter == "response_bytes") c.response_bytes = value;
      }
      for (auto& [key, counts] : rows) {
        UsageRow row;
        row.tenant_id = where[i].first;
        row.day = where[i].second;
        std::tie(row.provider, row.auth_config_id, row.mode) = key;
        row.counts = counts;
        out.push_back(std::move(row));
      }
    }
    std::sort(out.begin(), out.end(), [](const UsageRow& a, const UsageRow& b) {
      return std::tie(a.day, a.tenant_id, a.provider, a.auth_config_id, a.mode) <
             std::tie(b.day, b.tenant_id, b.provider, b.auth_config_id, b.mode);
    });
    co_return out;
  }

  Task<RateGrant> take_rate_tokens(std::string tenant_id, double rate_per_second, std::uint64_t capacity,
                                   std::uint64_t want) override {
    constexpr std::string_view op = "take_rate_tokens";
    Argv keys = {keys_.rate(tenant_id)};
    Argv args = {redis::decimal_text(rate_per_second), std::to_string(capacity), std::to_string(want)};
    auto reply = co_await eval(op, redis::scripts::take_tokens(), std::move(keys), std::move(args));
    if (!reply) co_return reply.error();
    const Value& answer = reply.value();
    if (!answer.is_array() || answer.elements.size() != 2) co_return unexpected(op, answer);
    RateGrant grant;
    grant.granted = static_cast<std::uint64_t>(std::max<std::int64_t>(0, answer.elements[0].integer));
    grant.retry_after_ms = std::max<std::int64_t>(0, answer.elements[1].integer);
    co_return grant;
  }

 private:
  // One command; transport failures as store errors, error replies as values.
  Task<Value> command(std::string_view op, Argv argv) {
    std::vector<Argv> commands;
    commands.push_back(std::move(argv));
    auto replies = co_await connection_.execute(std::move(commands));
    if (!replies) co_return with_context(replies.error(), op);
    co_return std::move(replies.value().front());
  }

  // Several commands in one round trip.
  Task<Replies> pipeline(std::string_view op, std::vector<Argv> commands) {
    if (commands.empty()) co_return Replies{};
    auto replies = co_await connection_.execute(std::move(commands));
    if (!replies) co_return with_context(replies.error(), op);
    co_return std::move(replies).value();
  }

  // EVALSHA, then EVAL when the server does not have the script (a restart, a
  // failover, SCRIPT FLUSH). Error replies come back as store errors.
  Task<Value> eval(std::string_view op, const redis::Script& script, Argv keys, Argv args) {
    Argv argv;
    argv.reserve(3 + keys.size() + args.size());
    argv.push_back("EVALSHA");
    argv.push_back(script.sha1);
    argv.push_back(std::to_string(keys.size()));
    for (auto& k : keys) argv.push_back(std::move(k));
    for (auto& a : args) argv.push_back(std::move(a));
    auto reply = co_await command(op, argv);
    if (reply && reply->is_error("NOSCRIPT")) {
      argv[0] = "EVAL";
      argv[1] = script.source;
      reply = co_await command(op, std::move(argv));
    }
    if (reply && reply->is_error()) co_return from_reply(op, reply.value());
    co_return reply;
  }

  // The command that reads a record: its body, and for an auth config the
  // last_used_at the metering flush keeps beside it (the later of the two wins).
  template <typename T>
  static Argv read_argv(std::string key) {
    if constexpr (std::is_same_v<T, AuthConfig>) return Argv{"HMGET", std::move(key), "body", "last_used_at"};
    return Argv{"HGET", std::move(key), "body"};
  }

  template <typename T>
  static Result<T> record_from(std::string_view op, const Value& reply, const std::string& missing) {
    if (reply.is_array() && reply.elements.size() == 2) {  // HMGET body last_used_at
      auto record = record_from<T>(op, reply.elements[0], missing);
      if constexpr (std::is_same_v<T, AuthConfig>) {
        const auto used = reply.elements[1].is_string() ? parse_int(reply.elements[1].text) : std::nullopt;
        if (record && used && (!record->last_used_at || *record->last_used_at < *used)) record->last_used_at = *used;
      }
      return record;
    }
    if (reply.is_nil()) return Error{Errc::not_found, std::string(op) + ": " + missing};
    if (!reply.is_string()) return unexpected(op, reply);
    auto record = decode<T>(reply.text);
    if (!record) return with_context(record.error(), op);
    return record;
  }

  template <typename T>
  Task<T> read_record(std::string_view op, std::string key, std::string missing) {
    Argv argv = read_argv<T>(std::move(key));
    auto reply = co_await command(op, std::move(argv));
    if (!reply) co_return reply.error();
    co_return record_from<T>(op, reply.value(), missing);
  }

  Task<ApiKey> read_api_key(std::string_view op, std::string id) {
    Argv argv = {"GET", keys_.key_by_id(id)};
    auto owner = co_await command(op, std::move(argv));
    if (!owner) co_return owner.error();
    if (owner->is_nil()) co_return Error{Errc::not_found, std::string(op) + ": no api key " + id};
    if (!owner->is_string()) co_return unexpected(op, owner.value());
    std::string key = keys_.api_key(owner->text, id);
    co_return co_await read_record<ApiKey>(op, std::move(key), "no api key " + id);
  }

  // One page of the index `index` (see redis_keys.hpp), then the records it
  // names, fetched in one pipelined round trip.
  template <typename T, typename RecordKey>
  Task<Page<T>> list(std::string_view op, std::string index, std::string cursor, std::size_t limit,
                     RecordKey record_key) {
    std::string from = "-";
    if (!cursor.empty()) {
      const auto after = decode_cursor(cursor);
      if (!after) co_return Error{Errc::bad_cursor, std::string(op) + ": the cursor is not one this store handed out"};
      from = "(" + redis::index_member(after->created_at, after->id);
    }
    const std::size_t page_size = std::clamp<std::size_t>(limit, 1, kMaxPage);
    Argv range = {"ZRANGEBYLEX", std::move(index), std::move(from), "+", "LIMIT", "0", std::to_string(page_size + 1)};
    auto members = co_await command(op, std::move(range));
    if (!members) co_return members.error();
    if (!members->is_array()) co_return unexpected(op, members.value());

    std::vector<Argv> reads;
    reads.reserve(members->elements.size());
    for (const Value& member : members->elements) {
      const auto id = redis::id_of_index_member(member.text);
      if (!id) co_return Error{Errc::corrupt, std::string(op) + ": the list index holds a member the store did not write"};
      reads.push_back(read_argv<T>(record_key(*id)));
    }
    auto bodies = co_await pipeline(op, std::move(reads));
    if (!bodies) co_return bodies.error();

    Page<T> page;
    page.items.reserve(bodies->size());
    for (const Value& body : bodies.value()) {
      auto record = record_from<T>(op, body, "");
      if (record.is(Errc::not_found)) {
        co_return Error{Errc::corrupt, std::string(op) + ": the list index names a record that does not exist"};
      }
      if (!record) co_return record.error();
      page.items.push_back(std::move(record).value());
    }
    if (page.items.size() > page_size) {
      page.items.resize(page_size);
      page.next_cursor = encode_cursor({page.items.back().created_at, page.items.back().id});
    }
    co_return page;
  }

  // The record whose owning tenant the string at `owner_key` names (a
  // P{idx}:<kind>_id:<id> entry); not_found when there is none.
  template <typename T, typename RecordKey>
  Task<T> read_via_owner(std::string_view op, std::string owner_key, RecordKey record_key, std::string missing) {
    Argv argv = {"GET", std::move(owner_key)};
    auto owner = co_await command(op, std::move(argv));
    if (!owner) co_return owner.error();
    if (owner->is_nil()) co_return Error{Errc::not_found, std::string(op) + ": " + missing};
    if (!owner->is_string()) co_return unexpected(op, owner.value());
    std::string key = record_key(owner->text);
    co_return co_await read_record<T>(op, std::move(key), std::move(missing));
  }

  // Like list(), keeping only the records `wanted` accepts: reads the index a
  // batch at a time until it has one match more than the page (so there is a
  // next page) or the index ends (so there is none). The cursor is the last
  // record returned, as in list(): the next page reads on from just after it,
  // so pages neither repeat nor skip a record.
  template <typename T, typename RecordKey, typename Wanted>
  Task<Page<T>> filtered_list(std::string_view op, std::string index, std::string cursor, std::size_t limit,
                              RecordKey record_key, Wanted wanted) {
    std::string from = "-";
    if (!cursor.empty()) {
      const auto after = decode_cursor(cursor);
      if (!after) co_return Error{Errc::bad_cursor, std::string(op) + ": the cursor is not one this store handed out"};
      from = "(" + redis::index_member(after->created_at, after->id);
    }
    const std::size_t page_size = std::clamp<std::size_t>(limit, 1, kMaxPage);
    const std::size_t batch = std::clamp<std::size_t>(page_size + 1, kMinListBatch, kMaxListBatch);
    Page<T> page;
    bool more = true;
    while (more && page.items.size() <= page_size) {
      Argv range = {"ZRANGEBYLEX", index, from, "+", "LIMIT", "0", std::to_string(batch)};
      auto members = co_await command(op, std::move(range));
      if (!members) co_return members.error();
      if (!members->is_array()) co_return unexpected(op, members.value());
      more = members->elements.size() == batch;
      if (members->elements.empty()) break;

      std::vector<Argv> reads;
      reads.reserve(members->elements.size());
      for (const Value& member : members->elements) {
        const auto id = redis::id_of_index_member(member.text);
        if (!id) {
          co_return Error{Errc::corrupt, std::string(op) + ": the list index holds a member the store did not write"};
        }
        reads.push_back(read_argv<T>(record_key(*id)));
      }
      auto bodies = co_await pipeline(op, std::move(reads));
      if (!bodies) co_return bodies.error();
      for (const Value& body : bodies.value()) {
        auto record = record_from<T>(op, body, "");
        if (record.is(Errc::not_found)) {
          co_return Error{Errc::corrupt, std::string(op) + ": the list index names a record that does not exist"};
        }
        if (!record) co_return record.error();
        if (!wanted(record.value())) continue;
        page.items.push_back(std::move(record).value());
        if (page.items.size() > page_size) break;  // one match past the page: a next page exists
      }
      from = "(" + members->elements.back().text;
    }
    if (page.items.size() > page_size) {
      page.items.resize(page_size);
      page.next_cursor = encode_cursor({page.items.back().created_at, page.items.back().id});
    }
    co_return page;
  }

  // Compare-and-set: writes `record` if the stored version is record.version,
  // answering it at version + 1. created_at is fixed at creation (lists are
  // ordered by it), so a body that would move it is rewritten with the stored one.
  // With a `publish` kind ("a", "k"), a write that applies is published on the
  // change feed (scripts::cas_update).
  template <typename T>
  Task<T> cas_write(std::string_view op, std::string key, T record, std::string_view what,
                    std::string_view publish = {}) {
    const std::uint64_t expected = record.version;
    record.version = expected + 1;
    for (int round = 0; round < 2; ++round) {
      Argv keys = {key};
      Argv args = {std::to_string(expected), std::to_string(record.version), codec::encode(record),
                   std::to_string(record.created_at)};
      if (!publish.empty()) {
        keys.push_back(keys_.changes());
        args.push_back(channel_);
        args.push_back(std::string(publish));
        args.push_back(record.id);
      }
      auto reply = co_await eval(op, redis::scripts::cas_update(), std::move(keys), std::move(args));
      if (!reply) co_return reply.error();
      const Value& answer = reply.value();
      const std::string word = answer_of(answer);
      if (word == "OK") co_return record;
      if (word == "NOT_FOUND") {
        co_return Error{Errc::not_found, std::string(op) + ": no " + std::string(what) + " " + record.id};
      }
      if (word == "CONFLICT" && answer.elements.size() == 2) {
        co_return Error{Errc::conflict, std::string(op) + ": " + std::string(what) + " " + record.id +
                                            " is at version " + answer.elements[1].text + ", not " +
                                            std::to_string(expected)};
      }
      if (word == "CREATED_AT" && answer.elements.size() == 2) {
        const auto stored = parse_int(answer.elements[1].text);
        if (!stored) {
          co_return Error{Errc::corrupt, std::string(op) + ": " + std::string(what) + " " + record.id +
                                             " has no valid created_at"};
        }
        record.created_at = *stored;
        continue;
      }
      co_return unexpected(op, answer);
    }
    co_return Error{Errc::conflict, std::string(op) + ": " + std::string(what) + " " + record.id + " kept changing"};
  }

  Task<bool> lock_script(std::string_view op, const redis::Script& script, std::string key, Argv args) {
    Argv keys = {std::move(key)};
    auto reply = co_await eval(op, script, std::move(keys), std::move(args));
    if (!reply) co_return reply.error();
    if (reply->kind != Value::Kind::integer) co_return unexpected(op, reply.value());
    co_return reply->integer == 1;
  }

  redis::Keys keys_;
  std::string channel_;
  redis::ChangeTracker tracker_;  // used only on the connection's thread
  redis::Connection connection_;  // last: closed (and its thread joined) first
};

}  // namespace

std::unique_ptr<RedisStore> open_redis(const RedisOptions& options) {
  redis::ConnectionOptions connection;
  connection.server = redis::parse_redis_url(options.url);
  for (const auto& sentinel : options.sentinels) connection.sentinels.push_back(redis::parse_host_port(sentinel));
  if (!connection.sentinels.empty() && options.master_name.empty()) {
    throw std::invalid_argument("redis: sentinels are set but master_name is empty");
  }
  if (options.command_timeout <= std::chrono::milliseconds::zero()) {
    throw std::invalid_argument("redis: command_timeout must be more than 0");
  }
  connection.master_name = options.master_name;
  connection.command_timeout = options.command_timeout;
  return std::make_unique<RedisStoreImpl>(std::move(connection), options.key_prefix);
}

}  // namespace tollgate::store
