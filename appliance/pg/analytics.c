/*
 * The read side of analytics, shared by the publisher (API owners) and the
 * portal (application owners): query parameters checked into a struct
 * gh_an_params, one constant SQL statement per kind of report over the
 * per-minute rollups (gh_analytics_minute, schema v5), percentiles from the
 * summed latency histograms, and the JSON of the reply.  Every statement
 * carries the caller's scope as parameters ($1..$3), so a report can only
 * read the rows of the caller's tenant (publisher) or of the caller's own
 * applications (portal).  Paths, parameters and shapes: ANALYTICS.md.
 */
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/gh_codec.h"
#include "core/gh_log.h"
#include "pg/gh_analytics.h"
#include "pg/gh_call.h"
#include "pg/gh_pg.h"

static const int64_t an_bounds[GH_AN_NBOUNDS] = GH_AN_BOUNDS;

/* 9999-12-31T23:59:59.999Z: the last instant both forms of a time can name. */
#define AN_MAX_MS INT64_C(253402300799999)

static const char *const report_names[] = {
	[GH_AN_REQUESTS] = "requests",
	[GH_AN_ERRORS] = "errors",
	[GH_AN_LATENCY] = "latency",
	[GH_AN_TOP_APPS] = "top-applications",
	[GH_AN_TOP_APIS] = "top-apis",
	[GH_AN_COUNTRIES] = "countries",
	[GH_AN_STATUS] = "status",
};

/* ---- time ------------------------------------------------------------ */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
month_days(int y, int m)
{
	static const int d[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : d[m - 1];
}

/* Exactly n decimal digits at s into *v.  0 or -1. */
static int
digits(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

int
gh_an_time_parse(const char *s, int64_t *ms)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0, frac = 0, sign = 0;
	size_t len = s != NULL ? strlen(s) : 0;
	const char *p;
	int64_t t;

	if (len == 0)
		return -1;
	if (strspn(s, "0123456789") == len) {
		if (len > 15 || strtoll(s, NULL, 10) > AN_MAX_MS)
			return -1;
		*ms = strtoll(s, NULL, 10);
		return 0;
	}
	if (len < 20 || digits(s, 4, &y) != 0 || s[4] != '-' || digits(s + 5, 2, &mo) != 0 || s[7] != '-' ||
	    digits(s + 8, 2, &d) != 0 || (s[10] != 'T' && s[10] != 't') || digits(s + 11, 2, &h) != 0 ||
	    s[13] != ':' || digits(s + 14, 2, &mi) != 0 || s[16] != ':' || digits(s + 17, 2, &sec) != 0)
		return -1;
	p = s + 19;
	if (*p == '.') {
		int n = 0;

		for (p++; *p >= '0' && *p <= '9'; p++, n++) {
			if (n < 3)
				frac = frac * 10 + (*p - '0');
		}
		if (n == 0 || n > 9)
			return -1;
		for (; n < 3; n++)
			frac *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == ' ' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		if (digits(p + 1, 2, &oh) != 0 || p[3] != ':' || digits(p + 4, 2, &om) != 0)
			return -1;
		p += 6;
	} else {
		return -1;
	}
	if (*p != '\0' || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo) || h > 23 ||
	    mi > 59 || sec > 60 || oh > 23 || om > 59)
		return -1;
	t = days_from_civil(y, mo, d) * 86400000 + (int64_t)h * 3600000 + (int64_t)mi * 60000 +
	    (int64_t)sec * 1000 + frac - (int64_t)sign * (oh * 60 + om) * 60000;
	if (t < 0)
		return -1;
	*ms = t;
	return 0;
}

void
gh_an_time_format(int64_t ms, char out[32])
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;

	if (ms < 0 || gmtime_r(&secs, &tm) == NULL) {
		snprintf(out, 32, "1970-01-01T00:00:00.000Z");
		return;
	}
	/* years past 9999 (never parsed) would not fit the four digits of RFC 3339 */
	if (tm.tm_year + 1900 > 9999 || strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm) != 19) {
		snprintf(out, 32, "9999-12-31T23:59:59.999Z");
		return;
	}
	snprintf(out + 19, 32 - 19, ".%03dZ", (int)(ms % 1000));
}

const char *
gh_an_gran_name(enum gh_an_gran g)
{
	return g == GH_AN_MINUTE ? "minute" : g == GH_AN_HOUR ? "hour" : "day";
}

