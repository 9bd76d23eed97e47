// Metering exactness against real processes (SPEC §6): two `tollgate serve`
// on one real Redis relay thousands of calls for several tenants and providers,
// sent by client threads over keep-alive connections. The usage report must
// equal the responses the test received, split by tenant and provider — also
// when one process is killed with SIGKILL mid-run and restarted (then it may
// exceed them by at most the calls that got no response), and when Redis is
// stopped for 10 s mid-run. The billing report over that traffic matches totals
// the test computes itself, and a tenant's rate limit holds across both
// processes within one lease block per instance.
#include <doctest/doctest.h>

#include <signal.h>
#include <time.h>

#include <boost/json.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "raw_http.hpp"
#include "redis_process.hpp"
#include "temp_dir.hpp"
#include "tollgate_process.hpp"
#include "upstream_peer.hpp"

namespace tollgate::test {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

const std::string kAdmin = "tg_admin_metering_exact_0123456789ab";
// Both processes seal and unseal with this master key (base64 of 32 bytes).
const std::string kMasterKey = "hr8l9LjeggVOCQEO0vWWyxV0uoVdOUFTTCDgpazbwM4=";
// The upstream's answer to every call (UpstreamPeer's default reply).
const std::string kUpstreamBody = R"({"ok":true})";

// Two providers with deployment credentials (managed) and one with a
// connection per tenant (your-own), priced differently.
const std::array<std::string, 3> kProviders = {"alpha", "beta", "keyed"};
constexpr std::size_t kTenants = 3;
constexpr std::size_t kCombos = kTenants * 3;  // (tenant, provider)

std::string field(const std::string& json_text, const std::string& name) {
  std::smatch m;
  return std::regex_search(json_text, m, std::regex("\"" + name + "\":\"([^\"]*)\"")) ? m[1].str() : "";
}

// A UTC day as YYYY-MM-DD, `offset` days from today.
std::string utc_day(int offset) {
  using namespace std::chrono;
  const year_month_day d{floor<days>(system_clock::now()) + days(offset)};
  std::ostringstream out;
  out << static_cast<int>(d.year()) << '-' << (static_cast<unsigned>(d.month()) < 10 ? "0" : "")
      << static_cast<unsigned>(d.month()) << '-' << (static_cast<unsigned>(d.day()) < 10 ? "0" : "")
      << static_cast<unsigned>(d.day());
  return out.str();
}

struct Tenant {
  std::string id, key, pac;
};

// The upstream, Redis and two tollgate processes sharing it (same secrets, same
// admin key, each its own journal directory), with kTenants tenants.
class Fleet {
 public:
  // `shared_journal`: both processes use one journal_dir (the flock on each
  // shard keeps a live process's files from the other).
  explicit Fleet(std::vector<std::string> redis_args = {}, bool shared_journal = false)
      : redis(std::move(redis_args)), shared_journal_(shared_journal) {
    start(0);
    start(1);
    for (std::size_t t = 0; t < kTenants; ++t) {
      Tenant tenant;
      // Created through one process and used through both: everything lives in Redis.
      tenant.id = field(admin(t % 2, "POST", "/v1/tenants", R"({"name":"Tenant )" + std::to_string(t) + "\"}").body, "id");
      tenant.key = field(admin(t % 2, "POST", "/v1/tenants/" + tenant.id + "/api-keys", "{}").body, "key");
      REQUIRE(!tenant.key.empty());
      auto imported = http_request(port(1 - t % 2), "POST", "/v1/auth-configs", {{"Authorization", "Bearer " + tenant.key}},
                                   R"({"provider":"keyed","external_user_id":"u1","credentials":{"api_key":"tenant-key-)" +
                                       std::to_string(t) + "\"}}");
      REQUIRE_MESSAGE(imported.status == 201, imported.body);
      tenant.pac = field(imported.body, "id");
      tenants.push_back(tenant);
    }
  }

  std::filesystem::path journal_dir(std::size_t i) const {
    if (shared_journal_ && i < 2) return journals / "shared";
    return journals / ("tg" + std::to_string(i));
  }

  std::string config(std::size_t i) const {
    const std::string base = upstream.base_url();
    return "store:\n  kind: redis\n  redis:\n    url: \"" + redis.url() + "\"\n    command_timeout: 1s\n"
           "secrets:\n  keys:\n    - {id: k1, value: \"" + kMasterKey + "\"}\n"
           "metering: {flush_interval: 100ms, journal_dir: " + journal_dir(i).string() + "}\n"
           "billing:\n  currency: USD\n  billable_modes: [managed]\n"
           "  prices: {default: \"0.10\", alpha: \"0.05\", beta: \"1.25\"}\n"
           "providers:\n"
           "  alpha:\n    auth_mode: api_key\n    api: {base_url: \"" + base + "/alpha\"}\n"
           "    credentials: {header: X-Api-Key}\n    deployment_credentials: {api_key: deploy-alpha}\n"
           "  beta:\n    auth_mode: api_key\n    api: {base_url: \"" + base + "/beta\"}\n"
           "    credentials: {query: key}\n    deployment_credentials: {api_key: deploy-beta}\n"
           "  keyed:\n    auth_mode: api_key\n    api: {base_url: \"" + base + "/keyed\"}\n"
           "    credentials: {header: X-Api-Key}\n";
  }

  // Starts (or restarts, on the same journal directory) process i.
  void start(std::size_t i) {
    if (tg[i]) gone.push_back(std::move(tg[i]));  // kept for its logs
    tg[i] = std::make_unique<TollgateProcess>(config(i), std::map<std::string, std::optional<std::string>>{
                                                             {"TOLLGATE_ADMIN_KEY", kAdmin}});
    ports[i] = tg[i]->port();
  }

  std::uint16_t port(std::size_t i) const { return ports[i].load(); }

  HttpResponse admin(std::size_t i, std::string_view method, const std::string& target, std::string_view body = {}) {
    return http_request(port(i), method, target, {{"Authorization", "Bearer " + kAdmin}}, body);
  }

  // The request of one call for combo c (tenant c / 3, provider c % 3) on a keep-alive connection.
  std::string request(std::size_t c, std::uint64_t n) const {
    const Tenant& t = tenants[c / 3];
    const std::string& provider = kProviders[c % 3];
    std::string r = "GET /v1/proxy/" + provider + "/items?n=" + std::to_string(n) +
                    " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + t.key + "\r\n";
    if (provider == "keyed") r += "Tollgate-Auth-Config: " + t.pac + "\r\n";
    return r + "\r\n";
  }

  // GET /v1/usage grouped by tenant and provider over yesterday..tomorrow:
  // {(tenant, provider): row}; nullopt when it did not answer 200.
  std::optional<std::map<std::pair<std::string, std::string>, json::object>> usage(std::uint16_t at) const {
    auto r = http_request(at, "GET",
                          "/v1/usage?group_by=tenant,provider&from=" + utc_day(-1) + "&to=" + utc_day(2),
                          {{"Authorization", "Bearer " + kAdmin}});
    if (r.status != 200) return std::nullopt;
    std::map<std::pair<std::string, std::string>, json::object> out;
    const auto body = json::parse(r.body);
    for (const auto& row : body.at("rows").as_array()) {
      const auto& o = row.as_object();
      out[{std::string(o.at("tenant").as_string()), std::string(o.at("provider").as_string())}] = o;
    }
    return out;
  }

  // Stops both processes gracefully (the meter flushes on SIGTERM), then
  // answers the usage report from a fresh process on the same Redis — so no
  // count can still be on its way.
  std::map<std::pair<std::string, std::string>, json::object> settled_usage() {
    for (auto& p : tg) {
      if (!p || !p->process().running()) continue;
      const auto status = p->stop();
      const std::string logs = p->logs();
      INFO("exit status " << status.value_or(-1) << ", log tail: " << logs.substr(logs.size() - std::min<std::size_t>(logs.size(), 3000)));
      CHECK(status == std::optional<int>(0));
    }
    TollgateProcess reader(config(2), {{"TOLLGATE_ADMIN_KEY", kAdmin}});
    auto u = usage(reader.port());
    REQUIRE(u);
    return *u;
  }

  UpstreamPeer upstream;
  RedisProcess redis;
  TempDir journals;
  std::array<std::unique_ptr<TollgateProcess>, 2> tg;
  std::vector<std::unique_ptr<TollgateProcess>> gone;
  std::array<std::atomic<std::uint16_t>, 2> ports{};
  std::vector<Tenant> tenants;

 private:
  bool shared_journal_ = false;
};

