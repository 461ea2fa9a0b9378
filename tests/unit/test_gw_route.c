/*
 * Routing and path normalisation (gateway/route.c): every encoding that
 * could make the routed path differ from what a backend resolves is
 * refused or normalised, and routing picks the right API (context,
 * version, default version, tenant context, vhost) and operation
 * (literal over mixed over {param} over wildcard, HEAD as GET, 405).
 */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/gw.h"
#include "gateway/store_int.h"
#include "tests/unit/th.h"

static const char *const refused[] = {
	"/pizza/1.0/%2e%2e/admin", "/pizza/1.0/%2E%2E/admin", "/pizza/1.0/.%2e/admin", "/pizza/1.0/%2e./admin",
	"/pizza/1.0/%2E%2e/admin", "/pizza/1.0/../admin", "/pizza/1.0/./menu", "/pizza/1.0/%2e/menu",
	"/pizza/1.0/menu/..", "/pizza/1.0/menu/%2e%2e", "/pizza/1.0/menu/.", "/pizza/1.0/%252e%252e/admin",
	"/pizza/1.0/%25252e/admin", "/pizza/1.0/%25%32%65%25%32%65/admin", "/pizza/1.0/a%2fb", "/pizza/1.0/a%2Fb",
	"/pizza/1.0/a%5cb", "/pizza/1.0/a%5Cb", "/pizza/1.0/a\\b", "/pizza/1.0/..\\admin", "/pizza/1.0/menu%00",
	"/pizza/1.0/menu%00.json", "/pizza/1.0/menu%0a", "/pizza/1.0/menu%0D%0A", "/pizza/1.0/menu%7f",
	"/pizza/1.0/menu%09", "/pizza/1.0//menu", "//pizza/1.0/menu", "/pizza/1.0/public//admin",
	"/pizza/1.0/menu;jsessionid=1", "/pizza/1.0;x/menu", "/pizza/1.0/..;/admin", "/pizza/1.0/menu%3bx",
	"/pizza/1.0/menu%3B", "/pizza/1.0/menu%", "/pizza/1.0/menu%2", "/pizza/1.0/menu%zz",
	"/pizza/1.0/menu%u002e", "/pizza/1.0/%%32%65%%32%65/admin", "/pizza/1.0/menu%25",
	"/pizza/1.0/%2e%2e%2fadmin", "/pizza/1.0/public/..%2fadmin", "/pizza/1.0/%c0%ae%c0%ae/admin",
	"/pizza/1.0/%c0%af", "/pizza/1.0/%e0%80%ae", "/pizza/1.0/%ed%a0%80", "/pizza/1.0/%c3",
	"/pizza/1.0/%c3x", "/pizza/1.0/%f4%90%80%80", "/pizza/1.0/%ff", "/pizza/1.0/m\xc3\xa9nu",
	"/pizza/1.0/menu\x01", "/pizza/1.0/me nu", "/pizza/1.0/menu#x", "pizza/1.0/menu", "",
	"/pizza/1.0/%c1%9c", "/pizza/1.0/%e0%80%af", "/pizza/1.0/%f0%80%80%af",
};

static const char *const normalised[][2] = {
	{ "/pizza/1.0/menu", "/pizza/1.0/menu" },
	{ "/pizza/1.0/%6denu", "/pizza/1.0/menu" },
	{ "/%70izza/1.0/menu", "/pizza/1.0/menu" },
	{ "/pizza/1%2e0/menu", "/pizza/1.0/menu" },
	{ "/pizza/1.0/%4D%45%4e%55", "/pizza/1.0/MENU" },
	{ "/pizza/1.0/a%20b", "/pizza/1.0/a%20b" },
	{ "/pizza/1.0/a%3fb", "/pizza/1.0/a%3Fb" },
	{ "/pizza/1.0/x%23y", "/pizza/1.0/x%23y" },
	{ "/pizza/1.0/caf%c3%a9", "/pizza/1.0/caf%C3%A9" },
	{ "/pizza/1.0/%F0%9F%8D%95", "/pizza/1.0/%F0%9F%8D%95" },
	{ "/pizza/1.0/%7e%2D%5f", "/pizza/1.0/~-_" },
	{ "/pizza/1.0/a%3Ab", "/pizza/1.0/a:b" },
	{ "/pizza/1.0/a%2Bb%40c", "/pizza/1.0/a+b@c" },
	{ "/pizza/1.0/menu/", "/pizza/1.0/menu/" },
	{ "/", "/" },
	{ "/pizza/1.0/...", "/pizza/1.0/..." },
	{ "/pizza/1.0/.hidden", "/pizza/1.0/.hidden" },
	{ "/pizza/1.0/a..b", "/pizza/1.0/a..b" },
	{ "/pizza/1.0/%2e%2e%2e", "/pizza/1.0/..." },
	{ "/pizza/1.0/items/42", "/pizza/1.0/items/42" },
};

