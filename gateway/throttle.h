/*
 * Throttling's pieces below the phase (throttle.c), exposed for the unit
 * tests and for the cluster-wide counters of the next issue: the counter
 * table (sliding windows keyed by text) and the deny-rule match.
 */
#ifndef GW_THROTTLE_H
#define GW_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/gw.h"

/* One limit a request must fit: count requests per window_ms, counted under key. */
struct gw_rl_limit {
	const char *level;              /* "subscription", "application", ... (for the refusal) */
	char key[400];
	int64_t count;
	int64_t window_ms;
};

struct gw_rl_verdict {
	int refused;                    /* 1: some limit is full; nothing was counted */
	int level;                      /* index of the limit that refused, or of the tightest */
	int64_t retry_after_s;          /* refused: seconds until that window lets one more in */
	int64_t limit, remaining, reset_s;  /* the tightest limit after this request */
};

/*
 * Check every limit of l[0..n) at now_ms (a monotonic clock); when all
 * fit, count the request in each, else count nothing.  Each is a sliding
 * window: the previous fixed window's count weighted by how much of it
 * still overlaps, plus the current one's.  Counters are process-wide
 * (striped locks).  Fills *v; returns v->refused.
 */
int gw_rl_take(const struct gw_rl_limit *l, size_t n, int64_t now_ms, struct gw_rl_verdict *v);

/* Forget every counter (tests). */
void gw_rl_reset(void);

/* What a deny rule is compared with. */
struct gw_deny_subject {
	const char *api_tenant;         /* the API's tenant (rules of other tenants do not apply) */
	const char *api_context, *api_version;
	const char *app_owner, *app_name;   /* NULL when no application */
	const char *user, *user_tenant;     /* NULL when anonymous */
	const char *ip;                 /* client address (numeric) */
};

/* 1 when rule d blocks the subject (invert applied), 0 otherwise. */
int gw_deny_matches(const struct gw_deny *d, const struct gw_deny_subject *s);

#endif
