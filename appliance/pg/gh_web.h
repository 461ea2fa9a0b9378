/*
 * The web UIs' shared foundation (DESIGN.md "web sessions are kept in the
 * database"): sessions in gh_web_sessions (keyed by the SHA-256 of their
 * id, so a database dump holds no usable cookie), the sign-in
 * pre-sessions of the authorization code + PKCE flow, the login clients
 * that `gatehouse init` registers (gh_web_clients, secrets sealed under
 * keys.signing_kek), security headers and embedded static assets.
 *
 * One UI per process: gh_web_init names it ("devportal", "publisher") and
 * its cookie; gh_call_auth (call_auth.c) then also accepts that cookie,
 * with the CSRF header on every state change.  Functions that take a db
 * run on pool workers (pg/gh_call.h); the rest are pure.
 */
#ifndef GH_WEB_H
#define GH_WEB_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "core/gh_mauth.h"
#include "pg/gh_call.h"

#define GH_WEB_IDLE_SECONDS   1800      /* a session unused this long ends */
#define GH_WEB_ABS_SECONDS    28800     /* no session outlives this */
#define GH_WEB_LOGIN_SECONDS  600       /* a sign-in pre-session */
#define GH_WEB_CSRF_HEADER    "X-CSRF-Token"
#define GH_WEB_KEYLEN         32

/* The UIs, their login clients (client_id) and callback paths. */
#define GH_WEB_DEVPORTAL_CLIENT "gatehouse-devportal"
#define GH_WEB_PUBLISHER_CLIENT "gatehouse-publisher-console"

/* One embedded file (generated from the files of portal/web, publisher/web by the Makefile). */
struct gh_web_asset {
	const char *name;               /* "app.js" */
	const char *ctype;              /* "text/javascript; charset=utf-8" */
	const char *etag;               /* "\"<16 hex of SHA-256>\"" */
	const unsigned char *data;
	size_t len;
};

/* A signed-in session as gh_web_session_find reads it. */
struct gh_web_session {
	struct gh_principal p;          /* the user (p.scope malloc'd: gh_principal_clear) */
	char csrf_hash[65];
};

/*
 * Make this process serve UI ui ("devportal" or "publisher"; copied) with
 * cookie cookie ("__Host-gh_devportal"; copied), sealing secrets under
 * keys derived from kek (copied; NULL: the UI answers 503 and gh_call_auth
 * ignores cookies).  Call once at start-up, before serving.
 */
void gh_web_init(const char *ui, const char *cookie, const unsigned char *kek);

/* The cookie name gh_web_init set, or NULL when no UI is served. */
const char *gh_web_cookie_name(void);

/* 1 when gh_web_init was given a key (sessions can be made). */
int gh_web_ready(void);

/* The value of cookie name in c's Cookie headers (malloc'd), or NULL. */
char *gh_web_cookie_get(const struct gh_call *c, const char *name);

/* 1 when c carries credentials: an Authorization header or the UI's session cookie. */
int gh_web_has_credentials(const struct gh_call *c);

/*
 * Set-Cookie for name=value (NULL value: delete it) with HttpOnly, Secure,
 * SameSite=Lax and Path=/, Max-Age max_age seconds.
 */
void gh_web_set_cookie(struct gh_call *c, const char *name, const char *value, int max_age);

/* The CSRF token of session id sid (derived from it) into out (44 bytes). */
int gh_web_csrf_token(const char *sid, char out[44]);

/*
 * Authenticate c by the UI's session cookie (called by gh_call_auth when
 * no Authorization header came): the live session (idle and absolute
 * expiry; last-seen refreshed), and on POST, PUT, PATCH and DELETE the
 * X-CSRF-Token header matching it.  0 with *out filled (release with
 * gh_principal_clear); otherwise it replied (401 no or expired session,
 * clearing the cookie; 403 CSRF; 503 database) and returns -1.
 */
int gh_web_session_auth(struct gh_call *c, struct gh_pg *db, struct gh_principal *out);

/*
 * A new session for principal p (as verified from its access token),
 * keeping the tokens (sealed under a key derived from the session id, for
 * revocation at logout).  Returns the new session id (malloc'd, the
 * cookie's value; free with gh_free_secret) or NULL on a database error.
 */
char *gh_web_session_create(struct gh_pg *db, const struct gh_principal *p, const char *access_token,
    const char *refresh_token);

/*
 * Delete session sid of this UI; *access_token and *refresh_token (may be
 * NULL) receive its tokens for revocation (malloc'd, free with
 * gh_free_secret; NULL when none).  0 deleted, 1 no such session, -1
 * database error.
 */
