/*
 * /internal/km/v1/users: the only writer of LDAP besides `gatehouse init`.
 * Sign-up (portal, publisher) makes a subscriber of a tenant when the
 * tenant allows it: the super tenant unless its settings say selfSignUp
 * false, any other tenant only when they say selfSignUp true (new tenants
 * start without the setting, so an admin opts in).  Tenant creation
 * (publisher) makes the gh_tenants row, the LDAP subtree with the four
 * default groups and the tenant admin, and a tenant.created event; it is
 * refused while super-tenant user names end in "@domain" (they would change
 * tenant), and undoes its LDAP work when a later step fails.  Password
 * change (portal, publisher; the old password checked with the lock-outs),
 * admin reset (publisher; also lifts the user's lock-out) and role
 * membership (publisher; existing groups only).  Passwords: 8 to 256 bytes.
 */
#include <ctype.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gh_codec.h"
#include "core/gh_json.h"
#include "core/gh_log.h"
#include "keymanager/internal.h"

#define PASSWORD_MIN 8
#define PASSWORD_MAX 256
#define ROLES_MAX 64

static const char *const default_groups[] = { "admin", "creator", "publisher", "subscriber", NULL };

/* 1 when p is an acceptable new password. */
static int
password_ok(const char *p)
{
	size_t len = p ? strlen(p) : 0;

	return len >= PASSWORD_MIN && len <= PASSWORD_MAX;
}

static void
reply_weak_password(struct gh_call *c, const char *member)
{
	char why[160];

	snprintf(why, sizeof(why), "%s must be %d to %d characters", member, PASSWORD_MIN, PASSWORD_MAX);
	gh_reply_error(c, 400, "Bad Request", why);
}

static void
reply_ldap_down(struct gh_call *c)
{
	gh_reply_error(c, 503, "Service Unavailable", "The user store is unavailable");
}

/*
 * The user name member of o in tenant: a copy with a trailing "@tenant"
 * removed, checked with km_in_user_ok.  NULL after replying 400.
 */
static char *
user_member(struct gh_call *c, struct json_object *o, const char *key, const char *tenant)
{
	const char *s = NULL;
	size_t len, tl = strlen(tenant);
	char *u, why[160];

	if (gh_body_str(o, key, &s) != 0) {
		snprintf(why, sizeof(why), "%s (a string) is required", key);
		gh_reply_error(c, 400, "Bad Request", why);
		return NULL;
	}
	len = strlen(s);
	if (len > tl + 1 && s[len - tl - 1] == '@' && strcmp(s + len - tl, tenant) == 0)
		len -= tl + 1;
	u = strndup(s, len);
	if (u == NULL || !km_in_user_ok(u)) {
		free(u);
		snprintf(why, sizeof(why), "%s must be 1 to 100 letters, digits, '.', '_', '@', '+' or '-', "
		    "starting with a letter or digit", key);
		gh_reply_error(c, 400, "Bad Request", why);
		return NULL;
	}
	return u;
}

/* The tenant member: an active tenant.  0 with *tenant borrowed from o; -1 after replying. */
static int
tenant_member(struct gh_call *c, struct gh_pg *db, struct json_object *o, const char **tenant)
{
	int x;

	if (gh_body_str(o, "tenant", tenant) != 0 || !gh_ldap_tenant_valid(*tenant)) {
		gh_reply_error(c, 400, "Bad Request", "tenant (a tenant domain) is required");
		return -1;
	}
	x = km_in_tenant_active(db, *tenant);
	if (x < 0) {
		gh_reply_error(c, 500, "Internal Server Error", "Database unavailable");
		return -1;
	}
	if (x == 0) {
		gh_reply_error(c, 404, "Not Found", "No active tenant has this domain");
		return -1;
	}
	return 0;
}

/* Optional profile members into info (cn, sn, mail).  0, -1 after replying 400. */
static int
profile_members(struct gh_call *c, struct json_object *o, const char *user, char **cn,
    struct gh_ldap_user_info *info)
{
	const char *first = NULL, *last = NULL, *mail = NULL;

