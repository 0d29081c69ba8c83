/* SPDX-License-Identifier: MIT */
/* Live watching: change sources and coalescing. See include/portcheck/watch.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include <dbus/dbus.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>

#include "portcheck/sysbus.h"
#include "portcheck/listener.h"
#include "portcheck/util.h"
#include "portcheck/watch.h"
#include "../sources/nlutil.h"

#define FIREWALLD_NAME "org.fedoraproject.FirewallD1"
/* Netlink receive buffer: a firewalld reload sends hundreds of messages at once; if it
 * still overflows we get ENOBUFS, which is handled as "changed". */
#define NL_RCVBUF (1 << 20)
/* Messages drained per readiness, so one noisy source cannot hold the loop. */
#define DRAIN_MAX 4096

void pc_coalesce_note(struct pc_coalesce *c, uint64_t now_ms)
{
	if (!c->pending)
		c->first_ms = now_ms;
	c->pending = true;
	c->last_change_ms = now_ms;
}

uint64_t pc_coalesce_due(const struct pc_coalesce *c)
{
	uint64_t due;

	if (!c->pending)
		return UINT64_MAX;
	due = c->last_change_ms + PC_WATCH_QUIET_MS;
	if (due > c->first_ms + PC_WATCH_MAX_DELAY_MS)
		due = c->first_ms + PC_WATCH_MAX_DELAY_MS;
	if (c->ever_ran && due < c->last_run_ms + PC_WATCH_MIN_GAP_MS)
		due = c->last_run_ms + PC_WATCH_MIN_GAP_MS;
	return due;
}

void pc_coalesce_ran(struct pc_coalesce *c, uint64_t now_ms)
{
	c->pending = false;
	c->ever_ran = true;
	c->last_run_ms = now_ms;
}

struct pc_watch {
	struct pc_watch_callbacks cb;
	struct pc_coalesce co;
	struct mnl_socket *nft, *rtnl;
	DBusConnection *bus;
	int bus_fd;
	uint64_t bus_retry_ms; /* when to try the bus again; 0: now */
	bool bus_failed_logged;
	unsigned rescan_interval_sec;
	uint64_t next_rescan_ms;
	uint64_t listeners_hash;
	bool have_listeners_hash;
	bool firewalld_running;
};

__attribute__((format(printf, 3, 4))) static void wlog(struct pc_watch *w, int priority,
						       const char *format, ...)
{
	char buf[512];
	va_list ap;

	if (!w->cb.log)
		return;
	va_start(ap, format);
	vsnprintf(buf, sizeof(buf), format, ap);
	va_end(ap);
	w->cb.log(priority, buf, w->cb.userdata);
}

static void add_fd(struct pc_watch *w, int fd, const char *what)
{
	int r = w->cb.add_fd ? w->cb.add_fd(fd, w->cb.userdata) : 0;

	if (r < 0)
		wlog(w, LOG_WARNING, "cannot wait for %s events: %s", what, strerror(-r));
}

static struct mnl_socket *nl_subscribe(int bus, const unsigned *groups, size_t n_groups)
{
	struct mnl_socket *nl = pc_nl_open(bus, SOCK_NONBLOCK);
	int size = NL_RCVBUF;

	if (!nl)
		return NULL;
	/* Best effort: RCVBUFFORCE needs CAP_NET_ADMIN, the plain one is capped by rmem_max. */
	if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		(void)setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	for (size_t i = 0; i < n_groups; i++) {
		unsigned g = groups[i];

		if (mnl_socket_setsockopt(nl, NETLINK_ADD_MEMBERSHIP, &g, sizeof(g)) < 0)
			goto fail;
	}
	return nl;
fail : {
	int e = errno;

	mnl_socket_close(nl);
	errno = e;
	return NULL;
}
}