int gh_web_session_delete(struct gh_pg *db, const char *sid, char **access_token, char **refresh_token);

/*
 * A sign-in pre-session: state and the PKCE verifier of one authorization
 * request, and where to go afterwards (return_to, a local path).  Returns
 * its id (malloc'd: the login cookie) with *state and *challenge (S256 of
 * the verifier) malloc'd, or NULL.
 */
char *gh_web_login_begin(struct gh_pg *db, const char *return_to, char **state, char **challenge);

/*
 * Take (and delete) pre-session id when state matches: 0 with *verifier
 * and *return_to malloc'd; 1 unknown, expired or another state; -1
 * database error.
 */
int gh_web_login_take(struct gh_pg *db, const char *id, const char *state, char **verifier,
    char **return_to);

/*
 * The login client of ui: its client_id, secret (opened with the kek) and
 * registered redirect URIs (space-separated).  0 with each malloc'd (free
 * the secret with gh_free_secret), 1 none registered, -1 error.
 */
int gh_web_client_get(struct gh_pg *db, const char *ui, char **client_id, char **secret, char **redirects);

/*
 * Register or update (idempotently) ui's login client for gatehouse init:
 * client client_id of carbon.super, SaaS (users of every tenant sign in),
 * authorization_code and refresh_token grants, management audience, the
 * redirect URIs (space-separated, at least one).  A new client gets a
 * random secret sealed under kek.  Returns 0 unchanged, 1 created, 2
 * redirect URIs updated, -1 database error (message on db).
 */
int gh_web_client_register(struct gh_pg *db, const unsigned char kek[GH_WEB_KEYLEN], const char *ui,
    const char *client_id, const char *redirects);

/*
 * Security headers of every UI response: a Content-Security-Policy with
 * no inline script (script-src 'self'), frame-ancestors 'none';
 * X-Content-Type-Options, Referrer-Policy, X-Frame-Options.
 */
void gh_web_security_headers(struct gh_call *c);

/*
 * Reply with asset name of the table (n entries): 200 with its type,
 * ETag and a short cache; 304 when If-None-Match names its ETag; 404
 * when absent.  Adds the security headers.
 */
void gh_web_asset_reply(struct gh_call *c, const struct gh_web_asset *assets, size_t n, const char *name);

/* ---- the routes every UI shares (web_login.c) ---- */

/*
 * A web UI as web_login.c serves it.  Every pointer is borrowed and must
 * outlive the process's serving (a static of the UI's component).
 */
struct gh_web_ui {
	const char *ui;                 /* "devportal": gh_web_init's name, the login client's ui */
	const char *prefix;             /* "/devportal": everything of the UI is under it */
	const char *title;              /* "developer portal": in messages and error pages */
	const char *cookie;             /* the session cookie ("__Host-gh_devportal") */
	const char *login_cookie;       /* the sign-in pre-session's cookie */
	const char *scope;              /* scopes asked for at sign-in (space-separated) */
	const char *component;          /* audit rows' component ("portal") */
	const char *km_url;             /* the key manager's public URL */
	SSL_CTX *tls_km;                /* client TLS context for the key manager */
	struct gh_mauth *mauth;         /* verifies the sign-in's access token */
	const struct gh_web_asset *assets;  /* the embedded files, index.html the page */
	size_t nassets;
	/*
	 * Where to go after sign-in, from the login request: writes a local
	 * path into out (cap bytes) and returns 0, or replies (an error page)
	 * and returns -1.  NULL: PREFIX/.
	 */
	int (*login_return)(struct gh_call *c, char *out, size_t cap);
};

/*
 * Serve UI u on r (the REST port): GET PREFIX (the page, index.html),
 * PREFIX/assets/{name}, PREFIX/session ({"authenticated", "user",
 * "tenant", "scopes", "csrfToken"}), PREFIX/login (302 to the key
 * manager's authorize endpoint with PKCE S256), PREFIX/callback (a fresh
 * session, 302 to the login's return path) and POST PREFIX/logout (CSRF
 * header; revokes the session's tokens).  u is kept (one UI per
 * process); call after gh_web_init, at start-up.
 */
void gh_web_ui_routes(struct gh_router *r, const struct gh_web_ui *u);

/* The UI's page (index.html) on the loop: for extra page routes of a UI (always replies, 1). */
int gh_web_page_fast(struct gh_call *c);

/* The same on a worker (the fallback of gh_call_route_fast). */
void gh_web_page_work(struct gh_call *c, struct gh_pg *db);

/*
 * An HTML error page (title and text escaped) styled by the UI's
 * stylesheet, with a link back to the UI and the security headers.
 */
void gh_web_error_page(struct gh_call *c, int status, const char *title, const char *text);

#endif
