/*
 * The LDAP library: one reusable service connection to the directory
 * (OpenLDAP libldap), searches whose filters are built only from
 * templates with escaped values, RFC 4514-escaped DNs, user
 * authentication that refuses empty passwords before any bind, and the
 * directory layout that `gatehouse init`, the key manager's user API and
 * the internal gateway share.  Nothing here takes raw user text into a
 * filter or a DN.
 *
 * Directory layout (the contract; base DN from the configuration, the
 * tests use dc=gatehouse):
 *
 *   <base>
 *     o=<tenant domain>                organization, o: <tenant domain>
 *       ou=users                       organizationalUnit
 *         uid=<user name>              inetOrgPerson: uid, cn, sn, mail,
 *                                      userPassword (hashed by slapd)
 *       ou=groups                      organizationalUnit
 *         cn=<role>                    groupOfNames: cn, member = user DNs
 *
 * The super tenant is o=carbon.super.  Roles are the groups of a tenant
 * (admin, creator, publisher, subscriber, plus any the tenant adds); a
 * user's roles are the groups whose member holds the user's DN.
 *
 * Empty groups: groupOfNames requires at least one member, so a group
 * with no users holds one placeholder member, the DN of its own tenant's
 * ou=groups entry (gh_ldap_groups_dn).  That DN is never a user, so it
 * never grants a role; gh_ldap_group_create adds it and
 * gh_ldap_group_add_member / gh_ldap_group_remove_member take it out and
 * put it back as the group's user list becomes non-empty or empty.
 *
 * Passwords: the library never writes userPassword with add or modify
 * (gh_ldap_add and gh_ldap_modify refuse that attribute).  Passwords are
 * set with the LDAP Password Modify extended operation (RFC 3062), for
 * which slapd hashes the new password itself with its olcPasswordHash
 * scheme, {SSHA} when unset.  Why: slapd stores add/modify values as
 * given, so the alternatives were cleartext (unacceptable) or hashing
 * here with a scheme slapd verifies natively ({SSHA}, salted SHA-1) —
 * while a hash chosen by the server follows the deployment's policy, and
 * a deployment that loads the argon2 module (shipped with Debian's slapd)
 * and sets olcPasswordHash: {ARGON2} gets Argon2 with no change here and
 * no extra library in our binaries (OpenSSL 3.0 has no Argon2).  The
 * tests prove both the default {SSHA} and {ARGON2} after loading the
 * module at run time.
 *
 * Threads: a struct gh_ldap may be shared; every call on the service
 * connection holds its mutex.  Calls block (libldap synchronous API) for
 * at most the configured timeouts.  The process must ignore SIGPIPE
 * (every Gatehouse binary does): libldap writes to sockets the server may
 * have closed.
 */
#ifndef GH_LDAP_H
#define GH_LDAP_H

#include <stdarg.h>
#include <stddef.h>

#define GH_LDAP_SUPER_TENANT	"carbon.super"
#define GH_LDAP_USERS_OU	"users"
#define GH_LDAP_GROUPS_OU	"groups"

/* Result codes of every call below (never libldap's codes). */
enum gh_ldap_rc {
	GH_LDAP_OK = 0,
	GH_LDAP_BAD_CREDENTIALS,	/* authentication refused */
	GH_LDAP_NOT_FOUND,		/* no such entry / value */
	GH_LDAP_EXISTS,			/* entry or value already there */
	GH_LDAP_INVALID,		/* bad argument or schema violation */
	GH_LDAP_ERROR			/* unreachable, timeout, other failure */
};

/* Static name of a gh_ldap_rc ("ok", "bad_credentials", ...). */
const char *gh_ldap_rc_str(int rc);

/*
 * Connection settings; gh_ldap_new copies every string.
 *   uri             ldap://host:port or ldaps://host:port
 *   base_dn         the directory base, e.g. "dc=gatehouse"
 *   bind_dn/_password  the service identity; bind_dn NULL binds nothing
 *                   (anonymous), a bind_dn with an empty password is
 *                   refused (it would be an unauthenticated bind)
 *   starttls        1: StartTLS on an ldap:// URI (certificate required)
 *   ca_file         CA bundle for ldaps/StartTLS; NULL: system default
 *   network_timeout_ms  connect timeout (0: 5000)
 *   op_timeout_ms   per-operation timeout (0: 10000)
 */
struct gh_ldap_config {
	const char	*uri;
	const char	*base_dn;
	const char	*bind_dn;
	const char	*bind_password;
	int		 starttls;
	const char	*ca_file;
	int		 network_timeout_ms;
	int		 op_timeout_ms;
};

struct gh_ldap;

