#include <algorithm>
#include <map>

#include "scalars.hpp"
#include "sections.hpp"
#include "tollgate/crypto/encoding.hpp"

namespace tollgate::config::detail {
namespace {

constexpr std::size_t kKeyBytes = 32;  // AES-256
constexpr std::size_t kMaxIdLength = 255;

bool is_visible_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

std::optional<std::string> read_key_id(Reader& r, const Value& v) {
  const auto id = read_string(r, v);
  if (!id) return std::nullopt;
  if (id->empty() || id->size() > kMaxIdLength || !is_visible_ascii(*id)) {
    r.error(v, "expected a key id of 1 to 255 visible ASCII characters (no spaces)");
    return std::nullopt;
  }
  return id;
}

// The messages here describe the value's shape only: the value is a master key.
std::optional<crypto::Secret> read_key_value(Reader& r, const Value& v) {
  auto text = read_string(r, v);
  if (!text) return std::nullopt;
  crypto::Secret value{std::move(*text)};
  constexpr std::string_view kExpected =
      "expected the base64 of exactly 32 random bytes (make one with `openssl rand -base64 32`)";
  auto bytes = crypto::base64_decode(value.reveal());
  if (!bytes) {
    r.error(v, std::string(kExpected) + "; this value is not valid base64");
    return std::nullopt;
  }
  const crypto::Secret decoded{std::move(*bytes)};
  if (decoded.size() != kKeyBytes) {
    r.error(v, std::string(kExpected) + "; this value decodes to " + std::to_string(decoded.size()) + " bytes");
    return std::nullopt;
  }
  return value;
}

// Returns every id the list names, including those of entries that had other problems.
std::map<std::string, int> read_inline_keys(Reader& r, const Value& v, std::vector<InlineKey>& out) {
  std::map<std::string, int> first_line;
  r.read_list(v, [&](const Value& entry) {
    InlineKey key;
    bool has_id = false;
    bool has_value = false;
    bool ok = true;
    const bool is_map = r.read_map(entry, {
        {"id",
         [&](const Value& x) {
           has_id = true;
           const auto id = read_key_id(r, x);
           if (!id) {
             ok = false;
             return;
           }
           const auto [first, inserted] = first_line.emplace(*id, x.pos.line);
           if (!inserted) {
             r.error(x, "duplicate key id \"" + *id + "\" (first used at line " + std::to_string(first->second) +
                            "); each key needs its own id");
             ok = false;
           }
           key.id = *id;
         }},
        {"value",
         [&](const Value& x) {
           has_value = true;
           auto value = read_key_value(r, x);
           ok = ok && value.has_value();
           set(key.value, std::move(value));
         }},
    });
    if (!is_map) return;
    if (!has_id) r.error(entry.pos, child_path(entry.path, "id"), "missing: each key needs an id");
    if (!has_value) {
      r.error(entry.pos, child_path(entry.path, "value"), "missing: each key needs a value (base64 of 32 bytes)");
    }
    if (has_id && has_value && ok) out.push_back(std::move(key));
  });
  return first_line;
}

}  // namespace

void read_secrets(Reader& r, const Value& v, Secrets& out) {
  std::optional<Value> keys_file;
  std::optional<Value> keys;
  std::optional<Value> primary;
  r.read_map(v, {
      {"keys_file", [&](const Value& x) { keys_file = x; }},
      {"keys", [&](const Value& x) { keys = x; }},
      {"primary", [&](const Value& x) { primary = x; }},
  });
  if (keys_file) set(out.keys_file, read_required_path(r, *keys_file));
  if (!keys) {
    if (primary) {
      r.error(primary->key_pos, primary->path, "only applies to inline keys (secrets.keys), not to keys_file");
    }
    return;
  }
  if (keys_file) {
    r.error(keys->key_pos, keys->path, "set either secrets.keys_file or secrets.keys, not both");
  }
  out.keys_file.clear();
  const auto named = read_inline_keys(r, *keys, out.keys);
  if (keys->node.IsSequence() && keys->node.size() == 0) {
    r.error(*keys, "lists no key; give at least one {id, value}");
  }
  if (primary) {
    const auto id = read_string(r, *primary);
    if (!id) return;
    // A key that is named but had its own problem is already reported.
    if (!named.contains(*id)) {
      std::string ids;
      for (const auto& [known, line] : named) ids += (ids.empty() ? "" : ", ") + known;
      r.error(*primary, "names no key in secrets.keys (ids: " + (ids.empty() ? "none" : ids) + ")");
      return;
    }
    out.primary = *id;
  } else if (!out.keys.empty()) {
    out.primary = out.keys.front().id;
  }
}

}  // namespace tollgate::config::detail
