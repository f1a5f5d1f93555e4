// security/tls.cc — see tls.h.
#include "watershed/security/tls.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>

#include "watershed/base/log.h"
#include "watershed/base/private_files.h"
#include "watershed/base/strings.h"

namespace watershed::security {
namespace {

// TLS 1.2: forward secrecy and AEAD only (ECDSA or RSA certificates).
constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr long kSelfSignedDays = 365;

// OpenSSL's queued errors of this thread as one line (and the queue emptied).
std::string OpenSslErrors() {
  std::string out;
  for (unsigned long e = ERR_get_error(); e != 0; e = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(e, text, sizeof(text));
    if (!out.empty()) out += "; ";
    out += text;
  }
  return out.empty() ? "no detail from OpenSSL" : out;
}

template <typename T, void (*Free)(T*)>
struct Freer {
  void operator()(T* p) const { Free(p); }
};
using X509Ptr = std::unique_ptr<X509, Freer<X509, X509_free>>;
using KeyPtr = std::unique_ptr<EVP_PKEY, Freer<EVP_PKEY, EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, Freer<BIO, BIO_free_all>>;

bool Exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

X509Ptr ReadCertificate(const std::string& path) {
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) return nullptr;
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

std::string Fingerprint(const X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  X509_digest(cert, EVP_sha256(), md, &n);
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    if (i > 0) out += ':';
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

bool IsIpAddress(const std::string& name) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, name.c_str(), buf) == 1 ||
         ::inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

bool Covers(X509* cert, const std::string& name) {
  return IsIpAddress(name) ? X509_check_ip_asc(cert, name.c_str(), 0) == 1
                           : X509_check_host(cert, name.c_str(), name.size(), 0, nullptr) == 1;
}

// Writes `text` to `path` (0600) through a temporary file and a rename.
Status WritePem(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  WS_ASSIGN_OR_RETURN(int fd, OpenPrivateFile(tmp, O_WRONLY | O_TRUNC));
  size_t done = 0;
  while (done < text.size()) {
    ssize_t w = ::write(fd, text.data() + done, text.size() - done);
    if (w <= 0) {
      ::close(fd);
      return absl::UnavailableError(StrCat("cannot write ", tmp, ": ", strerror(errno)));
    }
    done += static_cast<size_t>(w);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::UnavailableError(StrCat("cannot rename ", tmp, ": ", strerror(errno)));
  }
  return absl::OkStatus();
}

std::string PemOf(int (*write)(BIO*, void*), void* object) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  write(bio.get(), object);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

int WriteKey(BIO* bio, void* key) {
  return PEM_write_bio_PrivateKey(bio, static_cast<EVP_PKEY*>(key), nullptr, nullptr, 0, nullptr,
                                  nullptr);
}
int WriteCert(BIO* bio, void* cert) { return PEM_write_bio_X509(bio, static_cast<X509*>(cert)); }

// A new self-signed certificate for `names` with its key, as PEM files.
Status MakeSelfSigned(const std::vector<std::string>& names, const std::string& cert_file,
                      const std::string& key_file) {
  KeyPtr key(EVP_EC_gen("P-256"));
  X509Ptr cert(X509_new());
  if (!key || !cert) return absl::InternalError(StrCat("TLS key generation: ", OpenSslErrors()));
  X509_set_version(cert.get(), 2);
  BIGNUM* serial = BN_new();
  BN_rand(serial, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY);
  BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert.get()));
  BN_free(serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), kSelfSignedDays * 86400);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* subject = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Watershed"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(names.front().c_str()), -1, -1,
                             0);
  X509_set_issuer_name(cert.get(), subject);
  std::string alt;
  for (const std::string& name : names) {
    alt += StrCat(alt.empty() ? "" : ",", IsIpAddress(name) ? "IP:" : "DNS:", name);
  }
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, cert.get(), cert.get(), nullptr, nullptr, 0);
  const std::pair<int, std::string> extensions[] = {
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, "critical,digitalSignature"},
      {NID_ext_key_usage, "serverAuth"},
      {NID_subject_key_identifier, "hash"},
      {NID_subject_alt_name, alt},
  };
  for (const auto& [nid, value] : extensions) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str());
    if (ext == nullptr) {
      return absl::InvalidArgumentError(
          StrCat("self-signed certificate: cannot name ", value, ": ", OpenSslErrors()));
    }
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) {
    return absl::InternalError(StrCat("self-signed certificate: ", OpenSslErrors()));
  }
  WS_RETURN_IF_ERROR(WritePem(key_file, PemOf(WriteKey, key.get())));
  return WritePem(cert_file, PemOf(WriteCert, cert.get()));
}

}  // namespace