int64_t
gh_an_gran_ms(enum gh_an_gran g)
{
	return g == GH_AN_MINUTE ? 60000 : g == GH_AN_HOUR ? 3600000 : 86400000;
}

/* ---- parameters ------------------------------------------------------ */

static const char *const known_params[] = { "from", "to", "granularity", "apiId", "applicationId", "limit" };

static int bad(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The description of a 400 into why; returns -1. */
static int
bad(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -1;
}

/* 1 when s is 1..GH_AN_ID_MAX bytes of [A-Za-z0-9_.:-]. */
static int
id_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= GH_AN_ID_MAX && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789_.:-") == n;
}

static int
check_names(const struct gh_form *f, char *why, size_t whylen)
{
	for (size_t i = 0; i < f->count; i++) {
		const char *n = f->pairs[i].name;
		size_t k;

		for (k = 0; k < sizeof(known_params) / sizeof(known_params[0]); k++)
			if (strcmp(n, known_params[k]) == 0)
				break;
		if (k == sizeof(known_params) / sizeof(known_params[0]))
			return bad(why, whylen, "Unknown query parameter '%s' (known: from, to, granularity, "
			    "apiId, applicationId, limit)", id_ok(n) && strlen(n) <= 64 ? n : "?");
		if (gh_form_count(f, n) > 1)
			return bad(why, whylen, "Query parameter '%s' is given more than once", n);
	}
	return 0;
}

static int
parse_range(const struct gh_form *f, int64_t now_ms, struct gh_an_params *p, char *why, size_t whylen)
{
	const char *from = gh_form_get(f, "from"), *to = gh_form_get(f, "to");

	if (from != NULL && gh_an_time_parse(from, &p->from_ms) != 0)
		return bad(why, whylen, "'from' must be an RFC 3339 date-time (2025-01-01T10:00:00Z) "
		    "or milliseconds since the epoch");
	if (to != NULL && gh_an_time_parse(to, &p->to_ms) != 0)
		return bad(why, whylen, "'to' must be an RFC 3339 date-time (2025-01-01T10:00:00Z) "
		    "or milliseconds since the epoch");
	if (to == NULL)
		p->to_ms = now_ms;
	if (from == NULL)
		p->from_ms = p->to_ms >= GH_AN_DEFAULT_SPAN_MS ? p->to_ms - GH_AN_DEFAULT_SPAN_MS : 0;
	if (p->to_ms <= p->from_ms)
		return bad(why, whylen, "'to' must be later than 'from'");
	if (p->to_ms - p->from_ms > GH_AN_MAX_SPAN_MS)
		return bad(why, whylen, "The time range is longer than 366 days");
	return 0;
}

static int
parse_granularity(const struct gh_form *f, struct gh_an_params *p, char *why, size_t whylen)
{
	const char *g = gh_form_get(f, "granularity");
	int64_t span = p->to_ms - p->from_ms;

	if (g == NULL)
		p->gran = span <= 6 * INT64_C(3600000) ? GH_AN_MINUTE :
		    span <= 14 * INT64_C(86400000) ? GH_AN_HOUR : GH_AN_DAY;
	else if (strcasecmp(g, "minute") == 0)
		p->gran = GH_AN_MINUTE;
	else if (strcasecmp(g, "hour") == 0)
		p->gran = GH_AN_HOUR;
	else if (strcasecmp(g, "day") == 0)
		p->gran = GH_AN_DAY;
	else
		return bad(why, whylen, "'granularity' must be minute, hour or day");
	p->width_ms = gh_an_gran_ms(p->gran);
	p->first_ms = p->from_ms / p->width_ms * p->width_ms;
	p->last_ms = (p->to_ms - 1) / p->width_ms * p->width_ms;
	if ((p->last_ms - p->first_ms) / p->width_ms + 1 > GH_AN_MAX_POINTS) {
		return bad(why, whylen, "The time range holds more than %d buckets at granularity %s: "
		    "choose a coarser granularity or a shorter range", GH_AN_MAX_POINTS, gh_an_gran_name(p->gran));
	}
	p->points = (int)((p->last_ms - p->first_ms) / p->width_ms + 1);
	return 0;
}

