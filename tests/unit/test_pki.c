/*
 * Unit tests of core/pki.c: a CA and component certificates that verify
 * under OpenSSL with the gatehouse:// name, keys written 0600 and never
 * overwritten, and the AES-GCM secret box refusing any tampering.
 * Usage: test_pki DIR (the .t wrapper also checks the files with the
 * openssl command).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "core/gh_pki.h"
#include "th.h"

static X509 *
load_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

	if (f)
		fclose(f);
	return x;
}

static int
verifies(const char *ca, const char *leaf)
{
	X509 *cax = load_cert(ca), *x = load_cert(leaf);
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int ok = 0;

	if (cax && x && st && ctx && X509_STORE_add_cert(st, cax) == 1 &&
	    X509_STORE_CTX_init(ctx, st, x, NULL) == 1)
		ok = X509_verify_cert(ctx) == 1;
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	X509_free(cax);
	X509_free(x);
	return ok;
}

int
main(int argc, char **argv)
{
	char ca_key[512], ca_crt[512], k[512], c[512], k2[512], c2[512], fp[65], err[256];
	const char *dir = argc > 1 ? argv[1] : "/tmp";
	const char *names[] = { "localhost", "127.0.0.1", NULL };
	struct stat st;
	unsigned char key[32] = { 1, 2, 3 }, *box, *pt;
	size_t boxlen, ptlen;

	snprintf(ca_key, sizeof(ca_key), "%s/ca.key", dir);
	snprintf(ca_crt, sizeof(ca_crt), "%s/ca.crt", dir);
	snprintf(k, sizeof(k), "%s/km.key", dir);
	snprintf(c, sizeof(c), "%s/km.crt", dir);
	snprintf(k2, sizeof(k2), "%s/other-ca.key", dir);
	snprintf(c2, sizeof(c2), "%s/other-ca.crt", dir);

	TH_TEST("CA");
	TH_CHECK_MSG(gh_pki_ca_create("Gatehouse test CA", 3650, ca_key, ca_crt, err, sizeof(err)) == 0, "%s", err);
	TH_CHECK(stat(ca_key, &st) == 0 && (st.st_mode & 0777) == 0600);
	TH_CHECK(gh_pki_ca_create("again", 10, ca_key, ca_crt, err, sizeof(err)) == -1);
	TH_CHECK(gh_pki_fingerprint(ca_crt, fp) == 0 && strlen(fp) == 64);

	TH_TEST("component certificate");
	TH_CHECK_MSG(gh_pki_issue(ca_key, ca_crt, "keymanager", "-", "node1", names, 825, k, c, err, sizeof(err)) == 0, "%s", err);
	TH_CHECK(stat(k, &st) == 0 && (st.st_mode & 0777) == 0600);
	TH_CHECK(verifies(ca_crt, c));
	{
		X509 *x = load_cert(c);
		GENERAL_NAMES *gens = x ? X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL) : NULL;
		int uri = 0, dns = 0, ip = 0;
		for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
			GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
			if (g->type == GEN_URI && strcmp((const char *)ASN1_STRING_get0_data(g->d.uniformResourceIdentifier),
			    "gatehouse://keymanager/-/node1") == 0)
				uri = 1;
			if (g->type == GEN_DNS)
				dns = 1;
			if (g->type == GEN_IPADD)
				ip = 1;
		}
		TH_CHECK(uri && dns && ip);
		TH_CHECK(X509_check_host(x, "localhost", 0, 0, NULL) == 1);
		TH_CHECK(X509_check_ip_asc(x, "127.0.0.1", 0) == 1);
		GENERAL_NAMES_free(gens);
		X509_free(x);
	}
	TH_CHECK(gh_pki_issue(ca_key, ca_crt, "bad/role", "-", "n", NULL, 1, k2, c2, err, sizeof(err)) == -1);
	TH_CHECK(gh_pki_issue(ca_key, ca_crt, "portal", "-", "n", NULL, 1, k, c, err, sizeof(err)) == -1); /* key exists */

	TH_TEST("a foreign CA's certificate does not verify");
	TH_CHECK(gh_pki_ca_create("Other CA", 10, k2, c2, err, sizeof(err)) == 0);
	TH_CHECK(!verifies(c2, c));

	TH_TEST("secret box");
	TH_CHECK(gh_secretbox_seal(key, "kid1", 4, "private key", 11, &box, &boxlen) == 0);
	TH_CHECK(gh_secretbox_open(key, "kid1", 4, box, boxlen, &pt, &ptlen) == 0 && ptlen == 11 &&
	    memcmp(pt, "private key", 11) == 0);
	free(pt);
	TH_CHECK(gh_secretbox_open(key, "kid2", 4, box, boxlen, &pt, &ptlen) == -1);
	box[boxlen - 1] ^= 1;
	TH_CHECK(gh_secretbox_open(key, "kid1", 4, box, boxlen, &pt, &ptlen) == -1);
	box[boxlen - 1] ^= 1;
	key[0] ^= 1;
	TH_CHECK(gh_secretbox_open(key, "kid1", 4, box, boxlen, &pt, &ptlen) == -1);
	TH_CHECK(gh_secretbox_open(key, "kid1", 4, box, 10, &pt, &ptlen) == -1);
	free(box);
	TH_END();
}
