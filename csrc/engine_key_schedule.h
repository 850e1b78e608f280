#ifndef ENGINE_KEY_SCHEDULE_H
#define ENGINE_KEY_SCHEDULE_H

#include <stddef.h>

/* The TLS 1.3 key schedule (RFC 8446 section 7), one call per stage, on libcrypto's HMAC.
 *
 * Every function is stateless: it takes the secrets and transcript hashes of its stage and
 * writes what the stage derives, one value after another, into `out` (the layout is given with
 * each function; `hash_len` is 32 for SHA-256 and 48 for SHA-384, `key_len` the AEAD key size,
 * every IV 12 bytes). Nothing is kept between calls. Returns 0, or ENGINE_KS_EINVAL for a bad
 * hash, length or buffer, ENGINE_KS_ECRYPTO if libcrypto failed; `out` is wiped on failure.
 * Every call runs without the GIL and touches no Python object. */

enum {
    ENGINE_KS_SHA256 = 1,
    ENGINE_KS_SHA384 = 2
};

enum {
    ENGINE_KS_OK = 0,
    ENGINE_KS_EINVAL = -1,
    ENGINE_KS_ECRYPTO = -3
};

/* HKDF-Expand-Label(secret, "tls13 " || label, context, length) (section 7.1); label at most
 * 249 bytes, context at most 255, length at most 255 * hash_len. */
int engine_ks_expand_label(int hash, const unsigned char *secret, size_t secret_len,
                           const unsigned char *label, size_t label_len,
                           const unsigned char *context, size_t context_len,
                           unsigned char *out, size_t length);

/* The early stage from a PSK (psk_len 0: no PSK, the zero-filled input of section 7.1);
 * `external` picks the binder label ("ext binder" for an external PSK, else "res binder"), and
 * `hello_hash` is the hash of ClientHello for 0-RTT (NULL when none is wanted):
 * out = early_secret | binder_key | client_early_traffic_secret | early_exporter_master_secret:
 * 4 * hash_len; the last two are zeros when hello_hash is NULL. */
int engine_ks_early(int hash, const unsigned char *psk, size_t psk_len, int external,
                    const unsigned char *hello_hash, unsigned char *out, size_t out_len);

/* The handshake stage: from the early secret (NULL: the one of no PSK), the (EC)DHE shared
 * secret and the hash of ClientHello..ServerHello:
 * out = client_handshake_traffic_secret | server_handshake_traffic_secret | master_secret |
 *       client key | client IV | server key | server IV: 3 * hash_len + 2 * (key_len + 12). */
int engine_ks_handshake(int hash, size_t key_len, const unsigned char *early_secret,
                        const unsigned char *shared, size_t shared_len,
                        const unsigned char *hello_hash, unsigned char *out, size_t out_len);

/* The application stage: from the master secret and the hash of ClientHello..server Finished:
 * out = client_application_traffic_secret_0 | server_application_traffic_secret_0 |
 *       exporter_master_secret | client key | client IV | server key | server IV:
 *       3 * hash_len + 2 * (key_len + 12). */
int engine_ks_application(int hash, size_t key_len, const unsigned char *master_secret,
                          const unsigned char *finished_hash, unsigned char *out,
                          size_t out_len);

/* A traffic secret's key and IV (section 7.3), and the next secret of a KeyUpdate (7.2):
 * out = key | IV | application_traffic_secret_N+1: key_len + 12 + hash_len. */
int engine_ks_traffic(int hash, size_t key_len, const unsigned char *secret,
                      unsigned char *out, size_t out_len);

/* Finished verify_data (section 4.4.4): HMAC(finished_key of `base_key`, transcript hash);
 * out = hash_len bytes. Also the PSK binder, with a binder key as `base_key`. */
int engine_ks_finished(int hash, const unsigned char *base_key,
                       const unsigned char *transcript_hash, unsigned char *out,
                       size_t out_len);

#endif
