#ifndef MILESTONE_COPENSSL_SHIM_H
#define MILESTONE_COPENSSL_SHIM_H

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

/* One-shot HMAC-SHA256 (the EVP_sha256 call is a function Swift can call, but keeping the whole call here
   keeps OpenSSL's types out of Swift). Returns 1 on success. */
static inline int milestone_hmac_sha256(const void *key, int key_length, const unsigned char *data, size_t data_length,
                                        unsigned char out[32]) {
    unsigned int out_length = 32;
    return HMAC(EVP_sha256(), key, key_length, data, data_length, out, &out_length) != NULL && out_length == 32;
}

/* SHA-256 of data. Returns 1 on success. */
static inline int milestone_sha256(const unsigned char *data, size_t data_length, unsigned char out[32]) {
    return SHA256(data, data_length, out) != NULL;
}

#endif
