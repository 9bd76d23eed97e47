#pragma once
#include <openssl/crypto.h>

#include <string>

namespace tollgate::crypto {

// Wipes the whole buffer, not just size() bytes: a moved-from short string keeps
// its old characters in the inline buffer, and a shrunk string keeps them past
// its end. Growing to capacity() never reallocates, so this touches only memory
// the string owns.
inline void wipe(std::string& s) noexcept {
  s.resize(s.capacity());
  OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

}  // namespace tollgate::crypto
