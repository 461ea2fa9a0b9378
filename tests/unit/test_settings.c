/*
 * Unit tests of the settings table and config reader (core/settings.c),
 * the router (core/router.c) and strict JSON (core/json.c): values, ranges,
 * every error naming file:line, most-specific route wins, 405 lists.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/gh_json.h"
#include "core/gh_router.h"
#include "core/gh_settings.h"
#include "th.h"

static const struct gh_setting_def defs[] = {
	{ "listen.port", GH_SET_PORT, "9443", 0, 0, NULL, 0, "public port" },
	{ "http.max_header_bytes", GH_SET_SIZE, "16k", 1024, 1048576, NULL, 0, "header limit" },
	{ "http.idle_timeout", GH_SET_DURATION, "60s", 1000, 3600000, NULL, 0, "idle" },
	{ "log.level", GH_SET_ENUM, "info", 0, 0, "debug|info|warn|error", 0, "log level" },
	{ "tls.enabled", GH_SET_BOOL, "on", 0, 0, NULL, 0, "TLS" },
	{ "db.password", GH_SET_STR, NULL, 0, 0, NULL, GH_SET_SECRET | GH_SET_REQUIRED, "database password" },
	{ "tls.cert", GH_SET_PATH, NULL, 0, 0, NULL, 0, "cert" },
	{ "public_url", GH_SET_URL, "https://localhost:9443", 0, 0, NULL, 0, "issuer" },
	{ "workers", GH_SET_INT, "2", 1, 64, NULL, 0, "workers" },
};
#define NDEFS (sizeof(defs) / sizeof(defs[0]))

static char *
write_tmp(const char *text)
{
	static char path[256];
	const char *dir = getenv("GH_TMP") ? getenv("GH_TMP") : "/tmp";
	FILE *f;

	snprintf(path, sizeof(path), "%s/settings-%d.conf", dir, (int)getpid());
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

static int
has_line(const char *errors, const char *path, int line, const char *needle)
{
	char want[512];

	snprintf(want, sizeof(want), "[%s:%d]", path, line);
	for (const char *p = errors; p != NULL && (p = strstr(p, want)) != NULL; p++) {
		const char *nl = strchr(p, '\n');
		const char *hit = strstr(p, needle);
		if (hit != NULL && (nl == NULL || hit < nl))
			return 1;
	}
	return 0;
}

static void
route_noop(struct gh_http_req *req, const struct gh_route_match *m, void *arg)
{
	(void)req; (void)m; (void)arg;
}

static void
test_settings(void)
{
	struct gh_settings *s;
	char *errs = NULL, *path;
	int n;

	TH_TEST("defaults");
	s = gh_settings_new(defs, NDEFS);
	TH_CHECK(s != NULL);
	TH_CHECK_EQ_INT(gh_settings_int(s, "listen.port"), 9443);
	TH_CHECK_EQ_INT(gh_settings_int(s, "http.max_header_bytes"), 16384);
	TH_CHECK_EQ_INT(gh_settings_int(s, "http.idle_timeout"), 60000);
	TH_CHECK_EQ_INT(gh_settings_int(s, "tls.enabled"), 1);
	TH_CHECK(gh_settings_str(s, "db.password") == NULL);

	TH_TEST("valid file with sections, quotes and comments");
	path = write_tmp("# a comment\n\nworkers = 4  # trailing\n[http]\nmax_header_bytes = 32k\n"
	    "idle_timeout = 1500ms\n[db]\npassword = \"p#ss \\\"word\\\"\"\n[]\nlog.level = warn\n"
	    "tls.enabled = off\ntls.cert = /etc/gatehouse/x.pem\n");
	n = gh_settings_load(s, path, &errs);
	TH_CHECK_MSG(n == 0, "%s", errs ? errs : "");
	TH_CHECK_EQ_INT(gh_settings_int(s, "workers"), 4);
	TH_CHECK_EQ_INT(gh_settings_int(s, "http.max_header_bytes"), 32768);
	TH_CHECK_EQ_INT(gh_settings_int(s, "http.idle_timeout"), 1500);
	TH_CHECK_EQ_STR(gh_settings_str(s, "db.password"), "p#ss \"word\"");
	TH_CHECK_EQ_STR(gh_settings_str(s, "log.level"), "warn");
	TH_CHECK_EQ_INT(gh_settings_int(s, "tls.enabled"), 0);
	free(errs);
	gh_settings_free(s);

	TH_TEST("every error names its line and a fix");
	s = gh_settings_new(defs, NDEFS);
	path = write_tmp("workers = 4\n"            /* 1 ok */
	    "workerz = 5\n"                          /* 2 unknown, did you mean */
	    "listen.port = 70000\n"                  /* 3 out of range */
	    "http.max_header_bytes = big\n"          /* 4 not a size */
	    "log.level = loud\n"                     /* 5 not in enum */
	    "just some words\n"                      /* 6 missing = */
	    "workers = 8\n"                          /* 7 duplicate */
	    "tls.enabled = maybe\n"                  /* 8 bool */
	    "tls.cert = relative.pem\n"              /* 9 path */
	    "[http\n"                                /* 10 section */
	    "public_url = ftp://x\n"                 /* 11 url */
	    "http.idle_timeout = 10 years\n"         /* 12 duration */
	    "db.password = \"open\n");               /* 13 quote */
	n = gh_settings_load(s, path, &errs);
	TH_CHECK_MSG(n >= 13, "%d errors:\n%s", n, errs ? errs : "");
	TH_CHECK(has_line(errs, path, 2, "did you mean 'workers'"));
	TH_CHECK(has_line(errs, path, 3, "out of range"));
	TH_CHECK(has_line(errs, path, 4, "size"));
	TH_CHECK(has_line(errs, path, 5, "debug|info|warn|error"));
	TH_CHECK(has_line(errs, path, 6, "missing '='"));
	TH_CHECK(has_line(errs, path, 7, "already set at line 1"));
	TH_CHECK(has_line(errs, path, 8, "on or off"));
	TH_CHECK(has_line(errs, path, 9, "absolute path"));
	TH_CHECK(has_line(errs, path, 10, "section"));
	TH_CHECK(has_line(errs, path, 11, "URL"));
	TH_CHECK(has_line(errs, path, 12, "duration"));
	TH_CHECK(has_line(errs, path, 13, "unterminated"));
	TH_CHECK(strstr(errs, "required setting 'db.password' is missing") != NULL);
	TH_CHECK_EQ_INT(gh_settings_int(s, "workers"), 4);   /* valid line applied, duplicate not */
	TH_CHECK_EQ_INT(gh_settings_int(s, "listen.port"), 9443); /* bad value leaves the default */
	free(errs);

	TH_TEST("secret values are never echoed");
	path = write_tmp("db.password = \n");
	n = gh_settings_load(s, path, &errs);
	TH_CHECK(n >= 1);
	free(errs);
	TH_CHECK(gh_settings_set(s, "db.password", "hunter2", "cmdline", &errs) == 0);
	free(errs);
	gh_settings_free(s);

	TH_TEST("missing file");
	s = gh_settings_new(defs, NDEFS);
	n = gh_settings_load(s, "/nonexistent/gatehouse.conf", &errs);
	TH_CHECK(n == 1 && strstr(errs, "cannot open") != NULL);
	free(errs);
	gh_settings_free(s);

	TH_TEST("parsers");
	long long v;
	int b;
	TH_CHECK(gh_parse_size("1m", &v) == 0 && v == 1048576);
	TH_CHECK(gh_parse_size("-1", &v) == -1);
	TH_CHECK(gh_parse_size("99999999999999999999", &v) == -1);
	TH_CHECK(gh_parse_duration_ms("7d", &v) == 0 && v == 604800000LL);
	TH_CHECK(gh_parse_duration_ms("5x", &v) == -1);
	TH_CHECK(gh_parse_bool("Yes", &b) == 0 && b == 1);
}

