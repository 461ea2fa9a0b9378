/*
 * Internal CA and component certificates with OpenSSL 3 (also signing
 * joining nodes' certificate requests at enrolment), and the AES-GCM
 * secret box.  Every function here is called by the node command (init,
 * enrolment) or by the publisher's enrolment endpoint; nothing here is on
 * a request's hot path.  Keys are written 0600 with O_EXCL so a second
 * init never overwrites one.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <pthread.h>

#include "core/gh_codec.h"
#include "core/gh_pki.h"

static void
pki_err(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256] = "";

	if (e != 0)
		ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(err, errlen, "%s%s%s", what, buf[0] ? ": " : "", buf);
	ERR_clear_error();
}

static EVP_PKEY *
key_new_p256(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

/* Write a private key PEM to path, 0600, refusing to replace a file. */
static int
key_write(EVP_PKEY *k, const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	FILE *f;
	int ok;

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	ok = PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	if (fclose(f) != 0 || !ok) {
		unlink(path);
		pki_err(err, errlen, "writing private key");
		return -1;
	}
	return 0;
}

static int
cert_write(X509 *x, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	ok = PEM_write_X509(f, x);
	if (fclose(f) != 0 || !ok) {
		pki_err(err, errlen, "writing certificate");
		return -1;
	}
	return 0;
}

static int
ext_add(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ex;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ex == NULL)
		return -1;
	X509_add_ext(x, ex, -1);
	X509_EXTENSION_free(ex);
	return 0;
}

static int
serial_random(X509 *x)
{
	unsigned char b[16];
	BIGNUM *bn;
	int ok;

	if (RAND_bytes(b, sizeof(b)) != 1)
		return -1;
	b[0] &= 0x7f;
	bn = BN_bin2bn(b, sizeof(b), NULL);
	ok = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok ? 0 : -1;
}

static X509 *
cert_base(const char *cn, int days, EVP_PKEY *pub)
{
	X509 *x = X509_new();
	X509_NAME *name;

	if (x == NULL)
		return NULL;
	X509_set_version(x, 2);
	if (serial_random(x) != 0)
		goto fail;
	X509_gmtime_adj(X509_getm_notBefore(x), -300);
	X509_gmtime_adj(X509_getm_notAfter(x), (long)days * 86400);
	X509_set_pubkey(x, pub);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"Gatehouse", -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	return x;
fail:
	X509_free(x);
	return NULL;
}

int
gh_pki_ca_create(const char *common_name, int days, const char *key_path,
    const char *cert_path, char *err, size_t errlen)
{
	EVP_PKEY *k = key_new_p256();
	X509 *x = NULL;
	int rc = -1;

	if (k == NULL) {
		pki_err(err, errlen, "CA key generation");
		return -1;
	}
	x = cert_base(common_name, days, k);
	if (x == NULL)
		goto out;
	X509_set_issuer_name(x, X509_get_subject_name(x));
	if (ext_add(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
	    ext_add(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") ||
	    ext_add(x, x, NID_subject_key_identifier, "hash") ||
	    X509_sign(x, k, EVP_sha256()) == 0) {
		pki_err(err, errlen, "CA certificate");
		goto out;
	}
	if (key_write(k, key_path, err, errlen) != 0)
		goto out;
	if (cert_write(x, cert_path, err, errlen) != 0) {
		unlink(key_path);
		goto out;
	}
	rc = 0;
out:
	X509_free(x);
	EVP_PKEY_free(k);
	return rc;
}

static int
ca_load(const char *ca_key, const char *ca_cert, EVP_PKEY **k, X509 **x,
    char *err, size_t errlen)
{
	FILE *f = fopen(ca_key, "r");

	*k = NULL;
	*x = NULL;
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", ca_key, strerror(errno));
		return -1;
	}
	*k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	f = fopen(ca_cert, "r");
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", ca_cert, strerror(errno));
		goto fail;
	}
	*x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (*k == NULL || *x == NULL || X509_check_private_key(*x, *k) != 1) {
		pki_err(err, errlen, "CA key and certificate do not load or do not match");
		goto fail;
	}
	return 0;
fail:
	EVP_PKEY_free(*k);
	X509_free(*x);
	*k = NULL;
	*x = NULL;
	return -1;
}

static int
ident_ok(const char *s)
{
	if (s == NULL || *s == '\0' || strlen(s) > 63)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-'))
			return 0;
	return 1;
}

