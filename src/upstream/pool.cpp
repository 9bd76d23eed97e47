#include "tollgate/upstream/pool.hpp"

#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <deque>
#include <unordered_map>
#include <utility>

#include "connect.hpp"
#include "tollgate/upstream/readiness.hpp"

namespace tollgate::upstream {
namespace {

using Clock = std::chrono::steady_clock;

// Whether a kept connection can carry another request: no EOF and no stray
// bytes waiting (an upstream sends nothing between responses but a close, a
// TLS close_notify, or garbage — none of which leaves the connection usable).
bool still_open(Stream& stream) {
  auto& socket = tcp_layer(stream).socket();
  if (!socket.is_open()) return false;
  char byte = 0;
  ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    // Nothing queued: the response read waits for it without trying first.
    note_drained(socket);
    return true;
  }
  return false;
}

void close(Stream& stream) {
  boost::system::error_code ec;
  auto& socket = tcp_layer(stream).socket();
  socket.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket.close(ec);
}

struct Idle {
  std::unique_ptr<Stream> stream;
  Clock::time_point since;
};

}  // namespace

struct Lease::State {
  State(asio::any_io_executor executor, PoolOptions options)
      : executor(std::move(executor)), options(std::move(options)), tls(make_tls_context(this->options.ca_file)) {}

  asio::any_io_executor executor;
  PoolOptions options;
  asio::ssl::context tls;
  std::unordered_map<std::string, std::deque<Idle>> idle;  // oldest first
  std::size_t idle_count = 0;
  // Read by the metrics scrape from another thread: relaxed atomics.
  struct Counters {
    std::atomic<std::size_t> idle{0}, active{0};
    std::atomic<std::uint64_t> opened{0}, reused{0}, stale{0};
  } stats;
  Clock::time_point last_prune = Clock::now();

  // Closes idle connections past max_idle_time, at most once a second.
  void prune(Clock::time_point now) {
    if (now - last_prune < std::chrono::seconds(1)) return;
    last_prune = now;
    for (auto it = idle.begin(); it != idle.end();) {
      auto& list = it->second;
      while (!list.empty() && now - list.front().since > options.max_idle_time) {
        close(*list.front().stream);
        list.pop_front();
        --idle_count;
        stats.idle.store(idle_count, std::memory_order_relaxed);
      }
      it = list.empty() ? idle.erase(it) : std::next(it);
    }
  }

  void put_back(const std::string& origin, std::unique_ptr<Stream> stream) {
    auto now = Clock::now();
    prune(now);
    auto& list = idle[origin];
    if (list.size() >= options.max_idle_per_origin || idle_count >= options.max_idle) {
      // Full: the oldest connection of this origin makes room, or this one goes.
      if (list.empty()) {
        close(*stream);
        idle.erase(origin);
        return;
      }
      close(*list.front().stream);
      list.pop_front();
      --idle_count;
        stats.idle.store(idle_count, std::memory_order_relaxed);
    }
    tcp_layer(*stream).expires_never();
    list.push_back(Idle{std::move(stream), now});
    ++idle_count;
    stats.idle.store(idle_count, std::memory_order_relaxed);
  }

  // The newest idle connection that is still open, or null.
  std::unique_ptr<Stream> take(const std::string& origin) {
    auto now = Clock::now();
    prune(now);
    auto it = idle.find(origin);
    if (it == idle.end()) return nullptr;
    auto& list = it->second;
    std::unique_ptr<Stream> found;
    while (!list.empty() && !found) {
      auto candidate = std::move(list.back());
      list.pop_back();
      --idle_count;
        stats.idle.store(idle_count, std::memory_order_relaxed);
      if (now - candidate.since <= options.max_idle_time && still_open(*candidate.stream)) {
        found = std::move(candidate.stream);
      } else {
        ++stats.stale;
        close(*candidate.stream);
      }
    }
    if (list.empty()) idle.erase(it);
    return found;
  }
};

Lease::Lease(std::shared_ptr<State> pool, std::string origin, std::unique_ptr<Stream> stream, bool reused)
    : pool_(std::move(pool)), origin_(std::move(origin)), stream_(std::move(stream)), reused_(reused) {
  ++pool_->stats.active;
}

Lease::Lease(Lease&& other) noexcept
    : pool_(std::move(other.pool_)),
      origin_(std::move(other.origin_)),
      stream_(std::move(other.stream_)),
      reused_(other.reused_) {}

Lease& Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    drop();
    pool_ = std::move(other.pool_);
    origin_ = std::move(other.origin_);
    stream_ = std::move(other.stream_);
    reused_ = other.reused_;
  }
  return *this;
}

Lease::~Lease() { drop(); }

void Lease::drop() noexcept {
  if (!pool_) return;
  --pool_->stats.active;
  if (stream_) close(*stream_);
  stream_.reset();
  pool_.reset();
}

Stream& Lease::stream() noexcept { return *stream_; }

void Lease::release() noexcept {
  if (!pool_ || !stream_) return;
  --pool_->stats.active;
  pool_->put_back(origin_, std::move(stream_));
  pool_.reset();
}

Pool::Pool(asio::any_io_executor executor, PoolOptions options)
    : state_(std::make_shared<Lease::State>(std::move(executor), std::move(options))) {}

Pool::~Pool() {
  for (auto& [origin, list] : state_->idle)
    for (auto& entry : list) close(*entry.stream);
  state_->idle.clear();
  state_->idle_count = 0;
}

const PoolOptions& Pool::options() const noexcept { return state_->options; }

PoolStats Pool::stats() const noexcept {
  const auto& c = state_->stats;
  constexpr auto relaxed = std::memory_order_relaxed;
  return PoolStats{c.idle.load(relaxed), c.active.load(relaxed), c.opened.load(relaxed), c.reused.load(relaxed),
                   c.stale.load(relaxed)};
}

std::optional<Lease> Pool::reuse(const Url& url) {
  std::string origin = url.origin();
  auto kept = state_->take(origin);
  if (!kept) return std::nullopt;
  ++state_->stats.reused;
  return Lease(state_, std::move(origin), std::move(kept), true);
}

asio::awaitable<std::variant<Lease, Error>> Pool::acquire(const Url& url, bool fresh) {
  if (!fresh) {
    if (auto kept = reuse(url)) co_return std::move(*kept);
  }
  auto state = state_;  // the pool may be replaced by a reload while this runs
  std::string origin = url.origin();
  auto connected = co_await connect(state->executor, url, state->tls, state->options.connect);
  if (auto* error = std::get_if<Error>(&connected)) co_return std::move(*error);
  ++state->stats.opened;
  co_return Lease(state, std::move(origin), std::make_unique<Stream>(std::move(std::get<Stream>(connected))), false);
}

}  // namespace tollgate::upstream