static void
test_router(void)
{
	struct gh_router *r = gh_router_new();
	struct gh_route_match m;
	gh_route_fn fn;
	char allow[64];
	int a = 1, b = 2, c = 3;

	TH_TEST("router add");
	TH_CHECK(gh_router_add(r, "GET", "/apis", route_noop, &a) == 0);
	TH_CHECK(gh_router_add(r, "GET", "/apis/{apiId}", route_noop, &b) == 0);
	TH_CHECK(gh_router_add(r, "PUT", "/apis/{apiId}", route_noop, &b) == 0);
	TH_CHECK(gh_router_add(r, "GET", "/apis/copy-api", route_noop, &c) == 0);
	TH_CHECK(gh_router_add(r, "GET", "/apis/{apiId}/revisions/{revId}", route_noop, &c) == 0);
	TH_CHECK(gh_router_add(r, "GET", "/apis", route_noop, &a) == -1);       /* duplicate */
	TH_CHECK(gh_router_add(r, "GET", "/apis/{x", route_noop, &a) == -1);    /* malformed */
	TH_CHECK(gh_router_add(r, "GET", "/a//b", route_noop, &a) == -1);

	TH_TEST("router match");
	TH_CHECK(gh_router_match(r, "GET", "/apis", &m, &fn, allow, sizeof(allow)) == GH_ROUTE_FOUND && m.arg == &a);
	gh_route_match_clear(&m);
	TH_CHECK(gh_router_match(r, "GET", "/apis/copy-api", &m, &fn, allow, sizeof(allow)) == GH_ROUTE_FOUND && m.arg == &c);
	gh_route_match_clear(&m);
	TH_CHECK(gh_router_match(r, "GET", "/apis/a%20b", &m, &fn, allow, sizeof(allow)) == GH_ROUTE_FOUND);
	TH_CHECK_EQ_STR(gh_route_param(&m, "apiId"), "a b");
	gh_route_match_clear(&m);
	TH_CHECK(gh_router_match(r, "GET", "/apis/1/revisions/2", &m, &fn, allow, sizeof(allow)) == GH_ROUTE_FOUND);
	TH_CHECK_EQ_STR(gh_route_param(&m, "revId"), "2");
	TH_CHECK(gh_route_param(&m, "nope") == NULL);
	gh_route_match_clear(&m);
	TH_CHECK(gh_router_match(r, "DELETE", "/apis/1", &m, &fn, allow, sizeof(allow)) == GH_ROUTE_METHOD_NOT_ALLOWED);
	TH_CHECK(strstr(allow, "GET") && strstr(allow, "PUT"));
	TH_CHECK(gh_router_match(r, "GET", "/apis/1/x", &m, &fn, allow, sizeof(allow)) == GH_ROUTE_NOT_FOUND);
	TH_CHECK(gh_router_match(r, "GET", "/apis/%2F", &m, &fn, allow, sizeof(allow)) == GH_ROUTE_BAD_PATH);
	TH_CHECK(gh_router_match(r, "GET", "/apis/%00", &m, &fn, allow, sizeof(allow)) == GH_ROUTE_BAD_PATH);
	TH_CHECK(gh_router_match(r, "GET", "/apis/%zz", &m, &fn, allow, sizeof(allow)) == GH_ROUTE_BAD_PATH);
	TH_CHECK(gh_router_match(r, "GET", "/apis/%4", &m, &fn, allow, sizeof(allow)) == GH_ROUTE_BAD_PATH);
	TH_CHECK(gh_router_match(r, "GET", "//apis", &m, &fn, allow, sizeof(allow)) == GH_ROUTE_NOT_FOUND);
	TH_CHECK(gh_router_match(r, "GET", "apis", &m, &fn, allow, sizeof(allow)) == GH_ROUTE_NOT_FOUND);
	gh_router_free(r);
}