/* Build and sign a leaf certificate for pub.  Returns the cert or NULL with err. */
static X509 *
leaf_sign(EVP_PKEY *ca_k, X509 *ca_x, EVP_PKEY *pub, const char *role,
    const char *env, const char *node, const char *const *names, int days,
    char *err, size_t errlen)
{
	char cn[200], san[2048];
	size_t used;
	X509 *x;

	if (!ident_ok(role) || !ident_ok(env) || !ident_ok(node)) {
		snprintf(err, errlen, "role, environment and node must be 1-63 of [A-Za-z0-9._-]");
		return NULL;
	}
	snprintf(cn, sizeof(cn), "%s.%s.%s", role, env, node);
	x = cert_base(cn, days, pub);
	if (x == NULL) {
		pki_err(err, errlen, "certificate");
		return NULL;
	}
	X509_set_issuer_name(x, X509_get_subject_name(ca_x));
	used = (size_t)snprintf(san, sizeof(san), "URI:gatehouse://%s/%s/%s", role, env, node);
	for (size_t i = 0; names != NULL && names[i] != NULL; i++) {
		unsigned char buf[16];
		int is_ip = inet_pton(AF_INET, names[i], buf) == 1 ||
		    inet_pton(AF_INET6, names[i], buf) == 1;
		if (strpbrk(names[i], ",:= ") != NULL && !is_ip) {
			snprintf(err, errlen, "bad host name '%s'", names[i]);
			goto fail;
		}
		used += (size_t)snprintf(san + used, sizeof(san) - used, ",%s:%s",
		    is_ip ? "IP" : "DNS", names[i]);
		if (used >= sizeof(san)) {
			snprintf(err, errlen, "too many names");
			goto fail;
		}
	}
	if (ext_add(x, ca_x, NID_basic_constraints, "critical,CA:FALSE") ||
	    ext_add(x, ca_x, NID_key_usage, "critical,digitalSignature,keyEncipherment") ||
	    ext_add(x, ca_x, NID_ext_key_usage, "serverAuth,clientAuth") ||
	    ext_add(x, ca_x, NID_authority_key_identifier, "keyid:always") ||
	    ext_add(x, ca_x, NID_subject_alt_name, san) ||
	    X509_sign(x, ca_k, EVP_sha256()) == 0) {
		pki_err(err, errlen, "signing certificate");
		goto fail;
	}
	return x;
fail:
	X509_free(x);
	return NULL;
}

int
gh_pki_issue(const char *ca_key, const char *ca_cert, const char *role,
    const char *env, const char *node, const char *const *names, int days,
    const char *key_out, const char *cert_out, char *err, size_t errlen)
{
	EVP_PKEY *ca_k, *k = NULL;
	X509 *ca_x, *x = NULL;
	int rc = -1;

	if (ca_load(ca_key, ca_cert, &ca_k, &ca_x, err, errlen) != 0)
		return -1;
	k = key_new_p256();
	if (k == NULL) {
		pki_err(err, errlen, "key generation");
		goto out;
	}
	x = leaf_sign(ca_k, ca_x, k, role, env, node, names, days, err, errlen);
	if (x == NULL)
		goto out;
	if (key_write(k, key_out, err, errlen) != 0)
		goto out;
	if (cert_write(x, cert_out, err, errlen) != 0) {
		unlink(key_out);
		goto out;
	}
	rc = 0;
out:
	X509_free(x);
	EVP_PKEY_free(k);
	X509_free(ca_x);
	EVP_PKEY_free(ca_k);
	return rc;
}

char *
gh_pki_issue_for_pubkey(const char *ca_key, const char *ca_cert,
    const char *pubkey_pem, const char *role, const char *env, const char *node,
    const char *const *names, int days, char *err, size_t errlen)
{
	EVP_PKEY *ca_k, *pub = NULL;
	X509 *ca_x, *x = NULL;
	BIO *b = NULL;
	char *out = NULL, *data;
	long len;

	if (ca_load(ca_key, ca_cert, &ca_k, &ca_x, err, errlen) != 0)
		return NULL;
	b = BIO_new_mem_buf(pubkey_pem, -1);
	pub = b ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	b = NULL;
	if (pub == NULL) {
		pki_err(err, errlen, "public key is not a PEM SubjectPublicKeyInfo");
		goto out;
	}
	x = leaf_sign(ca_k, ca_x, pub, role, env, node, names, days, err, errlen);
	if (x == NULL)
		goto out;
	b = BIO_new(BIO_s_mem());
	if (b == NULL || !PEM_write_bio_X509(b, x))
		goto out;
	len = BIO_get_mem_data(b, &data);
	out = strndup(data, (size_t)len);
out:
	BIO_free(b);
	X509_free(x);
	EVP_PKEY_free(pub);
	X509_free(ca_x);
	EVP_PKEY_free(ca_k);
	return out;
}

