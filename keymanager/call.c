/*
 * The key manager's side of the worker model (pg/gh_call.h): each worker
 * thread keeps its own LDAP connection (km_ldap), and picks up a signing
 * key rotated on another node before it runs a call (km_call_before).
 */
#include "keymanager/km.h"

struct gh_ldap *
km_ldap(void)
{
	return gh_ldap_thread(&km.ldap_cfg);
}

void
km_call_before(struct gh_pg *db)
{
	/* Pick up a rotation made on another node (cheap when the table is fresh). */
	km_keys_refresh(db, KM_KEYS_SIGN_MAX_AGE_MS);
}