static void
test_json(void)
{
	const char *why;
	struct json_object *o;
	long long v;
	int b;
	static const char *const bad[] = { "", "{", "{'a':1}", "{\"a\":1} x", "[1,]", "{\"a\":1,}",
	    "/*c*/{}", "{\"a\":\"\xff\"}", "nul" };

	TH_TEST("strict json");
	{
		const char *good = "{\"name\":\"x\",\"n\":5,\"b\":true,\"l\":[1],\"q\":\"it's \\\"/\"} \n";
		o = gh_json_parse_object(good, strlen(good), &why);
	}
	TH_CHECK(o != NULL);
	TH_CHECK_EQ_STR(gh_json_str(o, "name"), "x");
	TH_CHECK(gh_json_str(o, "n") == NULL);
	TH_CHECK(gh_json_int(o, "n", &v) == 0 && v == 5);
	TH_CHECK(gh_json_int(o, "name", &v) == -1);
	TH_CHECK(gh_json_int(o, "zz", &v) == 1);
	TH_CHECK(gh_json_bool(o, "b", &b) == 0 && b == 1);
	TH_CHECK(gh_json_array(o, "l") != NULL);
	json_object_put(o);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		TH_CHECK_MSG(gh_json_parse(bad[i], strlen(bad[i]), &why) == NULL, "accepted %s", bad[i]);
	TH_CHECK(gh_json_parse("{\"a\":\0}", 7, &why) == NULL);
	TH_CHECK(gh_json_parse_object("[1]", 3, &why) == NULL);
	{
		char deep[200];
		memset(deep, '[', 100);
		memset(deep + 100, ']', 100);
		TH_CHECK(gh_json_parse(deep, 200, &why) == NULL);
	}
}

static void
test_json_buf(void)
{
	char buf[256], tiny[8];
	struct gh_json_buf b = { buf, sizeof(buf), 0, 0 }, t = { tiny, sizeof(tiny), 0, 0 };
	const char *hostile = "a\"b\\c\n\x01\tü</script>";
	struct json_object *o;
	const char *why;

	TH_TEST("json buffer writer");
	gh_json_buf_raw(&b, "{");
	gh_json_buf_member(&b, "s", hostile);
	gh_json_buf_member_int(&b, "n", -42);
	TH_CHECK(gh_json_buf_raw(&b, "}") == 0 && b.overflow == 0);
	o = gh_json_parse_object(b.buf, b.len, &why);
	TH_CHECK(o != NULL);
	TH_CHECK_EQ_STR(gh_json_str(o, "s"), hostile);
	{
		long long n = 0;
		TH_CHECK(gh_json_int(o, "n", &n) == 0 && n == -42);
	}
	json_object_put(o);
	TH_CHECK(gh_json_buf_member(&t, "key", "a long value") == -1 && t.overflow == -1);
}

int
main(void)
{
	test_settings();
	test_router();
	test_json();
	test_json_buf();
	TH_END();
}
