/*
 * Unit tests of the gateway's throttling pieces (sliding windows, refusal
 * without counting, the tightest limit, deny-rule matching), the address
 * lists, the passive-health table, the analytics spool and the backend JWT.
 */
#include <dirent.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/gh_jose.h"
#include "core/gh_json.h"
#include "gateway/analytics.h"
#include "gateway/backend_jwt.h"
#include "gateway/gw.h"
#include "core/gh_ipaddr.h"
#include "gateway/proxy.h"
#include "gateway/throttle.h"
#include "th.h"

static struct gw_rl_limit
lim(const char *level, const char *key, int64_t count, int64_t window)
{
	struct gw_rl_limit l;

	memset(&l, 0, sizeof(l));
	l.level = level;
	snprintf(l.key, sizeof(l.key), "%s", key);
	l.count = count;
	l.window_ms = window;
	return l;
}

static void
test_windows(void)
{
	struct gw_rl_limit l = lim("subscription", "s1", 10, 2000);
	struct gw_rl_verdict v;
	int64_t t0 = 1000000;           /* a multiple of the window */
	int ok = 0;

	TH_TEST("sliding window: 10 per 2 s");
	gw_rl_reset();
	TH_CHECK_EQ_INT(gw_rl_take(&l, 1, t0, &v), 0);
	TH_CHECK_EQ_INT(v.limit, 10);
	TH_CHECK_EQ_INT(v.remaining, 9);
	TH_CHECK_EQ_INT(v.reset_s, 2);
	for (int i = 1; i < 10; i++)
		ok += gw_rl_take(&l, 1, t0 + i * 10, &v) == 0;
	TH_CHECK_EQ_INT(ok, 9);
	TH_CHECK_EQ_INT(v.remaining, 0);
	TH_CHECK_EQ_INT(gw_rl_take(&l, 1, t0 + 500, &v), 1);
	TH_CHECK_EQ_INT(v.level, 0);
	TH_CHECK_EQ_INT(v.remaining, 0);
	/* the window ends at t0+2000, then the carried weight must fall by one tenth: 1.5 + 0.2 s */
	TH_CHECK_MSG(v.retry_after_s == 2, "retry after %lld", (long long)v.retry_after_s);
	/* refused requests count nothing: still refused, still 10 */
	TH_CHECK_EQ_INT(gw_rl_take(&l, 1, t0 + 1999, &v), 1);
	/* just after the window: the previous 10 weigh fully */
	TH_CHECK_EQ_INT(gw_rl_take(&l, 1, t0 + 2000, &v), 1);
	/* half-way through the next window they weigh 5: five more fit, not six */
	ok = 0;
	for (int i = 0; i < 6; i++)
		ok += gw_rl_take(&l, 1, t0 + 3000, &v) == 0;
	TH_CHECK_EQ_INT(ok, 5);
	/* two windows later everything is forgotten */
	ok = 0;
	for (int i = 0; i < 10; i++)
		ok += gw_rl_take(&l, 1, t0 + 6000, &v) == 0;
	TH_CHECK_EQ_INT(ok, 10);
	TH_CHECK_EQ_INT(gw_rl_take(&l, 1, t0 + 6001, &v), 1);
}

static void
test_multi(void)
{
	struct gw_rl_limit l[2] = { lim("api", "a", 100, 1000), lim("resource", "r", 3, 1000) };
	struct gw_rl_limit only_a = lim("api", "a", 100, 1000);
	struct gw_rl_limit other_window = lim("api", "a", 100, 5000);
	struct gw_rl_verdict v;
	int64_t t0 = 5000000;

	TH_TEST("several limits: check all, then count all");
	gw_rl_reset();
	TH_CHECK_EQ_INT(gw_rl_take(l, 2, t0, &v), 0);
	TH_CHECK_EQ_INT(v.level, 1);            /* the tightest */
	TH_CHECK_EQ_INT(v.limit, 3);
	TH_CHECK_EQ_INT(v.remaining, 2);
	TH_CHECK_EQ_INT(gw_rl_take(l, 2, t0 + 1, &v), 0);
	TH_CHECK_EQ_INT(gw_rl_take(l, 2, t0 + 2, &v), 0);
	TH_CHECK_EQ_INT(gw_rl_take(l, 2, t0 + 3, &v), 1);
	TH_CHECK_EQ_INT(v.level, 1);
	TH_CHECK_EQ_INT(gw_rl_take(l, 2, t0 + 4, &v), 1);
	/* the refusals did not count in "a": 3 so far, so 97 left after this one */
	TH_CHECK_EQ_INT(gw_rl_take(&only_a, 1, t0 + 5, &v), 0);
	TH_CHECK_EQ_INT(v.remaining, 96);
	/* a changed window is another counter */
	TH_CHECK_EQ_INT(gw_rl_take(&other_window, 1, t0 + 5, &v), 0);
	TH_CHECK_EQ_INT(v.remaining, 99);
	TH_CHECK_EQ_INT(gw_rl_take(NULL, 0, t0, &v), 0);
	TH_CHECK_EQ_INT(v.level, -1);
}

