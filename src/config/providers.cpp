// The provider catalog: every entry, with aliases merged over their targets
// at the YAML level before they are read, so that a problem in an inherited
// value is still reported where that value is written.
#include <set>

#include "provider_schema.hpp"
#include "scalars.hpp"
#include "sections.hpp"

namespace tollgate::config::detail {
namespace {

struct Entry {
  std::string key;
  Value value;
};

// The value of `name` in a map node, if the map has that key.
std::optional<YAML::Node> find_key(const YAML::Node& map, std::string_view name) {
  if (!map.IsMap()) return std::nullopt;
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == name) return YAML::Node(it->second);
  }
  return std::nullopt;
}

bool is_alias(const Entry& e) { return find_key(e.value.node, "alias").has_value(); }

// The target as written, without ${VAR} expansion (read_provider_fields reports a bad type).
std::string alias_target(const Entry& e) {
  const auto node = find_key(e.value.node, "alias");
  return node && node->IsScalar() ? node->Scalar() : std::string();
}

Value alias_value(const Entry& e) {
  const YAML::Node node = *find_key(e.value.node, "alias");
  const Position pos = position_of(node.Mark(), e.value.key_pos);
  return {node, child_path(e.value.path, "alias"), pos, pos};
}

const Entry* find_entry(const std::vector<Entry>& entries, std::string_view key) {
  for (const Entry& e : entries) {
    if (e.key == key) return &e;
  }
  return nullptr;
}

Provider read_entry(Reader& r, const std::string& key, const Value& entry, const CheckScope& scope) {
  ProviderDraft draft;
  draft.provider.key = key;
  draft.entry = entry;
  read_provider_fields(r, draft);
  check_provider(r, draft, scope);
  return std::move(draft.provider);
}

// Whether the alias can inherit from its target; reports why not.
bool check_alias(Reader& r, const Entry& alias, const std::vector<Entry>& entries) {
  const Value at = alias_value(alias);
  if (!at.node.IsScalar()) return false;  // read_provider_fields reports the type
  const std::string target = alias_target(alias);
  if (target == alias.key) {
    r.error(at, "a provider cannot be an alias of itself");
    return false;
  }
  const Entry* found = find_entry(entries, target);
  if (found == nullptr) {
    r.error(at, "names no provider in this catalog (an alias names the key of another entry)");
    return false;
  }
  if (is_alias(*found)) {
    r.error(at, "names a provider that is itself an alias; name the provider it inherits from instead "
                "(aliases do not chain)");
    return false;
  }
  return true;
}

}  // namespace

YAML::Node merge_alias(const YAML::Node& alias, const YAML::Node& target) {
  if (!alias.IsMap() || !target.IsMap()) return alias;
  YAML::Node merged(YAML::NodeType::Map);
  std::set<std::string> own;
  for (auto it = alias.begin(); it != alias.end(); ++it) {
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    std::optional<YAML::Node> inherited;
    if (key.IsScalar()) {
      own.insert(key.Scalar());
      inherited = find_key(target, key.Scalar());
    }
    // Never assign one YAML::Node to another here: that would rewrite the file's own nodes.
    if (inherited && value.IsMap() && inherited->IsMap()) {
      merged.force_insert(key, merge_alias(value, *inherited));
    } else {
      merged.force_insert(key, value);
    }
  }
  for (auto it = target.begin(); it != target.end(); ++it) {
    if (it->first.IsScalar() && own.count(it->first.Scalar()) == 0) merged.force_insert(it->first, it->second);
  }
  return merged;
}

bool is_provider_key(std::string_view key) {
  auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (key.empty() || !lower_or_digit(key.front())) return false;
  for (char c : key) {
    if (!lower_or_digit(c) && c != '_' && c != '-') return false;
  }
  return true;
}

void read_providers(Reader& r, const Value& v, std::map<std::string, Provider>& out) {
  std::vector<Entry> entries;
  r.read_entries(v, [&](const std::string& key, const Value& entry) {
    if (!is_provider_key(key)) {
      r.error(entry.key_pos, entry.path,
              "a provider key is lower-case letters, digits, _ and -, starting with a letter or digit "
              "(^[a-z0-9][a-z0-9_-]*$)");
      return;
    }
    entries.push_back({key, entry});
  });

  // Targets first: an alias's display_name defaults to its target's.
  for (const Entry& e : entries) {
    if (is_alias(e)) continue;
    Provider provider = read_entry(r, e.key, e.value, CheckScope{});
    if (provider.display_name.empty()) provider.display_name = e.key;
    out[e.key] = std::move(provider);
  }
  for (const Entry& e : entries) {
    if (!is_alias(e)) continue;
    if (!check_alias(r, e, entries)) {
      // Still report what is wrong with the entry's own keys; checks across keys would
      // only guess at what the missing target holds.
      Provider provider = read_entry(r, e.key, e.value, CheckScope{false, false, false});
      if (provider.display_name.empty()) provider.display_name = e.key;
      out[e.key] = std::move(provider);
      continue;
    }
    const Entry& target = *find_entry(entries, alias_target(e));
    const Value merged{merge_alias(e.value.node, target.value.node), e.value.path, e.value.pos, e.value.key_pos};
    // An inherited managed app (or deployment key) is the target's: its warning is reported there.
    const CheckScope scope{true, find_key(e.value.node, "managed").has_value(),
                           find_key(e.value.node, "deployment_credentials").has_value()};
    Provider provider = read_entry(r, e.key, merged, scope);
    if (provider.display_name.empty()) {
      const auto it = out.find(target.key);
      provider.display_name = it != out.end() ? it->second.display_name : e.key;
    }
    out[e.key] = std::move(provider);
  }
}

}  // namespace tollgate::config::detail
