/*
 * gatehouse run [--config FILE]: run the node's role.  Starts its
 * processes one by one in dependency order (embedded PostgreSQL and slapd,
 * key manager, publisher, portal, traffic manager, gateways), each once the
 * one before answers; tells systemd READY=1 when all are healthy; restarts
 * a process that dies, after an exponential back-off; forwards SIGHUP to
 * the daemons (they reload); and on SIGTERM or SIGINT drains in reverse:
 * gateways (they finish requests in flight and flush their analytics
 * spool), then the control plane, then slapd and PostgreSQL, and exits 0.
 * A second SIGTERM or SIGINT during the drain, more than 2 s after the
 * first, kills what is left.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd/node.h"
#include "cmd/supervise.h"
#include "core/gh_log.h"
#include "core/gh_service.h"

#define BACKOFF_FIRST_MS 500
#define BACKOFF_MAX_MS 30000
#define BACKOFF_RESET_MS 60000   /* healthy this long: the next crash starts from the first step */
#define STOP_AGAIN_MS 2000       /* a second stop signal after this kills what is left */

struct run {
	struct sv_node node;
	int sfd;                 /* signalfd: SIGCHLD, SIGTERM, SIGINT, SIGHUP */
	int stopping, kill_now;
	int64_t stop_ms;         /* when the first stop signal came */
	int64_t start_timeout, stop_timeout;
};

static const char *const state_names[] = { "stopped", "starting", "up", "back-off", "stopping" };

static void
status_line(struct run *r)
{
	size_t up = 0;
	char down[200] = "";
	size_t dl = 0;

	for (size_t i = 0; i < r->node.n; i++) {
		if (r->node.procs[i].state == SV_UP)
			up++;
		else
			dl += (size_t)snprintf(down + dl, sizeof(down) - dl, " %s(%s)", r->node.procs[i].name,
			    state_names[r->node.procs[i].state]);
		if (dl >= sizeof(down))
			dl = sizeof(down) - 1;
	}
	sv_notify("STATUS=%s: %zu of %zu processes up%s%s", r->node.role, up, r->node.n,
	    dl ? ", waiting for" : "", down);
}

static struct sv_proc *
proc_of(struct run *r, pid_t pid)
{
	for (size_t i = 0; i < r->node.n; i++)
		if (r->node.procs[i].pid == pid)
			return &r->node.procs[i];
	return NULL;
}

static void
describe_exit(int st, char *buf, size_t len)
{
	if (WIFEXITED(st))
		snprintf(buf, len, "exit status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
	else
		snprintf(buf, len, "status 0x%x", (unsigned)st);
}

/* Reap every child that ended; schedule the restart of those that were not asked to stop. */
static void
reap(struct run *r)
{
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		struct sv_proc *p = proc_of(r, pid);
		char why[96];

		if (p == NULL)
			continue;
		describe_exit(st, why, sizeof(why));
		p->pid = 0;
		sv_pidfile_remove(&r->node, p->name);
		if (p->state == SV_STOPPING || r->stopping) {
			gh_log_info("stopped", NULL, "%s: %s", p->name, why);
			p->state = SV_STOPPED;
			continue;
		}
		if (p->up_ms > 0 && sv_now_ms() - p->up_ms >= BACKOFF_RESET_MS)
			p->backoff_ms = 0;
		p->backoff_ms = p->backoff_ms == 0 ? BACKOFF_FIRST_MS :
		    (p->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : p->backoff_ms * 2);
		p->next_start_ms = sv_now_ms() + p->backoff_ms;
		p->state = SV_BACKOFF;
		p->up_ms = 0;
		p->restarts++;
		gh_log_warn("crashed", NULL, "%s (pid %d) ended: %s; restarting in %lld ms (restart %d)",
		    p->name, (int)pid, why, (long long)p->backoff_ms, p->restarts);
		status_line(r);
	}
}

static void
forward_hup(struct run *r)
{
	gh_log_info("reload", NULL, "SIGHUP: passed on to the daemons");
	for (size_t i = 0; i < r->node.n; i++) {
		struct sv_proc *p = &r->node.procs[i];

		/* slapd ends on SIGHUP; PostgreSQL reloads its own files */
		if (p->pid > 0 && p->kind != SV_SLAPD)
			kill(p->pid, SIGHUP);
	}
}

/* Read the pending signals; returns 1 when SIGTERM or SIGINT came. */
static int
signals(struct run *r)
{
	struct signalfd_siginfo si;
	int term = 0;

	while (read(r->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap(r);
			break;
		case SIGHUP:
			if (!r->stopping)
				forward_hup(r);
			break;
		case SIGTERM:
		case SIGINT:
			term = 1;
			/* a terminal's Ctrl-C and a wrapper passing it on arrive together: one stop */
			if (r->stopping && sv_now_ms() - r->stop_ms > STOP_AGAIN_MS && !r->kill_now) {
				gh_log_warn("stop", NULL, "signal %d again: killing what is left", (int)si.ssi_signo);
				r->kill_now = 1;
			} else if (r->stop_ms == 0) {
				r->stop_ms = sv_now_ms();
			}
			break;
		}
	}
	reap(r);
	return term;
}

