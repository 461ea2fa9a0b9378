/*
 * The node's processes (supervise.h): the plan of a role, starting one
 * process in its own process group with its log, telling whether it is
 * healthy, pid files, a small blocking HTTP GET for /health and /metrics
 * on loopback, systemd notifications written by hand (a datagram to
 * NOTIFY_SOCKET), and running helper programs such as initdb or pg_dump
 * to completion, as the node's user where needed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <postgresql/libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd/node.h"
#include "cmd/supervise.h"
#include "core/gh_log.h"

#define SLAPD_BIN "/usr/sbin/slapd"

extern char **environ;

int64_t
sv_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The daemons of the gatehouse binaries, in start order, with their settings section. */
static const struct {
	const char *name, *bin, *section;
	enum sv_tier tier;
} daemons[] = {
	{ "keymanager", "gatehouse-keymanager", "keymanager", SV_TIER_CONTROL },
	{ "publisher", "gatehouse-publisher", "publisher", SV_TIER_CONTROL },
	{ "portal", "gatehouse-portal", "portal", SV_TIER_CONTROL },
	{ "trafficmanager", "gatehouse-trafficmanager", "trafficmanager", SV_TIER_CONTROL },
	{ "gw-internal", "gatehouse-gw-internal", "gw-internal", SV_TIER_GATEWAY },
	{ "gw-external", "gatehouse-gw-external", "gw-external", SV_TIER_GATEWAY },
};

/* 1 when role runs daemon d. */
static int
role_runs(const char *role, const char *d)
{
	if (strcmp(role, "all-in-one") == 0)
		return 1;
	if (strcmp(role, "control-plane") == 0)
		return strncmp(d, "gw-", 3) != 0;
	if (strcmp(role, "gateway-internal") == 0)
		return strcmp(d, "gw-internal") == 0;
	if (strcmp(role, "gateway-external") == 0)
		return strcmp(d, "gw-external") == 0;
	return strcmp(role, d) == 0;
}

/* 1 when name is in the comma-separated list (node.without). */
static int
in_list(const char *list, const char *name)
{
	size_t l = strlen(name);

	for (const char *p = list; p != NULL && *p != '\0';) {
		const char *e;

		while (*p == ' ' || *p == ',')
			p++;
		e = p + strcspn(p, ", ");
		if ((size_t)(e - p) == l && strncmp(p, name, l) == 0)
			return 1;
		p = e;
	}
	return 0;
}

/* The loopback address that reaches a listener bound to addr. */
static void
reach_host(const char *addr, char *out, size_t len)
{
	if (addr == NULL || strcmp(addr, "0.0.0.0") == 0 || addr[0] == '\0')
		snprintf(out, len, "127.0.0.1");
	else if (strcmp(addr, "::") == 0)
		snprintf(out, len, "::1");
	else
		snprintf(out, len, "%s", addr);
}

/* host and port of an ldap://HOST[:PORT][/] URI.  0 or -1. */
static int
ldap_uri_split(const char *uri, char *host, size_t hlen, int *port)
{
	const char *h, *colon, *end;

	if (strncmp(uri, "ldap://", 7) != 0)
		return -1;
	h = uri + 7;
	end = h + strcspn(h, "/");
	if (*h == '[') {
		const char *rb = memchr(h, ']', (size_t)(end - h));
		if (rb == NULL)
			return -1;
		snprintf(host, hlen, "%.*s", (int)(rb - h - 1), h + 1);
		colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
	} else {
		colon = memchr(h, ':', (size_t)(end - h));
		snprintf(host, hlen, "%.*s", (int)((colon ? colon : end) - h), h);
	}
	*port = colon ? atoi(colon + 1) : 389;
	return host[0] != '\0' && *port > 0 && *port < 65536 ? 0 : -1;
}

static struct sv_proc *
plan_add(struct sv_node *n, const char *name, enum sv_kind kind, enum sv_tier tier)
{
	struct sv_proc *p = &n->procs[n->n++];

	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->kind = kind;
	p->tier = tier;
	p->stop_sig = SIGTERM;
	return p;
}

