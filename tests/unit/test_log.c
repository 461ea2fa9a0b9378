/*
 * Unit tests of core/log.c: every line is one parseable JSON object with
 * the standard fields, levels below the minimum are dropped, and hostile
 * message text cannot break the line.
 */
#include <json-c/json.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/gh_log.h"
#include "th.h"

static char *
read_all(int fd)
{
	static char buf[65536];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

int
main(void)
{
	int p[2];
	char *out, *nl;
	struct json_object *o, *v, *extra;

	TH_TEST("log line shape");
	TH_CHECK(pipe(p) == 0);
	gh_log_init("unit", p[1], GH_LOG_INFO);
	gh_log_info("startup", "abc123", "listening on %d\n\"quoted\"", 9443);
	gh_log_debug("noise", NULL, "dropped");
	extra = json_object_new_object();
	json_object_object_add(extra, "status", json_object_new_int(404));
	gh_log_obj(GH_LOG_WARN, "access", "r2", extra);
	json_object_put(extra);
	close(p[1]);
	out = read_all(p[0]);
	nl = strchr(out, '\n');
	TH_CHECK(nl != NULL);
	if (nl == NULL)
		TH_END();
	*nl = '\0';
	o = json_tokener_parse(out);
	TH_CHECK(o != NULL);
	TH_CHECK(json_object_object_get_ex(o, "component", &v) && strcmp(json_object_get_string(v), "unit") == 0);
	TH_CHECK(json_object_object_get_ex(o, "request_id", &v) && strcmp(json_object_get_string(v), "abc123") == 0);
	TH_CHECK(json_object_object_get_ex(o, "msg", &v) && strcmp(json_object_get_string(v), "listening on 9443\n\"quoted\"") == 0);
	TH_CHECK(json_object_object_get_ex(o, "ts", &v));
	json_object_put(o);
	TH_TEST("debug dropped, extra fields kept");
	out = nl + 1;
	TH_CHECK(strstr(out, "dropped") == NULL);
	o = json_tokener_parse(out);
	TH_CHECK(o != NULL && json_object_object_get_ex(o, "status", &v) && json_object_get_int(v) == 404);
	json_object_put(o);
	TH_CHECK_EQ_INT(gh_log_level_parse("WARN"), GH_LOG_WARN);
	TH_CHECK_EQ_INT(gh_log_level_parse("loud"), -1);
	TH_END();
}
