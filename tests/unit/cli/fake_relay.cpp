#include "fake_relay.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>

namespace tollgate::test {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Reads one request (head plus a Content-Length body); false on EOF or timeout.
bool read_request(int fd, const std::atomic<bool>& stopping, ReceivedRequest& request) {
  std::string data;
  std::size_t head_end = std::string::npos;
  std::size_t need = 0;
  for (;;) {
    if (head_end == std::string::npos) {
      head_end = data.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        std::size_t line_end = data.find("\r\n");
        std::string first = data.substr(0, line_end);
        auto sp1 = first.find(' ');
        auto sp2 = first.find(' ', sp1 + 1);
        request.method = first.substr(0, sp1);
        request.target = first.substr(sp1 + 1, sp2 - sp1 - 1);
        std::size_t pos = line_end + 2;
        while (pos < head_end) {
          std::size_t end = data.find("\r\n", pos);
          std::string line = data.substr(pos, end - pos);
          auto colon = line.find(':');
          std::string value = line.substr(colon + 1);
          value.erase(0, value.find_first_not_of(' '));
          request.headers[lower(line.substr(0, colon))] = value;
          pos = end + 2;
        }
        auto cl = request.headers.find("content-length");
        need = head_end + 4 + (cl == request.headers.end() ? 0 : std::stoul(cl->second));
      }
    }
    if (head_end != std::string::npos && data.size() >= need) {
      request.body = data.substr(head_end + 4);
      request.raw = data;
      return true;
    }
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, 100);
    if (stopping) return false;
    if (r <= 0) continue;
    char buf[8192];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return false;
    data.append(buf, static_cast<std::size_t>(n));
  }
}

}  // namespace

FakeRelay::FakeRelay(Handler handler) : handler_(std::move(handler)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error("socket failed");
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 16) != 0)
    throw std::runtime_error("bind/listen failed");
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { serve(); });
}

FakeRelay::~FakeRelay() {
  stopping_ = true;
  thread_.join();
  ::close(listen_fd_);
}

std::vector<ReceivedRequest> FakeRelay::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

void FakeRelay::serve() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    handle(fd);
    ::close(fd);
  }
}

void FakeRelay::handle(int fd) {
  ReceivedRequest request;
  if (!read_request(fd, stopping_, request)) return;
  {
    std::lock_guard lock(mutex_);
    requests_.push_back(request);
  }
  std::string answer = handler_(request);
  if (answer.empty()) {  // silent: hold the connection until the test ends
    while (!stopping_) {
      pollfd p{fd, POLLIN, 0};
      ::poll(&p, 1, 50);
      if (p.revents & (POLLHUP | POLLERR)) return;
      if (p.revents & POLLIN) {
        char buf[512];
        if (::recv(fd, buf, sizeof buf, 0) <= 0) return;
      }
    }
    return;
  }
  std::string_view rest = answer;
  while (!rest.empty()) {
    ssize_t n = ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::string http_answer(int status, const std::string& body, const std::string& extra_headers,
                        const std::string& content_type) {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: " + content_type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n" + extra_headers + "\r\n" +
         body;
}

}  // namespace tollgate::test