int
gh_pki_fingerprint_x509(const X509 *x, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	if (x == NULL || !X509_digest(x, EVP_sha256(), md, &mdlen) || mdlen != 32)
		return -1;
	for (int i = 0; i < 32; i++)
		snprintf(out + i * 2, 3, "%02x", md[i]);
	return 0;
}

int
gh_pki_fingerprint(const char *cert_path, char out[65])
{
	FILE *f = fopen(cert_path, "r");
	X509 *x;
	int rc;

	if (f == NULL)
		return -1;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	rc = gh_pki_fingerprint_x509(x, out);
	X509_free(x);
	return rc;
}

int
gh_pki_fingerprint_pem(const char *pem, char out[65])
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	int rc = gh_pki_fingerprint_x509(x, out);

	X509_free(x);
	BIO_free(b);
	ERR_clear_error();
	return rc;
}

/* ---- enrolment ---- */

struct gh_pki_ca {
	EVP_PKEY *key;
	X509 *cert;
	char *pem;
	char fingerprint[65];
	pthread_mutex_t mu;
};

/* PEM of x (malloc'd) or NULL. */
static char *
cert_pem(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out = NULL;
	long len;

	if (b != NULL && PEM_write_bio_X509(b, x)) {
		len = BIO_get_mem_data(b, &data);
		out = strndup(data, (size_t)len);
	}
	BIO_free(b);
	return out;
}

