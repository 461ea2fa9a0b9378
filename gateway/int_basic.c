/*
 * Basic authentication against LDAP, internal zone only.  The user name
 * gives the tenant (DESIGN.md: the part after the last '@' when it is a
 * known, active tenant, else the whole name is a carbon.super user).  A
 * small pool of threads, each with its own LDAP handle, binds as the
 * user and reads its groups (the roles); the result goes back to the
 * request's worker through its completion queue and resumes the request.
 * Each worker caches successes for basic_cache, keyed by the user name,
 * holding a SHA-256 of the password salted per process (compared with
 * CRYPTO_memcmp); failures are not cached but counted by the limiter.
 */
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gh_codec.h"
#include "core/gh_log.h"
#include "gateway/auth.h"
#include "gateway/int_basic.h"
#include "ldap/gh_ldap.h"

#define NTHREADS 2
#define QUEUE_MAX 1024
#define CACHE_SLOTS 512                 /* per worker, a power of two */

struct basic_job {
	struct basic_job *next;
	struct gw_req *r;
	struct gw_wq *wq;
	char *name;                     /* as given: the caller (sub) */
	char *user;                     /* the user part */
	char *tenant;
	char *password;
	size_t plen;
	unsigned char digest[32];
	int rc;                         /* gh_ldap result */
	char **roles;
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct basic_job *head, *tail;
	size_t queued;
	int stop, nthreads, enabled;
	pthread_t th[NTHREADS];
	struct gh_ldap *ld[NTHREADS];
	unsigned char salt[32];
	int64_t keep_ms;
} pool = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0, 0, 0, 0, { 0 }, { 0 },
	{ 0 }, 0 };

/* ---- the per-worker cache ---- */

struct bc_entry {
	char *name, *tenant;
	char **roles;
	unsigned char digest[32];
	int64_t until_ms;
};

struct basic_cache {
	struct bc_entry e[CACHE_SLOTS];
};

