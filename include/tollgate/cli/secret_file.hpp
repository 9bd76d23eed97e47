#pragma once
// A secret a verb takes from a file named on its command line (e.g.
// `oauth apps set --client-secret-file F`), so that it is never in argv,
// shell history or `ps`.
#include <filesystem>
#include <string_view>

#include "tollgate/crypto/secret.hpp"

namespace tollgate::cli {

// Largest secret file accepted; anything bigger is the wrong file.
inline constexpr std::size_t kMaxSecretFileBytes = 64 * 1024;

// The file's contents with trailing CR and LF removed. Throws UsageError
// naming `option` and the file — never anything from inside it — when the file
// cannot be read, is a directory, is empty (or only line breaks), is larger than
// kMaxSecretFileBytes, or holds a line break or other control character inside
// the secret (more than one line: not a bare secret).
crypto::Secret read_secret_file(const std::filesystem::path& file, std::string_view option);

}  // namespace tollgate::cli