struct gh_pki_ca *
gh_pki_ca_load(const char *key_path, const char *cert_path, char *err, size_t errlen)
{
	struct gh_pki_ca *ca = calloc(1, sizeof(*ca));

	if (ca == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (ca_load(key_path, cert_path, &ca->key, &ca->cert, err, errlen) != 0)
		goto fail;
	ca->pem = cert_pem(ca->cert);
	if (ca->pem == NULL || gh_pki_fingerprint_x509(ca->cert, ca->fingerprint) != 0) {
		pki_err(err, errlen, "CA certificate");
		goto fail;
	}
	pthread_mutex_init(&ca->mu, NULL);
	return ca;
fail:
	EVP_PKEY_free(ca->key);
	X509_free(ca->cert);
	free(ca->pem);
	free(ca);
	return NULL;
}

void
gh_pki_ca_free(struct gh_pki_ca *ca)
{
	if (ca == NULL)
		return;
	EVP_PKEY_free(ca->key);
	X509_free(ca->cert);
	free(ca->pem);
	pthread_mutex_destroy(&ca->mu);
	free(ca);
}

const char *
gh_pki_ca_pem(const struct gh_pki_ca *ca)
{
	return ca->pem;
}

const char *
gh_pki_ca_fingerprint(const struct gh_pki_ca *ca)
{
	return ca->fingerprint;
}

/* 1 when k is a key type and size enrolment accepts. */
static int
pubkey_acceptable(EVP_PKEY *k)
{
	char curve[64] = "";
	size_t n = 0;

	if (EVP_PKEY_is_a(k, "EC")) {
		if (!EVP_PKEY_get_utf8_string_param(k, "group", curve, sizeof(curve), &n))
			return 0;
		return strcmp(curve, "prime256v1") == 0 || strcmp(curve, "secp384r1") == 0;
	}
	if (EVP_PKEY_is_a(k, "RSA"))
		return EVP_PKEY_get_bits(k) >= 2048 && EVP_PKEY_get_bits(k) <= 8192;
	return EVP_PKEY_is_a(k, "ED25519");
}

/* The public key of a CSR (signature verified) or public-key PEM; NULL with err. */
static EVP_PKEY *
request_pubkey(const char *req_pem, char *err, size_t errlen)
{
	BIO *b;
	EVP_PKEY *k = NULL;

	if (req_pem == NULL || strlen(req_pem) > 16384) {
		snprintf(err, errlen, "a PEM certificate request or public key of at most 16 KiB is required");
		return NULL;
	}
	b = BIO_new_mem_buf(req_pem, -1);
	if (b == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (strstr(req_pem, "-----BEGIN CERTIFICATE REQUEST-----") != NULL) {
		X509_REQ *r = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
		k = r ? X509_REQ_get_pubkey(r) : NULL;
		if (k == NULL)
			snprintf(err, errlen, "the certificate request does not parse");
		else if (X509_REQ_verify(r, k) != 1) {
			snprintf(err, errlen, "the certificate request's signature does not verify with its key");
			EVP_PKEY_free(k);
			k = NULL;
		}
		X509_REQ_free(r);
	} else if (strstr(req_pem, "-----BEGIN PUBLIC KEY-----") != NULL) {
		k = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
		if (k == NULL)
			snprintf(err, errlen, "the public key does not parse");
	} else {
		snprintf(err, errlen, "expected a PEM CERTIFICATE REQUEST or PUBLIC KEY");
	}
	BIO_free(b);
	ERR_clear_error();
	if (k != NULL && !pubkey_acceptable(k)) {
		snprintf(err, errlen, "the key must be EC P-256 or P-384, RSA of 2048 to 8192 bits, or Ed25519");
		EVP_PKEY_free(k);
		k = NULL;
	}
	return k;
}

int
gh_pki_request_check(const char *req_pem, char *err, size_t errlen)
{
	EVP_PKEY *k = request_pubkey(req_pem, err, errlen);

	EVP_PKEY_free(k);
	return k != NULL ? 0 : -1;
}

char *
gh_pki_ca_sign(struct gh_pki_ca *ca, const char *req_pem, const char *role, const char *env,
    const char *node, const char *const *names, int days, char *err, size_t errlen)
{
	EVP_PKEY *pub = request_pubkey(req_pem, err, errlen);
	X509 *x;
	char *out;

	if (pub == NULL)
		return NULL;
	pthread_mutex_lock(&ca->mu);
	x = leaf_sign(ca->key, ca->cert, pub, role, env, node, names, days, err, errlen);
	pthread_mutex_unlock(&ca->mu);
	EVP_PKEY_free(pub);
	if (x == NULL)
		return NULL;
	out = cert_pem(x);
	X509_free(x);
	if (out == NULL)
		snprintf(err, errlen, "out of memory");
	return out;
}

int
gh_pki_csr_make(const char *cn, char **key_pem, char **csr_pem, char *err, size_t errlen)
{
	EVP_PKEY *k = key_new_p256();
	X509_REQ *r = X509_REQ_new();
	X509_NAME *name = NULL;
	BIO *kb = BIO_new(BIO_s_mem()), *rb = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int rc = -1;

	*key_pem = *csr_pem = NULL;
	if (k == NULL || r == NULL || kb == NULL || rb == NULL)
		goto fail;
	name = X509_REQ_get_subject_name(r);
	if (X509_REQ_set_version(r, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"Gatehouse", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_REQ_set_pubkey(r, k) != 1 || X509_REQ_sign(r, k, EVP_sha256()) == 0 ||
	    !PEM_write_bio_PrivateKey(kb, k, NULL, NULL, 0, NULL, NULL) || !PEM_write_bio_X509_REQ(rb, r))
		goto fail;
	len = BIO_get_mem_data(kb, &data);
	*key_pem = strndup(data, (size_t)len);
	explicit_bzero(data, (size_t)len);
	len = BIO_get_mem_data(rb, &data);
	*csr_pem = strndup(data, (size_t)len);
	if (*key_pem == NULL || *csr_pem == NULL)
		goto fail;
	rc = 0;
	goto out;
fail:
	pki_err(err, errlen, "certificate request");
	if (*key_pem != NULL)
		gh_free_secret(*key_pem);
	free(*csr_pem);
	*key_pem = *csr_pem = NULL;
out:
	BIO_free(kb);
	BIO_free(rb);
	X509_REQ_free(r);
	EVP_PKEY_free(k);
	return rc;
}

size_t
gh_pki_role_components(const char *node_role, const char *gw_env, const char *comps[][2], size_t max)
{
	static const char *const cp[] = { "publisher", "portal", "keymanager", "trafficmanager", NULL };
	size_t n = 0;

#define PKI_TAKE(c, e) do { if (n < max) { comps[n][0] = (c); comps[n++][1] = (e); } } while (0)
	if (strcmp(node_role, "gateway-internal") == 0 || strcmp(node_role, "gateway-external") == 0) {
		int ext = strcmp(node_role, "gateway-external") == 0;
		PKI_TAKE("node", "-");
		PKI_TAKE(ext ? "gw-external" : "gw-internal", gw_env ? gw_env : ext ? "External" : "Internal");
		return n;
	}
	for (size_t i = 0; cp[i] != NULL; i++) {
		if (strcmp(node_role, cp[i]) == 0) {
			PKI_TAKE("node", "-");
			PKI_TAKE(cp[i], "-");
			return n;
		}
	}
	if (strcmp(node_role, "control-plane") != 0 && strcmp(node_role, "all-in-one") != 0)
		return 0;
	PKI_TAKE("node", "-");
	for (size_t i = 0; cp[i] != NULL; i++)
		PKI_TAKE(cp[i], "-");
	if (strcmp(node_role, "all-in-one") == 0) {
		PKI_TAKE("gw-internal", "Internal");
		PKI_TAKE("gw-external", "External");
	}
#undef PKI_TAKE
	return n;
}

char *
gh_enrol_token_new(const char *fp_hex)
{
	unsigned char fp[32];
	char *a = NULL, *b = NULL, *out = NULL;

	if (fp_hex == NULL || strlen(fp_hex) != 64)
		return NULL;
	for (int i = 0; i < 32; i++) {
		unsigned v;
		if (sscanf(fp_hex + 2 * i, "%2x", &v) != 1)
			return NULL;
		fp[i] = (unsigned char)v;
	}
	a = gh_b64url_encode(fp, sizeof(fp));
	b = gh_random_b64url(32);
	if (a != NULL && b != NULL && asprintf(&out, GH_ENROL_TOKEN_PREFIX "%s.%s", a, b) < 0)
		out = NULL;
	free(a);
	if (b != NULL)
		gh_free_secret(b);
	return out;
}

int
gh_enrol_token_parse(const char *token, char fp_hex[65])
{
	const size_t pl = strlen(GH_ENROL_TOKEN_PREFIX);
	unsigned char fp[32];
	size_t n = 0;

	if (token == NULL || strlen(token) != GH_ENROL_TOKEN_LEN ||
	    strncmp(token, GH_ENROL_TOKEN_PREFIX, pl) != 0 || token[pl + 43] != '.')
		return -1;
	for (size_t i = pl; i < GH_ENROL_TOKEN_LEN; i++) {
		char ch = token[i];
		if (i == pl + 43)
			continue;
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '_'))
			return -1;
	}
	if (gh_b64url_decode_buf(token + pl, 43, fp, sizeof(fp), &n) != 0 || n != 32)
		return -1;
	gh_hex_encode(fp, sizeof(fp), fp_hex);
	return 0;
}

int
gh_secretbox_seal(const unsigned char key[GH_SECRETBOX_KEYLEN],
    const void *aad, size_t aadlen, const void *pt, size_t len,
    unsigned char **out, size_t *outlen)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	unsigned char *o = malloc(1 + 12 + len + 16);
	int n, rc = -1;

	if (c == NULL || o == NULL || len > 0x7fffffff)
		goto out;
	o[0] = 1;
	if (RAND_bytes(o + 1, 12) != 1 ||
	    EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, o + 1) != 1 ||
	    (aadlen > 0 && EVP_EncryptUpdate(c, NULL, &n, aad, (int)aadlen) != 1) ||
	    EVP_EncryptUpdate(c, o + 13, &n, pt, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(c, o + 13 + n, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, o + 13 + len) != 1)
		goto out;
	*out = o;
	*outlen = 1 + 12 + len + 16;
	o = NULL;
	rc = 0;
out:
	free(o);
	EVP_CIPHER_CTX_free(c);
	return rc;
}

