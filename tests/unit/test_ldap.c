/*
 * Tests of the ldap library against the run's private slapd
 * (GH_TEST_LDAP_*): escaping and the user-name split as pure functions,
 * then a test tenant built with the library's own add functions, password
 * checks, filter injection, special characters in DNs, roles, the
 * empty-password guard with olcAllows: bind_anon_dn turned on, connection
 * reuse and reconnection, server-side Argon2 hashing and StartTLS.
 * cn=config changes go through ldapmodify over ldapi and are undone, except
 * the argon2 module and the TLS certificate, which slapd cannot unload.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ldap.h>

#include "core/gh_log.h"
#include "ldap/gh_ldap.h"
#include "th.h"

#define TENANT	"ldaptest.example"
#define TENANT2	"other.example"
#define ALICE_PW "Alice-pw-1"

static const char *base, *uri, *ldapi, *rootdn, *rootpw, *tmp;
static struct gh_ldap *ld;

/* Run a shell command built from fmt; returns its exit status or -1. */
static int
sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int
sh(const char *fmt, ...)
{
	va_list ap;
	char *cmd;
	int st;

	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) < 0)
		cmd = NULL;
	va_end(ap);
	if (cmd == NULL)
		return -1;
	st = system(cmd);
	free(cmd);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* Apply an LDIF change to cn=config as root over ldapi; returns exit status. */
static int
config_modify(const char *ldif)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/change.ldif", tmp);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fputs(ldif, f);
	fclose(f);
	return sh("ldapmodify -Q -Y EXTERNAL -H '%s' -f '%s' >/dev/null 2>&1",
	    ldapi, path);
}

