/*
 * YAML to a json-c tree, for OpenAPI documents written in YAML (libyaml's
 * event parser).  Only what JSON can say is accepted: one document, no
 * anchors or aliases (so no "billion laughs"), no complex or duplicate
 * keys, only the core schema's tags; plain scalars resolve as YAML 1.2's
 * core schema does (null, booleans, integers, floats keep their text).
 * Depth and node count are bounded.
 */
#include <ctype.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "publisher/pub_api.h"

#define YAML_MAX_DEPTH 64
#define YAML_MAX_NODES 200000

struct yframe {
	struct json_object *node;
	char *key;                      /* mapping: the key waiting for its value */
};

struct ybuild {
	struct yframe stack[YAML_MAX_DEPTH + 1];
	int depth;                      /* frames in use */
	struct json_object *root;
	long nodes;
	int docs;
	const char *why;
};

static int
tag_ok(const yaml_char_t *tag, const char *kind)
{
	const char *t = (const char *)tag;

	if (t == NULL || strcmp(t, "!") == 0)
		return 1;
	if (strncmp(t, "tag:yaml.org,2002:", 18) != 0)
		return 0;
	t += 18;
	if (strcmp(kind, "map") == 0 || strcmp(kind, "seq") == 0)
		return strcmp(t, kind) == 0;
	return strcmp(t, "str") == 0 || strcmp(t, "int") == 0 || strcmp(t, "float") == 0 ||
	    strcmp(t, "bool") == 0 || strcmp(t, "null") == 0;
}

static int
is_int(const char *s)
{
	if (*s == '-' || *s == '+')
		s++;
	if (!isdigit((unsigned char)*s))
		return 0;
	while (isdigit((unsigned char)*s))
		s++;
	return *s == '\0';
}

static int
is_float(const char *s)
{
	int digits = 0;

	if (*s == '-' || *s == '+')
		s++;
	while (isdigit((unsigned char)*s)) {
		s++;
		digits++;
	}
	if (*s == '.') {
		s++;
		while (isdigit((unsigned char)*s)) {
			s++;
			digits++;
		}
	}
	if (digits == 0)
		return 0;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '-' || *s == '+')
			s++;
		if (!isdigit((unsigned char)*s))
			return 0;
		while (isdigit((unsigned char)*s))
			s++;
	}
	return *s == '\0';
}

/* A scalar's value: strings when quoted or tagged str, else the core schema. */
static struct json_object *
scalar_value(const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;
	const char *tag = (const char *)ev->data.scalar.tag;

	if ((tag != NULL && strcmp(tag, "tag:yaml.org,2002:str") == 0) ||
	    ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return json_object_new_string_len(s, (int)ev->data.scalar.length);
	if (s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
	    strcmp(s, "NULL") == 0)
		return NULL;
	if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0)
		return json_object_new_boolean(1);
	if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0)
		return json_object_new_boolean(0);
	if (is_int(s) && strlen(s) < 18)
		return json_object_new_int64(strtoll(s, NULL, 10));
	if (is_float(s) && strlen(s) < 40)
		return json_object_new_double_s(strtod(s, NULL), s);
	return json_object_new_string_len(s, (int)ev->data.scalar.length);
}

/* Attach v (a new ref, may be NULL for null) where the stack says.  0 or -1 (why set). */
static int
attach(struct ybuild *b, struct json_object *v)
{
	struct yframe *top;

	if (++b->nodes > YAML_MAX_NODES) {
		json_object_put(v);
		b->why = "the document has too many nodes";
		return -1;
	}
	if (b->depth == 0) {
		b->root = v;
		return 0;
	}
	top = &b->stack[b->depth - 1];
	if (json_object_is_type(top->node, json_type_array))
		return json_object_array_add(top->node, v) == 0 ? 0 : -1;
	/* mapping: the value of the pending key */
	json_object_object_add(top->node, top->key, v);
	free(top->key);
	top->key = NULL;
	return 0;
}

static int
push(struct ybuild *b, struct json_object *node)
{
	if (b->depth >= YAML_MAX_DEPTH) {
		json_object_put(node);
		b->why = "the document is nested too deeply";
		return -1;
	}
	if (attach(b, json_object_get(node)) != 0) {
		json_object_put(node);
		return -1;
	}
	b->stack[b->depth].node = node;
	b->stack[b->depth].key = NULL;
	b->depth++;
	return 0;
}

/* The top frame is a mapping waiting for a key. */
static int
wants_key(const struct ybuild *b)
{
	return b->depth > 0 && json_object_is_type(b->stack[b->depth - 1].node, json_type_object) &&
	    b->stack[b->depth - 1].key == NULL;
}

static int
on_event(struct ybuild *b, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++b->docs > 1) {
			b->why = "only one YAML document is accepted";
			return -1;
		}
		return 0;
	case YAML_ALIAS_EVENT:
		b->why = "YAML aliases are not accepted";
		return -1;
	case YAML_SCALAR_EVENT:
		if (ev->data.scalar.anchor != NULL) {
			b->why = "YAML anchors are not accepted";
			return -1;
		}
		if (!tag_ok(ev->data.scalar.tag, "scalar")) {
			b->why = "a YAML tag that JSON cannot represent";
			return -1;
		}
		if (wants_key(b)) {
			struct yframe *top = &b->stack[b->depth - 1];
			const char *k = (const char *)ev->data.scalar.value;
			if (strlen(k) != ev->data.scalar.length) {
				b->why = "a key holds a NUL character";
				return -1;
			}
			if (json_object_object_get_ex(top->node, k, NULL)) {
				b->why = "a mapping holds a duplicate key";
				return -1;
			}
			top->key = strdup(k);
			return top->key != NULL ? 0 : -1;
		}
		return attach(b, scalar_value(ev));
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT: {
		int map = ev->type == YAML_MAPPING_START_EVENT;
		const yaml_char_t *anchor = map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
		const yaml_char_t *tag = map ? ev->data.mapping_start.tag : ev->data.sequence_start.tag;

		if (anchor != NULL) {
			b->why = "YAML anchors are not accepted";
			return -1;
		}
		if (!tag_ok(tag, map ? "map" : "seq")) {
			b->why = "a YAML tag that JSON cannot represent";
			return -1;
		}
		if (wants_key(b)) {
			b->why = "complex mapping keys are not accepted";
			return -1;
		}
		return push(b, map ? json_object_new_object() : json_object_new_array());
	}
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		if (b->depth > 0) {
			b->depth--;
			free(b->stack[b->depth].key);
			b->stack[b->depth].key = NULL;
			json_object_put(b->stack[b->depth].node);
		}
		return 0;
	default:
		return 0;
	}
}

struct json_object *
pub_yaml_parse(const char *text, size_t len, const char **why)
{
	struct ybuild b;
	yaml_parser_t parser;
	yaml_event_t ev;
	int done = 0, ok = 1;

	memset(&b, 0, sizeof(b));
	*why = "invalid YAML";
	if (!yaml_parser_initialize(&parser))
		return NULL;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (!done && ok) {
		if (!yaml_parser_parse(&parser, &ev)) {
			ok = 0;
			b.why = parser.problem ? parser.problem : "invalid YAML";
			break;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		if (on_event(&b, &ev) != 0)
			ok = 0;
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	while (b.depth > 0) {
		b.depth--;
		free(b.stack[b.depth].key);
		json_object_put(b.stack[b.depth].node);
	}
	if (!ok || b.root == NULL) {
		json_object_put(b.root);
		*why = b.why ? b.why : "an empty YAML document";
		return NULL;
	}
	return b.root;
}
