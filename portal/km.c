/*
 * Calls to the key manager's internal API (9447, mutual TLS with the
 * portal's certificate): clients of application keys, tokens minted for
 * an application, API keys.  Blocking, from a worker thread: each call
 * runs gh_httpc_fetch on its own event base.  Replies may hold secrets
 * (client secrets, tokens): their buffers are wiped when freed.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gh_codec.h"
#include "core/gh_json.h"
#include "core/gh_log.h"
#include "portal/portal_int.h"

#define KM_TIMEOUT_MS 10000

int
portal_km_call(const char *method, const char *path, const char *json_body, char **body,
    size_t *body_len)
{
	struct gh_httpc_cfg cfg = { .ssl = portal.tls_km, .connect_timeout_ms = 3000,
		.timeout_ms = KM_TIMEOUT_MS, .max_body_bytes = 1 << 20 };
	struct gh_http_header hdrs[2] = {
		{ .name = "Content-Type", .value = "application/json" },
		{ .name = "Accept", .value = "application/json" },
	};
	struct gh_httpc_resp r;
	char url[1024];
	int status = 0;

	*body = NULL;
	if (body_len != NULL)
		*body_len = 0;
	if (portal.km_internal_url == NULL ||
	    snprintf(url, sizeof(url), "%s%s", portal.km_internal_url, path) >= (int)sizeof(url))
		return 0;
	if (gh_httpc_fetch(&cfg, method, url, json_body != NULL ? hdrs : hdrs + 1, json_body != NULL ? 2 : 1,
	    json_body, json_body != NULL ? strlen(json_body) : 0, &r) != 0) {
		gh_log_warn("km", NULL, "%s %s: %s", method, path, r.errstr ? r.errstr : "failed");
		gh_httpc_resp_clear(&r);
		return 0;
	}
	status = r.status;
	if (r.body != NULL) {
		*body = malloc(r.body_len + 1);
		if (*body != NULL) {
			memcpy(*body, r.body, r.body_len);
			(*body)[r.body_len] = '\0';
			if (body_len != NULL)
				*body_len = r.body_len;
		}
		explicit_bzero(r.body, r.body_len);
	}
	gh_httpc_resp_clear(&r);
	return status;
}

int
portal_km_json(const char *method, const char *path, struct json_object *body,
    struct json_object **resp)
{
	const char *text = body ? json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN) : NULL;
	char *out = NULL;
	size_t len = 0;
	int status = portal_km_call(method, path, text, &out, &len);

	*resp = NULL;
	if (out != NULL) {
		const char *why;
		*resp = gh_json_parse_object(out, len, &why);
		gh_free_secret_n(out, len);
	}
	return status;
}

void
portal_km_error(struct gh_call *c, int status, struct json_object *resp, const char *what)
{
	const char *d = gh_json_str(resp, "description");
	char desc[400];

	if (status == 0 || status >= 500 || status < 400) {
		gh_log_error("km", c->request_id, "%s: key manager answered %d", what, status);
		snprintf(desc, sizeof(desc), "%s: the key manager is unavailable", what);
		gh_reply_error(c, 503, "Service Unavailable", desc);
		return;
	}
	snprintf(desc, sizeof(desc), "%s: %s", what, d != NULL ? d : "refused by the key manager");
	gh_reply_error(c, status == 401 || status == 403 ? 503 : status,
	    status == 404 ? "Not Found" : status == 409 ? "Conflict" :
	    status == 401 || status == 403 ? "Service Unavailable" : "Bad Request", desc);
}