static int
parse_filters(const struct gh_form *f, struct gh_an_params *p, char *why, size_t whylen)
{
	const char *api = gh_form_get(f, "apiId"), *app = gh_form_get(f, "applicationId");
	const char *lim = gh_form_get(f, "limit");

	if (api != NULL && !id_ok(api))
		return bad(why, whylen, "'apiId' must be 1 to 128 letters, digits or _.:-");
	if (app != NULL && !id_ok(app))
		return bad(why, whylen, "'applicationId' must be 1 to 128 letters, digits or _.:-");
	snprintf(p->api_id, sizeof(p->api_id), "%s", api ? api : "");
	snprintf(p->app_id, sizeof(p->app_id), "%s", app ? app : "");
	p->limit = GH_AN_LIMIT_DEFAULT;
	if (lim != NULL) {
		size_t n = strlen(lim);

		if (n == 0 || n > 3 || strspn(lim, "0123456789") != n || atoi(lim) < 1 ||
		    atoi(lim) > GH_AN_LIMIT_MAX)
			return bad(why, whylen, "'limit' must be an integer from 1 to 100");
		p->limit = atoi(lim);
	}
	return 0;
}

int
gh_an_params_parse(const char *query, int64_t now_ms, struct gh_an_params *p, char *why, size_t whylen)
{
	struct gh_form f = { 0 };
	int rc = -1;

	memset(p, 0, sizeof(*p));
	if (query != NULL && gh_form_parse(query, strlen(query), 64, &f) != 0) {
		bad(why, whylen, "The query string is malformed (a bad percent escape, a NUL "
		    "or too many parameters)");
		goto out;
	}
	if (check_names(&f, why, whylen) != 0 || parse_range(&f, now_ms, p, why, whylen) != 0 ||
	    parse_granularity(&f, p, why, whylen) != 0 || parse_filters(&f, p, why, whylen) != 0)
		goto out;
	rc = 0;
out:
	gh_form_free(&f);
	return rc;
}

/* ---- percentiles ----------------------------------------------------- */

int64_t
gh_an_percentile(const int64_t *hist, int n, int pct, int64_t max_ms)
{
	int64_t total = 0, rank, cum = 0;

	if (n > GH_AN_BUCKETS)
		n = GH_AN_BUCKETS;
	for (int i = 0; i < n; i++)
		total += hist[i] > 0 ? hist[i] : 0;
	if (total == 0 || pct < 1 || pct > 100)
		return 0;
	rank = (total * pct + 99) / 100;
	for (int i = 0; i < n; i++) {
		cum += hist[i] > 0 ? hist[i] : 0;
		if (cum >= rank) {
			if (i < GH_AN_NBOUNDS)
				return an_bounds[i];
			return max_ms > an_bounds[GH_AN_NBOUNDS - 1] ? max_ms : an_bounds[GH_AN_NBOUNDS - 1] + 1;
		}
	}
	return 0;
}

/*
 * "i:n,i:n" (1-based bucket index, count; from the series statement) into
 * hist[GH_AN_BUCKETS], added to what is there.  An index past the last
 * bucket counts in the last (open) one.  0 or -1 when malformed.
 */
static int
hist_add(const char *s, int64_t *hist)
{
	while (*s != '\0') {
		char *end;
		long long i = strtoll(s, &end, 10), n;

		if (end == s || *end != ':' || i < 1)
			return -1;
		s = end + 1;
		n = strtoll(s, &end, 10);
		if (end == s || (*end != ',' && *end != '\0'))
			return -1;
		hist[i > GH_AN_BUCKETS ? GH_AN_BUCKETS - 1 : i - 1] += n;
		s = *end == ',' ? end + 1 : end;
	}
	return 0;
}

/* ---- statements ------------------------------------------------------ */

/*
 * The rows a report reads: the caller's scope ($1 tenant, or $2
 * app_tenant and $3 app_owner), the range [$4, $5) in epoch ms, and the
 * filters $6 api_id, $7 app_id (NULL: none).
 */
#define AN_WHERE \
	"($1::text IS NULL OR m.tenant = $1::text) " \
	"AND ($2::text IS NULL OR m.app_tenant = $2::text) " \
	"AND ($3::text IS NULL OR m.app_owner = $3::text) " \
	"AND m.minute >= timestamptz 'epoch' + $4::bigint * interval '1 millisecond' " \
	"AND m.minute < timestamptz 'epoch' + $5::bigint * interval '1 millisecond' " \
	"AND ($6::text IS NULL OR m.api_id = $6::text) AND ($7::text IS NULL OR m.app_id = $7::text)"

