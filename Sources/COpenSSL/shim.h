// The parts of OpenSSL's libcrypto that ftinit uses.
#include <openssl/crypto.h>
#include <openssl/opensslv.h>