// What the client threads saw, per combo.
struct Tally {
  std::array<std::atomic<std::uint64_t>, kCombos> received{};   // 200 with the upstream's whole body
  std::array<std::atomic<std::uint64_t>, kCombos> in_flight{};  // sent, no whole response
  std::array<std::atomic<std::uint64_t>, 2> per_process{};      // received, by process
  std::atomic<std::uint64_t> total{0};                          // received, all combos
  std::mutex m;
  std::map<int, std::uint64_t> other;  // any other answer, by status
  std::set<std::string> other_errors;  // their Tollgate-Error values

  std::uint64_t received_sum() const {
    std::uint64_t n = 0;
    for (const auto& r : received) n += r.load();
    return n;
  }
  std::uint64_t in_flight_sum() const {
    std::uint64_t n = 0;
    for (const auto& r : in_flight) n += r.load();
    return n;
  }
  std::uint64_t other_sum() {
    std::lock_guard lock(m);
    std::uint64_t n = 0;
    for (const auto& [status, count] : other) n += count;
    return n;
  }
};

// Client threads sending calls for `combos` over keep-alive connections, each
// moving to the other process every `per_connection` calls or when its
// connection fails, until `more` says stop. One call in flight per thread.
class Load {
 public:
  Load(Fleet& fleet, Tally& tally, std::vector<std::size_t> combos, std::function<bool()> more,
       std::size_t threads = 8, std::size_t per_connection = 150)
      : fleet_(fleet), tally_(tally), combos_(std::move(combos)), more_(std::move(more)) {
    const auto seed = std::random_device{}();
    for (std::size_t i = 0; i < threads; ++i)
      threads_.emplace_back([this, i, seed, per_connection] { client(i, seed + static_cast<unsigned>(i), per_connection); });
  }
  ~Load() { join(); }
  void join() {
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }

 private:
  void client(std::size_t index, unsigned seed, std::size_t per_connection) {
    std::mt19937 rng(seed);
    std::size_t proc = index % 2;
    std::unique_ptr<RawConnection> conn;
    std::size_t on_connection = 0;
    std::uint64_t n = 0;
    while (more_()) {
      if (conn && on_connection >= per_connection) {
        conn.reset();
        proc ^= 1;
      }
      if (!conn) {
        try {
          conn = std::make_unique<RawConnection>(fleet_.port(proc));
        } catch (const std::exception&) {  // that process is down (killed, restarting): the other one
          proc ^= 1;
          struct timespec ts{0, 1'000'000};
          nanosleep(&ts, nullptr);
          continue;
        }
        on_connection = 0;
      }
      const std::size_t c = combos_[rng() % combos_.size()];
      ++on_connection;
      std::optional<HttpResponse> r;
      if (conn->send(fleet_.request(c, n++))) r = conn->read_response(15s);
      if (!r) {  // no whole response: this call was in flight when the connection broke
        ++tally_.in_flight[c];
        conn.reset();
        proc ^= 1;
        continue;
      }
      if (r->status == 200 && r->body == kUpstreamBody) {
        ++tally_.received[c];
        ++tally_.per_process[proc];
        ++tally_.total;
      } else {
        std::lock_guard lock(tally_.m);
        ++tally_.other[r->status];
        tally_.other_errors.insert(r->header("tollgate-error"));
      }
      if (r->header("connection") == "close") conn.reset();
    }
  }

  Fleet& fleet_;
  Tally& tally_;
  std::vector<std::size_t> combos_;
  std::function<bool()> more_;
  std::vector<std::thread> threads_;
};

// Every answer that was not the upstream's, for the test's log.
void log_others(Tally& t) {
  std::lock_guard lock(t.m);
  for (const auto& [status, n] : t.other) MESSAGE("status " << status << ": " << n);
  for (const auto& e : t.other_errors) MESSAGE("Tollgate-Error: " << e);
}

std::vector<std::size_t> all_combos() {
  std::vector<std::size_t> out;
  for (std::size_t c = 0; c < kCombos; ++c) out.push_back(c);
  return out;
}

