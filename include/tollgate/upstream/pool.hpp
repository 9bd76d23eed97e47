#pragma once
// Keep-alive connections to upstreams for the relay: one Pool per worker
// (io_context), so the hot path takes no lock. Connections are kept per origin
// (scheme, host, port), bounded, and reused most-recently-used first. An idle
// connection may have been closed by the upstream meanwhile, and writing to it
// usually succeeds anyway, so each one is checked for EOF (a non-blocking peek)
// before it is handed out (DESIGN "Upstream pool"); the caller still retries a
// request that fails before any response byte by the rule in relay/.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "tollgate/upstream/error.hpp"
#include "tollgate/upstream/stream.hpp"
#include "tollgate/upstream/url.hpp"

namespace tollgate::upstream {

struct PoolOptions {
  std::filesystem::path ca_file;               // relay.ca_file: extra trusted CAs
  std::chrono::milliseconds connect{5000};     // resolve + connect + TLS handshake
  std::size_t max_idle_per_origin = 256;       // idle connections kept per origin
  std::size_t max_idle = 1024;                 // idle connections kept in all
  std::chrono::milliseconds max_idle_time{30000};  // an idle connection older than this is closed
  bool operator==(const PoolOptions&) const = default;
};

struct PoolStats {
  std::size_t idle = 0;     // kept for reuse now
  std::size_t active = 0;   // leased now
  std::uint64_t opened = 0;  // new connections made
  std::uint64_t reused = 0;  // leases served from the idle set
  std::uint64_t stale = 0;   // idle connections found closed by the upstream (EOF check)
};

class Pool;

// A connection checked out of a pool. Destroyed without release(), it is
// closed: only a connection whose exchange ended cleanly goes back.
class Lease {
 public:
  Lease(Lease&&) noexcept;
  Lease& operator=(Lease&&) noexcept;
  ~Lease();
  Stream& stream() noexcept;
  // It came from the idle set (so it may have gone stale after the check).
  bool reused() const noexcept { return reused_; }
  // Back to the pool: the response was read to its end, the request was sent
  // whole, and neither side asked to close.
  void release() noexcept;

 private:
  friend class Pool;
  struct State;
  Lease(std::shared_ptr<State> pool, std::string origin, std::unique_ptr<Stream> stream, bool reused);
  void drop() noexcept;  // close the connection and leave the pool
  std::shared_ptr<State> pool_;
  std::string origin_;
  std::unique_ptr<Stream> stream_;
  bool reused_ = false;
};

class Pool {
 public:
  // Loads the system CA store plus options.ca_file (std::runtime_error if it cannot be loaded).
  Pool(boost::asio::any_io_executor executor, PoolOptions options);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  const PoolOptions& options() const noexcept;

  // A connection to url's origin: the most recently used idle one that passes
  // the EOF check, or (fresh = true, or none left) a new one. Failures are
  // those of connecting: resolve_failed, connect_failed, tls_failed, connect_timeout.
  boost::asio::awaitable<std::variant<Lease, Error>> acquire(const Url& url, bool fresh = false);
  // The idle half of acquire, without a coroutine: the most recently used idle
  // connection that passes the EOF check, or nullopt (then acquire connects).
  std::optional<Lease> reuse(const Url& url);

  PoolStats stats() const noexcept;

 private:
  std::shared_ptr<Lease::State> state_;
};

}  // namespace tollgate::upstream
