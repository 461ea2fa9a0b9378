/*
 * Structured logging: one JSON object per line on one file descriptor
 * (stderr by default).  Every line carries a timestamp, the level, the
 * component that wrote it, the event name and, when there is one, the
 * request id.  Callers never format JSON themselves.
 */
#ifndef GH_LOG_H
#define GH_LOG_H

#include <stdarg.h>

struct json_object;
struct gh_json_buf;

enum gh_log_level { GH_LOG_DEBUG, GH_LOG_INFO, GH_LOG_WARN, GH_LOG_ERROR };

/* Set the component name (copied) and output fd; lines below min are dropped. */
void gh_log_init(const char *component, int fd, enum gh_log_level min);

/* 1 when lines of lvl are written: lets callers skip building them. */
int gh_log_enabled(enum gh_log_level lvl);

/* Parse "debug|info|warn|error"; returns -1 on an unknown name. */
int gh_log_level_parse(const char *s);

/*
 * Write one line: {"ts","level","component","event","request_id","msg"}.
 * reqid may be NULL; msg is printf-formatted.
 */
void gh_log(enum gh_log_level lvl, const char *event, const char *reqid,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void gh_vlog(enum gh_log_level lvl, const char *event, const char *reqid,
    const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

/*
 * Write one line made of the standard fields plus every key of extra
 * (access logs, analytics).  extra is borrowed, not freed.
 */
void gh_log_obj(enum gh_log_level lvl, const char *event, const char *reqid,
    struct json_object *extra);

/*
 * For hot paths that write their lines themselves (the HTTP access log):
 * append to b the opening of a line, {"ts":..,"level":..,"component":..,
 * "event":..[,"request_id":..], without the closing brace, so the caller
 * adds its members with gh_json_buf_member*() and ends with "}\n".
 * Returns 0, or -1 when b overflowed.  Does not check the level.
 */
int gh_log_head_buf(struct gh_json_buf *b, enum gh_log_level lvl, const char *event,
    const char *reqid);

/*
 * Write buf[0..len), one or more complete lines each ending in '\n', to
 * the log with a single write(2) (short writes are continued).
 */
void gh_log_write_lines(const char *buf, size_t len);

#define gh_log_info(ev, id, ...)  gh_log(GH_LOG_INFO, ev, id, __VA_ARGS__)
#define gh_log_warn(ev, id, ...)  gh_log(GH_LOG_WARN, ev, id, __VA_ARGS__)
#define gh_log_error(ev, id, ...) gh_log(GH_LOG_ERROR, ev, id, __VA_ARGS__)
#define gh_log_debug(ev, id, ...) gh_log(GH_LOG_DEBUG, ev, id, __VA_ARGS__)

#endif