	*cn = NULL;
	if (gh_body_str(o, "firstName", &first) < 0 || gh_body_str(o, "lastName", &last) < 0 ||
	    gh_body_str(o, "email", &mail) < 0) {
		gh_reply_error(c, 400, "Bad Request", "firstName, lastName and email must be strings");
		return -1;
	}
	if ((first != NULL && first[0] && !gh_body_text_ok(first, 100, 0)) ||
	    (last != NULL && last[0] && !gh_body_text_ok(last, 100, 0))) {
		gh_reply_error(c, 400, "Bad Request", "firstName and lastName must be at most 100 characters of text");
		return -1;
	}
	if (mail != NULL && mail[0] != '\0' && (!km_in_url_ok(mail) || strlen(mail) > 254 ||
	    strchr(mail, '@') == NULL || strchr(mail, '@') == mail || strchr(mail, '@')[1] == '\0')) {
		gh_reply_error(c, 400, "Bad Request", "email is not an e-mail address");
		return -1;
	}
	first = first && first[0] ? first : NULL;
	last = last && last[0] ? last : NULL;
	if (first != NULL && last != NULL) {
		if (asprintf(cn, "%s %s", first, last) < 0) {
			*cn = NULL;
			gh_reply_error(c, 500, "Internal Server Error", "Out of memory");
			return -1;
		}
	}
	info->cn = *cn ? *cn : first ? first : last ? last : user;
	info->sn = last ? last : user;
	info->mail = mail && mail[0] ? mail : NULL;
	return 0;
}

static void
audit_user(struct gh_call *c, struct gh_pg *db, const char *action, const char *tenant,
    const char *user, const char *outcome, struct json_object *details)
{
	char actor[160];

	km_audit(db, c, km_in_actor(c, actor, sizeof(actor)), tenant, action, user, outcome, details);
}

/* 1 when self sign-up is open in tenant, 0 not, -1 db error. */
static int
signup_open(struct gh_pg *db, const char *tenant)
{
	const char *p[1] = { tenant };
	PGresult *res = gh_pg_exec(db, "SELECT settings->>'selfSignUp' FROM gh_tenants WHERE domain = $1", 1, p);
	const char *v;
	int open;

	if (res == NULL)
		return -1;
	v = gh_pg_nrows(res) == 1 ? gh_pg_get(res, 0, 0) : NULL;
	if (strcmp(tenant, GH_LDAP_SUPER_TENANT) == 0)
		open = v == NULL || strcmp(v, "false") != 0;
	else
		open = v != NULL && strcmp(v, "true") == 0;
	PQclear(res);
	return open;
}