/*
 * A series: one row per bucket of width $8 from $9 to $10 (epoch ms, so
 * buckets are UTC: the same as date_trunc in UTC), empty buckets with
 * zeros; the histogram ("i:n,...") only when $11.
 */
static const char sql_series[] =
	"WITH r AS (SELECT (floor(extract(epoch FROM m.minute) * 1000)::bigint / $8::bigint) * $8::bigint AS b, "
	"  m.requests, m.throttled, m.status_class, m.latency_sum, m.latency_max, m.latency_hist "
	"  FROM gh_analytics_minute m WHERE " AN_WHERE "), "
	"a AS (SELECT b, sum(requests) AS req, sum(requests) FILTER (WHERE status_class = 4) AS e4, "
	"  sum(requests) FILTER (WHERE status_class = 5) AS e5, sum(throttled) AS thr, "
	"  sum(latency_sum) AS ls, max(latency_max) AS lm FROM r GROUP BY b), "
	"h AS (SELECT r.b, u.i, sum(u.x) AS n FROM r, unnest(r.latency_hist) WITH ORDINALITY AS u(x, i) "
	"  WHERE $11::boolean GROUP BY r.b, u.i), "
	"hs AS (SELECT b, string_agg(i || ':' || n, ',' ORDER BY i) AS s FROM h WHERE n <> 0 GROUP BY b) "
	"SELECT s.b, coalesce(a.req, 0), coalesce(a.e4, 0), coalesce(a.e5, 0), coalesce(a.thr, 0), "
	"  coalesce(a.ls, 0), coalesce(a.lm, 0), coalesce(hs.s, '') "
	"FROM generate_series($9::bigint, $10::bigint, $8::bigint) AS s(b) "
	"LEFT JOIN a ON a.b = s.b LEFT JOIN hs ON hs.b = s.b ORDER BY s.b";

/* Counts of a group: requests, errors (status classes 4 and 5), throttled; then the total of groups. */
#define AN_COUNTS \
	"sum(m.requests), coalesce(sum(m.requests) FILTER (WHERE m.status_class IN (4, 5)), 0), " \
	"sum(m.throttled), count(*) OVER ()"
/* The newest non-null value of column x in a group. */
#define AN_LATEST(x) "(array_agg(" x " ORDER BY m.minute DESC) FILTER (WHERE " x " IS NOT NULL))[1]"

static const char sql_top_apis[] =
	"SELECT m.api_id, " AN_LATEST("m.api_name") ", " AN_LATEST("m.api_version") ", " AN_COUNTS " "
	"FROM gh_analytics_minute m WHERE " AN_WHERE " "
	"GROUP BY m.api_id ORDER BY 4 DESC, 1 LIMIT $8::bigint";

static const char sql_top_apps[] =
	"SELECT m.app_id, " AN_LATEST("m.app_name") ", " AN_LATEST("m.app_owner") ", " AN_COUNTS " "
	"FROM gh_analytics_minute m WHERE " AN_WHERE " AND m.app_id <> '' "
	"GROUP BY m.app_id ORDER BY 4 DESC, 1 LIMIT $8::bigint";

static const char sql_countries[] =
	"SELECT m.country, NULL, NULL, " AN_COUNTS " "
	"FROM gh_analytics_minute m WHERE " AN_WHERE " "
	"GROUP BY m.country ORDER BY 4 DESC, 1 LIMIT $8::bigint";

static const char sql_status[] =
	"SELECT m.status_class, sum(m.requests) FROM gh_analytics_minute m WHERE " AN_WHERE " "
	"GROUP BY m.status_class ORDER BY 1";

/* ---- replies --------------------------------------------------------- */

static void
add_i64(struct json_object *o, const char *key, int64_t v)
{
	json_object_object_add(o, key, json_object_new_int64(v));
}

static void
add_time(struct json_object *o, const char *ms_key, const char *iso_key, int64_t ms)
{
	char iso[32];

	gh_an_time_format(ms, iso);
	add_i64(o, ms_key, ms);
	json_object_object_add(o, iso_key, json_object_new_string(iso));
}

/* Milliseconds with two decimals, written as such ("12.50"). */
static void
add_avg(struct json_object *o, int64_t sum, int64_t n)
{
	char buf[40];
	double v = n > 0 ? (double)sum / (double)n : 0.0;

	snprintf(buf, sizeof(buf), "%.2f", v);
	json_object_object_add(o, "avg", json_object_new_double_s(strtod(buf, NULL), buf));
}

