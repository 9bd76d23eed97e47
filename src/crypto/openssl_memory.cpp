#include "tollgate/crypto/openssl_memory.hpp"

#include <openssl/crypto.h>

#include <cstdlib>

namespace tollgate::crypto {
namespace {

void* allocate(std::size_t n, const char*, int) { return std::malloc(n); }
void* reallocate(void* p, std::size_t n, const char*, int) { return std::realloc(p, n); }
void release(void* p, const char*, int) {
  if (p != nullptr) std::free(p);
}

}  // namespace

bool install_openssl_memory_functions() noexcept { return CRYPTO_set_mem_functions(allocate, reallocate, release) == 1; }

}  // namespace tollgate::crypto