/* Run cmd, keep the first line of its stdout in out; returns exit status. */
static int
capture(const char *cmd, char *out, size_t outsz)
{
	FILE *p;
	int st;

	out[0] = '\0';
	if ((p = popen(cmd, "r")) == NULL)
		return -1;
	if (fgets(out, (int)outsz, p) == NULL)
		out[0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static struct gh_ldap *
open_service(const char *u, int starttls, const char *ca)
{
	struct gh_ldap_config cfg = { 0 };

	cfg.uri = u;
	cfg.base_dn = base;
	cfg.bind_dn = rootdn;
	cfg.bind_password = rootpw;
	cfg.starttls = starttls;
	cfg.ca_file = ca;
	cfg.network_timeout_ms = 2000;
	cfg.op_timeout_ms = 5000;
	return gh_ldap_new(&cfg);
}

static int
auth(const char *tenant, const char *user, const char *pw)
{
	return gh_ldap_user_authenticate(ld, tenant, user, strlen(user), pw,
	    strlen(pw));
}

static void
test_name_split(void)
{
	const char *known[] = { "acme.com", "other.org", NULL };
	const char *tenant;
	size_t ulen;

	TH_TEST("name split");
	TH_CHECK_EQ_INT(gh_ldap_name_split("alice@acme.com", gh_ldap_domain_in_list,
	    known, &ulen, &tenant), 0);
	TH_CHECK_EQ_INT(ulen, 5);
	TH_CHECK_EQ_STR(tenant, "acme.com");
	TH_CHECK_EQ_INT(gh_ldap_name_split("bob@gmail.com", gh_ldap_domain_in_list,
	    known, &ulen, &tenant), 0);
	TH_CHECK_EQ_INT(ulen, strlen("bob@gmail.com"));
	TH_CHECK_EQ_STR(tenant, "carbon.super");
	TH_CHECK_EQ_INT(gh_ldap_name_split("a@b@acme.com", gh_ldap_domain_in_list,
	    known, &ulen, &tenant), 0);
	TH_CHECK_EQ_INT(ulen, 3);
	TH_CHECK_EQ_STR(tenant, "acme.com");
	TH_CHECK_EQ_INT(gh_ldap_name_split("carol", gh_ldap_domain_in_list,
	    known, &ulen, &tenant), 0);
	TH_CHECK_EQ_INT(ulen, 5);
	TH_CHECK_EQ_STR(tenant, "carbon.super");
	TH_CHECK_EQ_INT(gh_ldap_name_split("dave@Carbon.Super", NULL, NULL,
	    &ulen, &tenant), 0);
	TH_CHECK_EQ_INT(ulen, 4);
	TH_CHECK_EQ_STR(tenant, "carbon.super");
	TH_CHECK_EQ_INT(gh_ldap_name_split("Eve@ACME.COM", gh_ldap_domain_in_list,
	    known, &ulen, &tenant), 0);
	TH_CHECK_EQ_INT(ulen, 3);
	TH_CHECK_EQ_STR(tenant, "ACME.COM");
	TH_CHECK_EQ_INT(gh_ldap_name_split("frank@", gh_ldap_domain_in_list,
	    known, &ulen, &tenant), 0);
	TH_CHECK_EQ_INT(ulen, 6);
	TH_CHECK_EQ_STR(tenant, "carbon.super");
	TH_CHECK_EQ_INT(gh_ldap_name_split("@acme.com", gh_ldap_domain_in_list,
	    known, &ulen, &tenant), -1);
	TH_CHECK_EQ_INT(gh_ldap_name_split("", NULL, NULL, &ulen, &tenant), -1);
	/* acme.com known, but the name's last '@' part is not it. */
	TH_CHECK_EQ_INT(gh_ldap_name_split("g@acme.com@evil.net", gh_ldap_domain_in_list,
	    known, &ulen, &tenant), 0);
	TH_CHECK_EQ_INT(ulen, strlen("g@acme.com@evil.net"));
	TH_CHECK_EQ_STR(tenant, "carbon.super");
}

static void
check_dn_escape(const char *in, size_t len, const char *want)
{
	char *s = gh_ldap_dn_escape(in, len);

	TH_CHECK_EQ_STR(s, want);
	free(s);
}

static void
check_filter(const char *got_owned, const char *want)
{
	TH_CHECK_EQ_STR(got_owned, want);
	free((char *)got_owned);
}

static void
test_escaping(void)
{
	char *s;

	TH_TEST("DN escaping (RFC 4514)");
	check_dn_escape("a,b", 3, "a\\,b");
	check_dn_escape("a+b", 3, "a\\+b");
	check_dn_escape("#x", 2, "\\#x");
	check_dn_escape("x#", 2, "x#");
	check_dn_escape(" lead", 5, "\\ lead");
	check_dn_escape("trail ", 6, "trail\\ ");
	check_dn_escape("o'brien", 7, "o'brien");
	check_dn_escape("q\"<>;=\\", 7, "q\\\"\\<\\>\\;\\=\\\\");
	check_dn_escape("a\0b\n", 4, "a\\00b\\0A");
	TH_CHECK(gh_ldap_dn_escape("", 0) == NULL);
	s = gh_ldap_user_dn("dc=gatehouse", "acme.com", "a,b");
	TH_CHECK_EQ_STR(s, "uid=a\\,b,ou=users,o=acme.com,dc=gatehouse");
	free(s);
	s = gh_ldap_group_dn("dc=gatehouse", "carbon.super", "admin");
	TH_CHECK_EQ_STR(s, "cn=admin,ou=groups,o=carbon.super,dc=gatehouse");
	free(s);
	s = gh_ldap_groups_dn("dc=gatehouse", "acme.com");
	TH_CHECK_EQ_STR(s, "ou=groups,o=acme.com,dc=gatehouse");
	free(s);
	TH_CHECK(gh_ldap_user_dn("dc=gatehouse", "acme.com", "") == NULL);
	TH_CHECK(gh_ldap_user_dn("dc=gatehouse", "a,b", "x") == NULL);
	TH_CHECK(gh_ldap_tenant_dn("dc=gatehouse", "evil,dc=gatehouse") == NULL);
	TH_CHECK(!gh_ldap_tenant_valid(""));
	TH_CHECK(gh_ldap_tenant_valid("carbon.super"));

	TH_TEST("filter templates (RFC 4515)");
	check_filter(gh_ldap_filter_build("(uid=%s)", "*)(uid=*"),
	    "(uid=\\2A\\29\\28uid=\\2A)");
	check_filter(gh_ldap_filter_build("(uid=%s)", "x)(|(objectClass=*"),
	    "(uid=x\\29\\28|\\28objectClass=\\2A)");
	check_filter(gh_ldap_filter_build("(uid=%s)", "\\2a"), "(uid=\\5C2a)");
	check_filter(gh_ldap_filter_build("(uid=%b)", "a\0b", (size_t)3),
	    "(uid=a\\00b)");
	check_filter(gh_ldap_filter_build("(&(a=%s)(b=%s))100%%", "1", "2"),
	    "(&(a=1)(b=2))100%");
	TH_CHECK(gh_ldap_filter_build("(uid=%d)", 5) == NULL);
	TH_CHECK(gh_ldap_filter_build("(uid=%s)", (const char *)NULL) == NULL);
	TH_CHECK(gh_ldap_filter_build("(uid=%") == NULL);
}

static void
test_layout(void)
{
	const char *oc[] = { "top", "organizationalUnit", NULL };
	const char *pw[] = { "cleartext", NULL };
	const char *pwattr[] = { "userPassword", NULL };
	struct gh_ldap_mod m[] = {
		{ GH_LDAP_MOD_ADD, "objectClass", oc },
		{ GH_LDAP_MOD_ADD, "userPassword", pw },
	};
	struct gh_ldap_user_info info = { "Alice Liddell", "Liddell", "alice@example.org" };
	struct gh_ldap_result r;
	const char *v;
	char *dn;

	TH_TEST("tenant subtree, users, groups");
	TH_CHECK_EQ_INT(gh_ldap_tenant_create(ld, TENANT), GH_LDAP_OK);
	TH_CHECK_EQ_INT(gh_ldap_tenant_create(ld, TENANT), GH_LDAP_EXISTS);
	TH_CHECK_EQ_INT(gh_ldap_tenant_create(ld, TENANT2), GH_LDAP_OK);
	TH_CHECK_EQ_INT(gh_ldap_tenant_create(ld, "bad,tenant"), GH_LDAP_INVALID);
	TH_CHECK_EQ_INT(gh_ldap_user_create(ld, TENANT, "alice", &info, ALICE_PW,
	    strlen(ALICE_PW)), GH_LDAP_OK);
	TH_CHECK_EQ_INT(gh_ldap_user_create(ld, TENANT, "alice", NULL, "x", 1),
	    GH_LDAP_EXISTS);
	TH_CHECK_EQ_INT(gh_ldap_user_create(ld, TENANT, "bob", NULL, "Bob-pw-1", 8),
	    GH_LDAP_OK);
	TH_CHECK_EQ_INT(gh_ldap_user_create(ld, TENANT, "carol", NULL, "", 0),
	    GH_LDAP_INVALID);
	TH_CHECK_EQ_INT(gh_ldap_user_create(ld, TENANT, "carol", NULL, "a\0b", 3),
	    GH_LDAP_INVALID);
	TH_CHECK_EQ_INT(gh_ldap_user_find(ld, TENANT, "carol", NULL, &r),
	    GH_LDAP_NOT_FOUND);
	TH_CHECK_EQ_INT(gh_ldap_user_create(ld, "missing.example", "x", NULL, "pw", 2),
	    GH_LDAP_NOT_FOUND);
	/* The same name in another tenant is another user. */
	TH_CHECK_EQ_INT(gh_ldap_user_create(ld, TENANT2, "alice", NULL, "Other-pw-2",
	    10), GH_LDAP_OK);
	TH_CHECK_EQ_INT(gh_ldap_group_create(ld, TENANT, "admin"), GH_LDAP_OK);
	TH_CHECK_EQ_INT(gh_ldap_group_create(ld, TENANT, "subscriber"), GH_LDAP_OK);
	TH_CHECK_EQ_INT(gh_ldap_group_create(ld, TENANT, "publisher"), GH_LDAP_OK);
	TH_CHECK_EQ_INT(gh_ldap_group_create(ld, TENANT, "admin"), GH_LDAP_EXISTS);

	TH_TEST("user lookup");
	TH_CHECK_EQ_INT(gh_ldap_user_find(ld, TENANT, "alice", NULL, &r), GH_LDAP_OK);
	TH_CHECK_EQ_INT(r.n, 1);
	TH_CHECK_EQ_STR(gh_ldap_entry_get(&r.entries[0], "mail"), "alice@example.org");
	TH_CHECK_EQ_STR(gh_ldap_entry_get(&r.entries[0], "CN"), "Alice Liddell");
	TH_CHECK_EQ_STR(gh_ldap_entry_get(&r.entries[0], "sn"), "Liddell");
	dn = gh_ldap_user_dn(base, TENANT, "alice");
	TH_CHECK(r.n == 1 && dn != NULL && strcasecmp(r.entries[0].dn, dn) == 0);
	free(dn);
	gh_ldap_result_free(&r);

	TH_TEST("passwords stored hashed by slapd, never through add/modify");
	TH_CHECK_EQ_INT(gh_ldap_user_find(ld, TENANT, "alice", pwattr, &r), GH_LDAP_OK);
	v = r.n == 1 ? gh_ldap_entry_get(&r.entries[0], "userPassword") : NULL;
	TH_CHECK_MSG(v != NULL && strncmp(v, "{SSHA}", 6) == 0, "stored %s", v ? v : "(none)");
	TH_CHECK(v != NULL && strstr(v, ALICE_PW) == NULL);
	gh_ldap_result_free(&r);
	dn = gh_ldap_tenant_dn(base, "pwtest.example");
	TH_CHECK_EQ_INT(gh_ldap_add(ld, dn, m, 2), GH_LDAP_INVALID);
	m[1].attr = "userpassword;x-tag";
	TH_CHECK_EQ_INT(gh_ldap_add(ld, dn, m, 2), GH_LDAP_INVALID);
	free(dn);
	dn = gh_ldap_user_dn(base, TENANT, "bob");
	m[1].op = GH_LDAP_MOD_REPLACE;
	m[1].attr = "2.5.4.35";
	TH_CHECK_EQ_INT(gh_ldap_modify(ld, dn, &m[1], 1), GH_LDAP_INVALID);
	free(dn);
}

static void
test_authenticate(void)
{
	TH_TEST("authenticate");
	TH_CHECK_EQ_INT(auth(TENANT, "alice", ALICE_PW), GH_LDAP_OK);
	TH_CHECK_EQ_INT(auth(TENANT, "ALICE", ALICE_PW), GH_LDAP_OK);
	TH_CHECK_EQ_INT(auth(TENANT, "alice", "Alice-pw-2"), GH_LDAP_BAD_CREDENTIALS);
	TH_CHECK_EQ_INT(auth(TENANT, "alice", "Other-pw-2"), GH_LDAP_BAD_CREDENTIALS);
	TH_CHECK_EQ_INT(auth(TENANT2, "alice", "Other-pw-2"), GH_LDAP_OK);
	TH_CHECK_EQ_INT(auth(TENANT2, "alice", ALICE_PW), GH_LDAP_BAD_CREDENTIALS);
	TH_CHECK_EQ_INT(auth(TENANT, "nobody", ALICE_PW), GH_LDAP_BAD_CREDENTIALS);
	TH_CHECK_EQ_INT(auth("missing.example", "alice", ALICE_PW),
	    GH_LDAP_BAD_CREDENTIALS);
	TH_CHECK_EQ_INT(auth(TENANT, "bob", "Bob-pw-1"), GH_LDAP_OK);

	TH_TEST("password change");
	TH_CHECK_EQ_INT(gh_ldap_password_set(ld, TENANT, "bob", "Bob-pw-2", 8), GH_LDAP_OK);
	TH_CHECK_EQ_INT(auth(TENANT, "bob", "Bob-pw-2"), GH_LDAP_OK);
	TH_CHECK_EQ_INT(auth(TENANT, "bob", "Bob-pw-1"), GH_LDAP_BAD_CREDENTIALS);
	TH_CHECK_EQ_INT(gh_ldap_password_set(ld, TENANT, "bob", "", 0), GH_LDAP_INVALID);
	TH_CHECK_EQ_INT(gh_ldap_password_set(ld, TENANT, "nobody", "x1", 2),
	    GH_LDAP_NOT_FOUND);
}

static void
test_injection(void)
{
	static const char *const hostile[] = { "*)(uid=*", "x)(|(objectClass=*",
	    "*", "admin)(&", "\\2a", "alice)(uid=*", "al*", "*alice*",
	    "alice)", "(uid=alice)", NULL };
	static const char *const attrs[] = { "uid", NULL };
	struct gh_ldap_result r;
	char *users = gh_ldap_users_dn(base, TENANT);
	size_t i;
	int rc;

	TH_TEST("filter injection finds nothing");
	/* Control: the same filter written with a real '*' matches every user. */
	rc = gh_ldap_search(ld, users, GH_LDAP_SCOPE_ONE, attrs, 0, &r,
	    "(&(objectClass=inetOrgPerson)(uid=*))");
	TH_CHECK_EQ_INT(rc, GH_LDAP_OK);
	TH_CHECK(r.n >= 2);
	gh_ldap_result_free(&r);
	for (i = 0; hostile[i] != NULL; i++) {
		rc = gh_ldap_search(ld, users, GH_LDAP_SCOPE_SUB, attrs, 0, &r,
		    "(&(objectClass=inetOrgPerson)(uid=%s))", hostile[i]);
		TH_CHECK_MSG(rc == GH_LDAP_OK && r.n == 0, "%s: rc %d, %zu entries",
		    hostile[i], rc, r.n);
		gh_ldap_result_free(&r);
		TH_CHECK_EQ_INT(gh_ldap_user_find(ld, TENANT, hostile[i], NULL, &r),
		    GH_LDAP_NOT_FOUND);
		TH_CHECK_MSG(auth(TENANT, hostile[i], ALICE_PW) == GH_LDAP_BAD_CREDENTIALS,
		    "auth as %s", hostile[i]);
	}
	/* Names with NUL: the tail must not be cut off. */
	rc = gh_ldap_search(ld, users, GH_LDAP_SCOPE_ONE, attrs, 0, &r,
	    "(uid=%b)", "alice\0*", (size_t)7);
	TH_CHECK(rc == GH_LDAP_OK && r.n == 0);
	gh_ldap_result_free(&r);
	TH_CHECK_EQ_INT(gh_ldap_user_authenticate(ld, TENANT, "alice\0x", 7,
	    ALICE_PW, strlen(ALICE_PW)), GH_LDAP_BAD_CREDENTIALS);
	TH_CHECK_EQ_INT(gh_ldap_user_authenticate(ld, TENANT, "alice\0", 6,
	    ALICE_PW, strlen(ALICE_PW)), GH_LDAP_BAD_CREDENTIALS);
	/* The right password with a NUL and junk after it. */
	TH_CHECK_EQ_INT(gh_ldap_user_authenticate(ld, TENANT, "alice", 5,
	    ALICE_PW "\0junk", strlen(ALICE_PW) + 5), GH_LDAP_BAD_CREDENTIALS);
	/* A search base is a DN from the helpers: a hostile tenant gets none. */
	TH_CHECK(gh_ldap_users_dn(base, "*") == NULL);
	free(users);
}

/*
 * Whether dn (in whatever form slapd returns it) is uid=<name> directly
 * under the test tenant's ou=users: parsed with libldap, compared with
 * the parsed DN our helper builds.
 */
static int
rdn_is(const char *dn, const char *name)
{
	LDAPDN got = NULL, want = NULL;
	char *wdn = gh_ldap_user_dn(base, TENANT, name), *a = NULL, *b = NULL;
	int ok = 0;

	if (wdn == NULL || ldap_str2dn(dn, &got, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS ||
	    ldap_str2dn(wdn, &want, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS)
		goto out;
	ok = got[0] != NULL && got[0][0] != NULL && got[0][1] == NULL &&
	    strcasecmp(got[0][0]->la_attr.bv_val, "uid") == 0 &&
	    got[0][0]->la_value.bv_len == strlen(name) &&
	    memcmp(got[0][0]->la_value.bv_val, name, strlen(name)) == 0;
	/* Same DN once both are printed by libldap. */
	ok = ok && ldap_dn2str(got, &a, LDAP_DN_FORMAT_LDAPV3) == LDAP_SUCCESS &&
	    ldap_dn2str(want, &b, LDAP_DN_FORMAT_LDAPV3) == LDAP_SUCCESS &&
	    strcasecmp(a, b) == 0;
out:
	ldap_memfree(a);
	ldap_memfree(b);
	ldap_dnfree(got);
	ldap_dnfree(want);
	free(wdn);
	return ok;
}

static void
test_special_names(void)
{
	static const char *const names[] = { "o'brien", "a,b", "a+b", "#x",
	    " lead", "trail ", "x=y", "semi;colon", "back\\slash", "q\"uote",
	    "<angle>", "(paren)", "star*", "\xc3\xbcml\xc3\xa4ut", NULL };
	struct gh_ldap_result r;
	char pw[64];
	size_t i;

	TH_TEST("names with DN special characters");
	for (i = 0; names[i] != NULL; i++) {
		snprintf(pw, sizeof(pw), "pw-%zu-special", i);
		TH_CHECK_MSG(gh_ldap_user_create(ld, TENANT, names[i], NULL, pw,
		    strlen(pw)) == GH_LDAP_OK, "create [%s]", names[i]);
		TH_CHECK_MSG(auth(TENANT, names[i], pw) == GH_LDAP_OK, "auth [%s]", names[i]);
		TH_CHECK_MSG(auth(TENANT, names[i], ALICE_PW) == GH_LDAP_BAD_CREDENTIALS,
		    "wrong pw [%s]", names[i]);
		TH_CHECK_MSG(gh_ldap_user_find(ld, TENANT, names[i], NULL, &r) == GH_LDAP_OK &&
		    r.n == 1, "find [%s]", names[i]);
		/* The entry's RDN is exactly the name, its parent the tenant's users. */
		TH_CHECK_MSG(r.n == 1 && rdn_is(r.entries[0].dn, names[i]),
		    "dn of [%s] is %s", names[i], r.n ? r.entries[0].dn : "-");
		TH_CHECK_EQ_STR(r.n == 1 ? gh_ldap_entry_get(&r.entries[0], "uid") : NULL,
		    names[i]);
		gh_ldap_result_free(&r);
	}
	/* "a,b" is one user: neither "a" nor "b" exists. */
	TH_CHECK_EQ_INT(gh_ldap_user_find(ld, TENANT, "a", NULL, &r), GH_LDAP_NOT_FOUND);
	TH_CHECK_EQ_INT(auth(TENANT, "a", "pw-1-special"), GH_LDAP_BAD_CREDENTIALS);
	/* "star*" exists, yet "star" and "st*" do not match it. */
	TH_CHECK_EQ_INT(gh_ldap_user_find(ld, TENANT, "st*", NULL, &r), GH_LDAP_NOT_FOUND);
	TH_CHECK_EQ_INT(auth(TENANT, "star", "pw-12-special"), GH_LDAP_BAD_CREDENTIALS);
}

static int
roles_are(const char *user, const char *const *want)
{
	char **roles = NULL;
	size_t n = 0, i;
	int ok;

	if (gh_ldap_user_roles(ld, TENANT, user, &roles, &n) != GH_LDAP_OK)
		return 0;
	ok = roles != NULL && roles[n] == NULL;
	for (i = 0; ok && want[i] != NULL; i++)
		ok = i < n && strcmp(roles[i], want[i]) == 0;
	ok = ok && i == n;
	gh_ldap_strv_free(roles);
	return ok;
}

static void
test_roles(void)
{
	static const char *const none[] = { NULL };
	static const char *const as[] = { "admin", "subscriber", NULL };
	static const char *const pub[] = { "publisher", NULL };
	static const char *const adm[] = { "admin", NULL };
	static const char *const member[] = { "member", NULL };
	struct gh_ldap_result r;
	char *gdn = gh_ldap_group_dn(base, TENANT, "publisher");
	char *ph = gh_ldap_groups_dn(base, TENANT);

	TH_TEST("roles as groups");
	TH_CHECK(roles_are("alice", none));
	TH_CHECK_EQ_INT(gh_ldap_group_add_member(ld, TENANT, "subscriber", "alice"), GH_LDAP_OK);
	TH_CHECK_EQ_INT(gh_ldap_group_add_member(ld, TENANT, "admin", "alice"), GH_LDAP_OK);
	TH_CHECK_EQ_INT(gh_ldap_group_add_member(ld, TENANT, "admin", "alice"), GH_LDAP_EXISTS);
	TH_CHECK(roles_are("alice", as));
	TH_CHECK(roles_are("bob", none));
	TH_CHECK_EQ_INT(gh_ldap_group_add_member(ld, TENANT, "publisher", "bob"), GH_LDAP_OK);
	TH_CHECK(roles_are("bob", pub));
	/* The placeholder left when bob joined; it comes back when he leaves. */
	TH_CHECK_EQ_INT(gh_ldap_search(ld, gdn, GH_LDAP_SCOPE_BASE, member, 0, &r,
	    "(member=%s)", ph), GH_LDAP_OK);
	TH_CHECK_EQ_INT(r.n, 0);
	gh_ldap_result_free(&r);
	TH_CHECK_EQ_INT(gh_ldap_group_remove_member(ld, TENANT, "publisher", "bob"), GH_LDAP_OK);
	TH_CHECK(roles_are("bob", none));
	TH_CHECK_EQ_INT(gh_ldap_search(ld, gdn, GH_LDAP_SCOPE_BASE, member, 0, &r,
	    "(member=%s)", ph), GH_LDAP_OK);
	TH_CHECK(r.n == 1 && r.entries[0].nattrs == 1 && r.entries[0].attrs[0].nvals == 1);
	gh_ldap_result_free(&r);
	TH_CHECK_EQ_INT(gh_ldap_group_remove_member(ld, TENANT, "publisher", "bob"),
	    GH_LDAP_NOT_FOUND);
	TH_CHECK_EQ_INT(gh_ldap_group_add_member(ld, TENANT, "admin", "nobody"),
	    GH_LDAP_NOT_FOUND);
	TH_CHECK_EQ_INT(gh_ldap_group_add_member(ld, TENANT, "nogroup", "bob"),
	    GH_LDAP_NOT_FOUND);
	/* Removing one of two members keeps the other. */
	TH_CHECK_EQ_INT(gh_ldap_group_add_member(ld, TENANT, "admin", "a,b"), GH_LDAP_OK);
	TH_CHECK(roles_are("a,b", adm));
	TH_CHECK(roles_are("a", none));
	TH_CHECK_EQ_INT(gh_ldap_group_remove_member(ld, TENANT, "admin", "alice"), GH_LDAP_OK);
	TH_CHECK(roles_are("alice", &as[1]));
	TH_CHECK(roles_are("a,b", adm));
	/* A group of another tenant grants nothing here. */
	TH_CHECK_EQ_INT(gh_ldap_group_create(ld, TENANT2, "admin"), GH_LDAP_OK);
	TH_CHECK_EQ_INT(gh_ldap_group_add_member(ld, TENANT2, "admin", "alice"), GH_LDAP_OK);
	TH_CHECK(roles_are("alice", &as[1]));
	free(gdn);
	free(ph);
}

static void
test_empty_password(void)
{
	struct gh_ldap_stats before, after;
	char out[512], cmd[2048];
	char *dn = gh_ldap_user_dn(base, TENANT, "alice");

	TH_TEST("empty password refused before any bind, with bind_anon_dn on");
	snprintf(cmd, sizeof(cmd), "ldapwhoami -x -H '%s' -D '%s' -w '' 2>/dev/null",
	    uri, dn);
	TH_CHECK(capture(cmd, out, sizeof(out)) != 0);
	TH_CHECK_EQ_INT(config_modify("dn: cn=config\nchangetype: modify\n"
	    "add: olcAllows\nolcAllows: bind_anon_dn\n"), 0);
	/* slapd itself now lets a DN with an empty password bind. */
	TH_CHECK_EQ_INT(capture(cmd, out, sizeof(out)), 0);
	TH_CHECK_EQ_STR(out, "anonymous");
	TH_CHECK_EQ_INT(sh("ldapwhoami -x -H '%s' -D 'uid=ghost,ou=users,o=%s,%s' "
	    "-w '' >/dev/null 2>&1", uri, TENANT, base), 0);
	gh_ldap_get_stats(ld, &before);
	TH_CHECK_EQ_INT(gh_ldap_user_authenticate(ld, TENANT, "alice", 5, "", 0),
	    GH_LDAP_BAD_CREDENTIALS);
	TH_CHECK_EQ_INT(gh_ldap_user_authenticate(ld, TENANT, "alice", 5, NULL, 0),
	    GH_LDAP_BAD_CREDENTIALS);
	TH_CHECK_EQ_INT(gh_ldap_user_authenticate(ld, TENANT, "alice", 5, "\0", 1),
	    GH_LDAP_BAD_CREDENTIALS);
	TH_CHECK_EQ_INT(gh_ldap_user_authenticate(ld, TENANT, "ghost", 5, "", 0),
	    GH_LDAP_BAD_CREDENTIALS);
	TH_CHECK_EQ_INT(gh_ldap_user_authenticate(ld, TENANT, "", 0, ALICE_PW,
	    strlen(ALICE_PW)), GH_LDAP_BAD_CREDENTIALS);
	gh_ldap_get_stats(ld, &after);
	TH_CHECK_EQ_INT(after.user_binds, before.user_binds);
	TH_CHECK_EQ_INT(after.operations, before.operations);
	/* The guard does not break real passwords meanwhile. */
	TH_CHECK_EQ_INT(auth(TENANT, "alice", ALICE_PW), GH_LDAP_OK);
	gh_ldap_get_stats(ld, &after);
	TH_CHECK_EQ_INT(after.user_binds, before.user_binds + 1);
	TH_CHECK_EQ_INT(config_modify("dn: cn=config\nchangetype: modify\n"
	    "delete: olcAllows\nolcAllows: bind_anon_dn\n"), 0);
	TH_CHECK(capture(cmd, out, sizeof(out)) != 0);
	free(dn);
}

static void
test_connection(void)
{
	struct gh_ldap_config cfg = { 0 };
	struct gh_ldap_stats st;
	struct gh_ldap_result r;
	struct gh_ldap *bad;
	int fd, i, ok = 1;

	TH_TEST("configuration refusals");
	cfg.uri = uri;
	cfg.base_dn = base;
	cfg.bind_dn = rootdn;
	cfg.bind_password = "";
	TH_CHECK(gh_ldap_new(&cfg) == NULL);
	cfg.bind_password = NULL;
	TH_CHECK(gh_ldap_new(&cfg) == NULL);
	cfg.bind_password = "wrong-service-password";
	bad = gh_ldap_new(&cfg);
	TH_CHECK(bad != NULL);
	if (bad != NULL) {
		TH_CHECK_EQ_INT(gh_ldap_connect(bad), GH_LDAP_ERROR);
		TH_CHECK_EQ_INT(gh_ldap_user_find(bad, TENANT, "alice", NULL, &r),
		    GH_LDAP_ERROR);
		gh_ldap_free(bad);
	}
	cfg.uri = "ldap://127.0.0.1:1";
	cfg.bind_password = rootpw;
	bad = gh_ldap_new(&cfg);
	TH_CHECK(bad != NULL);
	if (bad != NULL) {
		TH_CHECK_EQ_INT(gh_ldap_connect(bad), GH_LDAP_ERROR);
		TH_CHECK_EQ_INT(gh_ldap_user_authenticate(bad, TENANT, "alice", 5,
		    ALICE_PW, strlen(ALICE_PW)), GH_LDAP_ERROR);
		gh_ldap_free(bad);
	}

	TH_TEST("one service connection serves every operation");
	gh_ldap_get_stats(ld, &st);
	TH_CHECK_EQ_INT(st.service_binds, 1);
	TH_CHECK_EQ_INT(st.reconnects, 0);
	TH_CHECK(st.operations > 50);
	fd = gh_ldap_service_fd(ld);
	TH_CHECK(fd >= 0);
	for (i = 0; i < 20; i++) {
		if (gh_ldap_user_find(ld, TENANT, "alice", NULL, &r) != GH_LDAP_OK)
			ok = 0;
		gh_ldap_result_free(&r);
	}
	TH_CHECK(ok);
	TH_CHECK_EQ_INT(gh_ldap_service_fd(ld), fd);
	gh_ldap_get_stats(ld, &st);
	TH_CHECK_EQ_INT(st.service_binds, 1);

	TH_TEST("reconnect after the socket is cut");
	TH_CHECK_EQ_INT(shutdown(fd, SHUT_RDWR), 0);
	TH_CHECK_EQ_INT(gh_ldap_user_find(ld, TENANT, "alice", NULL, &r), GH_LDAP_OK);
	gh_ldap_result_free(&r);
	gh_ldap_get_stats(ld, &st);
	TH_CHECK_EQ_INT(st.reconnects, 1);
	TH_CHECK_EQ_INT(st.service_binds, 2);
	TH_CHECK_EQ_INT(auth(TENANT, "alice", ALICE_PW), GH_LDAP_OK);

	TH_TEST("reconnect after slapd closes an idle connection");
	TH_CHECK_EQ_INT(config_modify("dn: cn=config\nchangetype: modify\n"
	    "replace: olcIdleTimeout\nolcIdleTimeout: 1\n"), 0);
	sleep(3);
	TH_CHECK_EQ_INT(gh_ldap_group_add_member(ld, TENANT, "publisher", "alice"),
	    GH_LDAP_OK);
	gh_ldap_get_stats(ld, &st);
	TH_CHECK_EQ_INT(st.reconnects, 2);
	TH_CHECK_EQ_INT(st.service_binds, 3);
	TH_CHECK_EQ_INT(config_modify("dn: cn=config\nchangetype: modify\n"
	    "delete: olcIdleTimeout\n"), 0);
}

static void
test_argon2(void)
{
	static const char *const pwattr[] = { "userPassword", NULL };
	struct gh_ldap_result r;
	const char *v;

	TH_TEST("server-side Argon2 with the argon2 module");
	TH_CHECK_EQ_INT(config_modify("dn: cn=module{0},cn=config\nchangetype: modify\n"
	    "add: olcModuleLoad\nolcModuleLoad: argon2\n"), 0);
	TH_CHECK_EQ_INT(config_modify("dn: olcDatabase={-1}frontend,cn=config\n"
	    "changetype: modify\nreplace: olcPasswordHash\nolcPasswordHash: {ARGON2}\n"), 0);
	TH_CHECK_EQ_INT(gh_ldap_password_set(ld, TENANT, "bob", "Bob-argon-3", 11),
	    GH_LDAP_OK);
	TH_CHECK_EQ_INT(gh_ldap_user_find(ld, TENANT, "bob", pwattr, &r), GH_LDAP_OK);
	v = r.n == 1 ? gh_ldap_entry_get(&r.entries[0], "userPassword") : NULL;
	TH_CHECK_MSG(v != NULL && strncmp(v, "{ARGON2}$argon2", 15) == 0, "stored %s",
	    v ? v : "(none)");
	gh_ldap_result_free(&r);
	TH_CHECK_EQ_INT(auth(TENANT, "bob", "Bob-argon-3"), GH_LDAP_OK);
	TH_CHECK_EQ_INT(auth(TENANT, "bob", "Bob-pw-2"), GH_LDAP_BAD_CREDENTIALS);
	TH_CHECK_EQ_INT(config_modify("dn: olcDatabase={-1}frontend,cn=config\n"
	    "changetype: modify\ndelete: olcPasswordHash\n"), 0);
}

/* Make a CA and a server certificate for 127.0.0.1 under dir; 0 on success. */
static int
make_certs(const char *dir, const char *name)
{
	return sh("cd '%s' && exec >/dev/null 2>&1 && "
	    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
	    "-keyout %s-ca.key -out %s-ca.crt -subj /CN=%s-ca -days 2 && "
	    "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
	    "-keyout %s.key -out %s.csr -subj /CN=127.0.0.1 && "
	    "printf 'subjectAltName=IP:127.0.0.1\\n' >%s.ext && "
	    "openssl x509 -req -in %s.csr -CA %s-ca.crt -CAkey %s-ca.key "
	    "-CAcreateserial -days 2 -extfile %s.ext -out %s.crt",
	    dir, name, name, name, name, name, name, name, name, name, name, name)
	    == 0 ? 0 : -1;
}

static void
test_starttls(void)
{
	char ldif[8192], ca[4096], other[4096];
	struct gh_ldap *tls;
	struct gh_ldap_result r;

	TH_TEST("StartTLS with a CA file");
	if (make_certs(tmp, "srv") != 0 || make_certs(tmp, "rogue") != 0) {
		TH_CHECK(!"certificates made");
		return;
	}
	snprintf(ldif, sizeof(ldif), "dn: cn=config\nchangetype: modify\n"
	    "replace: olcTLSCACertificateFile\nolcTLSCACertificateFile: %s/srv-ca.crt\n-\n"
	    "replace: olcTLSCertificateFile\nolcTLSCertificateFile: %s/srv.crt\n-\n"
	    "replace: olcTLSCertificateKeyFile\nolcTLSCertificateKeyFile: %s/srv.key\n",
	    tmp, tmp, tmp);
	TH_CHECK_EQ_INT(config_modify(ldif), 0);
	snprintf(ca, sizeof(ca), "%s/srv-ca.crt", tmp);
	snprintf(other, sizeof(other), "%s/rogue-ca.crt", tmp);

	tls = open_service(uri, 1, ca);
	TH_CHECK(tls != NULL);
	if (tls != NULL) {
		TH_CHECK_EQ_INT(gh_ldap_connect(tls), GH_LDAP_OK);
		TH_CHECK_EQ_INT(gh_ldap_user_find(tls, TENANT, "alice", NULL, &r), GH_LDAP_OK);
		gh_ldap_result_free(&r);
		TH_CHECK_EQ_INT(gh_ldap_user_authenticate(tls, TENANT, "alice", 5,
		    ALICE_PW, strlen(ALICE_PW)), GH_LDAP_OK);
		TH_CHECK_EQ_INT(gh_ldap_user_authenticate(tls, TENANT, "alice", 5,
		    "nope", 4), GH_LDAP_BAD_CREDENTIALS);
		gh_ldap_free(tls);
	}
	/* A server whose certificate is not from our CA is refused. */
	tls = open_service(uri, 1, other);
	TH_CHECK(tls != NULL);
	if (tls != NULL) {
		TH_CHECK_EQ_INT(gh_ldap_connect(tls), GH_LDAP_ERROR);
		TH_CHECK_EQ_INT(gh_ldap_user_authenticate(tls, TENANT, "alice", 5,
		    ALICE_PW, strlen(ALICE_PW)), GH_LDAP_ERROR);
		gh_ldap_free(tls);
	}
	/*
	 * slapd 2.5 refuses to delete its TLS settings (53), so they stay;
	 * harmless, TLS is only used when a client asks for StartTLS.
	 */
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	gh_log_init("test_ldap", 2, GH_LOG_WARN);
	base = getenv("GH_TEST_LDAP_BASE");
	uri = getenv("GH_TEST_LDAP_URI");
	ldapi = getenv("GH_TEST_LDAP_LDAPI");
	rootdn = getenv("GH_TEST_LDAP_ROOTDN");
	rootpw = getenv("GH_TEST_LDAP_ROOTPW");
	tmp = getenv("GH_TMP");

	test_name_split();
	test_escaping();

	TH_TEST("environment");
	TH_CHECK(base && uri && ldapi && rootdn && rootpw && tmp);
	if (!(base && uri && ldapi && rootdn && rootpw && tmp))
		TH_END();
	ld = open_service(uri, 0, NULL);
	TH_CHECK(ld != NULL);
	if (ld == NULL)
		TH_END();
	TH_CHECK_EQ_INT(gh_ldap_connect(ld), GH_LDAP_OK);
	TH_CHECK_EQ_STR(gh_ldap_base_dn(ld), base);

	test_layout();
	test_authenticate();
	test_injection();
	test_special_names();
	test_roles();
	test_empty_password();
	test_connection();
	test_argon2();
	test_starttls();
	gh_ldap_free(ld);
	TH_END();
}
