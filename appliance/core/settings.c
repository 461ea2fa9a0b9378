/*
 * The settings table and config-file reader.  A struct gh_settings owns
 * one parsed value per entry of the binary's table; the file is read line
 * by line, every problem becomes one "parsing [file:line]: what; fix"
 * message, and valid lines still apply.  Numbers are stored as long long
 * (sizes in bytes, durations in milliseconds), text as malloc'd strings.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/gh_settings.h"

struct gh_setting_val {
	char *str;
	long long num;
	int set;          /* a value (default or file) is present */
	int line;         /* line of the file that set it, 0 for defaults */
};

struct gh_settings {
	const struct gh_setting_def *defs;
	size_t n;
	struct gh_setting_val *vals;
	const char *const *foreign;      /* name prefixes owned by other binaries */
};

struct errbuf {
	char *text;
	size_t len;
	int count;
};

static void __attribute__((format(printf, 2, 3)))
err_add(struct errbuf *e, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;
	char *p;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	e->count++;
	p = realloc(e->text, e->len + (size_t)n + 2);
	if (p == NULL)
		return;
	e->text = p;
	memcpy(e->text + e->len, line, (size_t)n);
	e->len += (size_t)n;
	e->text[e->len++] = '\n';
	e->text[e->len] = '\0';
}

int
gh_parse_size(const char *s, long long *out)
{
	char *end;
	long long v, mul = 1;

	if (s == NULL || !isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0)
		return -1;
	if (*end != '\0') {
		switch (tolower((unsigned char)*end)) {
		case 'k': mul = 1024LL; break;
		case 'm': mul = 1024LL * 1024; break;
		case 'g': mul = 1024LL * 1024 * 1024; break;
		default: return -1;
		}
		end++;
		if (tolower((unsigned char)*end) == 'b')
			end++;
		if (*end != '\0')
			return -1;
	}
	if (v > LLONG_MAX / mul)
		return -1;
	*out = v * mul;
	return 0;
}

int
gh_parse_duration_ms(const char *s, long long *out)
{
	char *end;
	long long v, mul;

	if (s == NULL || !isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0)
		return -1;
	if (strcmp(end, "ms") == 0)
		mul = 1;
	else if (*end == '\0' || strcmp(end, "s") == 0)
		mul = 1000;
	else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
		mul = 60 * 1000;
	else if (strcmp(end, "h") == 0)
		mul = 3600 * 1000;
	else if (strcmp(end, "d") == 0)
		mul = 86400LL * 1000;
	else
		return -1;
	if (v > LLONG_MAX / mul)
		return -1;
	*out = v * mul;
	return 0;
}

