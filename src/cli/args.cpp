#include "tollgate/cli/args.hpp"

namespace tollgate::cli {
namespace {

std::string known_options(const std::set<std::string>& valued, const std::set<std::string>& flags) {
  std::string out;
  for (const auto& v : valued) out += (out.empty() ? "--" : ", --") + v + " VALUE";
  for (const auto& f : flags) out += (out.empty() ? "--" : ", --") + f;
  return out.empty() ? "none" : out;
}

}  // namespace

Args::Args(const std::vector<std::string>& argv, const std::set<std::string>& valued,
           const std::set<std::string>& flags) {
  for (std::size_t i = 0; i < argv.size(); ++i) {
    // The short forms curl users type: -H for --header, -d for --data.
    std::string a = argv[i];
    if (a == "-H" && valued.count("header")) a = "--header";
    if (a == "-d" && valued.count("data")) a = "--data";
    if (a == "--") {
      positionals_.insert(positionals_.end(), argv.begin() + static_cast<long>(i) + 1, argv.end());
      break;
    }
    if (a.size() > 2 && a.compare(0, 2, "--") == 0) {
      std::string name = a.substr(2);
      std::optional<std::string> value;
      if (auto eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
      }
      if (valued.count(name)) {
        if (!value) {
          if (i + 1 >= argv.size()) throw UsageError("option --" + name + " needs a value");
          value = argv[++i];
        }
        values_.emplace(name, *value);
      } else if (flags.count(name)) {
        if (value) throw UsageError("option --" + name + " takes no value");
        flags_.insert(name);
      } else {
        throw UsageError("unknown option --" + name + " (accepted: " + known_options(valued, flags) + ")");
      }
      continue;
    }
    positionals_.push_back(a);
  }
}

std::optional<std::string> Args::get(const std::string& name) const {
  auto [lo, hi] = values_.equal_range(name);
  if (lo == hi) return std::nullopt;
  return std::prev(hi)->second;  // the last one wins, as in most CLIs
}

std::vector<std::string> Args::all(const std::string& name) const {
  std::vector<std::string> out;
  auto [lo, hi] = values_.equal_range(name);
  for (auto it = lo; it != hi; ++it) out.push_back(it->second);
  return out;
}

}  // namespace tollgate::cli
