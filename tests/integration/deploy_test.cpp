// deploy/ agrees with tollgate: the files parse (YAML and JSON by npm parsers,
// the unit by systemd-analyze, the Dockerfile by the small parser below), the
// configs they carry pass `tollgate check-config`, and ports, probe paths, file
// paths, user and metric names match what tollgate serves. No container engine
// runs here: the image is checked by reading its Dockerfile.
#include <doctest/doctest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "process.hpp"
#include "raw_http.hpp"
#include "temp_dir.hpp"
#include "tollgate_process.hpp"

using namespace tollgate::test;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

const fs::path kSource = TOLLGATE_SOURCE_DIR;
const fs::path kDeploy = kSource / "deploy";

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  REQUIRE_MESSAGE(in, p.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

// ---- a Dockerfile, as far as these checks need it ----
struct Instruction {
  std::string keyword;  // upper case
  std::string args;     // continuation lines joined
};
struct Stage {
  std::string image, name;
  std::vector<Instruction> instructions;
  std::vector<std::string> all(const std::string& keyword) const {
    std::vector<std::string> out;
    for (const auto& i : instructions)
      if (i.keyword == keyword) out.push_back(i.args);
    return out;
  }
};

std::vector<Stage> parse_dockerfile(const std::string& text) {
  std::vector<Stage> stages;
  std::istringstream in(text);
  std::string line, logical;
  auto flush = [&] {
    auto t = trim(logical);
    logical.clear();
    if (t.empty()) return;
    auto sp = t.find_first_of(" \t");
    Instruction ins{t.substr(0, sp), sp == std::string::npos ? "" : trim(t.substr(sp))};
    for (auto& c : ins.keyword) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (ins.keyword == "FROM") {
      std::smatch m;
      static const std::regex from_re(R"((\S+)(?:\s+[Aa][Ss]\s+(\S+))?)");
      REQUIRE_MESSAGE(std::regex_match(ins.args, m, from_re), ins.args);
      stages.push_back(Stage{m[1], m[2], {}});
      return;
    }
    REQUIRE_MESSAGE(!stages.empty(), ("an instruction before the first FROM: " + ins.keyword));
    static const std::set<std::string> known = {"RUN", "COPY", "ADD", "ENV", "ARG", "WORKDIR", "USER", "EXPOSE",
                                                "VOLUME", "HEALTHCHECK", "ENTRYPOINT", "CMD", "LABEL", "STOPSIGNAL", "SHELL"};
    REQUIRE_MESSAGE(known.count(ins.keyword), ("unknown Dockerfile instruction " + ins.keyword));
    stages.back().instructions.push_back(std::move(ins));
  };
  while (std::getline(in, line)) {
    auto t = trim(line);
    if (logical.empty() && (t.empty() || t[0] == '#')) continue;
    if (!t.empty() && t[0] == '#') continue;  // comments inside a continued instruction
    if (!t.empty() && t.back() == '\\') {
      logical += t.substr(0, t.size() - 1) + " ";
      continue;
    }
    logical += t;
    flush();
  }
  flush();
  return stages;
}

// A JSON-array (exec form) argument list: ["a", "b"].
std::vector<std::string> exec_form(const std::string& args) {
  auto v = json::parse(args);
  std::vector<std::string> out;
  for (const auto& a : v.as_array()) out.emplace_back(a.as_string());
  return out;
}

// ---- a systemd unit: [Section] key=value, repeated keys kept in order ----
using Unit = std::map<std::string, std::vector<std::string>>;  // "Section.Key" → values
Unit parse_unit(const std::string& text) {
  Unit unit;
  std::istringstream in(text);
  std::string line, section;
  while (std::getline(in, line)) {
    auto t = trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';') continue;
    if (t.front() == '[') {
      section = t.substr(1, t.find(']') - 1);
      continue;
    }
    auto eq = t.find('=');
    REQUIRE_MESSAGE(eq != std::string::npos, ("not key=value: " + t));
    unit[section + "." + trim(t.substr(0, eq))].push_back(trim(t.substr(eq + 1)));
  }
  return unit;
}

