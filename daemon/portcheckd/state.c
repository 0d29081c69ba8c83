/* SPDX-License-Identifier: MIT */
/*
 * What portcheckd's answers depend on, and whether a kept answer is still true. The
 * watcher counts the changes it is told of (nftables and rtnetlink events, firewalld's
 * signals, rescans); per request the daemon drains those sources first (a change made
 * before the request was queued on them by then), and reads what no event announces or
 * what is cheap enough to check anyway: the nftables generation (one round trip), the
 * socket table (a sock_diag dump: sockets have no notification), the sysctls and the
 * legacy x_tables in use. An answer
 * is served again only if all of it is unchanged and no set element it saw has expired.
 */
#include <stdlib.h>
#include <string.h>

#include "daemon.h"

void state_probe_read(struct daemon *d, struct state_probe *ret)
{
	struct state_probe p = {0};
	bool ok;

	if (d->watch)
		pc_watch_sync(d->watch);
	/* After the sync: it may have found a source lost (the bus disconnected). */
	ok = d->watch && pc_watch_complete(d->watch);
	p.changes = d->changes;
	if (pc_nft_read_genid(&p.nft_genid) < 0)
		ok = false;
	if (pc_listeners_hash(&p.listeners_hash) < 0)
		ok = false;
	if (pc_freshness_files(&p.files_hash) < 0)
		ok = false;
	p.ok = ok;
	*ret = p;
}

bool state_probe_same(const struct state_probe *then, const struct state_probe *now)
{
	return then->ok && now->ok && then->changes == now->changes &&
	       then->nft_genid == now->nft_genid && then->listeners_hash == now->listeners_hash &&
	       then->files_hash == now->files_hash;
}

bool kept_answer_valid(const struct kept_answer *a, const struct state_probe *now, uint64_t now_ms)
{
	return a->reply && now_ms < a->expires_ms && state_probe_same(&a->probe, now);
}

void kept_answer_set(struct kept_answer *a, struct pc_varlink_blob *reply,
		     const struct state_probe *probe, uint64_t started_ms,
		     const struct pc_freshness *fresh)
{
	pc_varlink_blob_unref(a->reply);
	a->reply = NULL;
	if (fresh->volatile_why || !probe->ok) {
		/* Nothing to keep: every caller gets a new analysis. */
		pc_varlink_blob_unref(reply);
		return;
	}
	a->reply = reply;
	a->probe = *probe;
	a->started_ms = started_ms;
	/* The expiry was measured at the dump, after the analysis began: counting from
	 * the start ends the answer a little early, never late. */
	a->expires_ms =
	    fresh->valid_for_ms == UINT64_MAX ? UINT64_MAX : started_ms + fresh->valid_for_ms;
}

void kept_answer_clear(struct kept_answer *a)
{
	pc_varlink_blob_unref(a->reply);
	free(a->key);
	*a = (struct kept_answer){0};
}

json_t *freshness_to_json(const struct pc_freshness *f)
{
	return json_pack("{s:o,s:o}", "valid_for_ms",
			 f->valid_for_ms == UINT64_MAX ? json_null()
						       : json_integer((json_int_t)f->valid_for_ms),
			 "volatile", f->volatile_why ? json_string(f->volatile_why) : json_null());
}

void freshness_from_json(const json_t *j, struct pc_freshness *ret)
{
	const json_t *v = json_object_get(j, "valid_for_ms");
	const json_t *why = json_object_get(j, "volatile");

	*ret = (struct pc_freshness){.valid_for_ms = UINT64_MAX};
	if (json_is_integer(v) && json_integer_value(v) >= 0)
		ret->valid_for_ms = (uint64_t)json_integer_value(v);
	/* Anything but a clear "not volatile" keeps nothing. The text is the child's; only
	 * whether there is one matters here. */
	if (!j || !json_is_null(why))
		ret->volatile_why = "volatile";
}