TlsServer::~TlsServer() { SSL_CTX_free(ctx_); }

StatusOr<std::unique_ptr<TlsServer>> TlsServer::FromFiles(const std::string& cert_file,
                                                          const std::string& key_file) {
  for (const std::string& f : {cert_file, key_file}) {
    if (!Exists(f)) {
      return absl::NotFoundError(StrCat("TLS ", f == cert_file ? "certificate" : "key", " file ", f,
                                        " not found (--tls-cert and --tls-key take PEM files)"));
    }
  }
  ERR_clear_error();
  std::unique_ptr<SSL_CTX, Freer<SSL_CTX, SSL_CTX_free>> ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return absl::InternalError(StrCat("TLS: ", OpenSslErrors()));
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_options(
      ctx.get(), SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (SSL_CTX_set_cipher_list(ctx.get(), kTls12Ciphers) != 1) {
    return absl::InternalError(StrCat("TLS ciphers: ", OpenSslErrors()));
  }
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), cert_file.c_str()) != 1) {
    return absl::InvalidArgumentError(StrCat("TLS certificate file ", cert_file,
                                             " holds no PEM certificate (", OpenSslErrors(), ")"));
  }
  const bool key_loaded =
      SSL_CTX_use_PrivateKey_file(ctx.get(), key_file.c_str(), SSL_FILETYPE_PEM) == 1;
  if (!key_loaded && ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
    ERR_clear_error();
    return absl::InvalidArgumentError(StrCat("the private key in ", key_file,
                                             " does not belong to the certificate in ", cert_file));
  }
  if (!key_loaded) {
    return absl::InvalidArgumentError(StrCat("TLS key file ", key_file,
                                             " holds no unencrypted PEM private key (",
                                             OpenSslErrors(), ")"));
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    return absl::InvalidArgumentError(StrCat("the private key in ", key_file,
                                             " does not belong to the certificate in ", cert_file));
  }
  X509* cert = SSL_CTX_get0_certificate(ctx.get());
  if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0) {
    return absl::InvalidArgumentError(
        StrCat("the TLS certificate in ", cert_file, " has expired: renew it"));
  }
  struct stat st {};
  if (::stat(key_file.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    LogWarn(StrCat("TLS key file ", key_file, " can be read by others: chmod 600 it"));
  }
  std::string fingerprint = Fingerprint(cert);
  return std::unique_ptr<TlsServer>(
      new TlsServer(ctx.release(), std::move(fingerprint), cert_file));
}

StatusOr<std::unique_ptr<TlsServer>> TlsServer::SelfSigned(const std::string& dir,
                                                           const std::vector<std::string>& names) {
  if (names.empty()) return absl::InvalidArgumentError("self-signed certificate: no names");
  WS_RETURN_IF_ERROR(MakePrivateDirs(dir));
  const std::string cert_file = dir + "/self-signed-cert.pem";
  const std::string key_file = dir + "/self-signed-key.pem";
  bool reuse = Exists(key_file);
  if (X509Ptr old = reuse ? ReadCertificate(cert_file) : nullptr) {
    const time_t tomorrow = std::time(nullptr) + 86400;
    reuse = X509_cmp_time(X509_get0_notAfter(old.get()), const_cast<time_t*>(&tomorrow)) > 0;
    for (const std::string& name : names) reuse = reuse && Covers(old.get(), name);
  } else {
    reuse = false;
  }
  if (!reuse) {
    WS_RETURN_IF_ERROR(MakeSelfSigned(names, cert_file, key_file));
    LogInfo(
        StrCat("made a self-signed TLS certificate in ", cert_file, " for ", Join(names, ", ")));
  }
  return FromFiles(cert_file, key_file);
}

}  // namespace watershed::security