static void
users_signup(struct gh_call *c, struct gh_pg *db)
{
	struct json_object *o = NULL, *resp = NULL, *roles = NULL;
	struct gh_ldap_user_info info = { 0 };
	const char *tenant = NULL, *password = NULL;
	char *user = NULL, *cn = NULL, *su = NULL, *st = NULL;
	struct gh_ldap *ld;
	int x;

	if (km_in_require_role(c, "portal,publisher") != 0 || (o = gh_call_body(c, 400)) == NULL ||
	    tenant_member(c, db, o, &tenant) != 0 || (user = user_member(c, o, "username", tenant)) == NULL)
		goto out;
	if (gh_body_str(o, "password", &password) < 0 || !password_ok(password)) {
		reply_weak_password(c, "password");
		goto out;
	}
	if (profile_members(c, o, user, &cn, &info) != 0)
		goto out;
	/* A super-tenant name ending in a tenant's domain would sign in to that tenant. */
	if (strcmp(tenant, GH_LDAP_SUPER_TENANT) == 0) {
		if (km_user_split(db, user, &su, &st) != 0) {
			gh_reply_error(c, 500, "Internal Server Error", "Database unavailable");
			goto out;
		}
		if (strcmp(st, GH_LDAP_SUPER_TENANT) != 0) {
			gh_reply_error(c, 409, "Conflict", "The user name ends in the domain of another tenant");
			goto out;
		}
	}
	x = signup_open(db, tenant);
	if (x < 0) {
		gh_reply_error(c, 500, "Internal Server Error", "Database unavailable");
		goto out;
	}
	if (x == 0) {
		audit_user(c, db, "user.signup", tenant, user, "failure", NULL);
		gh_reply_error(c, 403, "Forbidden", "Self sign-up is not enabled in this tenant");
		goto out;
	}
	if ((ld = km_ldap()) == NULL) {
		reply_ldap_down(c);
		goto out;
	}
	x = gh_ldap_user_create(ld, tenant, user, &info, password, strlen(password));
	if (x == GH_LDAP_EXISTS) {
		gh_reply_error(c, 409, "Conflict", "A user with this name exists in the tenant");
		goto out;
	}
	if (x == GH_LDAP_INVALID) {
		gh_reply_error(c, 400, "Bad Request", "The directory refused the user's attributes");
		goto out;
	}
	if (x != GH_LDAP_OK) {
		reply_ldap_down(c);
		goto out;
	}
	x = gh_ldap_group_add_member(ld, tenant, "subscriber", user);
	if (x != GH_LDAP_OK) {
		char *dn = gh_ldap_user_dn(gh_ldap_base_dn(ld), tenant, user);
		if (dn != NULL)
			gh_ldap_delete(ld, dn);
		free(dn);
		gh_log_error("signup", c->request_id, "subscriber group of %s: %s", tenant, gh_ldap_rc_str(x));
		gh_reply_error(c, 500, "Internal Server Error", "The user could not be made a subscriber");
		goto out;
	}
	audit_user(c, db, "user.signup", tenant, user, "success", NULL);
	resp = json_object_new_object();
	roles = json_object_new_array();
	json_object_array_add(roles, json_object_new_string("subscriber"));
	json_object_object_add(resp, "tenant", json_object_new_string(tenant));
	json_object_object_add(resp, "username", json_object_new_string(user));
	json_object_object_add(resp, "roles", roles);
	gh_reply_json(c, 201, resp);
out:
	json_object_put(resp);
	json_object_put(o);
	free(user);
	free(cn);
	free(su);
	free(st);
}

/*
 * A new tenant's domain: lower-cased copy, 3..253 bytes of [a-z0-9.-] with
 * at least one dot, labels neither empty nor starting or ending with '-',
 * not the super tenant.  NULL when unacceptable.
 */
static char *
domain_normalize(const char *s)
{
	size_t len = s ? strlen(s) : 0;
	char *d;

	if (len < 3 || len > 253 || strchr(s, '.') == NULL)
		return NULL;
	d = strdup(s);
	if (d == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		char ch = (char)tolower((unsigned char)d[i]);
		int edge = i == 0 || i + 1 == len || d[i - 1] == '.' || s[i + 1] == '.';
		d[i] = ch;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '-') ||
		    (ch == '.' && edge) || (ch == '-' && edge))
			goto bad;
	}
	if (strcmp(d, GH_LDAP_SUPER_TENANT) == 0 || !gh_ldap_tenant_valid(d))
		goto bad;
	return d;
bad:
	free(d);
	return NULL;
}

/* Remove what tenant creation wrote to LDAP (best effort, leaves first). */
static void
tenant_ldap_undo(struct gh_ldap *ld, const char *tenant, const char *admin)
{
	const char *base = gh_ldap_base_dn(ld);
	char *dn;

	if (admin != NULL && (dn = gh_ldap_user_dn(base, tenant, admin)) != NULL) {
		gh_ldap_delete(ld, dn);
		free(dn);
	}
	for (size_t i = 0; default_groups[i] != NULL; i++)
		if ((dn = gh_ldap_group_dn(base, tenant, default_groups[i])) != NULL) {
			gh_ldap_delete(ld, dn);
			free(dn);
		}
	if ((dn = gh_ldap_users_dn(base, tenant)) != NULL) {
		gh_ldap_delete(ld, dn);
		free(dn);
	}
	if ((dn = gh_ldap_groups_dn(base, tenant)) != NULL) {
		gh_ldap_delete(ld, dn);
		free(dn);
	}
	if ((dn = gh_ldap_tenant_dn(base, tenant)) != NULL) {
		gh_ldap_delete(ld, dn);
		free(dn);
	}
}