/* Counters, for diagnostics and tests. */
struct gh_ldap_stats {
	unsigned long	service_binds;	/* binds of the service connection */
	unsigned long	user_binds;	/* binds done to check a password */
	unsigned long	reconnects;	/* service connection re-opened after loss */
	unsigned long	operations;	/* operations on the service connection */
};

/*
 * Make a handle from cfg (strings copied; no network I/O yet: the service
 * connection opens on first use).  Returns NULL on a missing uri or
 * base_dn, an empty service password, or out of memory.  Free with
 * gh_ldap_free.
 */
struct gh_ldap *gh_ldap_new(const struct gh_ldap_config *cfg);

struct gh_settings;
/*
 * Fill cfg from a node configuration's ldap.* settings (strings borrowed
 * from s; timeouts 5 s to connect, 10 s per operation).  config.c.
 */
void gh_ldap_config_from_settings(const struct gh_settings *s, struct gh_ldap_config *cfg);

/*
 * Open and bind the service connection now (for fail-fast start-up).
 * Returns GH_LDAP_OK, or GH_LDAP_ERROR when the server is unreachable or
 * refuses the service identity.
 */
int gh_ldap_connect(struct gh_ldap *ld);

/* Unbind, wipe the service password and free; NULL is allowed. */
void gh_ldap_free(struct gh_ldap *ld);

/*
 * The calling thread's own connection (thread.c): made with cfg on the
 * thread's first call, reused after, freed when the thread exits.  One
 * configuration per process (later calls' cfg is not read once the thread
 * has its connection).  Borrowed: never free it.  NULL when it cannot be
 * made (cfg incomplete, out of memory), as gh_ldap_new.
 */
struct gh_ldap *gh_ldap_thread(const struct gh_ldap_config *cfg);

/* The configured base DN (owned by ld). */
const char *gh_ldap_base_dn(const struct gh_ldap *ld);

/* Copy the counters into *out. */
void gh_ldap_get_stats(struct gh_ldap *ld, struct gh_ldap_stats *out);

/*
 * The socket of the service connection, -1 when not connected.  For
 * diagnostics and the tests that cut the connection; never close it.
 */
int gh_ldap_service_fd(struct gh_ldap *ld);

/* ---- Escaping and filters (pure) ---- */

/*
 * RFC 4514 escaping of one attribute value of len bytes for a DN:
 * ,+"\<>;= are backslash-escaped, a leading space or '#' and a trailing
 * space likewise, NUL and other control bytes as \XX.  Returns a
 * malloc'd string (caller frees), NULL when len is 0 or out of memory.
 */
char *gh_ldap_dn_escape(const char *v, size_t len);

/*
 * RFC 4515 escaping of one filter value of len bytes (* ( ) \ NUL and
 * non-ASCII as \XX, by ldap_bv2escaped_filter_value).  Returns a malloc'd
 * string (caller frees), NULL when out of memory.
 */
char *gh_ldap_filter_escape(const char *v, size_t len);

/*
 * Build a filter from a template written in code, replacing each
 * placeholder with an escaped value: %s takes a const char * (NUL-
 * terminated), %b takes a const char * and a size_t length (the value
 * may contain NUL), %% is a literal '%'.  Any other '%' sequence or a
 * NULL %s value fails.  Returns a malloc'd string (caller frees) or NULL.
 * Example: gh_ldap_filter_build("(&(objectClass=inetOrgPerson)(uid=%s))",
 * name).
 */
char *gh_ldap_filter_build(const char *fmt, ...);
char *gh_ldap_filter_vbuild(const char *fmt, va_list ap);

/* ---- DNs of the layout (pure; results malloc'd, caller frees) ---- */

/*
 * A tenant domain is 1..253 bytes of letters, digits, '.', '-' and '_'
 * (the super tenant "carbon.super" is one).  Returns 1 when valid.
 */
int gh_ldap_tenant_valid(const char *tenant);

/* "o=<tenant>,<base>"; NULL on an invalid tenant or out of memory. */
char *gh_ldap_tenant_dn(const char *base, const char *tenant);
/* "ou=users,o=<tenant>,<base>"; NULL as above. */
char *gh_ldap_users_dn(const char *base, const char *tenant);
/* "ou=groups,o=<tenant>,<base>" (also the empty-group placeholder). */
char *gh_ldap_groups_dn(const char *base, const char *tenant);
/* "uid=<escaped user>,ou=users,o=<tenant>,<base>"; NULL on an empty user. */
char *gh_ldap_user_dn(const char *base, const char *tenant, const char *user);
/* "cn=<escaped role>,ou=groups,o=<tenant>,<base>"; NULL on an empty role. */
char *gh_ldap_group_dn(const char *base, const char *tenant, const char *role);

