#include "tollgate/crypto/keyring.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

#include "tollgate/crypto/encoding.hpp"
#include "tollgate/crypto/random.hpp"
#include "wipe.hpp"

namespace tollgate::crypto {
namespace {

constexpr unsigned char kVersion = 0x01;
constexpr std::size_t kNonceBytes = 12;
constexpr std::size_t kTagBytes = 16;
constexpr std::size_t kMaxKeyIdBytes = 255;
constexpr std::string_view kDomain = "tollgate-seal-v1";

// Every part gets an 8-byte length in front, so no two different
// (key id, tenant, record, field) tuples can produce the same bytes — plain
// concatenation would let "ab"+"c" pass for "a"+"bc".
void append_part(std::string& out, std::string_view part) {
  const std::uint64_t n = part.size();
  for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>(n >> shift & 0xff);
  out.append(part);
}

std::string associated_data(std::string_view key_id, const AssociatedData& ad) {
  std::string out;
  out.reserve(6 * 8 + kDomain.size() + 1 + key_id.size() + ad.tenant_id.size() +
              ad.record_id.size() + ad.field.size());
  append_part(out, kDomain);
  const char version = static_cast<char>(kVersion);
  append_part(out, {&version, 1});
  append_part(out, key_id);
  append_part(out, ad.tenant_id);
  append_part(out, ad.record_id);
  append_part(out, ad.field);
  return out;
}

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

CipherCtx new_ctx() { return {EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free}; }

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }
unsigned char* bytes(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

// EVP takes int lengths; feed larger inputs in pieces. `out` null means AAD.
// GCM is a stream mode, so each piece comes out the same length it went in.
bool cipher_update(EVP_CIPHER_CTX* ctx, bool encrypt, unsigned char* out, std::string_view in) {
  constexpr std::size_t kPiece = std::size_t{1} << 30;
  for (std::size_t done = 0; done < in.size();) {
    const std::size_t n = std::min(in.size() - done, kPiece);
    int written = 0;
    unsigned char* dst = out ? out + done : nullptr;
    const int ok = encrypt ? EVP_EncryptUpdate(ctx, dst, &written, bytes(in) + done, static_cast<int>(n))
                           : EVP_DecryptUpdate(ctx, dst, &written, bytes(in) + done, static_cast<int>(n));
    if (ok != 1 || static_cast<std::size_t>(written) != n) return false;
    done += n;
  }
  return true;
}

[[noreturn]] void fail(const std::filesystem::path& file, std::string_view message) {
  throw std::runtime_error(file.string() + ": " + std::string(message));
}

[[noreturn]] void fail(const std::filesystem::path& file, std::size_t line, std::string_view message) {
  throw std::runtime_error(file.string() + ":" + std::to_string(line) + ": " + std::string(message));
}

[[noreturn]] void fail_errno(const std::filesystem::path& file, std::string_view what, int err) {
  fail(file, std::string(what) + ": " + std::strerror(err));
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

// Reads the whole file into one buffer sized up front, so no reallocation leaves
// a copy of the keys behind on the heap. The caller wipes the result.
std::string read_keys_file(const std::filesystem::path& file) {
  Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) fail_errno(file, "cannot open keys file", errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) fail_errno(file, "cannot stat keys file", errno);
  if (!S_ISREG(st.st_mode)) fail(file, "keys file is not a regular file");
  constexpr off_t kMaxBytes = 1 << 20;
  if (st.st_size > kMaxBytes) fail(file, "keys file is larger than 1 MiB");
  // One spare byte shows whether the file grew after fstat.
  std::string content(static_cast<std::size_t>(st.st_size) + 1, '\0');
  std::size_t got = 0;
  while (got < content.size()) {
    const ssize_t n = ::read(fd.get(), content.data() + got, content.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      wipe(content);
      fail_errno(file, "cannot read keys file", err);
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got == content.size()) {
    wipe(content);
    fail(file, "keys file changed while being read");
  }
  content.resize(got);
  return content;
}

// Wipes a string when the scope ends, also when a parse error unwinds it.
class WipeOnExit {
 public:
  explicit WipeOnExit(std::string& s) : s_(s) {}
  WipeOnExit(const WipeOnExit&) = delete;
  WipeOnExit& operator=(const WipeOnExit&) = delete;
  ~WipeOnExit() { wipe(s_); }

 private:
  std::string& s_;
};

std::vector<std::string_view> split_words(std::string_view line) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) words.push_back(line.substr(start, i - start));
  }
  return words;
}

