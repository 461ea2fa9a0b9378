/*
 * The node's user and its secrets at rest.  `gatehouse init` run as root
 * makes the system user gatehouse (node.run_as defaults to it once it
 * exists); `init` and `run` refuse to go on while a file holding a secret
 * (the configuration with its keys and passwords, the CA key, the
 * components' private keys) can be read by other users, and say which
 * chmod fixes it.
 */
#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd/supervise.h"

#define NODE_USER "gatehouse"

int
gh_node_user_ensure(void)
{
	const char *const argv[] = { "/usr/sbin/useradd", "--system", "--user-group", "--no-create-home",
		"--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", "--comment",
		"Gatehouse API manager", NODE_USER, NULL };
	pid_t pid;
	int st;

	if (geteuid() != 0 || getpwnam(NODE_USER) != NULL)
		return 0;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || getpwnam(NODE_USER) == NULL) {
		fprintf(stderr, "gatehouse: useradd --system %s failed; the daemons run as nobody "
		    "until that user exists\n", NODE_USER);
		return -1;
	}
	printf("created   system user %s (the daemons switch to it)\n", NODE_USER);
	return 0;
}

/* 1 (after printing) when path exists and others or its group may read it. */
static int
too_open(const char *prog, const char *path, const char *holds)
{
	struct stat st;

	if (stat(path, &st) != 0 || (st.st_mode & 077) == 0)
		return 0;
	fprintf(stderr, "%s: %s is mode %04o but holds %s: other users could read it; "
	    "run 'chmod 600 %s'\n", prog, path, (unsigned)(st.st_mode & 07777), holds, path);
	return 1;
}

int
gh_node_secrets_check(const struct gh_settings *cfg, const char *config_path, const char *prog,
    int strict)
{
	static const char *const secrets[] = { "keys.signing_kek", "db.password", "ldap.bind_password" };
	static const char *const zones[] = { "gw-internal.tls_key", "gw-external.tls_key" };
	char holds[200] = "", pki[600], path[900];
	size_t hl = 0;
	int bad = 0;
	DIR *d;
	struct dirent *e;

	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]) - (strict ? 0 : 1); i++) {
		if (gh_settings_str(cfg, secrets[i]) == NULL)
			continue;
		hl += (size_t)snprintf(holds + hl, sizeof(holds) - hl, "%s%s", hl ? ", " : "", secrets[i]);
	}
	if (hl > 0)
		bad |= too_open(prog, config_path, holds);
	snprintf(pki, sizeof(pki), "%s/pki", gh_settings_str(cfg, "node.data_dir"));
	d = opendir(pki);
	while (d != NULL && (e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);

		if (l < 5 || strcmp(e->d_name + l - 4, ".key") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", pki, e->d_name);
		bad |= too_open(prog, path, strcmp(e->d_name, "ca.key") == 0 ? "the CA's private key" :
		    "a private key");
	}
	if (d != NULL)
		closedir(d);
	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		const char *k = NULL;

		/* the gateways' own tables hold these: only a GH_COMP_ALL table has both */
		if (strict)
			k = gh_settings_str(cfg, zones[i]);
		if (k != NULL)
			bad |= too_open(prog, k, "a private key");
	}
	return bad ? -1 : 0;
}

int
gh_node_files_own(const struct gh_settings *cfg, const char *config_path)
{
	struct passwd *pw;
	char pki[600], path[900];
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if (geteuid() != 0 || (pw = getpwnam(gh_settings_str(cfg, "node.run_as"))) == NULL || pw->pw_uid == 0)
		return 0;
	if (chown(config_path, pw->pw_uid, pw->pw_gid) != 0)
		rc = -1;
	snprintf(pki, sizeof(pki), "%s/pki", gh_settings_str(cfg, "node.data_dir"));
	if (chown(pki, 0, pw->pw_gid) != 0 || chmod(pki, 0750) != 0)
		rc = -1;
	d = opendir(pki);
	while (d != NULL && (e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);

		if (l < 5 || strcmp(e->d_name + l - 4, ".key") != 0 || strcmp(e->d_name, "ca.key") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", pki, e->d_name);
		if (chown(path, pw->pw_uid, pw->pw_gid) != 0)
			rc = -1;
	}
	if (d != NULL)
		closedir(d);
	if (rc != 0)
		fprintf(stderr, "gatehouse: handing %s and the keys of %s to %s: %s\n", config_path, pki,
		    pw->pw_name, strerror(errno));
	return rc;
}
