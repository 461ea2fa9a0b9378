/*
 * The connection half of the LDAP library: a struct gh_ldap owns one
 * service connection (bound as the configured service DN) that every
 * search, add, modify, delete and password change reuses under a mutex,
 * re-opened and re-bound once when an operation finds it lost.  Password
 * checks bind on a fresh connection of their own and close it.  Results
 * are copied into struct gh_ldap_result so no libldap memory reaches the
 * caller; the handle owns copies of its configuration strings.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ldap.h>

#include "core/gh_log.h"
#include "ldap/gh_ldap.h"

struct gh_ldap {
	pthread_mutex_t		 mu;
	LDAP			*conn;		/* service connection or NULL */
	int			 had_conn;	/* a service connection existed */
	char			*uri;
	char			*base;
	char			*bind_dn;
	char			*bind_pw;
	char			*ca_file;
	int			 starttls;
	int			 tls;		/* ldaps:// or StartTLS */
	struct timeval		 net_tv;
	struct timeval		 op_tv;
	struct gh_ldap_stats	 st;
};

static int
map_rc(int rc)
{
	switch (rc) {
	case LDAP_SUCCESS:
		return GH_LDAP_OK;
	case LDAP_INVALID_CREDENTIALS:
		return GH_LDAP_BAD_CREDENTIALS;
	case LDAP_NO_SUCH_OBJECT:
	case LDAP_NO_SUCH_ATTRIBUTE:
		return GH_LDAP_NOT_FOUND;
	case LDAP_ALREADY_EXISTS:
	case LDAP_TYPE_OR_VALUE_EXISTS:
		return GH_LDAP_EXISTS;
	case LDAP_INVALID_DN_SYNTAX:
	case LDAP_INVALID_SYNTAX:
	case LDAP_OBJECT_CLASS_VIOLATION:
	case LDAP_UNDEFINED_TYPE:
	case LDAP_CONSTRAINT_VIOLATION:
	case LDAP_NAMING_VIOLATION:
	case LDAP_FILTER_ERROR:
	case LDAP_NOT_ALLOWED_ON_NONLEAF:
		return GH_LDAP_INVALID;
	}
	return GH_LDAP_ERROR;
}

