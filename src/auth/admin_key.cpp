#include "tollgate/auth/admin_key.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "tollgate/crypto/random.hpp"

namespace tollgate::auth {
namespace {

std::string trim(std::string s) {
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

void write_new_file(const std::filesystem::path& file, const std::string& content) {
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  if (!ec) ::chmod(file.parent_path().c_str(), 0700);
  // O_EXCL: never overwrite, and the mode is 0600 from the first byte.
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) throw std::runtime_error("cannot create the admin key file " + file.string() + ": " + std::strerror(errno));
  bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    ::unlink(file.c_str());
    throw std::runtime_error("cannot write the admin key file " + file.string());
  }
}

}  // namespace

AdminKey load_or_create_admin_key(const std::filesystem::path& key_file, const std::optional<std::string>& from_env) {
  if (from_env && !trim(*from_env).empty()) return {crypto::Secret(trim(*from_env)), "TOLLGATE_ADMIN_KEY", false};
  if (!std::filesystem::exists(key_file)) {
    auto key = crypto::random_token("tg_admin_", 32);
    write_new_file(key_file, key + "\n");
    return {crypto::Secret(std::move(key)), key_file.string(), true};
  }
  std::ifstream in(key_file);
  if (!in) throw std::runtime_error("cannot read the admin key file " + key_file.string());
  std::stringstream ss;
  ss << in.rdbuf();
  auto key = trim(ss.str());
  if (key.size() < 16)
    throw std::runtime_error("the admin key file " + key_file.string() +
                             " holds no key of at least 16 characters; delete it to have a new one made");
  return {crypto::Secret(std::move(key)), key_file.string(), false};
}

}  // namespace tollgate::auth
