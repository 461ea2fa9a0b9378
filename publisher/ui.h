/*
 * The publisher console (ui.c, ui_settings.c): the single page and its
 * assets under /publisher/ (the files of publisher/web, embedded at build
 * time by portal/web/embed.sh into pub_web_assets), sign-in through the
 * key manager's authorization code + PKCE flow as the
 * gatehouse-publisher-console client, logout and the session probe (the
 * shared web routes of pg/gh_web.h), and the read-only lists the console
 * needs that the publisher REST API lacked: its settings (the gateway
 * environments an API owner deploys to) and the throttling policies an
 * API may use.  The page calls the publisher and admin REST APIs with the
 * session cookie.
 */
#ifndef PUB_UI_H
#define PUB_UI_H

#include <stddef.h>

#include "pg/gh_web.h"

#define PUB_UI_COOKIE "__Host-gh_publisher"
#define PUB_UI_LOGIN_COOKIE "__Host-gh_publisher_login"

extern const struct gh_web_asset pub_web_assets[];
extern const size_t pub_web_assets_count;

struct gh_router;

/* Register the console's routes (/publisher/...) on r (the REST port); after gh_web_init. */
void pub_ui_routes(struct gh_router *r);

/*
 * GET /api/am/publisher/v4/settings ({"environment": [...]}, WSO2's shape)
 * and GET /api/am/publisher/v4/throttling-policies/{policyLevel}
 * (subscription, api) on r (ui_settings.c).
 */
void pub_ui_settings_routes(struct gh_router *r);

#endif