static int
plan_make(struct sv_node *n, const char *prog)
{
	const struct gh_settings *c = n->cfg;
	int aio = strcmp(n->role, "all-in-one") == 0 || strcmp(n->role, "control-plane") == 0;
	const char *without = gh_settings_str(c, "node.without");
	struct sv_proc *p;
	char key[96];

	n->n = 0;
	if ((gh_settings_int(c, "node.embedded_db") || gh_settings_int(c, "node.embedded_ldap")) && !aio) {
		fprintf(stderr, "%s: node.embedded_db and node.embedded_ldap are for all-in-one and "
		    "control-plane nodes; node.role is %s\n", prog, n->role);
		return -1;
	}
	if (gh_settings_int(c, "node.embedded_db")) {
		unsigned char a[16];
		const char *h = gh_settings_str(c, "db.host");

		if (inet_pton(AF_INET, h, a) != 1 && inet_pton(AF_INET6, h, a) != 1) {
			fprintf(stderr, "%s: node.embedded_db needs db.host to be this node's address "
			    "(such as 127.0.0.1), not '%s'\n", prog, h);
			return -1;
		}
		if (gh_settings_str(c, "db.password") == NULL) {
			fprintf(stderr, "%s: node.embedded_db needs db.password (the login of db.user)\n", prog);
			return -1;
		}
		p = plan_add(n, "postgresql", SV_POSTGRES, SV_TIER_STORAGE);
		snprintf(p->bin, sizeof(p->bin), "%s/postgres", gh_settings_str(c, "node.pg_bin"));
		snprintf(p->host, sizeof(p->host), "%s", h);
		p->port = (int)gh_settings_int(c, "db.port");
		p->stop_sig = SIGINT;
		p->as_user = 1;
	}
	if (gh_settings_int(c, "node.embedded_ldap")) {
		p = plan_add(n, "slapd", SV_SLAPD, SV_TIER_STORAGE);
		snprintf(p->bin, sizeof(p->bin), "%s", SLAPD_BIN);
		if (ldap_uri_split(gh_settings_str(c, "ldap.uri"), p->host, sizeof(p->host), &p->port) != 0) {
			fprintf(stderr, "%s: node.embedded_ldap needs ldap.uri to be ldap://ADDRESS:PORT, "
			    "not '%s'\n", prog, gh_settings_str(c, "ldap.uri"));
			return -1;
		}
		if (gh_settings_str(c, "ldap.bind_password") == NULL) {
			fprintf(stderr, "%s: node.embedded_ldap needs ldap.bind_password (its root password)\n", prog);
			return -1;
		}
		if (p->port < 1024 && strcmp(gh_settings_str(c, "node.run_as"), "root") != 0) {
			fprintf(stderr, "%s: node.embedded_ldap: slapd runs as user %s, which cannot bind port %d "
			    "(below 1024): give ldap.uri a port from 1024 up, such as ldap://%s:1389\n", prog,
			    gh_settings_str(c, "node.run_as"), p->port, p->host);
			return -1;
		}
		p->as_user = 1;
	}
	for (size_t i = 0; i < sizeof(daemons) / sizeof(daemons[0]); i++) {
		if (!role_runs(n->role, daemons[i].name) || in_list(without, daemons[i].name))
			continue;
		p = plan_add(n, daemons[i].name, SV_DAEMON, daemons[i].tier);
		snprintf(p->bin, sizeof(p->bin), "%s/%s", n->bin_dir, daemons[i].bin);
		snprintf(key, sizeof(key), "%s.mgmt_listen", daemons[i].section);
		reach_host(gh_settings_str(c, key), p->host, sizeof(p->host));
		snprintf(key, sizeof(key), "%s.mgmt_port", daemons[i].section);
		p->port = (int)gh_settings_int(c, key);
	}
	return 0;
}

