/* SPDX-License-Identifier: MIT */
/* io.portcheck.Explain: one connection's path through the ruleset, rule by rule. */
#include <errno.h>
#include <netinet/in.h> /* before linux/netfilter.h, which pulls in linux/in.h */
#include <linux/netfilter.h>
#include <stdio.h>
#include <string.h>

#include "portcheck/firewalld.h"
#include "portcheck/listener.h"
#include "portcheck/netif.h"
#include "portcheck/nft.h"
#include "portcheck/nftvm.h"
#include "portcheck/report.h"
#include "portcheck/route.h"
#include "portcheck/status.h"
#include "portcheck/strsan.h"

int pc_explain_parse(const json_t *params, struct pc_explain_query *ret, const char **ret_param,
		     const char **ret_why)
{
	struct pc_explain_query q = {0};
	const char *key, *s;
	json_t *v;
	json_int_t port;

#define BAD(param, why)                                                                            \
	do {                                                                                       \
		*ret_param = (param);                                                              \
		*ret_why = (why);                                                                  \
		return -EINVAL;                                                                    \
	} while (0)

	if (!json_is_object(params))
		BAD("", "parameters must be an object");
	json_object_foreach((json_t *)params, key, v)
	{
		if (strcmp(key, "port") == 0) {
			if (!json_is_integer(v))
				BAD("port", "port must be an integer");
			port = json_integer_value(v);
			if (port < 1 || port > 65535)
				BAD("port", "port must be 1-65535");
			q.port = (uint16_t)port;
		} else if (strcmp(key, "protocol") == 0) {
			s = json_string_value(v);
			if (s && strcmp(s, "tcp") == 0)
				q.protocol = IPPROTO_TCP;
			else if (s && strcmp(s, "udp") == 0)
				q.protocol = IPPROTO_UDP;
			else
				BAD("protocol", "protocol must be \"tcp\" or \"udp\"");
		} else if (strcmp(key, "from") == 0) {
			s = json_string_value(v);
			if (!s || pc_addr_from_string(s, &q.from) < 0)
				BAD("from", "from must be an IPv4 or IPv6 address");
		} else if (strcmp(key, "iface") == 0) {
			if (json_is_null(v))
				continue;
			s = json_string_value(v);
			if (!s || !*s || strlen(s) >= sizeof(q.iface))
				BAD("iface", "iface must be an interface name");
			snprintf(q.iface, sizeof(q.iface), "%s", s);
		} else if (strcmp(key, "sport") == 0) {
			if (json_is_null(v))
				continue;
			if (!json_is_integer(v))
				BAD("sport", "sport must be an integer");
			port = json_integer_value(v);
			if (port < 1 || port > 65535)
				BAD("sport", "sport must be 1-65535");
			q.sport = (uint16_t)port;
		} else if (strcmp(key, "to") == 0) {
			if (json_is_null(v))
				continue;
			s = json_string_value(v);
			if (!s || pc_addr_from_string(s, &q.to) < 0)
				BAD("to", "to must be an IPv4 or IPv6 address");
		} else {
			BAD(key, "unknown parameter");
		}
	}
	if (!q.port)
		BAD("port", "port is required");
	if (!q.protocol)
		BAD("protocol", "protocol is required");
	if (!q.from.family)
		BAD("from", "from is required");
	/* A v4-mapped source is an IPv4 connection to the kernel. */
	if (pc_addr_is_v4mapped(&q.from)) {
		q.from.family = AF_INET;
		memmove(q.from.bytes, q.from.bytes + 12, 4);
		memset(q.from.bytes + 4, 0, 12);
	}
	if (q.to.family && q.to.family != q.from.family)
		BAD("to", "to and from must be of the same address family");
#undef BAD
	*ret = q;
	return 0;
}

static const char *hook_name(uint32_t hook)
{
	switch (hook) {
	case NF_INET_PRE_ROUTING:
		return "prerouting";
	case NF_INET_LOCAL_IN:
		return "input";
	case NF_INET_FORWARD:
		return "forward";
	case NF_INET_LOCAL_OUT:
		return "output";
	case NF_INET_POST_ROUTING:
		return "postrouting";
	default:
		return "?";
	}
}

