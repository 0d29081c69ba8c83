/* SPDX-License-Identifier: MIT */
/*
 * What the paths of a listener add up to: its exposure, and the firewalld fix to suggest
 * when firewalld's zone is what blocks it.
 */
#include <errno.h>
#include <fnmatch.h>
#include <netinet/in.h> /* before linux/netfilter.h, which pulls in linux/in.h */
#include <linux/netfilter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portcheck/fwzone.h"
#include "portcheck/nftvm.h"
#include "portcheck/report.h"
#include "portcheck/route.h"
#include "portcheck/strsan.h"

#include "analysis_internal.h"

/*
 * The exposure over the paths of real clients: spoofed sources never count (dropping them
 * is the firewall working), nor do interfaces the admin ignores, unless those are all
 * there is (then the listener is marked ignored and its exposure is theirs). A listener no
 * real client reaches is local-only.
 */
enum pc_exposure exposure_of(struct pc_listener_report *lr)
{
	size_t accept = 0, counted = 0, real = 0;

	for (size_t i = 0; i < lr->n_paths; i++)
		if (!lr->paths[i].spoofed) {
			real++;
			counted += !lr->paths[i].ignored;
		}
	lr->ignored = real > 0 && counted == 0;
	if (real == 0)
		return PC_EXPOSURE_LOCAL_ONLY;
	for (size_t i = 0; i < lr->n_paths; i++) {
		const struct pc_path *p = &lr->paths[i];

		if (p->spoofed || (p->ignored && !lr->ignored))
			continue;
		if (p->verdict == PC_VERDICT_UNKNOWN)
			return PC_EXPOSURE_UNKNOWN;
		accept += p->verdict == PC_VERDICT_ACCEPT;
	}
	counted = lr->ignored ? real : counted;
	return accept == counted ? PC_EXPOSURE_OPEN
	       : accept == 0	 ? PC_EXPOSURE_BLOCKED
				 : PC_EXPOSURE_PARTIAL;
}

/* The one firewalld service whose ports are exactly @port/@proto, or NULL (none or several). */
static const char *service_for_port(const struct pc_fw_config *cfg, uint8_t proto, uint16_t port)
{
	const char *found = NULL;

	for (size_t i = 0; i < cfg->n_services; i++) {
		const struct pc_fw_service *s = &cfg->services[i];
		if (s->ports.n != 1 || s->protocols.n != 0 || s->ports.v[0].lo != port ||
		    s->ports.v[0].hi != port || strcmp(s->ports.v[0].proto, pc_proto_name(proto)))
			continue;
		if (found)
			return NULL;
		found = s->name;
	}
	return found;
}

/*
 * A fix through firewalld, when firewalld's zone is what blocks the listener (the kernel
 * does not accept and the zone does not allow), or when an allowance is runtime only. A
 * block by a rule outside firewalld gets no command here: the path's reason names it.
 */
int suggest_fix(const struct pc_firewalld *fw, struct pc_listener_report *lr)
{
	const struct pc_listener *l = &lr->listener;
	const struct pc_path *target = NULL;
	const char *svc;

	for (size_t i = 0; i < lr->n_paths && !target; i++) {
		const struct pc_path *p = &lr->paths[i];
		if (!p->zone || p->forwarded_to || p->spoofed || p->ignored)
			continue;
		if ((p->verdict == PC_VERDICT_REJECT || p->verdict == PC_VERDICT_DROP) &&
		    (p->fw_verdict == PC_VERDICT_REJECT || p->fw_verdict == PC_VERDICT_DROP))
			target = p;
		else if (p->verdict == PC_VERDICT_ACCEPT && p->runtime_only)
			target = p;
	}
	if (!target || fw->panic)
		return 0;
	svc = service_for_port(&fw->runtime, l->protocol, l->port);
	if (asprintf(&lr->fix.port, "%u/%s", l->port, pc_proto_name(l->protocol)) < 0) {
		lr->fix.port = NULL;
		return -ENOMEM;
	}
	if (asprintf(&lr->fix.command, "portcheck open %s --zone %s --permanent",
		     svc ? svc : lr->fix.port, target->zone) < 0) {
		lr->fix.command = NULL;
		return -ENOMEM;
	}
	lr->fix.zone = strdup(target->zone);
	lr->fix.service = svc ? strdup(svc) : NULL;
	if (!lr->fix.zone || (svc && !lr->fix.service))
		return -ENOMEM;
	return 0;
}