/* ---- User names (pure) ---- */

/*
 * Split a WSO2-style user name (DESIGN.md "Tokens, tenants and
 * audiences"): the tenant is the part after the last '@' when that part
 * is carbon.super or is_tenant(part, arg) returns non-zero; otherwise the
 * whole name is a user of carbon.super.  On success stores the user
 * name's length (the user is name[0 .. *user_len)) and the tenant (a
 * pointer into name, or GH_LDAP_SUPER_TENANT) and returns 0; returns -1
 * for a NULL or empty name or an empty user part ("@acme.com").
 * is_tenant may be NULL (no tenant but the super tenant is known).
 */
int gh_ldap_name_split(const char *name,
    int (*is_tenant)(const char *domain, void *arg), void *arg,
    size_t *user_len, const char **tenant);

/*
 * A stock is_tenant callback: arg is a NULL-terminated const char *
 * array of known domains, compared case-insensitively.
 */
int gh_ldap_domain_in_list(const char *domain, void *arg);

/* ---- Search results (owned copies; no libldap memory escapes) ---- */

struct gh_ldap_value {
	char	*val;		/* NUL-terminated copy */
	size_t	 len;		/* length without that NUL */
};

struct gh_ldap_attr {
	char			*name;
	struct gh_ldap_value	*vals;
	size_t			 nvals;
};

struct gh_ldap_entry {
	char			*dn;
	struct gh_ldap_attr	*attrs;
	size_t			 nattrs;
};

struct gh_ldap_result {
	struct gh_ldap_entry	*entries;
	size_t			 n;
	int			 truncated;	/* the size limit cut it */
};

/* Free everything a result holds and zero it; NULL is allowed. */
void gh_ldap_result_free(struct gh_ldap_result *r);

/*
 * First value of attribute attr (name compared case-insensitively) of e,
 * or NULL.  Owned by the result.
 */
const char *gh_ldap_entry_get(const struct gh_ldap_entry *e, const char *attr);

/* Free a NULL-terminated string array returned by this library. */
void gh_ldap_strv_free(char **v);

/* ---- Operations on the service connection ---- */

enum gh_ldap_scope { GH_LDAP_SCOPE_BASE, GH_LDAP_SCOPE_ONE, GH_LDAP_SCOPE_SUB };

/*
 * Search under base with a filter built from the template fmt and its
 * values exactly as gh_ldap_filter_build does.  attrs is a NULL-terminated
 * list (NULL: all user attributes); sizelimit 0 means none.  On
 * GH_LDAP_OK *out holds the entries (maybe none; out->truncated when the
 * limit cut them) and the caller frees it with gh_ldap_result_free; on
 * any other result *out is empty.  Returns GH_LDAP_NOT_FOUND when base
 * does not exist, GH_LDAP_INVALID for a bad template, GH_LDAP_ERROR
 * otherwise.
 */
int gh_ldap_search(struct gh_ldap *ld, const char *base,
    enum gh_ldap_scope scope, const char *const *attrs, int sizelimit,
    struct gh_ldap_result *out, const char *fmt, ...);

enum gh_ldap_mod_op { GH_LDAP_MOD_ADD, GH_LDAP_MOD_REPLACE, GH_LDAP_MOD_DELETE };

/*
 * One attribute change: vals is a NULL-terminated list of string values
 * (NULL or empty with GH_LDAP_MOD_DELETE: remove the whole attribute).
 * For gh_ldap_add the op is ignored.
 */
struct gh_ldap_mod {
	enum gh_ldap_mod_op	 op;
	const char		*attr;
	const char *const	*vals;
};

/*
 * Add the entry dn with the n attributes of mods.  dn must come from the
 * DN helpers above (values escaped).  userPassword is refused
 * (GH_LDAP_INVALID): use gh_ldap_password_set.  Returns GH_LDAP_OK,
 * GH_LDAP_EXISTS, GH_LDAP_NOT_FOUND (no parent), GH_LDAP_INVALID (schema
 * or syntax) or GH_LDAP_ERROR.
 */
int gh_ldap_add(struct gh_ldap *ld, const char *dn,
    const struct gh_ldap_mod *mods, size_t n);

/*
 * Apply the n changes of mods to dn in one operation (all or nothing).
 * userPassword is refused as in gh_ldap_add.  Returns GH_LDAP_OK,
 * GH_LDAP_NOT_FOUND (no entry, or deleting a value it lacks),
 * GH_LDAP_EXISTS (adding a value it has), GH_LDAP_INVALID or GH_LDAP_ERROR.
 */
int gh_ldap_modify(struct gh_ldap *ld, const char *dn,
    const struct gh_ldap_mod *mods, size_t n);

