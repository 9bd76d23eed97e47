// The embedded store under a real `tollgate serve`: durability across kill -9,
// one process per database.
#include <doctest/doctest.h>

#include <signal.h>

#include <atomic>
#include <regex>
#include <thread>

#include "raw_http.hpp"
#include "tollgate_process.hpp"

using namespace tollgate::test;

namespace {
const std::string kAdmin = "tg_admin_store_test_0123456789";
}

TEST_CASE("kill -9 during a stream of writes: every acknowledged write is there after a restart") {
  TempDir shared;  // the same data directory for both lives
  std::string yaml = "store:\n  sqlite: {path: " + (shared / "tollgate.db").string() + "}\n" +
                     "secrets:\n  keys_file: " + (shared / "master.keys").string() + "\n";
  std::vector<std::string> acknowledged;
  {
    TollgateProcess tg(yaml, {{"TOLLGATE_ADMIN_KEY", kAdmin}});
    std::atomic<bool> stop{false};
    std::vector<std::string> acked;  // touched by the writer only until join
    std::atomic<std::size_t> acked_count{0};
    std::thread writer([&] {
      for (int i = 0; !stop; ++i) {
        try {
          auto r = http_request(tg.port(), "POST", "/v1/tenants", {{"Authorization", "Bearer " + kAdmin}},
                                "{\"name\":\"w" + std::to_string(i) + "\"}");
          std::smatch m;
          if (r.status == 201 && std::regex_search(r.body, m, std::regex("\"id\":\"(tnt_[a-z0-9]+)\"")))
          {
            acked.push_back(m[1]);
            ++acked_count;
          }
        } catch (const std::exception&) {
          break;  // the server died mid-request: that write was not acknowledged
        }
      }
    });
    REQUIRE(eventually([&] { return acked_count >= 30; }, 30s));
    tg.process().signal(SIGKILL);
    tg.process().wait();
    stop = true;
    writer.join();
    acknowledged = acked;
  }
  TollgateProcess again(yaml, {{"TOLLGATE_ADMIN_KEY", kAdmin}});
  auto list = http_request(again.port(), "GET", "/v1/tenants?limit=500", {{"Authorization", "Bearer " + kAdmin}});
  REQUIRE(list.status == 200);
  for (const auto& id : acknowledged) {
    CAPTURE(id);
    CHECK(list.body.find(id) != std::string::npos);
  }
}

TEST_CASE("a second serve on the same database is refused with a clear message") {
  TollgateProcess first;
  TempDir other;
  auto file = other.write("c.yaml", "server:\n  listen: 127.0.0.1:0\nproviders: {}\n"
                                    "store:\n  sqlite: {path: " + (first.dir() / "data/tollgate.db").string() + "}\n"
                                    "secrets:\n  keys_file: k\nadmin:\n  key_file: a\n");
  auto r = run({TOLLGATE_BIN, "serve", "--config", file.string()}, {}, 20s);
  CHECK(r.status == 1);
  CHECK(r.err.find("in use by another tollgate process") != std::string::npos);
  // The first one is unaffected.
  CHECK(http_request(first.port(), "GET", "/readyz").status == 200);
}

TEST_CASE("TOLLGATE_ADMIN_KEY overrides the admin key file, which is then not created") {
  TollgateProcess tg({}, {{"TOLLGATE_ADMIN_KEY", kAdmin}});
  CHECK_FALSE(std::filesystem::exists(tg.dir() / "data/admin.key"));
  CHECK(http_request(tg.port(), "GET", "/v1/tenants", {{"Authorization", "Bearer " + kAdmin}}).status == 200);
  CHECK(tg.logs().find("TOLLGATE_ADMIN_KEY") != std::string::npos);
  CHECK(tg.logs().find(kAdmin) == std::string::npos);
}

TEST_CASE("the admin key file made on first run is the admin key") {
  TollgateProcess tg({}, {{"TOLLGATE_ADMIN_KEY", std::nullopt}});
  auto key = read_file(tg.dir() / "data/admin.key");
  while (!key.empty() && key.back() == '\n') key.pop_back();
  REQUIRE(key.size() > 20);
  CHECK(http_request(tg.port(), "GET", "/v1/tenants", {{"Authorization", "Bearer " + key}}).status == 200);
  CHECK(tg.logs().find(key) == std::string::npos);
}