static struct gw_deny
deny(enum gw_deny_type t, const char *tenant, const char *value, const char *lo, const char *hi, int invert)
{
	struct gw_deny d;

	memset(&d, 0, sizeof(d));
	d.type = t;
	d.tenant = (char *)tenant;
	d.value = (char *)value;
	if (lo != NULL)
		gh_ip_parse(lo, d.ip_lo);
	if (hi != NULL)
		gh_ip_parse(hi, d.ip_hi);
	d.invert = invert;
	return d;
}

static void
test_deny(void)
{
	struct gw_deny_subject s = {
		.api_tenant = "carbon.super", .api_context = "/pizza", .api_version = "1.0.0",
		.app_owner = "alice", .app_name = "shop", .user = "bob", .user_tenant = "carbon.super",
		.ip = "192.0.2.10",
	};
	struct gw_deny d;

	TH_TEST("deny rules");
	d = deny(GW_DENY_API, "carbon.super", "/pizza/1.0.0", NULL, NULL, 0);
	TH_CHECK(gw_deny_matches(&d, &s));
	d = deny(GW_DENY_API, "carbon.super", "/pizza", NULL, NULL, 0);
	TH_CHECK(gw_deny_matches(&d, &s));
	d = deny(GW_DENY_API, "carbon.super", "/pizza/2.0.0", NULL, NULL, 0);
	TH_CHECK(!gw_deny_matches(&d, &s));
	d = deny(GW_DENY_API, "carbon.super", "/pizzas/1.0.0", NULL, NULL, 0);
	TH_CHECK(!gw_deny_matches(&d, &s));
	d = deny(GW_DENY_API, "acme.com", "/pizza/1.0.0", NULL, NULL, 0);
	TH_CHECK(!gw_deny_matches(&d, &s));     /* another tenant's rule */
	d = deny(GW_DENY_APPLICATION, "carbon.super", "alice:shop", NULL, NULL, 0);
	TH_CHECK(gw_deny_matches(&d, &s));
	d = deny(GW_DENY_APPLICATION, "carbon.super", "alice:shops", NULL, NULL, 0);
	TH_CHECK(!gw_deny_matches(&d, &s));
	d = deny(GW_DENY_APPLICATION, "carbon.super", "alic:shop", NULL, NULL, 0);
	TH_CHECK(!gw_deny_matches(&d, &s));
	d = deny(GW_DENY_USER, "carbon.super", "bob", NULL, NULL, 0);
	TH_CHECK(gw_deny_matches(&d, &s));
	d = deny(GW_DENY_USER, "carbon.super", "bob@carbon.super", NULL, NULL, 0);
	TH_CHECK(gw_deny_matches(&d, &s));
	d = deny(GW_DENY_USER, "carbon.super", "bob@acme.com", NULL, NULL, 0);
	TH_CHECK(!gw_deny_matches(&d, &s));
	d = deny(GW_DENY_USER, "carbon.super", "bo", NULL, NULL, 0);
	TH_CHECK(!gw_deny_matches(&d, &s));
	d = deny(GW_DENY_IP, "carbon.super", NULL, "192.0.2.10", "192.0.2.10", 0);
	TH_CHECK(gw_deny_matches(&d, &s));
	d = deny(GW_DENY_IP, "carbon.super", NULL, "192.0.2.11", "192.0.2.11", 0);
	TH_CHECK(!gw_deny_matches(&d, &s));
	d = deny(GW_DENY_IP, "carbon.super", NULL, "192.0.2.11", "192.0.2.11", 1);
	TH_CHECK(gw_deny_matches(&d, &s));      /* inverted: everyone but .11 */
	d = deny(GW_DENY_IPRANGE, "carbon.super", NULL, "192.0.2.0", "192.0.2.255", 0);
	TH_CHECK(gw_deny_matches(&d, &s));
	d = deny(GW_DENY_IPRANGE, "carbon.super", NULL, "192.0.3.0", "192.0.3.255", 0);
	TH_CHECK(!gw_deny_matches(&d, &s));
	d = deny(GW_DENY_IPRANGE, "carbon.super", NULL, "192.0.2.0", "192.0.2.255", 1);
	TH_CHECK(!gw_deny_matches(&d, &s));
	s.user = NULL;
	s.app_owner = s.app_name = NULL;
	d = deny(GW_DENY_USER, "carbon.super", "bob", NULL, NULL, 0);
	TH_CHECK(!gw_deny_matches(&d, &s));     /* anonymous */
	d = deny(GW_DENY_APPLICATION, "carbon.super", "alice:shop", NULL, NULL, 0);
	TH_CHECK(!gw_deny_matches(&d, &s));
	s.ip = "2001:db8::5";
	d = deny(GW_DENY_IPRANGE, "*", NULL, "2001:db8::", "2001:db8::ffff", 0);
	TH_CHECK(gw_deny_matches(&d, &s));
}