static const char *action_name(enum pc_trace_action a)
{
	static const char *const names[] = {
	    [PC_TRACE_NOMATCH] = "no match", [PC_TRACE_CONTINUE] = "continue",
	    [PC_TRACE_JUMP] = "jump",	     [PC_TRACE_GOTO] = "goto",
	    [PC_TRACE_RETURN] = "return",    [PC_TRACE_ACCEPT] = "accept",
	    [PC_TRACE_DROP] = "drop",	     [PC_TRACE_REJECT] = "reject",
	    [PC_TRACE_NAT] = "nat",	     [PC_TRACE_POLICY] = "policy",
	    [PC_TRACE_UNKNOWN] = "unknown",
	};
	return (unsigned)a < ELEMENTSOF(names) && names[a] ? names[a] : "?";
}

static const char *nfproto_name(uint32_t f)
{
	return f == NFPROTO_INET   ? "inet"
	       : f == NFPROTO_IPV4 ? "ip"
	       : f == NFPROTO_IPV6 ? "ip6"
				   : "?";
}

static json_t *trace_to_json(const struct pc_nft_result *res)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < res->n_trace; i++) {
		const struct pc_trace_entry *e = &res->trace[i];
		json_t *o = json_pack(
		    "{s:s,s:s,s:s?,s:s?,s:I,s:s?,s:s,s:s}", "hook", hook_name(e->hook), "family",
		    nfproto_name(e->rule.family), "table", e->rule.table, "chain", e->rule.chain,
		    "handle", (json_int_t)e->rule.handle, "text", pc_rule_ref_text(&e->rule),
		    "action", action_name(e->action), "detail", e->detail);
		if (json_array_append_new(arr, o) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* Whether a NULL from trace_to_json can be more than memory: see pc_path_to_json. */
static bool trace_valid(const struct pc_nft_result *res)
{
	for (size_t i = 0; i < res->n_trace; i++) {
		const struct pc_trace_entry *e = &res->trace[i];

		if (!pc_utf8_valid(e->rule.table) || !pc_utf8_valid(e->rule.chain) ||
		    !pc_utf8_valid(pc_rule_ref_text(&e->rule)) || !pc_utf8_valid(e->detail))
			return false;
	}
	return true;
}

/*
 * What the client's connect() or first datagram sees, in the words of its error: the
 * kernel turns ICMP errors into errno values (icmp_err_convert for IPv4, icmpv6_err_convert
 * for IPv6), and a SYN_SENT TCP socket reports them at once.
 */
static void client_sees(const struct pc_path *p, uint8_t proto, bool listening, char *buf,
			size_t size)
{
	static const char *const v4[16] = {
	    [0] = "Network is unreachable",
	    [1] = "No route to host",
	    [2] = "Protocol not available",
	    [3] = "Connection refused",
	    [4] = "Message too long",
	    [5] = "Operation not supported",
	    [6] = "Network is unreachable",
	    [7] = "Host is down",
	    [8] = "Machine is not on the network",
	    [9] = "Network is unreachable",
	    [10] = "No route to host",
	    [11] = "Network is unreachable",
	    [12] = "No route to host",
	    [13] = "No route to host",
	    [14] = "No route to host",
	    [15] = "No route to host",
	};
	static const char *const v6[8] = {
	    [0] = "Network is unreachable", [1] = "Permission denied",
	    [2] = "Protocol not available", [3] = "No route to host",
	    [4] = "Connection refused",	    [5] = "Permission denied",
	    [6] = "Permission denied",	    [7] = "Network is unreachable",
	};
	const char *err = NULL;

	switch (p->verdict) {
	case PC_VERDICT_ACCEPT:
		if (p->forwarded_to)
			snprintf(buf, size,
				 "whatever %s answers: the connection is forwarded there",
				 p->forwarded_to);
		else if (!listening)
			snprintf(buf, size,
				 proto == IPPROTO_TCP
				     ? "RST: \"Connection refused\" (nothing listens there)"
				     : "ICMP port unreachable: \"Connection refused\" "
				       "(nothing listens there)");
		else
			snprintf(buf, size,
				 proto == IPPROTO_TCP ? "SYN-ACK: the connection is established"
						      : "the datagram is delivered to the socket");
		return;
	case PC_VERDICT_DROP:
		snprintf(buf, size, "nothing: the connection times out");
		return;
	case PC_VERDICT_REJECT:
		if (p->reject.tcp_reset) {
			snprintf(buf, size, "RST: \"Connection refused\"");
			return;
		}
		if (p->family == AF_INET && p->reject.icmp_type == 3 && p->reject.icmp_code < 16)
			err = v4[p->reject.icmp_code];
		else if (p->family == AF_INET6 && p->reject.icmp_type == 1 &&
			 p->reject.icmp_code < 8)
			err = v6[p->reject.icmp_code];
		snprintf(buf, size, "%s type %u code %u%s%s%s",
			 p->family == AF_INET ? "ICMP" : "ICMPv6", p->reject.icmp_type,
			 p->reject.icmp_code, err ? ": \"" : "", err ? err : "", err ? "\"" : "");
		return;
	default:
		snprintf(buf, size, "unknown");
	}
}

static bool socket_listens(const struct pc_listener_set *ls, uint8_t proto, int family,
			   const struct pc_addr *daddr, uint16_t port)
{
	for (size_t i = 0; i < ls->n; i++) {
		const struct pc_listener *l = &ls->items[i];
		if (l->protocol != proto || l->port != port)
			continue;
		if (pc_addr_equal(&l->addr, daddr))
			return true;
		if (!pc_addr_is_any(&l->addr))
			continue;
		if (l->addr.family == family || (family == AF_INET && !l->v6only))
			return true;
	}
	return false;
}

/* Fill the interface and destination the query leaves open. */
static int complete_query(const struct pc_netif *ni, const struct pc_explain_query *q,
			  const struct pc_link **ret_link, struct pc_addr *ret_to,
			  const char **ret_param, char **ret_error)
{
	const struct pc_link *link = NULL;
	char addr[PC_ADDRSTRLEN];

	if (q->iface[0]) {
		for (size_t i = 0; i < ni->n_links && !link; i++)
			if (strcmp(ni->links[i].name, q->iface) == 0)
				link = &ni->links[i];
		*ret_param = "iface";
		if (!link)
			return asprintf(ret_error, "there is no interface %s", q->iface) < 0
				   ? -ENOMEM
				   : -EINVAL;
	} else {
		uint32_t oif;
		*ret_param = "from";
		if (pc_route_oif(ni, &q->from, &oif) == 0)
			link = pc_netif_link_by_index(ni, oif);
		if (!link)
			return asprintf(ret_error,
					"no route to %s leaves by an interface: give --iface",
					pc_addr_to_string(&q->from, addr)) < 0
				   ? -ENOMEM
				   : -EINVAL;
	}
	if (q->to.family) {
		*ret_to = q->to;
	} else {
		bool found = false;
		for (size_t i = 0; i < ni->n_addrs && !found; i++) {
			const struct pc_addr *a = &ni->addrs[i].prefix.addr;
			if (ni->addrs[i].ifindex != link->ifindex || a->family != q->from.family)
				continue;
			/* Prefer a global address over an IPv6 link-local one. */
			*ret_to = *a;
			found = !(a->family == AF_INET6 && a->bytes[0] == 0xfe &&
				  (a->bytes[1] & 0xc0) == 0x80);
			if (!found)
				found = i + 1 == ni->n_addrs; /* keep the link-local fallback */
		}
		*ret_param = "to";
		if (!ret_to->family)
			return asprintf(ret_error, "%s has no %s address: give --to", link->name,
					q->from.family == AF_INET ? "IPv4" : "IPv6") < 0
				   ? -ENOMEM
				   : -EINVAL;
	}
	*ret_link = link;
	return 0;
}

static bool same_result(const struct pc_nft_result *a, const struct pc_nft_result *b)
{
	return a->verdict == b->verdict && a->has_rule == b->has_rule &&
	       memcmp(&a->reject, &b->reject, sizeof(a->reject)) == 0 &&
	       (!a->has_rule ||
		(a->rule.handle == b->rule.handle && a->rule.policy == b->rule.policy &&
		 strcmp(a->rule.table, b->rule.table) == 0 &&
		 strcmp(a->rule.chain, b->rule.chain) == 0)) &&
	       a->forwarded == b->forwarded && a->dnat_local == b->dnat_local &&
	       pc_addr_equal(&a->fwd_addr, &b->fwd_addr) && a->fwd_port == b->fwd_port;
}

static json_t *port_outcome_json(const struct pc_src_result *r)
{
	struct pc_srcdim_cursor cur = {0};
	json_t *ports = json_array();
	struct pc_ivl i;

	while (ports && pc_srcdim_next(&r->port, &cur, &i))
		json_array_append_new(ports,
				      json_pack("[I,I]", (json_int_t)i.lo, (json_int_t)i.hi));
	return json_pack("{s:o,s:s,s:s?}", "ports", ports, "verdict",
			 pc_verdict_to_string(r->res.verdict), "rule",
			 r->res.has_rule ? pc_rule_ref_text(&r->res.rule) : NULL);
}

/*
 * Whether the answer for @flow's source address depends on the source port (a query
 * without --sport): the outcomes over every port, when they differ, else null in *ret.
 */
static int port_dependence(const struct pc_analysis_input *in, const struct pc_flow *flow,
			   json_t **ret)
{
	struct pc_ivl a = {pc_addr_to_u128(&flow->saddr), pc_addr_to_u128(&flow->saddr)};
	struct pc_ivl p = {PC_SRC_PORT_MIN, PC_SRC_PORT_MAX};
	struct pc_ivlist al = {.v = &a, .n = 1, .cap = 1}, pl = {.v = &p, .n = 1, .cap = 1};
	struct pc_src_result *res;
	bool differs = false;
	size_t n;
	int r;

	*ret = json_null();
	if (!in->nft)
		return 0;
	r = pc_nft_eval_sources(in->nft, in->netif, flow, &al, &pl, &res, &n);
	if (r < 0)
		return r;
	for (size_t k = 1; k < n; k++)
		differs |= !same_result(&res[0].res, &res[k].res);
	if (differs) {
		json_t *arr = json_array();

		for (size_t k = 0; arr && k < n; k++)
			if (json_array_append_new(arr, port_outcome_json(&res[k])) < 0) {
				json_decref(arr);
				arr = NULL;
			}
		*ret = arr;
	}
	pc_src_results_free(res, n);
	return *ret ? 0 : -ENOMEM;
}

int pc_explain_collect(const struct pc_status_options *opts, const struct pc_explain_query *q,
		       json_t **ret, const char **ret_param, char **ret_error,
		       struct pc_freshness *ret_freshness)
{
	struct pc_sources src;
	struct pc_path path = {0};
	struct pc_nft_result res = {0};
	const struct pc_link *link;
	struct pc_addr to = {0};
	char from_s[PC_ADDRSTRLEN], to_s[PC_ADDRSTRLEN], sees[160];
	json_t *reply;
	int r;

	r = pc_sources_read(opts, &src);
	if (r < 0)
		return r;
	/* A query that does not fit the host depends on the same state as an answer. */
	if (ret_freshness)
		pc_freshness_of_ruleset(&src.nft, src.nft_ok, ret_freshness);
	r = complete_query(&src.netif, q, &link, &to, ret_param, ret_error);
	if (r < 0)
		goto out;

	struct pc_flow flow = {.family = q->from.family,
			       .l4proto = q->protocol,
			       .saddr = q->from,
			       .daddr = to,
			       .sport = q->sport ? q->sport : PC_FLOW_SOURCE_PORT,
			       .dport = q->port,
			       .iif = link->ifindex};
	struct pc_analysis_input in = pc_sources_input(opts, &src);
	r = pc_analysis_explain(&in, link, &flow, &path, &res);
	if (r < 0)
		goto out;
	json_t *ports = json_null();
	if (!q->sport && (r = port_dependence(&in, &flow, &ports)) < 0)
		goto out;
	client_sees(&path, q->protocol,
		    socket_listens(&src.listeners, q->protocol, flow.family, &to, q->port), sees,
		    sizeof(sees));
	r = pc_path_to_json(&path, &reply);
	if (r < 0) {
		json_decref(ports);
		goto out;
	}
	if (json_object_set_new(reply, "source_ports", ports) < 0) {
		json_decref(reply);
		r = -ENOMEM;
		goto out;
	}
	if (json_object_set_new(reply, "version", json_integer(1)) < 0 ||
	    json_object_set_new(reply, "source", json_string(pc_addr_to_string(&q->from, from_s))) <
		0 ||
	    json_object_set_new(reply, "source_port", json_integer(flow.sport)) < 0 ||
	    json_object_set_new(reply, "destination", json_string(pc_addr_to_string(&to, to_s))) <
		0 ||
	    json_object_set_new(reply, "protocol",
				json_string(q->protocol == IPPROTO_TCP ? "tcp" : "udp")) < 0 ||
	    json_object_set_new(reply, "port", json_integer(q->port)) < 0 ||
	    json_object_set_new(reply, "client_sees", json_string(sees)) < 0 ||
	    json_object_set_new(reply, "trace", trace_to_json(&res)) < 0) {
		json_decref(reply);
		r = trace_valid(&res) ? -ENOMEM : -EILSEQ;
		goto out;
	}
	*ret = reply;
	r = 0;
out:
	pc_nft_result_clear(&res);
	pc_path_clear(&path);
	pc_sources_clear(&src);
	return r;
}