/* The envelope every report shares: the range (and the granularity of a series). */
static struct json_object *
envelope(const struct gh_an_params *p, int series)
{
	struct json_object *o = json_object_new_object();

	add_time(o, "from", "fromTime", p->from_ms);
	add_time(o, "to", "toTime", p->to_ms);
	if (series)
		json_object_object_add(o, "granularity", json_object_new_string(gh_an_gran_name(p->gran)));
	return o;
}

static void
finish_list(struct json_object *o, struct json_object *list)
{
	add_i64(o, "count", (int64_t)json_object_array_length(list));
	json_object_object_add(o, "list", list);
}

/* One bucket of a series as the statement returns it. */
struct an_point {
	int64_t ts, req, e4, e5, thr, lsum, lmax;
	int64_t hist[GH_AN_BUCKETS];
};

static void
latency_fields(struct json_object *o, const struct an_point *t)
{
	add_i64(o, "requests", t->req);
	add_avg(o, t->lsum, t->req);
	add_i64(o, "max", t->lmax);
	add_i64(o, "p50", gh_an_percentile(t->hist, GH_AN_BUCKETS, 50, t->lmax));
	add_i64(o, "p95", gh_an_percentile(t->hist, GH_AN_BUCKETS, 95, t->lmax));
	add_i64(o, "p99", gh_an_percentile(t->hist, GH_AN_BUCKETS, 99, t->lmax));
}

static struct json_object *
series_point(enum gh_an_report r, const struct an_point *t)
{
	struct json_object *o = json_object_new_object();

	add_time(o, "timestamp", "time", t->ts);
	if (r == GH_AN_LATENCY) {
		latency_fields(o, t);
		return o;
	}
	add_i64(o, "requests", t->req);
	add_i64(o, "errors", t->e4 + t->e5);
	if (r == GH_AN_REQUESTS) {
		add_i64(o, "throttled", t->thr);
	} else {
		add_i64(o, "clientErrors", t->e4);
		add_i64(o, "serverErrors", t->e5);
	}
	return o;
}

static struct json_object *
class_entry(const char *name, int64_t n)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "statusClass", json_object_new_string(name));
	add_i64(o, "requests", n);
	return o;
}

/* The summary of a whole series (sum holds the totals) and, for errors, its classes. */
static void
series_summary(enum gh_an_report r, struct json_object *out, const struct an_point *sum)
{
	struct json_object *s = json_object_new_object(), *classes;

	if (r == GH_AN_LATENCY) {
		latency_fields(s, sum);
	} else {
		add_i64(s, "requests", sum->req);
		add_i64(s, "errors", sum->e4 + sum->e5);
		if (r == GH_AN_REQUESTS) {
			add_i64(s, "throttled", sum->thr);
		} else {
			add_i64(s, "clientErrors", sum->e4);
			add_i64(s, "serverErrors", sum->e5);
		}
	}
	json_object_object_add(out, "summary", s);
	if (r != GH_AN_ERRORS)
		return;
	classes = json_object_new_array();
	json_object_array_add(classes, class_entry("4xx", sum->e4));
	json_object_array_add(classes, class_entry("5xx", sum->e5));
	json_object_object_add(out, "byStatusClass", classes);
}

/* The first seven parameters (scope, range, filters) of every statement into prm; buffers in num. */
static void
common_params(const struct gh_an_scope *s, const struct gh_an_params *p, const char **prm, char num[2][24])
{
	prm[0] = s->tenant;
	prm[1] = s->app_tenant;
	prm[2] = s->app_owner;
	prm[3] = gh_pg_i64(num[0], p->from_ms);
	prm[4] = gh_pg_i64(num[1], p->to_ms);
	prm[5] = p->api_id[0] ? p->api_id : NULL;
	prm[6] = p->app_id[0] ? p->app_id : NULL;
}