#define MODEL \
"{\"eventId\":5,\"environment\":{\"name\":\"Internal\",\"type\":\"internal\",\"vhosts\":[" \
"{\"host\":\"a.example\",\"httpsPort\":8244},{\"host\":\"b.example\",\"httpsPort\":8244}]}," \
"\"apis\":[" \
"{\"id\":\"p1\",\"context\":\"/pizza\",\"version\":\"1.0\",\"lifeCycleStatus\":\"PUBLISHED\",\"environment\":\"Internal\"," \
" \"operations\":[{\"target\":\"/menu\",\"verb\":\"GET\"},{\"target\":\"/menu\",\"verb\":\"POST\"}," \
" {\"target\":\"/items/{id}\",\"verb\":\"GET\"},{\"target\":\"/items/special\",\"verb\":\"GET\"}," \
" {\"target\":\"/files/*\",\"verb\":\"GET\"},{\"target\":\"/*\",\"verb\":\"DELETE\"},{\"target\":\"/\",\"verb\":\"GET\"}," \
" {\"target\":\"/v{n}.json\",\"verb\":\"GET\"},{\"target\":\"/v{n}\",\"verb\":\"PUT\"},{\"target\":\"/{any}\",\"verb\":\"PUT\"}," \
" {\"target\":\"/a/{x}/c\",\"verb\":\"GET\"},{\"target\":\"/a/b/{y}\",\"verb\":\"GET\"}," \
" {\"target\":\"/admin\",\"verb\":\"GET\"},{\"target\":\"/public/*\",\"verb\":\"GET\",\"authType\":\"None\"}," \
" {\"target\":\"/h\",\"verb\":\"HEAD\"},{\"target\":\"/h\",\"verb\":\"GET\"},{\"target\":\"/a:b\",\"verb\":\"GET\"}," \
" {\"target\":\"/m/{a}-{b}-{c}-{d}.x\",\"verb\":\"GET\"}]}," \
"{\"id\":\"p2\",\"context\":\"/pizza\",\"version\":\"2.0\",\"isDefaultVersion\":true,\"lifeCycleStatus\":\"PUBLISHED\"," \
" \"operations\":[{\"target\":\"/menu\",\"verb\":\"GET\"}]}," \
"{\"id\":\"acme\",\"tenant\":\"acme.com\",\"context\":\"/t/acme.com/pizza\",\"version\":\"1.0\",\"isDefaultVersion\":true," \
" \"lifeCycleStatus\":\"PUBLISHED\",\"operations\":[{\"target\":\"/menu\",\"verb\":\"GET\"}]}," \
"{\"id\":\"deep\",\"context\":\"/pizza/extra\",\"version\":\"v1\",\"lifeCycleStatus\":\"PUBLISHED\"," \
" \"operations\":[{\"target\":\"/x\",\"verb\":\"GET\"}]}," \
"{\"id\":\"vh1\",\"context\":\"/vh\",\"version\":\"1\",\"vhost\":\"a.example\",\"lifeCycleStatus\":\"PUBLISHED\"," \
" \"operations\":[{\"target\":\"/*\",\"verb\":\"GET\"}]}," \
"{\"id\":\"vh2\",\"context\":\"/vh\",\"version\":\"1\",\"vhost\":\"B.example\",\"lifeCycleStatus\":\"PUBLISHED\"," \
" \"operations\":[{\"target\":\"/*\",\"verb\":\"GET\"}]}," \
"{\"id\":\"blk\",\"context\":\"/blk\",\"version\":\"1\",\"lifeCycleStatus\":\"BLOCKED\"," \
" \"operations\":[{\"target\":\"/*\",\"verb\":\"GET\"}]}," \
"{\"id\":\"ext\",\"context\":\"/ext\",\"version\":\"1\",\"environment\":\"External\",\"lifeCycleStatus\":\"PUBLISHED\"," \
" \"operations\":[{\"target\":\"/*\",\"verb\":\"GET\"}]}," \
"{\"id\":\"ret\",\"context\":\"/ret\",\"version\":\"1\",\"lifeCycleStatus\":\"RETIRED\"," \
" \"operations\":[{\"target\":\"/*\",\"verb\":\"GET\"}]}]}"