static int
conn_lost(int rc)
{
	return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR;
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

static void
ms_to_tv(int ms, int dflt, struct timeval *tv)
{
	if (ms <= 0)
		ms = dflt;
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

struct gh_ldap *
gh_ldap_new(const struct gh_ldap_config *cfg)
{
	struct gh_ldap *ld;

	if (cfg == NULL || cfg->uri == NULL || cfg->base_dn == NULL)
		return NULL;
	if (cfg->bind_dn != NULL && (cfg->bind_password == NULL ||
	    cfg->bind_password[0] == '\0'))
		return NULL;
	if ((ld = calloc(1, sizeof(*ld))) == NULL)
		return NULL;
	pthread_mutex_init(&ld->mu, NULL);
	ld->uri = strdup(cfg->uri);
	ld->base = strdup(cfg->base_dn);
	ld->bind_dn = dup_or_null(cfg->bind_dn);
	ld->bind_pw = dup_or_null(cfg->bind_password);
	ld->ca_file = dup_or_null(cfg->ca_file);
	if (ld->uri == NULL || ld->base == NULL ||
	    (cfg->bind_dn != NULL && (ld->bind_dn == NULL || ld->bind_pw == NULL)) ||
	    (cfg->ca_file != NULL && ld->ca_file == NULL)) {
		gh_ldap_free(ld);
		return NULL;
	}
	ld->starttls = cfg->starttls != 0;
	ld->tls = ld->starttls || strncasecmp(ld->uri, "ldaps://", 8) == 0;
	ms_to_tv(cfg->network_timeout_ms, 5000, &ld->net_tv);
	ms_to_tv(cfg->op_timeout_ms, 10000, &ld->op_tv);
	return ld;
}

/*
 * A new, unbound connection with the handle's options (protocol 3,
 * timeouts, no referrals, TLS with a certificate required).  Returns a
 * libldap code; *out is set only on LDAP_SUCCESS.
 */
static int
conn_open(struct gh_ldap *ld, LDAP **out)
{
	LDAP *l = NULL;
	int rc, v3 = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND, zero = 0;

	*out = NULL;
	if ((rc = ldap_initialize(&l, ld->uri)) != LDAP_SUCCESS)
		return rc;
	rc = LDAP_LOCAL_ERROR;
	if (ldap_set_option(l, LDAP_OPT_PROTOCOL_VERSION, &v3) != LDAP_OPT_SUCCESS)
		goto fail;
	if (ldap_set_option(l, LDAP_OPT_NETWORK_TIMEOUT, &ld->net_tv) != LDAP_OPT_SUCCESS)
		goto fail;
	if (ldap_set_option(l, LDAP_OPT_TIMEOUT, &ld->op_tv) != LDAP_OPT_SUCCESS)
		goto fail;
	if (ldap_set_option(l, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) != LDAP_OPT_SUCCESS)
		goto fail;
	if (ldap_set_option(l, LDAP_OPT_RESTART, LDAP_OPT_ON) != LDAP_OPT_SUCCESS)
		goto fail;
	if (ld->tls) {
		if (ldap_set_option(l, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand) != LDAP_OPT_SUCCESS)
			goto fail;
		if (ld->ca_file != NULL && ldap_set_option(l,
		    LDAP_OPT_X_TLS_CACERTFILE, ld->ca_file) != LDAP_OPT_SUCCESS)
			goto fail;
		if (ldap_set_option(l, LDAP_OPT_X_TLS_NEWCTX, &zero) != LDAP_OPT_SUCCESS)
			goto fail;
	}
	if (ld->starttls && (rc = ldap_start_tls_s(l, NULL, NULL)) != LDAP_SUCCESS)
		goto fail;
	*out = l;
	return LDAP_SUCCESS;
fail:
	ldap_unbind_ext_s(l, NULL, NULL);
	return rc;
}

static void
conn_drop(struct gh_ldap *ld)
{
	if (ld->conn == NULL)
		return;
	ldap_unbind_ext_s(ld->conn, NULL, NULL);
	ld->conn = NULL;
}

/* Open and bind the service connection unless it is open.  Holds mu. */
static int
service_ensure(struct gh_ldap *ld)
{
	struct berval cred;
	LDAP *l;
	int rc;

	if (ld->conn != NULL)
		return LDAP_SUCCESS;
	if ((rc = conn_open(ld, &l)) != LDAP_SUCCESS) {
		gh_log_warn("ldap_connect_failed", NULL, "%s: %s", ld->uri,
		    ldap_err2string(rc));
		return rc;
	}
	if (ld->bind_dn != NULL) {
		cred.bv_val = ld->bind_pw;
		cred.bv_len = strlen(ld->bind_pw);
		rc = ldap_sasl_bind_s(l, ld->bind_dn, LDAP_SASL_SIMPLE, &cred,
		    NULL, NULL, NULL);
		ld->st.service_binds++;
		if (rc != LDAP_SUCCESS) {
			gh_log_warn("ldap_service_bind_failed", NULL, "%s as %s: %s",
			    ld->uri, ld->bind_dn, ldap_err2string(rc));
			ldap_unbind_ext_s(l, NULL, NULL);
			return rc;
		}
	}
	if (ld->had_conn)
		ld->st.reconnects++;
	ld->had_conn = 1;
	ld->conn = l;
	return LDAP_SUCCESS;
}

/*
 * Run op on the service connection, re-opening it and trying once more
 * when the connection turns out lost.  Holds mu.  Returns op's libldap
 * code (or the connection's).
 */
static int
service_run(struct gh_ldap *ld, int (*op)(LDAP *, void *), void *arg)
{
	int rc = LDAP_OTHER, attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		rc = service_ensure(ld);
		if (rc == LDAP_SUCCESS) {
			ld->st.operations++;
			rc = op(ld->conn, arg);
		} else if (!conn_lost(rc)) {
			/* Not the caller's fault: the service identity failed. */
			rc = LDAP_OTHER;
			break;
		}
		if (rc == LDAP_TIMEOUT) {
			conn_drop(ld);
			break;
		}
		if (!conn_lost(rc))
			break;
		conn_drop(ld);
		if (attempt == 0)
			gh_log_info("ldap_reconnect", NULL, "%s: %s", ld->uri,
			    ldap_err2string(rc));
	}
	return rc;
}

int
gh_ldap_connect(struct gh_ldap *ld)
{
	int rc;

	pthread_mutex_lock(&ld->mu);
	rc = service_ensure(ld);
	pthread_mutex_unlock(&ld->mu);
	return rc == LDAP_SUCCESS ? GH_LDAP_OK : GH_LDAP_ERROR;
}

void
gh_ldap_free(struct gh_ldap *ld)
{
	if (ld == NULL)
		return;
	conn_drop(ld);
	if (ld->bind_pw != NULL) {
		explicit_bzero(ld->bind_pw, strlen(ld->bind_pw));
		free(ld->bind_pw);
	}
	free(ld->uri);
	free(ld->base);
	free(ld->bind_dn);
	free(ld->ca_file);
	pthread_mutex_destroy(&ld->mu);
	free(ld);
}

const char *
gh_ldap_base_dn(const struct gh_ldap *ld)
{
	return ld->base;
}

void
gh_ldap_get_stats(struct gh_ldap *ld, struct gh_ldap_stats *out)
{
	pthread_mutex_lock(&ld->mu);
	*out = ld->st;
	pthread_mutex_unlock(&ld->mu);
}

int
gh_ldap_service_fd(struct gh_ldap *ld)
{
	int fd = -1;

	pthread_mutex_lock(&ld->mu);
	if (ld->conn == NULL ||
	    ldap_get_option(ld->conn, LDAP_OPT_DESC, &fd) != LDAP_OPT_SUCCESS)
		fd = -1;
	pthread_mutex_unlock(&ld->mu);
	return fd;
}

/* ---- Results ---- */

static void
entry_free(struct gh_ldap_entry *e)
{
	size_t i, j;

	for (i = 0; i < e->nattrs; i++) {
		for (j = 0; j < e->attrs[i].nvals; j++)
			free(e->attrs[i].vals[j].val);
		free(e->attrs[i].vals);
		free(e->attrs[i].name);
	}
	free(e->attrs);
	free(e->dn);
}

void
gh_ldap_result_free(struct gh_ldap_result *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++)
		entry_free(&r->entries[i]);
	free(r->entries);
	memset(r, 0, sizeof(*r));
}

