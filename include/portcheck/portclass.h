/* SPDX-License-Identifier: MIT */
/*
 * Destination port classes of a ruleset: ports the ruleset cannot tell apart. Two
 * connections that differ only in their destination port, both ports in one class, take
 * the same path through the ruleset: every expression that reads the destination port
 * (a comparison, a range, a set or map keyed by the port alone, xtables' tcp, udp and
 * multiport matches) gives both the same outcome, and nothing else reads it. The analysis
 * evaluates one listener of a class and shares the engine's results with the others
 * (issue #9, "listener classes").
 *
 * Sound, not complete: where the ruleset uses the port in a way not modelled here (a
 * mask, a hash, a concatenated set key, DNAT or redirect that keeps the port, an
 * expression the snapshot does not know, ...) every port is its own class, and `why`
 * says which rule made it so.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "portcheck/nft.h"

struct pc_port_classes {
	/* Every port is its own class (why says which rule); start is NULL then. */
	bool distinct;
	char why[160];
	/* start[p]: the first port of p's class (65,536 entries). */
	uint16_t *start;
};

/* The classes of @rs (every table, every family and protocol: finer than needed, never
 * coarser). 0 or -ENOMEM. */
int pc_port_classes_of(const struct pc_nft_ruleset *rs, struct pc_port_classes *ret);
void pc_port_classes_clear(struct pc_port_classes *c);

/* The class of @port: the first port of it; @port itself when classes are distinct. */
static inline uint16_t pc_port_class(const struct pc_port_classes *c, uint16_t port)
{
	return c->distinct || !c->start ? port : c->start[port];
}

/* Whether the analysis shares results within classes (tests turn it off to compare). */
extern bool pc_analysis_share_port_classes;