struct route_case {
	const char *host, *path, *method;
	int rc;
	const char *api_id;             /* NULL: no API */
	const char *target;             /* NULL: no operation */
	const char *rest;
};

static const struct route_case routes[] = {
	{ "a.example", "/pizza/1.0/menu", "GET", 0, "p1", "/menu", "/menu" },
	{ "a.example", "/pizza/1.0/menu", "POST", 0, "p1", "/menu", "/menu" },
	{ "a.example", "/pizza/1.0/menu", "PATCH", 405, "p1", NULL, "/menu" },
	{ "a.example", "/pizza/menu", "GET", 0, "p2", "/menu", "/menu" },
	{ "a.example", "/pizza/2.0/menu", "GET", 0, "p2", "/menu", "/menu" },
	{ "a.example", "/pizza/3.0/menu", "GET", 404, "p2", NULL, "/3.0/menu" },
	{ "a.example", "/pizza/1.0/items/42", "GET", 0, "p1", "/items/{id}", "/items/42" },
	{ "a.example", "/pizza/1.0/items/special", "GET", 0, "p1", "/items/special", "/items/special" },
	{ "a.example", "/pizza/1.0/items/", "GET", 405, "p1", NULL, "/items/" },  /* the DELETE wildcard */
	{ "a.example", "/pizza/1.0/items/42/", "GET", 0, "p1", "/items/{id}", "/items/42/" },
	{ "a.example", "/pizza/1.0/files", "GET", 0, "p1", "/files/*", "/files" },
	{ "a.example", "/pizza/1.0/files/a/b/c.txt", "GET", 0, "p1", "/files/*", "/files/a/b/c.txt" },
	{ "a.example", "/pizza/1.0/anything/at/all", "DELETE", 0, "p1", "/*", "/anything/at/all" },
	{ "a.example", "/pizza/1.0/anything/at/all", "GET", 405, "p1", NULL, "/anything/at/all" },
	{ "a.example", "/pizza/1.0", "GET", 0, "p1", "/", "/" },
	{ "a.example", "/pizza/1.0/", "GET", 0, "p1", "/", "/" },
	{ "a.example", "/pizza/1.0/menu", "HEAD", 0, "p1", "/menu", "/menu" },
	{ "a.example", "/pizza/1.0/h", "HEAD", 0, "p1", "/h", "/h" },
	{ "a.example", "/pizza/1.0/v2.json", "GET", 0, "p1", "/v{n}.json", "/v2.json" },
	{ "a.example", "/pizza/1.0/v.json", "GET", 405, "p1", NULL, "/v.json" },  /* PUT /{any} */
	{ "a.example", "/pizza/1.0/v7", "PUT", 0, "p1", "/v{n}", "/v7" },
	{ "a.example", "/pizza/1.0/w7", "PUT", 0, "p1", "/{any}", "/w7" },
	{ "a.example", "/pizza/1.0/a/b/c", "GET", 0, "p1", "/a/b/{y}", "/a/b/c" },
	{ "a.example", "/pizza/1.0/a/z/c", "GET", 0, "p1", "/a/{x}/c", "/a/z/c" },
	{ "a.example", "/pizza/1.0/a:b", "GET", 0, "p1", "/a:b", "/a:b" },
	{ "a.example", "/pizza/1.0/m/1-2-3-4.x", "GET", 0, "p1", "/m/{a}-{b}-{c}-{d}.x", "/m/1-2-3-4.x" },
	{ "a.example", "/pizza/1.0/m/1-2--3-4-5.x", "GET", 0, "p1", "/m/{a}-{b}-{c}-{d}.x", "/m/1-2--3-4-5.x" },
	{ "a.example", "/pizza/1.0/m/1-2-3.x", "GET", 405, "p1", NULL, "/m/1-2-3.x" },
	{ "a.example", "/pizza/1.0/m/-1-2-3.x", "GET", 405, "p1", NULL, "/m/-1-2-3.x" },
	{ "a.example", "/t/acme.com/pizza/1.0/menu", "GET", 0, "acme", "/menu", "/menu" },
	{ "a.example", "/t/acme.com/pizza/menu", "GET", 0, "acme", "/menu", "/menu" },
	{ "a.example", "/t/other.com/pizza/menu", "GET", 404, NULL, NULL, NULL },
	{ "a.example", "/pizza/extra/v1/x", "GET", 0, "deep", "/x", "/x" },
	{ "a.example", "/pizza/extra", "GET", 404, "p2", NULL, "/extra" },
	{ "a.example", "/nothing/1.0/x", "GET", 404, NULL, NULL, NULL },
	{ "a.example", "/pizzas/1.0/menu", "GET", 404, NULL, NULL, NULL },
	{ "a.example", "/PIZZA/1.0/menu", "GET", 404, NULL, NULL, NULL },
	{ "a.example", "/ext/1/x", "GET", 404, NULL, NULL, NULL },
	{ "a.example", "/ret/1/x", "GET", 404, NULL, NULL, NULL },
	{ "a.example", "/blk/1/x", "GET", 0, "blk", "/*", "/x" },
	{ "a.example", "/vh/1/x", "GET", 0, "vh1", "/*", "/x" },
	{ "b.example", "/vh/1/x", "GET", 0, "vh2", "/*", "/x" },
	{ "c.example", "/vh/1/x", "GET", 0, "vh1", "/*", "/x" },
	{ "", "/pizza/1.0/menu", "GET", 0, "p1", "/menu", "/menu" },
	{ "a.example", "/pizza/1.0/admin", "GET", 0, "p1", "/admin", "/admin" },
	{ "a.example", "/pizza/1.0/public/x", "GET", 0, "p1", "/public/*", "/public/x" },
};

