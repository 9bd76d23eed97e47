#pragma once
// The HTTP/1.1 listener: N workers, each with its own io_context and its own
// SO_REUSEPORT acceptor on the same port; a connection stays on the worker
// that accepted it. Limits and timeouts are read from the live config for
// every request, so a reload changes them in place.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "tollgate/config/live.hpp"
#include "tollgate/http/router.hpp"

namespace tollgate::http {

class Server {
 public:
  Server(std::shared_ptr<config::LiveConfig> config, std::shared_ptr<const Router> router);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds every worker's acceptor (worker 0 first, so port 0 picks one port
  // for all) and starts the worker threads. Returns the bound port. Throws
  // std::system_error when the address cannot be bound.
  std::uint16_t start();
  unsigned workers() const noexcept;

  // Graceful shutdown: stop accepting, close idle keep-alive connections, let
  // requests in flight finish for up to `grace`, then close what is left and
  // join the workers. Blocks; safe to call more than once.
  void shutdown(std::chrono::milliseconds grace);

  // Open client connections right now.
  std::size_t connections() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tollgate::http
