#include "redis_process.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

#include "raw_http.hpp"

namespace tollgate::test {

std::string redis_command(std::uint16_t port, const std::string& inline_command) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string reply;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    std::string line = inline_command + "\r\n";
    if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(line.size())) {
      pollfd p{fd, POLLIN, 0};
      // Read until the reply stops arriving (a reply is one write for these small commands).
      while (::poll(&p, 1, reply.empty() ? 2000 : 50) > 0) {
        char buf[4096];
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        reply.append(buf, static_cast<std::size_t>(n));
      }
    }
  }
  ::close(fd);
  return reply;
}

RedisProcess::RedisProcess(std::vector<std::string> args, std::uint16_t port)
    : args_(std::move(args)), port_(port ? port : free_port()) {
  start();
}

std::unique_ptr<RedisProcess> RedisProcess::sentinel(const std::string& conf, std::uint16_t port) {
  // Built in two steps so start() sees the sentinel config.
  auto p = std::unique_ptr<RedisProcess>(new RedisProcess(std::vector<std::string>{"--no-start"}, port));
  p->args_.clear();
  p->sentinel_conf_ = conf;
  p->dir_.write("sentinel.conf", conf);
  p->start();
  return p;
}

RedisProcess::~RedisProcess() {
  if (process_ && process_->running()) kill();
}

bool RedisProcess::running() const { return process_ && const_cast<Process&>(*process_).running(); }

void RedisProcess::start() {
  if (args_.size() == 1 && args_.front() == "--no-start") return;
  std::vector<std::string> argv;
  if (!sentinel_conf_.empty()) {
    // redis-sentinel rewrites its config file, so each sentinel has its own.
    argv = {"redis-sentinel", (dir_ / "sentinel.conf").string(), "--port", std::to_string(port_), "--bind",
            "127.0.0.1", "--dir", dir_.path().string()};
  } else {
    argv = {"redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1", "--dir", dir_.path().string(),
            "--save", "", "--appendonly", "no", "--protected-mode", "no"};
    argv.insert(argv.end(), args_.begin(), args_.end());
  }
  process_ = std::make_unique<Process>(argv, dir_ / "logs");
  bool up = eventually([&] { return redis_command(port_, "PING").rfind("+PONG", 0) == 0 || !process_->running(); }, 20s);
  if (!up || !process_->running())
    throw std::runtime_error("redis did not start on port " + std::to_string(port_) + ":\n" + process_->out() +
                             process_->err());
}

void RedisProcess::stop() {
  if (!running()) return;
  process_->signal(SIGTERM);
  process_->wait(20s);
}

void RedisProcess::kill() {
  if (!running()) return;
  process_->signal(SIGKILL);
  process_->wait(20s);
}

std::string RedisProcess::command(const std::string& inline_command) const { return redis_command(port_, inline_command); }

}  // namespace tollgate::test
