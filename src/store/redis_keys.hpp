#pragma once
// The Redis store's key layout and Lua scripts (the README's "Redis store"
// section describes the same).
//
// Keys, under the prefix P (RedisOptions::key_prefix, "tollgate:" by default),
// laid out so that a move to Redis Cluster needs nothing but the hash tags
// already there: everything of one tenant shares the tag {<tenant id>}, the
// global indexes share the tag {idx}.
//
//   P{<tenant>}:tenant             hash  body (the codec's JSON), version, created_at
//   P{<tenant>}:keys               zset  the tenant's api keys, members index_member(created_at, key id)
//   P{<tenant>}:key:<key id>       hash  body, version, created_at
//   P{<tenant>}:provider:<key>     hash  body, version (the tenant's mode and app for a provider)
//   P{<tenant>}:providers          set   the providers the tenant has a setting for
//   P{<tenant>}:session:<id>       hash  body, version, created_at, state_hash (a setup session)
//   P{<tenant>}:sessions           zset  the tenant's setup sessions, members index_member(created_at, id)
//   P{<tenant>}:auth:<id>          hash  body, version, created_at (an auth config)
//   P{<tenant>}:auths              zset  the tenant's auth configs, members index_member(created_at, id)
//   P{idx}:tenants                 zset  every tenant, members index_member(created_at, tenant id)
//   P{idx}:key_id:<key id>         string  the key's tenant id (get_api_key by id alone)
//   P{idx}:key_hash:<hash>         string  "<tenant id> <key id>" (find_api_key_by_hash)
//   P{idx}:session_id:<id>         string  the setup session's tenant id (get_setup_session by id alone)
//   P{idx}:session_state:<hash>    string  "<tenant id> <session id>" of the session whose state_hash this is
//                                          (none for an empty state_hash; moved by the update script)
//   P{idx}:pending_sessions        zset  the ids of pending setup sessions, scored by expires_at
//                                        (present iff status is pending; list_expired_setup_sessions)
//   P{idx}:auth_id:<id>            string  the auth config's tenant id (get_auth_config by id alone)
//   P{<tenant>}:lock:refresh:<id>  string  the owner token of the refresh lock of auth config <id> (PX ttl)
//   P{idx}:changes                 string  the change counter: incremented by every published change
//   channel P{idx}:changes:<db>    pub/sub "<counter> <kind> <version> <lookups> <id>" per auth config
//                                          or API key write (see cas_update)
//
// Metering:
//   P{<tenant>}:auth:<id>          field last_used_at, beside body: written only by the usage flush
//   P{<tenant>}:usage:<day>        hash  "<provider>\t<auth config id>\t<mode>\t<counter>" → count, for the
//                                        UTC day <day> (days since 1970-01-01); counters calls, errors,
//                                        refreshes, request_bytes, response_bytes
//   P{<tenant>}:usage_days         zset  the days the tenant has usage on (member and score: the day)
//   P{<tenant>}:rate               hash  tokens, ts: the tenant's shared token bucket (expires when full)
//   P{idx}:usage_tenants           set   the tenants that have usage
//   P{idx}:usage_shard:<shard>     string the highest batch seq applied from that journal shard
//
// A usage batch is one script over every key it touches (apply_usage); under
// Cluster it would split per tenant, each part guarded by its own
// P{<tenant>}:usage_shard:<shard> watermark, so each part stays idempotent.
//
// Lists are sorted sets whose members all have score 0 and are read with
// ZRANGEBYLEX: a member is the created_at as 20 zero-padded digits (offset by
// 2^63 so negative times sort too), ':' and the id, so byte order is creation
// order then id order — SQLite's ORDER BY created_at, id — and a cursor's
// position is the exclusive lower bound "(<member>".
//
// Writes are single Lua scripts (EVALSHA, falling back to EVAL on NOSCRIPT), so
// a record and its indexes change together or not at all. Lists of setup
// sessions and auth configs are filtered by the store as it reads the index
// (status, provider and external user are in the body): it reads on until it
// has one match more than the page or the index ends, so a next_cursor means
// that a match follows, as in SQLite (a filter that matches few records reads
// much of the tenant's index, in batches of up to 1000). Under Cluster:
//   - cas_update touches one record: it stays as it is (update_auth_config uses it);
//   - create_tenant touches {<tenant>} and {idx}: it would split into the
//     record write (slot of the tenant) followed by an idempotent ZADD to
//     P{idx}:tenants (a crash between leaves a tenant missing from lists until
//     the retried create adds it);
//   - create_api_key touches {<tenant>} and {idx}: it would split into claiming
//     P{idx}:key_id and P{idx}:key_hash (SET NX in one {idx} script), then
//     writing the record and P{<tenant>}:keys (one {<tenant>} script), releasing
//     the claims if the tenant is missing;
//   - create_auth_config is create_api_key without the hash claim;
//   - create_session claims P{idx}:session_id and P{idx}:session_state like
//     create_api_key, then writes the record and P{<tenant>}:sessions, then adds
//     the id to P{idx}:pending_sessions (an idempotent ZADD);
//   - update_session would be the record's compare-and-set (its {<tenant>} slot)
//     followed by an idempotent {idx} script moving the state mapping and the
//     pending entry to what the record now says. Every key it touches, including
//     the old state mapping (which the store reads from the record first), is
//     named in KEYS already.
// Reads are plain single-key commands, pipelined: they need no change.
#include <optional>
#include <string>
#include <string_view>

