#pragma once
// A throwaway redis-server (or redis-sentinel) on a free loopback port, in its
// own directory, ready when it answers PING; killed when the object dies.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "process.hpp"
#include "temp_dir.hpp"

namespace tollgate::test {

class RedisProcess {
 public:
  // `args` are added to redis-server's command line, e.g. {"--appendonly",
  // "yes", "--appendfsync", "always"} for a server whose data must survive a restart.
  explicit RedisProcess(std::vector<std::string> args = {}, std::uint16_t port = 0);
  // A redis-sentinel with `conf` as its (writable) config file, e.g.
  // "sentinel monitor mymaster 127.0.0.1 6379 2\nsentinel down-after-milliseconds mymaster 500\n".
  static std::unique_ptr<RedisProcess> sentinel(const std::string& conf, std::uint16_t port = 0);
  ~RedisProcess();

  std::uint16_t port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_) + "/0"; }
  const TempDir& dir() const { return dir_; }
  bool running() const;
  void stop();     // SIGTERM (redis saves/flushes AOF), wait
  void kill();     // SIGKILL, wait
  void start();    // again, same port, same directory and arguments

  // Sends one command in RESP inline form and returns the raw reply ("" when unreachable).
  std::string command(const std::string& inline_command) const;

 private:
  TempDir dir_;
  std::vector<std::string> args_;
  std::string sentinel_conf_;  // non-empty: this is a sentinel
  std::uint16_t port_;
  std::unique_ptr<Process> process_;
};

// Sends an inline command to 127.0.0.1:port; the raw reply, or "" when nothing answers.
std::string redis_command(std::uint16_t port, const std::string& inline_command);

}  // namespace tollgate::test