static void open_netlink(struct pc_watch *w)
{
	static const unsigned nft_groups[] = {NFNLGRP_NFTABLES};
	static const unsigned rt_groups[] = {
	    RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV4_ROUTE,
	    RTNLGRP_IPV6_ROUTE, RTNLGRP_IPV4_RULE, RTNLGRP_IPV6_RULE,
	    /* forwarding and rp_filter changes are announced here */
	    RTNLGRP_IPV4_NETCONF, RTNLGRP_IPV6_NETCONF};

	w->nft = nl_subscribe(NETLINK_NETFILTER, nft_groups, ELEMENTSOF(nft_groups));
	if (!w->nft)
		wlog(w, LOG_WARNING,
		     "cannot watch nftables changes (NFNLGRP_NFTABLES): %s; changes are seen "
		     "at the next rescan or client request",
		     strerror(errno));
	else
		add_fd(w, mnl_socket_get_fd(w->nft), "nftables");
	w->rtnl = nl_subscribe(NETLINK_ROUTE, rt_groups, ELEMENTSOF(rt_groups));
	if (!w->rtnl)
		wlog(w, LOG_WARNING, "cannot watch address and route changes: %s", strerror(errno));
	else
		add_fd(w, mnl_socket_get_fd(w->rtnl), "rtnetlink");
}

static void bus_close(struct pc_watch *w)
{
	if (!w->bus)
		return;
	if (w->bus_fd >= 0 && w->cb.remove_fd)
		w->cb.remove_fd(w->bus_fd, w->cb.userdata);
	dbus_connection_close(w->bus);
	dbus_connection_unref(w->bus);
	w->bus = NULL;
	w->bus_fd = -1;
}

/* Every D-Bus round trip of the watcher happens in the event loop: bounded tightly. */
#define BUS_TIMEOUT_MS 2000

static bool name_has_owner(DBusConnection *bus, const char *name)
{
	DBusError err;
	bool r = false;

	dbus_error_init(&err);
	if (pc_sysbus_call_bus(bus, "NameHasOwner", name, BUS_TIMEOUT_MS, &r, &err) < 0)
		r = false;
	dbus_error_free(&err);
	return r;
}

static void note_change(struct pc_watch *w, uint64_t now_ms);

/* Connect to the system bus (DBUS_SYSTEM_BUS_ADDRESS is honoured) and subscribe. */
static void bus_open(struct pc_watch *w, uint64_t now_ms)
{
	static const char *const matches[] = {
	    "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
	    "member='NameOwnerChanged',arg0='" FIREWALLD_NAME "'",
	    /* A well-known sender matches whoever owns the name when the signal is sent. */
	    "type='signal',sender='" FIREWALLD_NAME "'",
	};
	DBusError err;
	int fd;

	dbus_error_init(&err);
	w->bus = pc_sysbus_open(BUS_TIMEOUT_MS, &err);
	if (!w->bus)
		goto fail;
	for (size_t i = 0; i < ELEMENTSOF(matches); i++)
		if (pc_sysbus_call_bus(w->bus, "AddMatch", matches[i], BUS_TIMEOUT_MS, NULL, &err) <
		    0)
			goto fail;
	if (!dbus_connection_get_unix_fd(w->bus, &fd)) {
		dbus_set_error_const(&err, "org.portcheck.Error", "no file descriptor");
		goto fail;
	}
	w->bus_fd = fd;
	add_fd(w, fd, "D-Bus");
	w->firewalld_running = name_has_owner(w->bus, FIREWALLD_NAME);
	if (w->bus_failed_logged)
		wlog(w, LOG_INFO, "watching firewalld on the system bus again");
	w->bus_failed_logged = false;
	/* Signals sent while we were not listening are lost: whatever was read before
	 * may be stale. */
	note_change(w, now_ms);
	return;
fail:
	if (!w->bus_failed_logged)
		wlog(w, LOG_WARNING,
		     "cannot watch firewalld on the system bus: %s; retrying every %d s",
		     err.message ? err.message : "unknown error", PC_WATCH_BUS_RETRY_MS / 1000);
	w->bus_failed_logged = true;
	dbus_error_free(&err);
	pc_sysbus_close(w->bus);
	w->bus = NULL;
	w->bus_retry_ms = now_ms + PC_WATCH_BUS_RETRY_MS;
}

/* FNV-1a over the listening sockets' identities, the socket inode and owning uid
 * included (a new socket on the same port is a new listener, possibly another
 * process's). */
