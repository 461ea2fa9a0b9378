/*
 * Basic authentication against LDAP, internal zone only (int_basic.c):
 * its start-up from the node's [ldap] settings.
 */
#ifndef GW_INT_BASIC_H
#define GW_INT_BASIC_H

#include "core/gh_settings.h"

/* Read the LDAP settings and start the bind threads.  0, or -1 after printing why. */
int gw_basic_init(const struct gh_settings *cfg);
/* Stop the bind threads (shutdown). */
void gw_basic_shutdown(void);

#endif
