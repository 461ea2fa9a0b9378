/*
 * The audit trail of the key manager: logins and failed logins, client
 * and key creation and deletion, user-store changes, each with who, when
 * and the real client address.  One row of gh_audit per event; a row that
 * cannot be written is logged instead, never silently dropped.
 */
#include <json-c/json.h>

#include "core/gh_log.h"
#include "keymanager/km.h"

void
km_audit(struct gh_pg *db, const struct km_call *c, const char *actor, const char *tenant,
    const char *action, const char *target, const char *outcome, struct json_object *details)
{
	const char *d = details ? json_object_to_json_string_ext(details, JSON_C_TO_STRING_PLAIN) : "{}";
	const char *p[7] = { actor, tenant, action, target, c ? c->client_addr : NULL,
		outcome ? outcome : "success", d };

	if (gh_pg_cmd(db, "INSERT INTO gh_audit (component, actor, tenant, action, target, client_addr, "
	    "outcome, details) VALUES ('keymanager', $1, $2, $3, $4, $5, $6, $7::jsonb)", 7, p, NULL) != 0)
		gh_log_error("audit", c ? c->request_id : NULL, "audit row lost: %s %s by %s (%s): %s",
		    action, target ? target : "-", actor ? actor : "-", outcome ? outcome : "success",
		    gh_pg_errmsg(db));
}