struct tenant_tx {
	const char *domain, *admin;
};

static int
tenant_tx(struct gh_pg *db, void *arg)
{
	struct tenant_tx *t = arg;
	const char *p[1] = { t->domain };
	struct json_object *o;

	if (gh_pg_cmd(db, "INSERT INTO gh_tenants (domain, name) VALUES ($1, $1)", 1, p, NULL) != 0)
		return -1;
	o = json_object_new_object();
	json_object_object_add(o, "domain", json_object_new_string(t->domain));
	json_object_object_add(o, "admin", json_object_new_string(t->admin));
	return km_event(db, t->domain, "tenant.created", o);
}

/* 1 when some super-tenant user name ends in "@domain", 0 not, -1 error. */
static int
super_users_in_domain(struct gh_ldap *ld, const char *domain)
{
	static const char *const attrs[] = { "uid", NULL };
	struct gh_ldap_result res = { 0 };
	char *users = gh_ldap_users_dn(gh_ldap_base_dn(ld), GH_LDAP_SUPER_TENANT);
	int rc;

	if (users == NULL)
		return -1;
	rc = gh_ldap_search(ld, users, GH_LDAP_SCOPE_ONE, attrs, 1, &res,
	    "(&(objectClass=inetOrgPerson)(uid=*@%s))", domain);
	free(users);
	if (rc == GH_LDAP_NOT_FOUND)
		return 0;
	if (rc != GH_LDAP_OK)
		return -1;
	rc = res.n > 0 || res.truncated;
	gh_ldap_result_free(&res);
	return rc;
}

static void
users_tenant_create(struct gh_call *c, struct gh_pg *db)
{
	struct json_object *o = NULL, *resp = NULL, *details = NULL;
	struct gh_ldap_user_info info = { 0 };
	struct tenant_tx t = { 0 };
	const char *dom = NULL, *password = NULL, *p[1];
	char *domain = NULL, *admin = NULL, *cn = NULL, *full = NULL;
	struct gh_ldap *ld;
	int64_t n = 0;
	int x, made = 0;

	if (km_in_require_role(c, "publisher") != 0 || (o = gh_call_body(c, 400)) == NULL)
		goto out;
	if (gh_body_str(o, "domain", &dom) != 0 || (domain = domain_normalize(dom)) == NULL) {
		gh_reply_error(c, 400, "Bad Request", "domain must be a domain name such as example.com "
		    "(letters, digits, '-' and at least one '.')");
		goto out;
	}
	if ((admin = user_member(c, o, "adminUsername", domain)) == NULL)
		goto out;
	if (gh_body_str(o, "adminPassword", &password) < 0 || !password_ok(password)) {
		reply_weak_password(c, "adminPassword");
		goto out;
	}
	if (profile_members(c, o, admin, &cn, &info) != 0)
		goto out;
	p[0] = domain;
	if (gh_pg_query_int64(db, "SELECT count(*) FROM gh_tenants WHERE domain = $1", 1, p, &n) != 0) {
		gh_reply_error(c, 500, "Internal Server Error", "Database unavailable");
		goto out;
	}
	if (n > 0) {
		gh_reply_error(c, 409, "Conflict", "A tenant with this domain exists");
		goto out;
	}
	if ((ld = km_ldap()) == NULL) {
		reply_ldap_down(c);
		goto out;
	}
	x = super_users_in_domain(ld, domain);
	if (x < 0) {
		reply_ldap_down(c);
		goto out;
	}
	if (x > 0) {
		audit_user(c, db, "user.tenant.create", domain, admin, "failure", NULL);
		gh_reply_error(c, 409, "Conflict", "Users of the super tenant have names in this domain; "
		    "the tenant would take them over");
		goto out;
	}
	x = gh_ldap_tenant_create(ld, domain);
	if (x == GH_LDAP_EXISTS) {
		gh_reply_error(c, 409, "Conflict", "The directory already holds this tenant");
		goto out;
	}
	if (x != GH_LDAP_OK)
		goto ldap_failed;
	made = 1;
	for (size_t i = 0; default_groups[i] != NULL; i++)
		if ((x = gh_ldap_group_create(ld, domain, default_groups[i])) != GH_LDAP_OK)
			goto ldap_failed;
	if ((x = gh_ldap_user_create(ld, domain, admin, &info, password, strlen(password))) != GH_LDAP_OK ||
	    (x = gh_ldap_group_add_member(ld, domain, "admin", admin)) != GH_LDAP_OK)
		goto ldap_failed;
	t.domain = domain;
	t.admin = admin;
	if (gh_pg_run_tx(db, 0, tenant_tx, &t) != 0) {
		int dup = gh_pg_is(db, "23505");
		tenant_ldap_undo(ld, domain, admin);
		if (dup)
			gh_reply_error(c, 409, "Conflict", "A tenant with this domain exists");
		else
			gh_reply_error(c, 500, "Internal Server Error", "The tenant could not be recorded");
		goto out;
	}
	details = json_object_new_object();
	json_object_object_add(details, "admin", json_object_new_string(admin));
	audit_user(c, db, "user.tenant.create", domain, admin, "success", details);
	if (asprintf(&full, "%s@%s", admin, domain) < 0)
		full = NULL;
	resp = json_object_new_object();
	json_object_object_add(resp, "domain", json_object_new_string(domain));
	json_object_object_add(resp, "adminUsername", km_in_jstr(full));
	json_object_object_add(resp, "status", json_object_new_string("active"));
	gh_reply_json(c, 201, resp);
	goto out;
ldap_failed:
	gh_log_error("tenant_create", c->request_id, "LDAP for tenant %s: %s", domain, gh_ldap_rc_str(x));
	if (made)
		tenant_ldap_undo(ld, domain, admin);
	if (x == GH_LDAP_INVALID)
		gh_reply_error(c, 400, "Bad Request", "The directory refused the tenant's entries");
	else
		reply_ldap_down(c);
out:
	json_object_put(details);
	json_object_put(resp);
	json_object_put(o);
	free(domain);
	free(admin);
	free(cn);
	free(full);
}

