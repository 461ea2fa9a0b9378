/*
 * gatehouse status [--config FILE] [--json]: each process of the node's
 * role — running or not (its pid from `gatehouse run`'s pid files), its
 * health, the version of the program it runs, and what its /metrics say
 * that matters to an operator: a gateway's feed lag and analytics spool
 * depth, the traffic manager's counter keys and gateways.  On the
 * appliance (image/), first the state its boot services left in
 * DATA/appliance-status (a refused configuration, a failed first boot), also
 * when the configuration cannot be read.  Exits 0 when every process is
 * running and healthy and the appliance reports no error, 1 otherwise.
 */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd/node.h"
#include "cmd/supervise.h"
#include "core/gh_service.h"

struct pstat {
	const struct sv_proc *p;
	pid_t pid;
	int healthy;
	char version[96];
	long long m[2];              /* gateway: feed lag ms, spool bytes; TM: keys, gateways */
	int has_m;
};

/* Run argv, its first output line (stdout and stderr) into out.  0 or -1. */
static int
capture(const char *const *argv, char *out, size_t len)
{
	int fds[2], st;
	pid_t pid;
	ssize_t n;
	size_t got = 0;
	char buf[512];

	out[0] = '\0';
	if (pipe(fds) != 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	while (got < sizeof(buf) - 1 && (n = read(fds[0], buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	close(fds[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	buf[got] = '\0';
	got = strcspn(buf, "\n");
	if (got >= len)
		got = len - 1;
	memcpy(out, buf, got);
	out[got] = '\0';
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static void
version_of(struct pstat *s)
{
	char exe[64], line[200];
	const char *v = NULL;

	line[0] = '\0';
	switch (s->p->kind) {
	case SV_DAEMON: {
		const char *argv[] = { exe, "--version", NULL };
		/* the running program itself, even when its file was replaced since */
		snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)s->pid);
		if (s->pid <= 0 || capture(argv, line, sizeof(line)) != 0) {
			argv[0] = s->p->bin;
			if (capture(argv, line, sizeof(line)) != 0)
				line[0] = '\0';
		}
		v = strrchr(line, ' ');         /* "gatehouse-portal 0.8.0" */
		break;
	}
	case SV_POSTGRES: {
		const char *argv[] = { s->p->bin, "--version", NULL };
		capture(argv, line, sizeof(line));
		v = strrchr(line, ' ');         /* "postgres (PostgreSQL) 15.5 (...)" */
		if (strstr(line, "PostgreSQL) ") != NULL) {
			v = strstr(line, "PostgreSQL) ") + 11;
			line[strcspn(line + (v - line) + 1, " ") + (size_t)(v - line) + 1] = '\0';
		}
		break;
	}
	case SV_SLAPD: {
		const char *argv[] = { s->p->bin, "-VV", NULL };
		capture(argv, line, sizeof(line));
		v = strstr(line, "slapd ");     /* "@(#) $OpenLDAP: slapd 2.5.13+dfsg-5 (...) $" */
		if (v != NULL) {
			v += 5;
			line[strcspn(line + (v - line) + 1, " ") + (size_t)(v - line) + 1] = '\0';
		}
		break;
	}
	}
	snprintf(s->version, sizeof(s->version), "%s", v ? v + 1 : "?");
}

/* The value of metric name (a line "name VALUE") in text, or -1. */
static long long
metric(const char *text, const char *name)
{
	size_t l = strlen(name);

	for (const char *p = text; p != NULL && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, name, l) == 0 && p[l] == ' ')
			return atoll(p + l + 1);
	return -1;
}

static void
metrics_of(struct pstat *s)
{
	static char text[65536];
	const char *names[2] = { NULL, NULL };

	if (strncmp(s->p->name, "gw-", 3) == 0) {
		names[0] = "gatehouse_gw_feed_lag_ms";
		names[1] = "gatehouse_gw_spool_depth";
	} else if (strcmp(s->p->name, "trafficmanager") == 0) {
		names[0] = "gatehouse_tm_keys";
		names[1] = "gatehouse_tm_gateways";
	} else {
		return;
	}
	if (sv_http_get(s->p->host, s->p->port, "/metrics", 2000, text, sizeof(text)) != 200)
		return;
	s->m[0] = metric(text, names[0]);
	s->m[1] = metric(text, names[1]);
	s->has_m = 1;
}

#define APPLIANCE_DATA_DEFAULT "/var/lib/gatehouse"

/*
 * The appliance's status file DATA/appliance-status: lines state=, role=,
 * message=, time=.  Fills the four (empty when absent) and returns 1 when
 * the file exists, 0 when it does not (a node installed from the package).
 */
static int
appliance_read(const char *data_dir, char f[4][4096])
{
	static const char *const keys[4] = { "state=", "role=", "message=", "time=" };
	char path[600], line[4096];
	FILE *fp;

	for (int i = 0; i < 4; i++)
		f[i][0] = '\0';
	snprintf(path, sizeof(path), "%s/appliance-status", data_dir);
	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		for (int i = 0; i < 4; i++)
			if (strncmp(line, keys[i], strlen(keys[i])) == 0)
				snprintf(f[i], sizeof(f[i]), "%s", line + strlen(keys[i]));
	}
	fclose(fp);
	return 1;
}

/* The appliance's status as a JSON object (NULL when there is none); the caller owns it. */
static struct json_object *
appliance_json(char f[4][4096], int present)
{
	struct json_object *o;

	if (!present)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "state", json_object_new_string(f[0]));
	json_object_object_add(o, "role", json_object_new_string(f[1]));
	json_object_object_add(o, "message", json_object_new_string(f[2]));
	json_object_object_add(o, "time", json_object_new_string(f[3]));
	return o;
}

static void
appliance_print(char f[4][4096], int present)
{
	if (present)
		printf("appliance: %s%s%s (%s): %s\n", f[0], f[1][0] ? ", role " : "", f[1], f[3], f[2]);
}

static int
usage(void)
{
	fprintf(stderr, "usage: gatehouse status [--config FILE] [--json]\n");
	return 2;
}

int
gh_cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct sv_node n;
	struct pstat st[SV_MAX_PROCS];
	const char *config = GH_CONFIG_DEFAULT;
	int o, json = 0, all = 1, app;
	char af[4][4096];
	pid_t sup;

	optind = 1;
	while ((o = getopt_long(argc, argv, "c:j", opts, NULL)) != -1) {
		if (o == 'c')
			config = optarg;
		else if (o == 'j')
			json = 1;
		else
			return usage();
	}
	if (optind != argc)
		return usage();
	if (sv_node_load(&n, config, "gatehouse status") != 0) {
		/* a refused configuration: what the appliance knows is all there is */
		app = appliance_read(APPLIANCE_DATA_DEFAULT, af);
		if (json) {
			struct json_object *o_ = json_object_new_object();

			json_object_object_add(o_, "healthy", json_object_new_boolean(0));
			json_object_object_add(o_, "error", json_object_new_string("the configuration cannot be read"));
			json_object_object_add(o_, "appliance", appliance_json(af, app));
			printf("%s\n", json_object_to_json_string_ext(o_, JSON_C_TO_STRING_PRETTY |
			    JSON_C_TO_STRING_NOSLASHESCAPE));
			json_object_put(o_);
		} else
			appliance_print(af, app);
		return 1;
	}
	app = appliance_read(n.data_dir, af);
	if (app && strcmp(af[0], "error") == 0)
		all = 0;
	sup = sv_pidfile_read(&n, "gatehouse");
	for (size_t i = 0; i < n.n; i++) {
		struct pstat *s = &st[i];

		memset(s, 0, sizeof(*s));
		s->p = &n.procs[i];
		s->pid = sv_pidfile_read(&n, s->p->name);
		s->healthy = sv_healthy(&n, s->p);
		version_of(s);
		if (s->healthy)
			metrics_of(s);
		all &= s->pid > 0 && s->healthy;
	}
	if (json) {
		struct json_object *o_ = json_object_new_object(), *arr = json_object_new_array();

		json_object_object_add(o_, "node", json_object_new_string(gh_settings_str(n.cfg, "node.name")));
		json_object_object_add(o_, "role", json_object_new_string(n.role));
		json_object_object_add(o_, "version", json_object_new_string(GH_VERSION));
		json_object_object_add(o_, "supervisor_pid", sup > 0 ? json_object_new_int(sup) : NULL);
		json_object_object_add(o_, "healthy", json_object_new_boolean(all));
		json_object_object_add(o_, "appliance", appliance_json(af, app));
		for (size_t i = 0; i < n.n; i++) {
			struct pstat *s = &st[i];
			struct json_object *e = json_object_new_object();
			int gw = strncmp(s->p->name, "gw-", 3) == 0;

			json_object_object_add(e, "name", json_object_new_string(s->p->name));
			json_object_object_add(e, "running", json_object_new_boolean(s->pid > 0));
			json_object_object_add(e, "pid", s->pid > 0 ? json_object_new_int(s->pid) : NULL);
			json_object_object_add(e, "healthy", json_object_new_boolean(s->healthy));
			json_object_object_add(e, "version", json_object_new_string(s->version));
			if (s->has_m && s->m[0] >= 0)
				json_object_object_add(e, gw ? "feed_lag_ms" : "keys", json_object_new_int64(s->m[0]));
			if (s->has_m && s->m[1] >= 0)
				json_object_object_add(e, gw ? "spool_depth_bytes" : "gateways",
				    json_object_new_int64(s->m[1]));
			json_object_array_add(arr, e);
		}
		json_object_object_add(o_, "processes", arr);
		printf("%s\n", json_object_to_json_string_ext(o_, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o_);
	} else {
		appliance_print(af, app);
		printf("node %s, role %s, gatehouse %s; gatehouse run %s\n", gh_settings_str(n.cfg, "node.name"),
		    n.role, GH_VERSION, sup > 0 ? "is running" : "is not running");
		if (sup > 0)
			printf("  supervisor      pid %d\n", (int)sup);
		for (size_t i = 0; i < n.n; i++) {
			struct pstat *s = &st[i];
			char pid[32] = "-", extra[160] = "";

			if (s->pid > 0)
				snprintf(pid, sizeof(pid), "pid %d", (int)s->pid);
			if (s->has_m && strncmp(s->p->name, "gw-", 3) == 0)
				snprintf(extra, sizeof(extra), "  feed lag %lld ms, spool %lld bytes", s->m[0], s->m[1]);
			else if (s->has_m)
				snprintf(extra, sizeof(extra), "  keys %lld, gateways %lld", s->m[0], s->m[1]);
			printf("  %-15s %-11s %-10s %-9s %-10s%s\n", s->p->name, s->pid > 0 ? "running" : "not running",
			    pid, s->healthy ? "healthy" : "unhealthy", s->version, extra);
		}
		printf("%s\n", all ? "all processes healthy" : app && strcmp(af[0], "error") == 0 ?
		    "the appliance reports an error" : "NOT all processes are healthy");
	}
	sv_node_free(&n);
	return all ? 0 : 1;
}
