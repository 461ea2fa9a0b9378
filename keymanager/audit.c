/*
 * The audit trail of the key manager: logins and failed logins, client
 * and key creation and deletion, user-store changes, each with who, when
 * and the real client address.  One row of gh_audit per event; a row that
 * cannot be written is logged instead, never silently dropped.
 */
#include "keymanager/km.h"

void
km_audit(struct gh_pg *db, const struct gh_call *c, const char *actor, const char *tenant,
    const char *action, const char *target, const char *outcome, struct json_object *details)
{
	gh_call_audit(db, c, "keymanager", actor, tenant, action, target, outcome, details);
}
