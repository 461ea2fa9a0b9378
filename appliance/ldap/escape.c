/*
 * The pure half of the LDAP library: RFC 4514 escaping of DN values,
 * RFC 4515 escaping of filter values and the filter templates built from
 * them, the DNs of the directory layout (gh_ldap.h), and the split of a
 * WSO2-style user name into user and tenant.  Every string returned is
 * malloc'd and belongs to the caller; nothing here talks to a server.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldap.h>

#include "ldap/gh_ldap.h"

const char *
gh_ldap_rc_str(int rc)
{
	switch (rc) {
	case GH_LDAP_OK:		return "ok";
	case GH_LDAP_BAD_CREDENTIALS:	return "bad_credentials";
	case GH_LDAP_NOT_FOUND:		return "not_found";
	case GH_LDAP_EXISTS:		return "exists";
	case GH_LDAP_INVALID:		return "invalid";
	case GH_LDAP_ERROR:		return "error";
	}
	return "unknown";
}

char *
gh_ldap_dn_escape(const char *v, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out, *o;
	size_t i;

	if (v == NULL || len == 0)
		return NULL;
	if ((out = malloc(3 * len + 1)) == NULL)
		return NULL;
	o = out;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c < 0x20 || c == 0x7f) {
			*o++ = '\\';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 0xf];
		} else if (strchr(",+\"\\<>;=", c) != NULL ||
		    (i == 0 && (c == ' ' || c == '#')) ||
		    (i == len - 1 && c == ' ')) {
			*o++ = '\\';
			*o++ = (char)c;
		} else {
			*o++ = (char)c;
		}
	}
	*o = '\0';
	return out;
}

char *
gh_ldap_filter_escape(const char *v, size_t len)
{
	struct berval in, out = { 0, NULL };
	char *s;

	if (v == NULL)
		return NULL;
	if (len == 0)
		return strdup("");
	in.bv_val = (char *)v;
	in.bv_len = len;
	if (ldap_bv2escaped_filter_value(&in, &out) != 0 || out.bv_val == NULL)
		return NULL;
	s = strndup(out.bv_val, out.bv_len);
	ber_memfree(out.bv_val);
	return s;
}

char *
gh_ldap_filter_vbuild(const char *fmt, va_list ap)
{
	FILE *f;
	char *buf = NULL, *esc;
	size_t size = 0;
	const char *p, *v;
	size_t vlen;
	int bad = 0;

	if (fmt == NULL)
		return NULL;
	if ((f = open_memstream(&buf, &size)) == NULL)
		return NULL;
	for (p = fmt; *p != '\0' && !bad; p++) {
		if (*p != '%') {
			fputc(*p, f);
			continue;
		}
		p++;
		if (*p == '%') {
			fputc('%', f);
			continue;
		}
		if (*p == 's') {
			v = va_arg(ap, const char *);
			vlen = v != NULL ? strlen(v) : 0;
		} else if (*p == 'b') {
			v = va_arg(ap, const char *);
			vlen = va_arg(ap, size_t);
		} else {
			bad = 1;
			break;
		}
		if (v == NULL || (esc = gh_ldap_filter_escape(v, vlen)) == NULL) {
			bad = 1;
			break;
		}
		fputs(esc, f);
		free(esc);
	}
	if (fclose(f) != 0)
		bad = 1;
	if (bad) {
		free(buf);
		return NULL;
	}
	return buf;
}

char *
gh_ldap_filter_build(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = gh_ldap_filter_vbuild(fmt, ap);
	va_end(ap);
	return s;
}

int
gh_ldap_tenant_valid(const char *tenant)
{
	size_t i, len;

	if (tenant == NULL)
		return 0;
	len = strlen(tenant);
	if (len == 0 || len > 253)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)tenant[i];

		if (!isalnum(c) && c != '.' && c != '-' && c != '_')
			return 0;
	}
	return 1;
}

/* "<prefix><escaped value>,<rest>" or NULL; rest is trusted DN text. */
static char *
dn_join(const char *attr, const char *value, const char *rest)
{
	char *esc, *dn;

	if (value == NULL || rest == NULL)
		return NULL;
	if ((esc = gh_ldap_dn_escape(value, strlen(value))) == NULL)
		return NULL;
	if (asprintf(&dn, "%s=%s,%s", attr, esc, rest) < 0)
		dn = NULL;
	free(esc);
	return dn;
}

char *
gh_ldap_tenant_dn(const char *base, const char *tenant)
{
	if (base == NULL || !gh_ldap_tenant_valid(tenant))
		return NULL;
	return dn_join("o", tenant, base);
}

static char *
tenant_child_dn(const char *base, const char *tenant, const char *ou)
{
	char *t, *dn;

	if ((t = gh_ldap_tenant_dn(base, tenant)) == NULL)
		return NULL;
	dn = dn_join("ou", ou, t);
	free(t);
	return dn;
}

char *
gh_ldap_users_dn(const char *base, const char *tenant)
{
	return tenant_child_dn(base, tenant, GH_LDAP_USERS_OU);
}

char *
gh_ldap_groups_dn(const char *base, const char *tenant)
{
	return tenant_child_dn(base, tenant, GH_LDAP_GROUPS_OU);
}

char *
gh_ldap_user_dn(const char *base, const char *tenant, const char *user)
{
	char *parent, *dn;

	if (user == NULL || *user == '\0')
		return NULL;
	if ((parent = gh_ldap_users_dn(base, tenant)) == NULL)
		return NULL;
	dn = dn_join("uid", user, parent);
	free(parent);
	return dn;
}

char *
gh_ldap_group_dn(const char *base, const char *tenant, const char *role)
{
	char *parent, *dn;

	if (role == NULL || *role == '\0')
		return NULL;
	if ((parent = gh_ldap_groups_dn(base, tenant)) == NULL)
		return NULL;
	dn = dn_join("cn", role, parent);
	free(parent);
	return dn;
}

int
gh_ldap_domain_in_list(const char *domain, void *arg)
{
	const char *const *list = arg;

	for (; list != NULL && *list != NULL; list++)
		if (strcasecmp(*list, domain) == 0)
			return 1;
	return 0;
}

int
gh_ldap_name_split(const char *name,
    int (*is_tenant)(const char *domain, void *arg), void *arg,
    size_t *user_len, const char **tenant)
{
	const char *at, *domain;
	int known;

	if (name == NULL || *name == '\0')
		return -1;
	at = strrchr(name, '@');
	if (at != NULL && at[1] != '\0') {
		domain = at + 1;
		known = strcasecmp(domain, GH_LDAP_SUPER_TENANT) == 0;
		if (!known && is_tenant != NULL)
			known = is_tenant(domain, arg) != 0;
		if (known) {
			if (at == name)
				return -1;
			*user_len = (size_t)(at - name);
			*tenant = strcasecmp(domain, GH_LDAP_SUPER_TENANT) == 0 ?
			    GH_LDAP_SUPER_TENANT : domain;
			return 0;
		}
	}
	*user_len = strlen(name);
	*tenant = GH_LDAP_SUPER_TENANT;
	return 0;
}
