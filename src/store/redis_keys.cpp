#include "redis_keys.hpp"

#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <cstdio>

namespace tollgate::store::redis {
namespace {

constexpr std::size_t kDigits = 20;  // 2^64 - 1 has 20 decimal digits

std::string sha1_hex(std::string_view text) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest.data(), &length, EVP_sha1(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

Script make(std::string source) {
  Script s;
  s.sha1 = sha1_hex(source);
  s.source = std::move(source);
  return s;
}

}  // namespace

std::string index_member(Millis created_at, std::string_view id) {
  // Offset binary: int64 order becomes unsigned order, and fixed width makes it byte order.
  const auto biased = static_cast<std::uint64_t>(created_at) ^ (std::uint64_t{1} << 63);
  std::array<char, kDigits + 1> digits{};
  std::snprintf(digits.data(), digits.size(), "%020llu", static_cast<unsigned long long>(biased));
  std::string out(digits.data(), kDigits);
  out += ':';
  out += id;
  return out;
}

std::optional<std::string> id_of_index_member(std::string_view member) {
  if (member.size() <= kDigits + 1 || member[kDigits] != ':') return std::nullopt;
  for (std::size_t i = 0; i < kDigits; ++i) {
    if (member[i] < '0' || member[i] > '9') return std::nullopt;
  }
  return std::string(member.substr(kDigits + 1));
}

std::string usage_field(std::string_view provider, std::string_view auth_config_id, std::string_view mode) {
  std::string out(provider);
  out += '\t';
  out += auth_config_id;
  out += '\t';
  out += mode;
  return out;
}

std::optional<UsageField> parse_usage_field(std::string_view field) {
  UsageField out;
  std::array<std::string*, 4> parts = {&out.provider, &out.auth_config_id, &out.mode, &out.counter};
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const auto tab = field.find('\t');
    if ((tab == std::string_view::npos) != (i == parts.size() - 1)) return std::nullopt;
    *parts[i] = std::string(field.substr(0, tab));
    if (tab != std::string_view::npos) field.remove_prefix(tab + 1);
  }
  return out;
}

std::string decimal_text(double value) {
  std::array<char, 64> text{};
  std::snprintf(text.data(), text.size(), "%.6f", value);
  return text.data();
}

namespace scripts {

const Script& create_tenant() {
  static const Script s = make(R"lua(
-- tollgate create_tenant
if redis.call('EXISTS', KEYS[1]) == 1 then
  if redis.call('HGET', KEYS[1], 'body') == ARGV[1] then return {'OK'} end
  return {'CONFLICT'}
end
redis.call('HSET', KEYS[1], 'body', ARGV[1], 'version', ARGV[2], 'created_at', ARGV[3])
redis.call('ZADD', KEYS[2], 0, ARGV[4])
return {'OK'}
)lua");
  return s;
}

const Script& create_api_key() {
  static const Script s = make(R"lua(
-- tollgate create_api_key
if redis.call('EXISTS', KEYS[1]) == 0 then return {'NOT_FOUND'} end
if redis.call('EXISTS', KEYS[2]) == 1 then
  if redis.call('HGET', KEYS[2], 'body') == ARGV[1] then return {'OK'} end
  return {'CONFLICT_ID'}
end
if redis.call('EXISTS', KEYS[4]) == 1 then return {'CONFLICT_ID'} end
if redis.call('EXISTS', KEYS[5]) == 1 then return {'CONFLICT_HASH'} end
redis.call('HSET', KEYS[2], 'body', ARGV[1], 'version', ARGV[2], 'created_at', ARGV[3])
redis.call('ZADD', KEYS[3], 0, ARGV[4])
redis.call('SET', KEYS[4], ARGV[5])
redis.call('SET', KEYS[5], ARGV[6])
return {'OK'}
)lua");
  return s;
}

const Script& cas_update() {
  static const Script s = make(R"lua(
-- tollgate cas_update
local current = redis.call('HMGET', KEYS[1], 'version', 'created_at', 'body')
if not current[1] then return {'NOT_FOUND'} end
if current[1] == ARGV[1] then
  if current[2] ~= ARGV[4] then return {'CREATED_AT', current[2] or ''} end
  redis.call('HSET', KEYS[1], 'version', ARGV[2], 'body', ARGV[3])
  if ARGV[5] and ARGV[5] ~= '' then
    local lookups = '0'
    if ARGV[6] == 'a' then
      local function status_of(body)
        local ok, record = pcall(cjson.decode, body or '')
        if ok and type(record) == 'table' then return record['status'] end
        return nil
      end
      if status_of(current[3]) ~= status_of(ARGV[3]) then lookups = '1' end
    end
    local seq = redis.call('INCR', KEYS[2])
    redis.call('PUBLISH', ARGV[5], seq .. ' ' .. ARGV[6] .. ' ' .. ARGV[2] .. ' ' .. lookups .. ' ' .. ARGV[7])
  end
  return {'OK'}
end
if current[1] == ARGV[2] and current[3] == ARGV[3] then return {'OK'} end
return {'CONFLICT', current[1]}
)lua");
  return s;
}

const Script& put_setting() {
  static const Script s = make(R"lua(
-- tollgate put_setting
if redis.call('EXISTS', KEYS[3]) == 0 then return {'NO_TENANT'} end
local current = redis.call('HMGET', KEYS[1], 'version', 'body')
if current[1] and current[1] == ARGV[2] and current[2] == ARGV[3] then return {'OK'} end
if not current[1] then
  if ARGV[1] ~= '0' then return {'NOT_FOUND'} end
elseif current[1] ~= ARGV[1] then
  return {'CONFLICT', current[1]}
end
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'body', ARGV[3])
redis.call('SADD', KEYS[2], ARGV[4])
return {'OK'}
)lua");
  return s;
}

const Script& create_record() {
  static const Script s = make(R"lua(
-- tollgate create_record
if redis.call('EXISTS', KEYS[1]) == 0 then return {'NOT_FOUND'} end
if redis.call('EXISTS', KEYS[2]) == 1 then
  if redis.call('HGET', KEYS[2], 'body') == ARGV[1] then return {'OK'} end
  return {'CONFLICT_ID'}
end
if redis.call('EXISTS', KEYS[4]) == 1 then return {'CONFLICT_ID'} end
redis.call('HSET', KEYS[2], 'body', ARGV[1], 'version', ARGV[2], 'created_at', ARGV[3])
redis.call('ZADD', KEYS[3], 0, ARGV[4])
redis.call('SET', KEYS[4], ARGV[5])
if ARGV[6] and ARGV[6] ~= '' then
  local seq = redis.call('INCR', KEYS[5])
  redis.call('PUBLISH', ARGV[6], seq .. ' a ' .. ARGV[2] .. ' 1 ' .. ARGV[7])
end
return {'OK'}
)lua");
  return s;
}

const Script& create_session() {
  static const Script s = make(R"lua(
-- tollgate create_session
if redis.call('EXISTS', KEYS[1]) == 0 then return {'NOT_FOUND'} end
if redis.call('EXISTS', KEYS[2]) == 1 then
  if redis.call('HGET', KEYS[2], 'body') == ARGV[1] then return {'OK'} end
  return {'CONFLICT_ID'}
end
if redis.call('EXISTS', KEYS[4]) == 1 then return {'CONFLICT_ID'} end
if ARGV[7] ~= '' and redis.call('EXISTS', KEYS[5]) == 1 then return {'CONFLICT_STATE'} end
redis.call('HSET', KEYS[2], 'body', ARGV[1], 'version', ARGV[2], 'created_at', ARGV[3], 'state_hash', ARGV[7])
redis.call('ZADD', KEYS[3], 0, ARGV[4])
redis.call('SET', KEYS[4], ARGV[5])
if ARGV[7] ~= '' then redis.call('SET', KEYS[5], ARGV[6]) end
if ARGV[8] == 'pending' then redis.call('ZADD', KEYS[6], ARGV[9], ARGV[10]) end
return {'OK'}
)lua");
  return s;
}

const Script& update_session() {
  static const Script s = make(R"lua(
-- tollgate update_session
local current = redis.call('HMGET', KEYS[1], 'version', 'created_at', 'body', 'state_hash')
if not current[1] then return {'NOT_FOUND'} end
if current[1] == ARGV[1] then
  if current[2] ~= ARGV[4] then return {'CREATED_AT', current[2] or ''} end
  if (current[4] or '') ~= ARGV[5] then return {'STATE_MOVED'} end
  if ARGV[6] ~= '' and ARGV[6] ~= ARGV[5] then
    local owner = redis.call('GET', KEYS[3])
    if owner and owner ~= ARGV[7] then return {'CONFLICT_STATE'} end
  end
  if ARGV[5] ~= '' and ARGV[5] ~= ARGV[6] and redis.call('GET', KEYS[2]) == ARGV[7] then
    redis.call('DEL', KEYS[2])
  end
  if ARGV[6] ~= '' then redis.call('SET', KEYS[3], ARGV[7]) end
  redis.call('HSET', KEYS[1], 'version', ARGV[2], 'body', ARGV[3], 'state_hash', ARGV[6])
  if ARGV[8] == 'pending' then
    redis.call('ZADD', KEYS[4], ARGV[9], ARGV[10])
  else
    redis.call('ZREM', KEYS[4], ARGV[10])
  end
  return {'OK'}
end
if current[1] == ARGV[2] and current[3] == ARGV[3] then return {'OK'} end
return {'CONFLICT', current[1]}
)lua");
  return s;
}

const Script& apply_usage() {
  static const Script s = make(R"lua(
-- tollgate apply_usage
local applied = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) <= applied then return {'DUPLICATE'} end
redis.call('SET', KEYS[1], ARGV[1])
local rows = tonumber(ARGV[2])
local a = 3
local k = 3
local counters = {'calls', 'errors', 'refreshes', 'request_bytes', 'response_bytes'}
for i = 1, rows do
  local field = ARGV[a + 2]
  for c = 1, 5 do
    local n = ARGV[a + 2 + c]
    if n ~= '0' then redis.call('HINCRBY', KEYS[k], field .. '\t' .. counters[c], n) end
  end
  redis.call('ZADD', KEYS[k + 1], ARGV[a + 1], ARGV[a + 1])
  redis.call('SADD', KEYS[2], ARGV[a])
  a = a + 8
  k = k + 2
end
local uses = tonumber(ARGV[a])
a = a + 1
for i = 1, uses do
  if redis.call('EXISTS', KEYS[k]) == 1 then
    local before = tonumber(redis.call('HGET', KEYS[k], 'last_used_at') or '0')
    if tonumber(ARGV[a]) > before then redis.call('HSET', KEYS[k], 'last_used_at', ARGV[a]) end
  end
  a = a + 1
  k = k + 1
end
return {'OK'}
)lua");
  return s;
}