int
gh_parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "on", "yes", "true", "1" };
	static const char *const no[] = { "off", "no", "false", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

static int
choice_ok(const char *choices, const char *v)
{
	size_t vl = strlen(v);
	const char *p = choices;

	while (p != NULL && *p != '\0') {
		const char *bar = strchr(p, '|');
		size_t l = bar ? (size_t)(bar - p) : strlen(p);
		if (l == vl && strncmp(p, v, l) == 0)
			return 1;
		p = bar ? bar + 1 : NULL;
	}
	return 0;
}

static const char *
type_hint(const struct gh_setting_def *d)
{
	switch (d->type) {
	case GH_SET_INT: return "an integer";
	case GH_SET_BOOL: return "on or off";
	case GH_SET_SIZE: return "a size such as 16k or 1m";
	case GH_SET_DURATION: return "a duration such as 500ms, 30s, 5m, 1h or 7d";
	case GH_SET_ENUM: return "one of the listed words";
	case GH_SET_PORT: return "a TCP port";
	case GH_SET_PATH: return "an absolute path such as /etc/gatehouse/x.pem";
	case GH_SET_URL: return "a URL such as https://host:port/path";
	case GH_SET_STR: break;
	}
	return "text";
}

/*
 * Validate v for d and store it in val.  On error, add a message for
 * where ("file:line") and return -1; val is unchanged.
 */
static int
value_apply(const struct gh_setting_def *d, struct gh_setting_val *val,
    const char *v, const char *where, int line, struct errbuf *e)
{
	long long num = 0;
	int b;
	const char *shown = (d->flags & GH_SET_SECRET) ? "(secret)" : v;
	char *copy;

	switch (d->type) {
	case GH_SET_STR:
		break;
	case GH_SET_BOOL:
		if (gh_parse_bool(v, &b) != 0) {
			err_add(e, "parsing [%s]: '%s' expects on or off, got '%s'; write '%s = on' or '%s = off'",
			    where, d->name, shown, d->name, d->name);
			return -1;
		}
		num = b;
		break;
	case GH_SET_INT:
	case GH_SET_PORT: {
		char *end;
		errno = 0;
		num = strtoll(v, &end, 10);
		if (errno != 0 || end == v || *end != '\0') {
			err_add(e, "parsing [%s]: '%s' expects %s, got '%s'; write digits only, e.g. '%s = %s'",
			    where, d->name, type_hint(d), shown, d->name, d->def ? d->def : "1");
			return -1;
		}
		break;
	}
	case GH_SET_SIZE:
		if (gh_parse_size(v, &num) != 0) {
			err_add(e, "parsing [%s]: '%s' expects %s, got '%s'",
			    where, d->name, type_hint(d), shown);
			return -1;
		}
		break;
	case GH_SET_DURATION:
		if (gh_parse_duration_ms(v, &num) != 0) {
			err_add(e, "parsing [%s]: '%s' expects %s, got '%s'",
			    where, d->name, type_hint(d), shown);
			return -1;
		}
		break;
	case GH_SET_ENUM:
		if (!choice_ok(d->choices, v)) {
			err_add(e, "parsing [%s]: '%s' must be one of %s, got '%s'",
			    where, d->name, d->choices, shown);
			return -1;
		}
		break;
	case GH_SET_PATH:
		if (v[0] != '/') {
			err_add(e, "parsing [%s]: '%s' expects %s, got '%s'; give the full path starting with /",
			    where, d->name, type_hint(d), shown);
			return -1;
		}
		break;
	case GH_SET_URL:
		if (strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0) {
			err_add(e, "parsing [%s]: '%s' expects %s, got '%s'",
			    where, d->name, type_hint(d), shown);
			return -1;
		}
		break;
	}
	if ((d->type == GH_SET_INT || d->type == GH_SET_SIZE ||
	    d->type == GH_SET_DURATION || d->type == GH_SET_PORT) &&
	    (d->min != 0 || d->max != 0 || d->type == GH_SET_PORT)) {
		long long lo = d->min, hi = d->max;
		if (d->type == GH_SET_PORT && hi == 0)
			hi = 65535;
		if (d->type == GH_SET_PORT && lo == 0 && d->min == 0 && d->max == 0)
			lo = 1;
		if (num < lo || num > hi) {
			err_add(e, "parsing [%s]: '%s' = '%s' is out of range; use a value from %lld to %lld%s",
			    where, d->name, shown, lo, hi,
			    d->type == GH_SET_DURATION ? " milliseconds" :
			    d->type == GH_SET_SIZE ? " bytes" : "");
			return -1;
		}
	}
	copy = strdup(v);
	if (copy == NULL)
		return -1;
	free(val->str);
	val->str = copy;
	val->num = num;
	val->set = 1;
	val->line = line;
	return 0;
}

struct gh_settings *
gh_settings_new(const struct gh_setting_def *defs, size_t n)
{
	struct gh_settings *s = calloc(1, sizeof(*s));
	struct errbuf e = { 0 };

	if (s == NULL)
		return NULL;
	s->defs = defs;
	s->n = n;
	s->vals = calloc(n ? n : 1, sizeof(*s->vals));
	if (s->vals == NULL)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		if (defs[i].def != NULL &&
		    value_apply(&defs[i], &s->vals[i], defs[i].def, "default", 0, &e) != 0)
			goto fail;
		s->vals[i].line = 0;
	}
	return s;
fail:
	if (e.text != NULL)
		fputs(e.text, stderr);
	free(e.text);
	gh_settings_free(s);
	return NULL;
}

void
gh_settings_free(struct gh_settings *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; s->vals != NULL && i < s->n; i++) {
		if (s->vals[i].str != NULL && (s->defs[i].flags & GH_SET_SECRET))
			explicit_bzero(s->vals[i].str, strlen(s->vals[i].str));
		free(s->vals[i].str);
	}
	free(s->vals);
	free(s);
}

static long
def_find(const struct gh_settings *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->defs[i].name, name) == 0)
			return (long)i;
	return -1;
}

