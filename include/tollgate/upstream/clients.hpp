#pragma once
// One upstream::Client and one Pool per worker thread (each belongs to one
// io_context), made on first use with the given options, and made again when
// they change (a reload of relay.ca_file or relay.upstream_timeouts).
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "tollgate/upstream/client.hpp"
#include "tollgate/upstream/pool.hpp"

namespace tollgate::upstream {

class UpstreamClients {
 public:
  UpstreamClients();
  ~UpstreamClients();
  // The client of the calling thread, for `executor` (the caller's). Throws
  // std::runtime_error when relay.ca_file cannot be loaded.
  Client& get(boost::asio::any_io_executor executor, const Options& options);

  // The relay's keep-alive pool of the calling thread, likewise. No lock once
  // the thread has its pool (a thread-local cache), so the hot path stays lock-free.
  Pool& pool(boost::asio::any_io_executor executor, const PoolOptions& options);

  // The pools' numbers summed over every thread (metrics).
  PoolStats pool_stats();

  // Drops every client and pool, closing their idle connections. Their
  // sockets belong to the workers' io_contexts, so this runs after the server
  // has stopped its workers and before it destroys their io_contexts (a pooled
  // socket closed after that would touch a freed reactor).
  void close_all();

 private:
  struct Entry;
  struct PoolEntry;
  Pool& find_pool(boost::asio::any_io_executor executor, const PoolOptions& options);
  std::vector<std::unique_ptr<PoolEntry>> pools_;
  std::uint64_t serial_;
  std::mutex mutex_;  // guards the ownership list only; each entry is used by one thread
  std::vector<std::unique_ptr<Entry>> entries_;
};

}  // namespace tollgate::upstream