std::uint64_t calls_of(const json::object& row) { return row.at("calls").to_number<std::uint64_t>(); }

// The calls each (tenant, provider) got, as the usage report names them.
std::map<std::pair<std::string, std::string>, std::uint64_t> expected(const Fleet& f, const Tally& t) {
  std::map<std::pair<std::string, std::string>, std::uint64_t> out;
  for (std::size_t c = 0; c < kCombos; ++c)
    if (t.received[c] > 0) out[{f.tenants[c / 3].id, kProviders[c % 3]}] = t.received[c];
  return out;
}

std::map<std::pair<std::string, std::string>, std::uint64_t> calls_only(
    const std::map<std::pair<std::string, std::string>, json::object>& u) {
  std::map<std::pair<std::string, std::string>, std::uint64_t> out;
  for (const auto& [k, row] : u) out[k] = calls_of(row);
  return out;
}

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

std::string format_cents(std::uint64_t cents) {  // 1234 → "12.34"
  return std::to_string(cents / 100) + "." + (cents % 100 < 10 ? "0" : "") + std::to_string(cents % 100);
}

// Price × billable calls / 1000 in cents, rounded half to even — computed here
// in integers, independently of tollgate's decimal code. Prices are in cents per 1000 calls.
std::string amount(std::uint64_t calls, std::uint64_t cents_per_1000) {
  const std::uint64_t x = calls * cents_per_1000;
  std::uint64_t q = x / 1000;
  const std::uint64_t r = x % 1000;
  if (r > 500 || (r == 500 && q % 2 == 1)) ++q;
  return format_cents(q);
}

std::uint64_t cents_of(const std::string& text) {  // "1.25" → 125
  const auto dot = text.find('.');
  return std::stoull(text.substr(0, dot)) * 100 + std::stoull(text.substr(dot + 1));
}

}  // namespace

TEST_CASE("metering exactness: 10,000 calls over two processes on one Redis are reported exactly per tenant and provider, and billed") {
  Fleet f;
  const std::string month_at_start = utc_day(0).substr(0, 7);
  Tally t;
  constexpr std::uint64_t kCalls = 10'000;
  const auto start = Clock::now();
  {
    Load load(f, t, all_combos(), [&] { return t.total.load() < kCalls; });
  }
  const double took = seconds_since(start);
  MESSAGE("relayed " << t.received_sum() << " calls in " << took << " s (" << t.per_process[0].load() << " + "
                     << t.per_process[1].load() << " by process)");
  log_others(t);
  CHECK(t.in_flight_sum() == 0);
  CHECK(t.other_sum() == 0);
  CHECK(t.received_sum() >= kCalls);
  CHECK(t.per_process[0] > kCalls / 4);
  CHECK(t.per_process[1] > kCalls / 4);
  const auto want = expected(f, t);
  CHECK(want.size() == kCombos);

  // Each process flushes its own journal; the report (from either) is exact.
  std::map<std::pair<std::string, std::string>, json::object> got;
  const auto flushed = Clock::now();
  const bool exact = eventually(
      [&] {
        auto u = f.usage(f.port(1));
        if (u) got = *u;
        return u && calls_only(*u) == want;
      },
      20s);
  MESSAGE("report exact " << seconds_since(flushed) << " s after the last call");
  CHECK(exact);
  CHECK(calls_only(got) == want);
  for (const auto& [key, row] : got) {
    CAPTURE(key.first);
    CAPTURE(key.second);
    CHECK(row.at("errors").to_number<std::uint64_t>() == 0);
    CHECK(row.at("refreshes").to_number<std::uint64_t>() == 0);
    CHECK(row.at("request_bytes").to_number<std::uint64_t>() == 0);
    CHECK(row.at("response_bytes").to_number<std::uint64_t>() == calls_of(row) * kUpstreamBody.size());
  }
  // The upstream saw each call once.
  CHECK(f.upstream.wait_for_requests(t.received_sum()));
  CHECK(f.upstream.requests().size() == t.received_sum());

  // The billing report of the month over that traffic: alpha and beta are
  // managed (billable), keyed is your-own (not billable).
  if (utc_day(0).substr(0, 7) != month_at_start) {
    MESSAGE("the UTC month changed during the test: billing not checked");
  } else {
    for (std::size_t ti = 0; ti < kTenants; ++ti) {
      CAPTURE(ti);
      const auto& tenant = f.tenants[ti];
      auto r = f.admin(0, "GET", "/v1/billing/report?tenant=" + tenant.id + "&period=" + month_at_start);
      REQUIRE_MESSAGE(r.status == 200, r.body);
      const auto report = json::parse(r.body).as_object();
      CHECK(report.at("currency") == "USD");
      const auto& lines = report.at("lines").as_array();
      CHECK(lines.size() == 3);
      const std::map<std::string, std::pair<std::string, std::uint64_t>> terms = {
          {"alpha", {"managed", 5}}, {"beta", {"managed", 125}}, {"keyed", {"your-own", 10}}};
      std::uint64_t total_cents = 0;
      for (const auto& line : lines) {
        const std::string provider(line.at("provider").as_string());
        CAPTURE(provider);
        REQUIRE(terms.count(provider) == 1);
        const auto& [mode, price] = terms.at(provider);
        const std::uint64_t calls = t.received[ti * 3 + (provider == "alpha" ? 0 : provider == "beta" ? 1 : 2)];
        const std::uint64_t billable = mode == "managed" ? calls : 0;
        CHECK(line.at("mode").as_string() == mode);
        CHECK(line.at("calls").to_number<std::uint64_t>() == calls);
        CHECK(line.at("billable_calls").to_number<std::uint64_t>() == billable);
        CHECK(line.at("amount").as_string() == amount(billable, price));
        total_cents += cents_of(amount(billable, price));
      }
      CHECK(report.at("total").as_string() == format_cents(total_cents));
    }
  }

  // After a graceful stop of both, a fresh process reads the same numbers: nothing came late.
  CHECK(calls_only(f.settled_usage()) == want);
}

