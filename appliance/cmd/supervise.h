/*
 * The node's processes, shared by `gatehouse run` (which supervises them),
 * `gatehouse status` (which looks at them), `init`, `backup` and `restore`
 * (which need the embedded PostgreSQL and slapd up for a while).  A node
 * plan lists the processes of node.role in start order; each has a way to
 * tell it is healthy, a stop signal and a tier (storage, control plane,
 * gateways) that orders the drain.
 */
#ifndef GH_SUPERVISE_H
#define GH_SUPERVISE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cmd/node.h"
#include "core/gh_settings.h"

#define SV_MAX_PROCS 8

enum sv_kind { SV_DAEMON, SV_POSTGRES, SV_SLAPD };
enum sv_tier { SV_TIER_STORAGE, SV_TIER_CONTROL, SV_TIER_GATEWAY };
enum sv_state { SV_STOPPED, SV_STARTING, SV_UP, SV_BACKOFF, SV_STOPPING };

struct sv_proc {
	char name[32];                 /* postgresql, slapd, keymanager, ..., gw-external */
	enum sv_kind kind;
	enum sv_tier tier;
	char bin[600];                 /* the program */
	char host[64];                 /* where its health is asked (loopback) */
	int port;                      /* management port; PostgreSQL's or slapd's port */
	int stop_sig;                  /* SIGTERM; PostgreSQL: SIGINT (fast shutdown) */
	int as_user;                   /* 1: started as node.run_as (PostgreSQL, slapd) */
	char log[700];                 /* its output goes here when set (else node.log_dir or ours) */
	pid_t pid;                     /* 0: not running */
	enum sv_state state;
	int restarts;
	int64_t backoff_ms, next_start_ms, started_ms, up_ms;
};

struct sv_node {
	struct gh_settings *cfg;       /* GH_COMP_ALL; owned */
	const char *config_path;       /* borrowed */
	char data_dir[512];
	char run_dir[600];             /* data_dir/run: pid files */
	char bin_dir[512];             /* the folder of this gatehouse binary */
	const char *role;
	struct sv_proc procs[SV_MAX_PROCS];
	size_t n;
};

/* A process run to completion (initdb, slapadd, pg_dump ...). */
struct sv_cmd {
	const char *const *argv;       /* argv[0]: the program's path */
	const char *const *env;        /* extra NAME=VALUE entries (NULL-terminated) or NULL */
	int as_user;                   /* 1: as node.run_as when root */
	const char *cwd;               /* or NULL */
	const char *in_path;           /* stdin from this file, or /dev/null */
	const char *out_path;          /* stdout to this file (0600, truncated), or the log */
	const char *log_path;          /* stderr (and stdout when out_path is NULL), appended; NULL: ours */
};

/*
 * Load path (GH_COMP_ALL) and make the plan of its node.role into n.
 * 0, or -1 after printing why (prog names the command in messages).
 */
int sv_node_load(struct sv_node *n, const char *path, const char *prog);
void sv_node_free(struct sv_node *n);

/* The process named name of the plan, or NULL. */
struct sv_proc *sv_node_find(struct sv_node *n, const char *name);

/*
 * Start p (fork and exec with its own process group, stdin /dev/null,
 * output to node.log_dir/NAME.log or ours, NOTIFY_SOCKET removed, as
 * node.run_as when p->as_user), write its pid file.  0, or -1 logged.
 */
int sv_spawn(struct sv_node *n, struct sv_proc *p);

/* 1 when p answers: /health 200, PostgreSQL accepting, slapd's port open. */
int sv_healthy(const struct sv_node *n, const struct sv_proc *p);

/* Pid file of a process (run_dir/NAME.pid) written, read (0: none or dead), removed. */
void sv_pidfile_write(const struct sv_node *n, const char *name, pid_t pid);
pid_t sv_pidfile_read(const struct sv_node *n, const char *name);
void sv_pidfile_remove(const struct sv_node *n, const char *name);

/*
 * GET http://host:port/path on loopback within timeout_ms; the body (NUL
 * terminated, cut to cap - 1) into body when not NULL.  The status code,
 * or -1 when nothing answered.
 */
int sv_http_get(const char *host, int port, const char *path, int timeout_ms,
    char *body, size_t cap);

/* Send a systemd notification (READY=1, STATUS=..., STOPPING=1) when NOTIFY_SOCKET is set. */
void sv_notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Milliseconds of CLOCK_MONOTONIC. */
int64_t sv_now_ms(void);

/*
 * Run c to completion.  Returns its exit status (0 ok), or -1 when it
 * could not be started or died of a signal (logged).
 */
int sv_cmd_run(const struct sv_node *n, const struct sv_cmd *c);

/* uid and gid of node.run_as (the resolved user); -1 when it does not exist. */
int sv_run_as(const struct sv_node *n, uid_t *uid, gid_t *gid);

/* chown path and everything below it to node.run_as.  0 or -1 (logged). */
int sv_chown_tree(const struct sv_node *n, const char *path);

/*
 * mkdir -p: path's missing parents 0755, path itself with mode (also set on
 * a folder that exists).  0, or -1 with errno (ENAMETOOLONG past 700 bytes).
 */
int sv_mkdirs(const char *path, mode_t mode);

/* ---- the embedded PostgreSQL and slapd (supervise_embedded.c) ---- */

/*
 * Make what is missing of the embedded PostgreSQL (initdb) and slapd
 * (cn=config, and the base entry unless no_base) under node.data_dir.
 * 0, or -1 after printing why.  Does not start them.
 */
int sv_embedded_prepare(struct sv_node *n, int no_base);

/* With the embedded PostgreSQL up: its db.user role and db.name database (idempotent). */
int sv_pg_bootstrap(struct sv_node *n);

/*
 * For init, backup and restore: start the embedded PostgreSQL and slapd
 * of the plan that are not already running (a running `gatehouse run`
 * keeps its own), wait until they answer and bootstrap the database.
 * sv_embedded_down stops only what sv_embedded_up started.  0 or -1.
 */
int sv_embedded_up(struct sv_node *n);
void sv_embedded_down(struct sv_node *n);

/* The data folders of the embedded servers (data_dir/pg, data_dir/slapd). */
void sv_pg_dir(const struct sv_node *n, char *buf, size_t len);
void sv_slapd_dir(const struct sv_node *n, char *buf, size_t len);

/* Users and secrets (users.c): gh_node_user_ensure, gh_node_secrets_check in cmd/node.h. */

/* ---- backups (backup.c) ---- */

/* SHA-256 of a file as 64 hex digits into hex; its size into *size.  0 or -1. */
int sv_file_sha256(const char *path, char hex[65], int64_t *size);

/* Copy src to dst (created or truncated, then chmod mode).  0, or -1 after printing why. */
int sv_copy_file(const char *src, const char *dst, mode_t mode);

/*
 * The environment of PostgreSQL's client programs for the node's db.*
 * settings (PGHOST, PGPORT, PGDATABASE, PGUSER, PGSSLMODE, PGPASSWORD):
 * NULL-terminated pointers into buf (len bytes).  0 or -1 (too long).
 */
int sv_pg_env(const struct sv_node *n, char *buf, size_t len, const char *env[8]);

/* The folder of the backup's manifest, database dump, directory export and files. */
#define SV_MANIFEST "manifest.json"
#define SV_DB_DUMP "postgresql.dump"
#define SV_LDAP_LDIF "ldap.ldif"
#define SV_CONFIG "gatehouse.conf"
#define SV_PKI "pki"

#endif
