#pragma once
// Throwaway certificate authorities for TLS tests, made at test time with
// OpenSSL: EC P-256 keys, X.509 v3 with subjectAltName, SHA-256 signatures.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tollgate::test {

struct Identity {
  std::string cert_pem;  // the leaf certificate
  std::string key_pem;   // its private key (PKCS#8)
};

class TestCa {
 public:
  explicit TestCa(std::string_view common_name);
  ~TestCa();
  TestCa(const TestCa&) = delete;
  TestCa& operator=(const TestCa&) = delete;

  const std::string& cert_pem() const;
  // A server certificate valid for these DNS names and IP addresses (and nothing else).
  Identity issue(std::string_view common_name, const std::vector<std::string>& dns_names,
                 const std::vector<std::string>& ip_addresses) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tollgate::test