int
sv_node_load(struct sv_node *n, const char *path, const char *prog)
{
	char exe[512];
	ssize_t l;
	char *slash;

	memset(n, 0, sizeof(*n));
	n->config_path = path;
	n->cfg = gh_config_load(path, GH_COMP_ALL);
	if (n->cfg == NULL)
		return -1;
	n->role = gh_settings_str(n->cfg, "node.role");
	snprintf(n->data_dir, sizeof(n->data_dir), "%s", gh_settings_str(n->cfg, "node.data_dir"));
	snprintf(n->run_dir, sizeof(n->run_dir), "%s/run", n->data_dir);
	l = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (l <= 0) {
		fprintf(stderr, "%s: /proc/self/exe: %s\n", prog, strerror(errno));
		goto fail;
	}
	exe[l] = '\0';
	slash = strrchr(exe, '/');
	if (slash != NULL)
		*slash = '\0';
	snprintf(n->bin_dir, sizeof(n->bin_dir), "%s", exe);
	if (plan_make(n, prog) != 0)
		goto fail;
	return 0;
fail:
	gh_settings_free(n->cfg);
	n->cfg = NULL;
	return -1;
}

void
sv_node_free(struct sv_node *n)
{
	gh_settings_free(n->cfg);
	n->cfg = NULL;
}

struct sv_proc *
sv_node_find(struct sv_node *n, const char *name)
{
	for (size_t i = 0; i < n->n; i++)
		if (strcmp(n->procs[i].name, name) == 0)
			return &n->procs[i];
	return NULL;
}

int
sv_run_as(const struct sv_node *n, uid_t *uid, gid_t *gid)
{
	struct passwd *pw = getpwnam(gh_settings_str(n->cfg, "node.run_as"));

	if (pw == NULL)
		return -1;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

static uid_t chown_uid;
static gid_t chown_gid;
static int chown_failed;

static int
chown_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	if (lchown(path, chown_uid, chown_gid) != 0) {
		gh_log_error("chown", NULL, "%s: %s", path, strerror(errno));
		chown_failed = 1;
	}
	return 0;
}

int
sv_chown_tree(const struct sv_node *n, const char *path)
{
	if (geteuid() != 0)
		return 0;
	if (sv_run_as(n, &chown_uid, &chown_gid) != 0) {
		gh_log_error("chown", NULL, "no user '%s' (node.run_as)", gh_settings_str(n->cfg, "node.run_as"));
		return -1;
	}
	chown_failed = 0;
	if (nftw(path, chown_one, 16, FTW_PHYS) != 0)
		return -1;
	return chown_failed ? -1 : 0;
}

int
sv_mkdirs(const char *path, mode_t mode)
{
	char buf[700];

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, mode) != 0 && errno != EEXIST)
		return -1;
	return chmod(buf, mode);
}

void
sv_pidfile_write(const struct sv_node *n, const char *name, pid_t pid)
{
	char path[700];
	FILE *f;

	mkdir(n->run_dir, 0755);
	snprintf(path, sizeof(path), "%s/%s.pid", n->run_dir, name);
	f = fopen(path, "w");
	if (f == NULL)
		return;
	fprintf(f, "%d\n", (int)pid);
	fclose(f);
}

pid_t
sv_pidfile_read(const struct sv_node *n, const char *name)
{
	char path[700];
	FILE *f;
	int pid = 0;

	snprintf(path, sizeof(path), "%s/%s.pid", n->run_dir, name);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	if (fscanf(f, "%d", &pid) != 1)
		pid = 0;
	fclose(f);
	if (pid <= 0 || (kill(pid, 0) != 0 && errno != EPERM))
		return 0;
	return (pid_t)pid;
}

void
sv_pidfile_remove(const struct sv_node *n, const char *name)
{
	char path[700];

	snprintf(path, sizeof(path), "%s/%s.pid", n->run_dir, name);
	unlink(path);
}

/* In a child: become node.run_as (when root).  0 or -1. */
static int
child_become(uid_t uid, gid_t gid)
{
	if (setgroups(0, NULL) != 0 || setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0)
		return -1;
	return 0;
}

/*
 * In a child: the usual reset after fork (signal mask; its own process
 * group with own_group, so that a terminal's Ctrl-C reaches only the
 * supervisor, which stops everything in order), then stdin and output.
 */