// A config's YAML with /etc/tollgate/providers.yaml pointing at the repo's catalog
// (the image copies config/providers.yaml there; the Dockerfile check pins that).
fs::path local_config(const TempDir& dir, std::string yaml, const std::string& name) {
  const std::string image_catalog = "/etc/tollgate/providers.yaml";
  for (auto at = yaml.find(image_catalog); at != std::string::npos; at = yaml.find(image_catalog))
    yaml.replace(at, image_catalog.size(), (kSource / "config" / "providers.yaml").string());
  auto path = dir / name;
  std::ofstream(path) << yaml;
  return path;
}

// `key: value` at any depth of a (simple) YAML text; "" when absent.
std::string yaml_scalar(const std::string& yaml, const std::string& key) {
  std::smatch m;
  if (!std::regex_search(yaml, m, std::regex("(?:^|\\n)\\s*" + key + ":\\s*([^\\s#{}]+)"))) return "";
  return m[1];
}

int listen_port(const std::string& yaml) {
  auto listen = yaml_scalar(yaml, "listen");
  return std::stoi(listen.substr(listen.rfind(':') + 1));
}

std::vector<std::string> data_paths(const std::string& yaml) {
  std::vector<std::string> out;
  for (auto key : {"path", "keys_file", "key_file", "journal_dir"})
    if (auto v = yaml_scalar(yaml, key); !v.empty()) out.push_back(v);
  return out;
}

bool under(const std::string& path, const std::string& dir) { return path.rfind(dir + "/", 0) == 0; }

json::object deploy_facts() {
  auto r = run({"node", (kSource / "tests/peers/check_deploy.mjs").string(), "--deploy", kDeploy.string()});
  REQUIRE_MESSAGE(r.status == 0, r.err);
  return json::parse(r.out).as_object();
}

std::string str(const json::value& v) { return std::string(v.as_string()); }

}  // namespace

TEST_CASE("deploy: the Dockerfile builds on Debian 12 in two stages and runs as a non-root user with a health check on /healthz") {
  auto stages = parse_dockerfile(slurp(kDeploy / "Dockerfile"));
  REQUIRE(stages.size() == 2);
  CHECK(stages[0].image == "debian:12");
  CHECK(stages[0].name == "build");
  const Stage& final = stages.back();
  CHECK(final.image == "debian:12-slim");

  auto users = final.all("USER");
  REQUIRE(users.size() == 1);
  CHECK(users[0] == "10001:10001");
  auto runs = final.all("RUN");
  REQUIRE(!runs.empty());
  CHECK(runs[0].find("useradd --system --uid 10001 --gid 10001") != std::string::npos);
  CHECK(runs[0].find("install -d -o 10001 -g 10001 -m 0700 /var/lib/tollgate") != std::string::npos);
  // The runtime libraries are the ones the binary links.
  auto ldd = run({"ldd", TOLLGATE_BIN});
  for (auto [lib, package] : std::vector<std::pair<std::string, std::string>>{
           {"libboost_json.so.1.81.0", "libboost-json1.81.0"}, {"libboost_url.so.1.81.0", "libboost-url1.81.0"},
           {"libhiredis.so.0.14", "libhiredis0.14"}, {"libsqlite3.so.0", "libsqlite3-0"},
           {"libyaml-cpp.so.0.7", "libyaml-cpp0.7"}, {"libssl.so.3", "libssl3"}, {"libjemalloc.so.2", "libjemalloc2"}}) {
    if (ldd.out.find(lib) != std::string::npos) CHECK_MESSAGE(runs[0].find(package) != std::string::npos, package);
  }

  // Every COPY source exists in the repository; the config and catalog land where the config says.
  std::map<std::string, std::string> copied;  // destination → source
  for (const auto& c : final.all("COPY")) {
    std::istringstream words(c);
    std::vector<std::string> w{std::istream_iterator<std::string>(words), {}};
    if (w[0].starts_with("--from=")) {
      CHECK(w[0] == "--from=build");
      copied[w[2]] = w[1];
      continue;
    }
    CHECK_MESSAGE(fs::exists(kSource / w[0]), w[0]);
    copied[w[1]] = w[0];
  }
  for (const auto& c : stages[0].all("COPY")) {
    std::istringstream words(c);
    std::string src;
    words >> src;
    CHECK_MESSAGE(fs::exists(kSource / src), src);
  }
  CHECK(copied["/usr/local/bin/tollgate"] == "/src/build/tollgate");
  CHECK(copied["/etc/tollgate/tollgate.yaml"] == "deploy/docker/tollgate.yaml");
  CHECK(copied["/etc/tollgate/providers.yaml"] == "config/providers.yaml");

  auto entry = exec_form(final.all("ENTRYPOINT").at(0));
  auto cmd = exec_form(final.all("CMD").at(0));
  CHECK(entry == std::vector<std::string>{"/usr/local/bin/tollgate"});
  CHECK(cmd == std::vector<std::string>{"serve", "--config", "/etc/tollgate/tollgate.yaml"});

  // The image's config: valid, listening where EXPOSE and HEALTHCHECK say, writing only under the volume.
  const auto config = slurp(kDeploy / "docker/tollgate.yaml");
  CHECK(final.all("EXPOSE") == std::vector<std::string>{std::to_string(listen_port(config))});
  CHECK(final.all("VOLUME") == std::vector<std::string>{"[\"/var/lib/tollgate\"]"});
  CHECK(yaml_scalar(config, "providers_file") == "/etc/tollgate/providers.yaml");
  for (const auto& p : data_paths(config)) CHECK_MESSAGE(under(p, "/var/lib/tollgate"), p);
  auto health = final.all("HEALTHCHECK");
  REQUIRE(health.size() == 1);
  CHECK(health[0].find("http://127.0.0.1:" + std::to_string(listen_port(config)) + "/healthz") != std::string::npos);
  TempDir dir;
  auto check = run({TOLLGATE_BIN, "check-config", "--config", local_config(dir, config, "docker.yaml").string()});
  CHECK_MESSAGE(check.status == 0, (check.out + check.err));
}

