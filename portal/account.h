/*
 * The caller's own account and the portal's settings on the DevPortal
 * REST API (account.c): GET /settings (WSO2's DevPortal settings, with
 * the browsed tenant's self sign-up switch) and POST /me/change-password
 * (through the key manager's internal user API).
 */
#ifndef PORTAL_ACCOUNT_H
#define PORTAL_ACCOUNT_H

struct gh_router;

/* Register GET /api/am/devportal/v3/settings and POST .../me/change-password on r. */
void portal_account_routes(struct gh_router *r);

#endif
