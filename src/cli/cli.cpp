#include "tollgate/cli/cli.hpp"

#include <iostream>
#include <string>
#include <vector>

#include "serve.hpp"
#include "tollgate/cli/args.hpp"
#include "tollgate/cli/client.hpp"

namespace tollgate::cli {
namespace {

constexpr const char* kDefaultConfig = "config/tollgate.yaml";

constexpr const char* kUsage = R"(usage: tollgate <command> [options]

commands:
  serve [--config FILE]          run the relay (default config/tollgate.yaml)
  check-config [--config FILE]   validate the configuration and print every problem
  help                           this text

client verbs:
)";

}  // namespace

int run(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    std::cout << kUsage << client_usage();
    return args.empty() ? 2 : 0;
  }
  const std::string verb = args[0];
  if (is_client_group(verb)) return run_client_verb(args, config::process_environment(), std::cout, std::cerr);
  std::vector<std::string> rest(args.begin() + 1, args.end());
  try {
    if (verb == "serve" || verb == "check-config") {
      Args a(rest, {"config"}, {});
      if (!a.positionals().empty())
        throw UsageError(verb + " takes no arguments, got \"" + a.positionals()[0] + "\"");
      auto file = a.get("config").value_or(kDefaultConfig);
      return verb == "serve" ? serve(file) : check_config(file);
    }
    throw UsageError("unknown command \"" + verb + "\"; run `tollgate help` for the list");
  } catch (const UsageError& e) {
    std::cerr << "tollgate " << verb << ": " << e.what() << '\n';
    return 2;
  }
}

}  // namespace tollgate::cli