int pc_listeners_hash(uint64_t *ret)
{
	struct pc_listener_set set = {0};
	uint64_t h = 1469598103934665603ULL;
	int r = pc_sockdiag_dump(&set);

	if (r < 0)
		return r;
	/* Order-independent: sum of per-socket hashes (the dump order is the kernel's). */
	{
		uint64_t sum = 0;

		for (size_t i = 0; i < set.n; i++) {
			const struct pc_listener *l = &set.items[i];
			uint64_t x = h;
			/* The inode and uid too: a socket replaced by another process's on
			 * the same port must not keep the old owner's name in a kept answer. */
			const unsigned char *parts[] = {(const unsigned char *)&l->protocol,
							(const unsigned char *)&l->addr,
							(const unsigned char *)&l->port,
							(const unsigned char *)&l->v6only,
							(const unsigned char *)&l->bound_ifindex,
							(const unsigned char *)&l->inode,
							(const unsigned char *)&l->uid};
			const size_t sizes[] = {
			    sizeof(l->protocol), sizeof(l->addr),	   sizeof(l->port),
			    sizeof(l->v6only),	 sizeof(l->bound_ifindex), sizeof(l->inode),
			    sizeof(l->uid)};

			for (size_t p = 0; p < ELEMENTSOF(parts); p++)
				x = pc_fnv1a(parts[p], sizes[p], x);
			sum += x;
		}
		h = sum ^ set.n;
	}
	pc_listener_set_free(&set);
	*ret = h;
	return 0;
}

int pc_watch_new(const struct pc_watch_callbacks *cb, unsigned rescan_interval_sec,
		 struct pc_watch **ret)
{
	struct pc_watch *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->cb = *cb;
	w->bus_fd = -1;
	w->rescan_interval_sec = rescan_interval_sec;
	open_netlink(w);
	/* The bus is opened by the first tick, so a slow bus cannot delay READY. */
	w->bus_retry_ms = 0;
	/* The first analysis is due after the quiet time, not at once: under socket
	 * activation a client is waiting, and its Status is that first analysis
	 * (pc_watch_ran), so it need not wait for a second one. */
	pc_watch_request(w);
	*ret = w;
	return 0;
}

void pc_watch_set_rescan_interval(struct pc_watch *w, unsigned sec)
{
	w->rescan_interval_sec = sec;
	w->next_rescan_ms = 0; /* recomputed by the next tick */
}

/* Something changed: the analysis is due (coalesced), and any answer kept is stale now. */
static void note_change(struct pc_watch *w, uint64_t now_ms)
{
	pc_coalesce_note(&w->co, now_ms);
	if (w->cb.changed)
		w->cb.changed(w->cb.userdata);
}

void pc_watch_request(struct pc_watch *w)
{
	note_change(w, pc_now_ms());
}

bool pc_watch_complete(const struct pc_watch *w)
{
	return w->nft && w->rtnl && w->bus;
}

void pc_watch_sync(struct pc_watch *w)
{
	if (w->nft)
		pc_watch_dispatch(w, mnl_socket_get_fd(w->nft));
	if (w->rtnl)
		pc_watch_dispatch(w, mnl_socket_get_fd(w->rtnl));
	if (w->bus)
		pc_watch_dispatch(w, w->bus_fd);
}

/* Read everything queued; any message, or lost messages (ENOBUFS), is a change. */
static bool drain_netlink(struct pc_watch *w, struct mnl_socket *nl, const char *what)
{
	static char buf[8192]; /* MNL_SOCKET_BUFFER_SIZE is not a constant */
	bool changed = false;

	for (int i = 0; i < DRAIN_MAX; i++) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));

		if (n > 0) {
			changed = true;
			continue;
		}
		if (n < 0 && errno == ENOBUFS) {
			wlog(w, LOG_DEBUG, "%s: events lost (ENOBUFS): full re-analysis", what);
			changed = true;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		break; /* EAGAIN, or an error that the next readiness will show again */
	}
	return changed;
}

static void handle_bus_message(struct pc_watch *w, DBusMessage *m)
{
	const char *name = NULL, *old_owner = NULL, *new_owner = NULL;

	if (dbus_message_is_signal(m, DBUS_INTERFACE_LOCAL, "Disconnected")) {
		wlog(w, LOG_WARNING, "lost the system bus; reconnecting in %d s",
		     PC_WATCH_BUS_RETRY_MS / 1000);
		w->bus_failed_logged = true;
		bus_close(w);
		w->bus_retry_ms = 0; /* set properly by the next tick */
		pc_watch_request(w);
		return;
	}
	if (dbus_message_get_type(m) != DBUS_MESSAGE_TYPE_SIGNAL)
		return;
	if (dbus_message_is_signal(m, DBUS_INTERFACE_DBUS, "NameOwnerChanged")) {
		if (!dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &name, DBUS_TYPE_STRING,
					   &old_owner, DBUS_TYPE_STRING, &new_owner,
					   DBUS_TYPE_INVALID) ||
		    strcmp(name, FIREWALLD_NAME) != 0)
			return;
		/* A restart may arrive as one owner change (old -> new) or two. */
		if (*old_owner && w->firewalld_running && w->cb.firewalld)
			w->cb.firewalld(false, w->cb.userdata);
		if (*new_owner && w->cb.firewalld)
			w->cb.firewalld(true, w->cb.userdata);
		w->firewalld_running = *new_owner != '\0';
	}
	/* Any other signal from firewalld (Reloaded, PortAdded, ...) is a change. */
	pc_watch_request(w);
}