static void
users_password_change(struct gh_call *c, struct gh_pg *db)
{
	struct json_object *o = NULL;
	const char *tenant = NULL, *old = NULL, *new = NULL;
	char *user = NULL;
	struct gh_ldap *ld;
	int x;

	if (km_in_require_role(c, "portal,publisher") != 0 || (o = gh_call_body(c, 400)) == NULL ||
	    tenant_member(c, db, o, &tenant) != 0 || (user = user_member(c, o, "username", tenant)) == NULL)
		goto out;
	if (gh_body_str(o, "oldPassword", &old) != 0 || old[0] == '\0') {
		gh_reply_error(c, 400, "Bad Request", "oldPassword is required");
		goto out;
	}
	if (gh_body_str(o, "newPassword", &new) < 0 || !password_ok(new)) {
		reply_weak_password(c, "newPassword");
		goto out;
	}
	x = km_user_login(c, db, tenant, user, old);
	if (x == 1 || x == 2) {
		gh_reply_error(c, 401, "Unauthorized", x == 1 ? "The current password is wrong" :
		    "Too many failed sign-ins: this user or address is locked out for a while");
		goto out;
	}
	if (x != 0 || (ld = km_ldap()) == NULL) {
		reply_ldap_down(c);
		goto out;
	}
	x = gh_ldap_password_set(ld, tenant, user, new, strlen(new));
	if (x != GH_LDAP_OK) {
		audit_user(c, db, "user.password.change", tenant, user, "failure", NULL);
		if (x == GH_LDAP_INVALID)
			gh_reply_error(c, 400, "Bad Request", "The directory refused the new password");
		else
			reply_ldap_down(c);
		goto out;
	}
	audit_user(c, db, "user.password.change", tenant, user, "success", NULL);
	gh_reply_raw(c, 204, NULL, NULL, 0);
out:
	json_object_put(o);
	free(user);
}

