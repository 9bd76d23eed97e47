#include "test_pki.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <stdexcept>
#include <utility>

namespace tollgate::test {
namespace {

struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct CertFree {
  void operator()(X509* cert) const { X509_free(cert); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;

void require(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test PKI: ") + what + " failed");
}

Key new_key() {
  Key key(EVP_EC_gen("P-256"));
  require(key != nullptr, "EVP_EC_gen");
  return key;
}

// `issuer` null: self-signed with `key`.
Cert new_cert(EVP_PKEY* key, std::string_view common_name, X509* issuer, EVP_PKEY* issuer_key,
              const std::vector<std::pair<int, std::string>>& extensions) {
  Cert cert(X509_new());
  require(cert != nullptr, "X509_new");
  X509* x = cert.get();
  require(X509_set_version(x, 2) == 1, "X509_set_version");
  BIGNUM* serial = BN_new();
  require(serial && BN_rand(serial, 64, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1 &&
              BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) != nullptr,
          "serial");
  BN_free(serial);
  require(X509_gmtime_adj(X509_getm_notBefore(x), -3600) && X509_gmtime_adj(X509_getm_notAfter(x), 86400), "validity");
  require(X509_set_pubkey(x, key) == 1, "X509_set_pubkey");
  X509_NAME* name = X509_get_subject_name(x);
  require(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(common_name.data()),
                                     static_cast<int>(common_name.size()), -1, 0) == 1,
          "subject");
  require(X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) == 1, "issuer");
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer ? issuer : x, x, nullptr, nullptr, 0);
  for (const auto& [nid, value] : extensions) {
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
    require(extension != nullptr, "X509V3_EXT_conf_nid");
    require(X509_add_ext(x, extension, -1) == 1, "X509_add_ext");
    X509_EXTENSION_free(extension);
  }
  require(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0, "X509_sign");
  return cert;
}

template <typename Write>
std::string pem(Write write) {
  BIO* bio = BIO_new(BIO_s_mem());
  require(bio != nullptr, "BIO_new");
  bool ok = write(bio) == 1;
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  std::string text(data, static_cast<std::size_t>(size));
  BIO_free(bio);
  require(ok, "PEM write");
  return text;
}

std::string pem_of(X509* cert) {
  return pem([cert](BIO* bio) { return PEM_write_bio_X509(bio, cert); });
}

std::string pem_of(EVP_PKEY* key) {
  return pem([key](BIO* bio) { return PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr); });
}

}  // namespace

struct TestCa::Impl {
  Key key;
  Cert cert;
  std::string pem;
};

TestCa::TestCa(std::string_view common_name) : impl_(std::make_unique<Impl>()) {
  impl_->key = new_key();
  std::vector<std::pair<int, std::string>> extensions{
      {NID_basic_constraints, "critical,CA:TRUE"},
      {NID_key_usage, "critical,keyCertSign,cRLSign"},
      {NID_subject_key_identifier, "hash"},
  };
  impl_->cert = new_cert(impl_->key.get(), common_name, nullptr, nullptr, extensions);
  impl_->pem = pem_of(impl_->cert.get());
}

TestCa::~TestCa() = default;

const std::string& TestCa::cert_pem() const { return impl_->pem; }

Identity TestCa::issue(std::string_view common_name, const std::vector<std::string>& dns_names,
                       const std::vector<std::string>& ip_addresses) const {
  std::string san;
  for (const auto& name : dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + name;
  for (const auto& ip : ip_addresses) san += (san.empty() ? "IP:" : ",IP:") + ip;
  std::vector<std::pair<int, std::string>> extensions{
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, "critical,digitalSignature"},
      {NID_ext_key_usage, "serverAuth"},
      {NID_subject_key_identifier, "hash"},
      {NID_authority_key_identifier, "keyid:always"},
      {NID_subject_alt_name, san},
  };
  Key key = new_key();
  Cert cert = new_cert(key.get(), common_name, impl_->cert.get(), impl_->key.get(), extensions);
  return Identity{pem_of(cert.get()), pem_of(key.get())};
}

}  // namespace tollgate::test
