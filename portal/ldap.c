/*
 * The portal's read-only LDAP connections: each worker thread keeps its
 * own (pthread key), opened on first use with the node's LDAP settings.
 * The portal only reads the directory (a user's groups, for RESTRICTED
 * APIs and application sharing); writes go through the key manager.
 */
#include <pthread.h>

#include "portal/portal_int.h"

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
portal_ldap(void)
{
	struct gh_ldap *ld;

	pthread_once(&ldap_once, ldap_key_make);
	ld = pthread_getspecific(ldap_key);
	if (ld == NULL) {
		ld = gh_ldap_new(&portal.ldap_cfg);
		if (ld == NULL)
			return NULL;
		pthread_setspecific(ldap_key, ld);
	}
	return ld;
}