/* Normalise then route, as gw_phase_route does: the rc (400 for a refused path). */
static int
route_raw(struct gw_store *s, const char *host, const char *raw, const char *method, struct gw_match *m)
{
	char *path;
	const char *why;
	int rc;

	if (gw_path_normalize(raw, &path, &why) != 0)
		return 400;
	rc = gw_route(s, host, path, method, m);
	free(path);
	return rc;
}

int
main(void)
{
	struct json_object *model = json_tokener_parse(MODEL);
	struct gw_store *s;
	struct gw_match m;
	const char *why;
	char *out;
	size_t nref = sizeof(refused) / sizeof(refused[0]);

	TH_TEST("refused encodings");
	TH_CHECK(nref >= 40);
	for (size_t i = 0; i < nref; i++) {
		int rc = gw_path_normalize(refused[i], &out, &why);

		TH_CHECK_MSG(rc == -1 && out == NULL && why != NULL, "'%s' was accepted as '%s'", refused[i],
		    out ? out : "");
		free(out);
	}

	TH_TEST("normalised paths");
	for (size_t i = 0; i < sizeof(normalised) / sizeof(normalised[0]); i++) {
		int rc = gw_path_normalize(normalised[i][0], &out, &why);

		TH_CHECK_MSG(rc == 0, "'%s' refused: %s", normalised[i][0], why ? why : "");
		TH_CHECK_EQ_STR(out, normalised[i][1]);
		free(out);
	}

	TH_TEST("store");
	TH_CHECK(model != NULL);
	s = gw_store_build(model, &why);
	TH_CHECK_MSG(s != NULL, "build: %s", why ? why : "");
	if (s == NULL)
		TH_END();
	TH_CHECK_EQ_INT(s->napis, 7);
	TH_CHECK_EQ_INT(gw_store_vhost_count(s), 2);
	TH_CHECK(gw_store_context(s, "/pizza", 6) != NULL && gw_store_context(s, "/pizza", 6)->napis == 2);
	TH_CHECK(gw_store_context(s, "/pizz", 5) == NULL);

	TH_TEST("routes");
	memset(&m, 0, sizeof(m));
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const struct route_case *c = &routes[i];
		int rc = gw_route(s, c->host, c->path, c->method, &m);

		TH_CHECK_MSG(rc == c->rc, "%s %s: %d, expected %d", c->method, c->path, rc, c->rc);
		TH_CHECK_MSG(c->api_id ? m.api != NULL && strcmp(m.api->id, c->api_id) == 0 : m.api == NULL,
		    "%s %s: API %s, expected %s", c->method, c->path, m.api ? m.api->id : "none",
		    c->api_id ? c->api_id : "none");
		TH_CHECK_MSG(c->target ? m.op != NULL && strcmp(m.op->target, c->target) == 0 : m.op == NULL,
		    "%s %s: operation %s, expected %s", c->method, c->path, m.op ? m.op->target : "none",
		    c->target ? c->target : "none");
		TH_CHECK_MSG(c->rest ? m.rest != NULL && strcmp(m.rest, c->rest) == 0 : 1, "%s %s: rest %s, expected %s",
		    c->method, c->path, m.rest ? m.rest : "(null)", c->rest ? c->rest : "");
		TH_CHECK_EQ_INT(m.method_allowed_elsewhere, c->rc == 405);
		gw_match_clear(&m);
	}
	TH_CHECK(m.rest == NULL && m.api == NULL);

	TH_TEST("encodings cannot reach /admin through /public/* (auth None)");
	{
		static const char *const tricks[] = {
			"/pizza/1.0/public/%2e%2e/admin", "/pizza/1.0/public/..%2Fadmin", "/pizza/1.0/public/%2E%2E%2Fadmin",
			"/pizza/1.0/public/..;/admin", "/pizza/1.0/public/%252e%252e/admin", "/pizza/1.0/public//../admin",
			"/pizza/1.0/public/.%2e/admin", "/pizza/1.0/public/%c0%ae%c0%ae/admin", "/pizza/1.0/public\\..\\admin",
			"/pizza/1.0/public/%5c..%5cadmin", "/pizza/1.0/public/..%00/admin", "/pizza/1.0/public;/../admin",
		};

		for (size_t i = 0; i < sizeof(tricks) / sizeof(tricks[0]); i++) {
			int rc = route_raw(s, "a.example", tricks[i], "GET", &m);

			TH_CHECK_MSG(rc == 400, "%s: %d", tricks[i], rc);
			gw_match_clear(&m);
		}
		/* encodings that normalise to the protected resource route to it (auth applies) */
		TH_CHECK_EQ_INT(route_raw(s, "a.example", "/pizza/1.0/%61dmin", "GET", &m), 0);
		TH_CHECK(m.op != NULL && strcmp(m.op->target, "/admin") == 0 && !m.op->no_auth);
		TH_CHECK_EQ_STR(m.rest, "/admin");
		gw_match_clear(&m);
		TH_CHECK_EQ_INT(route_raw(s, "a.example", "/pizza/1.0/a%3ab", "GET", &m), 0);
		TH_CHECK(m.op != NULL && strcmp(m.op->target, "/a:b") == 0);
		gw_match_clear(&m);
		TH_CHECK_EQ_INT(route_raw(s, "a.example", "/pizza/1%2E0/menu", "GET", &m), 0);
		TH_CHECK(m.api != NULL && strcmp(m.api->id, "p1") == 0);
		gw_match_clear(&m);
		TH_CHECK_EQ_INT(route_raw(s, "a.example", "/pizza/1.0/ADMIN", "GET", &m), 405);
		gw_match_clear(&m);
	}

	TH_TEST("hostile sizes stay cheap");
	{
		size_t n = 16000;
		char *big = malloc(n + 64);
		clock_t t0 = clock();

		/* 8000 one-letter segments; then a 16 KB segment against a pattern of four parameters */
		for (size_t i = 0; i < n; i += 2) {
			big[i] = '/';
			big[i + 1] = 'a';
		}
		big[n] = '\0';
		TH_CHECK_EQ_INT(gw_route(s, "a.example", big, "GET", &m), 404);
		gw_match_clear(&m);
		strcpy(big, "/pizza/1.0/m/");
		memset(big + 13, '-', n - 20);
		strcpy(big + 13 + n - 20, "y");
		TH_CHECK(gw_route(s, "a.example", big, "GET", &m) == 405);
		gw_match_clear(&m);
		TH_CHECK_MSG((double)(clock() - t0) / CLOCKS_PER_SEC < 1.0, "%.2f s",
		    (double)(clock() - t0) / CLOCKS_PER_SEC);
		free(big);
	}

	TH_TEST("a store without APIs");
	{
		struct json_object *empty = json_tokener_parse(
		    "{\"environment\":{\"name\":\"X\",\"type\":\"external\"},\"apis\":[]}");
		struct gw_store *e = gw_store_build(empty, &why);

		TH_CHECK(e != NULL);
		TH_CHECK_EQ_INT(gw_route(e, "h", "/pizza/1.0/menu", "GET", &m), 404);
		TH_CHECK_EQ_INT(gw_store_vhost_count(e), 0);
		gw_match_clear(&m);
		gw_store_unref(e);
		json_object_put(empty);
	}

	gw_store_unref(s);
	json_object_put(model);
	TH_END();
}
