// security/tls.h — the server side of TLS for every Watershed listener (`watershed serve`,
// later the SQL endpoint): one OpenSSL context, TLS 1.2 and 1.3 only, modern ciphers.
//
// Owns: loading a certificate chain and its private key from PEM files (checked to match),
// and for trials a self-signed certificate (EC P-256, a year) kept in a folder and reused
// while it is valid, so its fingerprint stays the same across restarts; the SHA-256
// fingerprint of the certificate served. TLS 1.2 offers only ECDHE key exchange with AES-GCM or
// ChaCha20-Poly1305; TLS 1.3 keeps OpenSSL's suites. Renegotiation and compression are off.
// Does not own: the sockets and the handshake on them (server/http_front.h), which addresses
// may serve plain HTTP (server/server.cc).
// Depends on base only (and OpenSSL). Thread safety: a TlsServer is immutable once made; its
// context may serve any number of connections on any threads.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "watershed/base/status.h"

struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace watershed::security {

class TlsServer {
 public:
  // From PEM files: `cert_file` holds the certificate, then any intermediates; `key_file` its
  // private key (unencrypted). Errors name the file and say what is wrong with it
  // (kInvalidArgument; kNotFound when a file is missing).
  static StatusOr<std::unique_ptr<TlsServer>> FromFiles(const std::string& cert_file,
                                                        const std::string& key_file);
  // A self-signed certificate for `names` (host names and IP addresses; the subject
  // alternative names), kept as `dir`/self-signed-cert.pem and `dir`/self-signed-key.pem (key
  // 0600, folder 0700). Reused while it has more than a day left and covers every name; else
  // a new one replaces it.
  static StatusOr<std::unique_ptr<TlsServer>> SelfSigned(const std::string& dir,
                                                         const std::vector<std::string>& names);
  ~TlsServer();
  TlsServer(const TlsServer&) = delete;
  TlsServer& operator=(const TlsServer&) = delete;

  ssl_ctx_st* context() const { return ctx_; }
  // SHA-256 of the DER certificate served, as uppercase hex pairs joined by ':' (the form
  // `openssl x509 -fingerprint -sha256` prints).
  const std::string& fingerprint() const { return fingerprint_; }
  const std::string& cert_file() const { return cert_file_; }

 private:
  TlsServer(ssl_ctx_st* ctx, std::string fingerprint, std::string cert_file)
      : ctx_(ctx), fingerprint_(std::move(fingerprint)), cert_file_(std::move(cert_file)) {}
  ssl_ctx_st* const ctx_;
  const std::string fingerprint_;
  const std::string cert_file_;
};

}  // namespace watershed::security
