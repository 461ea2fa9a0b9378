/*
 * Per-thread LDAP connections for the control-plane workers: each thread
 * that asks keeps its own struct gh_ldap (pthread key), made on first use
 * and freed when the thread exits, so workers never queue behind one
 * shared connection's mutex.  The thread owns its connection; callers
 * borrow it.
 */
#include <pthread.h>
#include <stddef.h>

#include "ldap/gh_ldap.h"

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
gh_ldap_thread(const struct gh_ldap_config *cfg)
{
	struct gh_ldap *ld;

	pthread_once(&ldap_once, ldap_key_make);
	ld = pthread_getspecific(ldap_key);
	if (ld == NULL) {
		ld = gh_ldap_new(cfg);
		if (ld == NULL)
			return NULL;
		pthread_setspecific(ldap_key, ld);
	}
	return ld;
}