const Script& take_tokens() {
  static const Script s = make(R"lua(
-- tollgate take_tokens
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = capacity
  ts = now
end
if now > ts then
  tokens = math.min(capacity, tokens + (now - ts) * rate / 1000)
  ts = now
end
if tokens > capacity then tokens = capacity end
local granted = math.min(want, math.floor(tokens))
tokens = tokens - granted
local retry = 0
if granted == 0 then
  if rate > 0 then retry = math.ceil((1 - tokens) * 1000 / rate) else retry = 1000 end
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'ts', ts)
if rate > 0 then
  redis.call('PEXPIRE', KEYS[1], math.ceil(capacity * 1000 / rate) + 1000)
else
  redis.call('PEXPIRE', KEYS[1], 60000)
end
return {granted, retry}
)lua");
  return s;
}

// The refresh lock (DESIGN "Distributed refresh"). Taking it is SET NX PX
// made safe to resend: a resend after a lost answer finds its own owner there.
const Script& lock_acquire() {
  static const Script s = make(R"lua(
-- tollgate lock_acquire
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if holder then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
)lua");
  return s;
}

const Script& lock_renew() {
  static const Script s = make(R"lua(
-- tollgate lock_renew
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
)lua");
  return s;
}

const Script& lock_release() {
  static const Script s = make(R"lua(
-- tollgate lock_release
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
)lua");
  return s;
}

}  // namespace scripts

}  // namespace tollgate::store::redis