const char *
gh_ldap_entry_get(const struct gh_ldap_entry *e, const char *attr)
{
	size_t i;

	for (i = 0; e != NULL && i < e->nattrs; i++)
		if (strcasecmp(e->attrs[i].name, attr) == 0 && e->attrs[i].nvals > 0)
			return e->attrs[i].vals[0].val;
	return NULL;
}

void
gh_ldap_strv_free(char **v)
{
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* Copy one attribute's values; returns 0 or -1 (out of memory). */
static int
attr_copy(LDAP *l, LDAPMessage *m, const char *name, struct gh_ldap_attr *a)
{
	struct berval **vals;
	size_t i, n;

	if ((a->name = strdup(name)) == NULL)
		return -1;
	if ((vals = ldap_get_values_len(l, m, name)) == NULL)
		return 0;
	n = (size_t)ldap_count_values_len(vals);
	if ((a->vals = calloc(n ? n : 1, sizeof(*a->vals))) == NULL)
		goto fail;
	for (i = 0; i < n; i++) {
		if ((a->vals[i].val = malloc(vals[i]->bv_len + 1)) == NULL)
			goto fail;
		memcpy(a->vals[i].val, vals[i]->bv_val, vals[i]->bv_len);
		a->vals[i].val[vals[i]->bv_len] = '\0';
		a->vals[i].len = vals[i]->bv_len;
		a->nvals++;
	}
	ldap_value_free_len(vals);
	return 0;
fail:
	ldap_value_free_len(vals);
	return -1;
}

/* Copy one entry; returns 0 or -1 (e holds what was copied). */
static int
entry_copy(LDAP *l, LDAPMessage *m, struct gh_ldap_entry *e)
{
	BerElement *ber = NULL;
	struct gh_ldap_attr *na;
	char *dn, *name;
	int rc = 0;

	if ((dn = ldap_get_dn(l, m)) == NULL)
		return -1;
	e->dn = strdup(dn);
	ldap_memfree(dn);
	if (e->dn == NULL)
		return -1;
	for (name = ldap_first_attribute(l, m, &ber); name != NULL;
	    name = ldap_next_attribute(l, m, ber)) {
		if (rc == 0 && (na = realloc(e->attrs,
		    (e->nattrs + 1) * sizeof(*e->attrs))) == NULL)
			rc = -1;
		if (rc == 0) {
			e->attrs = na;
			memset(&e->attrs[e->nattrs], 0, sizeof(*e->attrs));
			rc = attr_copy(l, m, name, &e->attrs[e->nattrs]);
			e->nattrs++;
		}
		ldap_memfree(name);
	}
	if (ber != NULL)
		ber_free(ber, 0);
	return rc;
}

/* ---- Operations ---- */

struct search_arg {
	const char		*base;
	int			 scope;
	const char		*filter;
	char			**attrs;
	int			 sizelimit;
	struct gh_ldap_result	*out;
};

static int
op_search(LDAP *l, void *p)
{
	struct search_arg *a = p;
	LDAPMessage *res = NULL, *m;
	int rc, n;

	rc = ldap_search_ext_s(l, a->base, a->scope, a->filter, a->attrs, 0,
	    NULL, NULL, NULL, a->sizelimit, &res);
	if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED)
		goto done;
	a->out->truncated = rc == LDAP_SIZELIMIT_EXCEEDED;
	rc = LDAP_SUCCESS;
	n = ldap_count_entries(l, res);
	if (n <= 0)
		goto done;
	if ((a->out->entries = calloc((size_t)n, sizeof(*a->out->entries))) == NULL) {
		rc = LDAP_NO_MEMORY;
		goto done;
	}
	for (m = ldap_first_entry(l, res); m != NULL && a->out->n < (size_t)n;
	    m = ldap_next_entry(l, m)) {
		if (entry_copy(l, m, &a->out->entries[a->out->n++]) != 0) {
			rc = LDAP_NO_MEMORY;
			break;
		}
	}
done:
	if (res != NULL)
		ldap_msgfree(res);
	if (rc != LDAP_SUCCESS)
		gh_ldap_result_free(a->out);
	return rc;
}

