/*
 * Settings: one declarative table per binary (name, type, default, range,
 * help), in the manner of Redis' static_configs[].  A config file is
 * lines of `name = value`, with `[section]` headers prefixing names
 * (`[http]` + `max_body = 1m` is `http.max_body`), `#` comments and
 * double-quoted values.  Every error names file:line and the fix, the way
 * HAProxy's "parsing [file:line]" messages do; all errors of a file are
 * reported, not just the first.
 */
#ifndef GH_SETTINGS_H
#define GH_SETTINGS_H

#include <stddef.h>

enum gh_set_type {
	GH_SET_STR,       /* any text */
	GH_SET_INT,       /* integer in [min, max] */
	GH_SET_BOOL,      /* on|off|yes|no|true|false|1|0 */
	GH_SET_SIZE,      /* bytes with k/m/g suffix, in [min, max] */
	GH_SET_DURATION,  /* ms|s|m|h|d suffix (bare number: seconds), stored in ms, in [min, max] */
	GH_SET_ENUM,      /* one of choices "a|b|c" */
	GH_SET_PORT,      /* 1..65535 (0 allowed when min is 0) */
	GH_SET_PATH,      /* absolute file path */
	GH_SET_URL,       /* http:// or https:// URL */
};

#define GH_SET_REQUIRED 0x1   /* no default: must be in the file */
#define GH_SET_SECRET   0x2   /* never echoed back in messages */

struct gh_setting_def {
	const char *name;
	enum gh_set_type type;
	const char *def;          /* default in file syntax; NULL: unset */
	long long min, max;       /* range for INT, SIZE, DURATION (ms), PORT */
	const char *choices;      /* ENUM: "a|b|c" */
	int flags;
	const char *help;
};

struct gh_settings;

/* New settings for the table defs[0..n) with the defaults applied.  NULL on ENOMEM or a bad default (a bug). */
struct gh_settings *gh_settings_new(const struct gh_setting_def *defs, size_t n);
void gh_settings_free(struct gh_settings *s);

/*
 * Read path into s.  Returns the number of errors (0 = valid); when errors
 * is not NULL it receives a malloc'd text with one message per line
 * (caller frees), or NULL when there were none.  Values of valid lines
 * are applied even when other lines are wrong.
 */
int gh_settings_load(struct gh_settings *s, const char *path, char **errors);

/* Parse one value as from line 0 of a file named by origin (command-line overrides).  Same return. */
int gh_settings_set(struct gh_settings *s, const char *name, const char *value,
    const char *origin, char **errors);

/*
 * Names starting with one of prefixes (NULL-terminated, borrowed) belong
 * to another binary's table: the reader skips them instead of calling
 * them unknown.  A node's one file serves all its binaries this way.
 */
void gh_settings_set_foreign(struct gh_settings *s, const char *const *prefixes);

/* Typed reads.  Asking for a name not in the table aborts (a programming error). */
const char *gh_settings_str(const struct gh_settings *s, const char *name); /* NULL when unset */
long long gh_settings_int(const struct gh_settings *s, const char *name);  /* INT, SIZE, DURATION(ms), BOOL, PORT */
int gh_settings_is_set(const struct gh_settings *s, const char *name);

/* Write the table as documentation ("name  type  default  range  help") to fd. */
void gh_settings_describe(const struct gh_setting_def *defs, size_t n, int fd);

/* Parsers shared with other code.  0 ok, -1 malformed. */
int gh_parse_size(const char *s, long long *out);
int gh_parse_duration_ms(const char *s, long long *out);
int gh_parse_bool(const char *s, int *out);

#endif
