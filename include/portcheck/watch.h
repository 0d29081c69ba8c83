/* SPDX-License-Identifier: MIT */
/*
 * Live watching: the sources that tell the daemon the picture may have changed, and
 * when to look again.
 *
 * - nftables: the NFNLGRP_NFTABLES multicast group (every committed transaction);
 *   ENOBUFS (events lost) counts as a change, so a full re-analysis resyncs.
 * - routing: links, addresses and routes (rtnetlink groups): they decide paths too.
 * - firewalld: its D-Bus signals (Reloaded, zone and config changes) and
 *   NameOwnerChanged of org.fedoraproject.FirewallD1 (stop, start, restart). A reload
 *   emits only Reloaded, and its nftables rewrite hundreds of netlink events.
 * - listeners: sockets have no change notification, so they are rescanned every
 *   rescan interval (a sock_diag dump, cheap) and compared with the last scan.
 *
 * Changes are coalesced: the analysis runs PC_WATCH_QUIET_MS after the last change, at
 * most every PC_WATCH_MIN_GAP_MS, and never later than PC_WATCH_MAX_DELAY_MS after the
 * first pending change, so a burst costs one analysis and a storm cannot starve it.
 * The caller owns the event loop: the add_fd/remove_fd callbacks put the sources' fds
 * in it, and it calls pc_watch_tick before every wait.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PC_WATCH_QUIET_MS 500
#define PC_WATCH_MIN_GAP_MS 2000
#define PC_WATCH_MAX_DELAY_MS 5000
/* How often to retry a D-Bus connection that failed or was lost. */
#define PC_WATCH_BUS_RETRY_MS 30000

/* When to analyse: pure, so it is unit-tested with made-up clocks. */
struct pc_coalesce {
	bool pending;
	uint64_t first_ms, last_change_ms, last_run_ms;
	bool ever_ran;
};

/* Note a change at @now_ms. */
void pc_coalesce_note(struct pc_coalesce *c, uint64_t now_ms);
/* When the analysis is due (UINT64_MAX: nothing pending). */
uint64_t pc_coalesce_due(const struct pc_coalesce *c);
/* The analysis ran at @now_ms: nothing pending any more. */
void pc_coalesce_ran(struct pc_coalesce *c, uint64_t now_ms);

struct pc_watch_callbacks {
	/* Re-analyse now (changes were seen). */
	void (*analyse)(void *userdata);
	/* A change was seen, at once (before coalescing): what was analysed is stale. May
	 * be NULL. */
	void (*changed)(void *userdata);
	/* firewalld appeared (true) or went away (false) on the bus. */
	void (*firewalld)(bool running, void *userdata);
	/* Start and stop waiting for readability on @fd (call pc_watch_dispatch then).
	 * remove_fd is called before the fd is closed. */
	int (*add_fd)(int fd, void *userdata);
	void (*remove_fd)(int fd, void *userdata);
	/* A source failed or recovered; @priority is a syslog LOG_* level. */
	void (*log)(int priority, const char *message, void *userdata);
	void *userdata;
};

struct pc_watch;

/*
 * Open the sources (a source that cannot be opened is logged and left out: watching
 * degrades, the daemon still serves; the D-Bus one is retried). The first analysis is
 * due after the quiet time (a client's Status before then counts as it). Returns 0 or
 * -ENOMEM.
 */
int pc_watch_new(const struct pc_watch_callbacks *cb, unsigned rescan_interval_sec,
		 struct pc_watch **ret);

/* Change the listener rescan interval (0: off), e.g. after a config reload. */
void pc_watch_set_rescan_interval(struct pc_watch *w, unsigned sec);

/* Ask for an analysis soon (coalesced like any change). */
void pc_watch_request(struct pc_watch *w);

/*
 * Drain every source now, without waiting for the loop to report them: a change the
 * kernel or firewalld made before a client asked is queued on our sockets by then
 * (netlink notifications are queued while the change is committed), so an answer after
 * this never misses it.
 */
void pc_watch_sync(struct pc_watch *w);

/* Whether every source is open (nftables, rtnetlink, the bus): if one is not, changes may
 * go unseen and no answer may be kept. */
bool pc_watch_complete(const struct pc_watch *w);

/* An order-independent hash of the listening sockets (a sock_diag dump): sockets have no
 * change notification. Returns 0 or -errno. */
int pc_listeners_hash(uint64_t *ret);

/* One of the fds is readable: drain it and note changes. */
void pc_watch_dispatch(struct pc_watch *w, int fd);

/* Do what is due at @now_ms (rescans, the analysis). Returns the ms until the next
 * thing to do, or -1 for none. */
int pc_watch_tick(struct pc_watch *w, uint64_t now_ms);

/* The analysis outside the watcher (e.g. a client's Status) happened at @now_ms: it
 * counts as a run. */
void pc_watch_ran(struct pc_watch *w, uint64_t now_ms);

/* Close everything. NULL-safe. */
void pc_watch_free(struct pc_watch *w);