/* Wait up to ms for a signal.  Returns 1 when SIGTERM or SIGINT came. */
static int
wait_signals(struct run *r, int ms)
{
	struct pollfd pfd = { r->sfd, POLLIN, 0 };

	if (poll(&pfd, 1, ms) > 0)
		return signals(r);
	return 0;
}

/*
 * Start p and wait until it answers.  0; -1 when it ended or did not
 * answer in time (printed); 1 when a stop signal came meanwhile.
 */
static int
start_one(struct run *r, struct sv_proc *p)
{
	int64_t end;
	char logp[700];
	const char *ld = gh_settings_str(r->node.cfg, "node.log_dir");

	if (sv_spawn(&r->node, p) != 0)
		return -1;
	status_line(r);
	end = sv_now_ms() + r->start_timeout;
	snprintf(logp, sizeof(logp), "%s/%s.log", ld ? ld : "", p->name);
	for (;;) {
		if (wait_signals(r, 100))
			return 1;
		if (p->state == SV_BACKOFF || p->pid == 0) {
			fprintf(stderr, "gatehouse run: %s ended during start-up%s%s\n", p->name,
			    ld ? "; see " : " (its messages are above)", ld ? logp : "");
			return -1;
		}
		if (sv_healthy(&r->node, p)) {
			p->state = SV_UP;
			p->up_ms = sv_now_ms();
			gh_log_info("up", NULL, "%s: healthy after %lld ms", p->name,
			    (long long)(p->up_ms - p->started_ms));
			return 0;
		}
		if (sv_now_ms() > end) {
			fprintf(stderr, "gatehouse run: %s did not answer on %s:%d within node.start_timeout%s%s\n",
			    p->name, p->host, p->port, ld ? "; see " : "", ld ? logp : "");
			return -1;
		}
	}
}

/* Stop every running process of tier t, waiting up to stop_timeout; SIGKILL the rest. */
static void
stop_tier(struct run *r, enum sv_tier t)
{
	int64_t end = sv_now_ms() + r->stop_timeout;
	int left;

	for (size_t i = 0; i < r->node.n; i++) {
		struct sv_proc *p = &r->node.procs[i];

		if (p->tier != t)
			continue;
		if (p->pid > 0) {
			gh_log_info("stop", NULL, "%s: signal %d", p->name, p->stop_sig);
			kill(p->pid, p->stop_sig);
			p->state = SV_STOPPING;
		} else {
			p->state = SV_STOPPED;
		}
	}
	for (;;) {
		left = 0;
		for (size_t i = 0; i < r->node.n; i++)
			if (r->node.procs[i].tier == t && r->node.procs[i].pid > 0)
				left++;
		if (left == 0)
			return;
		if (r->kill_now || sv_now_ms() > end)
			break;
		wait_signals(r, 100);
	}
	for (size_t i = 0; i < r->node.n; i++) {
		struct sv_proc *p = &r->node.procs[i];

		if (p->tier == t && p->pid > 0) {
			gh_log_warn("stop", NULL, "%s: still running; SIGKILL", p->name);
			kill(p->pid, SIGKILL);
		}
	}
	while (left > 0) {
		left = 0;
		wait_signals(r, 100);
		for (size_t i = 0; i < r->node.n; i++)
			if (r->node.procs[i].tier == t && r->node.procs[i].pid > 0)
				left++;
	}
}

static void
drain(struct run *r)
{
	r->stopping = 1;
	sv_notify("STOPPING=1\nSTATUS=stopping: gateways, then the control plane, then storage");
	gh_log_info("stop", NULL, "stopping: gateways first, then the control plane, then storage");
	stop_tier(r, SV_TIER_GATEWAY);
	stop_tier(r, SV_TIER_CONTROL);
	stop_tier(r, SV_TIER_STORAGE);
	gh_log_info("stop", NULL, "every process of the node has stopped");
}

/* The supervision loop: restarts after back-off, health of restarted processes. */
static void
supervise(struct run *r)
{
	int ready_told = 1;

	for (;;) {
		int64_t now;

		if (wait_signals(r, 200))
			return;
		now = sv_now_ms();
		for (size_t i = 0; i < r->node.n; i++) {
			struct sv_proc *p = &r->node.procs[i];

			if (p->state == SV_BACKOFF && now >= p->next_start_ms) {
				if (sv_spawn(&r->node, p) != 0) {
					p->next_start_ms = now + (p->backoff_ms ? p->backoff_ms : BACKOFF_FIRST_MS);
					continue;
				}
				ready_told = 0;
				status_line(r);
			} else if (p->state == SV_STARTING && sv_healthy(&r->node, p)) {
				p->state = SV_UP;
				p->up_ms = sv_now_ms();
				gh_log_info("up", NULL, "%s: healthy again after restart %d", p->name, p->restarts);
			}
		}
		if (!ready_told) {
			int all = 1;

			for (size_t i = 0; i < r->node.n; i++)
				all &= r->node.procs[i].state == SV_UP;
			if (all) {
				ready_told = 1;
				status_line(r);
			}
		}
	}
}

