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

/* AES-256-GCM with a 12-byte nonce and a 16-byte tag. Seal: ciphertext (same length as plaintext) and tag.
   Open: returns 1 only when the tag verifies (then plaintext holds ciphertext_length bytes). */
static inline int milestone_aes256gcm_seal(const unsigned char key[32], const unsigned char nonce[12],
                                           const unsigned char *aad, int aad_length,
                                           const unsigned char *plaintext, int plaintext_length,
                                           unsigned char *ciphertext, unsigned char tag[16]) {
    EVP_CIPHER_CTX *context = EVP_CIPHER_CTX_new();
    int length = 0, ok = context != NULL
        && EVP_EncryptInit_ex(context, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1
        && EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1
        && EVP_EncryptInit_ex(context, NULL, NULL, key, nonce) == 1
        && (aad_length == 0 || EVP_EncryptUpdate(context, NULL, &length, aad, aad_length) == 1)
        && EVP_EncryptUpdate(context, ciphertext, &length, plaintext, plaintext_length) == 1
        && EVP_EncryptFinal_ex(context, ciphertext + length, &length) == 1
        && EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
    EVP_CIPHER_CTX_free(context);
    return ok;
}

static inline int milestone_aes256gcm_open(const unsigned char key[32], const unsigned char nonce[12],
                                           const unsigned char *aad, int aad_length,
                                           const unsigned char *ciphertext, int ciphertext_length,
                                           const unsigned char tag[16], unsigned char *plaintext) {
    EVP_CIPHER_CTX *context = EVP_CIPHER_CTX_new();
    int length = 0, ok = context != NULL
        && EVP_DecryptInit_ex(context, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1
        && EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1
        && EVP_DecryptInit_ex(context, NULL, NULL, key, nonce) == 1
        && (aad_length == 0 || EVP_DecryptUpdate(context, NULL, &length, aad, aad_length) == 1)
        && EVP_DecryptUpdate(context, plaintext, &length, ciphertext, ciphertext_length) == 1
        && EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, 16, (void *)tag) == 1
        && EVP_DecryptFinal_ex(context, plaintext + length, &length) == 1;
    EVP_CIPHER_CTX_free(context);
    return ok;
}

#endif