/* Levenshtein distance, bounded to short names: for "did you mean". */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), prev[128], cur[128];

	if (la >= 127 || lb >= 127)
		return 999;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t c = prev[j - 1] + (a[i - 1] != b[j - 1]);
			if (prev[j] + 1 < c)
				c = prev[j] + 1;
			if (cur[j - 1] + 1 < c)
				c = cur[j - 1] + 1;
			cur[j] = c;
		}
		memcpy(prev, cur, (lb + 1) * sizeof(size_t));
	}
	return prev[lb];
}

static const char *
closest_name(const struct gh_settings *s, const char *name)
{
	size_t best = 4;
	const char *found = NULL;

	for (size_t i = 0; i < s->n; i++) {
		size_t d = edit_distance(name, s->defs[i].name);
		if (d < best) {
			best = d;
			found = s->defs[i].name;
		}
	}
	return found;
}

static int
is_foreign(const struct gh_settings *s, const char *name)
{
	for (size_t i = 0; s->foreign != NULL && s->foreign[i] != NULL; i++)
		if (strncmp(name, s->foreign[i], strlen(s->foreign[i])) == 0)
			return 1;
	return 0;
}

void
gh_settings_set_foreign(struct gh_settings *s, const char *const *prefixes)
{
	s->foreign = prefixes;
}

static char *
trim(char *p)
{
	char *end;

	while (*p == ' ' || *p == '\t')
		p++;
	end = p + strlen(p);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	return p;
}

static int
name_ok(const char *n)
{
	if (*n == '\0')
		return 0;
	for (; *n != '\0'; n++)
		if (!isalnum((unsigned char)*n) && *n != '_' && *n != '.' && *n != '-')
			return 0;
	return 1;
}

/*
 * Split the value part: a double-quoted string (\" and \\ escapes), or
 * bare text up to a " #" comment.  Returns 0, or -1 with why set.
 */