TEST_CASE("deploy: the Kubernetes manifests parse and agree with the config, the image and tollgate's routes") {
  auto facts = deploy_facts();
  auto& k8s = facts.at("k8s").as_object();
  std::set<std::string> kinds;
  for (const auto& k : k8s.at("kinds").as_array()) kinds.insert(str(k));
  CHECK(kinds == std::set<std::string>{"ConfigMap", "Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget",
                                       "Secret", "Service"});

  auto& d = k8s.at("deployment").as_object();
  CHECK(d.at("replicas").to_number<int>() >= 2);
  CHECK(d.at("selector") == d.at("pod_labels"));
  // The container port is the one the ConfigMap's config listens on; the probes hit tollgate's health routes.
  const auto config = str(k8s.at("configmap").as_object().at("data").as_object().at("tollgate.yaml"));
  auto& port = d.at("ports").as_array().at(0).as_object();
  CHECK(port.at("containerPort").to_number<int>() == listen_port(config));
  CHECK(str(port.at("name")) == "http");
  CHECK(str(d.at("liveness").as_object().at("path")) == "/healthz");
  CHECK(str(d.at("readiness").as_object().at("path")) == "/readyz");
  CHECK(str(d.at("startup").as_object().at("path")) == "/healthz");
  for (auto probe : {"liveness", "readiness", "startup"}) CHECK(str(d.at(probe).as_object().at("port")) == "http");
  auto& annotations = d.at("annotations").as_object();
  CHECK(str(annotations.at("prometheus.io/port")) == std::to_string(listen_port(config)));
  CHECK(str(annotations.at("prometheus.io/path")) == "/metrics");
  auto& resources = d.at("resources").as_object();
  CHECK(resources.contains("requests"));
  CHECK(resources.contains("limits"));

  // The pod runs as the image's user, read-only, with the state volume where the config writes.
  auto& pod = d.at("pod_security").as_object();
  CHECK(pod.at("runAsNonRoot").as_bool());
  CHECK(pod.at("runAsUser").to_number<int>() == 10001);
  CHECK(pod.at("runAsGroup").to_number<int>() == 10001);
  auto& sec = d.at("container_security").as_object();
  CHECK(sec.at("readOnlyRootFilesystem").as_bool());
  CHECK_FALSE(sec.at("allowPrivilegeEscalation").as_bool());
  std::map<std::string, json::object> mounts;
  for (const auto& m : d.at("mounts").as_array()) mounts[str(m.as_object().at("mountPath"))] = m.as_object();
  REQUIRE(mounts.count("/etc/tollgate/k8s"));
  CHECK(str(mounts["/etc/tollgate/k8s"].at("volume").as_object().at("configMap").as_object().at("name")) ==
        str(k8s.at("configmap").as_object().at("name")));
  REQUIRE(mounts.count("/var/lib/tollgate"));
  for (const auto& p : data_paths(config)) CHECK_MESSAGE(under(p, "/var/lib/tollgate"), p);
  auto args = d.at("args").as_array();
  REQUIRE(args.size() == 3);
  CHECK(str(args[2]) == "/etc/tollgate/k8s/tollgate.yaml");
  CHECK(d.at("termination_grace_seconds").to_number<int>() > 20);  // > server.timeouts.shutdown_grace

  // The Secret holds every ${VAR} the config names, plus the admin key; the Deployment loads it.
  std::set<std::string> secret_keys;
  for (const auto& k : k8s.at("secret").as_object().at("keys").as_array()) secret_keys.insert(str(k));
  CHECK(secret_keys.count("TOLLGATE_ADMIN_KEY"));
  std::smatch m;
  const std::regex var_re(R"(\$\{(TOLLGATE_[A-Z0-9_]+)\})");
  for (auto it = std::sregex_iterator(config.begin(), config.end(), var_re);
       it != std::sregex_iterator(); ++it) {
    auto var = (*it)[1].str();
    if (var != "TOLLGATE_PUBLIC_URL") CHECK_MESSAGE(secret_keys.count(var), var);
  }
  CHECK(d.at("env_from_secrets").as_array().at(0) == k8s.at("secret").as_object().at("name"));
  CHECK(yaml_scalar(config, "kind") == "redis");

  auto& svc = k8s.at("service").as_object();
  CHECK(svc.at("selector") == d.at("pod_labels"));
  CHECK(str(svc.at("ports").as_array().at(0).as_object().at("targetPort")) == "http");
  auto& hpa = k8s.at("hpa").as_object();
  CHECK(str(hpa.at("target").as_object().at("kind")) == "Deployment");
  CHECK(hpa.at("target").as_object().at("name") == d.at("name"));
  CHECK(hpa.at("min").to_number<int>() >= 2);
  CHECK(k8s.at("pdb").as_object().at("selector") == d.at("pod_labels"));

  // The ConfigMap's config passes check-config with the Secret's variables set.
  TempDir dir;
  auto check = run({TOLLGATE_BIN, "check-config", "--config", local_config(dir, config, "k8s.yaml").string()},
                   {{"TOLLGATE_PUBLIC_URL", "https://tollgate.example.com"},
                    {"TOLLGATE_REDIS_URL", "redis://:pw@redis:6379/0"},
                    {"TOLLGATE_KEY_K1", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}});
  CHECK_MESSAGE(check.status == 0, (check.out + check.err));

  // The probe paths answer on a running tollgate.
  TollgateProcess tg;
  CHECK(http_request(tg.port(), "GET", "/healthz").status == 200);
  CHECK(http_request(tg.port(), "GET", "/readyz").status == 200);
  CHECK(http_request(tg.port(), "GET", "/metrics").status == 200);
}

