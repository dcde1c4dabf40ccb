#ifndef MILESTONE_COPENSSL_SHIM_H
#define MILESTONE_COPENSSL_SHIM_H

#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

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

/* ---- RSA (RS256 ID tokens) ---- */

/* A new RSA key pair of `bits` bits, or NULL. */
static inline EVP_PKEY *milestone_rsa_generate(int bits) {
    EVP_PKEY_CTX *context = EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, NULL);
    EVP_PKEY *key = NULL;
    if (context != NULL && EVP_PKEY_keygen_init(context) == 1 && EVP_PKEY_CTX_set_rsa_keygen_bits(context, bits) == 1) {
        if (EVP_PKEY_generate(context, &key) != 1) key = NULL;
    }
    EVP_PKEY_CTX_free(context);
    return key;
}

/* The RSA public key with modulus n and public exponent e (big-endian bytes), or NULL. */
static inline EVP_PKEY *milestone_rsa_public_key(const unsigned char *n, size_t n_length, const unsigned char *e, size_t e_length) {
    OSSL_PARAM_BLD *builder = OSSL_PARAM_BLD_new();
    BIGNUM *modulus = BN_bin2bn(n, (int)n_length, NULL);
    BIGNUM *exponent = BN_bin2bn(e, (int)e_length, NULL);
    OSSL_PARAM *parameters = NULL;
    EVP_PKEY_CTX *context = NULL;
    EVP_PKEY *key = NULL;
    if (builder != NULL && modulus != NULL && exponent != NULL
        && OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_RSA_N, modulus) == 1
        && OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_RSA_E, exponent) == 1
        && (parameters = OSSL_PARAM_BLD_to_param(builder)) != NULL
        && (context = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) != NULL
        && EVP_PKEY_fromdata_init(context) == 1) {
        if (EVP_PKEY_fromdata(context, &key, EVP_PKEY_PUBLIC_KEY, parameters) != 1) key = NULL;
    }
    EVP_PKEY_CTX_free(context);
    OSSL_PARAM_free(parameters);
    OSSL_PARAM_BLD_free(builder);
    BN_free(modulus);
    BN_free(exponent);
    return key;
}

/* 1 when `key` is an RSA key. */
static inline int milestone_key_is_rsa(EVP_PKEY *key) { return EVP_PKEY_is_a(key, "RSA"); }

/* The key's size in bits. */
static inline int milestone_key_bits(EVP_PKEY *key) { return EVP_PKEY_get_bits(key); }

/* Copies the RSA component `name` ("n" or "e") big-endian into out; returns its length, or -1. */
static inline int milestone_rsa_component(EVP_PKEY *key, const char *name, unsigned char *out, int capacity) {
    BIGNUM *value = NULL;
    if (EVP_PKEY_get_bn_param(key, name, &value) != 1) return -1;
    int length = BN_num_bytes(value);
    if (length > capacity) { BN_free(value); return -1; }
    BN_bn2bin(value, out);
    BN_free(value);
    return length;
}

/* RSASSA-PKCS1-v1_5 with SHA-256: 1 when `signature` is valid for `message` under `key`, else 0. */
static inline int milestone_rsa_verify_sha256(EVP_PKEY *key, const unsigned char *message, size_t message_length,
                                              const unsigned char *signature, size_t signature_length) {
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    int ok = context != NULL
        && EVP_DigestVerifyInit(context, NULL, EVP_sha256(), NULL, key) == 1
        && EVP_DigestVerify(context, signature, signature_length, message, message_length) == 1;
    EVP_MD_CTX_free(context);
    return ok;
}

/* RSASSA-PKCS1-v1_5 with SHA-256 into out (capacity at least the key's size in bytes); returns the
   signature's length, or -1. */
static inline int milestone_rsa_sign_sha256(EVP_PKEY *key, const unsigned char *message, size_t message_length,
                                            unsigned char *out, size_t capacity) {
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    size_t length = capacity;
    int ok = context != NULL
        && EVP_DigestSignInit(context, NULL, EVP_sha256(), NULL, key) == 1
        && EVP_DigestSign(context, out, &length, message, message_length) == 1;
    EVP_MD_CTX_free(context);
    return ok ? (int)length : -1;
}

/* The private key from PEM text, or NULL. */
static inline EVP_PKEY *milestone_private_key_from_pem(const char *pem, int length) {
    BIO *bio = BIO_new_mem_buf(pem, length);
    EVP_PKEY *key = bio == NULL ? NULL : PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    return key;
}

/* The private key as PKCS#8 PEM into out; returns its length (call with capacity 0 to learn it), or -1. */
static inline int milestone_private_key_to_pem(EVP_PKEY *key, char *out, int capacity) {
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    long length = -1;
    if (bio != NULL && PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) == 1) {
        length = BIO_get_mem_data(bio, &data);
        if (capacity > 0) {
            if (length > capacity) length = -1;
            else memcpy(out, data, (size_t)length);
        }
    }
    BIO_free(bio);
    return (int)length;
}

#endif