int
gh_ldap_search(struct gh_ldap *ld, const char *base,
    enum gh_ldap_scope scope, const char *const *attrs, int sizelimit,
    struct gh_ldap_result *out, const char *fmt, ...)
{
	struct search_arg a;
	va_list ap;
	char *filter;
	int rc;

	memset(out, 0, sizeof(*out));
	va_start(ap, fmt);
	filter = gh_ldap_filter_vbuild(fmt, ap);
	va_end(ap);
	if (filter == NULL || base == NULL) {
		free(filter);
		return GH_LDAP_INVALID;
	}
	a.base = base;
	a.scope = scope == GH_LDAP_SCOPE_BASE ? LDAP_SCOPE_BASE :
	    scope == GH_LDAP_SCOPE_ONE ? LDAP_SCOPE_ONELEVEL : LDAP_SCOPE_SUBTREE;
	a.filter = filter;
	a.attrs = (char **)attrs;
	a.sizelimit = sizelimit;
	a.out = out;
	pthread_mutex_lock(&ld->mu);
	rc = service_run(ld, op_search, &a);
	pthread_mutex_unlock(&ld->mu);
	if (rc != LDAP_SUCCESS && rc != LDAP_NO_SUCH_OBJECT)
		gh_log_warn("ldap_search_failed", NULL, "base %s filter %s: %s",
		    base, filter, ldap_err2string(rc));
	free(filter);
	return map_rc(rc);
}

