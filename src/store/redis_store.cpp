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
#include <utility>

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

template <typename T>
Result<T> decode(std::string_view body);
template <>
Result<Tenant> decode<Tenant>(std::string_view body) {
  return codec::decode_tenant(body);
}
template <>
Result<ApiKey> decode<ApiKey>(std::string_view body) {
  return codec::decode_api_key(body);
}
template <>
Result<ProviderSetting> decode<ProviderSetting>(std::string_view body) {
  return codec::decode_provider_setting(body);
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

class RedisStoreImpl final : public RedisStore {
 public:
  RedisStoreImpl(redis::ConnectionOptions options, std::string key_prefix)
      : keys_(std::move(key_prefix)), connection_(std::move(options)) {}

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
      auto written = co_await cas_write<ApiKey>(op, std::move(record), std::move(next), "api key");
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

  template <typename T>
  static Result<T> record_from(std::string_view op, const Value& reply, const std::string& missing) {
    if (reply.is_nil()) return Error{Errc::not_found, std::string(op) + ": " + missing};
    if (!reply.is_string()) return unexpected(op, reply);
    auto record = decode<T>(reply.text);
    if (!record) return with_context(record.error(), op);
    return record;
  }

  template <typename T>
  Task<T> read_record(std::string_view op, std::string key, std::string missing) {
    Argv argv = {"HGET", std::move(key), "body"};
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
      reads.push_back(Argv{"HGET", record_key(*id), "body"});
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

  // Compare-and-set: writes `record` if the stored version is record.version,
  // answering it at version + 1. created_at is fixed at creation (lists are
  // ordered by it), so a body that would move it is rewritten with the stored one.
  template <typename T>
  Task<T> cas_write(std::string_view op, std::string key, T record, std::string_view what) {
    const std::uint64_t expected = record.version;
    record.version = expected + 1;
    for (int round = 0; round < 2; ++round) {
      Argv keys = {key};
      Argv args = {std::to_string(expected), std::to_string(record.version), codec::encode(record),
                   std::to_string(record.created_at)};
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

  redis::Keys keys_;
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
