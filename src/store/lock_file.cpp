#include "lock_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace tollgate::store {
namespace {

std::string read_holder_pid(int fd) {
  std::array<char, 32> buffer{};
  const ssize_t n = ::pread(fd, buffer.data(), buffer.size() - 1, 0);
  std::string pid = n > 0 ? std::string(buffer.data(), static_cast<std::size_t>(n)) : std::string();
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid.empty() ? "unknown" : pid;
}

}  // namespace

LockFile::LockFile(const std::filesystem::path& lock_path, const std::filesystem::path& database) {
  fd_ = ::open(lock_path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  if (fd_ < 0) {
    throw std::runtime_error("cannot open the lock file " + lock_path.string() + ": " + std::strerror(errno));
  }
  (void)::fchmod(fd_, 0600);  // best effort on a file someone else made
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    const std::string holder = err == EWOULDBLOCK ? read_holder_pid(fd_) : std::string();
    ::close(fd_);
    if (err == EWOULDBLOCK) {
      throw std::runtime_error("the database " + database.string() + " is in use by another tollgate process (pid " +
                               holder + ", lock file " + lock_path.string() +
                               "); stop it or point store.sqlite.path elsewhere");
    }
    throw std::runtime_error("cannot lock " + lock_path.string() + ": " + std::strerror(err));
  }
  // Best effort: the lock is what matters; without our pid the message above is only vaguer.
  const std::string pid = std::to_string(::getpid()) + "\n";
  const bool written =
      ::ftruncate(fd_, 0) == 0 && ::pwrite(fd_, pid.data(), pid.size(), 0) == static_cast<ssize_t>(pid.size());
  (void)written;
}

LockFile::~LockFile() {
  // Not unlinked: removing a flock'ed file lets a third process lock a new
  // file of the same name while a second still waits on the old one.
  ::close(fd_);
}

void create_private_parents(const std::filesystem::path& file) {
  const std::filesystem::path parent = file.parent_path();
  if (parent.empty()) return;
  std::filesystem::path partial;
  for (const auto& part : parent) {
    partial /= part;
    if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
      throw std::runtime_error("cannot create the directory " + partial.string() + " for the database " +
                               file.string() + ": " + std::strerror(errno));
    }
  }
}

}  // namespace tollgate::store
