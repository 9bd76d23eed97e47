#pragma once
// The context every section reader shares: which file is being read, where its
// relative paths start, how ${VAR} is looked up, and where problems go. Each
// value travels with its key path and position so that any reader can report
// a problem precisely without knowing where it was called from.
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "tollgate/config/load.hpp"

namespace tollgate::config::detail {

struct Position {
  int line = 0;  // 1-based
  int column = 0;
};

// A node and what a diagnostic about it names.
struct Value {
  YAML::Node node;
  std::string path;   // key path from the file's root, e.g. "secrets.keys[1].value"
  Position pos;       // of the value; of its key when the value is empty
  Position key_pos;   // of the key that introduced it (== pos for list items and the root)
};

struct Field {
  std::string_view name;
  std::function<void(const Value&)> read;
};

std::string child_path(std::string_view parent, std::string_view key);
// 1-based; `fallback` for a mark that points nowhere (an empty document).
Position position_of(const YAML::Mark& mark, Position fallback = {1, 1});

class Reader {
 public:
  Reader(std::string file, std::filesystem::path base_dir, const EnvLookup& env, std::vector<Diagnostic>& out);

  const std::string& file() const noexcept { return file_; }
  // Relative paths in this file are relative to this (absolute) directory.
  const std::filesystem::path& base_dir() const noexcept { return base_dir_; }

  void error(Position pos, std::string path, std::string message);
  void error(const Value& at, std::string message) { error(at.pos, at.path, std::move(message)); }
  void warning(Position pos, std::string path, std::string message);
  void warning(const Value& at, std::string message) { warning(at.pos, at.path, std::move(message)); }

  Value root(const YAML::Node& node) const;
  // A reader for another file that reports into the same list.
  Reader for_file(std::string file, std::filesystem::path base_dir) const {
    return Reader(std::move(file), std::move(base_dir), env_, out_);
  }

  // Hands each key present to its field's reader; an unknown or repeated key,
  // or a node that is not a map, is reported. An empty value counts as an
  // empty map. False when the node is not a map.
  bool read_map(const Value& map, std::initializer_list<Field> fields);
  // The same for maps whose keys are data (provider keys, prices).
  bool read_entries(const Value& map, const std::function<void(const std::string& key, const Value&)>& read);
  // An empty value counts as an empty list.
  bool read_list(const Value& list, const std::function<void(const Value&)>& read);

  // The scalar's text with ${VAR} expanded, or nullopt once the problem is
  // reported. `expected` completes "expected …" in the wrong-type message.
  std::optional<std::string> text(const Value& value, std::string_view expected);

 private:
  void add(Diagnostic::Severity severity, Position pos, std::string path, std::string message);

  std::string file_;
  std::filesystem::path base_dir_;
  const EnvLookup& env_;
  std::vector<Diagnostic>& out_;
};

}  // namespace tollgate::config::detail
