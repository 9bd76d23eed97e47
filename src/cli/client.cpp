// Dispatch of the client verbs: the table of verbs, the options every client
// verb accepts, and how failures turn into one line and an exit status.
#include "tollgate/cli/client.hpp"

#include <algorithm>
#include <iostream>
#include <set>

#include "session.hpp"
#include "tollgate/cli/args.hpp"
#include "verbs.hpp"

namespace tollgate::cli {
namespace {

// A verb is a group and one or more words: `tenants list`, `oauth mode`,
// `oauth providers list`. Adding a verb (to a new group, or a new word in one)
// is one entry here and its function in verbs.hpp.
struct Verb {
  std::string_view group;
  std::string_view name;      // the words after the group, space-separated: "list", "providers list"
  std::string_view synopsis;  // arguments and the verb's own options
  std::string_view summary;
  std::size_t arguments;      // positional arguments, exactly
  std::string_view argument_names;
  std::set<std::string> valued;    // beyond the common options; "tenant" sends --tenant as Tollgate-Tenant
  std::set<std::string> flags;
  std::set<std::string> required;  // valued options the verb cannot run without
  void (*run)(Session&, const Args&);
};

const std::set<std::string> kCommonValued{"url", "key", "config"};
const std::set<std::string> kCommonFlags{"json"};

const std::vector<Verb>& verb_table() {
  static const std::vector<Verb> table{
      {"tenants", "create", "NAME [--allowed-redirect-origin ORIGIN]...", "create a tenant", 1, "NAME",
       {"allowed-redirect-origin"}, {}, {}, verbs::tenants_create},
      {"tenants", "list", "", "list the tenants", 0, "", {}, {}, {}, verbs::tenants_list},
      {"keys", "create", "TENANT", "create an API key for a tenant; prints the key once", 1, "TENANT", {}, {}, {},
       verbs::keys_create},
      {"keys", "list", "TENANT", "list a tenant's API keys", 1, "TENANT", {}, {}, {}, verbs::keys_list},
      {"keys", "revoke", "KEY_ID", "revoke an API key", 1, "KEY_ID", {}, {}, {}, verbs::keys_revoke},
      {"oauth", "providers list", "[--provider-key PROVIDER] [--supports-managed]",
       "list the provider catalog, with managed app keys and your mode", 0, "",
       {"tenant", "provider-key"}, {"supports-managed"}, {}, verbs::providers_list},
      {"oauth", "providers get", "PROVIDER",
       "show one provider; managed_service_config_key - (null) means managed mode is unavailable", 1,
       "PROVIDER", {"tenant"}, {}, {}, verbs::providers_get},
      {"oauth", "mode", "PROVIDER [--set managed|your-own]", "show or set which OAuth app your connections use", 1,
       "PROVIDER", {"tenant", "set"}, {}, {}, verbs::oauth_mode},
      {"oauth", "apps set", "PROVIDER --client-id ID --client-secret-file FILE",
       "set your own OAuth app; the secret is read from FILE, never the command line", 1, "PROVIDER",
       {"tenant", "client-id", "client-secret-file"}, {}, {"client-id", "client-secret-file"}, verbs::apps_set},
      {"oauth", "connect",
       "PROVIDER [--scopes a,b] [--user EXTERNAL_ID] [--param name=value]... [--redirect-url URL] "
       "[--auth-method oauth|api_key]",
       "start connecting an account: prints the link to open, waits until it ends, prints the outcome", 1,
       "PROVIDER", {"tenant", "scopes", "user", "param", "redirect-url", "auth-method"}, {}, {},
       verbs::oauth_connect},
      {"oauth", "status", "[--provider PROVIDER] [--user EXTERNAL_ID]",
       "list connections (auth configs) with their status and scopes", 0, "", {"tenant", "provider", "user"}, {}, {},
       verbs::oauth_status},
      {"oauth", "token", "AUTH_CONFIG", "print a valid access token (your-own mode only; managed refuses)", 1,
       "AUTH_CONFIG", {"tenant"}, {}, {}, verbs::oauth_token},
      {"oauth", "disconnect", "AUTH_CONFIG", "revoke a connection at the provider and mark it revoked", 1,
       "AUTH_CONFIG", {"tenant"}, {}, {}, verbs::oauth_disconnect},
      {"oauth", "request", "AUTH_CONFIG METHOD PATH [--data TEXT|@FILE|@-] [-H 'Name: value']... [--include]",
       "call the provider's API through the relay with this connection; prints the provider's body", 3,
       "AUTH_CONFIG METHOD PATH", {"tenant", "data", "header"}, {"include"}, {}, verbs::oauth_request},
      {"usage", "report",
       "[--from YYYY-MM-DD] [--to YYYY-MM-DD] [--group-by tenant,provider,auth_config,day] [--format table|json|csv]",
       "usage counts over UTC days, from inclusive, to exclusive (default: this month so far)", 0, "",
       {"tenant", "from", "to", "group-by", "format"}, {}, {}, verbs::usage_report},
      {"billing", "report", "--period YYYY-MM [--format table|json|csv]",
       "a tenant's bill for a month: calls per provider and mode, priced per 1,000 calls", 0, "",
       {"tenant", "period", "format"}, {}, {"period"}, verbs::billing_report},
  };
  return table;
}

// The words of a verb's name: "providers list" → {"providers", "list"}.
std::vector<std::string_view> words_of(std::string_view name) {
  std::vector<std::string_view> words;
  while (!name.empty()) {
    auto space = name.find(' ');
    words.push_back(name.substr(0, space));
    if (space == std::string_view::npos) break;
    name.remove_prefix(space + 1);
  }
  return words;
}

bool takes_tenant(const Verb& v) { return v.valued.count("tenant") > 0; }

std::string usage_of(const Verb& v) {
  std::string line = "tollgate " + std::string(v.group) + " " + std::string(v.name);
  if (!v.synopsis.empty()) line += " " + std::string(v.synopsis);
  if (takes_tenant(v)) line += " [--tenant TENANT]";
  return line + " [--url URL] [--key KEY] [--config FILE] [--json]";
}

// Walks the verb's words after the group; `command` grows with each word
// taken ("oauth" → "oauth providers" → "oauth providers list"), so an error
// names as much of the command as was understood. `taken` is how many of
// `args` name the verb (group included).
const Verb& find_verb(const std::vector<std::string>& args, std::string& command, std::size_t& taken) {
  std::vector<std::string_view> prefix;
  for (taken = 1;; ++taken) {
    std::vector<std::string_view> next;  // the words that may follow `prefix`, in table order
    for (const auto& v : verb_table()) {
      if (v.group != args.at(0)) continue;
      auto words = words_of(v.name);
      if (words.size() < prefix.size() || !std::equal(prefix.begin(), prefix.end(), words.begin())) continue;
      if (words.size() == prefix.size()) return v;
      if (std::find(next.begin(), next.end(), words[prefix.size()]) == next.end()) next.push_back(words[prefix.size()]);
    }
    std::string expected;
    for (auto w : next) expected += (expected.empty() ? "" : ", ") + std::string(w);
    if (taken >= args.size() || args[taken].rfind("-", 0) == 0)
      throw UsageError("missing subcommand; expected one of: " + expected + " (see `tollgate help`)");
    if (std::find(next.begin(), next.end(), args[taken]) == next.end())
      throw UsageError("unknown subcommand \"" + args[taken] + "\"; expected one of: " + expected +
                       " (see `tollgate help`)");
    prefix.push_back(args[taken]);
    command += " " + args[taken];
  }
}

void check_arguments(const Verb& verb, const Args& args) {
  std::size_t got = args.positionals().size();
  if (got != verb.arguments) {
    // Counts only: a stray argument may be a key pasted in the wrong place.
    std::string expected =
        verb.arguments == 0 ? "takes no arguments" : "expects " + std::string(verb.argument_names);
    std::string what = got < verb.arguments ? "missing " + std::string(verb.argument_names)
                                            : expected + ", got " + std::to_string(got) + " arguments";
    throw UsageError(what + "; usage: " + usage_of(verb));
  }
  for (const auto& option : verb.required)
    if (!args.get(option)) throw UsageError("missing --" + option + "; usage: " + usage_of(verb));
}

}  // namespace

bool is_client_group(std::string_view group) {
  return std::any_of(verb_table().begin(), verb_table().end(), [&](const Verb& v) { return v.group == group; });
}

int run_client_verb(const std::vector<std::string>& args, const config::EnvLookup& env, std::ostream& out,
                    std::ostream& err) {
  std::string command = args.at(0);
  bool without_tenant = false;  // a verb that takes --tenant, run without it
  try {
    std::size_t taken = 0;
    const Verb& verb = find_verb(args, command, taken);
    std::vector<std::string> rest(args.begin() + static_cast<std::ptrdiff_t>(taken), args.end());
    if (std::find_if(rest.begin(), rest.end(), [](const std::string& a) { return a == "--help" || a == "-h"; }) !=
        rest.end()) {
      out << "usage: " << usage_of(verb) << "\n" << verb.summary << "\n";
      return 0;
    }
    auto valued = verb.valued;
    valued.insert(kCommonValued.begin(), kCommonValued.end());
    auto flags = verb.flags;
    flags.insert(kCommonFlags.begin(), kCommonFlags.end());
    Args parsed(rest, valued, flags);
    check_arguments(verb, parsed);
    TargetOptions options{parsed.get("url"), parsed.get("key"), parsed.get("config"),
                          takes_tenant(verb) ? parsed.get("tenant") : std::nullopt};
    without_tenant = takes_tenant(verb) && !options.tenant;
    Session session(resolve_target(options, env), parsed.flag("json"), out, err);
    verb.run(session, parsed);
    out.flush();
    return 0;
  } catch (const UsageError& e) {
    err << "tollgate " << command << ": " << e.what() << '\n';
    return 2;
  } catch (const ConnectionError& e) {
    err << "tollgate: " << e.what() << '\n';
    return 1;
  } catch (const CommandError& e) {
    std::string line = e.what();
    // The relay's words are about its header; the user's are about the option.
    if (without_tenant && line.find("Tollgate-Tenant") != std::string::npos) line += "; pass --tenant TENANT";
    err << "tollgate: " << line << '\n';
    return 1;
  } catch (const std::exception& e) {  // e.g. an answer of an unexpected shape
    err << "tollgate: " << command << " failed: " << e.what() << '\n';
    return 1;
  }
}

std::string client_usage() {
  constexpr std::size_t kMaxHeadWidth = 60;
  std::size_t width = 0;
  std::vector<std::pair<std::string, std::string_view>> lines;
  for (const auto& v : verb_table()) {
    std::string head = std::string(v.group) + " " + std::string(v.name);
    if (!v.synopsis.empty()) head += " " + std::string(v.synopsis);
    if (head.size() <= kMaxHeadWidth) width = std::max(width, head.size());
    lines.emplace_back(head, v.summary);
  }
  std::string out;
  for (const auto& [head, summary] : lines) {
    if (head.size() > width)  // a long synopsis: the summary goes under it, in the summary column
      out += "  " + head + "\n" + std::string(width + 4, ' ') + std::string(summary) + "\n";
    else
      out += "  " + head + std::string(width - head.size() + 2, ' ') + std::string(summary) + "\n";
  }
  out +=
      "\nclient verbs call a running relay's REST API and accept:\n"
      "  --url URL      the relay (else TOLLGATE_URL, else http://127.0.0.1:8080)\n"
      "  --key KEY      an API key (else TOLLGATE_KEY; for a relay on this machine, else\n"
      "                 TOLLGATE_ADMIN_KEY, else the admin.key_file of --config)\n"
      "  --config FILE  the relay's config, to find its admin key file (default config/tollgate.yaml)\n"
      "  --json         print the REST JSON instead of a table\n"
      "  --tenant T     on verbs that act for a tenant: the tenant an admin key acts for (sent as\n"
      "                 Tollgate-Tenant); a tenant's own key needs none\n";
  return out;
}

}  // namespace tollgate::cli