static void
strv_free(char **v)
{
	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

static char **
strv_dup(char *const *v)
{
	size_t n = 0;
	char **out;

	while (v != NULL && v[n] != NULL)
		n++;
	out = calloc(n + 1, sizeof(*out));
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if ((out[i] = strdup(v[i])) == NULL) {
			strv_free(out);
			return NULL;
		}
	return out;
}

static void
entry_clear(struct bc_entry *e)
{
	free(e->name);
	free(e->tenant);
	strv_free(e->roles);
	memset(e, 0, sizeof(*e));
}

static void
cache_free(void *arg)
{
	struct basic_cache *c = arg;

	for (size_t i = 0; i < CACHE_SLOTS; i++)
		entry_clear(&c->e[i]);
	free(c);
}

static struct basic_cache *
worker_cache(struct gw_worker *w)
{
	struct gw_authn_worker *aw = w->authn_ctx;

	if (aw == NULL)
		return NULL;
	if (aw->basic == NULL) {
		aw->basic = calloc(1, sizeof(struct basic_cache));
		aw->basic_free = cache_free;
	}
	return aw->basic;
}

static size_t
slot_of(const char *name)
{
	uint64_t h = 1469598103934665603ULL;

	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return (size_t)(h & (CACHE_SLOTS - 1));
}

/* SHA-256(salt || name || NUL || password). */
static int
digest(const char *name, const char *password, size_t plen, unsigned char out[32])
{
	size_t nlen = strlen(name), len = sizeof(pool.salt) + nlen + 1 + plen;
	unsigned char *buf = malloc(len);
	int rc;

	if (buf == NULL)
		return -1;
	memcpy(buf, pool.salt, sizeof(pool.salt));
	memcpy(buf + sizeof(pool.salt), name, nlen + 1);
	memcpy(buf + sizeof(pool.salt) + nlen + 1, password, plen);
	rc = gh_sha256(buf, len, out);
	gh_free_secret_n(buf, len);
	return rc;
}

/* ---- the bind threads ---- */

static void
job_free(struct basic_job *j)
{
	free(j->name);
	free(j->user);
	free(j->tenant);
	if (j->password != NULL)
		gh_free_secret_n(j->password, j->plen);
	strv_free(j->roles);
	explicit_bzero(j->digest, sizeof(j->digest));
	free(j);
}

/* On the request's worker: the bind's result. */
static void
job_done(void *arg)
{
	struct basic_job *j = arg;
	struct gw_req *r = j->r;
	struct basic_cache *c;
	struct bc_entry *e;
	enum gw_rc rc;

	r->phase_ctx = NULL;
	if (j->rc == GH_LDAP_BAD_CREDENTIALS || j->rc == GH_LDAP_NOT_FOUND) {
		rc = gw_authn_refuse(r, 1, "Wrong user name or password");
		goto out;
	}
	if (j->rc != GH_LDAP_OK) {
		rc = gw_authn_unavailable(r, "The user store could not be reached to check the credentials");
		goto out;
	}
	gw_principal_reset(&r->who);
	r->who.kind = 4;
	snprintf(r->who.sub, sizeof(r->who.sub), "%s", j->name);
	snprintf(r->who.tenant, sizeof(r->who.tenant), "%s", j->tenant);
	r->who.scope = strdup("");
	r->who.roles = strv_dup(j->roles);
	if (r->who.scope == NULL || r->who.roles == NULL) {
		rc = GW_ERROR;
		goto out;
	}
	if (pool.keep_ms > 0 && (c = worker_cache(r->w)) != NULL) {
		e = &c->e[slot_of(j->name)];
		entry_clear(e);
		e->name = strdup(j->name);
		e->tenant = strdup(j->tenant);
		e->roles = j->roles;
		j->roles = NULL;
		memcpy(e->digest, j->digest, sizeof(e->digest));
		e->until_ms = gw_auth_now_ms() + pool.keep_ms;
		if (e->name == NULL || e->tenant == NULL)
			entry_clear(e);
	}
	rc = gw_authn_accept(r);
out:
	job_free(j);
	gw_pipeline_resume(r, rc);
}

static void *
bind_thread(void *arg)
{
	struct gh_ldap *ld = arg;

	for (;;) {
		struct basic_job *j;
		size_t n = 0;

		pthread_mutex_lock(&pool.mu);
		while (pool.head == NULL && !pool.stop)
			pthread_cond_wait(&pool.cv, &pool.mu);
		j = pool.head;
		if (j == NULL) {
			pthread_mutex_unlock(&pool.mu);
			break;
		}
		pool.head = j->next;
		if (pool.head == NULL)
			pool.tail = NULL;
		pool.queued--;
		pthread_mutex_unlock(&pool.mu);
		if (pool.stop) {
			j->rc = GH_LDAP_ERROR;
		} else {
			j->rc = gh_ldap_user_authenticate(ld, j->tenant, j->user, strlen(j->user), j->password, j->plen);
			if (j->rc == GH_LDAP_OK && gh_ldap_user_roles(ld, j->tenant, j->user, &j->roles, &n) != GH_LDAP_OK)
				j->rc = GH_LDAP_ERROR;
		}
		gh_free_secret_n(j->password, j->plen);
		j->password = NULL;
		if (gw_wq_post(j->wq, job_done, j) != 0)
			job_free(j);    /* the worker is gone (shutdown) */
	}
	return NULL;
}

static int
is_tenant(const char *domain, void *arg)
{
	return gw_store_tenant_active(arg, domain);
}

enum gw_rc
gw_zone_basic(struct gw_req *r, const char *authorization)
{
	struct basic_cache *c;
	struct bc_entry *e;
	struct basic_job *j = NULL;
	char *name = NULL, *password = NULL;
	const char *tenant;
	unsigned char d[32];
	size_t ulen, plen;
	enum gw_rc rc;

	if (strlen(authorization) > GH_BASIC_MAX ||
	    gh_http_basic_parse(authorization, &name, &password) != 0)
		return gw_authn_refuse(r, 1, "The Authorization header is malformed");
	plen = strlen(password);
	if (plen == 0 || strlen(name) >= sizeof(r->who.sub) ||
	    gh_ldap_name_split(name, is_tenant, r->store, &ulen, &tenant) != 0) {
		rc = gw_authn_refuse(r, 1, "Wrong user name or password");
		goto out;
	}
	if (digest(name, password, plen, d) != 0) {
		rc = GW_ERROR;
		goto out;
	}
	c = pool.keep_ms > 0 ? worker_cache(r->w) : NULL;
	e = c != NULL ? &c->e[slot_of(name)] : NULL;
	if (e != NULL && e->name != NULL && strcmp(e->name, name) == 0 && gw_auth_now_ms() < e->until_ms &&
	    CRYPTO_memcmp(e->digest, d, sizeof(d)) == 0) {
		gw_principal_reset(&r->who);
		r->who.kind = 4;
		snprintf(r->who.sub, sizeof(r->who.sub), "%s", name);
		snprintf(r->who.tenant, sizeof(r->who.tenant), "%s", e->tenant);
		r->who.scope = strdup("");
		r->who.roles = strv_dup(e->roles);
		rc = r->who.scope != NULL && r->who.roles != NULL ? gw_authn_accept(r) : GW_ERROR;
		goto out;
	}
	if ((rc = gw_authn_limit(r)) != GW_OK)
		goto out;
	if (!pool.enabled) {
		rc = gw_authn_unavailable(r, "Basic authentication is not available: no user store is configured");
		goto out;
	}
	j = calloc(1, sizeof(*j));
	if (j == NULL || (j->name = strdup(name)) == NULL || (j->user = strndup(name, ulen)) == NULL ||
	    (j->tenant = strdup(tenant)) == NULL || (j->wq = gw_wq_get(r->w)) == NULL) {
		rc = GW_ERROR;
		goto out;
	}
	j->r = r;
	j->password = password;
	j->plen = plen;
	password = NULL;
	memcpy(j->digest, d, sizeof(d));
	pthread_mutex_lock(&pool.mu);
	if (pool.queued >= QUEUE_MAX || pool.stop) {
		pthread_mutex_unlock(&pool.mu);
		rc = gw_authn_unavailable(r, "The user store is busy");
		goto out;
	}
	if (pool.tail != NULL)
		pool.tail->next = j;
	else
		pool.head = j;
	pool.tail = j;
	pool.queued++;
	pthread_cond_signal(&pool.cv);
	pthread_mutex_unlock(&pool.mu);
	r->phase_ctx = j;
	j = NULL;
	rc = GW_AGAIN;
out:
	if (j != NULL) {
		if (j->wq != NULL)
			gw_wq_put(j->wq);
		job_free(j);
	}
	explicit_bzero(d, sizeof(d));
	free(name);
	if (password != NULL)
		gh_free_secret(password);
	return rc;
}

int
gw_basic_init(const struct gh_settings *cfg)
{
	struct gh_ldap_config lc;

	pool.keep_ms = gh_settings_int(cfg, "gw-internal.basic_cache");
	gh_ldap_config_from_settings(cfg, &lc);
	if (gh_random_bytes(pool.salt, sizeof(pool.salt)) != 0) {
		fprintf(stderr, "gatehouse-gw-internal: no random bytes for the Basic cache's salt\n");
		return -1;
	}
	for (int i = 0; i < NTHREADS; i++) {
		pool.ld[i] = gh_ldap_new(&lc);
		if (pool.ld[i] == NULL) {
			gh_log_warn("basic_disabled", NULL, "Basic authentication is off: the [ldap] settings are "
			    "incomplete (ldap.uri, ldap.base_dn, and ldap.bind_password for ldap.bind_dn)");
			gw_basic_shutdown();
			return 0;
		}
	}
	for (int i = 0; i < NTHREADS; i++) {
		if (pthread_create(&pool.th[i], NULL, bind_thread, pool.ld[i]) != 0) {
			fprintf(stderr, "gatehouse-gw-internal: cannot start the LDAP threads\n");
			gw_basic_shutdown();
			return -1;
		}
		pool.nthreads++;
	}
	pool.enabled = 1;
	return 0;
}

void
gw_basic_shutdown(void)
{
	pthread_mutex_lock(&pool.mu);
	pool.stop = 1;
	pool.enabled = 0;
	pthread_cond_broadcast(&pool.cv);
	pthread_mutex_unlock(&pool.mu);
	for (int i = 0; i < pool.nthreads; i++)
		pthread_join(pool.th[i], NULL);
	pool.nthreads = 0;
	for (int i = 0; i < NTHREADS; i++) {
		gh_ldap_free(pool.ld[i]);
		pool.ld[i] = NULL;
	}
}
