#include "tollgate/config/load.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <system_error>
#include <tuple>

#include "reader.hpp"
#include "scalars.hpp"
#include "sections.hpp"

namespace tollgate::config {
namespace {

namespace fs = std::filesystem;
using detail::Position;
using detail::Reader;
using detail::Value;

struct FileText {
  std::optional<std::string> text;
  std::string problem;  // completes "the … file X …" when text is empty
};

FileText read_text(const fs::path& path) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (!fs::exists(status)) return {std::nullopt, "does not exist"};
  if (fs::is_directory(status)) return {std::nullopt, "is a directory, not a file"};
  std::ifstream in(path, std::ios::binary);
  if (!in) return {std::nullopt, "cannot be opened (check its permissions)"};
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return {std::nullopt, "cannot be read"};
  return {text.str(), ""};
}

std::optional<YAML::Node> parse(Reader& r, const std::string& text) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    r.error(detail::position_of(e.mark), "", "YAML syntax error: " + e.msg);
    return std::nullopt;
  }
}

// Keeps a path relative to where the user ran from when the config was named
// relatively, so every diagnostic reads alike.
std::string display_name(const fs::path& config_as_given, const fs::path& config_dir, const fs::path& target) {
  const fs::path relative = target.lexically_relative(config_dir);
  if (relative.empty() || *relative.begin() == "..") return target.string();
  return (config_as_given.parent_path() / relative).lexically_normal().string();
}

// SPEC §3's defaults for paths, which are relative to the config file.
void set_default_paths(Config& c, const fs::path& dir) {
  c.store.sqlite.path = (dir / "../data/tollgate.db").lexically_normal();
  c.secrets.keys_file = (dir / "../data/master.keys").lexically_normal();
  c.admin.key_file = (dir / "../data/admin.key").lexically_normal();
  c.providers_file = (dir / "providers.yaml").lexically_normal();
  c.metering.journal_dir = (dir / "../data/journal").lexically_normal();
}

void read_providers_file(Reader& r, Position at, const fs::path& config_as_given, Config& c) {
  const std::string shown = display_name(config_as_given, r.base_dir(), c.providers_file);
  const FileText file = read_text(c.providers_file);
  if (!file.text) {
    r.error(at, "providers_file",
            "the providers file " + shown + " " + file.problem +
                " (point providers_file at the catalog, or give an inline providers: map)");
    return;
  }
  Reader in_file = r.for_file(shown, c.providers_file.parent_path());
  if (const auto root = parse(in_file, *file.text)) detail::read_providers(in_file, in_file.root(*root), c.providers);
}

// The catalog comes from providers_file (by default providers.yaml beside the
// config) unless the config inlines a providers: map.
void read_catalog(Reader& r, const Value& root, const std::optional<Value>& file,
                  const std::optional<Value>& inline_map, const fs::path& config_as_given, Config& c) {
  std::optional<fs::path> path = c.providers_file;
  if (file) path = detail::read_required_path(r, *file);
  if (inline_map) {
    if (file) {
      r.error(inline_map->key_pos, inline_map->path,
              "set either providers_file or an inline providers: map, not both");
    }
    c.providers_file.clear();
    detail::read_providers(r, *inline_map, c.providers);
    return;
  }
  if (!path) return;
  c.providers_file = *path;
  read_providers_file(r, file ? file->pos : root.pos, config_as_given, c);
}

// A price for a provider the catalog does not have is never charged: most
// likely a typo. An empty catalog (or one that could not be read) says nothing.
void warn_unknown_priced_providers(Reader& r, const std::optional<Value>& billing, const Config& c) {
  if (!billing || c.providers.empty() || !billing->node.IsMap()) return;
  for (auto section = billing->node.begin(); section != billing->node.end(); ++section) {
    if (!section->first.IsScalar() || section->first.Scalar() != "prices" || !section->second.IsMap()) continue;
    for (auto price = section->second.begin(); price != section->second.end(); ++price) {
      if (!price->first.IsScalar()) continue;
      const std::string& key = price->first.Scalar();
      if (key == "default" || c.billing.prices.count(key) == 0 || c.providers.count(key) != 0) continue;
      r.warning(detail::position_of(price->first.Mark()),
                detail::child_path(detail::child_path(billing->path, "prices"), key),
                "no provider \"" + key + "\" in the catalog, so this price is never charged");
    }
  }
}

void read_sections(Reader& r, const Value& root, const fs::path& config_as_given, Config& c) {
  std::optional<Value> providers_file;
  std::optional<Value> providers;
  std::optional<Value> billing;
  r.read_map(root, {
      {"server", [&](const Value& v) { detail::read_server(r, v, c.server); }},
      {"store", [&](const Value& v) { detail::read_store(r, v, c.store); }},
      {"secrets", [&](const Value& v) { detail::read_secrets(r, v, c.secrets); }},
      {"admin", [&](const Value& v) { detail::read_admin(r, v, c.admin); }},
      {"providers_file", [&](const Value& v) { providers_file = v; }},
      {"providers", [&](const Value& v) { providers = v; }},
      {"relay", [&](const Value& v) { detail::read_relay(r, v, c.relay); }},
      {"setup_sessions", [&](const Value& v) { detail::read_setup_sessions(r, v, c.setup_sessions); }},
      {"metering", [&](const Value& v) { detail::read_metering(r, v, c.metering); }},
      {"billing",
       [&](const Value& v) {
         billing = v;
         detail::read_billing(r, v, c.billing);
       }},
      {"quotas", [&](const Value& v) { detail::read_quotas(r, v, c.quotas); }},
      {"logging", [&](const Value& v) { detail::read_logging(r, v, c.logging); }},
  });
  read_catalog(r, root, providers_file, providers, config_as_given, c);
  warn_unknown_priced_providers(r, billing, c);
}

std::shared_ptr<Config> read_config(const fs::path& file, const EnvLookup& env, std::vector<Diagnostic>& out) {
  auto config = std::make_shared<Config>();
  std::error_code ec;
  const fs::path absolute = fs::absolute(file, ec);
  config->file = (ec ? file : absolute).lexically_normal();
  Reader r(file.string(), config->file.parent_path(), env, out);

  const FileText text = read_text(file);
  if (!text.text) {
    r.error(Position{}, "", "the config file " + text.problem);
    return nullptr;
  }
  const auto root = parse(r, *text.text);
  if (!root) return nullptr;
  set_default_paths(*config, r.base_dir());
  read_sections(r, r.root(*root), file, *config);
  return config;
}

bool is_error(const Diagnostic& d) { return d.severity == Diagnostic::Severity::error; }

}  // namespace

LoadResult load(const fs::path& file, const EnvLookup& env) {
  LoadResult result;
  std::shared_ptr<Config> config;
  try {
    config = read_config(file, env, result.diagnostics);
  } catch (const YAML::Exception& e) {
    // The readers check node types before use, so this means a yaml-cpp surprise, not bad input.
    result.diagnostics.push_back({Diagnostic::Severity::error, file.string(), e.mark.line + 1, e.mark.column + 1, "",
                                  "could not read the YAML: " + e.msg});
    config = nullptr;
  }
  std::stable_sort(result.diagnostics.begin(), result.diagnostics.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.file, a.line, a.column) < std::tie(b.file, b.line, b.column);
  });
  if (config && std::none_of(result.diagnostics.begin(), result.diagnostics.end(), is_error)) {
    result.config = std::move(config);
  }
  return result;
}

}  // namespace tollgate::config