static void
users_password_reset(struct gh_call *c, struct gh_pg *db)
{
	struct json_object *o = NULL;
	const char *tenant = NULL, *new = NULL, *p[1];
	char *user = NULL, key[600];
	struct gh_ldap *ld;
	int x;

	if (km_in_require_role(c, "publisher") != 0 || (o = gh_call_body(c, 400)) == NULL ||
	    tenant_member(c, db, o, &tenant) != 0 || (user = user_member(c, o, "username", tenant)) == NULL)
		goto out;
	if (gh_body_str(o, "newPassword", &new) < 0 || !password_ok(new)) {
		reply_weak_password(c, "newPassword");
		goto out;
	}
	if ((ld = km_ldap()) == NULL) {
		reply_ldap_down(c);
		goto out;
	}
	x = gh_ldap_password_set(ld, tenant, user, new, strlen(new));
	if (x == GH_LDAP_NOT_FOUND) {
		gh_reply_error(c, 404, "Not Found", "No such user in the tenant");
		goto out;
	}
	if (x != GH_LDAP_OK) {
		if (x == GH_LDAP_INVALID)
			gh_reply_error(c, 400, "Bad Request", "The directory refused the new password");
		else
			reply_ldap_down(c);
		goto out;
	}
	/* The user-name lock-out key of user.c. */
	if (km_user_lock_key(tenant, user, key, sizeof(key)) == 0) {
		p[0] = key;
		gh_pg_cmd(db, "DELETE FROM gh_lockouts WHERE kind = 'user' AND key = $1", 1, p, NULL);
	}
	audit_user(c, db, "user.password.reset", tenant, user, "success", NULL);
	gh_reply_raw(c, 204, NULL, NULL, 0);
out:
	json_object_put(o);
	free(user);
}

static int
strv_has(char **v, const char *s)
{
	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		if (strcmp(v[i], s) == 0)
			return 1;
	return 0;
}

static int
json_roles_has(struct json_object *a, const char *s)
{
	for (size_t i = 0; i < json_object_array_length(a); i++)
		if (strcmp(json_object_get_string(json_object_array_get_idx(a, i)), s) == 0)
			return 1;
	return 0;
}