int
gh_secretbox_open(const unsigned char key[GH_SECRETBOX_KEYLEN],
    const void *aad, size_t aadlen, const unsigned char *in, size_t inlen,
    unsigned char **pt, size_t *ptlen)
{
	EVP_CIPHER_CTX *c;
	unsigned char *p;
	size_t len;
	int n, rc = -1;

	if (inlen < 1 + 12 + 16 || in[0] != 1 || inlen > 0x7fffffff)
		return -1;
	len = inlen - 29;
	c = EVP_CIPHER_CTX_new();
	p = malloc(len + 1);
	if (c == NULL || p == NULL)
		goto out;
	if (EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, in + 1) != 1 ||
	    (aadlen > 0 && EVP_DecryptUpdate(c, NULL, &n, aad, (int)aadlen) != 1) ||
	    EVP_DecryptUpdate(c, p, &n, in + 13, (int)len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, (void *)(in + 13 + len)) != 1 ||
	    EVP_DecryptFinal_ex(c, p + n, &n) != 1) {
		explicit_bzero(p, len);
		goto out;
	}
	p[len] = '\0';
	*pt = p;
	*ptlen = len;
	p = NULL;
	rc = 0;
out:
	free(p);
	EVP_CIPHER_CTX_free(c);
	return rc;
}
