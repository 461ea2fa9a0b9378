/*
 * Unit tests of core/pki.c's enrolment part: the self-describing token
 * (ghe1.FP.SECRET) round trip and its strict parse, the components per
 * node role, certificate requests made and checked (a tampered request
 * and weak keys refused), and a loaded CA signing a request into a
 * certificate that verifies and names gatehouse://ROLE/ENV/NODE.
 * Usage: test_pki_enrol DIR.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "core/gh_codec.h"
#include "core/gh_pki.h"
#include "core/gh_tls.h"
#include "th.h"

static X509 *
pem_cert(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	return x;
}

/* A public-key PEM of a new RSA key of bits (malloc'd). */
static char *
rsa_pub_pem(int bits)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out = NULL;
	long len;

	if (k != NULL && b != NULL && PEM_write_bio_PUBKEY(b, k)) {
		len = BIO_get_mem_data(b, &data);
		out = strndup(data, (size_t)len);
	}
	BIO_free(b);
	EVP_PKEY_free(k);
	return out;
}

int
main(int argc, char **argv)
{
	char ca_key[512], ca_crt[512], o_key[512], o_crt[512], fp[65], fp2[65], err[256];
	const char *dir = argc > 1 ? argv[1] : "/tmp";
	const char *names[] = { "gw1.example.net", "10.0.0.7", NULL };
	const char *comps[8][2];
	struct gh_pki_ca *ca;
	char *tok, *key = NULL, *csr = NULL, *cert, *pub;
	size_t n;

	snprintf(ca_key, sizeof(ca_key), "%s/enrol-ca.key", dir);
	snprintf(ca_crt, sizeof(ca_crt), "%s/enrol-ca.crt", dir);
	snprintf(o_key, sizeof(o_key), "%s/enrol-other.key", dir);
	snprintf(o_crt, sizeof(o_crt), "%s/enrol-other.crt", dir);
	TH_CHECK(gh_pki_ca_create("CA", 10, ca_key, ca_crt, err, sizeof(err)) == 0);
	TH_CHECK(gh_pki_ca_create("Other", 10, o_key, o_crt, err, sizeof(err)) == 0);
	TH_CHECK(gh_pki_fingerprint(ca_crt, fp) == 0);

	TH_TEST("token");
	tok = gh_enrol_token_new(fp);
	TH_CHECK(tok != NULL && strlen(tok) == GH_ENROL_TOKEN_LEN && strncmp(tok, "ghe1.", 5) == 0);
	TH_CHECK(tok != NULL && gh_enrol_token_parse(tok, fp2) == 0 && strcmp(fp, fp2) == 0);
	{
		char *t2 = gh_enrol_token_new(fp);
		TH_CHECK(t2 != NULL && tok != NULL && strcmp(t2, tok) != 0);       /* a new secret each time */
		free(t2);
	}
	if (tok != NULL) {
		char bad[200];
		snprintf(bad, sizeof(bad), "ghe2%s", tok + 4);
		TH_CHECK(gh_enrol_token_parse(bad, fp2) == -1);
		snprintf(bad, sizeof(bad), "%s", tok);
		bad[20] = '+';
		TH_CHECK(gh_enrol_token_parse(bad, fp2) == -1);
		bad[20] = tok[20];
		bad[48] = 'x';                  /* the dot between the parts */
		TH_CHECK(gh_enrol_token_parse(bad, fp2) == -1);
		snprintf(bad, sizeof(bad), "%sA", tok);
		TH_CHECK(gh_enrol_token_parse(bad, fp2) == -1);
		bad[strlen(tok) - 1] = '\0';
		TH_CHECK(gh_enrol_token_parse(bad, fp2) == -1);
		snprintf(bad, sizeof(bad), "%s", tok);
		bad[6] = bad[6] == 'A' ? 'B' : 'A';
		TH_CHECK(gh_enrol_token_parse(bad, fp2) == 0 && strcmp(fp, fp2) != 0);
	}
	TH_CHECK(gh_enrol_token_parse(NULL, fp2) == -1 && gh_enrol_token_parse("", fp2) == -1);
	TH_CHECK(gh_enrol_token_new("abc") == NULL);
	free(tok);

	TH_TEST("components per role");
	n = gh_pki_role_components("gateway-external", "DMZ2", comps, 8);
	TH_CHECK(n == 2 && strcmp(comps[0][0], "node") == 0 && strcmp(comps[1][0], "gw-external") == 0 &&
	    strcmp(comps[1][1], "DMZ2") == 0);
	n = gh_pki_role_components("gateway-internal", NULL, comps, 8);
	TH_CHECK(n == 2 && strcmp(comps[1][0], "gw-internal") == 0 && strcmp(comps[1][1], "Internal") == 0);
	n = gh_pki_role_components("control-plane", NULL, comps, 8);
	TH_CHECK_EQ_INT(n, 5);
	for (size_t i = 0; i < n; i++)
		TH_CHECK(strncmp(comps[i][0], "gw-", 3) != 0 && strcmp(comps[i][1], "-") == 0);
	TH_CHECK_EQ_INT(gh_pki_role_components("all-in-one", NULL, comps, 8), 7);
	n = gh_pki_role_components("keymanager", NULL, comps, 8);
	TH_CHECK(n == 2 && strcmp(comps[1][0], "keymanager") == 0);
	TH_CHECK_EQ_INT(gh_pki_role_components("bishop", NULL, comps, 8), 0);
	TH_CHECK_EQ_INT(gh_pki_role_components("all-in-one", NULL, comps, 3), 3);

	TH_TEST("certificate requests");
	TH_CHECK_MSG(gh_pki_csr_make("gw-external.n1", &key, &csr, err, sizeof(err)) == 0, "%s", err);
	TH_CHECK(key != NULL && strstr(key, "PRIVATE KEY") != NULL);
	TH_CHECK(csr != NULL && gh_pki_request_check(csr, err, sizeof(err)) == 0);
	if (csr != NULL) {
		char *t = strdup(csr);
		char *body = strchr(t, '\n') + 1;
		body[40] = body[40] == 'A' ? 'B' : 'A';         /* the signed part changes */
		TH_CHECK(gh_pki_request_check(t, err, sizeof(err)) == -1);
		free(t);
	}
	TH_CHECK(gh_pki_request_check("hello", err, sizeof(err)) == -1);
	TH_CHECK(gh_pki_request_check(NULL, err, sizeof(err)) == -1);
	pub = rsa_pub_pem(1024);
	TH_CHECK(pub != NULL && gh_pki_request_check(pub, err, sizeof(err)) == -1);
	free(pub);
	pub = rsa_pub_pem(2048);
	TH_CHECK(pub != NULL && gh_pki_request_check(pub, err, sizeof(err)) == 0);

	TH_TEST("a loaded CA signs");
	TH_CHECK(gh_pki_ca_load(o_key, ca_crt, err, sizeof(err)) == NULL);     /* key and certificate differ */
	ca = gh_pki_ca_load(ca_key, ca_crt, err, sizeof(err));
	TH_CHECK_MSG(ca != NULL, "%s", err);
	if (ca != NULL) {
		struct gh_peer_id id;
		X509 *x, *cax = pem_cert(gh_pki_ca_pem(ca));

		TH_CHECK_EQ_STR(gh_pki_ca_fingerprint(ca), fp);
		TH_CHECK(gh_pki_fingerprint_pem(gh_pki_ca_pem(ca), fp2) == 0 && strcmp(fp, fp2) == 0);
		cert = gh_pki_ca_sign(ca, csr, "gw-external", "External", "n1", names, 30, err, sizeof(err));
		TH_CHECK_MSG(cert != NULL, "%s", err);
		x = cert ? pem_cert(cert) : NULL;
		TH_CHECK(x != NULL && cax != NULL && X509_verify(x, X509_get0_pubkey(cax)) == 1);
		TH_CHECK(x != NULL && gh_tls_peer_id_from_cert(x, &id) == 0 && strcmp(id.role, "gw-external") == 0 &&
		    strcmp(id.env, "External") == 0 && strcmp(id.node, "n1") == 0);
		TH_CHECK(x != NULL && X509_check_host(x, "gw1.example.net", 0, 0, NULL) == 1 &&
		    X509_check_ip_asc(x, "10.0.0.7", 0) == 1);
		{
			BIO *b = BIO_new_mem_buf(key, -1);
			EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
			TH_CHECK(x != NULL && k != NULL && X509_check_private_key(x, k) == 1);
			EVP_PKEY_free(k);
			BIO_free(b);
		}
		X509_free(x);
		free(cert);
		cert = gh_pki_ca_sign(ca, pub, "publisher", "-", "n2", NULL, 30, err, sizeof(err));
		TH_CHECK(cert != NULL);
		free(cert);
		TH_CHECK(gh_pki_ca_sign(ca, csr, "gw-external", "External", "bad/node", NULL, 30, err, sizeof(err)) == NULL);
		TH_CHECK(gh_pki_ca_sign(ca, "junk", "publisher", "-", "n3", NULL, 30, err, sizeof(err)) == NULL);
		X509_free(cax);
		gh_pki_ca_free(ca);
	}
	free(pub);
	if (key != NULL)
		gh_free_secret(key);
	free(csr);
	TH_END();
}