// Directories the keys file needs are created private too: the file's own 0600
// is no help if its directory lets others swap it out.
void create_private_dirs(const std::filesystem::path& file, const std::filesystem::path& dir) {
  std::error_code ec;
  if (dir.empty() || std::filesystem::is_directory(dir, ec)) return;
  create_private_dirs(file, dir.parent_path());
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    fail_errno(file, "cannot create directory " + dir.string(), errno);
  }
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

std::string_view to_string(UnsealError e) noexcept {
  switch (e) {
    case UnsealError::malformed: return "malformed";
    case UnsealError::unsupported_version: return "unsupported_version";
    case UnsealError::unknown_key: return "unknown_key";
    case UnsealError::authentication_failed: return "authentication_failed";
  }
  return "unknown";
}

void Keyring::add(std::string id, Secret key) {
  if (id.empty() || id.size() > kMaxKeyIdBytes) {
    throw std::invalid_argument("key id must be 1 to 255 bytes long");
  }
  if (key.size() != kKeyBytes) {
    throw std::invalid_argument("key '" + id + "' is " + std::to_string(key.size()) +
                                " bytes long, expected 32");
  }
  if (keys_.contains(id)) throw std::invalid_argument("duplicate key id '" + id + "'");
  if (keys_.empty()) primary_ = id;
  keys_.emplace(std::move(id), std::move(key));
}

void Keyring::set_primary(std::string_view id) {
  if (!keys_.contains(id)) throw std::invalid_argument("no key with id '" + std::string(id) + "'");
  primary_ = std::string(id);
}

std::string Keyring::seal(std::string_view plaintext, const AssociatedData& ad) const {
  const auto key = keys_.find(primary_);
  if (key == keys_.end()) throw std::logic_error("Keyring::seal called on an empty keyring");

  const std::string nonce = random_bytes(kNonceBytes);
  const std::string aad = associated_data(primary_, ad);

  std::string out;
  out.reserve(2 + primary_.size() + kNonceBytes + plaintext.size() + kTagBytes);
  out += static_cast<char>(kVersion);
  out += static_cast<char>(primary_.size());
  out += primary_;
  out += nonce;
  const std::size_t ciphertext_at = out.size();
  out.resize(ciphertext_at + plaintext.size() + kTagBytes);

  const auto ctx = new_ctx();
  int final_len = 0;
  if (!ctx ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, bytes(key->second.reveal()),
                         bytes(nonce)) != 1 ||
      !cipher_update(ctx.get(), true, nullptr, aad) ||
      !cipher_update(ctx.get(), true, bytes(out) + ciphertext_at, plaintext) ||
      EVP_EncryptFinal_ex(ctx.get(), bytes(out) + ciphertext_at + plaintext.size(), &final_len) != 1 ||
      final_len != 0 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagBytes),
                          bytes(out) + ciphertext_at + plaintext.size()) != 1) {
    throw std::runtime_error("AES-256-GCM encryption failed");
  }
  return out;
}

Unsealed Keyring::unseal(std::string_view sealed, const AssociatedData& ad) const {
  const auto failed = [](UnsealError e) { return Unsealed{std::nullopt, e}; };
  if (sealed.empty()) return failed(UnsealError::malformed);
  if (static_cast<unsigned char>(sealed[0]) != kVersion) return failed(UnsealError::unsupported_version);
  if (sealed.size() < 2) return failed(UnsealError::malformed);
  const std::size_t id_len = static_cast<unsigned char>(sealed[1]);
  if (id_len == 0 || sealed.size() < 2 + id_len + kNonceBytes + kTagBytes) {
    return failed(UnsealError::malformed);
  }
  const std::string_view key_id = sealed.substr(2, id_len);
  const std::string_view nonce = sealed.substr(2 + id_len, kNonceBytes);
  const std::string_view ciphertext =
      sealed.substr(2 + id_len + kNonceBytes, sealed.size() - (2 + id_len + kNonceBytes + kTagBytes));
  const std::string_view tag = sealed.substr(sealed.size() - kTagBytes);

  const auto key = keys_.find(key_id);
  if (key == keys_.end()) return failed(UnsealError::unknown_key);

  const std::string aad = associated_data(key_id, ad);
  // GCM hands out plaintext before it checks the tag; the buffer is wiped unless
  // the tag holds, so unauthenticated bytes never leave this function.
  std::string plain(ciphertext.size(), '\0');
  const auto ctx = new_ctx();
  std::string expected_tag(tag);
  int final_len = 0;
  const bool ok =
      ctx &&
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, bytes(key->second.reveal()),
                         bytes(nonce)) == 1 &&
      cipher_update(ctx.get(), false, nullptr, aad) &&
      cipher_update(ctx.get(), false, bytes(plain), ciphertext) &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagBytes),
                          expected_tag.data()) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), bytes(plain) + plain.size(), &final_len) == 1 && final_len == 0;
  if (!ok) {
    wipe(plain);
    return failed(UnsealError::authentication_failed);
  }
  Unsealed result{Secret(std::move(plain))};
  wipe(plain);
  return result;
}

