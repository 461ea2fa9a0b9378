/*
 * Analytics shared by the traffic manager (which writes the events and
 * the per-minute rollups of schema v5) and the analytics REST APIs of the
 * publisher and the portal (which read them): the latency histogram's
 * buckets, so that a percentile read from rollups is exact to one bucket,
 * and the read side (analytics.c; paths, parameters and responses in
 * appliance/pg/ANALYTICS.md).
 */
#ifndef GH_ANALYTICS_H
#define GH_ANALYTICS_H

#include <stddef.h>
#include <stdint.h>

/* Upper bounds (inclusive, milliseconds) of the latency buckets; the last bucket is open. */
#define GH_AN_BOUNDS { 1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100, 150, 200, 300, 500, 700, \
	1000, 1500, 2000, 3000, 5000, 7000, 10000, 15000, 20000, 30000, 60000 }
#define GH_AN_NBOUNDS 28
#define GH_AN_BUCKETS (GH_AN_NBOUNDS + 1)

/* Index of the bucket of a latency of ms milliseconds (0 .. GH_AN_BUCKETS - 1). */
static inline int
gh_an_bucket(int64_t ms)
{
	static const int64_t b[GH_AN_NBOUNDS] = GH_AN_BOUNDS;
	int lo = 0, hi = GH_AN_NBOUNDS;

	while (lo < hi) {
		int mid = (lo + hi) / 2;

		if (ms <= b[mid])
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* ---- the read side: the analytics REST APIs (analytics.c) ---------- */

struct gh_call;
struct gh_pg;
struct json_object;

#define GH_AN_DEFAULT_SPAN_MS   INT64_C(3600000)                /* last hour */
#define GH_AN_MAX_SPAN_MS       (INT64_C(366) * 86400000)       /* to - from */
#define GH_AN_MAX_POINTS        1500                            /* buckets of a series */
#define GH_AN_LIMIT_DEFAULT     10
#define GH_AN_LIMIT_MAX         100
#define GH_AN_ID_MAX            128

enum gh_an_gran { GH_AN_MINUTE, GH_AN_HOUR, GH_AN_DAY };

/* The reports, one per path segment after .../analytics/. */
enum gh_an_report {
	GH_AN_REQUESTS,         /* "requests" */
	GH_AN_ERRORS,           /* "errors" */
	GH_AN_LATENCY,          /* "latency" */
	GH_AN_TOP_APPS,         /* "top-applications" */
	GH_AN_TOP_APIS,         /* "top-apis" */
	GH_AN_COUNTRIES,        /* "countries" */
	GH_AN_STATUS,           /* "status" */
};

/* The query parameters of a report, checked (gh_an_params_parse). */
struct gh_an_params {
	int64_t from_ms, to_ms;         /* rows with from <= minute < to (epoch ms, UTC) */
	enum gh_an_gran gran;
	int64_t width_ms;               /* of one bucket of the series */
	int64_t first_ms, last_ms;      /* first and last bucket (multiples of width_ms) */
	int points;                     /* buckets from first to last */
	char api_id[GH_AN_ID_MAX + 1];  /* "" when not filtered */
	char app_id[GH_AN_ID_MAX + 1];
	int limit;                      /* top-N lists */
};

/*
 * Whose rows a caller reads: the publisher sets tenant (the APIs' tenant,
 * the caller's); the portal sets app_tenant and app_owner (the caller's
 * tenant and user name) and leaves tenant NULL.  Any other combination is
 * refused, so a forgotten field never reads every tenant's rows.
 */
struct gh_an_scope {
	const char *tenant;
	const char *app_tenant, *app_owner;
};

/*
 * An RFC 3339 date-time ("2025-01-01T10:00:00Z", "...T10:00:00.250+02:00";
 * a space in place of the offset's '+', as an unencoded '+' in a query
 * arrives) or a decimal count of milliseconds since the epoch, into *ms.
 * Years 1970..9999 in both forms.  Returns 0, or -1 when s is neither.
 */
int gh_an_time_parse(const char *s, int64_t *ms);

/* ms as ISO 8601 UTC with milliseconds ("2025-01-01T10:00:00.000Z") into out. */
void gh_an_time_format(int64_t ms, char out[32]);

/* "minute", "hour", "day"; its bucket width in milliseconds. */
const char *gh_an_gran_name(enum gh_an_gran g);
int64_t gh_an_gran_ms(enum gh_an_gran g);

/*
 * Check the query string query (NULL: none; form-encoded) of a report
 * asked at now_ms into *p: from, to, granularity, apiId, applicationId,
 * limit, each at most once, nothing else.  Returns 0, or -1 with a
 * description for the 400 reply in why (whylen bytes).
 */
int gh_an_params_parse(const char *query, int64_t now_ms, struct gh_an_params *p, char *why, size_t whylen);

/*
 * The latency at percentile pct (1..100, nearest rank) of a histogram of
 * n (<= GH_AN_BUCKETS) bucket counts: the upper bound of the bucket that
 * holds it, max_ms for the open last bucket; 0 when the histogram is empty.
 */
int64_t gh_an_percentile(const int64_t *hist, int n, int pct, int64_t max_ms);

/* The report of a path segment ("top-apis"), or -1. */
int gh_an_report_find(const char *name);

/*
 * Run report r for scope s with parameters p on db (one statement, so one
 * snapshot).  Returns the response object (caller puts it), or NULL when
 * the scope is not one of the two allowed or the database failed (SQLSTATE
 * on db; "" for a bad scope).
 */
struct json_object *gh_an_report_run(struct gh_pg *db, enum gh_an_report r, const struct gh_an_scope *s,
    const struct gh_an_params *p);

/*
 * The whole of a GET .../analytics/{report} call once the caller is
 * authorized (worker thread): the route parameter "report" (404 when
 * unknown), the query (400 naming the bad parameter, logged), the report
 * for scope s (503 when the database failed) replied as JSON.
 */
void gh_an_serve(struct gh_call *c, struct gh_pg *db, const struct gh_an_scope *s);

#endif
