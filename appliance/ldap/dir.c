/*
 * The directory layout of gh_ldap.h built on the generic operations of
 * ldap.c: tenants (o=<domain> with ou=users and ou=groups), users
 * (inetOrgPerson, password set by the Password Modify operation), groups
 * as roles (groupOfNames, with the tenant's ou=groups DN as placeholder
 * member while no user is in them) and the role list of a user.  Every
 * DN comes from the escaping helpers and every filter from a template.
 */
#include <stdlib.h>
#include <string.h>

#include "ldap/gh_ldap.h"

static const char *const no_attrs[] = { "1.1", NULL };

int
gh_ldap_tenant_create(struct gh_ldap *ld, const char *tenant)
{
	const char *base = gh_ldap_base_dn(ld);
	const char *org_oc[] = { "top", "organization", NULL };
	const char *ou_oc[] = { "top", "organizationalUnit", NULL };
	const char *o_val[] = { tenant, NULL };
	const char *users_val[] = { GH_LDAP_USERS_OU, NULL };
	const char *groups_val[] = { GH_LDAP_GROUPS_OU, NULL };
	struct gh_ldap_mod org[] = {
		{ GH_LDAP_MOD_ADD, "objectClass", org_oc },
		{ GH_LDAP_MOD_ADD, "o", o_val },
	};
	struct gh_ldap_mod users[] = {
		{ GH_LDAP_MOD_ADD, "objectClass", ou_oc },
		{ GH_LDAP_MOD_ADD, "ou", users_val },
	};
	struct gh_ldap_mod groups[] = {
		{ GH_LDAP_MOD_ADD, "objectClass", ou_oc },
		{ GH_LDAP_MOD_ADD, "ou", groups_val },
	};
	char *tdn = NULL, *udn = NULL, *gdn = NULL;
	int rc, trc;

	tdn = gh_ldap_tenant_dn(base, tenant);
	udn = gh_ldap_users_dn(base, tenant);
	gdn = gh_ldap_groups_dn(base, tenant);
	if (tdn == NULL || udn == NULL || gdn == NULL) {
		trc = GH_LDAP_INVALID;
		goto out;
	}
	trc = gh_ldap_add(ld, tdn, org, 2);
	if (trc != GH_LDAP_OK && trc != GH_LDAP_EXISTS)
		goto out;
	rc = gh_ldap_add(ld, udn, users, 2);
	if (rc != GH_LDAP_OK && rc != GH_LDAP_EXISTS) {
		trc = rc;
		goto out;
	}
	rc = gh_ldap_add(ld, gdn, groups, 2);
	if (rc != GH_LDAP_OK && rc != GH_LDAP_EXISTS)
		trc = rc;
out:
	free(tdn);
	free(udn);
	free(gdn);
	return trc;
}

int
gh_ldap_user_create(struct gh_ldap *ld, const char *tenant, const char *user,
    const struct gh_ldap_user_info *info, const char *password,
    size_t password_len)
{
	const char *oc[] = { "top", "person", "organizationalPerson",
	    "inetOrgPerson", NULL };
	const char *uid[] = { user, NULL };
	const char *cn[] = { info != NULL && info->cn != NULL ? info->cn : user, NULL };
	const char *sn[] = { info != NULL && info->sn != NULL ? info->sn : user, NULL };
	const char *mail[] = { info != NULL ? info->mail : NULL, NULL };
	struct gh_ldap_mod mods[] = {
		{ GH_LDAP_MOD_ADD, "objectClass", oc },
		{ GH_LDAP_MOD_ADD, "uid", uid },
		{ GH_LDAP_MOD_ADD, "cn", cn },
		{ GH_LDAP_MOD_ADD, "sn", sn },
		{ GH_LDAP_MOD_ADD, "mail", mail },
	};
	char *dn;
	int rc;

	if (password == NULL || password_len == 0 ||
	    memchr(password, '\0', password_len) != NULL)
		return GH_LDAP_INVALID;
	if ((dn = gh_ldap_user_dn(gh_ldap_base_dn(ld), tenant, user)) == NULL)
		return GH_LDAP_INVALID;
	rc = gh_ldap_add(ld, dn, mods, mail[0] != NULL ? 5 : 4);
	if (rc != GH_LDAP_OK)
		goto out;
	rc = gh_ldap_password_set(ld, tenant, user, password, password_len);
	if (rc != GH_LDAP_OK)
		(void)gh_ldap_delete(ld, dn);
out:
	free(dn);
	return rc;
}

