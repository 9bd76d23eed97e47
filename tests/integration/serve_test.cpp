// `tollgate serve` as a real process: start-up, SIGHUP reload, SIGTERM.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/stat.h>

#include "raw_http.hpp"
#include "tollgate_process.hpp"

using namespace tollgate::test;

namespace {

// What TollgateProcess adds to a config, for tests that rewrite it before a SIGHUP.
const char* const kDataPaths =
    "providers: {}\nstore:\n  sqlite: {path: data/tollgate.db}\nsecrets:\n  keys_file: data/master.keys\n"
    "admin:\n  key_file: data/admin.key\nmetering:\n  journal_dir: data/journal\n";

std::size_t count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = haystack.find(needle); pos != std::string::npos; pos = haystack.find(needle, pos + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("serve answers /healthz and /readyz and logs one JSON line per request") {
  TollgateProcess tg;
  auto h = http_request(tg.port(), "GET", "/healthz");
  CHECK(h.status == 200);
  CHECK(h.body == R"({"status":"ok"})");
  CHECK(http_request(tg.port(), "GET", "/readyz").status == 200);
  CHECK(eventually([&] { return count(tg.logs(), "\"msg\":\"request\"") == 2; }));
  auto logs = tg.logs();
  CHECK(logs.find("\"path\":\"/healthz\"") != std::string::npos);
  CHECK(logs.find(h.header("Tollgate-Request-Id")) != std::string::npos);
}

TEST_CASE("the first run creates the database, the master keys file and the admin key file, 0600") {
  TollgateProcess tg;
  for (auto name : {"data/master.keys", "data/admin.key", "data/tollgate.db"}) {
    CAPTURE(name);
    auto file = tg.dir() / name;
    struct stat st{};
    REQUIRE(::stat(file.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    // serve says where each file is.
    CHECK(tg.logs().find(file.lexically_normal().string()) != std::string::npos);
  }
}

TEST_CASE("SIGTERM stops serve gracefully with exit status 0") {
  TollgateProcess tg;
  CHECK(http_request(tg.port(), "GET", "/healthz").status == 200);
  CHECK(tg.stop() == 0);
  CHECK(tg.logs().find("\"msg\":\"stopped\"") != std::string::npos);
}

TEST_CASE("SIGHUP applies a valid config in place: new limits take effect on the running server") {
  TollgateProcess tg;
  std::string long_target = "/healthz?pad=" + std::string(400, 'a');
  CHECK(http_request(tg.port(), "GET", long_target).status == 200);
  tg.dir().write("tollgate.yaml", std::string("server:\n  listen: 127.0.0.1:0\n  workers: 2\n  limits: {max_uri_bytes: 256}\n") +
                                     kDataPaths);
  tg.process().signal(SIGHUP);
  REQUIRE(eventually([&] { return tg.logs().find("\"msg\":\"config reloaded\"") != std::string::npos; }));
  auto r = http_request(tg.port(), "GET", long_target);
  CHECK(r.status == 414);
  CHECK(r.header("Tollgate-Error") == "uri_too_long");
}

TEST_CASE("SIGHUP with a config that does not validate keeps the old one serving") {
  TollgateProcess tg("logging: {level: info}\n");
  tg.dir().write("tollgate.yaml", std::string("server:\n  listen: 127.0.0.1:0\n  workers: two\n") + kDataPaths);
  tg.process().signal(SIGHUP);
  REQUIRE(eventually([&] { return tg.logs().find("config reload refused") != std::string::npos; }));
  auto logs = tg.logs();
  CHECK(logs.find("tollgate.yaml:3:12: server.workers") != std::string::npos);
  CHECK(http_request(tg.port(), "GET", "/healthz").status == 200);
  CHECK(tg.process().running());
}

TEST_CASE("SIGHUP that changes server.listen is refused and the old config keeps serving") {
  TollgateProcess tg;
  tg.dir().write("tollgate.yaml", std::string("server:\n  listen: 127.0.0.1:1\n  workers: 2\n  limits: {max_uri_bytes: 100}\n") +
                                     kDataPaths);
  tg.process().signal(SIGHUP);
  REQUIRE(eventually([&] { return tg.logs().find("config reload refused") != std::string::npos; }));
  CHECK(tg.logs().find("server.listen") != std::string::npos);
  // The refused config's smaller limit did not apply either.
  CHECK(http_request(tg.port(), "GET", "/healthz?pad=" + std::string(300, 'a')).status == 200);
}

TEST_CASE("serve refuses to start on a config with errors, naming file, line and key") {
  TempDir dir;
  auto file = dir.write("bad.yaml", "server:\n  listn: 127.0.0.1:0\nproviders: {}\n");
  // Nothing is created for a config that does not validate.
  auto r = run({TOLLGATE_BIN, "serve", "--config", file.string()});
  CHECK(r.status == 1);
  CHECK(r.err.find(file.string() + ":2:3: server.listn") != std::string::npos);
}

TEST_CASE("a second serve on a port in use is refused, not silently sharing it") {
  TollgateProcess first;
  TempDir dir;
  auto file = dir.write("c.yaml", "server:\n  listen: 127.0.0.1:" + std::to_string(first.port()) +
                                      "\n  workers: 1\nsecrets: {keys_file: k}\nadmin: {key_file: a}\n"
                                      "store: {sqlite: {path: db}}\nproviders: {}\n");
  auto r = run({TOLLGATE_BIN, "serve", "--config", file.string()}, {}, 20s);
  CHECK(r.status == 1);
  CHECK(r.err.find("cannot listen on 127.0.0.1:" + std::to_string(first.port())) != std::string::npos);
  CHECK(r.err.find("in use") != std::string::npos);
}

TEST_CASE("no secret planted in a request reaches the log") {
  TollgateProcess tg;
  const std::string marker = "MARKER-SECRET-8c1f5e";
  http_request(tg.port(), "GET", "/healthz?access_token=" + marker,
               {{"Authorization", "Bearer " + marker}, {"Cookie", "tg=" + marker}});
  http_request(tg.port(), "GET", "/nowhere?code=" + marker);
  REQUIRE(eventually([&] { return count(tg.logs(), "\"msg\":\"request\"") == 2; }));
  tg.stop();
  CHECK(tg.logs().find(marker) == std::string::npos);
}
