// URL and key resolution for client verbs (SPEC §2).
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>

#include "temp_dir.hpp"
#include "tollgate/cli/args.hpp"
#include "tollgate/cli/target.hpp"

using namespace tollgate;
using namespace tollgate::cli;
using tollgate::test::TempDir;

namespace {

// An environment made of `vars`, remembering every name looked up.
struct FakeEnv {
  std::map<std::string, std::string> vars;
  std::shared_ptr<std::set<std::string>> asked = std::make_shared<std::set<std::string>>();

  config::EnvLookup lookup() const {
    return [vars = vars, asked = asked](std::string_view name) -> std::optional<std::string> {
      asked->insert(std::string(name));
      auto it = vars.find(std::string(name));
      if (it == vars.end()) return std::nullopt;
      return it->second;
    };
  }
};

// A relay's config dir: tollgate.yaml with admin.key_file pointing at admin.key.
struct RelayDir {
  TempDir dir;
  std::filesystem::path config;
  explicit RelayDir(const std::string& key_file_content = "tg_admin_from_file\n",
                    const std::string& extra_yaml = "") {
    config = dir.write("tollgate.yaml", "admin:\n  key_file: admin.key\nproviders: {}\n" + extra_yaml);
    dir.write("admin.key", key_file_content);
  }
};

TargetOptions with_config(const RelayDir& relay) {
  TargetOptions o;
  o.config = relay.config.string();
  return o;
}

std::string usage_error(const TargetOptions& options, const FakeEnv& env) {
  try {
    resolve_target(options, env.lookup());
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("the URL is --url, else TOLLGATE_URL, else http://127.0.0.1:8080") {
  FakeEnv env{{{"TOLLGATE_URL", "http://10.1.2.3:9000"}, {"TOLLGATE_KEY", "k"}}};
  TargetOptions o;
  o.url = "https://relay.example.com";
  CHECK(resolve_target(o, env.lookup()).url.text == "https://relay.example.com");
  CHECK(resolve_target({}, env.lookup()).url.text == "http://10.1.2.3:9000");
  FakeEnv bare{{{"TOLLGATE_KEY", "k"}}};
  auto t = resolve_target({}, bare.lookup());
  CHECK(t.url.text == "http://127.0.0.1:8080");
  CHECK(t.url.host == "127.0.0.1");
  CHECK(t.url.port == 8080);
  CHECK_FALSE(t.url.tls);
}

TEST_CASE("an empty TOLLGATE_URL counts as unset") {
  FakeEnv env{{{"TOLLGATE_URL", ""}, {"TOLLGATE_KEY", "k"}}};
  CHECK(resolve_target({}, env.lookup()).url.text == "http://127.0.0.1:8080");
}

TEST_CASE("the key is --key, else TOLLGATE_KEY, else TOLLGATE_ADMIN_KEY, else the admin key file") {
  RelayDir relay;
  FakeEnv env{{{"TOLLGATE_KEY", "tg_live_env"}, {"TOLLGATE_ADMIN_KEY", "admin_env"}}};
  auto o = with_config(relay);
  o.key = "tg_live_flag";
  auto t = resolve_target(o, env.lookup());
  CHECK(t.key.reveal() == "tg_live_flag");
  CHECK(t.key_source == "--key");

  o.key.reset();
  t = resolve_target(o, env.lookup());
  CHECK(t.key.reveal() == "tg_live_env");
  CHECK(t.key_source == "TOLLGATE_KEY");

  env.vars.erase("TOLLGATE_KEY");
  t = resolve_target(o, env.lookup());
  CHECK(t.key.reveal() == "admin_env");
  CHECK(t.key_source == "TOLLGATE_ADMIN_KEY");

  env.vars.erase("TOLLGATE_ADMIN_KEY");
  t = resolve_target(o, env.lookup());
  CHECK(t.key.reveal() == "tg_admin_from_file");  // trimmed of its newline
  CHECK(t.key_source == (relay.dir / "admin.key").string());
}

TEST_CASE("the admin key file is found through --config and read with surrounding whitespace trimmed") {
  RelayDir relay("  \n\tsecret-admin-key \r\n\n");
  auto t = resolve_target(with_config(relay), FakeEnv{}.lookup());
  CHECK(t.key.reveal() == "secret-admin-key");
}

TEST_CASE("a relative admin.key_file is relative to the config file, not the current directory") {
  TempDir dir;
  auto config = dir.write("etc/tollgate.yaml", "admin:\n  key_file: ../data/admin.key\nproviders: {}\n");
  dir.write("data/admin.key", "nested-key");
  TargetOptions o;
  o.config = config.string();
  CHECK(resolve_target(o, FakeEnv{}.lookup()).key.reveal() == "nested-key");
}

TEST_CASE("without --config the config is config/tollgate.yaml relative to the current directory") {
  RelayDir relay;
  relay.dir.write("config/tollgate.yaml", "admin:\n  key_file: ../admin.key\nproviders: {}\n");
  auto before = std::filesystem::current_path();
  std::filesystem::current_path(relay.dir.path());
  std::optional<std::string> key;
  std::string error;
  try {
    key = resolve_target({}, FakeEnv{}.lookup()).key.reveal();
  } catch (const std::exception& e) {
    error = e.what();
  }
  std::filesystem::current_path(before);
  CHECK(error == "");
  CHECK(key == std::optional<std::string>("tg_admin_from_file"));
}

TEST_CASE("every loopback spelling may use the admin key file") {
  RelayDir relay;
  for (const char* url : {"http://127.0.0.1:8080", "http://127.9.8.7", "http://localhost:1234", "http://LocalHost",
                          "http://[::1]:8080", "https://[::ffff:127.0.0.1]:8443"}) {
    CAPTURE(url);
    auto o = with_config(relay);
    o.url = url;
    CHECK(resolve_target(o, FakeEnv{}.lookup()).key.reveal() == "tg_admin_from_file");
  }
}

TEST_CASE("a non-loopback URL never reads the admin key: not the file, not TOLLGATE_ADMIN_KEY, not the config") {
  // ${NEVER_READ} would be looked up if the config were loaded at all.
  RelayDir relay("tg_admin_from_file", "logging:\n  level: ${NEVER_READ:-info}\n");
  for (const char* url : {"https://relay.example.com", "http://10.0.0.1:8080", "http://128.0.0.1",
                          "http://localhost.example.com", "http://[::2]", "http://[::ffff:10.0.0.1]"}) {
    CAPTURE(url);
    FakeEnv env{{{"TOLLGATE_ADMIN_KEY", "admin_env"}}};
    auto o = with_config(relay);
    o.url = url;
    auto error = usage_error(o, env);
    CHECK(error.find("no API key for") == 0);
    CHECK(error.find("pass --key KEY or set TOLLGATE_KEY") != std::string::npos);
    CHECK(error.find("admin_env") == std::string::npos);
    CHECK(error.find("tg_admin_from_file") == std::string::npos);
    CHECK(*env.asked == std::set<std::string>{"TOLLGATE_KEY"});
  }
}

TEST_CASE("no key anywhere: one line that says how to give one") {
  TempDir empty;
  TargetOptions o;
  o.config = (empty / "missing.yaml").string();
  auto error = usage_error(o, FakeEnv{});
  CHECK(error.find("no API key") == 0);
  CHECK(error.find("pass --key KEY or set TOLLGATE_KEY") != std::string::npos);
  CHECK(error.find("--config FILE") != std::string::npos);
  CHECK(error.find("missing.yaml does not exist") != std::string::npos);
  CHECK(error.find('\n') == std::string::npos);
}

TEST_CASE("a config whose admin key file is missing or empty says so and how to give a key") {
  RelayDir relay;
  std::filesystem::remove(relay.dir / "admin.key");
  auto error = usage_error(with_config(relay), FakeEnv{});
  CHECK(error.find((relay.dir / "admin.key").string()) != std::string::npos);
  CHECK(error.find("does not exist") != std::string::npos);
  CHECK(error.find("TOLLGATE_KEY") != std::string::npos);

  relay.dir.write("admin.key", " \n");
  error = usage_error(with_config(relay), FakeEnv{});
  CHECK(error.find("is empty") != std::string::npos);
}

TEST_CASE("an unreadable admin key file names the file, never a key") {
  if (::geteuid() == 0) return;  // root reads anything
  RelayDir relay;
  ::chmod((relay.dir / "admin.key").c_str(), 0);
  auto error = usage_error(with_config(relay), FakeEnv{});
  CHECK(error.find("cannot read it") != std::string::npos);
  CHECK(error.find("tg_admin_from_file") == std::string::npos);
}

TEST_CASE("a config with errors is reported with its first error") {
  RelayDir relay("k", "server:\n  workers: two\n");
  auto error = usage_error(with_config(relay), FakeEnv{});
  CHECK(error.find("cannot read admin.key_file from " + relay.config.string()) != std::string::npos);
  CHECK(error.find("server.workers") != std::string::npos);
  CHECK(error.find("set TOLLGATE_KEY") != std::string::npos);
}

TEST_CASE("a key that cannot travel in a header is refused without being shown") {
  FakeEnv env{{{"TOLLGATE_KEY", "tg_live_ab\ncd"}}};
  auto error = usage_error({}, env);
  CHECK(error.find("TOLLGATE_KEY") != std::string::npos);
  CHECK(error.find("tg_live_ab") == std::string::npos);
  TargetOptions o;
  o.key = "";
  CHECK(usage_error(o, env).find("--key is empty") == 0);
}

TEST_CASE("--tenant is carried to the target and a blank one is refused") {
  FakeEnv env{{{"TOLLGATE_KEY", "k"}}};
  TargetOptions o;
  o.tenant = "tnt_123";
  CHECK(resolve_target(o, env.lookup()).tenant == std::optional<std::string>("tnt_123"));
  CHECK_FALSE(resolve_target({}, env.lookup()).tenant.has_value());
  o.tenant = "tnt 1";
  CHECK(usage_error(o, env).find("--tenant") == 0);
}

TEST_CASE("base URLs: scheme defaults, ports, a path prefix, and what is refused") {
  auto u = parse_base_url("https://Relay.Example.com/tollgate/", "--url");
  CHECK(u.tls);
  CHECK(u.host == "relay.example.com");
  CHECK(u.port == 443);
  CHECK(u.prefix == "/tollgate");
  CHECK(u.text == "https://Relay.Example.com/tollgate");
  CHECK(u.authority() == "relay.example.com");

  u = parse_base_url("http://[::1]:9000", "--url");
  CHECK(u.host == "::1");
  CHECK(u.ip_literal);
  CHECK(u.authority() == "[::1]:9000");
  CHECK(u.prefix == "");

  CHECK(parse_base_url("http://h", "x").port == 80);
  CHECK(parse_base_url("http://h:8080", "x").authority() == "h:8080");

  auto refused = [](const char* text) {
    try {
      parse_base_url(text, "--url");
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  CHECK(refused("ftp://h").find("--url \"ftp://h\" is not a usable relay URL: the scheme must be http or https") == 0);
  CHECK(refused("127.0.0.1:8080").find("is not a usable relay URL") != std::string::npos);
  CHECK(refused("http://h/?q=1").find("no query or fragment") != std::string::npos);
  CHECK(refused("http://h:99999").find("port") != std::string::npos);
  auto with_password = refused("http://user:hunter2@h");
  CHECK(with_password.find("user:password@ is not supported") != std::string::npos);
  CHECK(with_password.find("hunter2") == std::string::npos);
}
