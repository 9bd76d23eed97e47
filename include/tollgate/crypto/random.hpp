#pragma once
// Randomness from OpenSSL's CSPRNG (RAND_bytes).
#include <cstddef>
#include <string>
#include <string_view>

namespace tollgate::crypto {

// n random bytes. Throws std::runtime_error if the CSPRNG fails (never silently weak).
std::string random_bytes(std::size_t n);

// A prefixed id such as "tnt_" + 32 lower-case base32 characters (160 random bits).
// `prefix` is given without the underscore: random_id("pss") → "pss_…".
std::string random_id(std::string_view prefix);

// A unique id in random_id's format that is not a secret (request ids): 12
// random bytes drawn once per thread, then a per-thread counter, so the hot
// path makes no CSPRNG call (OpenSSL's costs a getpid() each). Never use it for
// anything that must be unguessable.
std::string unique_id(std::string_view prefix);

// A bearer-style token: `prefix` + base64url (no padding) of `bytes` random bytes,
// e.g. random_token("tg_live_", 32) for tenant API keys.
std::string random_token(std::string_view prefix, std::size_t bytes = 32);

}  // namespace tollgate::crypto
