/*
 * Fuzz target for strict JSON (core/json.c): the input is a request body
 * given to gh_json_parse() and gh_json_parse_object(); an accepted value
 * is read back with the typed accessors and serialized again.  Every
 * returned object is put here.
 */
#include <json-c/json.h>

#include "core/gh_json.h"
#include "fuzz.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why = NULL;
	struct json_object *o = gh_json_parse(data, size, &why);

	if (o != NULL) {
		(void)json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
		json_object_put(o);
	}
	o = gh_json_parse_object(data, size, &why);
	if (o != NULL) {
		long long n;
		int b;

		(void)gh_json_str(o, "name");
		(void)gh_json_int(o, "count", &n);
		(void)gh_json_bool(o, "enabled", &b);
		(void)gh_json_array(o, "items");
		json_object_put(o);
	}
	return 0;
}