// Process 0 is killed with SIGKILL at a random call and restarted on its
// journal directory while the clients keep calling both.
static void kill_and_restart(bool shared_journal) {
  Fleet f({}, shared_journal);
  Tally t;
  constexpr std::uint64_t kCalls = 10'000;
  std::mt19937 rng(std::random_device{}());
  const std::uint64_t kill_at = 2'000 + rng() % 5'000;
  CAPTURE(kill_at);
  const auto start = Clock::now();
  pid_t dead = 0;
  // Calls go on until the restart, then to at least kCalls in all and 2,000
  // more, so the new process serves some too.
  std::atomic<std::uint64_t> until{std::numeric_limits<std::uint64_t>::max()};
  {
    Load load(f, t, all_combos(), [&] { return t.total.load() < until.load(); });
    REQUIRE(eventually([&] { return t.total.load() >= kill_at; }, 30s));
    dead = f.tg[0]->process().pid();
    ::kill(dead, SIGKILL);
    CHECK(f.tg[0]->process().wait(10s) == std::optional<int>(128 + SIGKILL));
    const auto at_kill = t.total.load();
    f.start(0);  // the same journal directory: the restart replays what the dead one recorded
    until = std::max<std::uint64_t>(kCalls, t.total.load() + 2'000);
    const auto served_before = t.per_process[0].load();
    CHECK(eventually([&] { return t.per_process[0].load() > served_before; }, 20s));  // the new one serves
    MESSAGE("killed process 0 (pid " << dead << ") after " << at_kill << " calls; restarted, "
                                     << t.total.load() - at_kill << " calls went to process 1 meanwhile");
  }
  MESSAGE("relayed " << t.received_sum() << " calls in " << seconds_since(start) << " s, "
                     << t.in_flight_sum() << " in flight at the kill");
  CHECK(t.other_sum() == 0);
  CHECK(t.in_flight_sum() <= 8);  // at most one per client thread
  CHECK(f.tg[0]->logs().find("replaying journals left by an earlier run") != std::string::npos);

  // The dead process's shards are replayed, drained and deleted by its successor.
  const std::string dead_mark = "-" + std::to_string(dead) + "-w";
  const bool replayed = eventually(
      [&] {
        for (const auto& e : std::filesystem::directory_iterator(f.journal_dir(0)))
          if (e.path().filename().string().find(dead_mark) != std::string::npos) return false;
        return true;
      },
      20s);
  CHECK(replayed);

  const auto got = calls_only(f.settled_usage());
  std::uint64_t counted = 0;
  for (std::size_t c = 0; c < kCombos; ++c) {
    const std::pair<std::string, std::string> key{f.tenants[c / 3].id, kProviders[c % 3]};
    CAPTURE(key.first);
    CAPTURE(key.second);
    const std::uint64_t n = got.count(key) ? got.at(key) : 0;
    counted += n;
    CHECK(n >= t.received[c]);
    CHECK(n <= t.received[c] + t.in_flight[c]);
  }
  CHECK(got.size() == kCombos);
  MESSAGE("usage counts " << counted << " calls: " << counted - t.received_sum() << " over the answered ones");
}

TEST_CASE("metering exactness: a process killed with SIGKILL mid-run and restarted counts every answered call once, and at most the unanswered in-flight calls more") {
  kill_and_restart(false);
}

TEST_CASE("metering exactness: the same kill -9 with both processes on one journal directory, the live one's shards left alone") {
  kill_and_restart(true);
}

TEST_CASE("metering exactness: with Redis stopped for 10 s mid-run calls keep succeeding and the report is exact after") {
  // AOF so that Redis comes back with everything it had.
  Fleet f({"--appendonly", "yes", "--appendfsync", "always"});
  Tally t;
  std::atomic<bool> stop{false};
  const auto start = Clock::now();
  std::uint64_t during = 0;
  {
    Load load(f, t, all_combos(), [&] { return !stop.load(); });
    REQUIRE(eventually([&] { return t.total.load() >= 2'000; }, 30s));
    f.redis.stop();
    const auto down = Clock::now();
    const auto before = t.total.load();
    CHECK(f.usage(f.port(0)) == std::nullopt);  // the store is really gone
    // The outage lasts 10 s while the clients keep calling.
    eventually([&] { return Clock::now() - down >= 10s; }, 15s);
    during = t.total.load() - before;
    f.redis.start();
    const auto back = t.total.load();
    REQUIRE(eventually([&] { return t.total.load() >= back + 2'000; }, 30s));
    stop = true;
  }
  MESSAGE("relayed " << t.received_sum() << " calls in " << seconds_since(start) << " s, " << during
                     << " of them while Redis was down");
  CHECK(during > 1'000);
  // Both meters saw the store refuse batches and take them again once it was back.
  for (const auto& p : f.tg) {
    CHECK(p->logs().find("the store did not take a usage batch") != std::string::npos);
    CHECK(eventually([&] { return p->logs().find("the store takes usage batches again") != std::string::npos; }, 20s));
  }
  CHECK(t.in_flight_sum() == 0);
  CHECK(t.other_sum() == 0);
  log_others(t);

  const auto want = expected(f, t);
  std::map<std::pair<std::string, std::string>, std::uint64_t> got;
  const bool exact = eventually(
      [&] {
        auto u = f.usage(f.port(0));
        if (u) got = calls_only(*u);
        return u && got == want;
      },
      20s);
  CHECK(exact);
  CHECK(got == want);
  CHECK(calls_only(f.settled_usage()) == want);
}

TEST_CASE("rate limit across two processes: admitted calls stay within rate × window + burst + one lease block per instance") {
  Fleet f;
  constexpr double kRate = 100;
  constexpr std::uint64_t kBurst = 80;
  constexpr std::uint64_t kBlock = kBurst / 8;  // lease_block(capacity) = max(1, min(1000, capacity / 8))
  const auto& tenant = f.tenants[0];
  auto patched = f.admin(1, "PATCH", "/v1/tenants/" + tenant.id,
                         R"({"quotas":{"rate_per_second":100,"burst":80}})");
  REQUIRE_MESSAGE(patched.status == 200, patched.body);

  Tally t;
  const auto start = Clock::now();
  {
    Load load(f, t, {0, 1, 2}, [&] { return Clock::now() - start < 3s; });
  }
  const double window = seconds_since(start);
  const std::uint64_t admitted = t.received_sum();
  std::uint64_t limited = 0;
  log_others(t);
  {
    std::lock_guard lock(t.m);
    limited = t.other[429];
    CHECK(t.other.size() == 1);  // nothing but 429s
    CHECK(t.other_errors == std::set<std::string>{"rate_limited"});
  }
  const double upper = kRate * window + kBurst + 2 * kBlock;
  // The clients ask far more than the limit, so the bucket is emptied as fast as it fills.
  const double lower = kRate * window * 0.5 + kBurst - 2 * kBlock;
  MESSAGE("admitted " << admitted << " (" << t.per_process[0].load() << " + " << t.per_process[1].load() << "), limited " << limited
                      << " in " << window << " s; bounds [" << lower << ", " << upper << "]");
  CHECK(t.in_flight_sum() == 0);
  CHECK(static_cast<double>(admitted) <= upper);
  CHECK(static_cast<double>(admitted) >= lower);
  CHECK(limited > admitted);  // the clients asked far more than the limit
  CHECK(t.per_process[0] > 0);
  CHECK(t.per_process[1] > 0);

  // Calls refused with 429 are not calls.
  const auto want = expected(f, t);
  const bool exact = eventually(
      [&] {
        auto u = f.usage(f.port(0));
        return u && calls_only(*u) == want;
      },
      20s);
  CHECK(exact);
}


TEST_CASE("monthly quota across two processes: calls stop at the quota, past it by at most what the other process admitted before its flush") {
  Fleet f;
  constexpr std::uint64_t kQuota = 400;
  constexpr double kRate = 200;  // paces the clients: one flush interval (100 ms) is some 20 calls
  const auto& tenant = f.tenants[0];
  auto patched = f.admin(0, "PATCH", "/v1/tenants/" + tenant.id,
                         R"({"quotas":{"monthly_calls":400,"rate_per_second":200,"burst":20}})");
  REQUIRE_MESSAGE(patched.status == 200, patched.body);

  Tally t;
  auto refused = [&] {
    std::lock_guard lock(t.m);
    return t.other[402];
  };
  const auto start = Clock::now();
  {
    Load load(f, t, {0, 1, 2}, [&] { return refused() < 500 && Clock::now() - start < 30s; });
  }
  // Both processes come to refuse the tenant: each learns the other's calls
  // from the store after the other's flush, so for up to a flush interval a
  // process may still admit a call (or refuse it for the rate, 429). A call
  // admitted then is a call like the load's: it is counted with them below.
  std::uint64_t n = 1'000'000;
  for (std::size_t i = 0; i < 2; ++i) {
    CAPTURE(i);
    std::string last;
    const bool refuses = eventually([&] {
      RawConnection conn(f.port(i));
      std::optional<HttpResponse> r;
      if (conn.send(f.request(0, n++))) r = conn.read_response(15s);
      if (!r) return false;
      last = std::to_string(r->status) + " " + r->header("tollgate-error");
      if (r->status == 200 && r->body == kUpstreamBody) {
        ++t.received[0];
        ++t.per_process[i];
      }
      return r->status == 402 && r->header("tollgate-error") == "quota_exceeded";
    });
    CAPTURE(last);
    CHECK(refuses);
  }
  const std::uint64_t admitted = t.received_sum();
  MESSAGE("admitted " << admitted << " (" << t.per_process[0].load() << " + " << t.per_process[1].load()
                      << ") of a quota of " << kQuota << " in " << seconds_since(start) << " s");
  log_others(t);
  CHECK(refused() >= 500);
  {
    std::lock_guard lock(t.m);
    for (const auto& [status, count] : t.other) {
      CAPTURE(status);
      CHECK((status == 402 || status == 429));
    }
  }
  CHECK(t.in_flight_sum() == 0);
  CHECK(admitted >= kQuota);                          // nothing refused before the quota was used up
  CHECK(admitted <= kQuota + static_cast<std::uint64_t>(kRate));  // not each process counting only its own
  CHECK(t.per_process[0] > 0);
  CHECK(t.per_process[1] > 0);
  // 402s and 429s are not calls: the report holds exactly the admitted ones.
  const auto want = expected(f, t);
  const bool exact = eventually(
      [&] {
        auto u = f.usage(f.port(1));
        return u && calls_only(*u) == want;
      },
      20s);
  CHECK(exact);
}

}  // namespace tollgate::test
