#include "reader.hpp"

#include <algorithm>
#include <map>

#include "env.hpp"

namespace tollgate::config::detail {
namespace {

Position position_of(const YAML::Node& node, Position fallback) { return position_of(node.Mark(), fallback); }

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: return "a map";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar: return "a single value";
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: break;
  }
  return "nothing";
}

std::string join(std::initializer_list<Field> fields) {
  std::string out;
  for (const Field& field : fields) {
    if (!out.empty()) out += ", ";
    out += field.name;
  }
  return out;
}

std::string index_path(std::string_view parent, std::size_t index) {
  return std::string(parent) + "[" + std::to_string(index) + "]";
}

}  // namespace

// yaml-cpp marks are 0-based, and -1 for a node that has no source.
Position position_of(const YAML::Mark& mark, Position fallback) {
  if (mark.line < 0 || mark.column < 0) return fallback;
  return {mark.line + 1, mark.column + 1};
}

std::string child_path(std::string_view parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  std::string out(parent);
  out += '.';
  out += key;
  return out;
}

Reader::Reader(std::string file, std::filesystem::path base_dir, const EnvLookup& env, std::vector<Diagnostic>& out)
    : file_(std::move(file)), base_dir_(std::move(base_dir)), env_(env), out_(out) {}

void Reader::add(Diagnostic::Severity severity, Position pos, std::string path, std::string message) {
  Diagnostic d;
  d.severity = severity;
  d.file = file_;
  d.line = pos.line;
  d.column = pos.column;
  d.key_path = std::move(path);
  d.message = std::move(message);
  out_.push_back(std::move(d));
}

void Reader::error(Position pos, std::string path, std::string message) {
  add(Diagnostic::Severity::error, pos, std::move(path), std::move(message));
}

void Reader::warning(Position pos, std::string path, std::string message) {
  add(Diagnostic::Severity::warning, pos, std::move(path), std::move(message));
}

Value Reader::root(const YAML::Node& node) const {
  const Position pos = position_of(node, {1, 1});
  return {node, "", pos, pos};
}

bool Reader::read_map(const Value& map, std::initializer_list<Field> fields) {
  return read_entries(map, [&](const std::string& key, const Value& value) {
    const auto field = std::find_if(fields.begin(), fields.end(), [&](const Field& f) { return f.name == key; });
    if (field == fields.end()) {
      error(value.key_pos, value.path, "unknown key \"" + key + "\" (expected one of: " + join(fields) + ")");
      return;
    }
    field->read(value);
  });
}

bool Reader::read_entries(const Value& map, const std::function<void(const std::string& key, const Value&)>& read) {
  if (map.node.IsNull()) return true;
  if (!map.node.IsMap()) {
    error(map, "expected a map of key: value pairs, got " + describe(map.node));
    return false;
  }
  // yaml-cpp keeps both entries of a repeated key; silently taking one would
  // hide a mistake.
  std::map<std::string, Position> seen;
  for (auto it = map.node.begin(); it != map.node.end(); ++it) {
    const YAML::Node key = it->first;
    const YAML::Node node = it->second;
    const Position key_pos = position_of(key, map.pos);
    if (!key.IsScalar()) {
      error(key_pos, map.path, "expected a plain key, got " + describe(key));
      continue;
    }
    const std::string name = key.Scalar();
    std::string path = child_path(map.path, name);
    const auto [first, inserted] = seen.emplace(name, key_pos);
    if (!inserted) {
      error(key_pos, path,
            "duplicate key \"" + name + "\" (first set at line " + std::to_string(first->second.line) + ")");
      continue;
    }
    // An empty value's mark points past it, often to the next line; its key is where the reader looks.
    const Position pos = node.IsNull() ? key_pos : position_of(node, key_pos);
    read(name, Value{node, std::move(path), pos, key_pos});
  }
  return true;
}

bool Reader::read_list(const Value& list, const std::function<void(const Value&)>& read) {
  if (list.node.IsNull()) return true;
  if (!list.node.IsSequence()) {
    error(list, "expected a list, got " + describe(list.node));
    return false;
  }
  std::size_t index = 0;
  for (auto it = list.node.begin(); it != list.node.end(); ++it, ++index) {
    const YAML::Node node = *it;
    const Position pos = node.IsNull() ? list.pos : position_of(node, list.pos);
    read(Value{node, index_path(list.path, index), pos, pos});
  }
  return true;
}

std::optional<std::string> Reader::text(const Value& value, std::string_view expected) {
  if (!value.node.IsScalar()) {
    error(value, "expected " + std::string(expected) + ", got " + describe(value.node));
    return std::nullopt;
  }
  Expansion expansion = expand_env(value.node.Scalar(), env_);
  for (std::string& message : expansion.errors) error(value, std::move(message));
  if (!expansion.errors.empty()) return std::nullopt;
  return std::move(expansion.text);
}

}  // namespace tollgate::config::detail
