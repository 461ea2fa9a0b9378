/*
 * The OAuth2 grants of the key manager: what token.c (the token endpoint
 * and its grants), authorize.c (the authorization endpoint) and
 * login_page.c (its HTML) share.  Internal to those three files; the
 * contract with the rest of the key manager stays km.h (km_oauth_routes).
 */
#ifndef KM_OAUTH_H
#define KM_OAUTH_H

#include <stddef.h>

#include "keymanager/km.h"

/* ---- token.c ---- */

/*
 * RFC 6749 §3.3 scope syntax: scope-token *( SP scope-token ), each token
 * of %x21 / %x23-5B / %x5D-7E, at most 4096 bytes in all.  1 valid, 0 not.
 * NULL and "" are valid (no scope requested).
 */
int km_scope_syntax_ok(const char *scope);

struct gh_form;
/*
 * The form body of an OAuth endpoint: Content-Type, syntax, no repeated
 * parameter.  0 ok (*f to gh_form_free), -1 replied with invalid_request.
 */
int km_oauth_form_parse(struct gh_call *c, struct gh_form *f);
/* The name of a parameter that occurs more than once in f (borrowed), or NULL. */
const char *km_form_repeated(const struct gh_form *f);

/*
 * RFC 7636 code_verifier syntax (43..128 of [A-Za-z0-9-._~]) when
 * min_len is 43; the same alphabet is used for code challenges.  1 valid.
 */
int km_pkce_string_ok(const char *s, size_t min_len, size_t max_len);

/*
 * PKCE S256: BASE64URL(SHA256(verifier)) equals challenge, compared in
 * constant time; the verifier must have valid syntax.  1 match, 0 not.
 */
int km_pkce_s256_ok(const char *verifier, const char *challenge);

/*
 * The subject of a user's tokens, as the client knows the user: "alice"
 * in carbon.super, "alice@acme.com" in tenant acme.com.  malloc'd (caller
 * frees), NULL when out of memory.
 */
char *km_subject_name(const char *user, const char *tenant);

/*
 * A user's password check for a client (password grant and login page):
 * split username into user and tenant, refuse a tenant other than the
 * client's unless the client is saas, refuse an empty password before any
 * LDAP traffic, then km_user_login (lock-outs, audit).  On 0 *user and
 * *tenant are malloc'd (caller frees).  Returns 0 ok, 1 bad credentials,
 * 2 locked out, -1 error (database or LDAP down).
 */
int km_oauth_user_check(struct gh_call *c, struct gh_pg *db, const struct km_client *cl,
    const char *username, const char *password, char **user, char **tenant);

/*
 * Revoke a refresh family inside the caller's open transaction: its
 * refresh tokens become 'revoked'; its unexpired access tokens (JWT jtis
 * of gh_family_tokens and opaque tokens of the family) go into
 * gh_revoked_tokens, each with a token.revoked event {"jti","exp"} in the
 * tenant's outbox; audited with reason.  Returns the number of access
 * tokens revoked, or -1 on a database error (the caller rolls back).
 */
int km_family_revoke(struct gh_pg *db, const struct gh_call *c, const char *family_id,
    const char *tenant, const char *client_id, const char *reason);

/* ---- authorize.c ---- */

/* GET and POST /oauth2/authorize (request, login form and its submission). */
void km_authorize_routes(struct gh_router *r);

/* ---- login_page.c ---- */

/*
 * HTML-escape s (& < > " ' and control characters) into a malloc'd
 * string (caller frees); NULL is taken as "".  NULL when out of memory.
 */
char *km_html_escape(const char *s);

/* What the login page shows; every string is escaped when rendered. */
struct km_login_view {
	const char *client_name;        /* the application signing in */
	const char *session_key;        /* the signed authorization request */
	const char *csrf;               /* double-submit token (also in a cookie) */
	const char *username;           /* to pre-fill after a failure; may be NULL */
	const char *error;              /* message to show; may be NULL */
	const char *redirect_uri;       /* the client's: its origin joins form-action (may be NULL) */
};

/*
 * Reply with an HTML page: status, body, and the security headers every
 * page of the authorization endpoint carries (no-store, frame denial,
 * CSP default-src 'none', nosniff, no referrer).
 */
void gh_reply_html(struct gh_call *c, int status, const char *html, size_t len);

/* Reply the sign-in page for v with status (200, or 401 after a failed attempt). */
void gh_reply_login_page(struct gh_call *c, int status, const struct km_login_view *v);

/* Reply an error page (never a redirect): title and message are escaped. */
void gh_reply_error_page(struct gh_call *c, int status, const char *title, const char *message);

#endif
