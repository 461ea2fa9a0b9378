/*
 * Unit tests of core/proc.c, run as root: after dropping to nobody the
 * process has nobody's ids, no supplementary groups, cannot become root
 * again, and no_new_privs is set; bad users are refused.
 */
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "core/gh_proc.h"
#include "th.h"

int
main(void)
{
	char err[256];
	int p[2], st;
	pid_t pid;
	char result[8] = "";

	TH_TEST("refusals");
	TH_CHECK(gh_proc_drop_privileges("no-such-user-gh", err, sizeof(err)) == -1);
	TH_CHECK(gh_proc_drop_privileges("root", err, sizeof(err)) == -1);
	if (geteuid() != 0) {
		TH_CHECK_MSG(0, "this test needs root");
		TH_END();
	}
	TH_CHECK(gh_proc_drop_privileges(NULL, err, sizeof(err)) == -1);

	TH_TEST("drop to nobody in a child");
	TH_CHECK(pipe(p) == 0);
	pid = fork();
	if (pid == 0) {
		struct passwd *pw = getpwnam("nobody");
		char r[8] = "00000";
		gid_t groups[4];
		r[0] = gh_proc_drop_privileges("nobody", err, sizeof(err)) == 0 ? '1' : '0';
		r[1] = pw && getuid() == pw->pw_uid && geteuid() == pw->pw_uid && getgid() == pw->pw_gid ? '1' : '0';
		r[2] = getgroups(4, groups) == 0 ? '1' : '0';
		r[3] = setuid(0) != 0 ? '1' : '0';
		r[4] = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 ? '1' : '0';
		if (write(p[1], r, 5) != 5)
			_exit(2);
		_exit(0);
	}
	close(p[1]);
	TH_CHECK(read(p[0], result, 5) == 5);
	waitpid(pid, &st, 0);
	TH_CHECK_EQ_STR(result, "11111");
	TH_CHECK(getuid() == 0);
	TH_END();
}
