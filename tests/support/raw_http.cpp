#include "raw_http.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace tollgate::test {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

int remaining_ms(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  return static_cast<int>(std::max<long long>(0, left.count()));
}

}  // namespace

std::string HttpResponse::header(std::string_view name) const {
  auto n = lower(name);
  for (const auto& [k, v] : headers)
    if (k == n) return v;
  return {};
}

bool HttpResponse::has_header(std::string_view name) const {
  auto n = lower(name);
  return std::any_of(headers.begin(), headers.end(), [&](const auto& h) { return h.first == n; });
}

RawConnection::RawConnection(std::uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + " failed: " + std::strerror(errno));
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawConnection::send(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool RawConnection::fill(std::chrono::steady_clock::time_point deadline) {
  if (eof_) return false;
  pollfd p{fd_, POLLIN, 0};
  int r = ::poll(&p, 1, remaining_ms(deadline));
  if (r <= 0) return false;
  char buf[16384];
  ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) {
    eof_ = true;
    return false;
  }
  buffer_.append(buf, static_cast<std::size_t>(n));
  return true;
}

std::optional<HttpResponse> RawConnection::read_response(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::size_t head_end;
  while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos)
    if (!fill(deadline)) return std::nullopt;
  HttpResponse resp;
  std::string head = buffer_.substr(0, head_end);
  std::size_t pos = head.find("\r\n");
  std::string status_line = head.substr(0, pos);
  // "HTTP/1.1 200 OK"
  auto sp1 = status_line.find(' ');
  if (sp1 == std::string::npos) return std::nullopt;
  resp.status = std::atoi(status_line.c_str() + sp1 + 1);
  auto sp2 = status_line.find(' ', sp1 + 1);
  if (sp2 != std::string::npos) resp.reason = status_line.substr(sp2 + 1);
  while (pos != std::string::npos && pos < head.size()) {
    std::size_t next = head.find("\r\n", pos + 2);
    std::string line = head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
    auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(" \t"));
      value.erase(value.find_last_not_of(" \t") + 1);
      resp.headers.emplace_back(lower(line.substr(0, colon)), value);
    }
    pos = next;
  }
  buffer_.erase(0, head_end + 4);
  bool no_body = resp.status == 204 || resp.status == 304 || (resp.status >= 100 && resp.status < 200);
  if (no_body) return resp;
  if (lower(resp.header("transfer-encoding")).find("chunked") != std::string::npos) {
    for (;;) {
      std::size_t eol;
      while ((eol = buffer_.find("\r\n")) == std::string::npos)
        if (!fill(deadline)) return std::nullopt;
      std::size_t size = std::stoul(buffer_.substr(0, eol), nullptr, 16);
      buffer_.erase(0, eol + 2);
      if (size == 0) {
        // trailers until an empty line
        while ((eol = buffer_.find("\r\n")) == std::string::npos)
          if (!fill(deadline)) return std::nullopt;
        while (eol != 0) {
          buffer_.erase(0, eol + 2);
          while ((eol = buffer_.find("\r\n")) == std::string::npos)
            if (!fill(deadline)) return std::nullopt;
        }
        buffer_.erase(0, 2);
        return resp;
      }
      while (buffer_.size() < size + 2)
        if (!fill(deadline)) return std::nullopt;
      resp.body.append(buffer_, 0, size);
      buffer_.erase(0, size + 2);
    }
  }
  if (resp.has_header("content-length")) {
    std::size_t len = std::stoul(resp.header("content-length"));
    while (buffer_.size() < len)
      if (!fill(deadline)) return std::nullopt;
    resp.body = buffer_.substr(0, len);
    buffer_.erase(0, len);
    return resp;
  }
  while (fill(deadline)) {
  }
  if (!eof_) return std::nullopt;
  resp.body = std::move(buffer_);
  buffer_.clear();
  return resp;
}

bool RawConnection::wait_closed(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!eof_) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, remaining_ms(deadline)) <= 0) return false;
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) eof_ = true;
    else buffer_.append(buf, static_cast<std::size_t>(n));
  }
  return true;
}

HttpResponse http_request(std::uint16_t port, std::string_view method, std::string_view target,
                          std::vector<std::pair<std::string, std::string>> headers, std::string_view body) {
  auto has = [&](std::string_view name) {
    return std::any_of(headers.begin(), headers.end(), [&](const auto& h) { return lower(h.first) == name; });
  };
  std::string req = std::string(method) + " " + std::string(target) + " HTTP/1.1\r\n";
  if (!has("host")) req += "Host: 127.0.0.1:" + std::to_string(port) + "\r\n";
  if (!has("content-length") && !has("transfer-encoding") && (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH"))
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  if (!has("connection")) req += "Connection: close\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  req += "\r\n";
  req += body;
  RawConnection conn(port);
  conn.send(req);
  auto resp = conn.read_response(std::chrono::seconds(30));
  if (!resp) throw std::runtime_error("no response to " + std::string(method) + " " + std::string(target));
  return *resp;
}

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace tollgate::test