static int
attr_is_password(const char *attr)
{
	size_t n;

	if (strncasecmp(attr, "userPassword", 12) == 0)
		n = 12;
	else if (strncmp(attr, "2.5.4.35", 8) == 0)
		n = 8;
	else
		return 0;
	return attr[n] == '\0' || attr[n] == ';';
}

struct write_arg {
	const char	*dn;
	LDAPMod		**mods;		/* NULL: delete */
	int		 add;
};

static int
op_write(LDAP *l, void *p)
{
	struct write_arg *a = p;

	if (a->mods == NULL)
		return ldap_delete_ext_s(l, a->dn, NULL, NULL);
	if (a->add)
		return ldap_add_ext_s(l, a->dn, a->mods, NULL, NULL);
	return ldap_modify_ext_s(l, a->dn, a->mods, NULL, NULL);
}

static int
write_entry(struct gh_ldap *ld, const char *dn, const struct gh_ldap_mod *mods,
    size_t n, int add)
{
	struct write_arg a;
	LDAPMod *mv = NULL, **mp = NULL;
	size_t i;
	int rc, grc = GH_LDAP_INVALID;

	if (dn == NULL || (mods == NULL && n > 0) || n > 1024)
		return GH_LDAP_INVALID;
	if (add || n > 0) {
		if (n == 0)
			return GH_LDAP_INVALID;
		mv = calloc(n, sizeof(*mv));
		mp = calloc(n + 1, sizeof(*mp));
		if (mv == NULL || mp == NULL) {
			grc = GH_LDAP_ERROR;
			goto out;
		}
		for (i = 0; i < n; i++) {
			if (mods[i].attr == NULL || attr_is_password(mods[i].attr))
				goto out;
			if ((add || mods[i].op != GH_LDAP_MOD_DELETE) &&
			    (mods[i].vals == NULL || mods[i].vals[0] == NULL))
				goto out;
			mv[i].mod_op = add ? LDAP_MOD_ADD :
			    mods[i].op == GH_LDAP_MOD_ADD ? LDAP_MOD_ADD :
			    mods[i].op == GH_LDAP_MOD_REPLACE ? LDAP_MOD_REPLACE :
			    LDAP_MOD_DELETE;
			mv[i].mod_type = (char *)mods[i].attr;
			mv[i].mod_values = mods[i].vals != NULL &&
			    mods[i].vals[0] != NULL ? (char **)mods[i].vals : NULL;
			mp[i] = &mv[i];
		}
	}
	a.dn = dn;
	a.mods = mp;
	a.add = add;
	pthread_mutex_lock(&ld->mu);
	rc = service_run(ld, op_write, &a);
	pthread_mutex_unlock(&ld->mu);
	grc = map_rc(rc);
	if (grc == GH_LDAP_ERROR)
		gh_log_warn("ldap_write_failed", NULL, "%s %s: %s",
		    mp == NULL ? "delete" : add ? "add" : "modify", dn,
		    ldap_err2string(rc));
out:
	free(mp);
	free(mv);
	return grc;
}

int
gh_ldap_add(struct gh_ldap *ld, const char *dn, const struct gh_ldap_mod *mods,
    size_t n)
{
	return write_entry(ld, dn, mods, n, 1);
}

int
gh_ldap_modify(struct gh_ldap *ld, const char *dn,
    const struct gh_ldap_mod *mods, size_t n)
{
	if (n == 0)
		return GH_LDAP_INVALID;
	return write_entry(ld, dn, mods, n, 0);
}

int
gh_ldap_delete(struct gh_ldap *ld, const char *dn)
{
	return write_entry(ld, dn, NULL, 0, 0);
}

struct passwd_arg {
	struct berval	dn;
	struct berval	pw;
};

static int
op_passwd(LDAP *l, void *p)
{
	struct passwd_arg *a = p;
	struct berval gen = { 0, NULL };
	int rc;

	rc = ldap_passwd_s(l, &a->dn, NULL, &a->pw, &gen, NULL, NULL);
	if (gen.bv_val != NULL) {
		explicit_bzero(gen.bv_val, gen.bv_len);
		ber_memfree(gen.bv_val);
	}
	return rc;
}

