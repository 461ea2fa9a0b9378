/*
 * What main.c calls in the rest of the process: the workers (worker.c)
 * and the management port (mgmt.c).  Not for the pipeline's modules.
 */
#ifndef GW_MAIN_H
#define GW_MAIN_H

struct gh_router;

/* Make n workers and bind their listeners (before the privilege drop).  0 or -1 after printing why. */
int gw_workers_start(int n);
/* Start the worker threads.  0 or -1. */
int gw_workers_run(void);
/* Drain every worker's listeners (5 s grace), join the threads, free them. */
void gw_workers_stop(void);

/* /health, /metrics and /jwks of the management port (main thread). */
void gw_mgmt_routes(struct gh_router *r);

#endif