int
gh_ldap_user_find(struct gh_ldap *ld, const char *tenant, const char *user,
    const char *const *attrs, struct gh_ldap_result *out)
{
	char *users;
	int rc;

	memset(out, 0, sizeof(*out));
	if (user == NULL || *user == '\0')
		return GH_LDAP_NOT_FOUND;
	if ((users = gh_ldap_users_dn(gh_ldap_base_dn(ld), tenant)) == NULL)
		return GH_LDAP_NOT_FOUND;
	rc = gh_ldap_search(ld, users, GH_LDAP_SCOPE_ONE, attrs, 2, out,
	    "(&(objectClass=inetOrgPerson)(uid=%s))", user);
	free(users);
	if (rc != GH_LDAP_OK)
		return rc;
	if (out->n == 1 && !out->truncated)
		return GH_LDAP_OK;
	rc = out->n == 0 ? GH_LDAP_NOT_FOUND : GH_LDAP_ERROR;
	gh_ldap_result_free(out);
	return rc;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
gh_ldap_user_roles(struct gh_ldap *ld, const char *tenant, const char *user,
    char ***roles, size_t *n)
{
	static const char *const cn_attr[] = { "cn", NULL };
	struct gh_ldap_result res = { 0 };
	char *udn = NULL, *groups = NULL, **v = NULL;
	const char *cn;
	size_t i, k = 0;
	int rc;

	*roles = NULL;
	*n = 0;
	udn = gh_ldap_user_dn(gh_ldap_base_dn(ld), tenant, user);
	groups = gh_ldap_groups_dn(gh_ldap_base_dn(ld), tenant);
	if (udn == NULL || groups == NULL) {
		rc = GH_LDAP_INVALID;
		goto out;
	}
	rc = gh_ldap_search(ld, groups, GH_LDAP_SCOPE_ONE, cn_attr, 0, &res,
	    "(&(objectClass=groupOfNames)(member=%s))", udn);
	if (rc != GH_LDAP_OK)
		goto out;
	if ((v = calloc(res.n + 1, sizeof(*v))) == NULL) {
		rc = GH_LDAP_ERROR;
		goto out;
	}
	for (i = 0; i < res.n; i++) {
		if ((cn = gh_ldap_entry_get(&res.entries[i], "cn")) == NULL)
			continue;
		if ((v[k] = strdup(cn)) == NULL) {
			gh_ldap_strv_free(v);
			v = NULL;
			rc = GH_LDAP_ERROR;
			goto out;
		}
		k++;
	}
	qsort(v, k, sizeof(*v), cmp_str);
	*roles = v;
	*n = k;
out:
	gh_ldap_result_free(&res);
	free(udn);
	free(groups);
	return rc;
}

int
gh_ldap_group_create(struct gh_ldap *ld, const char *tenant, const char *role)
{
	const char *oc[] = { "top", "groupOfNames", NULL };
	const char *cn[] = { role, NULL };
	const char *member[] = { NULL, NULL };
	struct gh_ldap_mod mods[] = {
		{ GH_LDAP_MOD_ADD, "objectClass", oc },
		{ GH_LDAP_MOD_ADD, "cn", cn },
		{ GH_LDAP_MOD_ADD, "member", member },
	};
	char *gdn, *placeholder;
	int rc = GH_LDAP_INVALID;

	gdn = gh_ldap_group_dn(gh_ldap_base_dn(ld), tenant, role);
	placeholder = gh_ldap_groups_dn(gh_ldap_base_dn(ld), tenant);
	if (gdn != NULL && placeholder != NULL) {
		member[0] = placeholder;
		rc = gh_ldap_add(ld, gdn, mods, 3);
	}
	free(gdn);
	free(placeholder);
	return rc;
}

/*
 * The DNs of a membership change: group, user, placeholder.  Returns
 * GH_LDAP_OK, GH_LDAP_INVALID or GH_LDAP_NOT_FOUND (no such user).
 */
static int
member_dns(struct gh_ldap *ld, const char *tenant, const char *role,
    const char *user, char **gdn, char **udn, char **placeholder)
{
	const char *base = gh_ldap_base_dn(ld);

	*gdn = gh_ldap_group_dn(base, tenant, role);
	*udn = gh_ldap_user_dn(base, tenant, user);
	*placeholder = gh_ldap_groups_dn(base, tenant);
	if (*gdn == NULL || *udn == NULL || *placeholder == NULL)
		return GH_LDAP_INVALID;
	return GH_LDAP_OK;
}

int
gh_ldap_group_add_member(struct gh_ldap *ld, const char *tenant,
    const char *role, const char *user)
{
	struct gh_ldap_result res = { 0 };
	const char *uval[] = { NULL, NULL }, *pval[] = { NULL, NULL };
	struct gh_ldap_mod add = { GH_LDAP_MOD_ADD, "member", uval };
	struct gh_ldap_mod del = { GH_LDAP_MOD_DELETE, "member", pval };
	char *gdn, *udn, *ph;
	int rc;

	if ((rc = member_dns(ld, tenant, role, user, &gdn, &udn, &ph)) != GH_LDAP_OK)
		goto out;
	/* Only existing users become members (groupOfNames does not check). */
	rc = gh_ldap_search(ld, udn, GH_LDAP_SCOPE_BASE, no_attrs, 1, &res,
	    "(objectClass=inetOrgPerson)");
	if (rc == GH_LDAP_OK && res.n == 0)
		rc = GH_LDAP_NOT_FOUND;
	gh_ldap_result_free(&res);
	if (rc != GH_LDAP_OK)
		goto out;
	uval[0] = udn;
	if ((rc = gh_ldap_modify(ld, gdn, &add, 1)) != GH_LDAP_OK)
		goto out;
	pval[0] = ph;
	rc = gh_ldap_modify(ld, gdn, &del, 1);
	if (rc == GH_LDAP_NOT_FOUND)
		rc = GH_LDAP_OK;
out:
	free(gdn);
	free(udn);
	free(ph);
	return rc;
}

int
gh_ldap_group_remove_member(struct gh_ldap *ld, const char *tenant,
    const char *role, const char *user)
{
	const char *uval[] = { NULL, NULL }, *pval[] = { NULL, NULL };
	struct gh_ldap_mod mods[] = {
		{ GH_LDAP_MOD_DELETE, "member", uval },
		{ GH_LDAP_MOD_ADD, "member", pval },
	};
	char *gdn, *udn, *ph;
	int rc;

	if ((rc = member_dns(ld, tenant, role, user, &gdn, &udn, &ph)) != GH_LDAP_OK)
		goto out;
	uval[0] = udn;
	pval[0] = ph;
	rc = gh_ldap_modify(ld, gdn, mods, 1);
	/* The last user: put the placeholder back in the same operation. */
	if (rc == GH_LDAP_INVALID)
		rc = gh_ldap_modify(ld, gdn, mods, 2);
out:
	free(gdn);
	free(udn);
	free(ph);
	return rc;
}