static void
test_addr(void)
{
	unsigned char a[16];

	TH_TEST("addresses and CIDR lists");
	TH_CHECK(gh_ip_parse("10.1.2.3", a) == 0 && a[10] == 0xff && a[12] == 10 && a[15] == 3);
	TH_CHECK(gh_ip_parse("10.1.2", a) != 0);
	TH_CHECK(gh_ip_parse("example.com", a) != 0);
	TH_CHECK(gh_ip_in_list("10.1.2.3", "10.0.0.0/8"));
	TH_CHECK(gh_ip_in_list("10.1.2.3", "192.168.0.1, 10.1.2.3"));
	TH_CHECK(!gh_ip_in_list("11.1.2.3", "10.0.0.0/8"));
	TH_CHECK(gh_ip_in_list("127.0.0.1", "127.0.0.0/8"));
	TH_CHECK(!gh_ip_in_list("127.0.0.1", ""));
	TH_CHECK(!gh_ip_in_list("127.0.0.1", NULL));
	TH_CHECK(!gh_ip_in_list("127.0.0.1", "127.0.0.0/33,junk,/8"));
	TH_CHECK(gh_ip_in_list("2001:db8::1", "2001:db8::/32"));
	TH_CHECK(!gh_ip_in_list("2001:db9::1", "2001:db8::/32"));
	TH_CHECK(gh_ip_in_list("::ffff:10.0.0.1", "10.0.0.0/8"));
	TH_CHECK(gh_ip_in_list("1.2.3.4", "0.0.0.0/0"));
}

static void
test_health(void)
{
	TH_TEST("passive health");
	TH_CHECK(!gw_health_ejected("http://127.0.0.1:1/a", 1000));
	gw_health_eject("http://127.0.0.1:1/a", 1000, 500);
	TH_CHECK(gw_health_ejected("http://127.0.0.1:1/a", 1000));
	TH_CHECK(gw_health_ejected("http://127.0.0.1:1/a", 1499));
	TH_CHECK(!gw_health_ejected("http://127.0.0.1:1/a", 1500));
	TH_CHECK(!gw_health_ejected("http://127.0.0.1:2/a", 1200));
}

static void
test_spool(void)
{
	char dir[] = "/tmp/gw-spool-test.XXXXXX", path[600], line[128], *got = NULL;
	size_t n = 0, cap = 0;
	FILE *f;
	int lines = 0;

	TH_TEST("analytics spool");
	TH_CHECK(mkdtemp(dir) != NULL);
	TH_CHECK_EQ_INT(gw_spool_open(dir), 0);
	for (int i = 0; i < 2500; i++) {
		int len = snprintf(line, sizeof(line), "{\"n\":%d}\n", i);

		gw_spool_append(line, (size_t)len);
	}
	gw_spool_close();
	snprintf(path, sizeof(path), "%s/spool-00000000.jsonl", dir);
	f = fopen(path, "r");
	TH_CHECK(f != NULL);
	while (f != NULL && getline(&got, &cap, f) > 0) {
		char want[64];

		snprintf(want, sizeof(want), "{\"n\":%d}\n", lines);
		n += strcmp(got, want) == 0;
		lines++;
	}
	if (f != NULL)
		fclose(f);
	free(got);
	TH_CHECK_EQ_INT(lines, 2500);
	TH_CHECK_EQ_INT(n, 2500);
	TH_CHECK(gw.metrics.spool_events == 2500);
	unlink(path);
	rmdir(dir);
}

