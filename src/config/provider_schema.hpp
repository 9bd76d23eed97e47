#pragma once
// The provider reader's parts (SPEC §3 "Provider catalog"). providers.cpp
// walks the catalog and resolves aliases; provider_fields.cpp reads one
// entry's keys; provider_checks.cpp checks what spans several keys (what an
// auth mode needs, which parameters a template names, whether a managed app
// is complete); provider_text.cpp knows templates, URLs and header names.
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "reader.hpp"
#include "tollgate/config/config.hpp"

namespace tollgate::config::detail {

// One entry as read: the provider, and where each key was written so that
// checks across keys can point at the right line.
struct ProviderDraft {
  Provider provider;
  Value entry;
  // Relative key path ("token_url", "credentials.format", "managed") → where it was written.
  std::map<std::string, Value> at;

  // A value that may hold {name} templates. Credentials may also use the
  // credential's own placeholder ({api_key}, or {access_token} in oauth modes).
  struct Templated {
    Value where;
    std::string text;
    bool credential = false;
  };
  std::vector<Templated> templated;

  // Every connection parameter name declared, also those whose declaration had a problem
  // (so a template naming one is not reported a second time).
  std::map<std::string, Value> declared;

  // Keys whose value was refused (and reported): checks that need them stay quiet.
  std::set<std::string> refused;

  bool has(std::string_view relative_path) const { return at.find(std::string(relative_path)) != at.end(); }
  bool was_refused(std::string_view relative_path) const { return refused.count(std::string(relative_path)) != 0; }
  std::string relative(const Value& v) const;
  void note(const Value& v) { at.insert_or_assign(relative(v), v); }
  void refuse(const Value& v) { refused.insert(relative(v)); }
};

// Reads every key of the entry into the draft, reporting unknown keys and bad values.
void read_provider_fields(Reader& r, ProviderDraft& draft);

// What the loader checks once an entry's keys are read.
struct CheckScope {
  bool complete = true;          // false for an alias whose target is unusable: skip checks across keys
  bool warn_managed = true;      // false when an alias inherits the managed block as it is
  bool warn_deployment = true;   // likewise for deployment_credentials
};
void check_provider(Reader& r, ProviderDraft& draft, const CheckScope& scope);

// Deep merge of an alias entry over its target at the YAML level: maps merge
// key by key (recursively), anything else — lists included — is replaced. The
// nodes are shared, not copied, so positions still point into the file.
YAML::Node merge_alias(const YAML::Node& alias, const YAML::Node& target);

// ---- text (provider_text.cpp) ----

// ^[a-z][a-z0-9_]{0,63}$
bool is_param_name(std::string_view name);

// The names of the {name} templates in text, in order; nullopt when a brace
// does not open or close a {name} template.
std::optional<std::vector<std::string>> template_names(std::string_view text);

// Empty when text is acceptable as a catalog URL: absolute http(s) with a
// host, https unless the host is loopback, no user info, query, fragment,
// spaces or control characters. {name} templates stand for a host label while
// checking; a URL that begins with a template gets its scheme and host from
// the value, which oauth/templates checks when the URL is used.
std::string check_catalog_url(std::string_view text);

// ASCII case-insensitive equality, as header names compare.
bool equals_ignoring_case(std::string_view a, std::string_view b);
// RFC 9110 token characters, at least one.
bool is_header_name(std::string_view name);
// Visible ASCII, spaces and tabs.
bool is_header_value(std::string_view value);
// Dotted path of [A-Za-z0-9_-]+ segments, e.g. authed_user.access_token.
bool is_json_path(std::string_view path);
// The first ${VAR} or ${VAR:-…} named in a raw scalar; empty when none.
std::string first_variable(std::string_view raw);

}  // namespace tollgate::config::detail