TEST_CASE("deploy: every Grafana query and the Prometheus scrape config name what /metrics exposes") {
  auto facts = deploy_facts();
  TollgateProcess tg;
  auto text = http_request(tg.port(), "GET", "/metrics").body;
  std::set<std::string> families;
  const std::regex type_re(R"(# TYPE (\S+) (\S+))");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), type_re);
       it != std::sregex_iterator(); ++it) {
    families.insert((*it)[1]);
    if ((*it)[2] == "histogram")
      for (auto suffix : {"_bucket", "_sum", "_count"}) families.insert((*it)[1].str() + suffix);
  }
  REQUIRE(families.size() > 20);

  auto& grafana = facts.at("grafana").as_array();
  REQUIRE(grafana.size() >= 1);
  for (const auto& dash : grafana) {
    CHECK(dash.as_object().at("exprs").as_array().size() >= 15);
    std::set<std::string> used;
    for (const auto& name : dash.as_object().at("metrics").as_array()) {
      used.insert(str(name));
      CHECK_MESSAGE(families.count(str(name)), str(dash.as_object().at("file")) << " queries " << str(name)
                                                                               << ", which /metrics does not expose");
    }
    // And the dashboard shows every family (a family no panel uses is a gap).
    for (const auto& f : families)
      if (!f.ends_with("_sum") && !f.ends_with("_count") && !f.ends_with("_bucket") &&
          !families.count(f + "_bucket"))
        CHECK_MESSAGE(used.count(f), "no Grafana panel uses " << f);
  }

  auto& jobs = facts.at("prometheus").as_object().at("jobs").as_array();
  REQUIRE(!jobs.empty());
  bool static_job = false;
  for (const auto& j : jobs) {
    CHECK(str(j.as_object().at("metrics_path")) == "/metrics");
    for (const auto& t : j.as_object().at("targets").as_array()) {
      static_job = true;
      CHECK(str(t) == "127.0.0.1:" + std::to_string(listen_port(slurp(kSource / "config/tollgate.yaml"))));
    }
  }
  CHECK(static_job);
}

