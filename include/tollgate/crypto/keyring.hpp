#pragma once
// AES-256-GCM sealing of secrets at rest (SPEC §7).
//
// Sealed layout (binary):
//   version (1 byte, 0x01) | key id length (1 byte, 1..255) | key id |
//   nonce (12 bytes) | ciphertext | tag (16 bytes)
// The associated data binds a value to its tenant, record and field, so a value
// copied to another record or field does not decrypt. The version byte and the
// key id are authenticated too (they are part of the AAD).
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "tollgate/crypto/secret.hpp"

namespace tollgate::crypto {

struct AssociatedData {
  std::string_view tenant_id;
  std::string_view record_id;
  std::string_view field;
};

enum class UnsealError { malformed, unsupported_version, unknown_key, authentication_failed };
std::string_view to_string(UnsealError e) noexcept;

struct Unsealed {
  std::optional<Secret> value;
  UnsealError error = UnsealError::malformed;  // meaningful only when !value
  explicit operator bool() const noexcept { return value.has_value(); }
};

inline constexpr std::size_t kKeyBytes = 32;

class Keyring {
 public:
  // Adds a 32-byte key. Throws std::invalid_argument on a wrong size, an empty or
  // over-long (>255) id, or a duplicate id. The first key added becomes primary.
  void add(std::string id, Secret key);
  // Throws std::invalid_argument if no key has that id.
  void set_primary(std::string_view id);
  const std::string& primary() const noexcept { return primary_; }
  bool empty() const noexcept { return keys_.empty(); }
  std::size_t size() const noexcept { return keys_.size(); }

  // Seals with the primary key and a fresh random nonce. Throws std::logic_error on an empty ring,
  // std::runtime_error if the CSPRNG or the cipher fails.
  std::string seal(std::string_view plaintext, const AssociatedData& ad) const;
  Unsealed unseal(std::string_view sealed, const AssociatedData& ad) const;

  // Keys file format (text, one entry per line, '#' comments and blank lines ignored):
  //   primary <id>
  //   key <id> <base64 of 32 bytes>
  // Without a `primary` line the first key is primary. Throws std::runtime_error
  // naming the file and line on any problem.
  static Keyring load_file(const std::filesystem::path& file);
  // Creates the file (mode 0600, parent directories as needed) with one fresh
  // random key, and returns the ring. Refuses (throws) if the file exists.
  static Keyring create_file(const std::filesystem::path& file);

 private:
  std::map<std::string, Secret, std::less<>> keys_;
  std::string primary_;
};

}  // namespace tollgate::crypto
