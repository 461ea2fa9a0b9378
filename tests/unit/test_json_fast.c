/*
 * gh_json_fast_object (core/json.c): the members it returns for texts in
 * its subset, and that it defers (returns -1) on everything outside it
 * (escapes, non-ASCII, fractions, exponents, long integers, repeated
 * names at any depth, deep nesting) and on every malformed text, so that
 * the full parser always has the last word there.
 */
#include <string.h>

#include "core/gh_json.h"
#include "th.h"

static const char *const names[] = { "a", "b", "c", "o", "arr", "t" };
#define N (sizeof(names) / sizeof(names[0]))

static int
rd(const char *s, struct gh_json_val *v)
{
	return gh_json_fast_object(s, strlen(s), names, N, v);
}

int
main(void)
{
	struct gh_json_val v[N];
	static const char *const defer[] = {
		"", " ", "[]", "\"a\"", "1", "{", "}", "{\"a\":1", "{\"a\":1,}", "{,}", "{\"a\"}",
		"{\"a\" 1}", "{a:1}", "{'a':1}", "{\"a\":1}x", "{\"a\":1}{}", "{\"a\":01}",
		"{\"a\":1.5}", "{\"a\":1e3}", "{\"a\":-}", "{\"a\":+1}", "{\"a\":1234567890123456789}",
		"{\"a\":\"x\\\"y\"}", "{\"a\":\"\\u0041\"}", "{\"a\":\"caf\xc3\xa9\"}",
		"{\"a\":\"tab\there\"}", "{\"a\":1,\"a\":2}", "{\"o\":{\"x\":1,\"x\":1}}",
		"{\"a\":tru}", "{\"a\":nul}", "{\"a\":True}", "{\"arr\":[1,]}", "{\"arr\":[,1]}",
		"{\"arr\":[1 2]}", "{\"a\":[[[[[[[[[1]]]]]]]]]}", "{\"a\":1}\n\0",
		"{\"a\" : 1 , \"b\":/**/2}", "{\"\\u0061\":1,\"a\":2}",
	};

	TH_TEST("members of a text in the subset");
	TH_CHECK_EQ_INT(rd(" {\"a\" : 123 ,\"b\":\"str\",\"o\":{\"x\":[1,{\"y\":null}]},\n"
	    "\"arr\":[],\"t\":true,\"zz\":false,\"c\":null, \"n\":-42}\r\n", v), 0);
	TH_CHECK(v[0].kind == GH_JV_INT && v[0].i == 123);
	TH_CHECK(v[1].kind == GH_JV_STR && v[1].n == 3 && memcmp(v[1].p, "str", 3) == 0);
	TH_CHECK(v[2].kind == GH_JV_NULL);
	TH_CHECK(v[3].kind == GH_JV_OBJ && v[3].n == strlen("{\"x\":[1,{\"y\":null}]}") &&
	    memcmp(v[3].p, "{\"x\":[1,{\"y\":null}]}", v[3].n) == 0);
	TH_CHECK(v[4].kind == GH_JV_ARR && v[4].n == 2);
	TH_CHECK(v[5].kind == GH_JV_BOOL && v[5].i == 1);
	TH_CHECK_EQ_INT(rd("{}", v), 0);
	TH_CHECK(v[0].kind == GH_JV_ABSENT && v[5].kind == GH_JV_ABSENT);
	TH_CHECK_EQ_INT(rd("{\"a\":-0,\"b\":\"\",\"c\":999999999999999999}", v), 0);
	TH_CHECK(v[0].kind == GH_JV_INT && v[0].i == 0 && v[1].kind == GH_JV_STR && v[1].n == 0);
	TH_CHECK(v[2].i == 999999999999999999LL);
	TH_CHECK_EQ_INT(rd("{\"o\":{\"a\":1},\"a\":2}", v), 0);
	TH_CHECK_MSG(v[0].i == 2, "a nested member is not the top-level one");
	TH_CHECK_EQ_INT(rd("{\"x\":{\"a\":1},\"y\":{\"a\":1}}", v), 0);

	TH_TEST("everything else is deferred to the full parser");
	for (size_t i = 0; i < sizeof(defer) / sizeof(defer[0]); i++)
		TH_CHECK_MSG(gh_json_fast_object(defer[i], strlen(defer[i]) +
		    (strcmp(defer[i], "{\"a\":1}\n") == 0), names, N, v) == -1, "accepted: %s", defer[i]);
	TH_CHECK_EQ_INT(gh_json_fast_object("{\"a\":1}\0", 8, names, N, v), -1);
	{
		char many[2048];
		size_t o = 0;

		o += (size_t)snprintf(many + o, sizeof(many) - o, "{");
		for (int i = 0; i < GH_JSON_FAST_MEMBERS + 1; i++)
			o += (size_t)snprintf(many + o, sizeof(many) - o, "%s\"m%d\":%d", i ? "," : "", i, i);
		snprintf(many + o, sizeof(many) - o, "}");
		TH_CHECK_MSG(rd(many, v) == -1, "more than GH_JSON_FAST_MEMBERS members");
	}
	TH_END();
}