TEST_CASE("deploy: the systemd unit verifies, is hardened, and agrees with the config it runs") {
  const auto unit_text = slurp(kDeploy / "systemd/tollgate.service");
  auto unit = parse_unit(unit_text);
  auto one = [&](const std::string& key) {
    auto it = unit.find(key);
    REQUIRE_MESSAGE(it != unit.end(), key);
    return it->second.back();
  };
  CHECK(one("Service.ExecStart") == "/usr/local/bin/tollgate serve --config /etc/tollgate/tollgate.yaml");
  CHECK(one("Service.User") == "tollgate");
  CHECK(one("Service.DynamicUser") == "yes");
  CHECK(one("Service.StateDirectory") == "tollgate");
  CHECK(one("Service.ProtectSystem") == "strict");
  CHECK(one("Service.NoNewPrivileges") == "yes");
  CHECK(one("Service.CapabilityBoundingSet").empty());
  CHECK(one("Service.KillSignal") == "SIGTERM");
  CHECK(one("Service.ExecReload") == "/bin/kill -HUP $MAINPID");
  CHECK(std::stoi(one("Service.TimeoutStopSec")) > 20);  // > shutdown_grace

  // Under ProtectSystem=strict only the StateDirectory is writable: every path the config writes is in it.
  const auto config = slurp(kDeploy / "systemd/tollgate.yaml");
  for (const auto& p : data_paths(config)) CHECK_MESSAGE(under(p, "/var/lib/" + one("Service.StateDirectory")), p);
  CHECK(yaml_scalar(config, "providers_file") == "/etc/tollgate/providers.yaml");
  TempDir dir;
  auto check = run({TOLLGATE_BIN, "check-config", "--config", local_config(dir, config, "systemd.yaml").string()});
  CHECK_MESSAGE(check.status == 0, (check.out + check.err));

  // systemd's own check, with ExecStart pointing at the binary this build made.
  REQUIRE_MESSAGE(fs::exists("/usr/bin/systemd-analyze"), "systemd-analyze is needed to verify the unit");
  std::string local = unit_text;
  const std::string installed = "/usr/local/bin/tollgate";
  for (auto at = local.find(installed); at != std::string::npos; at = local.find(installed, at))
    local.replace(at, installed.size(), TOLLGATE_BIN);
  auto path = dir / "tollgate.service";
  std::ofstream(path) << local;
  auto verify = run({"systemd-analyze", "verify", path.string()});
  CHECK_MESSAGE(verify.status == 0, (verify.out + verify.err));
}