static int
value_unquote(char *v, const char **why)
{
	if (*v == '"') {
		char *r = v + 1, *w = v;
		for (;;) {
			if (*r == '\0') {
				*why = "unterminated quoted value; close it with \"";
				return -1;
			}
			if (*r == '"')
				break;
			if (*r == '\\' && (r[1] == '"' || r[1] == '\\'))
				r++;
			*w++ = *r++;
		}
		*w = '\0';
		r = trim(r + 1);
		if (*r != '\0' && *r != '#') {
			*why = "text after the closing quote; put comments after a #";
			return -1;
		}
		return 0;
	}
	for (char *p = v; *p != '\0'; p++) {
		if (*p == '#' && (p == v || p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			break;
		}
	}
	(void)trim(v);	/* v has no leading blanks: this cuts trailing ones */
	return 0;
}

int
gh_settings_load(struct gh_settings *s, const char *path, char **errors)
{
	FILE *f;
	char *line = NULL, section[128] = "", where[1200];
	size_t cap = 0;
	ssize_t len;
	int lineno = 0;
	struct errbuf e = { 0 };
	int *seen_line = NULL;

	if (errors != NULL)
		*errors = NULL;
	f = fopen(path, "r");
	if (f == NULL) {
		err_add(&e, "parsing [%s]: cannot open: %s; check the path and its permissions",
		    path, strerror(errno));
		goto out;
	}
	seen_line = calloc(s->n ? s->n : 1, sizeof(int));
	if (seen_line == NULL)
		goto out;
	while ((len = getline(&line, &cap, f)) != -1) {
		char *p, *eq, *name, *value, full[300];
		const char *why = NULL;
		long idx;

		lineno++;
		snprintf(where, sizeof(where), "%s:%d", path, lineno);
		if (memchr(line, '\0', (size_t)len) != NULL) {
			err_add(&e, "parsing [%s]: NUL byte in line; the file must be text", where);
			continue;
		}
		if (len > 0 && line[len - 1] == '\n')
			line[len - 1] = '\0';
		p = trim(line);
		if (*p == '\0' || *p == '#' || *p == ';')
			continue;
		if (*p == '[') {
			char *close = strchr(p, ']');
			if (close == NULL || *trim(close + 1) != '\0') {
				err_add(&e, "parsing [%s]: malformed section header '%s'; write [name]", where, p);
				continue;
			}
			*close = '\0';
			p = trim(p + 1);
			if (*p != '\0' && !name_ok(p)) {
				err_add(&e, "parsing [%s]: bad section name '%s'; use letters, digits, '_', '-' and '.'", where, p);
				continue;
			}
			snprintf(section, sizeof(section), "%s", p);
			continue;
		}
		eq = strchr(p, '=');
		if (eq == NULL) {
			err_add(&e, "parsing [%s]: missing '=' in '%s'; write 'name = value'", where, p);
			continue;
		}
		*eq = '\0';
		name = trim(p);
		value = trim(eq + 1);
		if (!name_ok(name)) {
			err_add(&e, "parsing [%s]: bad setting name '%s'; use letters, digits, '_', '-' and '.'", where, name);
			continue;
		}
		if (section[0] != '\0')
			snprintf(full, sizeof(full), "%s.%s", section, name);
		else
			snprintf(full, sizeof(full), "%s", name);
		idx = def_find(s, full);
		if (idx < 0 && is_foreign(s, full))
			continue;
		if (idx < 0) {
			const char *near = closest_name(s, full);
			if (near != NULL)
				err_add(&e, "parsing [%s]: unknown setting '%s'; did you mean '%s'?", where, full, near);
			else
				err_add(&e, "parsing [%s]: unknown setting '%s'; 'gatehouse check-config --list' shows the known ones", where, full);
			continue;
		}
		if (value_unquote(value, &why) != 0) {
			err_add(&e, "parsing [%s]: %s", where, why);
			continue;
		}
		if (*value == '\0') {
			err_add(&e, "parsing [%s]: '%s' has no value; write '%s = %s' or remove the line",
			    where, full, full, s->defs[idx].def ? s->defs[idx].def : "VALUE");
			continue;
		}
		if (seen_line[idx] != 0) {
			err_add(&e, "parsing [%s]: '%s' is already set at line %d; keep only one of them",
			    where, full, seen_line[idx]);
			continue;
		}
		seen_line[idx] = lineno;
		value_apply(&s->defs[idx], &s->vals[idx], value, where, lineno, &e);
	}
	for (size_t i = 0; i < s->n; i++) {
		if ((s->defs[i].flags & GH_SET_REQUIRED) && !s->vals[i].set)
			err_add(&e, "parsing [%s:%d]: required setting '%s' is missing; add a line '%s = ...' (%s)",
			    path, lineno + 1, s->defs[i].name, s->defs[i].name,
			    s->defs[i].help ? s->defs[i].help : type_hint(&s->defs[i]));
	}
out:
	if (f != NULL)
		fclose(f);
	free(line);
	free(seen_line);
	if (errors != NULL)
		*errors = e.text;
	else
		free(e.text);
	return e.count;
}

int
gh_settings_set(struct gh_settings *s, const char *name, const char *value,
    const char *origin, char **errors)
{
	struct errbuf e = { 0 };
	long idx = def_find(s, name);

	if (idx < 0)
		err_add(&e, "parsing [%s]: unknown setting '%s'", origin, name);
	else
		value_apply(&s->defs[idx], &s->vals[idx], value, origin, 0, &e);
	if (errors != NULL)
		*errors = e.text;
	else
		free(e.text);
	return e.count;
}

static const struct gh_setting_val *
val_get(const struct gh_settings *s, const char *name)
{
	long idx = def_find(s, name);

	if (idx < 0) {
		fprintf(stderr, "gh_settings: no setting '%s' in this binary's table\n", name);
		abort();
	}
	return &s->vals[idx];
}

const char *
gh_settings_str(const struct gh_settings *s, const char *name)
{
	const struct gh_setting_val *v = val_get(s, name);

	return v->set ? v->str : NULL;
}

long long
gh_settings_int(const struct gh_settings *s, const char *name)
{
	return val_get(s, name)->num;
}

int
gh_settings_is_set(const struct gh_settings *s, const char *name)
{
	return val_get(s, name)->set;
}

void
gh_settings_describe(const struct gh_setting_def *defs, size_t n, int fd)
{
	static const char *const tn[] = { "text", "int", "bool", "size", "duration",
	    "enum", "port", "path", "url" };

	for (size_t i = 0; i < n; i++) {
		const struct gh_setting_def *d = &defs[i];
		dprintf(fd, "%-36s %-8s default=%s%s%s  %s\n", d->name, tn[d->type],
		    d->def ? d->def : "(none)",
		    d->type == GH_SET_ENUM ? "  choices=" : "",
		    d->type == GH_SET_ENUM ? d->choices : "",
		    d->help ? d->help : "");
	}
}