static struct json_object *
run_series(struct gh_pg *db, enum gh_an_report r, const struct gh_an_scope *s, const struct gh_an_params *p)
{
	const char *prm[11];
	char num[2][24], w[24], first[24], last[24];
	struct json_object *out = NULL, *list;
	struct an_point *t = NULL, sum;
	PGresult *res;
	int n;

	common_params(s, p, prm, num);
	prm[7] = gh_pg_i64(w, p->width_ms);
	prm[8] = gh_pg_i64(first, p->first_ms);
	prm[9] = gh_pg_i64(last, p->last_ms);
	prm[10] = r == GH_AN_LATENCY ? "t" : "f";
	res = gh_pg_exec(db, sql_series, 11, prm);
	if (res == NULL)
		return NULL;
	n = gh_pg_nrows(res);
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		goto out;
	memset(&sum, 0, sizeof(sum));
	out = envelope(p, 1);
	list = json_object_new_array();
	for (int i = 0; i < n; i++) {
		memset(t, 0, sizeof(*t));
		if (gh_pg_get_int64(res, i, 0, &t->ts) != 0 || gh_pg_get_int64(res, i, 1, &t->req) != 0 ||
		    gh_pg_get_int64(res, i, 2, &t->e4) != 0 || gh_pg_get_int64(res, i, 3, &t->e5) != 0 ||
		    gh_pg_get_int64(res, i, 4, &t->thr) != 0 || gh_pg_get_int64(res, i, 5, &t->lsum) != 0 ||
		    gh_pg_get_int64(res, i, 6, &t->lmax) != 0 || hist_add(gh_pg_get(res, i, 7), t->hist) != 0) {
			gh_pg_set_error(db, "XX000", "analytics: a rollup row cannot be read");
			json_object_put(list);
			json_object_put(out);
			out = NULL;
			goto out;
		}
		json_object_array_add(list, series_point(r, t));
		sum.req += t->req;
		sum.e4 += t->e4;
		sum.e5 += t->e5;
		sum.thr += t->thr;
		sum.lsum += t->lsum;
		if (t->lmax > sum.lmax)
			sum.lmax = t->lmax;
		for (int k = 0; k < GH_AN_BUCKETS; k++)
			sum.hist[k] += t->hist[k];
	}
	series_summary(r, out, &sum);
	finish_list(out, list);
out:
	free(t);
	PQclear(res);
	return out;
}

/* top-apis, top-applications, countries: (key, name, extra, requests, errors, throttled, total) rows. */
static struct json_object *
run_top(struct gh_pg *db, enum gh_an_report r, const struct gh_an_scope *s, const struct gh_an_params *p)
{
	static const char *const keys[][3] = {
		[GH_AN_TOP_APIS] = { "apiId", "apiName", "apiVersion" },
		[GH_AN_TOP_APPS] = { "applicationId", "applicationName", "applicationOwner" },
		[GH_AN_COUNTRIES] = { "country", NULL, NULL },
	};
	const char *sql = r == GH_AN_TOP_APIS ? sql_top_apis : r == GH_AN_TOP_APPS ? sql_top_apps : sql_countries;
	const char *prm[8];
	char num[2][24], lim[24];
	struct json_object *out, *list;
	int64_t total = 0;
	PGresult *res;

	common_params(s, p, prm, num);
	prm[7] = gh_pg_i64(lim, p->limit);
	res = gh_pg_exec(db, sql, 8, prm);
	if (res == NULL)
		return NULL;
	out = envelope(p, 0);
	list = json_object_new_array();
	for (int i = 0; i < gh_pg_nrows(res); i++) {
		struct json_object *o = json_object_new_object();
		const char *key = gh_pg_get(res, i, 0);
		int64_t v;

		if (r == GH_AN_COUNTRIES && (key == NULL || key[0] == '\0'))
			key = "unknown";
		json_object_object_add(o, keys[r][0], json_object_new_string(key ? key : ""));
		for (int k = 1; k < 3; k++) {
			const char *val = gh_pg_get(res, i, k);

			if (keys[r][k] != NULL)
				json_object_object_add(o, keys[r][k], val ? json_object_new_string(val) : NULL);
		}
		add_i64(o, "requests", gh_pg_get_int64(res, i, 3, &v) == 0 ? v : 0);
		add_i64(o, "errors", gh_pg_get_int64(res, i, 4, &v) == 0 ? v : 0);
		add_i64(o, "throttled", gh_pg_get_int64(res, i, 5, &v) == 0 ? v : 0);
		if (i == 0 && gh_pg_get_int64(res, i, 6, &v) == 0)
			total = v;
		json_object_array_add(list, o);
	}
	add_i64(out, "total", total);
	finish_list(out, list);
	PQclear(res);
	return out;
}

