#include "tollgate/cli/secret_file.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cctype>
#include <string>
#include <system_error>

#include "tollgate/cli/args.hpp"

namespace tollgate::cli {
namespace {

// The file's name as the user gave it, on one line.
std::string shown(const std::filesystem::path& file) {
  std::string out = file.string();
  for (auto& c : out) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = '?';
  }
  return out;
}

std::string reason(int error) {
  std::string m = std::generic_category().message(error);
  if (!m.empty()) m[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(m[0])));
  return m;
}

// Closes the descriptor and wipes the read buffer whichever way the read ends.
struct Reader {
  int fd = -1;
  char chunk[4096];
  ~Reader() {
    if (fd >= 0) ::close(fd);
    OPENSSL_cleanse(chunk, sizeof chunk);
  }
};

}  // namespace

crypto::Secret read_secret_file(const std::filesystem::path& file, std::string_view option) {
  const std::string where = std::string(option) + " " + shown(file);
  if (file.empty()) throw UsageError(std::string(option) + " is empty; name the file that holds the secret");
  Reader reader;
  reader.fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (reader.fd < 0) throw UsageError("cannot read " + where + ": " + reason(errno));
  struct stat st {};
  if (::fstat(reader.fd, &st) == 0 && S_ISDIR(st.st_mode))
    throw UsageError("cannot read " + where + ": it is a directory; name the file that holds the secret");

  std::string content;
  content.reserve(kMaxSecretFileBytes + 1);  // one buffer, so no copy of the secret is left behind by growth
  for (;;) {
    ssize_t n = ::read(reader.fd, reader.chunk, sizeof reader.chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int error = errno;
      OPENSSL_cleanse(content.data(), content.size());
      throw UsageError("cannot read " + where + ": " + reason(error));
    }
    if (n == 0) break;
    if (content.size() + static_cast<std::size_t>(n) > kMaxSecretFileBytes) {
      OPENSSL_cleanse(content.data(), content.size());
      throw UsageError(where + " is larger than " + std::to_string(kMaxSecretFileBytes / 1024) +
                       " KiB; it should hold only the secret");
    }
    content.append(reader.chunk, static_cast<std::size_t>(n));
  }

  std::size_t end = content.size();
  while (end > 0 && (content[end - 1] == '\n' || content[end - 1] == '\r')) --end;
  OPENSSL_cleanse(content.data() + end, content.size() - end);
  content.resize(end);
  if (content.empty()) throw UsageError(where + " is empty; put the secret in it (one line)");
  for (char c : content) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      OPENSSL_cleanse(content.data(), content.size());
      throw UsageError(where +
                       " holds more than one line or a control character; it should hold only the secret");
    }
  }
  return crypto::Secret(std::move(content));
}

}  // namespace tollgate::cli