void pc_watch_dispatch(struct pc_watch *w, int fd)
{
	uint64_t now = pc_now_ms();
	bool changed = false;
	if (w->nft && fd == mnl_socket_get_fd(w->nft))
		changed = drain_netlink(w, w->nft, "nftables");
	else if (w->rtnl && fd == mnl_socket_get_fd(w->rtnl))
		changed = drain_netlink(w, w->rtnl, "rtnetlink");
	else if (w->bus && fd == w->bus_fd) {
		DBusMessage *m;
		int n = 0;

		/* Read what is there without blocking, then handle every whole message. */
		if (!dbus_connection_read_write(w->bus, 0)) {
			/* Closed: the Disconnected message below says so. */
		}
		while (w->bus && n++ < DRAIN_MAX && (m = dbus_connection_pop_message(w->bus))) {
			handle_bus_message(w, m);
			dbus_message_unref(m);
		}
	}
	if (changed)
		note_change(w, now);
}

int pc_watch_tick(struct pc_watch *w, uint64_t now_ms)
{
	uint64_t next = UINT64_MAX, due;

	if (!w->bus && now_ms >= w->bus_retry_ms)
		bus_open(w, now_ms);
	if (!w->bus && w->bus_retry_ms < next)
		next = w->bus_retry_ms;

	if (w->rescan_interval_sec) {
		if (!w->next_rescan_ms)
			w->next_rescan_ms = now_ms + (uint64_t)w->rescan_interval_sec * 1000;
		if (now_ms >= w->next_rescan_ms) {
			uint64_t h;
			int r = pc_listeners_hash(&h);

			if (r < 0)
				wlog(w, LOG_WARNING, "rescanning the listening sockets failed: %s",
				     strerror(-r));
			else if (!w->have_listeners_hash || h != w->listeners_hash) {
				if (w->have_listeners_hash)
					note_change(w, now_ms);
				w->listeners_hash = h;
				w->have_listeners_hash = true;
			}
			w->next_rescan_ms = now_ms + (uint64_t)w->rescan_interval_sec * 1000;
		}
		if (w->next_rescan_ms < next)
			next = w->next_rescan_ms;
	}

	due = pc_coalesce_due(&w->co);
	if (due <= now_ms) {
		/* Take the socket picture first so that the next rescan compares against
		 * what this analysis saw. */
		uint64_t h;

		if (w->rescan_interval_sec && pc_listeners_hash(&h) == 0) {
			w->listeners_hash = h;
			w->have_listeners_hash = true;
		}
		pc_coalesce_ran(&w->co, now_ms);
		w->cb.analyse(w->cb.userdata);
		due = pc_coalesce_due(&w->co);
	}
	if (due < next)
		next = due;
	if (next == UINT64_MAX)
		return -1;
	return next <= now_ms ? 0 : (next - now_ms > 60000 ? 60000 : (int)(next - now_ms));
}

void pc_watch_ran(struct pc_watch *w, uint64_t now_ms)
{
	/* Changes noted up to now are in what that analysis read. */
	if (!w->co.pending || w->co.last_change_ms <= now_ms)
		pc_coalesce_ran(&w->co, now_ms);
}

void pc_watch_free(struct pc_watch *w)
{
	if (!w)
		return;
	bus_close(w);
	if (w->nft) {
		if (w->cb.remove_fd)
			w->cb.remove_fd(mnl_socket_get_fd(w->nft), w->cb.userdata);
		mnl_socket_close(w->nft);
	}
	if (w->rtnl) {
		if (w->cb.remove_fd)
			w->cb.remove_fd(mnl_socket_get_fd(w->rtnl), w->cb.userdata);
		mnl_socket_close(w->rtnl);
	}
	free(w);
}