/* status: every class 1xx..5xx (zeros included), then any other class present. */
static struct json_object *
run_status(struct gh_pg *db, const struct gh_an_scope *s, const struct gh_an_params *p)
{
	const char *prm[7];
	char num[2][24], name[24];
	int64_t by[6] = { 0 }, sum = 0;
	struct json_object *out, *list;
	PGresult *res;

	common_params(s, p, prm, num);
	res = gh_pg_exec(db, sql_status, 7, prm);
	if (res == NULL)
		return NULL;
	out = envelope(p, 0);
	list = json_object_new_array();
	for (int i = 0; i < gh_pg_nrows(res); i++) {
		int64_t cls = 0, v = 0;

		gh_pg_get_int64(res, i, 0, &cls);
		gh_pg_get_int64(res, i, 1, &v);
		sum += v;
		if (cls >= 1 && cls <= 5)
			by[cls] = v;
	}
	for (int cls = 1; cls <= 5; cls++) {
		snprintf(name, sizeof(name), "%dxx", cls);
		json_object_array_add(list, class_entry(name, by[cls]));
	}
	for (int i = 0; i < gh_pg_nrows(res); i++) {
		int64_t cls = 0, v = 0;

		gh_pg_get_int64(res, i, 0, &cls);
		gh_pg_get_int64(res, i, 1, &v);
		if (cls < 1 || cls > 5) {
			snprintf(name, sizeof(name), "%lldxx", (long long)cls);
			json_object_array_add(list, class_entry(name, v));
		}
	}
	add_i64(out, "total", sum);
	finish_list(out, list);
	PQclear(res);
	return out;
}

int
gh_an_report_find(const char *name)
{
	for (size_t i = 0; name != NULL && i < sizeof(report_names) / sizeof(report_names[0]); i++)
		if (strcmp(name, report_names[i]) == 0)
			return (int)i;
	return -1;
}

struct json_object *
gh_an_report_run(struct gh_pg *db, enum gh_an_report r, const struct gh_an_scope *s,
    const struct gh_an_params *p)
{
	int publisher = s->tenant != NULL && s->tenant[0] != '\0' && s->app_tenant == NULL && s->app_owner == NULL;
	int portal = s->tenant == NULL && s->app_tenant != NULL && s->app_tenant[0] != '\0' &&
	    s->app_owner != NULL && s->app_owner[0] != '\0';

	if (!publisher && !portal) {
		gh_pg_set_error(db, "42501", "analytics: a report needs the caller's tenant or application owner");
		return NULL;
	}
	switch (r) {
	case GH_AN_REQUESTS:
	case GH_AN_ERRORS:
	case GH_AN_LATENCY:
		return run_series(db, r, s, p);
	case GH_AN_TOP_APPS:
	case GH_AN_TOP_APIS:
	case GH_AN_COUNTRIES:
		return run_top(db, r, s, p);
	case GH_AN_STATUS:
		return run_status(db, s, p);
	}
	return NULL;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
gh_an_serve(struct gh_call *c, struct gh_pg *db, const struct gh_an_scope *s)
{
	const char *name = gh_call_param(c, "report");
	int r = gh_an_report_find(name);
	struct gh_an_params p;
	struct json_object *out;
	char why[300], desc[200];

	if (r < 0) {
		snprintf(desc, sizeof(desc), "No analytics report '%.40s' (requests, errors, latency, "
		    "top-applications, top-apis, countries, status)",
		    name != NULL && gh_utf8_valid(name, strlen(name)) ? name : "");
		gh_reply_error(c, 404, "Not Found", desc);
		return;
	}
	if (gh_an_params_parse(c->query, now_ms(), &p, why, sizeof(why)) != 0) {
		gh_log_warn("analytics", c->request_id, "400 %s: %s", report_names[r], why);
		gh_reply_error(c, 400, "Bad Request", why);
		return;
	}
	out = gh_an_report_run(db, (enum gh_an_report)r, s, &p);
	if (out == NULL) {
		gh_log_error("analytics", c->request_id, "%s for %s: %s %s", report_names[r],
		    s->tenant ? s->tenant : s->app_owner ? s->app_owner : "-", gh_pg_sqlstate(db), gh_pg_errmsg(db));
		gh_reply_error(c, 503, "Service Unavailable", "The analytics cannot be read");
		return;
	}
	gh_reply_json(c, 200, out);
	json_object_put(out);
}
