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
#include <openssl/x509.h>

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

/* The same for a certificate in memory (PEM text).  0 ok, -1 when it does not parse. */
int gh_pki_fingerprint_pem(const char *pem, char out[65]);

/* The same for a parsed certificate (OpenSSL's X509, borrowed).  0 ok, -1. */
int gh_pki_fingerprint_x509(const X509 *x, char out[65]);

/*
 * Enrolment (DESIGN.md "Enrolment").  The CA that signs joining nodes'
 * certificates, loaded once while the process may still read the CA key
 * (before it drops privileges); signing is serialized by a mutex, so one
 * loaded CA may be used from every worker thread.
 */
struct gh_pki_ca;

/*
 * Load the CA key and certificate (they must match).  Returns the CA
 * (gh_pki_ca_free), or NULL with err.
 */
struct gh_pki_ca *gh_pki_ca_load(const char *key_path, const char *cert_path, char *err, size_t errlen);
void gh_pki_ca_free(struct gh_pki_ca *ca);

/* The CA certificate as PEM text and its SHA-256 fingerprint (hex); both borrowed from ca. */
const char *gh_pki_ca_pem(const struct gh_pki_ca *ca);
const char *gh_pki_ca_fingerprint(const struct gh_pki_ca *ca);

/*
 * Check what a joining node sent for one certificate: a PEM certificate
 * request (PKCS#10, its self-signature verified: the node holds the key)
 * or a PEM public key (SubjectPublicKeyInfo), of an EC P-256/P-384 key,
 * an RSA key of 2048 to 8192 bits or an Ed25519 key.  0 ok, -1 with err
 * (a reason fit for a 400's description).
 */
int gh_pki_request_check(const char *req_pem, char *err, size_t errlen);

/*
 * Issue a certificate for (role, env, node) to the key of req_pem (as
 * gh_pki_request_check accepts; the request's own subject and extensions
 * are ignored: the CA decides every name).  names as gh_pki_issue.
 * Returns a malloc'd certificate PEM, or NULL with err.
 */
char *gh_pki_ca_sign(struct gh_pki_ca *ca, const char *req_pem, const char *role, const char *env,
    const char *node, const char *const *names, int days, char *err, size_t errlen);

/*
 * Make a new P-256 key and a certificate request for it signed by it
 * (subject O=Gatehouse, CN=cn): *key_pem (the private key: caller
 * gh_free_secret's it) and *csr_pem (caller frees).  0 ok, -1 with err.
 */
int gh_pki_csr_make(const char *cn, char **key_pem, char **csr_pem, char *err, size_t errlen);

/*
 * The certificates a node of node_role holds, as (component, environment)
 * pairs into comps[0..max): "node" always; all-in-one every component
 * (gateways of Internal and External); control-plane publisher, portal,
 * keymanager and trafficmanager; one of those its own; gateway-internal
 * and gateway-external their gateway of environment gw_env (NULL:
 * Internal or External).  Returns the count (0 for an unknown role).
 */
size_t gh_pki_role_components(const char *node_role, const char *gw_env, const char *comps[][2],
    size_t max);

/*
 * Enrolment tokens are self-describing: "ghe1.FP.SECRET", FP the
 * base64url of the CA certificate's SHA-256 (so the token alone lets a
 * node check the server it enrols with) and SECRET 32 random bytes in
 * base64url.
 */
#define GH_ENROL_TOKEN_PREFIX "ghe1."
#define GH_ENROL_TOKEN_LEN (5 + 43 + 1 + 43)

/* A new token for the CA of fingerprint fp_hex (64 hex digits); malloc'd, NULL on failure. */
char *gh_enrol_token_new(const char *fp_hex);

/* 0 with the CA fingerprint the token carries in fp_hex (lowercase), -1 when malformed. */
int gh_enrol_token_parse(const char *token, char fp_hex[65]);

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
