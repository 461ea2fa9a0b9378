/*
 * Process hygiene shared by every daemon: dropping root after the
 * listeners are bound (relayd's habit), and the signals a server wants
 * ignored.
 */
#ifndef GH_PROC_H
#define GH_PROC_H

#include <stddef.h>

/*
 * Switch to user (its primary group, no supplementary groups) and set
 * PR_SET_NO_NEW_PRIVS.  A no-op returning 0 when not root and user is
 * NULL.  Returns 0, or -1 with err (root privileges must never be kept
 * silently: callers exit on -1).
 */
int gh_proc_drop_privileges(const char *user, char *err, size_t errlen);

/* Ignore SIGPIPE (writes to closed sockets fail with EPIPE instead). */
void gh_proc_ignore_sigpipe(void);

#endif
