/* SPDX-License-Identifier: MIT */
/* What happens to a new connection, as the client sees it. Shared by the engine and the
 * report. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

enum pc_verdict {
	PC_VERDICT_ACCEPT,
	PC_VERDICT_DROP,
	PC_VERDICT_REJECT,
	PC_VERDICT_UNKNOWN,
};

/* What the client sees on the wire when a connection is rejected. */
struct pc_reject {
	bool tcp_reset;
	uint8_t icmp_type, icmp_code; /* ICMP for IPv4, ICMPv6 for IPv6 */
};

const char *pc_verdict_to_string(enum pc_verdict v);