#include "tollgate/store/records.hpp"

namespace tollgate::store::redis {

class Keys {
 public:
  explicit Keys(std::string prefix) : prefix_(std::move(prefix)) {}

  std::string tenant(std::string_view tenant_id) const { return tagged(tenant_id) + ":tenant"; }
  std::string tenant_keys(std::string_view tenant_id) const { return tagged(tenant_id) + ":keys"; }
  std::string api_key(std::string_view tenant_id, std::string_view key_id) const {
    return tagged(tenant_id) + ":key:" + std::string(key_id);
  }
  std::string provider_setting(std::string_view tenant_id, std::string_view provider) const {
    return tagged(tenant_id) + ":provider:" + std::string(provider);
  }
  std::string provider_settings(std::string_view tenant_id) const { return tagged(tenant_id) + ":providers"; }
  std::string setup_session(std::string_view tenant_id, std::string_view id) const {
    return tagged(tenant_id) + ":session:" + std::string(id);
  }
  std::string setup_sessions(std::string_view tenant_id) const { return tagged(tenant_id) + ":sessions"; }
  std::string auth_config(std::string_view tenant_id, std::string_view id) const {
    return tagged(tenant_id) + ":auth:" + std::string(id);
  }
  std::string auth_configs(std::string_view tenant_id) const { return tagged(tenant_id) + ":auths"; }
  std::string tenants_index() const { return prefix_ + "{idx}:tenants"; }
  std::string key_by_id(std::string_view key_id) const { return prefix_ + "{idx}:key_id:" + std::string(key_id); }
  std::string key_by_hash(std::string_view hash) const { return prefix_ + "{idx}:key_hash:" + std::string(hash); }
  std::string session_by_id(std::string_view id) const { return prefix_ + "{idx}:session_id:" + std::string(id); }
  std::string session_by_state(std::string_view state_hash) const {
    return prefix_ + "{idx}:session_state:" + std::string(state_hash);
  }
  std::string pending_sessions() const { return prefix_ + "{idx}:pending_sessions"; }
  std::string auth_by_id(std::string_view id) const { return prefix_ + "{idx}:auth_id:" + std::string(id); }
  std::string usage_day(std::string_view tenant_id, Day day) const {
    return tagged(tenant_id) + ":usage:" + std::to_string(day);
  }
  std::string usage_days(std::string_view tenant_id) const { return tagged(tenant_id) + ":usage_days"; }
  std::string rate(std::string_view tenant_id) const { return tagged(tenant_id) + ":rate"; }
  std::string usage_tenants() const { return prefix_ + "{idx}:usage_tenants"; }
  std::string usage_shard(std::string_view shard) const { return prefix_ + "{idx}:usage_shard:" + std::string(shard); }
  std::string refresh_lock(std::string_view tenant_id, std::string_view auth_config_id) const {
    return tagged(tenant_id) + ":lock:refresh:" + std::string(auth_config_id);
  }
  // The change counter; `changes_channel` is where changes are published (per
  // database: pub/sub channels are shared by every database of a server).
  std::string changes() const { return prefix_ + "{idx}:changes"; }
  std::string changes_channel(int db) const { return prefix_ + "{idx}:changes:" + std::to_string(db); }

