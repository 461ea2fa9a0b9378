/*
 * One JSON line per event.  The line is built in a json-c object and
 * written with a single write(2) so lines from several threads never
 * interleave.  The component name and minimum level are process-wide and
 * set once at start by gh_log_init().  Hot paths (the HTTP access log)
 * build their lines in a buffer with gh_log_head_buf() and write several
 * at once with gh_log_write_lines().
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/gh_json.h"
#include "core/gh_log.h"

static char log_component[64] = "gatehouse";
static int log_fd = 2;
static enum gh_log_level log_min = GH_LOG_INFO;
static const char *const level_names[] = { "debug", "info", "warn", "error" };

void
gh_log_init(const char *component, int fd, enum gh_log_level min)
{
	if (component != NULL)
		snprintf(log_component, sizeof(log_component), "%s", component);
	log_fd = fd;
	log_min = min;
}

int
gh_log_enabled(enum gh_log_level lvl)
{
	return lvl >= log_min;
}

int
gh_log_level_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcasecmp(s, level_names[i]) == 0)
			return (int)i;
	return -1;
}

static struct json_object *
log_head(enum gh_log_level lvl, const char *event, const char *reqid)
{
	struct timeval tv;
	struct tm tm;
	char ts[80];
	struct json_object *o = json_object_new_object();

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000));
	json_object_object_add(o, "ts", json_object_new_string(ts));
	json_object_object_add(o, "level", json_object_new_string(level_names[lvl]));
	json_object_object_add(o, "component", json_object_new_string(log_component));
	json_object_object_add(o, "event", json_object_new_string(event ? event : "log"));
	if (reqid != NULL && reqid[0] != '\0')
		json_object_object_add(o, "request_id", json_object_new_string(reqid));
	return o;
}

static void
log_emit(struct json_object *o)
{
	size_t len;
	const char *s = json_object_to_json_string_length(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	char *line = malloc(len + 2);

	if (line != NULL) {
		memcpy(line, s, len);
		line[len] = '\n';
		ssize_t n = write(log_fd, line, len + 1);
		(void)n;
		free(line);
	}
	json_object_put(o);
}

void
gh_vlog(enum gh_log_level lvl, const char *event, const char *reqid,
    const char *fmt, va_list ap)
{
	char msg[2048];
	struct json_object *o;

	if (lvl < log_min)
		return;
	o = log_head(lvl, event, reqid);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	json_object_object_add(o, "msg", json_object_new_string(msg));
	log_emit(o);
}

void
gh_log(enum gh_log_level lvl, const char *event, const char *reqid,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	gh_vlog(lvl, event, reqid, fmt, ap);
	va_end(ap);
}

void
gh_log_obj(enum gh_log_level lvl, const char *event, const char *reqid,
    struct json_object *extra)
{
	struct json_object *o;

	if (lvl < log_min)
		return;
	o = log_head(lvl, event, reqid);
	if (extra != NULL) {
		json_object_object_foreach(extra, k, v)
			json_object_object_add(o, k, json_object_get(v));
	}
	log_emit(o);
}

/* "YYYY-MM-DDTHH:MM:SS" of the second last seen by this thread. */
static __thread time_t ts_sec = (time_t)-1;
static __thread char ts_text[80];

int
gh_log_head_buf(struct gh_json_buf *b, enum gh_log_level lvl, const char *event,
    const char *reqid)
{
	struct timeval tv;
	char ts[96];
	size_t n;
	int ms;

	gettimeofday(&tv, NULL);
	if (tv.tv_sec != ts_sec) {
		struct tm tm;

		gmtime_r(&tv.tv_sec, &tm);
		snprintf(ts_text, sizeof(ts_text), "%04d-%02d-%02dT%02d:%02d:%02d",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec);
		ts_sec = tv.tv_sec;
	}
	ms = (int)(tv.tv_usec / 1000);
	n = strlen(ts_text);
	memcpy(ts, ts_text, n);
	ts[n++] = '.';
	ts[n++] = (char)('0' + ms / 100);
	ts[n++] = (char)('0' + ms / 10 % 10);
	ts[n++] = (char)('0' + ms % 10);
	ts[n++] = 'Z';
	ts[n] = '\0';
	/* ts and level need no escaping; the keys are written raw. */
	gh_json_buf_raw(b, "{\"ts\":\"");
	gh_json_buf_raw(b, ts);
	gh_json_buf_raw(b, "\",\"level\":\"");
	gh_json_buf_raw(b, level_names[lvl]);
	gh_json_buf_raw(b, "\",\"component\":");
	gh_json_buf_str(b, log_component);
	gh_json_buf_raw(b, ",\"event\":");
	gh_json_buf_str(b, event ? event : "log");
	if (reqid != NULL && reqid[0] != '\0') {
		gh_json_buf_raw(b, ",\"request_id\":");
		gh_json_buf_str(b, reqid);
	}
	return b->overflow;
}

void
gh_log_write_lines(const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(log_fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}
