#pragma once
// One Redis reply as a plain value, copied out of hiredis' reply object (which
// hiredis frees when the reply callback returns), so the store's logic reads
// replies without touching hiredis.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tollgate::store::redis {

struct Value {
  enum class Kind { nil, status, error, string, integer, array };
  Kind kind = Kind::nil;
  std::string text;  // status, error and string replies
  std::int64_t integer = 0;
  std::vector<Value> elements;

  bool is_nil() const { return kind == Kind::nil; }
  bool is_error() const { return kind == Kind::error; }
  bool is_string() const { return kind == Kind::string; }
  bool is_array() const { return kind == Kind::array; }
  // An error reply whose code (its first word) is `code`, e.g. "NOSCRIPT".
  bool is_error(std::string_view code) const {
    return is_error() && text.starts_with(code) && (text.size() == code.size() || text[code.size()] == ' ');
  }
};

using Argv = std::vector<std::string>;

}  // namespace tollgate::store::redis
