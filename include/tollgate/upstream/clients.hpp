#pragma once
// One upstream::Client per worker thread (a Client belongs to one io_context),
// made on first use with the given options, and made again when they change
// (a reload of relay.ca_file or relay.upstream_timeouts).
#include <memory>
#include <mutex>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "tollgate/upstream/client.hpp"

namespace tollgate::upstream {

class UpstreamClients {
 public:
  UpstreamClients();
  ~UpstreamClients();
  // The client of the calling thread, for `executor` (the caller's). Throws
  // std::runtime_error when relay.ca_file cannot be loaded.
  Client& get(boost::asio::any_io_executor executor, const Options& options);

 private:
  struct Entry;
  std::mutex mutex_;  // guards the ownership list only; each entry is used by one thread
  std::vector<std::unique_ptr<Entry>> entries_;
};

}  // namespace tollgate::upstream