int
gh_ldap_password_set(struct gh_ldap *ld, const char *tenant, const char *user,
    const char *password, size_t password_len)
{
	struct passwd_arg a;
	char *dn;
	int rc;

	if (password == NULL || password_len == 0 ||
	    memchr(password, '\0', password_len) != NULL)
		return GH_LDAP_INVALID;
	if ((dn = gh_ldap_user_dn(ld->base, tenant, user)) == NULL)
		return GH_LDAP_INVALID;
	a.dn.bv_val = dn;
	a.dn.bv_len = strlen(dn);
	a.pw.bv_val = (char *)password;
	a.pw.bv_len = password_len;
	pthread_mutex_lock(&ld->mu);
	rc = service_run(ld, op_passwd, &a);
	pthread_mutex_unlock(&ld->mu);
	if (rc != LDAP_SUCCESS && rc != LDAP_NO_SUCH_OBJECT)
		gh_log_warn("ldap_password_set_failed", NULL, "%s: %s", dn,
		    ldap_err2string(rc));
	free(dn);
	return map_rc(rc);
}

int
gh_ldap_user_authenticate(struct gh_ldap *ld, const char *tenant,
    const char *user, size_t user_len, const char *password,
    size_t password_len)
{
	static const char *const no_attrs[] = { LDAP_NO_ATTRS, NULL };
	struct gh_ldap_result res = { 0 };
	struct berval cred;
	char *users = NULL;
	LDAP *l = NULL;
	int rc, grc;

	/* Refusals that must come before any search or bind. */
	if (password == NULL || password_len == 0 ||
	    memchr(password, '\0', password_len) != NULL)
		return GH_LDAP_BAD_CREDENTIALS;
	if (user == NULL || user_len == 0 || memchr(user, '\0', user_len) != NULL)
		return GH_LDAP_BAD_CREDENTIALS;
	if (!gh_ldap_tenant_valid(tenant))
		return GH_LDAP_BAD_CREDENTIALS;
	if ((users = gh_ldap_users_dn(ld->base, tenant)) == NULL)
		return GH_LDAP_ERROR;

	grc = gh_ldap_search(ld, users, GH_LDAP_SCOPE_ONE, no_attrs, 2, &res,
	    "(&(objectClass=inetOrgPerson)(uid=%b))", user, user_len);
	if (grc == GH_LDAP_NOT_FOUND ||
	    (grc == GH_LDAP_OK && (res.n != 1 || res.truncated))) {
		grc = GH_LDAP_BAD_CREDENTIALS;
		goto out;
	}
	if (grc != GH_LDAP_OK) {
		grc = GH_LDAP_ERROR;
		goto out;
	}

	if ((rc = conn_open(ld, &l)) != LDAP_SUCCESS) {
		gh_log_warn("ldap_connect_failed", NULL, "%s: %s", ld->uri,
		    ldap_err2string(rc));
		grc = GH_LDAP_ERROR;
		goto out;
	}
	cred.bv_val = (char *)password;
	cred.bv_len = password_len;
	rc = ldap_sasl_bind_s(l, res.entries[0].dn, LDAP_SASL_SIMPLE, &cred,
	    NULL, NULL, NULL);
	pthread_mutex_lock(&ld->mu);
	ld->st.user_binds++;
	pthread_mutex_unlock(&ld->mu);
	switch (rc) {
	case LDAP_SUCCESS:
		grc = GH_LDAP_OK;
		break;
	case LDAP_INVALID_CREDENTIALS:
	case LDAP_INAPPROPRIATE_AUTH:
	case LDAP_UNWILLING_TO_PERFORM:
		grc = GH_LDAP_BAD_CREDENTIALS;
		break;
	default:
		gh_log_warn("ldap_user_bind_failed", NULL, "%s: %s",
		    res.entries[0].dn, ldap_err2string(rc));
		grc = GH_LDAP_ERROR;
	}
out:
	if (l != NULL)
		ldap_unbind_ext_s(l, NULL, NULL);
	gh_ldap_result_free(&res);
	free(users);
	return grc;
}