/*
 * A process of the plan still running from a supervisor that died without
 * stopping it (SIGKILL): stop it before starting again, or its ports are taken.
 */
static void
leftovers(struct run *r)
{
	for (size_t i = 0; i < r->node.n; i++) {
		struct sv_proc *p = &r->node.procs[i];
		pid_t pid = sv_pidfile_read(&r->node, p->name);
		char path[64], argv0[700] = "";
		int64_t end;
		FILE *f;

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
		f = fopen(path, "r");
		if (f != NULL) {
			size_t n = fread(argv0, 1, sizeof(argv0) - 1, f);
			argv0[n] = '\0';
			fclose(f);
		}
		if (strcmp(argv0, p->bin) != 0) {
			sv_pidfile_remove(&r->node, p->name);
			continue;
		}
		gh_log_warn("leftover", NULL, "%s (pid %d) still runs from an earlier gatehouse run: stopping it",
		    p->name, (int)pid);
		kill(pid, p->stop_sig);
		end = sv_now_ms() + r->stop_timeout;
		while (kill(pid, 0) == 0 && sv_now_ms() < end)
			usleep(100000);
		if (kill(pid, 0) == 0)
			kill(pid, SIGKILL);
		sv_pidfile_remove(&r->node, p->name);
	}
}

static int
usage(void)
{
	fprintf(stderr, "usage: gatehouse run [--config FILE]\n");
	return 2;
}

int
gh_cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	struct run r;
	const char *config = GH_CONFIG_DEFAULT;
	char abs[PATH_MAX], ca[700];
	sigset_t set;
	int o, rc = 1, lvl, started = 0;
	pid_t other;

	memset(&r, 0, sizeof(r));
	r.sfd = -1;
	optind = 1;
	while ((o = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		if (o != 'c')
			return usage();
		config = optarg;
	}
	if (optind != argc)
		return usage();
	if (realpath(config, abs) == NULL) {
		fprintf(stderr, "gatehouse run: %s: %s\n", config, strerror(errno));
		return 1;
	}
	if (sv_node_load(&r.node, abs, "gatehouse run") != 0)
		return 1;
	lvl = gh_log_level_parse(gh_settings_str(r.node.cfg, "log.level"));
	gh_log_init("gatehouse", 2, lvl < 0 ? GH_LOG_INFO : (enum gh_log_level)lvl);
	r.start_timeout = gh_settings_int(r.node.cfg, "node.start_timeout");
	r.stop_timeout = gh_settings_int(r.node.cfg, "node.stop_timeout");
	if (gh_node_secrets_check(r.node.cfg, abs, "gatehouse run", 1) != 0)
		goto out;
	snprintf(ca, sizeof(ca), "%s/pki/ca.crt", r.node.data_dir);
	if (access(ca, R_OK) != 0) {
		fprintf(stderr, "gatehouse run: %s: no CA certificate: run gatehouse init first\n", ca);
		goto out;
	}
	if (sv_embedded_prepare(&r.node, 0) != 0)
		goto out;
	other = sv_pidfile_read(&r.node, "gatehouse");
	if (other != 0 && other != getpid()) {
		fprintf(stderr, "gatehouse run: this node already runs (pid %d)\n", (int)other);
		goto out;
	}
	leftovers(&r);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0 ||
	    (r.sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		fprintf(stderr, "gatehouse run: signalfd: %s\n", strerror(errno));
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	/* started in the background by a script, SIGINT comes ignored: signalfd needs it not to be */
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	sv_pidfile_write(&r.node, "gatehouse", getpid());
	gh_log_info("start", NULL, "gatehouse %s: node %s, role %s, %zu processes", GH_VERSION,
	    gh_settings_str(r.node.cfg, "node.name"), r.node.role, r.node.n);
	started = 1;
	for (size_t i = 0; i < r.node.n; i++) {
		struct sv_proc *p = &r.node.procs[i];
		int x;

		x = start_one(&r, p);
		if (x == 1) {
			gh_log_info("stop", NULL, "stop signal during start-up");
			drain(&r);
			rc = 0;
			goto out;
		}
		if (x != 0) {
			drain(&r);
			goto out;
		}
		if (p->kind == SV_POSTGRES && sv_pg_bootstrap(&r.node) != 0) {
			drain(&r);
			goto out;
		}
	}
	sv_notify("READY=1\nSTATUS=%s: all %zu processes up", r.node.role, r.node.n);
	gh_log_info("ready", NULL, "all %zu processes of %s are healthy", r.node.n, r.node.role);
	supervise(&r);
	drain(&r);
	rc = 0;
out:
	if (started)
		sv_pidfile_remove(&r.node, "gatehouse");
	if (r.sfd >= 0)
		close(r.sfd);
	sv_node_free(&r.node);
	return rc;
}