static void
child_prepare(int own_group, const char *in_path, const char *out_path, const char *log_path)
{
	sigset_t none;
	int fd;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (own_group)
		setpgid(0, 0);
	unsetenv("NOTIFY_SOCKET");
	fd = open(in_path ? in_path : "/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, 0);
		close(fd);
	}
	if (log_path != NULL) {
		fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (fd >= 0) {
			dup2(fd, 2);
			if (out_path == NULL)
				dup2(fd, 1);
			close(fd);
		}
	}
	if (out_path != NULL) {
		fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			close(fd);
		}
	}
}

static void
log_path_of(const struct sv_node *n, const char *name, char *buf, size_t len)
{
	const char *dir = gh_settings_str(n->cfg, "node.log_dir");

	buf[0] = '\0';
	if (dir != NULL) {
		mkdir(dir, 0750);
		snprintf(buf, len, "%s/%s.log", dir, name);
	}
}

int
sv_spawn(struct sv_node *n, struct sv_proc *p)
{
	char logp[700], a1[700], a2[1000], a3[300], a4[600];
	const char *argv[12];
	uid_t uid = 0;
	gid_t gid = 0;
	int k = 0, drop = 0;
	pid_t pid;

	if (p->log[0] != '\0')
		snprintf(logp, sizeof(logp), "%s", p->log);
	else
		log_path_of(n, p->name, logp, sizeof(logp));
	argv[k++] = p->bin;
	switch (p->kind) {
	case SV_DAEMON:
		argv[k++] = "--config";
		argv[k++] = n->config_path;
		break;
	case SV_POSTGRES:
		sv_pg_dir(n, a4, sizeof(a4));
		snprintf(a1, sizeof(a1), "%s/data", a4);
		snprintf(a2, sizeof(a2), "listen_addresses=%s", p->host);
		snprintf(a3, sizeof(a3), "%d", p->port);
		argv[k++] = "-D";
		argv[k++] = a1;
		argv[k++] = "-c";
		argv[k++] = a2;
		argv[k++] = "-p";
		argv[k++] = a3;
		argv[k++] = "-k";
		argv[k++] = a4;
		break;
	case SV_SLAPD: {
		char dir[600], enc[700];
		size_t e = 0;

		sv_slapd_dir(n, dir, sizeof(dir));
		snprintf(a1, sizeof(a1), "%s/slapd.d", dir);
		for (const char *s = dir; *s && e + 8 < sizeof(enc); s++) {
			if (*s == '/') {
				memcpy(enc + e, "%2F", 3);
				e += 3;
			} else {
				enc[e++] = *s;
			}
		}
		enc[e] = '\0';
		snprintf(a2, sizeof(a2), "ldap://%s%s%s:%d/ ldapi://%s%%2Fldapi", strchr(p->host, ':') ? "[" : "",
		    p->host, strchr(p->host, ':') ? "]" : "", p->port, enc);
		argv[k++] = "-F";
		argv[k++] = a1;
		argv[k++] = "-h";
		argv[k++] = a2;
		argv[k++] = "-d";
		argv[k++] = "0";
		break;
	}
	}
	argv[k] = NULL;
	if (p->as_user && geteuid() == 0) {
		if (sv_run_as(n, &uid, &gid) != 0) {
			gh_log_error("start", NULL, "%s: no user '%s' (node.run_as)", p->name,
			    gh_settings_str(n->cfg, "node.run_as"));
			return -1;
		}
		drop = 1;
	}
	pid = fork();
	if (pid < 0) {
		gh_log_error("start", NULL, "%s: fork: %s", p->name, strerror(errno));
		return -1;
	}
	if (pid == 0) {
		child_prepare(1, NULL, NULL, logp[0] ? logp : NULL);
		if (drop && child_become(uid, gid) != 0)
			_exit(126);
		prctl(PR_SET_PDEATHSIG, p->stop_sig);
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		if (chdir(p->kind == SV_POSTGRES ? n->data_dir : "/") != 0 && chdir("/") != 0)
			_exit(126);
		execv(p->bin, (char *const *)argv);
		fprintf(stderr, "gatehouse run: %s: %s\n", p->bin, strerror(errno));
		_exit(127);
	}
	p->pid = pid;
	p->state = SV_STARTING;
	p->started_ms = sv_now_ms();
	sv_pidfile_write(n, p->name, pid);
	gh_log_info("start", NULL, "%s: pid %d (%s)", p->name, (int)pid, p->bin);
	return 0;
}

