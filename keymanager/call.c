/*
 * The key manager's side of the worker model (pg/gh_call.h): each worker
 * thread keeps its own LDAP connection (km_ldap), and picks up a signing
 * key rotated on another node before it runs a call (km_call_before).
 */
#include <pthread.h>

#include "keymanager/km.h"

static pthread_key_t ldap_key;
static pthread_once_t ldap_once = PTHREAD_ONCE_INIT;

static void
ldap_destroy(void *p)
{
	gh_ldap_free(p);
}

static void
ldap_key_make(void)
{
	pthread_key_create(&ldap_key, ldap_destroy);
}

struct gh_ldap *
km_ldap(void)
{
	struct gh_ldap *ld;

	pthread_once(&ldap_once, ldap_key_make);
	ld = pthread_getspecific(ldap_key);
	if (ld == NULL) {
		ld = gh_ldap_new(&km.ldap_cfg);
		if (ld == NULL)
			return NULL;
		pthread_setspecific(ldap_key, ld);
	}
	return ld;
}

void
km_call_before(struct gh_pg *db)
{
	/* Pick up a rotation made on another node (cheap when the table is fresh). */
	km_keys_refresh(db, KM_KEYS_SIGN_MAX_AGE_MS);
}
