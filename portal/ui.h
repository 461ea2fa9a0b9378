/*
 * The developer portal's web UI (ui.c, ui_login.c): the single page and
 * its assets under /devportal/ (the files of portal/web, embedded at build time by
 * portal/web/embed.sh into portal_web_assets), sign-in through the key
 * manager's authorization code + PKCE flow, logout, the session probe the
 * page reads its CSRF token from, and self sign-up.  The page itself calls
 * the DevPortal REST API with the session cookie (pg/gh_web.h).
 */
#ifndef PORTAL_UI_H
#define PORTAL_UI_H

#include <stddef.h>

#include "pg/gh_web.h"

#define PORTAL_UI_COOKIE "__Host-gh_devportal"
#define PORTAL_UI_LOGIN_COOKIE "__Host-gh_devportal_login"

extern const struct gh_web_asset portal_web_assets[];
extern const size_t portal_web_assets_count;

struct gh_router;

/* Register the UI's routes on r (the REST port). */
void portal_ui_routes(struct gh_router *r);

/* The shared web routes for the portal (ui_login.c): page, assets, session, login, callback, logout. */
void portal_ui_login_routes(struct gh_router *r);

/* An HTML error page (title and text escaped) with the UI's security headers. */
void portal_ui_error_page(struct gh_call *c, int status, const char *title, const char *text);

#endif