 private:
  std::string tagged(std::string_view tenant_id) const { return prefix_ + "{" + std::string(tenant_id) + "}"; }
  std::string prefix_;
};

// A list index member: byte order = (created_at, id) order.
std::string index_member(Millis created_at, std::string_view id);
// The id in a member index_member() made; nullopt for anything else.
std::optional<std::string> id_of_index_member(std::string_view member);

// A usage hash field: "<provider>\t<auth config id>\t<mode>" (the counter's
// name is appended by the script), and its parts read back.
std::string usage_field(std::string_view provider, std::string_view auth_config_id, std::string_view mode);
struct UsageField {
  std::string provider, auth_config_id, mode, counter;
};
std::optional<UsageField> parse_usage_field(std::string_view field);
// A rate as Lua's tonumber reads it, without exponent notation.
std::string decimal_text(double value);

struct Script {
  std::string source;
  std::string sha1;  // hex, what EVALSHA takes
};

namespace scripts {
// KEYS: record, tenants index. ARGV: body, version, created_at, index member.
// Answers {"OK"} (also for a retried create that did apply: same body) or {"CONFLICT"}.
const Script& create_tenant();
// KEYS: tenant record, key record, tenant's key index, key_id index, key_hash index.
// ARGV: body, version, created_at, index member, tenant id, "<tenant id> <key id>".
// Answers {"OK"}, {"NOT_FOUND"} (no such tenant), {"CONFLICT_ID"} or {"CONFLICT_HASH"}.
const Script& create_api_key();
// KEYS: record[, change counter]. ARGV: expected version, new version, new body,
// the body's created_at[, change channel, kind ("a" auth config, "k" API key), id].
// With a channel, a write that applies increments the change counter and
// publishes "<counter> <kind> <new version> <lookups> <id>" on the channel
// (lookups: 1 when an auth config's status changed). Answers {"OK"} (also for a retried update that did apply: at the new version
// with the same body), {"NOT_FOUND"}, {"CONFLICT", stored version} or
// {"CREATED_AT", stored created_at} when the body would move it (nothing written).
const Script& cas_update();
// KEYS: setting record, the tenant's provider set, tenant record. ARGV: expected
// version (0 = create), new version, new body, provider key. Answers {"OK"} (also
// for a resend that did apply), {"NO_TENANT"}, {"NOT_FOUND"} or {"CONFLICT", stored version}.
// One tenant's keys only: unchanged under Cluster.
const Script& put_setting();
// KEYS: tenant record, record, the tenant's index, id index. ARGV: body, version,
// created_at, index member, tenant id[, change channel, id] (KEYS[5]: the change
// counter, with a channel; the create is published like cas_update's, lookups 1).
// Answers {"OK"} (also for a resend that did apply: same body), {"NOT_FOUND"}
// (no such tenant) or {"CONFLICT_ID"}. For auth configs.
const Script& create_record();
// KEYS: tenant record, session record, the tenant's session index, session_id
// index, session_state index of the session's state_hash, pending_sessions.
// ARGV: body, version, created_at, index member, tenant id, "<tenant id> <session
// id>", state_hash ("" = none), status, expires_at, session id. Answers {"OK"}
// (also for a resend that did apply: same body), {"NOT_FOUND"} (no such tenant),
// {"CONFLICT_ID"} or {"CONFLICT_STATE"} (another session has that state_hash).
const Script& create_session();
// Compare-and-set of a setup session that keeps its indexes in step.
// KEYS: session record, session_state index of the old state_hash (any key when
// it is ""), session_state index of the new state_hash (likewise), pending_sessions.
// ARGV: expected version, new version, new body, the body's created_at, the old
// state_hash the caller read, the new state_hash, "<tenant id> <session id>",
// new status, new expires_at, session id.
// Answers {"OK"} (also for a resend that did apply: at the new version with the
// same body), {"NOT_FOUND"}, {"CONFLICT", stored version}, {"CREATED_AT", stored
// created_at}, {"STATE_MOVED"} (the stored state_hash is not the one the caller
// read: read again) or {"CONFLICT_STATE"} (another session has the new state_hash);
// nothing is written unless the answer is OK.
const Script& update_session();
// KEYS: the shard's watermark, usage_tenants, then per row its usage:<day> hash
// and usage_days index, then per last_used entry the auth config record.
// ARGV: seq, row count, per row: tenant id, day, usage field, calls, errors,
// refreshes, request bytes, response bytes; then the last_used count and per
// entry its time. Answers {"DUPLICATE"} (seq not above the watermark: nothing
// written) or {"OK"}. last_used_at moves only forward, only on records that exist.
const Script& apply_usage();
// KEYS: the tenant's rate hash. ARGV: rate per second, capacity, want. Answers
// {granted, retry_after_ms}; the clock is the server's (TIME), shared by all.
const Script& take_tokens();
// KEYS: the lock. ARGV: owner, ttl ms. Answers 1 when `owner` holds it now, else 0.
const Script& lock_acquire();
// KEYS: the lock. ARGV: owner, ttl ms. Answers 1 when extended (owner still held it), else 0.
const Script& lock_renew();
// KEYS: the lock. ARGV: owner. Deletes it only while `owner` holds it; answers 1 then, else 0.
const Script& lock_release();
}  // namespace scripts

}  // namespace tollgate::store::redis