static void
users_roles_set(struct gh_call *c, struct gh_pg *db)
{
	static const char *const attrs[] = { "cn", NULL };
	struct json_object *o = NULL, *want = NULL, *added = NULL, *removed = NULL, *details = NULL,
	    *resp = NULL;
	struct gh_ldap_result groups = { 0 }, found = { 0 };
	const char *tenant = NULL;
	char *user = NULL, *gdn = NULL, **have = NULL, **now = NULL;
	struct gh_ldap *ld;
	size_t nhave = 0, nnow = 0;
	int x;

	if (km_in_require_role(c, "publisher") != 0 || (o = gh_call_body(c, 400)) == NULL ||
	    tenant_member(c, db, o, &tenant) != 0 || (user = user_member(c, o, "username", tenant)) == NULL)
		goto out;
	if (gh_body_member(o, "roles", json_type_array, &want) != 0 || json_object_array_length(want) > ROLES_MAX) {
		gh_reply_error(c, 400, "Bad Request", "roles (an array of at most 64 role names) is required");
		goto out;
	}
	for (size_t i = 0; i < json_object_array_length(want); i++) {
		struct json_object *r = json_object_array_get_idx(want, i);
		if (!json_object_is_type(r, json_type_string) || !gh_body_name_ok(json_object_get_string(r), 64)) {
			gh_reply_error(c, 400, "Bad Request", "roles must be role names (letters, digits, space, "
			    "'_', '.' or '-')");
			goto out;
		}
	}
	if ((ld = km_ldap()) == NULL) {
		reply_ldap_down(c);
		goto out;
	}
	x = gh_ldap_user_find(ld, tenant, user, attrs, &found);
	if (x == GH_LDAP_NOT_FOUND) {
		gh_reply_error(c, 404, "Not Found", "No such user in the tenant");
		goto out;
	}
	gdn = gh_ldap_groups_dn(gh_ldap_base_dn(ld), tenant);
	if (x != GH_LDAP_OK || gdn == NULL ||
	    gh_ldap_search(ld, gdn, GH_LDAP_SCOPE_ONE, attrs, 0, &groups, "(objectClass=groupOfNames)") != GH_LDAP_OK ||
	    gh_ldap_user_roles(ld, tenant, user, &have, &nhave) != GH_LDAP_OK) {
		reply_ldap_down(c);
		goto out;
	}
	for (size_t i = 0; i < json_object_array_length(want); i++) {
		const char *r = json_object_get_string(json_object_array_get_idx(want, i));
		int exists = 0;
		for (size_t j = 0; j < groups.n && !exists; j++) {
			const char *cn = gh_ldap_entry_get(&groups.entries[j], "cn");
			exists = cn != NULL && strcmp(cn, r) == 0;
		}
		if (!exists) {
			char why[160];
			snprintf(why, sizeof(why), "No role %s in the tenant", r);
			gh_reply_error(c, 400, "Bad Request", why);
			goto out;
		}
	}
	added = json_object_new_array();
	removed = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(want); i++) {
		const char *r = json_object_get_string(json_object_array_get_idx(want, i));
		if (strv_has(have, r) || json_roles_has(added, r))
			continue;
		x = gh_ldap_group_add_member(ld, tenant, r, user);
		if (x != GH_LDAP_OK && x != GH_LDAP_EXISTS)
			goto partial;
		json_object_array_add(added, json_object_new_string(r));
	}
	for (size_t i = 0; have != NULL && have[i] != NULL; i++) {
		if (json_roles_has(want, have[i]))
			continue;
		x = gh_ldap_group_remove_member(ld, tenant, have[i], user);
		if (x != GH_LDAP_OK && x != GH_LDAP_NOT_FOUND)
			goto partial;
		json_object_array_add(removed, json_object_new_string(have[i]));
	}
	details = json_object_new_object();
	json_object_object_add(details, "added", json_object_get(added));
	json_object_object_add(details, "removed", json_object_get(removed));
	audit_user(c, db, "user.roles.set", tenant, user, "success", details);
	if (gh_ldap_user_roles(ld, tenant, user, &now, &nnow) != GH_LDAP_OK) {
		reply_ldap_down(c);
		goto out;
	}
	resp = json_object_new_object();
	json_object_object_add(resp, "tenant", json_object_new_string(tenant));
	json_object_object_add(resp, "username", json_object_new_string(user));
	json_object_object_add(resp, "roles", json_object_new_array());
	for (size_t i = 0; i < nnow; i++)
		json_object_array_add(json_object_object_get(resp, "roles"), json_object_new_string(now[i]));
	gh_reply_json(c, 200, resp);
	goto out;
partial:
	details = json_object_new_object();
	json_object_object_add(details, "added", json_object_get(added));
	json_object_object_add(details, "removed", json_object_get(removed));
	audit_user(c, db, "user.roles.set", tenant, user, "failure", details);
	gh_log_error("roles_set", c->request_id, "roles of %s in %s: %s", user, tenant, gh_ldap_rc_str(x));
	reply_ldap_down(c);
out:
	gh_ldap_result_free(&groups);
	gh_ldap_result_free(&found);
	gh_ldap_strv_free(have);
	gh_ldap_strv_free(now);
	json_object_put(added);
	json_object_put(removed);
	json_object_put(details);
	json_object_put(resp);
	json_object_put(o);
	free(gdn);
	free(user);
}

void
km_internal_user_routes(struct gh_router *r)
{
	gh_call_route(r, "POST", "/internal/km/v1/users/signup", users_signup);
	gh_call_route(r, "POST", "/internal/km/v1/users/tenants", users_tenant_create);
	gh_call_route(r, "POST", "/internal/km/v1/users/password", users_password_change);
	gh_call_route(r, "POST", "/internal/km/v1/users/password-reset", users_password_reset);
	gh_call_route(r, "PUT", "/internal/km/v1/users/roles", users_roles_set);
}