/* Connect to host:port within timeout_ms; the socket or -1. */
static int
tcp_connect(const char *host, int port, int timeout_ms)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	struct pollfd pfd;
	int fd, err = 0;
	socklen_t el = sizeof(err);

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
		sl = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
		sl = sizeof(struct sockaddr_in6);
	} else {
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&ss, sl) != 0 && errno != EINPROGRESS)
		goto fail;
	pfd.fd = fd;
	pfd.events = POLLOUT;
	if (poll(&pfd, 1, timeout_ms) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

int
sv_http_get(const char *host, int port, const char *path, int timeout_ms, char *body, size_t cap)
{
	char req[512], buf[65536];
	size_t got = 0;
	int64_t end = sv_now_ms() + timeout_ms;
	int fd = tcp_connect(host, port, timeout_ms), status = -1, n;
	char *sep;

	if (fd < 0)
		return -1;
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: gatehouse\r\n\r\n", path, host);
	if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n)
		goto out;
	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		int64_t left = end - sv_now_ms();
		ssize_t r;

		if (left <= 0 || poll(&pfd, 1, (int)left) != 1)
			goto out;
		r = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
		if (got == sizeof(buf) - 1)
			break;
	}
	buf[got] = '\0';
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
		status = -1;
	if (body != NULL && cap > 0) {
		sep = strstr(buf, "\r\n\r\n");
		snprintf(body, cap, "%s", sep ? sep + 4 : "");
	}
out:
	close(fd);
	return status;
}

int
sv_healthy(const struct sv_node *n, const struct sv_proc *p)
{
	(void)n;
	switch (p->kind) {
	case SV_DAEMON:
		return sv_http_get(p->host, p->port, "/health", 2000, NULL, 0) == 200;
	case SV_POSTGRES: {
		char ci[256];

		snprintf(ci, sizeof(ci), "host=%s port=%d dbname=postgres user=postgres connect_timeout=2",
		    p->host, p->port);
		return PQping(ci) == PQPING_OK;
	}
	case SV_SLAPD: {
		int fd = tcp_connect(p->host, p->port, 1000);

		if (fd < 0)
			return 0;
		close(fd);
		return 1;
	}
	}
	return 0;
}

void
sv_notify(const char *fmt, ...)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	char msg[512];
	socklen_t sl;
	va_list ap;
	int fd, len;

	if (path == NULL || (path[0] != '/' && path[0] != '@') || strlen(path) >= sizeof(sa.sun_path))
		return;
	va_start(ap, fmt);
	len = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= sizeof(msg))
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path));
	if (path[0] == '@')
		sa.sun_path[0] = '\0';     /* abstract namespace */
	sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, msg, (size_t)len, MSG_NOSIGNAL, (struct sockaddr *)&sa, sl) < 0)
		gh_log_warn("notify", NULL, "NOTIFY_SOCKET %s: %s", path, strerror(errno));
	close(fd);
}

int
sv_cmd_run(const struct sv_node *n, const struct sv_cmd *c)
{
	uid_t uid = 0;
	gid_t gid = 0;
	int drop = 0, st;
	pid_t pid;

	if (c->as_user && geteuid() == 0) {
		if (sv_run_as(n, &uid, &gid) != 0) {
			gh_log_error("exec", NULL, "%s: no user '%s' (node.run_as)", c->argv[0],
			    gh_settings_str(n->cfg, "node.run_as"));
			return -1;
		}
		drop = 1;
	}
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		child_prepare(0, c->in_path, c->out_path, c->log_path);
		for (size_t i = 0; c->env != NULL && c->env[i] != NULL; i++)
			putenv((char *)c->env[i]);
		if (drop && child_become(uid, gid) != 0)
			_exit(126);
		if (c->cwd != NULL && chdir(c->cwd) != 0)
			_exit(126);
		execv(c->argv[0], (char *const *)c->argv);
		fprintf(stderr, "gatehouse: %s: %s\n", c->argv[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	gh_log_error("exec", NULL, "%s died of signal %d", c->argv[0], WTERMSIG(st));
	return -1;
}