static void
test_rotation(void)
{
	char dir[] = "/tmp/gw-spool-test.XXXXXX", path[600], line[1024];
	struct stat st0, st1;
	int ok = 1, lines = 0, ch, last = '\n';
	FILE *f;

	TH_TEST("analytics spool rotation at 8 MiB, on line boundaries");
	TH_CHECK(mkdtemp(dir) != NULL);
	TH_CHECK_EQ_INT(gw_spool_open(dir), 0);
	memset(line, 'e', sizeof(line));
	line[sizeof(line) - 1] = '\n';
	for (int i = 0; i < 9 * 1024; i++)
		gw_spool_append(line, sizeof(line));
	gw_spool_close();
	snprintf(path, sizeof(path), "%s/spool-00000000.jsonl", dir);
	TH_CHECK(stat(path, &st0) == 0 && st0.st_size == 8 << 20);
	snprintf(path, sizeof(path), "%s/spool-00000001.jsonl", dir);
	TH_CHECK(stat(path, &st1) == 0 && st1.st_size == 1 << 20);
	for (int k = 0; k < 2; k++) {
		snprintf(path, sizeof(path), "%s/spool-%08d.jsonl", dir, k);
		f = fopen(path, "r");
		while (f != NULL && (ch = fgetc(f)) != EOF) {
			lines += ch == '\n';
			ok &= ch == 'e' || ch == '\n';
			last = ch;
		}
		if (f != NULL)
			fclose(f);
		TH_CHECK(last == '\n');
		unlink(path);
	}
	TH_CHECK(ok);
	TH_CHECK_EQ_INT(lines, 9 * 1024);
	rmdir(dir);
}

static void
test_backend_jwt(void)
{
	struct gw_api api;
	struct gw_app app;
	struct gw_sub sub;
	struct gw_req r;
	struct gw_bjwt_cache *c = gw_bjwt_cache_new();
	const char *t1, *t2;
	char *copy;
	struct gh_jws jws;

	TH_TEST("backend JWT");
	memset(&api, 0, sizeof(api));
	memset(&app, 0, sizeof(app));
	memset(&sub, 0, sizeof(sub));
	memset(&r, 0, sizeof(r));
	api.id = "api-1";
	api.name = "Pizza";
	api.context = "/pizza";
	api.version = "1.0.0";
	app.id = "app-1";
	app.name = "shop";
	app.owner = "alice";
	app.tier = "Unlimited";
	sub.tier = "Gold";
	r.match.api = &api;
	r.app = &app;
	r.sub = &sub;
	r.who.kind = 1;
	snprintf(r.who.sub, sizeof(r.who.sub), "bob");
	snprintf(r.who.jti, sizeof(r.who.jti), "jti-1");
	snprintf(r.who.key_type, sizeof(r.who.key_type), "PRODUCTION");
	r.who.scope = "read write";
	gw.env = "External";
	snprintf(gw.node, sizeof(gw.node), "node-a");
	TH_CHECK(gw_backend_jwt_assertion(c, &r) == NULL);      /* no key yet */
	gw.backend_key = gh_jwk_generate(GH_JOSE_ES256, NULL);
	t1 = gw_backend_jwt_assertion(c, &r);
	TH_CHECK(t1 != NULL);
	copy = t1 ? strdup(t1) : NULL;
	t2 = gw_backend_jwt_assertion(c, &r);
	TH_CHECK(t2 != NULL && copy != NULL && strcmp(copy, t2) == 0);   /* cached */
	memset(&jws, 0, sizeof(jws));
	TH_CHECK(copy != NULL && gh_jws_verify_key(copy, strlen(copy), gw.backend_key, &jws) == GH_JOSE_OK);
	if (jws.claims != NULL) {
		TH_CHECK_EQ_STR(gh_json_str(jws.claims, "iss"), "gatehouse-gateway/External");
		TH_CHECK_EQ_STR(gh_json_str(jws.claims, "sub"), "bob");
		TH_CHECK_EQ_STR(gh_json_str(jws.claims, "http://wso2.org/claims/apicontext"), "/pizza");
		TH_CHECK_EQ_STR(gh_json_str(jws.claims, "http://wso2.org/claims/applicationname"), "shop");
		TH_CHECK_EQ_STR(gh_json_str(jws.claims, "http://wso2.org/claims/tier"), "Gold");
		TH_CHECK_EQ_STR(gh_json_str(jws.claims, "http://wso2.org/claims/keytype"), "PRODUCTION");
		TH_CHECK_EQ_STR(gh_json_str(jws.claims, "scope"), "read write");
		TH_CHECK_EQ_STR(gh_json_str(jws.header, "kid"), gw.backend_key->kid);
	}
	gh_jws_clear(&jws);
	/* another principal: another assertion */
	snprintf(r.who.jti, sizeof(r.who.jti), "jti-2");
	t2 = gw_backend_jwt_assertion(c, &r);
	TH_CHECK(t2 != NULL && copy != NULL && strcmp(copy, t2) != 0);
	free(copy);
	gw_bjwt_cache_free(c);
	gh_jwk_free(gw.backend_key);
	gw.backend_key = NULL;
}

int
main(void)
{
	test_windows();
	test_multi();
	test_deny();
	test_addr();
	test_health();
	test_spool();
	test_rotation();
	test_backend_jwt();
	TH_END();
}
