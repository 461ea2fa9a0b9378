/*
 * Users as the OAuth grants see them: WSO2-style names split into user and
 * tenant (the tenant is the part after the last '@' when it is a known
 * active tenant), password checks against LDAP behind the user-name and
 * address lock-outs, and role lists.  LDAP is reached through the worker
 * thread's own connection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keymanager/km.h"

static int
tenant_known(const char *domain, void *arg)
{
	struct gh_pg *db = arg;
	const char *p[1] = { domain };
	int64_t n = 0;

	if (gh_pg_query_int64(db, "SELECT count(*) FROM gh_tenants WHERE domain = $1 AND status = 'active'",
	    1, p, &n) != 0)
		return 0;
	return n > 0;
}

int
km_user_split(struct gh_pg *db, const char *name, char **user, char **tenant)
{
	size_t ulen = 0;
	const char *t = NULL;

	*user = *tenant = NULL;
	if (gh_ldap_name_split(name, tenant_known, db, &ulen, &t) != 0)
		return -1;
	*user = strndup(name, ulen);
	*tenant = strdup(t);
	if (*user == NULL || *tenant == NULL) {
		free(*user);
		free(*tenant);
		*user = *tenant = NULL;
		return -1;
	}
	return 0;
}

int
km_user_lock_key(const char *tenant, const char *user, char *key, size_t len)
{
	size_t n;

	snprintf(key, len, "%s/", tenant);
	n = strlen(key);
	for (const unsigned char *p = (const unsigned char *)user; *p != '\0'; p++) {
		if (*p <= 0x20 || *p >= 0x7f)
			return -1;
		if (n + 1 < len)
			key[n++] = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
	}
	key[n] = '\0';
	return 0;
}

int
km_user_login(struct gh_call *c, struct gh_pg *db, const char *tenant, const char *user,
    const char *password)
{
	struct gh_ldap *ld;
	char key[600];
	int rc;

	/*
	 * LDAP matches uid without regard to case or insignificant spaces (and
	 * folds compatibility forms of non-ASCII letters): one lock key per
	 * account, and names it could read as another never reach it.
	 */
	if (km_user_lock_key(tenant, user, key, sizeof(key)) != 0) {
		KM_COUNT(login_failures);
		km_lock_fail(db, KM_LOCK_ADDR, c->client_addr);
		km_audit(db, c, user, tenant, "user.login", user, "failure", NULL);
		return 1;
	}
	if (km_lock_check_fresh(db, KM_LOCK_USER, key) == 1 ||
	    km_lock_check_fresh(db, KM_LOCK_ADDR, c->client_addr) == 1) {
		KM_COUNT(lockouts);
		km_audit(db, c, user, tenant, "user.login", user, "locked", NULL);
		return 2;
	}
	ld = km_ldap();
	if (ld == NULL)
		return -1;
	rc = gh_ldap_user_authenticate(ld, tenant, user, strlen(user), password,
	    password ? strlen(password) : 0);
	if (rc == GH_LDAP_OK) {
		KM_COUNT(logins);
		km_lock_reset(db, KM_LOCK_USER, key);
		km_audit(db, c, user, tenant, "user.login", user, "success", NULL);
		return 0;
	}
	if (rc == GH_LDAP_ERROR)
		return -1;
	KM_COUNT(login_failures);
	km_lock_fail(db, KM_LOCK_USER, key);
	km_lock_fail(db, KM_LOCK_ADDR, c->client_addr);
	km_audit(db, c, user, tenant, "user.login", user, "failure", NULL);
	return 1;
}

char **
km_user_roles(const char *tenant, const char *user)
{
	struct gh_ldap *ld = km_ldap();
	char **roles = NULL;
	size_t n = 0;

	if (ld == NULL || gh_ldap_user_roles(ld, tenant, user, &roles, &n) != GH_LDAP_OK)
		return NULL;
	return roles;
}
