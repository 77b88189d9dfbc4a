// The parts of OpenSSL that ftinit uses: libcrypto for keys and certificates, libssl for
// https health checks. Macros Swift cannot import get small inline wrappers here.
#ifndef FTINIT_COPENSSL_H
#define FTINIT_COPENSSL_H
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/// BIO_get_mem_data is a macro.
static inline long ftinit_bio_mem_data(BIO *bio, char **data) {
    return BIO_get_mem_data(bio, data);
}

/// OPENSSL_free is a macro.
static inline void ftinit_openssl_free(void *pointer) {
    OPENSSL_free(pointer);
}

/// The subjectAltName entries of a certificate: DNS names and IP addresses, one callback each.
/// Stack accessors are macros over OPENSSL_sk_*.
static inline int ftinit_general_names_count(GENERAL_NAMES *names) {
    return sk_GENERAL_NAME_num(names);
}
static inline GENERAL_NAME *ftinit_general_name_at(GENERAL_NAMES *names, int i) {
    return sk_GENERAL_NAME_value(names, i);
}
static inline void ftinit_general_names_free(GENERAL_NAMES *names) {
    GENERAL_NAMES_free(names);
}

/// SSL_set_tlsext_host_name is a macro (SNI for https checks).
static inline long ftinit_ssl_set_sni(SSL *ssl, const char *name) {
    return SSL_set_tlsext_host_name(ssl, name);
}

/// SSL_CTX_set_min_proto_version is a macro.
static inline long ftinit_ssl_ctx_min_tls12(SSL_CTX *context) {
    return SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
}
#endif
