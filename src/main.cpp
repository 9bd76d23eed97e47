#include "tollgate/cli/cli.hpp"
#include "tollgate/crypto/openssl_memory.hpp"

int main(int argc, char** argv) {
  tollgate::crypto::install_openssl_memory_functions();  // before anything reaches OpenSSL
  return tollgate::cli::run(argc, argv);
}