/* Delete the leaf entry dn.  GH_LDAP_OK, GH_LDAP_NOT_FOUND, ..._ERROR. */
int gh_ldap_delete(struct gh_ldap *ld, const char *dn);

/* ---- The layout: tenants, users, groups ---- */

/*
 * Create o=<tenant> with its ou=users and ou=groups.  Returns GH_LDAP_OK
 * when the tenant entry was created (and any missing ou added),
 * GH_LDAP_EXISTS when it was already there (missing ous are still
 * added), GH_LDAP_INVALID for a bad domain, GH_LDAP_ERROR.
 */
int gh_ldap_tenant_create(struct gh_ldap *ld, const char *tenant);

/* Optional attributes of a new user; NULL fields default to the user name. */
struct gh_ldap_user_info {
	const char	*cn;
	const char	*sn;
	const char	*mail;		/* NULL: no mail attribute */
};

/*
 * Create user in tenant (inetOrgPerson uid=<user>) and set its password
 * with gh_ldap_password_set.  info may be NULL.  An empty password or one
 * containing NUL is refused (GH_LDAP_INVALID) before anything is written.
 * Returns GH_LDAP_OK, GH_LDAP_EXISTS, GH_LDAP_NOT_FOUND (no tenant),
 * GH_LDAP_INVALID or GH_LDAP_ERROR; if setting the password fails the new
 * entry is deleted again.
 */
int gh_ldap_user_create(struct gh_ldap *ld, const char *tenant,
    const char *user, const struct gh_ldap_user_info *info,
    const char *password, size_t password_len);

/*
 * Set a user's password with the Password Modify extended operation;
 * slapd hashes it (see the top of this file).  An empty password or one
 * containing NUL is GH_LDAP_INVALID.  GH_LDAP_NOT_FOUND for no such user.
 */
int gh_ldap_password_set(struct gh_ldap *ld, const char *tenant,
    const char *user, const char *password, size_t password_len);

/*
 * Look user up in tenant by an escaped uid filter.  attrs as in
 * gh_ldap_search.  GH_LDAP_OK with exactly one entry in *out (caller
 * frees with gh_ldap_result_free), GH_LDAP_NOT_FOUND, GH_LDAP_ERROR
 * (including an ambiguous name).
 */
int gh_ldap_user_find(struct gh_ldap *ld, const char *tenant,
    const char *user, const char *const *attrs, struct gh_ldap_result *out);

/*
 * Check a password.  Refused with GH_LDAP_BAD_CREDENTIALS before any
 * search or bind: an empty password or user, a NUL inside either, an
 * invalid tenant.  Then the user is searched under the tenant's ou=users
 * by (&(objectClass=inetOrgPerson)(uid=<escaped>)); anything but exactly
 * one match is GH_LDAP_BAD_CREDENTIALS; the found DN is bound on a fresh
 * connection (the service connection is untouched).  Returns GH_LDAP_OK,
 * GH_LDAP_BAD_CREDENTIALS or GH_LDAP_ERROR (directory unreachable).
 */
int gh_ldap_user_authenticate(struct gh_ldap *ld, const char *tenant,
    const char *user, size_t user_len, const char *password,
    size_t password_len);

/*
 * The roles of user in tenant: the cn of every groupOfNames under the
 * tenant's ou=groups whose member is the user's DN.  On GH_LDAP_OK
 * *roles is a NULL-terminated array (free with gh_ldap_strv_free) of *n
 * names, sorted; a user with no groups gets an empty array.
 */
int gh_ldap_user_roles(struct gh_ldap *ld, const char *tenant,
    const char *user, char ***roles, size_t *n);

/*
 * Create the group cn=<role> in tenant with the placeholder member.
 * GH_LDAP_OK, GH_LDAP_EXISTS, GH_LDAP_NOT_FOUND (no tenant),
 * GH_LDAP_INVALID, GH_LDAP_ERROR.
 */
int gh_ldap_group_create(struct gh_ldap *ld, const char *tenant,
    const char *role);

/*
 * Add user (of the same tenant) to the group role, removing the
 * placeholder.  GH_LDAP_EXISTS when already a member, GH_LDAP_NOT_FOUND
 * when the user or group does not exist.
 */
int gh_ldap_group_add_member(struct gh_ldap *ld, const char *tenant,
    const char *role, const char *user);

/*
 * Remove user from the group role; the last user is replaced by the
 * placeholder in the same operation.  GH_LDAP_NOT_FOUND when the user was
 * no member or the group does not exist.
 */
int gh_ldap_group_remove_member(struct gh_ldap *ld, const char *tenant,
    const char *role, const char *user);

#endif
