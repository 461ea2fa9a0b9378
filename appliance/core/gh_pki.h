/*
 * The deployment's internal PKI and secret sealing.  gatehouse init makes
 * the CA (an ECDSA P-256 key that never leaves the first node, file 0600)
 * and issues every component a certificate naming it by the
 * subjectAltName URI gatehouse://ROLE/ENVIRONMENT/NODE (see gh_tls.h),
 * plus DNS and IP names for hostname checks.  The secret box seals
 * token-signing keys with AES-256-GCM under the key-encryption key.
 */
#ifndef GH_PKI_H
#define GH_PKI_H

#include <stddef.h>
#include <openssl/evp.h>

#define GH_SECRETBOX_KEYLEN 32

/*
 * Create a self-signed CA (P-256, valid `days`) and write key_path (mode
 * 0600, refused if it exists) and cert_path.  0 ok, -1 with err.
 */
int gh_pki_ca_create(const char *common_name, int days, const char *key_path,
    const char *cert_path, char *err, size_t errlen);

/*
 * Issue a certificate signed by the CA for (role, env, node): a new
 * P-256 key written to key_out (0600), the certificate to cert_out.
 * names: NULL-terminated DNS names or IP addresses (either may be NULL).
 * serverAuth and clientAuth both, so one certificate serves a component
 * as server and as mutual-TLS client.  0 ok, -1 with err.
 */
int gh_pki_issue(const char *ca_key, const char *ca_cert, const char *role,
    const char *env, const char *node, const char *const *names, int days,
    const char *key_out, const char *cert_out, char *err, size_t errlen);

/*
 * Issue a certificate for a public key that a joining node sent (PEM,
 * pubkey_pem), for enrolment.  Returns a malloc'd certificate PEM or
 * NULL with err.
 */
char *gh_pki_issue_for_pubkey(const char *ca_key, const char *ca_cert,
    const char *pubkey_pem, const char *role, const char *env, const char *node,
    const char *const *names, int days, char *err, size_t errlen);

/* SHA-256 of a PEM certificate's DER, lowercase hex into out[65].  0 ok, -1. */
int gh_pki_fingerprint(const char *cert_path, char out[65]);

/*
 * Seal pt[0..len) with key: out = 0x01 | nonce(12) | ciphertext | tag(16),
 * aad bound in (may be NULL).  *out is malloc'd (caller frees).  0 ok, -1.
 */
int gh_secretbox_seal(const unsigned char key[GH_SECRETBOX_KEYLEN],
    const void *aad, size_t aadlen, const void *pt, size_t len,
    unsigned char **out, size_t *outlen);

/*
 * Open a sealed box; -1 when the key, aad or bytes are wrong.  *pt is
 * malloc'd and NUL-terminated (caller explicit_bzero's and frees).
 */
int gh_secretbox_open(const unsigned char key[GH_SECRETBOX_KEYLEN],
    const void *aad, size_t aadlen, const unsigned char *in, size_t inlen,
    unsigned char **pt, size_t *ptlen);

#endif
