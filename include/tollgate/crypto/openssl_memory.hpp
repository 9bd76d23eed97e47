#pragma once
// OpenSSL's allocations through functions of tollgate's: the same malloc, but
// a free that returns at once for a null pointer. OpenSSL 3.0's ERR_clear_error
// frees every slot of the thread's error queue, nearly all of them null, and
// Asio's TLS engine calls it before every TLS read and write: about 100 calls
// of free per call relayed to a TLS upstream, each a full trip into the
// allocator (5k instructions a call; bench/README.md "Profile").
namespace tollgate::crypto {

// Must run before OpenSSL allocates anything (first thing in main); returns
// false, changing nothing, when that is too late.
bool install_openssl_memory_functions() noexcept;

}  // namespace tollgate::crypto
