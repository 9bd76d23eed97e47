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

struct Verb {
  std::string_view group;
  std::string_view name;
  std::string_view synopsis;  // arguments and the verb's own options
  std::string_view summary;
  std::size_t arguments;      // positional arguments, exactly
  std::string_view argument_names;
  std::set<std::string> valued;  // beyond the common options; "tenant" sends --tenant as Tollgate-Tenant
  std::set<std::string> flags;
  void (*run)(Session&, const Args&);
};

const std::set<std::string> kCommonValued{"url", "key", "config"};
const std::set<std::string> kCommonFlags{"json"};

const std::vector<Verb>& verb_table() {
  static const std::vector<Verb> table{
      {"tenants", "create", "NAME [--allowed-redirect-origin ORIGIN]...", "create a tenant", 1, "NAME",
       {"allowed-redirect-origin"}, {}, verbs::tenants_create},
      {"tenants", "list", "", "list the tenants", 0, "", {}, {}, verbs::tenants_list},
      {"keys", "create", "TENANT", "create an API key for a tenant; prints the key once", 1, "TENANT", {}, {},
       verbs::keys_create},
      {"keys", "list", "TENANT", "list a tenant's API keys", 1, "TENANT", {}, {}, verbs::keys_list},
      {"keys", "revoke", "KEY_ID", "revoke an API key", 1, "KEY_ID", {}, {}, verbs::keys_revoke},
  };
  return table;
}

std::string usage_of(const Verb& v) {
  std::string line = "tollgate " + std::string(v.group) + " " + std::string(v.name);
  if (!v.synopsis.empty()) line += " " + std::string(v.synopsis);
  return line + " [--url URL] [--key KEY] [--config FILE] [--json]";
}

std::string names_in(std::string_view group) {
  std::string out;
  for (const auto& v : verb_table())
    if (v.group == group) out += (out.empty() ? "" : ", ") + std::string(v.name);
  return out;
}

const Verb& find_verb(const std::vector<std::string>& args) {
  const std::string& group = args.at(0);
  if (args.size() < 2 || args[1].rfind("-", 0) == 0)
    throw UsageError("missing subcommand; expected one of: " + names_in(group) + " (see `tollgate help`)");
  for (const auto& v : verb_table())
    if (v.group == group && v.name == args[1]) return v;
  throw UsageError("unknown subcommand \"" + args[1] + "\"; expected one of: " + names_in(group) +
                   " (see `tollgate help`)");
}

void check_arguments(const Verb& verb, const Args& args) {
  std::size_t got = args.positionals().size();
  if (got == verb.arguments) return;
  // Counts only: a stray argument may be a key pasted in the wrong place.
  std::string expected = verb.arguments == 0 ? "takes no arguments" : "expects " + std::string(verb.argument_names);
  std::string what = got < verb.arguments ? "missing " + std::string(verb.argument_names)
                                          : expected + ", got " + std::to_string(got) + " arguments";
  throw UsageError(what + "; usage: " + usage_of(verb));
}

}  // namespace

bool is_client_group(std::string_view group) {
  return std::any_of(verb_table().begin(), verb_table().end(), [&](const Verb& v) { return v.group == group; });
}

int run_client_verb(const std::vector<std::string>& args, const config::EnvLookup& env, std::ostream& out,
                    std::ostream& err) {
  std::string command = args.at(0);
  try {
    const Verb& verb = find_verb(args);
    command += " " + std::string(verb.name);
    std::vector<std::string> rest(args.begin() + 2, args.end());
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
                          valued.count("tenant") ? parsed.get("tenant") : std::nullopt};
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
    err << "tollgate: " << e.what() << '\n';
    return 1;
  } catch (const std::exception& e) {  // e.g. an answer of an unexpected shape
    err << "tollgate: " << command << " failed: " << e.what() << '\n';
    return 1;
  }
}

std::string client_usage() {
  std::size_t width = 0;
  std::vector<std::pair<std::string, std::string_view>> lines;
  for (const auto& v : verb_table()) {
    std::string head = std::string(v.group) + " " + std::string(v.name);
    if (!v.synopsis.empty()) head += " " + std::string(v.synopsis);
    width = std::max(width, head.size());
    lines.emplace_back(head, v.summary);
  }
  std::string out;
  for (const auto& [head, summary] : lines)
    out += "  " + head + std::string(width - head.size() + 2, ' ') + std::string(summary) + "\n";
  out +=
      "\nclient verbs call a running relay's REST API and accept:\n"
      "  --url URL      the relay (else TOLLGATE_URL, else http://127.0.0.1:8080)\n"
      "  --key KEY      an API key (else TOLLGATE_KEY; for a relay on this machine, else\n"
      "                 TOLLGATE_ADMIN_KEY, else the admin.key_file of --config)\n"
      "  --config FILE  the relay's config, to find its admin key file (default config/tollgate.yaml)\n"
      "  --json         print the REST JSON instead of a table\n";
  return out;
}

}  // namespace tollgate::cli
