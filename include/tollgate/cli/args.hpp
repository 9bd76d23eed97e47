#pragma once
// A small argv reader for tollgate's verbs: positionals, `--flag`,
// `--name value` and `--name=value`. Unknown options are errors that say
// which options the verb accepts.
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace tollgate::cli {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Args {
 public:
  // `valued` options take a value, `flags` do not. Throws UsageError.
  Args(const std::vector<std::string>& argv, const std::set<std::string>& valued, const std::set<std::string>& flags);

  const std::vector<std::string>& positionals() const { return positionals_; }
  std::optional<std::string> get(const std::string& name) const;
  std::vector<std::string> all(const std::string& name) const;  // repeated options, in order
  bool flag(const std::string& name) const { return flags_.count(name) > 0; }

 private:
  std::vector<std::string> positionals_;
  std::multimap<std::string, std::string> values_;
  std::set<std::string> flags_;
};

}  // namespace tollgate::cli