Keyring Keyring::load_file(const std::filesystem::path& file) {
  std::string content = read_keys_file(file);
  const WipeOnExit wipe_content(content);

  Keyring ring;
  std::map<std::string, std::size_t, std::less<>> defined_on;
  std::string primary;
  std::size_t primary_line = 0;

  // Messages name the line, never its words: a mistyped line may well be key material.
  std::size_t line_no = 0;
  std::string_view rest = content;
  while (!rest.empty()) {
    ++line_no;
    const std::size_t eol = rest.find('\n');
    std::string_view line = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view{} : rest.substr(eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

    const auto words = split_words(line);
    if (words.empty() || words[0].front() == '#') continue;

    if (words[0] == "primary") {
      if (words.size() != 2) fail(file, line_no, "expected 'primary <id>'");
      if (primary_line != 0) {
        fail(file, line_no, "second 'primary' line (the first is on line " + std::to_string(primary_line) + ")");
      }
      primary = std::string(words[1]);
      primary_line = line_no;
    } else if (words[0] == "key") {
      if (words.size() != 3) fail(file, line_no, "expected 'key <id> <base64 of 32 bytes>'");
      const std::string_view id = words[1];
      if (id.size() > kMaxKeyIdBytes) fail(file, line_no, "key id is longer than 255 characters");
      if (const auto first = defined_on.find(id); first != defined_on.end()) {
        fail(file, line_no, "key id is already defined on line " + std::to_string(first->second));
      }
      auto decoded = base64_decode(words[2]);
      if (!decoded) fail(file, line_no, "key is not valid base64");
      const std::size_t size = decoded->size();
      Secret key(std::move(*decoded));
      wipe(*decoded);
      if (size != kKeyBytes) {
        fail(file, line_no,
             "key is " + std::to_string(size) + " bytes long, expected " + std::to_string(kKeyBytes));
      }
      ring.add(std::string(id), std::move(key));
      defined_on.emplace(id, line_no);
    } else {
      fail(file, line_no, "expected 'key <id> <base64 of 32 bytes>' or 'primary <id>'");
    }
  }

  if (ring.empty()) fail(file, "no keys: expected a line 'key <id> <base64 of 32 bytes>'");
  if (primary_line != 0) {
    if (!defined_on.contains(primary)) {
      fail(file, primary_line, "the primary key id is not defined by any 'key' line");
    }
    ring.set_primary(primary);
  }
  return ring;
}

Keyring Keyring::create_file(const std::filesystem::path& file) {
  create_private_dirs(file, file.parent_path());

  const std::string id = "k1";
  Secret key(random_bytes(kKeyBytes));
  std::string encoded = base64_encode(key.reveal());
  const WipeOnExit wipe_encoded(encoded);
  std::string content;
  const WipeOnExit wipe_content(content);
  // Appended piece by piece into a buffer reserved up front, so no temporary or
  // reallocation leaves an unwiped copy of the key behind.
  content.reserve(1024);
  content +=
      "# tollgate keys for sealing stored secrets. Keep this file private and backed up:\n"
      "# values sealed with a key cannot be read without it.\n"
      "# To rotate, add a line 'key <new id> <base64 of 32 random bytes>' and point\n"
      "# 'primary' at it; keep the old key so existing values still decrypt.\n";
  content += "primary ";
  content += id;
  content += "\nkey ";
  content += id;
  content += ' ';
  content += encoded;
  content += '\n';

  // O_EXCL refuses an existing file (and a symlink planted in its place); the
  // mode is given at creation, so the file is never readable by others.
  Fd fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd.get() < 0) {
    if (errno == EEXIST) fail(file, "keys file already exists; refusing to overwrite it");
    fail_errno(file, "cannot create keys file", errno);
  }
  // A half-written keys file would be loaded later as if it were whole; remove it instead.
  if (!write_all(fd.get(), content) || ::fsync(fd.get()) != 0 || ::close(fd.release()) != 0) {
    const int err = errno;
    ::unlink(file.c_str());
    fail_errno(file, "cannot write keys file", err);
  }
  // Losing the keys file loses every sealed value, so make its directory entry durable too.
  const std::filesystem::path dir = file.parent_path().empty() ? "." : file.parent_path();
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }

  Keyring ring;
  ring.add(id, std::move(key));
  return ring;
}

}  // namespace tollgate::crypto
